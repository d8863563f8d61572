//! The projector's own sled database: the rules state and the read model, saved
//! with the log position they reflect in one atomic batch.
//!
//! Keys: `pos` (u64 BE), `chunks` (u64 BE), `snap/<n>` (the bincode of
//! `(position, State, Model)` in 1 MiB chunks). A batch replaces them all at
//! once, so a projector killed at any moment reopens at its last snapshot.

use std::path::Path;
use std::time::Duration;

use ledger::state::State;

use crate::model::Model;

const CHUNK: usize = 1 << 20;

/// Why the projector store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory is held by another process.
    #[error("the projector at {0} is in use by another process")]
    Locked(String),
    /// sled failed.
    #[error("projector storage: {0}")]
    Sled(#[from] sled::Error),
    /// The snapshot does not decode.
    #[error("projector snapshot is corrupt ({0}); remove it and rebuild")]
    Corrupt(String),
}

/// Bytes written into chunks of at most [`CHUNK`] bytes.
struct Chunks(Vec<Vec<u8>>);

impl std::io::Write for Chunks {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let written = buf.len();
        while !buf.is_empty() {
            let last = self.0.last_mut().expect("never empty");
            if last.len() == CHUNK {
                self.0.push(Vec::with_capacity(CHUNK));
                continue;
            }
            let n = buf.len().min(CHUNK - last.len());
            last.extend_from_slice(&buf[..n]);
            buf = &buf[n..];
        }
        Ok(written)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A projector's saved state.
pub struct ProjectorStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl ProjectorStore {
    /// Opens (creating) the store in `dir`, waiting up to `wait` for a lock.
    pub fn open(dir: &Path, wait: Duration) -> Result<ProjectorStore, StoreError> {
        let start = std::time::Instant::now();
        let mut cleaned = false;
        loop {
            match sled::Config::new()
                .path(dir)
                .cache_capacity(64 << 20)
                .open()
            {
                Ok(db) => {
                    let tree = db.open_tree("snapshot")?;
                    return Ok(ProjectorStore { db, tree });
                }
                Err(sled::Error::Corruption { .. })
                    if !cleaned && ledger::store::remove_partial_snapshots(dir) =>
                {
                    cleaned = true;
                }
                Err(e)
                    if e.to_string().contains("lock")
                        || matches!(&e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock) =>
                {
                    if start.elapsed() >= wait {
                        return Err(StoreError::Locked(dir.display().to_string()));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The saved position, state and model (empty ones if nothing was saved).
    pub fn load(&self) -> Result<(u64, State, Model), StoreError> {
        let Some(chunks) = self.tree.get("chunks")? else {
            return Ok((0, State::new(), Model::new()));
        };
        let n = u64::from_be_bytes(
            chunks
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("chunk count".into()))?,
        );
        let mut parts = Vec::new();
        for i in 0..n {
            parts.push(
                self.tree
                    .get(format!("snap/{i:08}"))?
                    .ok_or_else(|| StoreError::Corrupt(format!("chunk {i} missing")))?,
            );
        }
        let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for part in &parts {
            bytes.extend_from_slice(part);
        }
        let ((pos, state, model), used): ((u64, State, Model), usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if used != bytes.len() {
            return Err(StoreError::Corrupt("trailing bytes".into()));
        }
        Ok((pos, state, model))
    }

    /// The saved position only (cheap).
    pub fn position(&self) -> Result<u64, StoreError> {
        Ok(self
            .tree
            .get("pos")?
            .map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])))
            .unwrap_or(0))
    }

    /// Saves position, state and model in one atomic batch, then flushes. The
    /// encoding is written straight into 1 MiB chunks: no buffer of the whole
    /// snapshot is built and regrown.
    pub fn save(&self, position: u64, state: &State, model: &Model) -> Result<(), StoreError> {
        let mut chunks = Chunks(vec![Vec::with_capacity(CHUNK)]);
        bincode::serde::encode_into_std_write(
            (position, state, model),
            &mut chunks,
            bincode::config::standard(),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let Chunks(chunks) = chunks;
        let old = self
            .tree
            .get("chunks")?
            .map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        let mut batch = sled::Batch::default();
        for (i, c) in chunks.iter().enumerate() {
            batch.insert(format!("snap/{i:08}").as_bytes(), c.as_slice());
        }
        for i in chunks.len() as u64..old {
            batch.remove(format!("snap/{i:08}").as_bytes());
        }
        batch.insert("chunks", &(chunks.len() as u64).to_be_bytes());
        batch.insert("pos", &position.to_be_bytes());
        drop(chunks);
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes everything (before a rebuild).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.tree.clear()?;
        self.db.flush()?;
        Ok(())
    }
}
