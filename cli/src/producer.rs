//! The producer's shell: one producer step over the log, with the rules
//! state read from the projector's store instead of a replay of the log.
//!
//! A producer command opens the projector of its ledger directory (read-only
//! when a follower holds it), folds only the entries appended since it was
//! saved, loads the items its events name (with their links: see
//! `Body::named_items` and `Item::links`), signs and pre-checks its events
//! against that state, and appends them in one conditional append. What it
//! reads does not grow with the log: a chain head, a few items, the entries
//! since the last save.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use ledger::body::Body;
use ledger::calendar::Timestamp;
use ledger::event::Event;
use ledger::ids::{ItemId, MemberId};
use ledger::keys::Signer;
use ledger::log::{Entry, Log, LogError};
use ledger::producer::step;
use ledger::rules::{Outcome, SignatureCheck};
use projector::run::Projector;

use crate::cmd::projector::projector_dir;
use crate::context::CONFLICT_RETRIES;

/// Entries folded by a producer after which it saves the projector (when it
/// holds it), so the next command does not fold them again.
const SAVE_AFTER: u64 = 1_000;

/// The ledger's rules refuse an event (nothing appended): exit code 4.
#[derive(Debug)]
pub struct Refused {
    /// Which event of the batch (0-based), when the batch had several.
    pub index: Option<usize>,
    /// Why, e.g. "rejected, nothing appended: ...".
    pub what: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "event {} {}", i + 1, self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl std::error::Error for Refused {}

/// An append that failed: the events it stored before the failure (a
/// prefix of the batch, in order; at least these), and why the rest were not.
#[derive(Debug)]
pub struct AppendFailed {
    /// The events stored, with their positions.
    pub stored: Vec<(Event, u64)>,
    /// Why the rest were not.
    pub error: LogError,
}

impl std::fmt::Display for AppendFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.stored.last() {
            None => write!(f, "nothing stored: {}", self.error.cause()),
            Some((ev, _)) => write!(
                f,
                "the first {} events were stored (the last as {}), the rest not: {}",
                self.stored.len(),
                ev.id(),
                self.error.cause()
            ),
        }
    }
}

impl std::error::Error for AppendFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Bodies signed and pre-checked, or the stored event a retry repeats.
enum Signed {
    /// Every event accepted, in order.
    Events(Vec<Event>),
    /// A single event identical to the producer's last stored one.
    Stored(Emitted),
}

/// What an emit stored, or (dry run) would store.
pub struct Emitted {
    /// The events with their positions (`None` in a dry run).
    pub events: Vec<(Event, Option<u64>)>,
    /// The events were identical to ones already stored (a retry): these are
    /// the stored ones, nothing was appended.
    pub already_stored: bool,
}

/// A producer on a log, with the rules state of the projector in `dir`.
pub struct Producer<L> {
    /// The log.
    pub log: L,
    projector: Projector,
}

impl<L: Log> Producer<L> {
    /// Opens the projector of `dir` (read-only if another process follows
    /// with it) and folds the entries appended since its last save.
    pub async fn open(log: L, dir: &Path) -> Result<Producer<L>> {
        let projector = Projector::open_shared(&projector_dir(dir))?;
        let mut p = Producer { log, projector };
        p.refresh().await?;
        Ok(p)
    }

    /// Folds what was appended since (by other writers too).
    async fn refresh(&mut self) -> Result<()> {
        if self.projector.advance(&self.log, |_| {}).await? >= SAVE_AFTER {
            self.projector.save_if_behind()?;
        }
        Ok(())
    }

    /// The projector (its rules state: members, keys, chains).
    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// The member a signer signs for, checked to be admitted with that key active.
    pub fn producer(&self, signer: &Signer) -> Result<MemberId> {
        member_of(self.projector.rules_state(), signer)
    }

    /// Builds, signs and pre-checks `bodies` in order (each against the
    /// state the previous ones leave), then appends them all in one atomic
    /// append; nothing is written unless every one is accepted. A single
    /// event identical in body to the producer's last stored one is a retry:
    /// the stored event is returned and nothing appended. With `dry_run`,
    /// everything is checked and nothing appended.
    pub async fn emit(
        &mut self,
        signer: &Signer,
        bodies: Vec<Body>,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<Emitted> {
        let mut attempts = 0;
        let mut stored: Vec<(Event, u64)> = Vec::new();
        loop {
            let rest = bodies[stored.len()..].to_vec();
            let failed = match self.emit_once(signer, rest, now, dry_run).await {
                Ok(mut emitted) if !stored.is_empty() => {
                    let mut events: Vec<_> =
                        stored.into_iter().map(|(e, p)| (e, Some(p))).collect();
                    events.append(&mut emitted.events);
                    return Ok(Emitted {
                        events,
                        already_stored: false,
                    });
                }
                Ok(emitted) => return Ok(emitted),
                Err(e) => match e.downcast::<AppendFailed>() {
                    Ok(failed) => failed,
                    Err(e) => return Err(e),
                },
            };
            stored.extend(failed.stored);
            if attempts < CONFLICT_RETRIES
                && matches!(failed.error.cause(), LogError::Conflict { .. })
            {
                // Another writer holding the same key extended the chain
                // first: fold it, re-check, re-sign the rest and retry.
                attempts += 1;
                tracing::info!("{}; recovering the chain head and retrying", failed.error);
                self.refresh().await?;
                continue;
            }
            return Err(AppendFailed {
                stored,
                error: failed.error,
            }
            .into());
        }
    }

    async fn emit_once(
        &mut self,
        signer: &Signer,
        bodies: Vec<Body>,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<Emitted> {
        let producer = self.producer(signer)?;
        let last = self.chain_head(&producer).await?;
        let events = match self.sign_all(signer, &producer, bodies, now, last.as_ref())? {
            Signed::Events(events) => events,
            Signed::Stored(emitted) => return Ok(emitted),
        };
        if dry_run {
            return Ok(Emitted {
                events: events.into_iter().map(|e| (e, None)).collect(),
                already_stored: false,
            });
        }
        let bytes: Vec<Vec<u8>> = events.iter().map(|e| e.bytes().to_vec()).collect();
        let expected = last.map(|e| e.position);
        let positions = match self.log.append(&producer, expected, &bytes, now).await {
            Ok(positions) => positions,
            Err(error) => {
                let stored = events.into_iter().zip(error.stored().to_vec()).collect();
                return Err(AppendFailed { stored, error }.into());
            }
        };
        Ok(Emitted {
            events: events
                .into_iter()
                .zip(positions.into_iter().map(Some))
                .collect(),
            already_stored: false,
        })
    }

    /// The last entry on the producer's subject, the chain head its events
    /// are signed on, with the projector folded up to it if another writer
    /// appended.
    async fn chain_head(&mut self, producer: &MemberId) -> Result<Option<Entry>> {
        loop {
            let last = self.log.last_of(producer).await?;
            match last {
                Some(e) if e.position > self.projector.position => self.refresh().await?,
                _ => return Ok(last),
            }
        }
    }

    /// Signs and pre-checks `bodies` in order through the producer step, each
    /// against the state the previous ones leave; a single event identical in
    /// body to the producer's `last` stored one is a retry, answered with it.
    fn sign_all(
        &mut self,
        signer: &Signer,
        producer: &MemberId,
        bodies: Vec<Body>,
        now: Timestamp,
        last: Option<&Entry>,
    ) -> Result<Signed> {
        let state = self.projector.rules_state();
        let origin = state
            .origin
            .clone()
            .ok_or_else(|| anyhow!("the ledger has no genesis yet: run `tallinn init`"))?;
        let named: Vec<ItemId> = bodies
            .iter()
            .flat_map(|b| b.named_items())
            .cloned()
            .collect();
        self.projector.load_items(named)?;
        let mut state = self.projector.rules_state().clone();
        let mut events = Vec::with_capacity(bodies.len());
        let single = bodies.len() == 1;
        for (i, body) in bodies.into_iter().enumerate() {
            let check = SignatureCheck::Verify;
            let (event, outcome) = step(&state, &origin, producer, body, now, signer, check)?;
            let (index, what) = match outcome {
                Outcome::Accepted => {
                    state.apply(&event, &Outcome::Accepted);
                    events.push(event);
                    continue;
                }
                Outcome::Rejected(r) => {
                    if let Some(stored) = same_as_stored(&event, last).filter(|_| single) {
                        return Ok(Signed::Stored(Emitted {
                            events: vec![(stored, last.map(|e| e.position))],
                            already_stored: true,
                        }));
                    }
                    let what = format!("rejected, nothing appended: {r}");
                    ((!single).then_some(i), what)
                }
                Outcome::Duplicate => (Some(i), "duplicates one already in the log".into()),
            };
            return Err(Refused { index, what }.into());
        }
        Ok(Signed::Events(events))
    }
}

/// The member `signer` signs for in `state`, checked to be admitted with
/// that key active.
pub fn member_of(state: &ledger::state::State, signer: &Signer) -> Result<MemberId> {
    let id: MemberId = signer
        .name()
        .parse()
        .map_err(|e| anyhow!("key name: {e}"))?;
    let Some(m) = state.members.get(&id) else {
        bail!("{id} is not an admitted member of this ledger");
    };
    match m.active_key {
        Some(k) if k == signer.public_key() => Ok(id),
        Some(_) => bail!("this key is not {id}'s active key (was it rotated?)"),
        None => bail!("{id}'s key is revoked; the coordinator must rotate a new key in"),
    }
}

/// The stored event `last` if it has the body of `event` (same producer:
/// `last` is on its subject), i.e. `event` is a retry of it.
fn same_as_stored(event: &Event, last: Option<&ledger::log::Entry>) -> Option<Event> {
    let stored = Event::from_bytes(&last?.bytes).ok()?;
    let (a, b) = (stored.envelope(), event.envelope());
    (a.producer == b.producer && a.body == b.body).then_some(stored)
}
