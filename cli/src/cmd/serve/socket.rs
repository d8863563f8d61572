//! The node's end of its local socket (see [`crate::backend::local`]): the
//! node holds the embedded store and runs the log operations of the other
//! commands on that ledger (producers, readers, a follower) on it.
//!
//! Every connection is served by its own task, one request at a time; a
//! message that does not decode, or one over the size limit, closes that
//! connection and nothing else. Appends run on the blocking pool (they wait
//! for the disk).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use ledger::calendar::Timestamp;
use ledger::log::{Log, LogError};
use ledger::store::Store;
use tokio::net::{UnixListener, UnixStream};

use crate::backend::local::{
    read_message, socket_path, write_message, Reply, Request, WireEntry, MAX_READ, MAX_WAIT,
};
use crate::cmd::checkpoint::keys::checkpoint_store;

/// Bytes of entries one read returns at most (a read stops before the entry
/// that would pass this; it returns at least one).
const MAX_READ_BYTES: usize = 32 * 1024 * 1024;

/// The node's socket, listening; removed when dropped.
pub struct LocalServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl LocalServer {
    /// Listens on the socket of the ledger in `dir`, serving `store`. The
    /// caller holds the store, so a socket file already there is a stopped
    /// node's and is replaced.
    pub fn bind(dir: &Path, store: Store) -> Result<LocalServer> {
        let path = socket_path(dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => {}
        }
        let listener =
            UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("{}: setting its mode", path.display()))?;
        let task = tokio::spawn(accept(listener, store));
        Ok(LocalServer { path, task })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

async fn accept(listener: UnixListener, store: Store) {
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                tokio::spawn(connection(conn, store.clone()));
            }
            Err(e) => {
                tracing::warn!("node socket: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(mut conn: UnixStream, store: Store) {
    loop {
        let request = match read_message::<Request>(&mut conn).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("node socket: a connection closed: {e}");
                return;
            }
        };
        let op = request.op();
        let reply = match answer(&store, request).await {
            Ok(reply) => reply,
            Err(e) => Reply::Failed(e.into()),
        };
        let status = if matches!(reply, Reply::Failed(_)) {
            "failed"
        } else {
            "ok"
        };
        metrics::counter!("tallinn_node_socket_requests_total", "op" => op, "status" => status)
            .increment(1);
        if let Err(e) = write_message(&mut conn, &reply).await {
            tracing::debug!("node socket: a reply was not delivered: {e}");
            return;
        }
    }
}

/// Runs one request on the store.
async fn answer(store: &Store, request: Request) -> Result<Reply, LogError> {
    Ok(match request {
        Request::Append {
            producer,
            expected_last,
            events,
            appended_at,
        } => {
            let store = store.clone();
            let positions = tokio::task::spawn_blocking(move || {
                store.append_sync(&producer, expected_last, &events, Timestamp(appended_at))
            })
            .await
            .map_err(|e| LogError::Backend(format!("the append's task failed: {e}")))??;
            Reply::Positions(positions)
        }
        Request::Read { from, max } => {
            let max = usize::try_from(max).unwrap_or(usize::MAX).min(MAX_READ);
            Reply::Entries(bounded(store.read_sync(from, max)?, false))
        }
        Request::LastOf(producer) => {
            Reply::Entry(store.last_of_sync(&producer)?.map(WireEntry::from))
        }
        Request::Len => Reply::Len(store.len_sync()?),
        Request::WaitFor { after, timeout_ms } => {
            let timeout = Duration::from_millis(timeout_ms).min(MAX_WAIT);
            Reply::Len(store.wait_for(after, timeout).await?)
        }
        Request::MemberEntries { member, from, max } => {
            let max = usize::try_from(max).unwrap_or(usize::MAX).min(MAX_READ);
            Reply::Entries(bounded(
                store.member_entries_sync(&member, from, max)?,
                false,
            ))
        }
        Request::MemberLastEntries { member, max } => {
            let max = usize::try_from(max).unwrap_or(usize::MAX).min(MAX_READ);
            Reply::Entries(bounded(store.member_last_entries_sync(&member, max)?, true))
        }
        Request::LatestCheckpoint => Reply::Note(store.latest_checkpoint_sync()?),
        Request::Checkpoints => {
            let cs = checkpoint_store(store).map_err(|e| LogError::Backend(format!("{e:#}")))?;
            let notes = cs
                .all()
                .map_err(|e| LogError::Backend(format!("checkpoints: {e}")))?;
            Reply::Texts(notes.iter().map(|n| n.to_text()).collect())
        }
    })
}

/// The entries that fit in a reply (at least one): the first ones, or the
/// last ones with `last`.
fn bounded(mut entries: Vec<ledger::log::Entry>, last: bool) -> Vec<WireEntry> {
    if last {
        entries.reverse();
    }
    let mut bytes = 0;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        bytes += e.bytes.len() + 64;
        if bytes > MAX_READ_BYTES && !out.is_empty() {
            break;
        }
        out.push(WireEntry::from(e));
    }
    if last {
        out.reverse();
    }
    out
}
