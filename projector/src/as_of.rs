//! The read model as of a date: a replay of the log in which only events
//! recorded by then are folded.

use ledger::calendar::Timestamp;
use ledger::log::Log;
use ledger::state::State;

use crate::error::RunError;
use crate::fold::{fold_entries, Filter};
use crate::model::Model;
use crate::run::READ_BATCH;

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
