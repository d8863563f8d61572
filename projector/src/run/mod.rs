//! The projector shell: pulls entries from a [`Log`], loads the items they name,
//! folds them, writes items back and commits snapshots.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use std::collections::HashMap;

use ledger::checkpoint::{verify_note, Checkpoint, Note, Verifier};
use ledger::event::{leaf_hash, Event};
use ledger::ids::{Digest, ItemId};
use ledger::log::Log;
use ledger::state::{Item, State};

use crate::fold::{Filter, Folded, Keys};
use crate::model::{ChangeRow, Model};
use crate::store::{ProjectorStore, Saved, StoreError, KINDS};

pub use crate::as_of::model_as_of;
pub use crate::error::RunError;

mod step;

/// Entries read from the log at a time.
pub const READ_BATCH: usize = 8192;

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

/// A projector: rules state, read model and the position they reflect, kept in
/// its store. Items (the rules state and read-model row of every need, offer,
/// commitment, delivery and receipt) live on disk; memory holds the rest and a
/// working set of items in two generations: the items the current batches
/// named, and those of the generation before (written back, kept to spare a
/// read). Before a batch is judged, every item its events name, with their
/// links, is loaded (see `Body::named_items` and `Item::links`), so the pure
/// rules and fold see exactly what they would with every item in memory.
pub struct Projector {
    store: ProjectorStore,
    state: State,
    model: Model,
    /// The previous generation's items and rows (written back already), moved
    /// here whole: no copy per item.
    old_items: HashMap<ItemId, Item>,
    old_rows: Model,
    /// Last log position folded.
    pub position: u64,
    /// Save a snapshot after at least this many events (and a quarter of the position).
    pub save_every: u64,
    /// Items in the working set before it is written back (a generation).
    pub working_set: usize,
    /// Entries read from the log (and judged) at a time.
    pub read_batch: usize,
    saved: u64,
    /// The id of the entry at `position` (what binds the state to its log).
    head: Option<Digest>,
    /// Whether the log was checked to hold `head` at `position`.
    bound: bool,
    /// The largest size of a signed checkpoint of the log whose root was
    /// found equal to the root of the entries folded up to that size (saved:
    /// the log must keep a checkpoint at least as large).
    checked: u64,
    /// `checked` as last saved.
    checked_saved: u64,
    /// What each entry folded since the last [`Projector::take_folded`]
    /// touched, when a node asked for it ([`Projector::track_folded`]).
    folded: Option<Vec<Folded>>,
    /// Which events the read model folds.
    filter: Filter,
    /// The members' keys prepared for verifying the next batch ahead.
    keys: Keys,
}

/// Item index entries in memory (the items written since the last save)
/// from which [`Projector::save_when_due`] saves, whatever the position
/// (about 50 bytes each).
pub const INDEX_SAVE_AT: usize = 1 << 18;

/// Items per working-set generation by default.
pub const WORKING_SET: usize = 4_096;

impl Projector {
    /// Opens the projector stored in `dir` at its last saved position.
    pub fn open(dir: &Path, wait: Duration) -> Result<Projector, RunError> {
        let (store, saved) = ProjectorStore::open(dir, wait)?;
        Ok(Projector::with(store, saved))
    }

    /// Opens the projector in `dir` emptied, without reading what it held: the
    /// next catch-up rebuilds it from position 1 (also when the store is damaged).
    pub fn open_empty(dir: &Path, wait: Duration) -> Result<Projector, RunError> {
        let store = ProjectorStore::open_empty(dir, wait)?;
        Ok(Projector::with(store, Saved::default()))
    }

    /// Opens the projector stored in `dir` read-only, while another process
    /// (a following `projector run`) may hold and extend it: it starts from
    /// that process's last save, and what it folds past it stays in memory
    /// (saving writes nothing). For readers and producers that must never
    /// wait for, or lock out, the follower.
    pub fn open_read_only(dir: &Path) -> Result<Projector, RunError> {
        let (store, saved) = ProjectorStore::open_read_only(dir)?;
        Ok(Projector::with(store, saved))
    }

    /// Opens the projector in `dir`, read-only if another process holds it
    /// (see [`Projector::open_read_only`]).
    pub fn open_shared(dir: &Path) -> Result<Projector, RunError> {
        match Projector::open(dir, Duration::ZERO) {
            Err(RunError::Store(StoreError::Locked(_))) => Projector::open_read_only(dir),
            r => r,
        }
    }

    /// Opens the projector in `dir` as [`Projector::open_shared`] does and
    /// catches it up, for a reader: if its store cannot be written because
    /// the disk is full, it is opened again read-only and catches up in
    /// memory (nothing is written), so reports keep working on a full disk.
    /// Returns the projector and the entries folded.
    pub async fn catch_up_shared<L: Log>(
        dir: &Path,
        log: &L,
        save_every: u64,
        mut progress: impl FnMut(Progress),
    ) -> Result<(Projector, u64), RunError> {
        let mut p = Projector::open_shared(dir)?;
        p.save_every = save_every;
        match p.catch_up(log, &mut progress).await {
            Ok(n) => Ok((p, n)),
            Err(e) if e.is_storage_full() => {
                drop(p);
                tracing::warn!(
                    "the disk holding {} is full: projecting in memory",
                    dir.display()
                );
                let mut p = Projector::open_read_only(dir)?;
                let n = p.catch_up(log, progress).await?;
                Ok((p, n))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether this projector was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.store.is_read_only()
    }

    /// Item index entries held in memory: the records past the index's
    /// saved runs (what opening scanned, and what was folded since).
    pub fn index_in_memory(&self) -> usize {
        self.store.index_in_memory()
    }

    /// Sets how many item index entries may accumulate in memory before a
    /// save writes them to the index's runs (tests use small values).
    pub fn set_index_delta_max(&mut self, n: usize) {
        self.store.set_index_delta_max(n);
    }

    /// Loads `ids` and the items they link to into the working set, so that
    /// [`Projector::rules_state`] holds them: what a producer's pre-check of
    /// an event naming them needs (see `Body::named_items`).
    pub fn load_items(&mut self, ids: impl IntoIterator<Item = ItemId>) -> Result<(), RunError> {
        self.load_ids(ids.into_iter().collect())
    }

    /// Starts (or stops) recording, for each entry folded, its leaf, time,
    /// member and the items it names ([`Folded`]): what a node mirrors.
    pub fn track_folded(&mut self, on: bool) {
        self.folded = on.then(Vec::new);
    }

    /// What the entries folded since the last call touched, in log order
    /// (empty unless [`Projector::track_folded`] is on).
    pub fn take_folded(&mut self) -> Vec<Folded> {
        self.folded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The read-model row of item `id` as folded (working set, the older
    /// generation, or the store).
    pub fn row(&mut self, id: &ItemId) -> Result<Option<crate::model::Row>, RunError> {
        if let Some(row) = self.model.row(id).or_else(|| self.old_rows.row(id)) {
            return Ok(Some(row));
        }
        Ok(self.store.get(id)?.and_then(|(_, row)| row))
    }

    fn with(store: ProjectorStore, saved: Saved) -> Projector {
        Projector {
            store,
            state: saved.state,
            model: saved.model,
            old_items: HashMap::new(),
            old_rows: Model::new(),
            position: saved.position,
            save_every: 50_000,
            working_set: WORKING_SET,
            read_batch: READ_BATCH,
            saved: saved.position,
            head: saved.head,
            bound: false,
            checked: saved.checkpoint,
            checked_saved: saved.checkpoint,
            folded: None,
            filter: Filter::All,
            keys: Keys::default(),
        }
    }

    /// Folds into the read model only the events `filter` keeps (the rules
    /// still judge every event): a projector of the state as of a date
    /// (`as_of::fold_as_of`). Never set on a projector that saves to its
    /// ledger's directory.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
    }

    /// Checks that `log` still holds, at the projector's position, the entry
    /// it folded there: a log restored from an older backup and extended
    /// differently, wiped, or another ledger's is refused with
    /// [`RunError::OtherHistory`] instead of being reported as `lag 0`.
    pub async fn check_log<L: Log>(&mut self, log: &L) -> Result<(), RunError> {
        if self.bound || self.position == 0 {
            self.bound = true;
            return Ok(());
        }
        let other = |reason: String| RunError::OtherHistory {
            position: self.position,
            reason,
        };
        let len = log.len().await?;
        if len < self.position {
            return Err(other(format!("the log holds only {len} entries")));
        }
        if let Some(hole) = log.lost_entries().await? {
            return Err(other(hole));
        }
        let entry = log.read(self.position, 1).await?;
        let found = entry.first().map(|e| leaf_hash(&e.bytes));
        match (found, self.head) {
            (Some(found), Some(head)) if found != head => {
                return Err(other(format!(
                    "the log's entry at position {} is {found}, the projector folded {head}",
                    self.position
                )))
            }
            (None, _) => return Err(other(format!("no entry at position {}", self.position))),
            _ => {}
        }
        self.check_checkpoint(log).await?;
        self.bound = true;
        Ok(())
    }

    /// Checks the log's latest signed checkpoint, if it covers no more than
    /// the entries folded, against the Merkle root of the first `size`
    /// entries this projector folded (read from its tree): a log whose prefix
    /// was rewritten (entries reordered or replaced before the position,
    /// the entry at the position kept) and signed again is refused with
    /// [`RunError::OtherHistory`]. A checkpoint that is not signed by a key a
    /// coordinator of the folded state has held is not evidence and is passed
    /// over (the audit reports it); one beyond the position is checked once
    /// the projector has folded that far.
    pub async fn check_checkpoint<L: Log>(&mut self, log: &L) -> Result<(), RunError> {
        let other = |reason: String| RunError::OtherHistory {
            position: self.position,
            reason,
        };
        let Some(bytes) = log.latest_checkpoint().await? else {
            if self.checked > 0 {
                return Err(other(format!(
                    "the log holds no checkpoint, the projector verified one of size {}",
                    self.checked
                )));
            }
            return Ok(());
        };
        let Some((cp, signer)) = signed_checkpoint(&bytes, &self.state) else {
            tracing::warn!("the log's latest checkpoint is not signed by a coordinator key this projector knows; not checked");
            return Ok(());
        };
        if cp.size < self.checked {
            return Err(other(format!(
                "the log's latest checkpoint is of size {}, the projector verified one of size {}",
                cp.size, self.checked
            )));
        }
        if cp.size > self.position {
            return Ok(());
        }
        let folded = self.store.tree().root_at(cp.size)?;
        if folded != cp.root {
            return Err(RunError::OtherHistory {
                position: self.position,
                reason: format!(
                    "the log's checkpoint of size {} signed by {signer} has root {}, the entries the projector folded up to that size have root {folded}",
                    cp.size, cp.root
                ),
            });
        }
        self.checked = cp.size;
        Ok(())
    }

    /// The Merkle root of the entries folded.
    pub fn root(&self) -> Digest {
        self.store.tree().root()
    }

    /// The first position of each of `wanted` among the entries folded (an
    /// id the entries do not hold is left out): one pass over the tree file.
    pub fn first_positions(
        &self,
        wanted: &std::collections::HashSet<Digest>,
    ) -> Result<HashMap<Digest, u64>, RunError> {
        let mut found = HashMap::new();
        if wanted.is_empty() {
            return Ok(found);
        }
        self.store.tree().for_each_leaf(|position, leaf| {
            if wanted.contains(leaf) {
                found.entry(*leaf).or_insert(position);
            }
        })?;
        Ok(found)
    }

    /// The Merkle root of the first `size` entries folded.
    pub fn root_at(&self, size: u64) -> Result<Digest, RunError> {
        Ok(self.store.tree().root_at(size)?)
    }

    /// Forgets everything saved: the next catch-up rebuilds from position 1.
    pub fn reset(&mut self) -> Result<(), RunError> {
        self.store.clear()?;
        self.state = State::new();
        self.model = Model::new();
        self.old_items.clear();
        self.old_rows = Model::new();
        self.position = 0;
        self.saved = 0;
        self.head = None;
        self.bound = true;
        (self.checked, self.checked_saved) = (0, 0);
        Ok(())
    }

    /// Saves the snapshot now: writes the working set back and commits.
    pub fn save(&mut self) -> Result<(), RunError> {
        self.write_back()?;
        if !self.store.is_read_only() {
            // The changes recorded since the last save go to the changes
            // file, which the commit fsyncs and the snapshot names: the
            // snapshot does not grow with them.
            let tail = std::mem::take(&mut self.model.changes);
            self.store.changes().append(&tail)?;
            self.model.changes_stored += tail.len() as u64;
        }
        if self.store.is_read_only() {
            // What a read-only projector folds stays in memory.
            self.saved = self.position;
            self.checked_saved = self.checked;
            return Ok(());
        }
        self.store.commit(
            self.position,
            self.head,
            self.checked,
            &self.state,
            &self.model,
        )?;
        self.saved = self.position;
        self.checked_saved = self.checked;
        Ok(())
    }

    /// The rules state: members, keys and chains (its `items` hold only the
    /// working set; the rest are in the store).
    pub fn rules_state(&self) -> &State {
        &self.state
    }

    /// The read model's parts kept in memory: origin, members, changes, heads,
    /// rejected events and counters. Its item tables hold only the working set:
    /// [`Projector::model`] reads them all.
    pub fn overview(&self) -> &Model {
        &self.model
    }

    /// The changes from the `from`th on (0 is the first), from the changes
    /// file and memory.
    pub fn changes_from(&mut self, from: u64) -> Result<Vec<ChangeRow>, RunError> {
        let stored = self.model.changes_stored;
        let mut out = Vec::new();
        if from < stored {
            self.store.changes().flush()?;
            self.store.changes_ref().read_from(from, |row| {
                out.push(row);
                true
            })?;
        }
        let skip = from.saturating_sub(stored) as usize;
        out.extend(self.model.changes.iter().skip(skip).cloned());
        Ok(out)
    }

    /// The whole read model, item tables read from the store (memory grows
    /// with the ledger: for reports).
    pub fn model(&mut self) -> Result<Model, RunError> {
        self.write_back()?;
        let mut model = self.model.clone();
        model.changes = self.changes_from(0)?;
        model.changes_stored = 0;
        self.store.for_each(|id, _, row| {
            if let Some(row) = row {
                model.put_row(id, row);
            }
        })?;
        Ok(model)
    }

    /// The item tables and changes as the store holds them, for the views
    /// (`views::build_from`): memory does not grow with the ledger.
    pub fn rows(&mut self) -> Result<crate::store::StoreRows<'_>, RunError> {
        self.write_back()?;
        self.store.flush()?;
        self.store.changes().flush()?;
        Ok(crate::store::StoreRows::new(&self.store, &self.model))
    }

    /// The model digest (`digest::digest` of [`Projector::model`]), computed
    /// with the item tables streamed from the store.
    pub fn digest_hex(&mut self) -> Result<String, RunError> {
        self.write_back()?;
        self.store.flush()?;
        self.store.changes().flush()?;
        let [n, o, c, d, r] = KINDS.map(|k| self.store.table(k));
        let changes = crate::lists::AllChanges {
            file: self.store.changes_ref(),
            tail: &self.model.changes,
        };
        let digest = crate::digest::digest_with_tables(&self.model, n, o, c, d, r, changes)
            .map_err(StoreError::Corrupt)?;
        Ok(hex::encode(digest))
    }

    /// Loads every item the events name (and their links) into the working set.
    fn load_named(&mut self, decoded: &[Result<Event, String>]) -> Result<(), RunError> {
        // A seq already taken (a duplicate or an equivocation): the rules
        // compare with the id saved there.
        for ev in decoded.iter().flatten() {
            let env = ev.envelope();
            if let Some(chain) = self.state.chains.get_mut(&env.producer) {
                if chain.needs(env.seq) {
                    let id = self.store.chains().get(&env.producer, env.seq)?;
                    chain.load(env.seq, id);
                }
            }
        }
        let want: Vec<ItemId> = decoded
            .iter()
            .flatten()
            .flat_map(|ev| ev.envelope().body.named_items())
            .cloned()
            .collect();
        self.load_ids(want)
    }

    fn load_ids(&mut self, mut want: Vec<ItemId>) -> Result<(), RunError> {
        // The working set is closed under links (loaded items bring theirs),
        // so an item already in it needs nothing more.
        while let Some(id) = want.pop() {
            if self.state.items.contains_key(&id) {
                continue;
            }
            let found = match self.old_items.remove(&id) {
                Some(item) => Some((item, self.old_rows.take_row(&id))),
                None => self.store.get(&id)?,
            };
            if let Some((item, row)) = found {
                want.extend(item.links().into_iter().cloned());
                if let Some(row) = row {
                    self.model.put_row(id.clone(), row);
                }
                self.state.items.insert(id, item);
            }
        }
        Ok(())
    }

    /// Writes every item of the working set to the store and makes it the
    /// older generation.
    fn write_back(&mut self) -> Result<(), RunError> {
        if !self.store.is_read_only() {
            // The chains' new ids go to their files (a read-only projector
            // keeps them: it folds only what followed its holder's save).
            for (member, chain) in &mut self.state.chains {
                let (first, ids) = chain.take_unsaved();
                if !ids.is_empty() {
                    self.store.chains().put(member, first, &ids)?;
                }
            }
        }
        if self.state.items.is_empty() {
            // Nothing new since the last write-back: keep the older generation.
            return Ok(());
        }
        let items = std::mem::take(&mut self.state.items);
        let rows = self.model.take_tables();
        // Rows are paired with their items table by table (one pass over each
        // table, not five lookups per item).
        let mut with_rows = 0;
        for (id, row) in rows.rows() {
            // Rows are only made with their item (the projector folds every event).
            let Some(item) = items.get(id) else {
                return Err(StoreError::Corrupt(format!("row {id} without its item")).into());
            };
            self.store.put(id, item, Some(row))?;
            with_rows += 1;
        }
        if with_rows != items.len() {
            for (id, item) in &items {
                if !rows.has_row(id) {
                    self.store.put(id, item, None)?;
                }
            }
        }
        self.old_items = items;
        self.old_rows = rows;
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

    /// Saves when `save_every` events (and a quarter of the position) were
    /// folded since the last save.
    pub fn save_when_due(&mut self) -> Result<(), RunError> {
        // A save may rewrite the item index's recent run (up to a quarter
        // of the items), so the gap between saves grows with the position
        // (a quarter of it): saving stays linear overall, and a crash
        // costs at most a fifth of the work done.
        // The item index's entries since the last save are in memory: a save
        // also comes when they pass `INDEX_SAVE_AT`, so memory stays bounded
        // whatever the position.
        if self.position - self.saved >= self.save_every.max(self.position / 4)
            || self.store.index_in_memory() >= INDEX_SAVE_AT
        {
            self.save()?;
        }
        Ok(())
    }

    /// Saves unless the store already holds the current position (and the
    /// largest checkpoint verified).
    pub fn save_if_behind(&mut self) -> Result<(), RunError> {
        if self.position != self.saved || self.checked != self.checked_saved {
            self.save()?;
        }
        Ok(())
    }

    /// The one follow loop (of `projector run`, the node, the tests): catches
    /// up, then folds what arrives until `shutdown` completes, saving whenever
    /// the log stays quiet for half a second (and every `save_every` events
    /// under sustained load), then once more at shutdown. `on_step` runs after
    /// the catch-up and after every wake-up, whether it folded something or
    /// the log stayed quiet (an issuer signs checkpoints there; the shell reads
    /// the clock there, not the core); its error ends the loop.
    pub async fn follow<L: Log, E: From<RunError>>(
        &mut self,
        log: &L,
        shutdown: impl Future<Output = ()>,
        mut on_step: impl AsyncFnMut(&mut Projector) -> Result<(), E>,
    ) -> Result<(), E> {
        tokio::pin!(shutdown);
        self.catch_up(log, |_| {}).await?;
        on_step(self).await?;
        loop {
            tokio::select! {
                _ = &mut shutdown => return Ok(self.save_if_behind()?),
                r = log.wait_for(self.position, Duration::from_millis(500)) => {
                    let step = match r {
                        Ok(len) if len <= self.position => self.save_if_behind(),
                        Ok(_) => self.advance(log, |_| {}).await.map(drop),
                        Err(e) => Err(e.into()),
                    };
                    match step {
                        // Producers in other processes holding the embedded
                        // log in turn (or a cluster electing a leader) delay
                        // the follower; they do not stop it.
                        Err(RunError::Log(e)) if e.is_transient() => {
                            tracing::warn!("{e}; the follower tries again");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        r => r?,
                    }
                }
            }
            on_step(self).await?;
        }
    }
}

/// The checkpoint in `bytes` with the name of its signer, if it parses and is
/// signed by a key a coordinator of `state` has held.
fn signed_checkpoint(bytes: &[u8], state: &State) -> Option<(Checkpoint, String)> {
    let note = Note::parse(bytes).ok()?;
    let cp = Checkpoint::parse_body(&note.text).ok()?;
    if state.origin.as_deref() != Some(cp.origin.as_str()) {
        return None;
    }
    let verifiers: Vec<Verifier> = state
        .coordinator_keys_ever()
        .filter_map(|(id, key)| Verifier::new(id.as_str(), key).ok())
        .collect();
    let signers = verify_note(&note, &verifiers).ok()?;
    let name = signers.first()?.name.clone();
    Some((cp, name))
}
