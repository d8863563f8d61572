//! Moves a log of the layout before the event files out of it.
//!
//! Those logs were one sled database in the log's directory, the events in
//! its trees: `log` (position, big-endian u64 -> appended_at i64 BE || leaf
//! bytes), `subject` (position -> member id, for an entry stored on another
//! chain than its producer's), `last`, `meta` (`len`) and `by_member`. The
//! move writes the event files in `events.moving/` and the other trees
//! (checkpoints, witness state, evidence) into a new sled database in
//! `state.moving/`, syncs both, renames them to `events/` and then `state/`
//! (the commit point), and removes the old database's files. A crash before
//! `state/` exists leaves the old database whole and the next open starts
//! again; after, the next open only removes the old files. (The old
//! database cannot be emptied in place: sled keeps the page table of what
//! it dropped, 700 MB and 2.4 s to open after a move of 10M events.)

use std::path::Path;

use super::events::Events;
use super::{backend, EVENTS_DIR, SLED_DIR};
use crate::calendar::Timestamp;
use crate::event::Event;
use crate::ids::MemberId;
use crate::log::LogError;

/// The trees of the old layout that held the events.
const OLD_TREES: [&str; 5] = ["log", "last", "subject", "by_member", "meta"];
const EVENTS_MOVING: &str = "events.moving";
const SLED_MOVING: &str = "state.moving";

fn fs_error(path: &Path, e: std::io::Error) -> LogError {
    LogError::Backend(format!("{}: {e}", path.display()))
}

/// Moves the old database `db` of the log in `dir` to the new layout.
pub(super) fn from_sled(db: sled::Db, dir: &Path) -> Result<(), LogError> {
    for leftover in [EVENTS_MOVING, SLED_MOVING, EVENTS_DIR] {
        let path = dir.join(leftover);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| fs_error(&path, e))?;
        }
    }
    let len = match db
        .open_tree("meta")
        .map_err(backend)?
        .get("len")
        .map_err(backend)?
    {
        Some(v) => u64::from_be_bytes(
            v.as_ref()
                .try_into()
                .map_err(|_| LogError::Corrupt("the sled log's length".into()))?,
        ),
        None => 0,
    };
    copy_events(&db, len, &dir.join(EVENTS_MOVING))?;
    copy_trees(&db, &dir.join(SLED_MOVING))?;
    for (from, to) in [(EVENTS_MOVING, EVENTS_DIR), (SLED_MOVING, SLED_DIR)] {
        std::fs::rename(dir.join(from), dir.join(to)).map_err(|e| fs_error(dir, e))?;
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| fs_error(dir, e))?;
    drop(db);
    remove_sled_files(dir);
    Ok(())
}

/// Copies every tree of `db` but those of the events into a new database in `to`.
fn copy_trees(db: &sled::Db, to: &Path) -> Result<(), LogError> {
    let new = sled::Config::new()
        .path(to)
        .cache_capacity(16 << 20)
        .open()
        .map_err(backend)?;
    for name in db.tree_names() {
        if OLD_TREES.iter().any(|t| t.as_bytes() == name.as_ref()) {
            continue;
        }
        let (from, into) = (
            db.open_tree(&name).map_err(backend)?,
            new.open_tree(&name).map_err(backend)?,
        );
        for kv in from.iter() {
            let (k, v) = kv.map_err(backend)?;
            into.insert(k, v).map_err(backend)?;
        }
    }
    new.flush().map_err(backend)?;
    Ok(())
}

/// Removes the files of a sled database in `dir` (`conf`, `db`, `blobs/`,
/// `snap.*`), nothing else.
pub fn remove_sled_files(dir: &Path) {
    for name in ["conf", "db"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let _ = std::fs::remove_dir_all(dir.join("blobs"));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("snap.") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Copies the `len` entries of the `log` tree into event files in `to`.
fn copy_events(db: &sled::Db, len: u64, to: &Path) -> Result<(), LogError> {
    tracing::info!(
        "{}: moving {len} events out of sled into {EVENTS_DIR}/ (once)",
        to.display()
    );
    let (log, subjects) = (
        db.open_tree("log").map_err(backend)?,
        db.open_tree("subject").map_err(backend)?,
    );
    let events = Events::open(to)?;
    for kv in log.iter() {
        let (key, value) = kv.map_err(backend)?;
        let position = u64::from_be_bytes(
            key.as_ref()
                .try_into()
                .map_err(|_| LogError::Corrupt("a sled log key".into()))?,
        );
        if position != events.len() + 1 || value.len() < 8 {
            return Err(LogError::Corrupt(format!(
                "the sled log's entry {position}"
            )));
        }
        let at = Timestamp(i64::from_be_bytes(value[..8].try_into().expect("8 bytes")));
        let leaf = value[8..].to_vec();
        let (member, foreign) = match subjects.get(key).map_err(backend)? {
            Some(s) => (parse_member(&s, position)?, true),
            None => match Event::from_bytes(&leaf) {
                Ok(e) => (e.envelope().producer.clone(), false),
                Err(_) => {
                    return Err(LogError::Corrupt(format!(
                        "the sled log's entry {position}"
                    )))
                }
            },
        };
        let last = events.last_position(&member)?;
        events.append(&member, last, &[leaf], at, &[foreign], false)?;
    }
    if events.len() != len {
        return Err(LogError::Corrupt(format!(
            "the sled log holds {} entries, not {len}",
            events.len()
        )));
    }
    events.commit()
}

fn parse_member(bytes: &[u8], position: u64) -> Result<MemberId, LogError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LogError::Corrupt(format!("the subject of entry {position}")))
}
