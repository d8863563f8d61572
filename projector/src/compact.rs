//! Compaction of the row file. Every write-back appends an item's record
//! again, so the row file holds stale records; when at least half its
//! records are stale (and it is past a floor), a commit first copies the latest
//! record of each item, in id order, into the row file of the next generation
//! (`rows.N.log`) and writes that file's index as one base run
//! (`items.N.base`); both are fsynced, then the commit's snapshot names the
//! new generation, which is the switch. The old generation's files are
//! removed after it. A crash at any point leaves one snapshot naming one
//! complete generation; an open removes the files of any other. Readers
//! (read-only stores) that hold the old files open keep reading them; one
//! that read the old snapshot and finds its row file gone reads the snapshot
//! again.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{io, ProjectorStore, Sink, StoreError};
use crate::index::{run_file, Index, BASE_FILE};
use crate::rows::{checked_body, record_len, HEADER};
use crate::runs::{self, RunEntry, RunFileError};
use crate::snapshot;

/// The floor new stores take ([`set_default_compact_min`]), 64 MiB unless set.
static DEFAULT_MIN: AtomicU64 = AtomicU64::new(super::COMPACT_MIN);

/// Sets the row-file length under which stores opened from now on in this
/// process never compact (the CLI takes it from `TALLINN_COMPACT_MIN`).
pub fn set_default_compact_min(bytes: u64) {
    DEFAULT_MIN.store(bytes, Ordering::Relaxed);
}

/// The floor a store opened now takes.
pub(super) fn default_compact_min() -> u64 {
    DEFAULT_MIN.load(Ordering::Relaxed)
}

/// Compactions this process made: `(count, bytes before, bytes after)` of
/// the last, for the CLI's statistics and the tests.
pub fn compactions() -> (u64, u64, u64) {
    (
        COUNT.load(Ordering::Relaxed),
        BEFORE.load(Ordering::Relaxed),
        AFTER.load(Ordering::Relaxed),
    )
}

static COUNT: AtomicU64 = AtomicU64::new(0);
static BEFORE: AtomicU64 = AtomicU64::new(0);
static AFTER: AtomicU64 = AtomicU64::new(0);

impl ProjectorStore {
    /// Whether the next commit compacts: at least half the row file's
    /// records are stale (it holds twice as many records as there can be
    /// items: the index's entries, counted with a run's and memory's
    /// duplicates, bound them from above) and it is past the floor.
    pub(super) fn due_for_compaction(&self) -> bool {
        !self.is_read_only()
            && self.end > 0
            && self.end >= self.compact_min
            && self.records >= self.index.live_bound().saturating_mul(2)
    }

    /// Writes the next generation's row file and index and switches this
    /// store to them (the caller's snapshot commits the switch, then removes
    /// the old files). On failure the new files are removed and the store is
    /// unchanged.
    pub(super) fn compact(&mut self) -> Result<(), StoreError> {
        let generation = self.generation + 1;
        let path = self.dir.join(snapshot::rows_file(generation));
        let run = self.dir.join(run_file(BASE_FILE, generation));
        let written = self.write_generation(&path, &run);
        let (file, end) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(&run);
                return Err(e);
            }
        };
        let (mut index, _) = Index::open_runs_of(&self.dir, generation, end);
        index.delta_max = self.index.delta_max;
        if index.covered() != end {
            return Err(StoreError::Corrupt(format!(
                "{}: the new index covers {} of {end} bytes",
                run.display(),
                index.covered()
            )));
        }
        let writer = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        tracing::info!(
            before = self.end,
            after = end,
            records = self.records,
            bound = self.index.live_bound(),
            generation,
            "compacted the projector's row file"
        );
        COUNT.fetch_add(1, Ordering::Relaxed);
        BEFORE.store(self.end, Ordering::Relaxed);
        AFTER.store(end, Ordering::Relaxed);
        self.reader = file;
        self.writer = Sink::File(BufWriter::with_capacity(1 << 20, writer));
        self.rows_path = path;
        (self.flushed, self.end) = (end, end);
        self.records = index.live_bound();
        self.index = index;
        self.generation = generation;
        Ok(())
    }

    /// Copies the latest record of each item, in id order, to `path`, and
    /// their new slots as a base run to `run`; fsyncs both and the directory.
    fn write_generation(&self, path: &Path, run: &Path) -> Result<(File, u64), StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file.try_clone().map_err(io(path))?);
        let end = std::cell::Cell::new(0u64);
        let mut failed: Option<StoreError> = None;
        let mut record = Vec::new();
        let entries = self
            .index
            .entries()
            .map(|e| -> Result<RunEntry, RunFileError> {
                let (id, mut slot) = e?;
                let copied = self
                    .raw_record(slot.offset, &mut record)
                    .and_then(|()| out.write_all(&record).map_err(io(path)));
                if let Err(e) = copied {
                    let reason = e.to_string();
                    failed = Some(e);
                    return Err(RunFileError::Corrupt {
                        path: path.display().to_string(),
                        reason,
                    });
                }
                slot.offset = end.get();
                end.set(end.get() + record.len() as u64);
                Ok((id, slot))
            });
        let expected = self.index.live_bound();
        let written = runs::write_to(run, 0, || end.get(), expected, entries);
        if let Some(e) = failed {
            return Err(e);
        }
        written?;
        out.flush().map_err(io(path))?;
        drop(out);
        file.sync_all().map_err(io(path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok((file, end.get()))
    }

    /// The bytes of the record at `offset` (header, body, checksum) into
    /// `buf`, checked against its checksum.
    fn raw_record(&self, offset: u64, buf: &mut Vec<u8>) -> Result<(), StoreError> {
        let mut header = [0u8; HEADER];
        self.reader
            .read_exact_at(&mut header, offset)
            .map_err(io(&self.rows_path))?;
        let len = record_len(&header, offset, self.flushed)?;
        buf.clear();
        buf.extend_from_slice(&header);
        buf.resize(4 + len, 0);
        self.reader
            .read_exact_at(&mut buf[HEADER..], offset + HEADER as u64)
            .map_err(io(&self.rows_path))?;
        checked_body(header[4], &buf[HEADER..], offset)?;
        Ok(())
    }
}
