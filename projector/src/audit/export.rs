//! The audit bundle's events, a batch at a time: each entry with its decoded
//! views and the signer key the rules expect before it, judged by a
//! [`Projector`] on the exporter's workspace (so memory holds one batch).

use ledger::bundle::{Bundle, BundleEvent};
use ledger::event::Event;
use ledger::log::Entry;
use ledger::rules::Outcome;
use ledger::state::State;
use rayon::prelude::*;

use super::expected_signer;
use crate::fold::decode;
use crate::run::{Projector, RunError};

/// Exports events in log order (see the module's documentation).
#[derive(Debug, Default)]
pub struct Exporter {
    /// Entries exported.
    pub count: u64,
}

impl Exporter {
    /// The bundle events of the next `entries` of the log, folded into `p`
    /// (a workspace's projector, which saves when due).
    pub fn push(
        &mut self,
        p: &mut Projector,
        entries: &[Entry],
    ) -> Result<Vec<BundleEvent>, RunError> {
        let decoded: Vec<Result<Event, String>> = entries.par_iter().map(decode).collect();
        let mut events = Vec::with_capacity(entries.len());
        let mut observe =
            |entry: &Entry, ev: Result<&Event, &str>, _: Option<&Outcome>, state: &State| {
                events.push(bundle_event(entry, ev, state));
            };
        p.fold_batch(entries, &decoded, &mut observe)?;
        p.save_when_due()?;
        self.count += entries.len() as u64;
        Ok(events)
    }
}

/// The wire form of one entry, given the rules state before it.
fn bundle_event(entry: &Entry, ev: Result<&Event, &str>, state: &State) -> BundleEvent {
    match ev {
        Err(_) => Bundle::event(
            entry,
            None,
            entry.member.as_ref().map(|m| m.to_string()),
            None,
            None,
        ),
        Ok(ev) => {
            let env = ev.envelope();
            // The subject carrying it (evidence); the producer where the log
            // keeps only a member's own events on its chain.
            let member = entry.member.as_ref().unwrap_or(&env.producer);
            Bundle::event(
                entry,
                expected_signer(state, ev),
                Some(member.to_string()),
                Some(env.seq),
                serde_json::value::to_raw_value(&env.body).ok(),
            )
        }
    }
}
