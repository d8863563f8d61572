//! Replaying log entries into a [`State`]: decode, judge, fold. Pure over values.

use crate::calendar::Timestamp;
use crate::codec::CodecError;
use crate::event::Event;
use crate::log::Entry;
use crate::rules::{evaluate, Outcome, SignatureCheck};
use crate::state::State;

/// One entry after judgement.
#[derive(Debug, Clone)]
pub struct Judged {
    /// Position in the log.
    pub position: u64,
    /// When the log received it (information only).
    pub appended_at: Timestamp,
    /// The member whose subject carries it ([`Entry::member`]).
    pub member: Option<crate::ids::MemberId>,
    /// The decoded event, or why its bytes are malformed.
    pub event: Result<Event, CodecError>,
    /// The verdict (`None` for malformed bytes).
    pub outcome: Option<Outcome>,
}

/// Decodes, judges (verifying each signature) and folds one entry into `state`.
pub fn replay_entry(state: &mut State, entry: &Entry) -> Judged {
    let event = Event::from_bytes(&entry.bytes);
    let outcome = event.as_ref().ok().map(|ev| {
        let outcome = evaluate(state, ev, entry.member.as_ref(), SignatureCheck::Verify);
        state.apply(ev, &outcome);
        outcome
    });
    Judged {
        position: entry.position,
        appended_at: entry.appended_at,
        member: entry.member.clone(),
        event,
        outcome,
    }
}

/// Replays entries in order into a fresh state.
pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> (State, Vec<Judged>) {
    let mut state = State::new();
    let judged = entries
        .into_iter()
        .map(|e| replay_entry(&mut state, e))
        .collect();
    (state, judged)
}
