//! A projector on a temporary directory, removed when it is dropped: what
//! the audit, its export and `report --as-of` fold into, so that the rules
//! state and read model they build live on disk as the projector keeps
//! them, not in memory.

use std::path::Path;

use crate::run::{Projector, RunError};

/// A projector on a temporary directory (see the module's documentation).
pub struct Workspace {
    projector: Projector,
    _dir: tempfile::TempDir,
}

impl Workspace {
    /// A new empty workspace in `parent` (the system's temporary directory
    /// if `None`).
    pub fn new(parent: Option<&Path>) -> Result<Workspace, RunError> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix("tallinn-work-")
            .tempdir_in(&parent)
            .map_err(|source| crate::store::StoreError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        let projector = Projector::open_empty(dir.path(), std::time::Duration::ZERO)?;
        Ok(Workspace {
            projector,
            _dir: dir,
        })
    }

    /// Its projector.
    pub fn projector(&mut self) -> &mut Projector {
        &mut self.projector
    }
}
