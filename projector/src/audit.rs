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

use std::collections::{BTreeMap, HashMap};

use ledger::body::Body;
use ledger::bundle::{AuditEvent, Bundle, BUNDLE_FORMAT};
use ledger::calendar::Timestamp;
use ledger::checkpoint::{
    verify_cosignatures, verify_note, Checkpoint, CheckpointError, Note, Verifier, Witness,
};
use ledger::event::{leaf_hash, Event};
use ledger::ids::Digest;
use ledger::keys::{parse_vkey, PublicKey};
use ledger::log::Entry;
use ledger::member::Role;
use ledger::merkle::{verify_consistency, FullTree};
use ledger::rules::{Outcome, Rejection};
use ledger::state::State;
use ledger::subjects::Subjects;
use rayon::prelude::*;
use serde::Serialize;

use crate::fold::{decode, fold_decoded_observed, fold_entries_observed, Filter};
use crate::model::Model;
use crate::timebounds::{time_findings, Timed};

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
            events: entries
                .into_iter()
                .map(|entry| AuditEvent {
                    entry,
                    stated_id: None,
                    signer: None,
                    stated_seq: None,
                    body: None,
                })
                .collect(),
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

/// Audits `input` under `trust`. Never panics on bad input: every defect is a finding.
///
/// Runs on a thread of the rayon pool, so the thread that judges events in
/// order also helps verify signatures whenever it is ahead (no more busy
/// threads than cores). The audit's working memory is freed on a thread of its
/// own: freeing millions of small allocations takes seconds at a million
/// events, and a process that exits right after never waits for it.
pub fn audit(input: AuditInput, trust: &Trust) -> Report {
    let (report, spent) = audit_keeping(input, trust);
    drop_in_background(spent);
    report
}

/// The working memory an audit no longer needs (events, rules state, read
/// model, Merkle tree), for the caller to drop when it suits it.
pub struct Spent {
    _working: (
        State,
        Model,
        Vec<Entry>,
        Vec<Result<Event, String>>,
        FullTree,
    ),
}

/// [`audit`], handing back its working memory instead of freeing it.
pub fn audit_keeping(input: AuditInput, trust: &Trust) -> (Report, Spent) {
    rayon::scope(|_| audit_on_pool(input, trust))
}

fn audit_on_pool(input: AuditInput, trust: &Trust) -> (Report, Spent) {
    let n = input.events.len();
    let mut problems = Vec::new();
    let mut refused = Vec::new();
    let mut notes = Vec::new();

    // Decoding, leaf hashes and the JSON body views, in parallel.
    let decoded: Vec<Result<Event, String>> =
        input.events.par_iter().map(|e| decode(&e.entry)).collect();
    let ids: Vec<Digest> = input
        .events
        .par_iter()
        .zip(&decoded)
        .map(|(e, d)| match d {
            Ok(ev) => ev.id(),
            Err(_) => leaf_hash(&e.entry.bytes),
        })
        .collect();
    let body_problems: Vec<Finding> = input
        .events
        .par_iter()
        .zip(&decoded)
        .enumerate()
        .filter_map(|(i, (e, ev))| {
            let raw = e.body.as_ref()?;
            let ev = ev.as_ref().ok()?;
            let body = &ev.envelope().body;
            // Fast path: the exporter writes exactly serde_json's compact form.
            if json_is(body, raw.get()) {
                return None;
            }
            let stated: Option<serde_json::Value> = serde_json::from_str(raw.get()).ok();
            let actual = serde_json::to_value(body).ok();
            (stated != actual).then(|| {
                event_finding(
                    i as u64 + 1,
                    ids[i],
                    Some(ev.envelope().producer.to_string()),
                    "body_mismatch",
                    "the JSON body view does not match the signed envelope".into(),
                )
            })
        })
        .collect();

    if n == 0 {
        problems.push(Finding {
            position: None,
            checkpoint: None,
            id: None,
            member: None,
            code: "empty_log".into(),
            reason: "the log holds no events, not even a genesis".into(),
        });
    }
    // The stated size: a bundle cut short after its last checkpoint shows here.
    if let Some(stated) = input.stated_size.filter(|&s| s != n as u64) {
        problems.push(Finding {
            position: None,
            checkpoint: None,
            id: None,
            member: None,
            code: "bundle_size".into(),
            reason: format!("the bundle states {stated} events but holds {n}: truncated or padded"),
        });
    }
    // Positions and stated ids.
    if let Some(i) = (0..n).find(|&i| input.events[i].entry.position != i as u64 + 1) {
        problems.push(event_finding(
            i as u64 + 1,
            ids[i],
            None,
            "position",
            format!(
                "event {} of the bundle states position {}, expected {}: events were removed, added or reordered",
                i,
                input.events[i].entry.position,
                i + 1
            ),
        ));
    }
    for (i, e) in input.events.iter().enumerate() {
        if let Some(stated) = e.stated_id {
            if stated != ids[i] {
                problems.push(event_finding(
                    i as u64 + 1,
                    ids[i],
                    None,
                    "id_mismatch",
                    format!("stated id {stated} is not the hash of the event's bytes"),
                ));
            }
        }
    }

    // Checkpoints, parsed, by size.
    let mut cps: Vec<(Note, Checkpoint)> = Vec::new();
    for (i, text) in input.checkpoints.iter().enumerate() {
        match Note::parse(text.as_bytes())
            .and_then(|note| Checkpoint::parse_body(&note.text).map(|cp| (note, cp)))
        {
            Ok(pair) => cps.push(pair),
            Err(e) => problems.push(Finding {
                position: None,
                checkpoint: None,
                id: None,
                member: None,
                code: "checkpoint_malformed".into(),
                reason: format!("checkpoint {i}: {e}"),
            }),
        }
    }
    problems.extend(checkpoint_order(&cps));
    cps.sort_by_key(|(_, cp)| cp.size);

    // Stated signer keys: each distinct text parsed once (a parse checks the
    // key id and decompresses the point), then referred to by index.
    let mut distinct: HashMap<&str, usize> = HashMap::new();
    let mut signer_keys: Vec<(String, Option<(String, PublicKey)>)> = Vec::new();
    let signers: Vec<Option<usize>> = input
        .events
        .iter()
        .map(|e| {
            let text = e.signer.as_deref()?;
            Some(*distinct.entry(text).or_insert_with(|| {
                signer_keys.push((text.to_string(), parse_vkey(text).ok()));
                signer_keys.len() - 1
            }))
        })
        .collect();
    drop(distinct);
    let stated_seqs: Vec<Option<u64>> = input.events.iter().map(|e| e.stated_seq).collect();
    let input_views = (input.stated_root, input.stated_origin.clone());
    // Entries renumbered by leaf index.
    let entries: Vec<Entry> = input
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| Entry {
            position: i as u64 + 1,
            ..e.entry
        })
        .collect();

    // Signatures, chains, rules and the model, in segments ending at checkpoint sizes.
    let mut bounds: Vec<u64> = cps
        .iter()
        .map(|(_, cp)| cp.size)
        .filter(|&s| s <= n as u64)
        .collect();
    bounds.push(n as u64);
    bounds.dedup();
    let mut keys_at: BTreeMap<u64, Keys> = BTreeMap::new();
    let mut state = State::new();
    // Most events create an item: sized once instead of rehashed as it grows.
    state.items.reserve(n);
    let mut model = Model::new();
    let (mut sigs, mut links, mut accepted, mut by_rules) = (0u64, 0u64, 0u64, 0u64);
    // Where each id first appears: needed only for duplicates and forks, so it
    // is built on the first need (an honest log never pays for it).
    let mut first_seen: Option<HashMap<Digest, u64>> = None;
    let first_position = |index: &mut Option<HashMap<Digest, u64>>, id: &Digest| {
        let index = index.get_or_insert_with(|| {
            let mut m = HashMap::with_capacity(ids.len());
            for (i, d) in ids.iter().enumerate() {
                m.entry(*d).or_insert(i as u64 + 1);
            }
            m
        });
        index.get(id).copied()
    };
    let mut forks = Vec::new();
    keys_at.insert(0, Keys::default());
    let mut lo = 0usize;
    // The Merkle tree is built on the pool while the fold runs.
    let mut tree = None;
    rayon::in_place_scope(|scope| {
        let slot = &mut tree;
        let leaves = &ids;
        scope.spawn(move |_| *slot = Some(FullTree::from_leaves(leaves.iter().copied())));
        for &b in &bounds {
            let hi = b as usize;
            let mut observe = |entry: &Entry,
                               ev: Result<&Event, &str>,
                               outcome: Option<&Outcome>,
                               state: &State| {
                let pos = entry.position;
                let i = (pos - 1) as usize;
                let id = ids[i];
                let ev = match ev {
                    Err(reason) => {
                        let on = entry.member.as_ref().map(|m| m.to_string());
                        refused.push(event_finding(pos, id, on, "malformed", reason.into()));
                        return;
                    }
                    Ok(ev) => ev,
                };
                // Attributed to the subject carrying it (the producer where
                // the log has no subjects).
                let member = || {
                    Some(
                        entry
                            .member
                            .as_ref()
                            .unwrap_or(&ev.envelope().producer)
                            .to_string(),
                    )
                };
                if let Some(stated) = stated_seqs[i].filter(|&s| s != ev.envelope().seq) {
                    problems.push(event_finding(
                        pos,
                        id,
                        member(),
                        "seq_mismatch",
                        format!(
                            "stated seq {stated}, the signed envelope says {}",
                            ev.envelope().seq
                        ),
                    ));
                }
                if let Some(stated) = signers[i] {
                    if let Some((name, key)) = expected_key(state, ev) {
                        let (text, parsed) = &signer_keys[stated];
                        let same = matches!(parsed, Some((n, k)) if n == name && *k == key);
                        if !same {
                            problems.push(event_finding(
                                pos,
                                id,
                                member(),
                                "signer_mismatch",
                                format!(
                                    "stated signer {text} is not the producer's active key {}",
                                    key.vkey(name)
                                ),
                            ));
                        }
                    }
                }
                match outcome {
                    Some(Outcome::Accepted) => {
                        accepted += 1;
                        sigs += 1;
                        links += 1;
                    }
                    Some(Outcome::Duplicate) => {
                        sigs += 1;
                        let first = first_position(&mut first_seen, &id).unwrap_or(0);
                        refused.push(event_finding(
                            pos,
                            id,
                            member(),
                            "duplicate",
                            format!("replay of the event already at position {first}"),
                        ));
                    }
                    Some(Outcome::Rejected(r)) => {
                        if let Rejection::Equivocation {
                            existing, producer, ..
                        } = r
                        {
                            let key = state.active_key(producer);
                            let first = first_position(&mut first_seen, existing);
                            if let (Some(first), Some(key)) = (first, key) {
                                forks.push(ForkFound {
                                    member: producer.to_string(),
                                    vkey: key.vkey(producer.as_str()),
                                    first,
                                    second: pos,
                                });
                            }
                        }
                        if signature_checked(r) {
                            sigs += 1;
                        }
                        let finding = event_finding(pos, id, member(), r.code(), r.to_string());
                        if r.in_chain() && state.origin.is_some() {
                            links += 1;
                            by_rules += 1;
                            notes.push(finding);
                        } else {
                            refused.push(finding);
                        }
                    }
                    None => {}
                }
            };
            fold_decoded_observed(
                &mut state,
                &mut model,
                &entries[lo..hi],
                &decoded[lo..hi],
                Filter::All,
                &mut observe,
            );
            keys_at.insert(b, keys_of(&state));
            lo = hi;
        }
    });
    problems.extend(body_problems);

    // The Merkle tree and every checkpoint.
    let tree = tree.expect("the tree task ran");
    let origin = state.origin.clone();
    problems.extend(stated_views(&input_views, &tree, origin.as_deref()));
    let latest = keys_of(&state);
    let (mut verified, mut cosignatures, mut covered) = (0u64, 0u64, 0u64);
    let mut prev: Option<&Checkpoint> = None;
    let mut prev_time: Option<u64> = None;
    for (note, cp) in &cps {
        let before = problems.len();
        let size = cp.size;
        let mut bad = |code: &str, reason: String| {
            problems.push(checkpoint_finding(size, note, code, reason))
        };
        if origin.as_deref().is_some_and(|o| o != cp.origin) {
            bad(
                "checkpoint_origin",
                format!(
                    "origin {:?} is not the ledger's {:?}",
                    cp.origin,
                    origin.as_deref().unwrap_or("")
                ),
            );
        }
        if size > n as u64 {
            bad(
                "checkpoint_beyond_bundle",
                format!("checkpoint of size {size}, but only {n} events are present: truncated or cut short"),
            );
            continue;
        }
        covered = covered.max(size);
        let derived = keys_at.get(&size).cloned().unwrap_or_default();
        let logs = trust.log_keys.as_ref().unwrap_or(&derived.logs);
        match verify_note(note, logs) {
            Ok(_) => {}
            Err(CheckpointError::NoKnownSignature) => {
                let names: Vec<String> = note
                    .signatures
                    .iter()
                    .map(|s| format!("{}+{}", s.name, hex::encode(s.key_id)))
                    .collect();
                bad(
                    "checkpoint_unknown_key",
                    format!(
                        "not signed by a log key (coordinator) of this ledger; signed by {}",
                        names.join(", ")
                    ),
                );
            }
            Err(e) => bad("checkpoint_bad_signature", e.to_string()),
        }
        let root = tree.root_at(size).expect("size within the tree");
        if root != cp.root {
            bad(
                "checkpoint_root_mismatch",
                format!("states root {}, the events give {root}", cp.root),
            );
        }
        // A member may cosign with the key it held at the checkpoint's size or
        // with the key it holds at the end of the log (it rotated since); one
        // member counts once whichever key it used.
        let derived_witnesses: Vec<Witness> = derived
            .witnesses
            .iter()
            .chain(&latest.witnesses)
            .cloned()
            .collect();
        let witnesses = trust.witnesses.as_ref().unwrap_or(&derived_witnesses);
        match verify_cosignatures(note, witnesses) {
            Ok(cosigned) => {
                let mut names: Vec<&str> = cosigned.iter().map(|(w, _)| w.name.as_str()).collect();
                names.sort();
                names.dedup();
                cosignatures += names.len() as u64;
                if names.len() < trust.threshold {
                    bad(
                        "too_few_cosignatures",
                        format!(
                            "{} witness cosignatures, {} required",
                            names.len(),
                            trust.threshold
                        ),
                    );
                }
            }
            Err(e) => bad("checkpoint_bad_cosignature", e.to_string()),
        }
        // Consistency with the previous checkpoint. Two roots of one size must
        // be equal; otherwise a consistency proof is built from the events and
        // checked as a witness would. When a root does not match the events no
        // proof for it can be built: that root is already reported above.
        if let Some(p) = prev {
            let consistent = if p.size == size {
                p.root == cp.root
            } else if tree.root_at(p.size).ok() == Some(p.root) && root == cp.root {
                let proof = tree
                    .consistency_proof(p.size, size)
                    .expect("sizes within the tree");
                verify_consistency(p.size, size, &proof, &p.root, &cp.root).is_ok()
            } else {
                true
            };
            if !consistent {
                bad(
                    "inconsistent_checkpoints",
                    format!(
                        "checkpoint of size {size} (root {}) is not consistent with the checkpoint of size {} (root {})",
                        cp.root, p.size, p.root
                    ),
                );
            }
        }
        if let (Some(p), Some(t)) = (prev_time, cp.time()) {
            if t < p {
                bad(
                    "checkpoint_time_order",
                    format!(
                        "timed {t}, earlier than the checkpoint before it ({p}): time went back"
                    ),
                );
            }
        }
        if problems.len() == before {
            verified += 1;
        }
        prev = Some(cp);
        prev_time = cp.time().or(prev_time);
    }
    let n = n as u64;
    if covered < n {
        let finding = Finding {
            position: Some(covered + 1),
            checkpoint: None,
            id: None,
            member: None,
            code: if trust.threshold > 0 {
                "not_covered"
            } else {
                "not_yet_covered"
            }
            .into(),
            reason: if trust.threshold > 0 {
                format!(
                    "no checkpoint covers positions {}..={n} ({} events), and the policy asks for {} cosignature(s): their order and presence are not attested",
                    covered + 1,
                    n - covered,
                    trust.threshold
                )
            } else {
                format!(
                    "positions {}..={n} ({} events) are after the last checkpoint: not yet covered",
                    covered + 1,
                    n - covered
                )
            },
        };
        if trust.threshold > 0 {
            problems.push(finding);
        } else {
            notes.push(finding);
        }
    }
    notes.extend(time_notes(&cps, &decoded, &ids));
    problems.extend(subjects_problems(&cps, &entries, &decoded));
    // Events by position, then checkpoints by size, then the bundle as a whole.
    problems.sort_by_key(|f| match (f.position, f.checkpoint) {
        (Some(p), _) => (0, p),
        (None, Some(size)) => (1, size),
        (None, None) => (2, 0),
    });
    let report = Report {
        origin,
        events: n,
        signatures_verified: sigs,
        chain_links: links,
        accepted,
        rejected_by_rules: by_rules,
        checkpoints: cps.len() as u64,
        checkpoints_verified: verified,
        cosignatures,
        covered,
        not_yet_covered: n - covered,
        root: tree.root(),
        digest: crate::digest::digest_hex(&model),
        problems,
        refused,
        notes,
        forks,
    };
    (
        report,
        Spent {
            _working: (state, model, entries, decoded, tree),
        },
    )
}

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

/// Checkpoints' signed subjects commitments ([`ledger::subjects`]) against the
/// subjects the entries state (their `member` fields in a bundle).
fn subjects_problems(
    cps: &[(Note, Checkpoint)],
    entries: &[Entry],
    decoded: &[Result<Event, String>],
) -> Vec<Finding> {
    let mut wanted: Vec<(u64, Digest, &Note)> = cps
        .iter()
        .filter_map(|(note, cp)| Some((cp.size, cp.subjects()?, note)))
        .filter(|(size, _, _)| *size <= entries.len() as u64)
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    wanted.sort_by_key(|w| w.0);
    let mut chain = Subjects::new();
    let mut out = Vec::new();
    let mut next = wanted.iter().peekable();
    let mut check = |chain: &Subjects, out: &mut Vec<Finding>| {
        while let Some((size, digest, note)) = next.next_if(|w| w.0 == chain.size) {
            if *digest != chain.digest {
                out.push(checkpoint_finding(
                    *size,
                    note,
                    "checkpoint_subjects_mismatch",
                    "the subjects signed for its events differ from the members the entries state: a member field was changed".into(),
                ));
            }
        }
    };
    check(&chain, &mut out);
    for (entry, decoded) in entries.iter().zip(decoded) {
        match (&entry.member, decoded) {
            (Some(m), _) => chain.push(m.as_str()),
            (None, Ok(ev)) => chain.push(ev.envelope().producer.as_str()),
            (None, Err(_)) => chain.push(""),
        }
        check(&chain, &mut out);
    }
    out
}

/// The bundle's stated root and origin against what the events give.
fn stated_views(
    (root, stated_origin): &(Option<Digest>, Option<String>),
    tree: &FullTree,
    origin: Option<&str>,
) -> Vec<Finding> {
    let whole = |code: &str, reason: String| Finding {
        position: None,
        checkpoint: None,
        id: None,
        member: None,
        code: code.into(),
        reason,
    };
    let mut out = Vec::new();
    if let Some(stated) = root.filter(|r| *r != tree.root()) {
        out.push(whole(
            "root_mismatch",
            format!(
                "the bundle states root {stated}, the events give {}",
                tree.root()
            ),
        ));
    }
    if let Some(stated) = stated_origin.as_deref() {
        if Some(stated) != origin {
            out.push(whole(
                "origin_mismatch",
                format!(
                    "the bundle states origin {stated:?}, the genesis says {:?}",
                    origin.unwrap_or("")
                ),
            ));
        }
    }
    out
}

/// Events whose `recorded_at` lies outside what the checkpoints' signed times
/// allow ([`crate::timebounds`]); notes, as verdicts do not depend on them.
fn time_notes(
    cps: &[(Note, Checkpoint)],
    decoded: &[Result<Event, String>],
    ids: &[Digest],
) -> Vec<Finding> {
    let timed: Vec<Timed> = cps
        .iter()
        .filter_map(|(_, cp)| {
            Some(Timed {
                size: cp.size,
                time: cp.time()?,
            })
        })
        .filter(|t| t.size <= decoded.len() as u64)
        .collect();
    if timed.is_empty() {
        return Vec::new();
    }
    let recorded: Vec<Option<Timestamp>> = decoded
        .iter()
        .map(|d| d.as_ref().ok().map(|e| e.envelope().recorded_at))
        .collect();
    time_findings(&timed, &recorded)
        .into_iter()
        .map(|f| {
            let i = (f.position - 1) as usize;
            let member = decoded[i]
                .as_ref()
                .ok()
                .map(|e| e.envelope().producer.to_string());
            event_finding(f.position, ids[i], member, f.code, f.reason)
        })
        .collect()
}

/// Drops `value` on a thread of its own. When no thread can be started, the
/// refused closure, and the value with it, is dropped right here.
fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("audit-free".into())
        .spawn(move || drop(value));
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

/// Builds the audit bundle of a log: every entry with its decoded view and the
/// signer key the rules expect, and the signed checkpoint notes.
pub fn export(entries: &[Entry], checkpoints: Vec<String>) -> Bundle {
    let mut state = State::new();
    let mut model = Model::new();
    let mut events = Vec::with_capacity(entries.len());
    let mut observe =
        |entry: &Entry, ev: Result<&Event, &str>, _: Option<&Outcome>, state: &State| {
            let e = match ev {
                Err(_) => Bundle::event(
                    entry,
                    None,
                    entry.member.as_ref().map(|m| m.to_string()),
                    None,
                    None,
                ),
                Ok(ev) => {
                    let env = ev.envelope();
                    // The subject carrying it (evidence); the producer where the
                    // log keeps only a member's own events on its chain.
                    let member = entry.member.as_ref().unwrap_or(&env.producer);
                    Bundle::event(
                        entry,
                        expected_signer(state, ev),
                        Some(member.to_string()),
                        Some(env.seq),
                        serde_json::value::to_raw_value(&env.body).ok(),
                    )
                }
            };
            events.push(e);
        };
    fold_entries_observed(&mut state, &mut model, entries, Filter::All, &mut observe);
    let tree = ledger::merkle::MerkleTree::from_leaves(
        &entries
            .iter()
            .map(|e| leaf_hash(&e.bytes))
            .collect::<Vec<_>>(),
    );
    Bundle {
        format: BUNDLE_FORMAT.into(),
        origin: state.origin.unwrap_or_default(),
        size: entries.len() as u64,
        root: tree.root(),
        events,
        checkpoints,
    }
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
