//! Why projection failed.

use ledger::log::LogError;

use crate::store::StoreError;

/// Why projection failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading the log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The projector's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log is not the one the projector folded (restored from an older
    /// backup, wiped, or another ledger): its state belongs to another history.
    #[error("the projector has folded {position} entries of another history: {reason}; rebuild it from this log with `tallinn projector rebuild`")]
    OtherHistory {
        /// The projector's position.
        position: u64,
        /// What differs.
        reason: String,
    },
}

impl RunError {
    /// Whether the projector's store could not be written for lack of space.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, RunError::Store(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::StorageFull || source.raw_os_error() == Some(28))
    }
}
