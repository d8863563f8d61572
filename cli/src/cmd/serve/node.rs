//! The node's state: the projector's read model mirrored in memory as the one
//! follow loop folds (only the rows the folded events name are copied), the
//! Merkle tree and event index of the entries folded, and the views rendered
//! once per position for every reader (requests never build a model).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use anyhow::{bail, Result};
use ledger::calendar::{Date, Timestamp};
use ledger::event::leaf_hash;
use ledger::ids::{Digest, MemberId};
use ledger::log::Log;
use ledger::merkle::FullTree;
use projector::fold::{decode, Folded};
use projector::model::Model;
use projector::run::{Projector, READ_BATCH};
use projector::timebounds::Timed;
use projector::views::{build, Params, Table, View};
use rayon::prelude::*;

use crate::backend::AnyLog;
use crate::cmd::report::findings_table;
use crate::render::{render, Format};

/// What the node mirrors of the entries folded.
pub struct Mirror {
    /// The whole read model, as the projector folded it.
    pub model: Model,
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

impl Mirror {
    /// The mirror of a projector just caught up: its whole model, and the
    /// leaves and times of its entries, read once from the log. Refused if
    /// the log's entries do not have the root the projector folded.
    pub async fn load(p: &mut Projector, log: &AnyLog) -> Result<Mirror> {
        let mut m = Mirror {
            model: p.model()?,
            tree: FullTree::new(),
            ids: HashMap::new(),
            times: Vec::new(),
            carriers: Vec::new(),
            members: Vec::new(),
        };
        let mut pos = 0;
        while pos < p.position {
            let mut entries = log.read(pos + 1, READ_BATCH).await?;
            entries.retain(|e| e.position <= p.position);
            let Some(last) = entries.last() else { break };
            pos = last.position;
            let folded: Vec<Folded> = entries
                .par_iter()
                .map(|e| {
                    let ev = decode(e);
                    let leaf = match &ev {
                        Ok(ev) => ev.id(),
                        Err(_) => leaf_hash(&e.bytes),
                    };
                    Folded::of(e, &ev, leaf)
                })
                .collect();
            for f in &folded {
                m.push_entry(f);
            }
        }
        if m.tree.size() != p.position || m.tree.root() != p.root() {
            bail!(
                "the log's first {} entries are not those the projector folded: rebuild it with `tallinn projector rebuild`",
                p.position
            );
        }
        Ok(m)
    }

    fn push_entry(&mut self, f: &Folded) {
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

    /// Takes in what the projector folded since the last call: the rows the
    /// folded events name, read back as folded, and the model's parts kept
    /// in memory. Returns the number of entries taken in.
    pub fn apply(&mut self, p: &mut Projector) -> Result<usize> {
        let folded = p.take_folded();
        let mut named = HashSet::new();
        for f in &folded {
            self.push_entry(f);
            named.extend(f.items.iter().cloned());
        }
        for id in named {
            if let Some(row) = p.row(&id)? {
                self.model.put_row(id, row);
            }
        }
        sync_overview(&mut self.model, p.overview());
        if self.tree.size() != p.position {
            bail!(
                "the node mirrored {} entries, the projector folded {}",
                self.tree.size(),
                p.position
            );
        }
        Ok(folded.len())
    }

    /// The integrity view's time findings against the checkpoints' times.
    pub fn time_findings(&self, timed: &[Timed]) -> Table {
        findings_table(timed, &self.times, |pos| {
            let i = self.carriers[(pos - 1) as usize] as usize;
            self.members
                .get(i)
                .map(|m| m.to_string())
                .unwrap_or_default()
        })
    }
}

/// Copies the parts of the model a projector keeps in memory (all but the
/// item tables); the lists only grow, so only their new tails are copied.
fn sync_overview(m: &mut Model, ov: &Model) {
    fn tail<T: Clone>(to: &mut Vec<T>, from: &[T]) {
        if to.len() > from.len() {
            to.clear();
        }
        to.extend_from_slice(&from[to.len()..]);
    }
    m.position = ov.position;
    m.origin.clone_from(&ov.origin);
    m.members.clone_from(&ov.members);
    m.heads.clone_from(&ov.heads);
    tail(&mut m.changes, &ov.changes);
    tail(&mut m.rejected, &ov.rejected);
    tail(&mut m.duplicate_positions, &ov.duplicate_positions);
    m.accepted = ov.accepted;
    m.duplicates = ov.duplicates;
    m.latest = ov.latest;
}

/// One view rendered: its tables and their JSON (the CLI's `--format json`)
/// and CSV.
pub struct Rendered {
    /// Its tables.
    pub tables: Vec<Table>,
    /// `tallinn report VIEW --format json`, byte for byte.
    pub json: String,
    /// `tallinn report VIEW --format csv`, byte for byte.
    pub csv: String,
}

/// The figures of one state of the ledger, as every reader sees them.
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
    /// The ten views, in [`View::ALL`] order.
    pub views: Vec<Rendered>,
}

impl Figures {
    /// The rendered `view`.
    pub fn view(&self, view: View) -> &Rendered {
        let i = View::ALL.iter().position(|v| *v == view).unwrap_or(0);
        &self.views[i]
    }
}

/// Builds and renders every view of `model` (the integrity view's time
/// findings given).
pub fn figures(
    model: &Model,
    as_of: Option<Date>,
    params: Params,
    findings: Table,
    digest: String,
    now: Timestamp,
) -> Figures {
    let mut findings = Some(findings);
    let views = View::ALL
        .par_iter()
        .map(|&view| {
            let mut tables = build(model, view, &params);
            if view == View::Integrity {
                if let Some(t) = tables
                    .iter_mut()
                    .find(|t| Some(t.title) == findings.as_ref().map(|f| f.title))
                {
                    *t = findings.clone().unwrap_or_else(|| t.clone());
                }
            }
            Rendered {
                json: render(&tables, Format::Json),
                csv: render(&tables, Format::Csv),
                tables,
            }
        })
        .collect();
    findings.take();
    Figures {
        position: model.position,
        as_of,
        today: params.today,
        digest,
        generated_at: now.to_string(),
        views,
    }
}

/// The mirror shared by the follow loop (writer) and the renderer and
/// handlers (readers).
pub type SharedMirror = Arc<RwLock<Mirror>>;
