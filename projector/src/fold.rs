//! Judging and folding a batch of log entries: decode, batch-verify signatures,
//! apply the rules, fold accepted events into the model. Pure over values.
//!
//! Signatures are verified in runs that end at any event able to change keys
//! (genesis, admission, rotation, revocation), so every event in a run is checked
//! under the key the rules will expect. A run is batch-verified in chunks (in
//! parallel, with `ledger::batch`); a failing chunk is split in halves down to a few
//! events, then checked one by one (the same ZIP 215 rule) to pin down the forgery.
//! A run is judged in steps of [`PIPELINE_STEP`] events: while one step is
//! judged in log order on the calling thread, the next step's signatures are
//! verified on the rayon pool, so the sequential rules overlap verification.
//!
//! Across batches ([`Prepared`], used by `Projector::advance`): a batch's
//! signatures can be verified while the batch before it is folded, under the
//! keys before that batch, when it changes no key. What was verified ahead
//! counts only if the producer's active key is still that key when the event
//! is judged ([`fold_verified`]).

use std::collections::HashMap;

use ledger::batch::{verify_batch, BatchKey};
use ledger::body::Body;
use ledger::calendar::Timestamp;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::keys::PublicKey;
use ledger::log::Entry;
use ledger::rules::{evaluate, Outcome, SignatureCheck};
use ledger::state::State;
use rayon::prelude::*;

use crate::model::Model;

/// Events per batch-verification chunk.
pub const VERIFY_CHUNK: usize = 256;

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
    let decoded: Vec<Result<Event, String>> = entries.par_iter().map(decode).collect();
    fold_decoded_observed(state, model, entries, &decoded, filter, observe);
}

/// What one folded entry touched, for a node that mirrors the read model
/// (see `Projector::track_folded`): its Merkle leaf (the event id, or the
/// leaf hash of bytes that do not decode), its signed time and the member
/// whose chain carries it, and the items its event names (the only rows its
/// fold can change).
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    /// Log position.
    pub position: u64,
    /// The entry's Merkle leaf hash.
    pub leaf: ledger::ids::Digest,
    /// `recorded_at` and the member carrying the entry (its subject, else the
    /// envelope's producer); `None` for bytes that do not decode.
    pub recorded: Option<(Timestamp, MemberId)>,
    /// The items the event names (`Body::named_items`).
    pub items: Vec<ledger::ids::ItemId>,
}

/// The Merkle leaf hash of an entry: its event's id, or the leaf hash of its
/// bytes when they do not decode.
pub fn entry_leaf(entry: &Entry, event: &Result<Event, String>) -> ledger::ids::Digest {
    match event {
        Ok(ev) => ev.id(),
        Err(_) => ledger::event::leaf_hash(&entry.bytes),
    }
}

impl Folded {
    /// What `entry` (decoded as `event`) touched.
    pub fn of(entry: &Entry, event: &Result<Event, String>) -> Folded {
        let (recorded, items) = match event {
            Ok(ev) => {
                let env = ev.envelope();
                let member = entry.member.clone().unwrap_or_else(|| env.producer.clone());
                let items = env.body.named_items().into_iter().cloned().collect();
                (Some((env.recorded_at, member)), items)
            }
            Err(_) => (None, Vec::new()),
        };
        Folded {
            position: entry.position,
            leaf: entry_leaf(entry, event),
            recorded,
            items,
        }
    }
}

/// Decodes one entry's bytes; the error in words, as the model records it.
pub fn decode(entry: &Entry) -> Result<Event, String> {
    Event::from_bytes(&entry.bytes).map_err(|err| err.summary())
}

/// [`fold_entries_observed`] over entries already decoded with [`decode`]
/// (`decoded[i]` is `entries[i]` decoded), for callers that also use the events.
///
/// # Panics
/// If `decoded` and `entries` differ in length.
pub fn fold_decoded_observed(
    state: &mut State,
    model: &mut Model,
    entries: &[Entry],
    decoded: &[Result<Event, String>],
    filter: Filter,
    observe: &mut Observer<'_>,
) {
    fold_verified(state, model, entries, decoded, &[], filter, observe);
}

/// [`fold_decoded_observed`] where the first `ahead.len()` events had their
/// signatures verified ahead ([`Prepared`]): `ahead[i]` is the key the
/// signature of event `i` batch-verified under. It counts as verified only
/// if that is still its producer's active key when the event is judged;
/// otherwise the rules verify it on their own, so the verdicts never depend
/// on what was verified ahead. The rest is verified as the fold goes.
///
/// # Panics
/// If `decoded` and `entries` differ in length, or `ahead` is longer.
pub fn fold_verified(
    state: &mut State,
    model: &mut Model,
    entries: &[Entry],
    decoded: &[Result<Event, String>],
    ahead: &[Option<PublicKey>],
    filter: Filter,
    observe: &mut Observer<'_>,
) {
    assert_eq!(entries.len(), decoded.len(), "one decoded event per entry");
    assert!(ahead.len() <= entries.len(), "at most one key per entry");
    // Entries at or before `model.position` were folded already: a batch handed
    // over twice (a consumer redelivery, a retried read) counts once. The same
    // event stored again at a new position is a rules `Duplicate`.
    let fresh = entries.partition_point(|e| e.position <= model.position);
    let split = ahead.len().max(fresh);
    let mut judge_at = |state: &mut State, i: usize, verified: bool| {
        judge(
            state,
            model,
            &entries[i],
            &decoded[i],
            verified,
            filter,
            observe,
        )
    };
    for i in fresh..split {
        let verified = match (&decoded[i], ahead[i]) {
            (Ok(ev), Some(key)) => state.active_key(&ev.envelope().producer) == Some(key),
            _ => false,
        };
        judge_at(state, i, verified);
    }
    pipeline(state, &decoded[split..], |state, i, verified| {
        judge_at(state, split + i, verified)
    });
}

/// The members' active keys, prepared for batches: taken from the rules
/// state before a batch is folded, to verify the next batch's signatures
/// while it is ([`Prepared`]).
#[derive(Debug, Clone, Default)]
pub struct Keys(HashMap<MemberId, BatchKey>);

impl Keys {
    /// Brings the keys up to `state`'s, decompressing only keys not seen before.
    pub fn refresh(&mut self, state: &State) {
        self.0
            .retain(|member, key| state.active_key(member) == Some(*key.key()));
        for (member, m) in &state.members {
            if let Some(key) = m.active_key {
                if !self.0.contains_key(member) {
                    if let Some(prepared) = BatchKey::new(key) {
                        self.0.insert(member.clone(), prepared);
                    }
                }
            }
        }
    }
}

/// A batch of log entries prepared while the batches before it are folded:
/// decoded, then the signatures of its first run (up to and including its
/// first key-changing event) batch-verified under [`Keys`] taken before
/// the batch just before it is folded. Only when that batch changes no key:
/// otherwise the keys the rules will expect are not known yet, and the
/// whole batch is verified as it is folded.
#[derive(Debug)]
pub struct Prepared {
    /// The entries, in log order.
    pub entries: Vec<Entry>,
    /// Each entry decoded.
    pub decoded: Vec<Result<Event, String>>,
    /// For the first run: the key each signature verified under, if any.
    pub ahead: Vec<Option<PublicKey>>,
}

impl Prepared {
    /// `entries` decoded on this thread, none verified yet.
    pub fn decode(entries: Vec<Entry>) -> Prepared {
        let decoded = entries.iter().map(decode).collect();
        Prepared {
            entries,
            decoded,
            ahead: Vec::new(),
        }
    }

    /// `entries` decoded on the thread pool, the first run's signatures
    /// verified under `keys`.
    pub fn new(entries: Vec<Entry>, keys: &Keys) -> Prepared {
        let decoded = entries.par_iter().map(decode).collect();
        let mut prepared = Prepared {
            entries,
            decoded,
            ahead: Vec::new(),
        };
        prepared.verify_ahead(keys);
        prepared
    }

    /// Verifies the first run's signatures under `keys` (on the thread pool).
    pub fn verify_ahead(&mut self, keys: &Keys) {
        let run = &self.decoded[..first_run(&self.decoded)];
        let keyed: Vec<Option<BatchKey>> = run
            .iter()
            .map(|ev| keys.0.get(&ev.as_ref().ok()?.envelope().producer).copied())
            .collect();
        self.ahead = verify_keyed(run, &keyed)
            .into_iter()
            .zip(keyed)
            .map(|(good, key)| key.filter(|_| good).map(|k| *k.key()))
            .collect();
    }

    /// Whether an event of the batch may change keys.
    pub fn changes_keys(&self) -> bool {
        self.decoded
            .iter()
            .any(|ev| matches!(ev, Ok(ev) if changes_keys(&ev.envelope().body)))
    }
}

/// The length of the first run of `decoded`: up to and including its
/// first key-changing event.
fn first_run(decoded: &[Result<Event, String>]) -> usize {
    decoded
        .iter()
        .position(|ev| matches!(ev, Ok(ev) if changes_keys(&ev.envelope().body)))
        .map_or(decoded.len(), |i| i + 1)
}

/// Judges `entries` (in log order, `decoded[i]` is `entries[i]` decoded) into
/// `state` only, with batch verification as in [`fold_decoded_observed`]:
/// `verdict(i, outcome)` is called for each in order (`None` when malformed).
/// What a producer needs before it signs its next event.
///
/// # Panics
/// If `decoded` and `entries` differ in length.
pub fn judge_decoded(
    state: &mut State,
    entries: &[Entry],
    decoded: &[Result<Event, String>],
    mut verdict: impl FnMut(usize, Option<Outcome>),
) {
    assert_eq!(entries.len(), decoded.len(), "one decoded event per entry");
    pipeline(state, decoded, |state, i, verified| match &decoded[i] {
        Err(_) => verdict(i, None),
        Ok(ev) => {
            let outcome = evaluate(state, ev, entries[i].member.as_ref(), check(verified));
            state.apply(ev, &outcome);
            verdict(i, Some(outcome));
        }
    });
}

/// Calls `judge_one(state, i, verified)` for every event in order, `verified`
/// when its signature batch-verified under its producer's key. Signatures are
/// verified in runs that end at key-changing events, each judged in steps;
/// while one step is judged (in order, on this thread), the signatures of the
/// next are batch-verified on the thread pool.
fn pipeline(
    state: &mut State,
    decoded: &[Result<Event, String>],
    mut judge_one: impl FnMut(&mut State, usize, bool),
) {
    let mut start = 0;
    while start < decoded.len() {
        // The run ends after the first key-changing event.
        let end = start + first_run(&decoded[start..]);
        // Keys are fixed for the whole run.
        let keys = run_keys(state, &decoded[start..end]);
        let step = |from: usize| (from, (from + PIPELINE_STEP).min(end));
        let (mut lo, mut hi) = step(start);
        let mut verified = verify_keyed(&decoded[lo..hi], &keys[lo - start..hi - start]);
        loop {
            let (next_lo, next_hi) = step(hi);
            let mut next = None;
            rayon::in_place_scope(|scope| {
                if next_lo < end {
                    let (run, keys) = (
                        &decoded[next_lo..next_hi],
                        &keys[next_lo - start..next_hi - start],
                    );
                    let slot = &mut next;
                    scope.spawn(move |_| *slot = Some(verify_keyed(run, keys)));
                }
                for i in lo..hi {
                    judge_one(state, i, verified[i - lo]);
                }
            });
            match next {
                Some(v) => (lo, hi, verified) = (next_lo, next_hi, v),
                None => break,
            }
        }
        start = end;
    }
}

/// Events judged per pipeline step.
pub const PIPELINE_STEP: usize = 4096;

/// Judges and folds one entry; `verified` if its signature already verified
/// under its producer's active key.
fn judge(
    state: &mut State,
    model: &mut Model,
    entry: &Entry,
    decoded: &Result<Event, String>,
    verified: bool,
    filter: Filter,
    observe: &mut Observer<'_>,
) {
    match decoded {
        Err(reason) => {
            observe(entry, Err(reason), None, state);
            model.fold_malformed(entry.position, entry.member.clone(), reason.clone());
        }
        Ok(ev) => {
            let outcome = evaluate(state, ev, entry.member.as_ref(), check(verified));
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

/// The rules' signature check for an event whose signature did (or did not)
/// batch-verify under its producer's active key.
fn check(verified: bool) -> SignatureCheck {
    if verified {
        SignatureCheck::AlreadyVerified
    } else {
        SignatureCheck::Verify
    }
}

/// For each event of a run: its producer's active key now (decompressed once
/// per member, prepared for batches), if any.
fn run_keys(state: &State, run: &[Result<Event, String>]) -> Vec<Option<BatchKey>> {
    let mut cache: HashMap<&MemberId, Option<BatchKey>> = HashMap::new();
    run.iter()
        .map(|ev| {
            let producer = &ev.as_ref().ok()?.envelope().producer;
            *cache
                .entry(producer)
                .or_insert_with(|| state.active_key(producer).and_then(BatchKey::new))
        })
        .collect()
}

/// For each event of a run: whether its signature verified under `keys` (its
/// producer's active key). `false` leaves the check (and its verdict) to the rules.
fn verify_keyed(run: &[Result<Event, String>], keys: &[Option<BatchKey>]) -> Vec<bool> {
    let keyed: Vec<(usize, &Event, BatchKey)> = run
        .iter()
        .zip(keys)
        .enumerate()
        .filter_map(|(i, (ev, key))| Some((i, ev.as_ref().ok()?, (*key)?)))
        .collect();
    let mut ok = vec![false; run.len()];
    let results: Vec<Vec<(usize, bool)>> = keyed
        .par_chunks(VERIFY_CHUNK)
        .map(|chunk| {
            let mut verdicts = Vec::with_capacity(chunk.len());
            verify_chunk(chunk, &mut verdicts);
            verdicts
        })
        .collect();
    for (i, good) in results.into_iter().flatten() {
        ok[i] = good;
    }
    ok
}

/// Batch-verifies `chunk`; when the batch fails, its halves are tried in turn
/// down to [`STRICT_BELOW`] events, which are verified one by one (the same
/// ZIP 215 rule, so the verdicts do not depend on how events were batched; a
/// forgery costs a few batches, not a whole chunk of single verifications).
fn verify_chunk(chunk: &[(usize, &Event, BatchKey)], verdicts: &mut Vec<(usize, bool)>) {
    let events: Vec<&Event> = chunk.iter().map(|(_, e, _)| *e).collect();
    let keys: Vec<BatchKey> = chunk.iter().map(|(_, _, k)| *k).collect();
    if verify_batch(&events, &keys) {
        verdicts.extend(chunk.iter().map(|(i, _, _)| (*i, true)));
    } else if chunk.len() >= STRICT_BELOW {
        let (a, b) = chunk.split_at(chunk.len() / 2);
        verify_chunk(a, verdicts);
        verify_chunk(b, verdicts);
    } else {
        verdicts.extend(
            chunk
                .iter()
                .map(|(i, e, k)| (*i, k.verify(e.signed_bytes(), &e.signature()))),
        );
    }
}

/// Chunks smaller than this that fail as a batch are verified one by one.
const STRICT_BELOW: usize = 16;
