//! Judging and folding a batch of log entries: decode, batch-verify signatures,
//! apply the rules, fold accepted events into the model. Pure over values.
//!
//! Signatures are verified in runs that end at any event able to change keys
//! (genesis, admission, rotation, revocation), so every event in a run is checked
//! under the key the rules will expect. A run is batch-verified in chunks (in
//! parallel); a failing chunk is re-checked one by one to pin down the forgery.

use ed25519_dalek::VerifyingKey;
use ledger::body::Body;
use ledger::calendar::Timestamp;
use ledger::event::{verify_batch, Event};
use ledger::log::Entry;
use ledger::rules::{evaluate, Outcome, SignatureCheck};
use ledger::state::State;
use rayon::prelude::*;

use crate::model::Model;

/// Events per batch-verification chunk.
pub const VERIFY_CHUNK: usize = 64;

/// Which events to fold into the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Every event.
    All,
    /// Only events recorded at or before this instant (the state as of then);
    /// the rules still see every event in log order.
    RecordedBy(Timestamp),
}

fn changes_keys(body: &Body) -> bool {
    matches!(
        body,
        Body::Genesis(_) | Body::MemberAdmitted(_) | Body::KeyRotated(_) | Body::KeyRevoked(_)
    )
}

/// What [`fold_entries_observed`] reports for one entry: the entry, its decoded
/// event (or why it is malformed), its verdict, and the rules state *before*
/// the event was applied.
pub type Observer<'a> = dyn FnMut(&Entry, Result<&Event, &str>, Option<&Outcome>, &State) + 'a;

/// Judges and folds `entries` (in log order) into `state` and `model`.
pub fn fold_entries(state: &mut State, model: &mut Model, entries: &[Entry], filter: Filter) {
    fold_entries_observed(state, model, entries, filter, &mut |_, _, _, _| {});
}

/// [`fold_entries`], calling `observe` for every entry in log order (the
/// auditor uses it to report each verdict without a second rules pass).
pub fn fold_entries_observed(
    state: &mut State,
    model: &mut Model,
    entries: &[Entry],
    filter: Filter,
    observe: &mut Observer<'_>,
) {
    let decoded: Vec<Result<Event, String>> = entries
        .par_iter()
        .map(|e| Event::from_bytes(&e.bytes).map_err(|err| err.to_string()))
        .collect();
    let mut start = 0;
    while start < entries.len() {
        // The run ends after the first key-changing event.
        let mut end = start;
        while end < entries.len() {
            end += 1;
            if matches!(&decoded[end - 1], Ok(ev) if changes_keys(&ev.envelope().body)) {
                break;
            }
        }
        let verified = verify_run(state, &decoded[start..end]);
        for i in start..end {
            let entry = &entries[i];
            match &decoded[i] {
                Err(reason) => {
                    observe(entry, Err(reason), None, state);
                    model.fold_malformed(entry.position, reason.clone());
                }
                Ok(ev) => {
                    let check = if verified[i - start] {
                        SignatureCheck::AlreadyVerified
                    } else {
                        SignatureCheck::Verify
                    };
                    let outcome = evaluate(state, ev, entry.appended_at, check);
                    observe(entry, Ok(ev), Some(&outcome), state);
                    state.apply(ev, &outcome);
                    let include = match filter {
                        Filter::All => true,
                        Filter::RecordedBy(t) => ev.envelope().recorded_at <= t,
                    };
                    if include {
                        model.fold(entry.position, ev, &outcome);
                    } else {
                        model.position = entry.position;
                    }
                }
            }
        }
        start = end;
    }
}

/// For each event of a run: whether its signature verified under its producer's
/// current active key. `false` leaves the check (and its verdict) to the rules.
fn verify_run(state: &State, run: &[Result<Event, String>]) -> Vec<bool> {
    let keyed: Vec<(usize, &Event, VerifyingKey)> = run
        .iter()
        .enumerate()
        .filter_map(|(i, ev)| {
            let ev = ev.as_ref().ok()?;
            let key = state.active_key(&ev.envelope().producer)?;
            Some((i, ev, key.verifying_key().ok()?))
        })
        .collect();
    let mut ok = vec![false; run.len()];
    let results: Vec<Vec<(usize, bool)>> = keyed
        .par_chunks(VERIFY_CHUNK)
        .map(|chunk| {
            let events: Vec<&Event> = chunk.iter().map(|(_, e, _)| *e).collect();
            let keys: Vec<VerifyingKey> = chunk.iter().map(|(_, _, k)| *k).collect();
            if verify_batch(&events, &keys) {
                chunk.iter().map(|(i, _, _)| (*i, true)).collect()
            } else {
                // Pin down the bad ones with strict single verification.
                chunk
                    .iter()
                    .map(|(i, e, k)| (*i, e.verify(&ledger::keys::PublicKey(k.to_bytes())).is_ok()))
                    .collect()
            }
        })
        .collect();
    for (i, good) in results.into_iter().flatten() {
        ok[i] = good;
    }
    ok
}
