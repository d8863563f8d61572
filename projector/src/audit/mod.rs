//! The auditor: checks a whole log and its signed checkpoints, trusting nothing
//! but the specification. Pure over values: the shells read a bundle file or a
//! live log and print the [`Report`].
//!
//! [`audit`] checks, in one pass:
//! - positions 1..=n in order, and each stated id against `SHA-256(0x00 || leaf)`;
//! - every signature (batch-verified in parallel by [`fold_decoded_observed`]),
//!   every chain link and the full rules replay, with the ledger's one rules
//!   function; the stated signer key and JSON body view against the envelope;
//! - every checkpoint: origin, log signature (a coordinator's active key at that
//!   tree size, or the pinned log keys), the Merkle root recomputed from the
//!   events, witness cosignatures against a threshold, and consistency with the
//!   previous checkpoint (a consistency proof built from the events and checked
//!   as a witness would);
//! - and it folds the read model, whose [`digest`](crate::digest) is printed.
//!
//! Validly signed events that a business rule rejects are part of the history
//! (kept, never counted): they are notes, not problems. So are the events after
//! the last checkpoint ("not yet covered"). Everything else is a problem, and
//! the audit holds only when there is none.

use std::path::Path;

use ledger::body::Body;
use ledger::bundle::{AuditEvent, Bundle, BUNDLE_FORMAT};
use ledger::checkpoint::{Checkpoint, Note, Verifier, Witness};
use ledger::event::Event;
use ledger::ids::Digest;
use ledger::keys::PublicKey;
use ledger::log::Entry;
use ledger::member::Role;
use ledger::rules::Rejection;
use ledger::state::State;
use serde::Serialize;

use crate::run::RunError;

pub mod export;
mod finish;
mod segment;
pub mod stream;

pub use stream::{Auditor, Stated, Workspace};

/// One finding: an event's position, id and member (or a checkpoint's size and
/// signer), a stable code and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The event's position (leaf index + 1), for event findings.
    pub position: Option<u64>,
    /// The checkpoint's tree size, for checkpoint findings.
    pub checkpoint: Option<u64>,
    /// The event id (recomputed from its bytes).
    pub id: Option<Digest>,
    /// The producer, or a checkpoint's signer names.
    pub member: Option<String>,
    /// A stable code: `bad_signature`, `checkpoint_root_mismatch`, ...
    pub code: String,
    /// The reason in words.
    pub reason: String,
}

/// Which keys the auditor trusts for checkpoints. The default derives them from
/// the ledger itself: log keys are the active keys of members with the
/// coordinator role at each checkpoint's size, witnesses are every member's
/// active key then or at the end of the log (a witness may cosign after
/// rotating its key; a member counts once), and no cosignature is required.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Pinned log keys (instead of the coordinators').
    pub log_keys: Option<Vec<Verifier>>,
    /// Pinned witness keys (instead of the members').
    pub witnesses: Option<Vec<Witness>>,
    /// Distinct witnesses that must have cosigned every checkpoint.
    pub threshold: usize,
}

/// What an audit found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The ledger origin (from its genesis).
    pub origin: Option<String>,
    /// Events checked.
    pub events: u64,
    /// Signatures that verified.
    pub signatures_verified: u64,
    /// Events that took their place in their producer's chain.
    pub chain_links: u64,
    /// Events accepted by the rules.
    pub accepted: u64,
    /// Validly signed events rejected by a business rule (kept, not counted).
    pub rejected_by_rules: u64,
    /// Checkpoints in the input.
    pub checkpoints: u64,
    /// Checkpoints with no problem.
    pub checkpoints_verified: u64,
    /// Valid witness cosignatures, over all checkpoints.
    pub cosignatures: u64,
    /// Size of the largest checkpoint.
    pub covered: u64,
    /// Events after the largest checkpoint.
    pub not_yet_covered: u64,
    /// The Merkle root of all events.
    pub root: Digest,
    /// The read model digest (as `tallinn digest`).
    pub digest: String,
    /// Problems: the evidence is broken (a stated view differs from what the
    /// signed bytes give, a checkpoint does not hold, the policy is not met).
    /// Any one fails the audit.
    pub problems: Vec<Finding>,
    /// Entries the ledger rightly refused (forgeries, copies on another's
    /// subject, gaps, equivocations, replays, malformed bytes): the log holds
    /// them, no chain or total counts them. They do not fail the audit.
    pub refused: Vec<Finding>,
    /// Notes: worth knowing, not failures.
    pub notes: Vec<Finding>,
    /// Member forks found: the material of portable equivocation proofs.
    pub forks: Vec<ForkFound>,
}

/// Two validly signed events of one member with one `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkFound {
    /// The member.
    pub member: String,
    /// The member's key both verified under (vkey).
    pub vkey: String,
    /// Position of the event in the chain.
    pub first: u64,
    /// Position of the conflicting event.
    pub second: u64,
}

impl Report {
    /// Whether everything holds.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The input of an audit: events in log order and signed checkpoint notes.
#[derive(Debug, Clone, Default)]
pub struct AuditInput {
    /// The events, with what a bundle states about them.
    pub events: Vec<AuditEvent>,
    /// Signed checkpoint notes, as text.
    pub checkpoints: Vec<String>,
    /// The number of events the bundle states (`size`), if any.
    pub stated_size: Option<u64>,
    /// The Merkle root the bundle states (`root`), if any.
    pub stated_root: Option<Digest>,
    /// The origin the bundle states (`origin`), if any.
    pub stated_origin: Option<String>,
}

impl AuditInput {
    /// From live log entries (nothing stated beyond the bytes).
    pub fn from_entries(entries: Vec<Entry>, checkpoints: Vec<String>) -> AuditInput {
        AuditInput {
            events: entries.into_iter().map(AuditEvent::of_entry).collect(),
            checkpoints,
            stated_size: None,
            stated_root: None,
            stated_origin: None,
        }
    }
}

fn event_finding(
    position: u64,
    id: Digest,
    member: Option<String>,
    code: &str,
    reason: String,
) -> Finding {
    Finding {
        position: Some(position),
        checkpoint: None,
        id: Some(id),
        member,
        code: code.into(),
        reason,
    }
}

fn checkpoint_finding(size: u64, signers: &Note, code: &str, reason: String) -> Finding {
    let names: Vec<&str> = signers.signatures.iter().map(|s| s.name.as_str()).collect();
    Finding {
        position: None,
        checkpoint: Some(size),
        id: None,
        member: Some(names.join(",")),
        code: code.into(),
        reason,
    }
}

/// The keys the ledger itself designates at some point of its history.
#[derive(Debug, Clone, Default)]
struct Keys {
    logs: Vec<Verifier>,
    witnesses: Vec<Witness>,
}

fn keys_of(state: &State) -> Keys {
    let mut keys = Keys::default();
    for (id, m) in &state.members {
        let Some(key) = m.active_key else { continue };
        if m.member.roles.contains(&Role::Coordinator) {
            if let Ok(v) = Verifier::new(id.as_str(), key) {
                keys.logs.push(v);
            }
        }
        if let Ok(w) = Witness::new(id.as_str(), key) {
            keys.witnesses.push(w);
        }
    }
    keys
}

/// The vkey the signature of `event` must verify under, given the state before it.
fn expected_signer(state: &State, event: &Event) -> Option<String> {
    let env = event.envelope();
    match &env.body {
        Body::Genesis(g) if state.origin.is_none() => {
            Some(g.coordinator.key.vkey(g.coordinator.id.as_str()))
        }
        _ => state
            .active_key(&env.producer)
            .map(|k| k.vkey(env.producer.as_str())),
    }
}

/// The (name, key) the signature of `event` must verify under, given the state before it.
fn expected_key<'a>(state: &State, event: &'a Event) -> Option<(&'a str, PublicKey)> {
    let env = event.envelope();
    match &env.body {
        Body::Genesis(g) if state.origin.is_none() => {
            Some((g.coordinator.id.as_str(), g.coordinator.key))
        }
        _ => Some((env.producer.as_str(), state.active_key(&env.producer)?)),
    }
}

/// Whether the rules verified the signature before reaching this verdict.
fn signature_checked(r: &Rejection) -> bool {
    !matches!(
        r,
        Rejection::UnsupportedVersion(_)
            | Rejection::NoGenesis
            | Rejection::WrongOrigin { .. }
            | Rejection::UnknownProducer(_)
            | Rejection::NoActiveKey(_)
            | Rejection::BadSignature(_)
    )
}

/// Audits `input` under `trust`, through a [`stream::Auditor`] and a
/// projector on a temporary directory in `work` (the system's temporary
/// directory if `None`). Never panics on bad input: every defect is a
/// finding; the error is the workspace's I/O.
pub fn audit(input: AuditInput, trust: &Trust) -> Result<Report, RunError> {
    audit_in(None, input, trust)
}

/// [`audit`] with its workspace in `work`.
pub fn audit_in(work: Option<&Path>, input: AuditInput, trust: &Trust) -> Result<Report, RunError> {
    audit_on(&mut Workspace::new(work)?, input, trust, AUDIT_BATCH)
}

/// [`audit`] on the empty workspace `ws`, pushing `batch` events at a time
/// (the report does not depend on it).
pub fn audit_on(
    ws: &mut Workspace,
    input: AuditInput,
    trust: &Trust,
    batch: usize,
) -> Result<Report, RunError> {
    let stated = Stated {
        size: input.stated_size,
        root: input.stated_root,
        origin: input.stated_origin,
    };
    let mut auditor = Auditor::new(&input.checkpoints, stated, trust);
    let mut events = input.events.into_iter().peekable();
    while events.peek().is_some() {
        let next: Vec<AuditEvent> = events.by_ref().take(batch.max(1)).collect();
        auditor.push(ws.projector(), next)?;
    }
    auditor.finish(ws.projector())
}

/// Events audited (or exported) at a time.
pub const AUDIT_BATCH: usize = 8_192;

/// Checkpoints must be listed in increasing size (equal sizes may repeat).
fn checkpoint_order(cps: &[(Note, Checkpoint)]) -> Vec<Finding> {
    cps.windows(2)
        .filter(|w| w[1].1.size < w[0].1.size)
        .map(|w| {
            checkpoint_finding(
                w[1].1.size,
                &w[1].0,
                "checkpoint_order",
                format!(
                    "listed after the checkpoint of size {}: checkpoints must be in increasing size",
                    w[0].1.size
                ),
            )
        })
        .collect()
}

/// Whether `value` serialises (serde_json, compact) to exactly `text`, compared
/// as it is written, without building the string.
fn json_is<T: Serialize>(value: &T, text: &str) -> bool {
    /// Compares written bytes with the expected ones.
    struct Compare<'a>(&'a [u8]);
    impl std::io::Write for Compare<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.0.strip_prefix(buf) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(buf.len())
                }
                None => Err(std::io::ErrorKind::InvalidData.into()),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut rest = Compare(text.as_bytes());
    serde_json::to_writer(&mut rest, value).is_ok() && rest.0.is_empty()
}

/// Builds the audit bundle of a log in memory: every entry with its decoded
/// view and the signer key the rules expect, and the signed checkpoint notes
/// ([`export::Exporter`] on a temporary workspace; `audit export` streams
/// the same to a file).
pub fn export(entries: &[Entry], checkpoints: Vec<String>) -> Result<Bundle, RunError> {
    let mut ws = Workspace::new(None)?;
    let mut exporter = export::Exporter::default();
    let mut events = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(AUDIT_BATCH) {
        events.extend(exporter.push(ws.projector(), chunk)?);
    }
    let p = ws.projector();
    Ok(Bundle {
        format: BUNDLE_FORMAT.into(),
        origin: p.rules_state().origin.clone().unwrap_or_default(),
        size: entries.len() as u64,
        root: p.root(),
        events,
        checkpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::json_is;

    #[test]
    fn json_comparison_is_exact() {
        let value = serde_json::json!({"a": [1, 2], "b": "x"});
        assert!(json_is(&value, r#"{"a":[1,2],"b":"x"}"#));
        assert!(!json_is(&value, r#"{"a":[1,2],"b":"y"}"#));
        assert!(!json_is(&value, r#"{"a":[1,2],"b":"x"} "#));
        assert!(!json_is(&value, r#"{"a":[1,2],"b":"#));
        assert!(!json_is(&value, r#"{"a": [1,2],"b":"x"}"#));
    }
}
