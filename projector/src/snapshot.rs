//! The projector's snapshot file: magic, bincode `(position, rows, generation,
//! records, changes, head, root, checkpoint, State, Model)` with the item tables and the chains' ids left
//! out, then the SHA-256 of everything before it; replaced atomically (see
//! [`crate::store`] for what it binds and when it is written).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use ledger::ids::Digest;
use ledger::state::State;
use sha2::{Digest as _, Sha256};

use crate::chains;
use crate::lists::Extent;
use crate::model::Model;
use crate::rows::decode_exact;
use crate::store::{io, Saved, StoreError};

const MAGIC: &[u8] = b"tallinn projector snapshot v6\n";
/// What every snapshot's magic starts with, whatever its version.
const MAGIC_FAMILY: &[u8] = b"tallinn projector snapshot v";
/// Largest snapshot accepted.
const MAX_SNAPSHOT: u64 = 4 << 30;

/// What a commit writes.
pub struct Parts<'a> {
    /// Last log position folded.
    pub position: u64,
    /// The committed length of the row file.
    pub rows: u64,
    /// The row file's generation (its name: see [`rows_file`]).
    pub generation: u64,
    /// The records in the row file (committed or not: all it holds).
    pub records: u64,
    /// The committed extent of the changes file.
    pub changes: Extent,
    /// The id of the entry at `position`.
    pub head: Option<Digest>,
    /// The Merkle root of the entries folded.
    pub root: Option<Digest>,
    /// The largest signed checkpoint verified.
    pub checkpoint: u64,
    /// The rules state without its items (and chains without their ids).
    pub state: &'a State,
    /// The read model without its item tables.
    pub model: &'a Model,
}

/// Writes the snapshot of `dir` aside, fsyncs it, renames it over the old
/// one and fsyncs the directory: the commit point.
pub fn write(dir: &Path, p: &Parts<'_>) -> Result<(), StoreError> {
    let tmp = dir.join("snapshot.tmp");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut out = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
    };
    out.write_all(MAGIC).map_err(io(&tmp))?;
    bincode::serde::encode_into_std_write(
        (
            p.position,
            p.rows,
            p.generation,
            p.records,
            p.changes,
            p.head,
            p.root,
            p.checkpoint,
            p.state,
            p.model,
        ),
        &mut out,
        bincode::config::standard(),
    )
    .map_err(|e| StoreError::Corrupt(format!("encoding the snapshot: {e}")))?;
    let HashingWriter { mut inner, hash } = out;
    inner.write_all(&hash.finalize()).map_err(io(&tmp))?;
    let file = inner.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io(&tmp))?;
    let snapshot = dir.join("snapshot");
    std::fs::rename(&tmp, &snapshot).map_err(io(&snapshot))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Which row file a snapshot commits, and how much of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowsMeta {
    /// Its committed length.
    pub len: u64,
    /// Its generation (see [`rows_file`]).
    pub generation: u64,
    /// The records it holds.
    pub records: u64,
    /// The committed extent of the changes file.
    pub changes: Extent,
}

/// The row file of a generation: `rows.log` first, `rows.N.log` after the
/// Nth compaction.
pub fn rows_file(generation: u64) -> String {
    match generation {
        0 => "rows.log".into(),
        g => format!("rows.{g}.log"),
    }
}

/// The generation of a projector file's name (`rows.log`, `rows.N.log`,
/// `items.base`, `items.N.recent`, ...), if it is a row file or an index run.
pub fn generation_of(name: &str) -> Option<u64> {
    let mid = name
        .strip_prefix("rows.")
        .and_then(|r| r.strip_suffix("log"))
        .or_else(|| {
            name.strip_prefix("items.")
                .and_then(|r| r.strip_suffix("base").or_else(|| r.strip_suffix("recent")))
        })?;
    match mid {
        "" => Some(0),
        m => m.strip_suffix('.')?.parse().ok().filter(|g| *g > 0),
    }
}

/// Removes the row files and index runs of other generations than
/// `generation` (left by a compaction, finished or not).
pub fn remove_other_generations(dir: &Path, generation: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if generation_of(&name).is_some_and(|g| g != generation) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The committed row file and the saved parts (empty when there is no snapshot).
pub fn read(path: &Path) -> Result<(RowsMeta, Saved), StoreError> {
    let bytes = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((RowsMeta::default(), Saved::default()))
        }
        Err(e) => return Err(io(path)(e)),
        Ok(m) if m.len() > MAX_SNAPSHOT => {
            return Err(StoreError::Corrupt(format!(
                "snapshot of {} bytes",
                m.len()
            )))
        }
        Ok(_) => std::fs::read(path).map_err(io(path))?,
    };
    let body_end = bytes
        .len()
        .checked_sub(32)
        .filter(|&n| n >= MAGIC.len() && bytes.starts_with(MAGIC))
        .ok_or_else(|| StoreError::Corrupt("snapshot header".into()))?;
    if Sha256::digest(&bytes[..body_end]).as_slice() != &bytes[body_end..] {
        return Err(StoreError::Corrupt("snapshot checksum".into()));
    }
    type Parts = (
        u64,
        u64,
        u64,
        u64,
        Extent,
        Option<Digest>,
        Option<Digest>,
        u64,
        State,
        Model,
    );
    let (position, len, generation, records, changes, head, root, checkpoint, state, model): Parts =
        decode_exact(&bytes[MAGIC.len()..body_end], "snapshot")?;
    Ok((
        RowsMeta {
            len,
            generation,
            records,
            changes,
        },
        Saved {
            position,
            head,
            root,
            checkpoint,
            state,
            model,
        },
    ))
}

/// Empties a directory whose snapshot is of another format version (the
/// projector is derived data: it is rebuilt from the log).
pub fn remove_older_format(dir: &Path) {
    let snapshot = dir.join("snapshot");
    let mut head = vec![0u8; MAGIC.len()];
    let read = File::open(&snapshot).and_then(|mut f| f.read_exact(&mut head));
    if read.is_err() || !head.starts_with(MAGIC_FAMILY) || head == MAGIC {
        return;
    }
    tracing::info!(dir = %dir.display(), "removing a projector store of an earlier format; it will be rebuilt from the log");
    let _ = remove_derived(dir);
}

/// Removes every file of a projector store in `dir` but its lock (before a
/// rebuild): the snapshot, the row files, the tree, the index's runs and the
/// chains.
pub fn remove_derived(dir: &Path) -> Result<(), StoreError> {
    for name in ["snapshot", "tree.log", crate::lists::CHANGES_FILE] {
        remove_if_present(&dir.join(name))?;
    }
    // Every generation's row file and runs (no generation is 2^64 - 1).
    remove_other_generations(dir, u64::MAX);
    match std::fs::remove_dir_all(dir.join(chains::DIR)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&dir.join(chains::DIR))(e)),
        _ => Ok(()),
    }
}

/// Removes the file at `path`, if there is one.
pub fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

/// Removes the files of the sled database earlier versions kept here (the
/// projector is derived data: it is rebuilt from the log).
pub fn remove_sled_store(dir: &Path) {
    if !(dir.join("conf").is_file() && dir.join("db").is_file()) {
        return;
    }
    tracing::info!(dir = %dir.display(), "removing an old-format projector store; it will be rebuilt from the log");
    ledger::store::remove_sled_files(dir);
}

/// Writes through to `inner`, hashing what is written.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_read_from_file_names() {
        for (name, g) in [
            ("rows.log", Some(0)),
            ("rows.3.log", Some(3)),
            ("items.base", Some(0)),
            ("items.recent", Some(0)),
            ("items.12.base", Some(12)),
            ("items.12.recent", Some(12)),
            ("items.base.tmp", None),
            ("rows.0.log", None),
            ("rows.x.log", None),
            ("rows.log.partial", None),
            ("snapshot", None),
            ("tree.log", None),
        ] {
            assert_eq!(generation_of(name), g, "{name}");
        }
        for g in [0, 1, 7] {
            assert_eq!(generation_of(&rows_file(g)), Some(g));
            assert_eq!(
                generation_of(&crate::index::run_file("items.base", g)),
                Some(g)
            );
        }
    }
}
