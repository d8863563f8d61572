//! The projector shell: pulls entries from a [`Log`], folds them, saves snapshots.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use ledger::calendar::Timestamp;
use ledger::log::{Log, LogError};
use ledger::state::State;

use crate::fold::{fold_entries, Filter};
use crate::model::Model;
use crate::store::{ProjectorStore, StoreError};

/// Entries read from the log at a time.
pub const READ_BATCH: usize = 8192;

/// Why projection failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading the log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The projector's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a catch-up is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Position reached.
    pub position: u64,
    /// Log length when the catch-up started.
    pub target: u64,
    /// Events folded per second so far.
    pub rate: f64,
}

/// A projector: state, model and the position they reflect, saved in its store.
pub struct Projector {
    store: ProjectorStore,
    /// The rules state after `position`.
    pub state: State,
    /// The read model after `position`.
    pub model: Model,
    /// Last log position folded.
    pub position: u64,
    /// Save a snapshot after at least this many events (and a quarter of the position).
    pub save_every: u64,
    saved: u64,
}

impl Projector {
    /// Opens the projector stored in `dir` at its last saved position.
    pub fn open(dir: &Path, wait: Duration) -> Result<Projector, RunError> {
        let store = ProjectorStore::open(dir, wait)?;
        let (position, state, model) = store.load()?;
        Ok(Projector {
            store,
            state,
            model,
            position,
            save_every: 50_000,
            saved: position,
        })
    }

    /// Forgets everything saved: the next catch-up rebuilds from position 1.
    pub fn reset(&mut self) -> Result<(), RunError> {
        self.store.clear()?;
        self.state = State::new();
        self.model = Model::new();
        self.position = 0;
        self.saved = 0;
        Ok(())
    }

    /// Saves the snapshot now.
    pub fn save(&mut self) -> Result<(), RunError> {
        self.store.save(self.position, &self.state, &self.model)?;
        self.saved = self.position;
        Ok(())
    }

    /// Folds every entry after `position` up to the log's end, saving every
    /// `save_every` events and at the end. Returns the number of entries folded.
    pub async fn catch_up<L: Log>(
        &mut self,
        log: &L,
        progress: impl FnMut(Progress),
    ) -> Result<u64, RunError> {
        let n = self.advance(log, progress).await?;
        self.save_if_behind()?;
        Ok(n)
    }

    /// Folds every entry after `position` up to the log's end, saving only
    /// every `save_every` events (a growing gap, see below), not at the end:
    /// what a follower calls on each wake-up, saving when idle with
    /// [`Projector::save_if_behind`] (a snapshot re-encodes the whole model, so
    /// saving after every small step would cost the square of the log).
    /// Returns the number of entries folded.
    pub async fn advance<L: Log>(
        &mut self,
        log: &L,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64, RunError> {
        let target = log.len().await?;
        let start = Instant::now();
        let first = self.position;
        loop {
            let entries = log.read(self.position + 1, READ_BATCH).await?;
            let Some(last) = entries.last() else { break };
            let last = last.position;
            // `fold_entries` overlaps judging with the next step's verification.
            fold_entries(&mut self.state, &mut self.model, &entries, Filter::All);
            self.position = last;
            // A snapshot re-encodes the whole model, so the gap between saves grows
            // with the position (a quarter of it): saving stays linear overall, and
            // a crash costs at most a fifth of the work done.
            if self.position - self.saved >= self.save_every.max(self.position / 4) {
                self.save()?;
            }
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            progress(Progress {
                position: self.position,
                target,
                rate: (self.position - first) as f64 / secs,
            });
        }
        Ok(self.position - first)
    }

    /// Saves unless the store already holds the current position.
    pub fn save_if_behind(&mut self) -> Result<(), RunError> {
        if self.position != self.saved {
            self.save()?;
        }
        Ok(())
    }

    /// Catches up, then follows new entries until `shutdown` completes: folds
    /// what arrives and saves whenever the log stays quiet for half a second
    /// (and every `save_every` events under sustained load), then once more at
    /// shutdown. `on_batch` is called after the catch-up and after every step
    /// that folded something.
    pub async fn follow<L: Log>(
        &mut self,
        log: &L,
        shutdown: impl Future<Output = ()>,
        mut on_batch: impl FnMut(&Projector),
    ) -> Result<(), RunError> {
        tokio::pin!(shutdown);
        self.catch_up(log, |_| {}).await?;
        on_batch(self);
        loop {
            tokio::select! {
                _ = &mut shutdown => return self.save_if_behind(),
                r = log.wait_for(self.position, Duration::from_millis(500)) => {
                    if r? <= self.position {
                        self.save_if_behind()?;
                        continue;
                    }
                }
            }
            if self.advance(log, |_| {}).await? > 0 {
                on_batch(self);
            }
        }
    }
}

/// The model as of `as_of`: a fresh replay of positions 1..=`until` in which the
/// rules see every event but only events recorded at or before `as_of` are folded.
pub async fn model_as_of<L: Log>(log: &L, until: u64, as_of: Timestamp) -> Result<Model, RunError> {
    let mut state = State::new();
    let mut model = Model::new();
    let mut pos = 0;
    while pos < until {
        let mut entries = log.read(pos + 1, READ_BATCH).await?;
        entries.retain(|e| e.position <= until);
        let Some(last) = entries.last() else { break };
        pos = last.position;
        fold_entries(&mut state, &mut model, &entries, Filter::RecordedBy(as_of));
    }
    Ok(model)
}
