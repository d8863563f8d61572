//! The members' chains on disk: one file per member in `chains/`, named by
//! the hex of the member id, holding the id of each of its events at `seq`
//! as a fixed record (`seq - 1` times [`RECORD`] bytes in): the event id and
//! the CRC-32 of the seq (u64 LE) and the id. Appended as the projector
//! writes its working set back, fsynced before each snapshot; the snapshot's
//! chain lengths say how much of each file is committed (the rest is cut off
//! on open). So the snapshot stays small, and the rules read back an id only
//! when an event claims a seq already taken (a duplicate or an equivocation).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ledger::ids::{Digest, EventId, MemberId};
use ledger::state::State;

use crate::store::StoreError;

/// Bytes per record: the id and its CRC.
pub const RECORD: u64 = 36;
/// The directory, in the projector's.
pub const DIR: &str = "chains";

/// The chain files of a projector.
#[derive(Debug)]
pub struct ChainFiles {
    dir: PathBuf,
    /// Open files by member.
    files: HashMap<MemberId, ChainFile>,
    writable: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn record(seq: u64, id: &EventId) -> [u8; RECORD as usize] {
    let mut r = [0u8; RECORD as usize];
    r[..32].copy_from_slice(&id.0);
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&id.0);
    r[32..].copy_from_slice(&h.finalize().to_le_bytes());
    r
}

/// One member's open chain file.
#[derive(Debug)]
struct ChainFile {
    file: File,
    path: PathBuf,
    /// Written since the last sync.
    dirty: bool,
}

/// The file of `member`'s chain in the chain directory `dir`.
fn path_of(dir: &Path, member: &MemberId) -> PathBuf {
    dir.join(hex::encode(member.as_str()))
}

impl ChainFiles {
    /// The chain files in `dir` of a projector whose snapshot holds `state`:
    /// each must hold the ids the state's chains took out. A writable open
    /// cuts off what was written after the snapshot, and removes the files
    /// of chains the state does not have.
    pub fn open(dir: &Path, state: &State, writable: bool) -> Result<ChainFiles, StoreError> {
        let dir = dir.join(DIR);
        if writable {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        let mut expected: HashMap<String, u64> = HashMap::new();
        for (member, chain) in &state.chains {
            let want = chain.saved_len() * RECORD;
            let path = path_of(&dir, member);
            let len = match std::fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
                Err(e) => return Err(io(&path)(e)),
            };
            if len < want {
                return Err(StoreError::Corrupt(format!(
                    "{}: {len} bytes, the snapshot covers {want}",
                    path.display()
                )));
            }
            if writable && len > want {
                // Written after the snapshot: never committed.
                let f = OpenOptions::new().write(true).open(&path);
                f.and_then(|f| f.set_len(want)).map_err(io(&path))?;
            }
            expected.insert(hex::encode(member.as_str()), want);
        }
        if writable {
            // Files of chains the snapshot does not have (begun after it).
            for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
                let e = e.map_err(io(&dir))?;
                if !expected.contains_key(e.file_name().to_string_lossy().as_ref()) {
                    std::fs::remove_file(e.path()).map_err(io(&e.path()))?;
                }
            }
        }
        Ok(ChainFiles {
            dir,
            files: HashMap::new(),
            writable,
        })
    }

    fn file(&mut self, member: &MemberId) -> Result<&mut ChainFile, StoreError> {
        if !self.files.contains_key(member) {
            let path = path_of(&self.dir, member);
            let file = if self.writable {
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&path)
            } else {
                File::open(&path)
            }
            .map_err(io(&path))?;
            let dirty = false;
            self.files
                .insert(member.clone(), ChainFile { file, path, dirty });
        }
        Ok(self.files.get_mut(member).expect("just inserted"))
    }

    /// Writes `ids`, the ids of `member`'s chain from `first` on (not
    /// committed until [`ChainFiles::sync`] and the snapshot).
    pub fn put(
        &mut self,
        member: &MemberId,
        first: u64,
        ids: &[EventId],
    ) -> Result<(), StoreError> {
        if !self.writable {
            return Err(StoreError::ReadOnly);
        }
        let mut bytes = Vec::with_capacity(ids.len() * RECORD as usize);
        for (i, id) in ids.iter().enumerate() {
            bytes.extend_from_slice(&record(first + i as u64, id));
        }
        let f = self.file(member)?;
        f.file
            .write_all_at(&bytes, (first - 1) * RECORD)
            .map_err(io(&f.path))?;
        f.dirty = true;
        Ok(())
    }

    /// The id at `seq` of `member`'s chain, as saved.
    pub fn get(&mut self, member: &MemberId, seq: u64) -> Result<EventId, StoreError> {
        let f = self.file(member)?;
        let mut r = [0u8; RECORD as usize];
        f.file
            .read_exact_at(&mut r, (seq - 1) * RECORD)
            .map_err(io(&f.path))?;
        let id = Digest(r[..32].try_into().expect("32 bytes"));
        if record(seq, &id) != r {
            return Err(StoreError::Corrupt(format!(
                "{}: the record of seq {seq} fails its checksum",
                f.path.display()
            )));
        }
        Ok(id)
    }

    /// Fsyncs what was written (before a snapshot names it).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let mut synced = false;
        for f in self.files.values_mut().filter(|f| f.dirty) {
            f.file.sync_data().map_err(io(&f.path))?;
            f.dirty = false;
            synced = true;
        }
        if synced {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.dir))?;
        }
        Ok(())
    }

    /// Removes every chain file (before a rebuild).
    pub fn clear(&mut self) -> Result<(), StoreError> {
        self.files.clear();
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&self.dir)(e)),
            _ => {}
        }
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))
    }
}
