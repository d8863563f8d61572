//! A list of the read model kept on disk instead of in the snapshot: the
//! changes (amendments, corrections, cancellations), which grow with every
//! one recorded. `changes.log` holds records `[u32 LE length][bincode
//! ChangeRow][u32 LE CRC-32 of the bincode]`, appended at each save and
//! fsynced before the snapshot, which names how many bytes and records are
//! committed; what follows was not committed and is cut off on open. So the
//! snapshot stays small however many changes the ledger has.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::model::ChangeRow;
use crate::rows::decode_exact;
use crate::store::{io, StoreError};

/// The file's name in the projector's directory.
pub const CHANGES_FILE: &str = "changes.log";
/// Largest record accepted.
const MAX_RECORD: usize = 16 << 20;

/// The committed extent of the file: bytes and records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Extent {
    /// Bytes.
    pub bytes: u64,
    /// Records.
    pub count: u64,
}

/// The changes file of a projector.
#[derive(Debug)]
pub struct ChangesFile {
    path: PathBuf,
    /// For reading; `None` when the file does not exist (a read-only open of
    /// a store that has none yet).
    reader: Option<File>,
    /// For appending (a writable open).
    writer: Option<BufWriter<File>>,
    /// What is written (committed or not).
    end: Extent,
}

impl ChangesFile {
    /// Opens the file in `dir` of a store whose snapshot committed
    /// `committed`; a writable open creates it and cuts off what follows.
    pub fn open(dir: &Path, committed: Extent, writable: bool) -> Result<ChangesFile, StoreError> {
        let path = dir.join(CHANGES_FILE);
        let reader = match OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && committed.bytes == 0 => None,
            Err(e) => return Err(io(&path)(e)),
        };
        if let Some(f) = &reader {
            let len = f.metadata().map_err(io(&path))?.len();
            if len < committed.bytes {
                return Err(StoreError::Corrupt(format!(
                    "{CHANGES_FILE} has {len} bytes, the snapshot covers {}",
                    committed.bytes
                )));
            }
            if writable && len > committed.bytes {
                f.set_len(committed.bytes).map_err(io(&path))?;
            }
        }
        let writer = match (&reader, writable) {
            (Some(_), true) => {
                let f = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(io(&path))?;
                Some(BufWriter::with_capacity(1 << 16, f))
            }
            _ => None,
        };
        Ok(ChangesFile {
            path,
            reader,
            writer,
            end: committed,
        })
    }

    /// What is written, committed or not: what the next snapshot commits.
    pub fn extent(&self) -> Extent {
        self.end
    }

    /// Appends `rows` (not committed until [`ChangesFile::sync`] and the snapshot).
    pub fn append(&mut self, rows: &[ChangeRow]) -> Result<(), StoreError> {
        let Some(w) = self.writer.as_mut() else {
            return Err(StoreError::ReadOnly);
        };
        let mut body = Vec::new();
        for row in rows {
            body.clear();
            bincode::serde::encode_into_std_write(row, &mut body, bincode::config::standard())
                .map_err(|e| StoreError::Corrupt(format!("encoding a change: {e}")))?;
            let crc = crc32fast::hash(&body);
            w.write_all(&(body.len() as u32).to_le_bytes())
                .and_then(|()| w.write_all(&body))
                .and_then(|()| w.write_all(&crc.to_le_bytes()))
                .map_err(io(&self.path))?;
            self.end.bytes += 8 + body.len() as u64;
            self.end.count += 1;
        }
        Ok(())
    }

    /// Flushes and fsyncs what was appended.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let Some(w) = self.writer.as_mut() {
            w.flush().map_err(io(&self.path))?;
            w.get_ref().sync_data().map_err(io(&self.path))?;
        }
        Ok(())
    }

    /// Empties the file (before a rebuild).
    pub fn clear(&mut self) -> Result<(), StoreError> {
        if let (Some(w), Some(r)) = (self.writer.as_mut(), self.reader.as_ref()) {
            w.flush().map_err(io(&self.path))?;
            r.set_len(0).map_err(io(&self.path))?;
        }
        self.end = Extent::default();
        Ok(())
    }

    /// Hands what was appended to the OS, so that it can be read back.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(w) = self.writer.as_mut() {
            w.flush().map_err(io(&self.path))?;
        }
        Ok(())
    }

    /// Calls `f` with each change from the `from`th on (0 is the first), in
    /// order, up to what is written ([`ChangesFile::flush`] first): one
    /// sequential read, each record checked against its CRC. `f` may stop
    /// the read by returning false.
    pub fn read_from(
        &self,
        from: u64,
        mut f: impl FnMut(ChangeRow) -> bool,
    ) -> Result<(), StoreError> {
        let Some(file) = self.reader.as_ref() else {
            return Ok(());
        };
        let mut file = file.try_clone().map_err(io(&self.path))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&self.path))?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let (mut offset, mut n) = (0u64, 0u64);
        let mut body = Vec::new();
        while n < self.end.count {
            let mut len = [0u8; 4];
            r.read_exact(&mut len).map_err(io(&self.path))?;
            let len = u32::from_le_bytes(len) as usize;
            if len > MAX_RECORD || offset + 8 + len as u64 > self.end.bytes {
                return Err(StoreError::Corrupt(format!(
                    "{CHANGES_FILE}: record at {offset}: length {len}"
                )));
            }
            body.resize(len + 4, 0);
            r.read_exact(&mut body).map_err(io(&self.path))?;
            let (row, crc) = body.split_at(len);
            if crc32fast::hash(row).to_le_bytes() != crc {
                return Err(StoreError::Corrupt(format!(
                    "{CHANGES_FILE}: record at {offset} fails its checksum"
                )));
            }
            if n >= from
                && !f(decode_exact(
                    row,
                    &format!("{CHANGES_FILE}: record at {offset}"),
                )?)
            {
                return Ok(());
            }
            offset += 8 + len as u64;
            n += 1;
        }
        Ok(())
    }
}

/// The whole list of changes, the file's then `tail`, serialized as the
/// model's `changes` is (for the digest): read from disk as it is written.
pub struct AllChanges<'a> {
    /// The file (flushed).
    pub file: &'a ChangesFile,
    /// The changes after the file's.
    pub tail: &'a [ChangeRow],
}

impl serde::Serialize for AllChanges<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let total = self.file.extent().count as usize + self.tail.len();
        let mut seq = s.serialize_seq(Some(total))?;
        let mut failed = None;
        self.file
            .read_from(0, |row| match seq.serialize_element(&row) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            })
            .map_err(|e| S::Error::custom(e.to_string()))?;
        if let Some(e) = failed {
            return Err(e);
        }
        for row in self.tail {
            seq.serialize_element(row)?;
        }
        seq.end()
    }
}
