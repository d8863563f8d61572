//! Building a producer's next event from the ledger state. Pure: time is passed in.

use crate::body::Body;
use crate::calendar::Timestamp;
use crate::codec::CodecError;
use crate::envelope::{Envelope, FORMAT_VERSION};
use crate::event::Event;
use crate::ids::MemberId;
use crate::keys::Signer;
use crate::rules::{evaluate, Outcome, SignatureCheck};
use crate::state::State;

/// The envelope of `producer`'s next event: `seq` and `prev` from its chain head,
/// `recorded_at` = `now` (never earlier than its previous event).
pub fn next_envelope(
    state: &State,
    origin: &str,
    producer: &MemberId,
    body: Body,
    now: Timestamp,
) -> Envelope {
    let chain = state.chain(producer);
    Envelope {
        version: FORMAT_VERSION,
        origin: origin.to_string(),
        producer: producer.clone(),
        seq: chain.seq() + 1,
        prev: chain.head(),
        recorded_at: now.max(chain.last_recorded),
        body,
    }
}

/// Signs `producer`'s next event.
pub fn next_event(
    state: &State,
    origin: &str,
    producer: &MemberId,
    body: Body,
    now: Timestamp,
    signer: &Signer,
) -> Result<Event, CodecError> {
    Event::sign(next_envelope(state, origin, producer, body, now), signer)
}

/// The producer step, pure: the next event of `producer` on its chain in
/// `state`, signed by `signer` at `now`, with the rules' verdict on it as the
/// log will judge it on the producer's own subject. Every command that
/// produces (and `init`, and the demo) goes through it; the shell appends only
/// an accepted event. `check`: whether to verify the fresh signature
/// (`SignatureCheck::AlreadyVerified` where the signer is known good, as in the
/// demo's volume).
pub fn step(
    state: &State,
    origin: &str,
    producer: &MemberId,
    body: Body,
    now: Timestamp,
    signer: &Signer,
    check: SignatureCheck,
) -> Result<(Event, Outcome), CodecError> {
    let event = next_event(state, origin, producer, body, now, signer)?;
    let outcome = evaluate(state, &event, Some(producer), check);
    Ok((event, outcome))
}
