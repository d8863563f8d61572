//! The read model as of a date: a replay of the log in which only events
//! recorded by then are folded.

use std::path::Path;

use ledger::calendar::Timestamp;
use ledger::log::Log;
use ledger::state::State;
use rayon::prelude::*;

use crate::error::RunError;
use crate::fold::{decode, fold_entries, Filter};
use crate::model::Model;
use crate::run::READ_BATCH;
use crate::workspace::Workspace;

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

/// The state as of `as_of` on disk: a fresh projector in a [`Workspace`] (in
/// `parent`, or the system's temporary directory) that replays positions
/// 1..=`until` as [`model_as_of`] does, through the projector's own step,
/// saving as a catch-up does, so memory does not grow with the ledger.
/// Read it with `Projector::rows` (the totals views) or `Projector::model`.
/// `progress` gets the position reached after each batch.
pub async fn fold_as_of<L: Log>(
    log: &L,
    until: u64,
    as_of: Timestamp,
    parent: Option<&Path>,
    mut progress: impl FnMut(u64),
) -> Result<Workspace, RunError> {
    let mut ws = Workspace::new(parent)?;
    let p = ws.projector();
    p.set_filter(Filter::RecordedBy(as_of));
    while p.position < until {
        let mut entries = log.read(p.position + 1, READ_BATCH).await?;
        entries.retain(|e| e.position <= until);
        if entries.is_empty() {
            break;
        }
        let decoded: Vec<_> = entries.par_iter().map(decode).collect();
        p.fold_batch(&entries, &decoded, &mut |_, _, _, _| {})?;
        p.save_when_due()?;
        progress(p.position);
    }
    Ok(ws)
}
