//! The projector step and the catch-up: one batch folded (its items
//! loaded, judged and folded, its leaves added to the tree, the working set
//! written back when full), and a catch-up that keeps three batches in
//! flight (one folded while the next is verified ahead and the one after is
//! decoded).

use std::time::Instant;

use ledger::event::Event;
use ledger::keys::PublicKey;
use ledger::log::{Entry, Log};

use super::{Progress, Projector, RunError};
use crate::fold::{entry_leaf, fold_verified, Folded, Keys, Observer, Prepared};

impl Projector {
    /// Folds every entry after `position` up to the log's end, saving only
    /// every `save_every` events (a growing gap, see below), not at the end:
    /// what a follower calls on each wake-up, saving when idle with
    /// [`Projector::save_if_behind`] (a save fsyncs several files and may
    /// rewrite the item index's recent run, which grows with the log).
    /// Returns the number of entries folded.
    pub async fn advance<L: Log>(
        &mut self,
        log: &L,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64, RunError> {
        self.check_log(log).await?;
        let target = log.len().await?;
        let start = Instant::now();
        let first = self.position;
        // No more than `save_every` at a time, so that saves can come that often.
        let batch = self.read_batch.min(self.save_every as usize).max(1);
        // Three batches in flight: while one is folded on this thread, the
        // next one's signatures are verified on the pool, and the one after
        // it is read and decoded here once the fold is done.
        let (mut verified, mut decoded): (Option<Prepared>, Option<Prepared>) = (None, None);
        let mut read_to = self.position;
        // On a pool of one thread that runs this fold too, nothing would
        // overlap: no batch is read ahead (the cost of the three in flight
        // without the gain), each is prepared then folded.
        let alone = rayon::current_thread_index().is_some() && rayon::current_num_threads() <= 1;
        let ahead_to = if alone { 0 } else { target };
        loop {
            let current = match verified.take() {
                Some(prepared) => prepared,
                None => {
                    let entries = log.read(self.position + 1, batch).await?;
                    let Some(last) = entries.last() else { break };
                    read_to = last.position;
                    self.prepare(entries)
                }
            };
            if decoded.is_none() && read_to < ahead_to {
                let entries = log.read(read_to + 1, batch).await?;
                read_to = entries.last().map_or(read_to, |e| e.position);
                decoded = (!entries.is_empty()).then(|| Prepared::decode(entries));
            }
            let after = match decoded.is_some() && read_to < ahead_to {
                true => log.read(read_to + 1, batch).await?,
                false => Vec::new(),
            };
            read_to = after.last().map_or(read_to, |e| e.position);
            (verified, decoded) =
                self.fold_and_prepare(&current, decoded.take(), after, &mut |_, _, _, _| {})?;
            self.save_when_due()?;
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            progress(Progress {
                position: self.position,
                target,
                rate: (self.position - first) as f64 / secs,
            });
        }
        if self.position > first {
            self.check_checkpoint(log).await?;
        }
        Ok(self.position - first)
    }

    /// The one projector step: folds `entries` (the next ones of the log,
    /// from `position + 1`; `decoded[i]` is `entries[i]` decoded), loading
    /// the items they name first, calling `observe` for each verdict, adding
    /// their leaves to the tree, and writing the working set back when it is
    /// full. Does not save: the caller decides when.
    pub fn fold_batch(
        &mut self,
        entries: &[Entry],
        decoded: &[Result<Event, String>],
        observe: &mut Observer<'_>,
    ) -> Result<(), RunError> {
        self.fold_step(entries, decoded, &[], observe)
    }

    /// `entries` decoded, with the signatures of the first run verified
    /// under the current keys: the first batch of a pipeline (see
    /// [`Projector::fold_and_prepare`]).
    pub fn prepare(&mut self, entries: Vec<Entry>) -> Prepared {
        self.keys.refresh(&self.state);
        Prepared::new(entries, &self.keys)
    }

    /// The members' active keys now, prepared for batches: what a batch
    /// prepared while the next one is folded is verified under.
    pub fn keys_now(&mut self) -> Keys {
        self.keys.refresh(&self.state);
        self.keys.clone()
    }

    /// The keys the batch after `current` may be verified under while
    /// `current` is folded: the keys now, unless `current` may change one
    /// (then the keys the rules will expect are not known yet).
    pub fn keys_after(&mut self, current: &Prepared) -> Option<Keys> {
        (!current.changes_keys()).then(|| self.keys_now())
    }

    /// [`Projector::fold_batch`] of a prepared batch: the signatures it
    /// verified ahead count if they were verified under the keys the rules
    /// expect when each event is judged.
    pub fn fold_prepared(
        &mut self,
        prepared: &Prepared,
        observe: &mut Observer<'_>,
    ) -> Result<(), RunError> {
        self.fold_step(
            &prepared.entries,
            &prepared.decoded,
            &prepared.ahead,
            observe,
        )
    }

    /// [`Projector::fold_batch`] of `current` in a pipeline of three
    /// batches: meanwhile `next` (decoded, the batch after `current`) has its
    /// signatures verified on the thread pool (when `current` changes no
    /// key, under the keys before `current`), and once `current` is folded,
    /// `after` (the entries after `next`) is decoded on this thread.
    /// Returns `next` verified and `after` decoded (`None` if empty).
    pub fn fold_and_prepare(
        &mut self,
        current: &Prepared,
        next: Option<Prepared>,
        after: Vec<Entry>,
        observe: &mut Observer<'_>,
    ) -> Result<(Option<Prepared>, Option<Prepared>), RunError> {
        let keys = self.keys_after(current);
        let mut verified = None;
        let mut folded = Ok(None);
        rayon::in_place_scope(|scope| {
            if let Some(mut next) = next {
                let (slot, keys) = (&mut verified, keys.as_ref());
                scope.spawn(move |_| {
                    if let Some(keys) = keys {
                        next.verify_ahead(keys);
                    }
                    *slot = Some(next);
                });
            }
            folded = self
                .fold_prepared(current, observe)
                .map(|()| (!after.is_empty()).then(|| Prepared::decode(after)));
        });
        Ok((verified, folded?))
    }

    /// The step of [`Projector::fold_batch`], the first `ahead.len()`
    /// signatures verified ahead ([`fold_verified`]).
    fn fold_step(
        &mut self,
        entries: &[Entry],
        decoded: &[Result<Event, String>],
        ahead: &[Option<PublicKey>],
        observe: &mut Observer<'_>,
    ) -> Result<(), RunError> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let last = last.position;
        self.load_named(decoded)?;
        // The fold overlaps judging with the next step's verification.
        fold_verified(
            &mut self.state,
            &mut self.model,
            entries,
            decoded,
            ahead,
            self.filter,
            observe,
        );
        self.position = last;
        let tree = self.store.tree_mut();
        for (entry, event) in entries.iter().zip(decoded) {
            let leaf = entry_leaf(entry, event);
            tree.push(leaf)?;
            self.head = Some(leaf);
            if let Some(folded) = self.folded.as_mut() {
                folded.push(Folded::of(entry, event));
            }
        }
        if self.state.items.len() > self.working_set {
            self.write_back()?;
        }
        Ok(())
    }
}
