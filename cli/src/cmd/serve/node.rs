//! The node's state. The follow loop owns the projector; after each step it
//! hands the node what the step folded: the entries' leaves, times and
//! carriers go to the [`Index`] at once (event lookups and proofs see them
//! within the step), and the rows the folded events name, read back from the
//! projector, go to the mirrored [`Model`] as a [`Delta`] (queued while a
//! render reads the model, applied after it: the follow loop never waits for
//! a render). A renderer builds the [`Figures`] of a position (the digest
//! and the views readers asked for recently) from the mirrored model; a
//! request copies the rendered bytes and never builds a model.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{bail, Result};
use ledger::calendar::{Date, Timestamp};
use ledger::ids::{Digest, ItemId, MemberId};
use ledger::log::Log;
use ledger::merkle::FullTree;
use projector::fold::{decode, Folded};
use projector::model::{Model, Row};
use projector::run::{Projector, READ_BATCH};
use projector::timebounds::Timed;
use projector::views::{build, Params, Table, View};
use rayon::prelude::*;

use crate::backend::AnyLog;
use crate::cmd::report::findings_table;
use crate::render::{csv, json};

/// Most rows of a table whose whole JSON and CSV are rendered ahead (a view
/// with a larger table is rendered per request, page by page).
pub const RENDER_ROWS: usize = 10_000;

/// The entries folded: their Merkle tree, ids, signed times and carriers.
#[derive(Default)]
pub struct Index {
    /// The Merkle tree of the entries folded (proofs of any earlier size).
    pub tree: FullTree,
    /// Event id (leaf hash) -> the first position holding it.
    pub ids: HashMap<Digest, u64>,
    /// Signed time of the entry at each position (index `position - 1`).
    times: Vec<Option<Timestamp>>,
    /// The member carrying each entry, as an index into `members`.
    carriers: Vec<u16>,
    members: Vec<MemberId>,
}

impl Index {
    /// Entries indexed.
    pub fn position(&self) -> u64 {
        self.tree.size()
    }

    fn push(&mut self, f: &Folded) {
        self.tree.push(f.leaf);
        self.ids.entry(f.leaf).or_insert(f.position);
        let (time, carrier) = match &f.recorded {
            Some((t, member)) => (Some(*t), self.intern(member)),
            None => (None, u16::MAX),
        };
        self.times.push(time);
        self.carriers.push(carrier);
    }

    fn intern(&mut self, member: &MemberId) -> u16 {
        match self.members.iter().position(|m| m == member) {
            Some(i) => i as u16,
            None => {
                self.members.push(member.clone());
                (self.members.len() - 1).min(u16::MAX as usize - 1) as u16
            }
        }
    }

    /// The integrity view's time findings of the first `until` entries
    /// against the checkpoints' times.
    pub fn time_findings(&self, timed: &[Timed], until: u64) -> Table {
        let until = (until as usize).min(self.times.len());
        findings_table(timed, &self.times[..until], |pos| {
            let i = self.carriers[(pos - 1) as usize] as usize;
            self.members
                .get(i)
                .map(|m| m.to_string())
                .unwrap_or_default()
        })
    }
}

/// What one step changed in the read model: the rows its events name, as
/// folded, and the parts of the model a projector keeps in memory (the lists
/// only grow: their new tails).
pub struct Delta {
    rows: Vec<(ItemId, Row)>,
    overview: Model,
    /// Lengths of `changes`, `rejected`, `duplicate_positions` before the tails.
    from: [usize; 3],
}

/// The node's state shared by the follow loop, the renderer and requests.
#[derive(Default)]
pub struct Node {
    /// The entries folded.
    pub index: RwLock<Index>,
    /// The whole read model as folded (up to the deltas pending).
    pub model: RwLock<Model>,
    pending: Mutex<Vec<Delta>>,
    /// Lengths of the model's lists already handed over (follow loop only).
    sent: Mutex<[usize; 3]>,
}

/// The lengths of a model's lists; the changes count those the projector
/// keeps on disk too (`changes_stored`).
fn lists(m: &Model) -> [usize; 3] {
    [
        m.changes_stored as usize + m.changes.len(),
        m.rejected.len(),
        m.duplicate_positions.len(),
    ]
}

impl Node {
    /// The node of a projector just caught up: its whole model, and the
    /// leaves, times and carriers of its entries, read once from the log.
    /// Refused if the log's entries do not have the root the projector folded.
    pub async fn load(p: &mut Projector, log: &AnyLog) -> Result<Node> {
        let model = p.model()?;
        let mut index = Index::default();
        let mut pos = 0;
        while pos < p.position {
            let mut entries = log.read(pos + 1, READ_BATCH).await?;
            entries.retain(|e| e.position <= p.position);
            let Some(last) = entries.last() else { break };
            pos = last.position;
            let folded: Vec<Folded> = entries
                .par_iter()
                .map(|e| Folded::of(e, &decode(e)))
                .collect();
            folded.iter().for_each(|f| index.push(f));
        }
        if index.position() != p.position || index.tree.root() != p.root() {
            bail!(
                "the log's first {} entries are not those the projector folded: rebuild it with `tallinn projector rebuild`",
                p.position
            );
        }
        Ok(Node {
            sent: Mutex::new(lists(&model)),
            index: RwLock::new(index),
            model: RwLock::new(model),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// Takes in what the projector folded since the last call (the follow
    /// loop's step): the index at once, the model now or after the render
    /// reading it. Returns the entries taken in.
    pub fn take_step(&self, p: &mut Projector) -> Result<usize> {
        let folded = p.take_folded();
        let named: HashSet<&ItemId> = folded.iter().flat_map(|f| &f.items).collect();
        let mut rows = Vec::with_capacity(named.len());
        for id in named {
            if let Some(row) = p.row(id)? {
                rows.push((id.clone(), row));
            }
        }
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let from = *sent;
        // The changes since the last step: from memory, or from the
        // projector's changes file when a save moved them there meanwhile.
        let changes = p.changes_from(from[0] as u64)?;
        let ov = p.overview();
        let mut overview = Model::new();
        overview.position = ov.position;
        overview.origin.clone_from(&ov.origin);
        overview.members.clone_from(&ov.members);
        overview.heads.clone_from(&ov.heads);
        overview.accepted = ov.accepted;
        overview.duplicates = ov.duplicates;
        overview.latest = ov.latest;
        overview.changes = changes;
        overview.rejected = ov.rejected.get(from[1]..).unwrap_or(&ov.rejected).to_vec();
        overview.duplicate_positions = ov
            .duplicate_positions
            .get(from[2]..)
            .unwrap_or(&ov.duplicate_positions)
            .to_vec();
        *sent = lists(ov);
        {
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            folded.iter().for_each(|f| index.push(f));
            if index.position() != p.position {
                bail!(
                    "the node indexed {} entries, the projector folded {}",
                    index.position(),
                    p.position
                );
            }
        }
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Delta {
                rows,
                overview,
                from,
            });
        if let Ok(mut m) = self.model.try_write() {
            self.drain(&mut m);
        }
        Ok(folded.len())
    }

    /// Figures of the model as it is now. With `keep` (an earlier render) of
    /// the model's position, only `missing` are rendered and the rest kept,
    /// digest included; otherwise (the follow loop moved the model since)
    /// every view of `all` is rendered with a new digest.
    pub fn render(
        &self,
        timed: &[Timed],
        receipt_days: i32,
        keep: Option<Arc<Figures>>,
        missing: Vec<View>,
        all: Vec<View>,
    ) -> Figures {
        let m = self.model.read().unwrap_or_else(|e| e.into_inner());
        let (keep, views) = match keep {
            Some(k) if k.position == m.position => (Some(k), missing),
            _ => (None, all),
        };
        let findings = self
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .time_findings(timed, m.position);
        let input = RenderInput {
            as_of: None,
            params: Params {
                today: crate::context::report_today(None),
                receipt_days,
            },
            findings,
            digest: keep.as_ref().map(|k| k.digest.clone()),
            now: super::wall_clock(),
        };
        figures(&m, &views, keep.as_deref(), input)
    }

    /// Applies the pending deltas, waiting for a render that reads the model.
    pub fn apply_pending(&self) {
        let mut m = self.model.write().unwrap_or_else(|e| e.into_inner());
        self.drain(&mut m);
    }

    fn drain(&self, m: &mut Model) {
        let deltas = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for d in deltas {
            apply(m, d);
        }
    }
}

fn apply(m: &mut Model, d: Delta) {
    for (id, row) in d.rows {
        m.put_row(id, row);
    }
    let ov = d.overview;
    fn tail<T>(to: &mut Vec<T>, from: usize, mut items: Vec<T>) {
        to.truncate(from);
        to.append(&mut items);
    }
    m.position = ov.position;
    m.origin = ov.origin;
    m.members = ov.members;
    m.heads = ov.heads;
    tail(&mut m.changes, d.from[0], ov.changes);
    tail(&mut m.rejected, d.from[1], ov.rejected);
    tail(
        &mut m.duplicate_positions,
        d.from[2],
        ov.duplicate_positions,
    );
    m.accepted = ov.accepted;
    m.duplicates = ov.duplicates;
    m.latest = ov.latest;
}

/// One view rendered: its tables, and their JSON (the CLI's `--format json`)
/// and CSV when no table has more than [`RENDER_ROWS`] rows.
pub struct Rendered {
    /// Its tables.
    pub tables: Vec<Table>,
    /// The tables' part of `tallinn report VIEW --format json` ([`json::body`]).
    pub json: Option<String>,
    /// `tallinn report VIEW --format csv`, byte for byte (views of one table).
    pub csv: Option<String>,
}

impl Rendered {
    fn of(tables: Vec<Table>) -> Rendered {
        let small = tables.iter().all(|t| t.rows.len() <= RENDER_ROWS);
        Rendered {
            json: small.then(|| json::body(&tables)),
            csv: (small && tables.len() == 1)
                .then(|| csv::table(&tables[0], csv::Options::default())),
            tables,
        }
    }
}

/// The figures of one state of the ledger: its digest and the views
/// rendered so far.
#[derive(Clone)]
pub struct Figures {
    /// Log position the figures reflect.
    pub position: u64,
    /// The date chosen by the reader (`as_of`), if any.
    pub as_of: Option<Date>,
    /// The report date: `as_of`, else the latest recorded day in the log.
    pub today: Date,
    /// Hex SHA-256 of the read model at `position` (`tallinn digest`).
    pub digest: String,
    /// When these figures were built (wall clock, RFC 3339 UTC).
    pub generated_at: String,
    /// The views rendered, in [`View::ALL`] order.
    pub views: Vec<Option<Arc<Rendered>>>,
}

/// The index of a view in [`View::ALL`].
pub fn slot(view: View) -> usize {
    View::ALL.iter().position(|v| *v == view).unwrap_or(0)
}

impl Figures {
    /// The rendered `view`, if rendered.
    pub fn view(&self, view: View) -> Option<&Arc<Rendered>> {
        self.views[slot(view)].as_ref()
    }
}

/// What a render needs besides the model.
pub struct RenderInput {
    /// The reader's date, if any.
    pub as_of: Option<Date>,
    /// The report parameters.
    pub params: Params,
    /// The integrity view's time findings.
    pub findings: Table,
    /// The digest, if known already (the same model rendered before).
    pub digest: Option<String>,
    /// The wall clock.
    pub now: Timestamp,
}

/// Lowers the calling thread's scheduling priority (nice 10, Linux: per
/// thread), so a render yields the cores to requests.
pub fn background_priority() {
    // SAFETY: gettid and setpriority take no pointers; failure only leaves
    // the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Figures of `model` with `views` rendered (and those of `keep` kept).
pub fn figures(
    model: &Model,
    views: &[View],
    keep: Option<&Figures>,
    input: RenderInput,
) -> Figures {
    // One view after the other, on one core: requests keep the other.
    let rendered: Vec<(View, Rendered)> = views
        .iter()
        .map(|&view| {
            let mut tables = build(model, view, &input.params);
            if view == View::Integrity {
                for t in tables
                    .iter_mut()
                    .filter(|t| t.title == input.findings.title)
                {
                    *t = input.findings.clone();
                }
            }
            (view, Rendered::of(tables))
        })
        .collect();
    let mut slots = keep.map_or_else(|| vec![None; View::ALL.len()], |k| k.views.clone());
    for (view, r) in rendered {
        slots[slot(view)] = Some(Arc::new(r));
    }
    Figures {
        position: model.position,
        as_of: input.as_of,
        today: input.params.today,
        digest: input
            .digest
            .unwrap_or_else(|| projector::digest::digest_hex(model)),
        generated_at: input.now.to_string(),
        views: slots,
    }
}
