//! Judging and folding a batch of log entries: decode, batch-verify signatures,
//! apply the rules, fold accepted events into the model. Pure over values.
//!
//! Signatures are verified in runs that end at any event able to change keys
//! (genesis, admission, rotation, revocation), so every event in a run is checked
//! under the key the rules will expect. A run is batch-verified in chunks (in
//! parallel); a failing chunk is re-checked one by one to pin down the forgery.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::VerifyingKey;
use ledger::body::Body;
use ledger::calendar::Timestamp;
use ledger::event::{verify_batch, Event};
use ledger::ids::MemberId;
use ledger::log::Entry;
use ledger::rules::{evaluate, SignatureCheck};
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

/// The active verifying key of every member, as the rules state holds them at
/// one moment. Verdicts computed under a snapshot are used only while the state
/// still has exactly these keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keys(BTreeMap<MemberId, [u8; 32]>);

impl Keys {
    /// The active keys in `state`.
    pub fn of(state: &State) -> Keys {
        Keys(
            state
                .members
                .iter()
                .filter_map(|(id, m)| Some((id.clone(), m.active_key?.0)))
                .collect(),
        )
    }
}

/// A batch decoded and (up to its first key-changing event) batch-verified
/// against a [`Keys`] snapshot: the CPU-heavy part of folding, which can run on
/// other cores while the previous batch is judged.
#[derive(Debug)]
pub struct Prepared {
    first: u64,
    keys: Keys,
    decoded: Vec<Result<Event, String>>,
    /// Verdicts for the first run (events before and including the first key-changing one).
    verified: Vec<bool>,
}

fn run_end(decoded: &[Result<Event, String>], start: usize) -> usize {
    let mut end = start;
    while end < decoded.len() {
        end += 1;
        if matches!(&decoded[end - 1], Ok(ev) if changes_keys(&ev.envelope().body)) {
            break;
        }
    }
    end
}

/// Decodes `entries` and batch-verifies their first run under `keys`. Pure.
pub fn prepare(keys: &Keys, entries: &[Entry]) -> Prepared {
    let decoded: Vec<Result<Event, String>> = entries
        .par_iter()
        .map(|e| Event::from_bytes(&e.bytes).map_err(|err| err.to_string()))
        .collect();
    let end = run_end(&decoded, 0);
    let verified = verify_run(keys, &decoded[..end]);
    Prepared {
        first: entries.first().map_or(0, |e| e.position),
        keys: keys.clone(),
        decoded,
        verified,
    }
}

/// Judges and folds `entries` (in log order) into `state` and `model`. Entries
/// at or before `model.position` were folded already and are skipped, so a
/// batch delivered twice (a consumer redelivery, a retried read) counts once;
/// the same event stored again at a new position is a rules `Duplicate`.
pub fn fold_entries(state: &mut State, model: &mut Model, entries: &[Entry], filter: Filter) {
    let fresh = entries.partition_point(|e| e.position <= model.position);
    let entries = &entries[fresh..];
    let prepared = prepare(&Keys::of(state), entries);
    fold_prepared(state, model, entries, prepared, filter);
}

/// Judges and folds `entries`, prepared by [`prepare`] (possibly under older
/// keys: the first run's verdicts are used only if the keys are still the same,
/// otherwise it is verified again). Entries at or before `model.position` are skipped.
pub fn fold_prepared(
    state: &mut State,
    model: &mut Model,
    entries: &[Entry],
    prepared: Prepared,
    filter: Filter,
) {
    assert_eq!(
        prepared.first,
        entries.first().map_or(0, |e| e.position),
        "prepared for another batch"
    );
    let Prepared {
        keys,
        decoded,
        verified: first_run,
        ..
    } = prepared;
    let skip = entries.partition_point(|e| e.position <= model.position);
    let mut first_run = Some(first_run).filter(|_| keys == Keys::of(state) && skip == 0);
    let mut start = skip;
    while start < entries.len() {
        // The run ends after the first key-changing event.
        let end = run_end(&decoded, start);
        let verified = match first_run.take() {
            Some(v) if start == 0 => v,
            _ => verify_run(&Keys::of(state), &decoded[start..end]),
        };
        for i in start..end {
            let entry = &entries[i];
            match &decoded[i] {
                Err(reason) => model.fold_malformed(entry.position, reason.clone()),
                Ok(ev) => {
                    let check = if verified[i - start] {
                        SignatureCheck::AlreadyVerified
                    } else {
                        SignatureCheck::Verify
                    };
                    let outcome = evaluate(state, ev, entry.appended_at, check);
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
fn verify_run(keys: &Keys, run: &[Result<Event, String>]) -> Vec<bool> {
    // Decompressing a key costs a square root, about a third of a batch
    // verification per signature: do it once per producer, not once per event.
    let mut cache: HashMap<&MemberId, Option<VerifyingKey>> = HashMap::new();
    let keyed: Vec<(usize, &Event, VerifyingKey)> = run
        .iter()
        .enumerate()
        .filter_map(|(i, ev)| {
            let ev = ev.as_ref().ok()?;
            let producer = &ev.envelope().producer;
            let key = *cache.entry(producer).or_insert_with(|| {
                keys.0
                    .get(producer)
                    .and_then(|k| ledger::keys::PublicKey(*k).verifying_key().ok())
            });
            Some((i, ev, key?))
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
