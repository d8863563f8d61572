//! A segment of the streamed audit, prepared on the thread pool while the
//! segment before it is folded: decoded, its leaf hashes computed, its JSON
//! body views checked, its entries renumbered by leaf index, and the
//! signatures of its first run verified ahead ([`Prepared`]).

use ledger::bundle::AuditEvent;
use ledger::event::Event;
use ledger::ids::Digest;
use ledger::log::Entry;
use rayon::prelude::*;

use super::{event_finding, json_is, Finding};
use crate::fold::{decode, entry_leaf, Keys, Prepared};

/// An event's stated seq and signer (views the audit checks).
pub(super) type StatedViews = (Option<u64>, Option<String>);

/// One segment, ready to fold (see the module's documentation).
pub(super) struct Segment {
    /// Events before it.
    pub base: u64,
    /// Its entries (positions by leaf index), decoded, verified ahead.
    pub prepared: Prepared,
    /// Each event's leaf hash.
    pub ids: Vec<Digest>,
    /// The positions the events state.
    pub stated_positions: Vec<u64>,
    /// The ids the events state, if any.
    pub stated_ids: Vec<Option<Digest>>,
    /// The seq and signer each event states.
    pub stated: Vec<StatedViews>,
    /// Events whose JSON body view differs from the signed envelope.
    pub body_problems: Vec<Finding>,
}

impl Segment {
    /// Prepares `events` (the next ones after `base`), verifying the first
    /// run's signatures under `keys` if given.
    pub fn new(base: u64, events: Vec<AuditEvent>, keys: Option<&Keys>) -> Segment {
        let decoded: Vec<Result<Event, String>> =
            events.par_iter().map(|e| decode(&e.entry)).collect();
        let ids: Vec<Digest> = events
            .par_iter()
            .zip(&decoded)
            .map(|(e, d)| entry_leaf(&e.entry, d))
            .collect();
        let body_problems = body_problems(base, &events, &decoded, &ids);
        let stated_positions = events.iter().map(|e| e.entry.position).collect();
        let stated_ids = events.iter().map(|e| e.stated_id).collect();
        // Entries renumbered by leaf index; the stated seq and signer moved
        // out beside them (no copy).
        let (entries, stated): (Vec<Entry>, Vec<StatedViews>) = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let entry = Entry {
                    position: base + i as u64 + 1,
                    ..e.entry
                };
                (entry, (e.stated_seq, e.signer))
            })
            .unzip();
        let mut prepared = Prepared {
            entries,
            decoded,
            ahead: Vec::new(),
        };
        if let Some(keys) = keys {
            prepared.verify_ahead(keys);
        }
        Segment {
            base,
            prepared,
            ids,
            stated_positions,
            stated_ids,
            stated,
            body_problems,
        }
    }
}

/// Events whose JSON body view does not match the signed envelope.
fn body_problems(
    base: u64,
    events: &[AuditEvent],
    decoded: &[Result<Event, String>],
    ids: &[Digest],
) -> Vec<Finding> {
    events
        .par_iter()
        .zip(decoded)
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
                    base + i as u64 + 1,
                    ids[i],
                    Some(ev.envelope().producer.to_string()),
                    "body_mismatch",
                    "the JSON body view does not match the signed envelope".into(),
                )
            })
        })
        .collect()
}
