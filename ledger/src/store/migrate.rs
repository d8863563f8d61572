//! Moves the events of a log written before the event files out of sled.
//!
//! Those logs kept them in sled trees: `log` (position, big-endian u64 ->
//! appended_at i64 BE || leaf bytes), `subject` (position -> member id, for
//! an entry stored on another chain than its producer's), `last`, `meta`
//! (`len`) and `by_member`. The move writes the event files in
//! `events.moving/`, syncs them, renames the directory to `events/` (the
//! commit point), then drops the trees. A crash before the rename leaves the
//! trees whole and the next open starts again; after it, the next open finds
//! the files complete and only drops the trees.

use std::path::Path;

use super::events::Events;
use super::{backend, EVENTS_DIR};
use crate::calendar::Timestamp;
use crate::event::Event;
use crate::ids::MemberId;
use crate::log::LogError;

const OLD_TREES: [&str; 4] = ["log", "last", "subject", "by_member"];
const MOVING: &str = "events.moving";

/// Moves the events of the sled database `db` in `dir` into the event files,
/// if it holds any.
pub(super) fn from_sled(db: &sled::Db, dir: &Path) -> Result<(), LogError> {
    if !db.tree_names().iter().any(|n| n.as_ref() == b"log") {
        return Ok(());
    }
    let log = db.open_tree("log").map_err(backend)?;
    let meta = db.open_tree("meta").map_err(backend)?;
    let len = match meta.get("len").map_err(backend)? {
        Some(v) => u64::from_be_bytes(
            v.as_ref()
                .try_into()
                .map_err(|_| LogError::Corrupt("the sled log's length".into()))?,
        ),
        None => 0,
    };
    let events_dir = dir.join(EVENTS_DIR);
    if len > 0 && !events_dir.exists() {
        copy(db, &log, len, dir)?;
    } else if len > 0 {
        let done = Events::open(&events_dir)?.len();
        if done != len {
            return Err(LogError::Corrupt(format!(
                "{} holds {done} events and the sled trees {len}",
                events_dir.display()
            )));
        }
    }
    for tree in OLD_TREES {
        db.drop_tree(tree).map_err(backend)?;
    }
    meta.remove("len").map_err(backend)?;
    meta.remove("by_member_built").map_err(backend)?;
    db.flush().map_err(backend)?;
    Ok(())
}

/// Copies the `len` entries of the `log` tree into `dir/events`.
fn copy(db: &sled::Db, log: &sled::Tree, len: u64, dir: &Path) -> Result<(), LogError> {
    tracing::info!(
        "{}: moving {len} events out of sled into {EVENTS_DIR}/ (once)",
        dir.display()
    );
    let moving = dir.join(MOVING);
    let _ = std::fs::remove_dir_all(&moving);
    let subjects = db.open_tree("subject").map_err(backend)?;
    let events = Events::open(&moving)?;
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
        let subject = subjects.get(key).map_err(backend)?;
        let (member, foreign) = match subject {
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
    events.commit()?;
    drop(events);
    std::fs::rename(&moving, dir.join(EVENTS_DIR))
        .and_then(|()| std::fs::File::open(dir)?.sync_all())
        .map_err(|e| LogError::Backend(format!("{}: {e}", dir.display())))
}

fn parse_member(bytes: &[u8], position: u64) -> Result<MemberId, LogError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| LogError::Corrupt(format!("the subject of entry {position}")))
}
