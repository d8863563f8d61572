//! The node's local socket: how commands reach an embedded log that a node
//! (`tallinn serve`) holds open.
//!
//! The embedded store admits one process at a time. A node keeps the embedded store open
//! (so it sees an append the moment it commits) and listens on `node.sock`
//! in the ledger directory; every other command on that ledger finds the
//! socket answering and sends its log operations there ([`LocalLog`], one
//! more [`Log`] backend). The node runs them on its store: an append is
//! checked there exactly as it is when a producer holds the store itself.
//!
//! Messages are length-prefixed (4 bytes, big-endian) bincode values
//! ([`ledger::codec::encode_message`]), bounded by
//! [`ledger::codec::MAX_MESSAGE_BYTES`]; one request, then its reply, on a
//! connection at a time. The socket is the node user's only (mode 0600):
//! whoever can use it can already write the store's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ledger::calendar::Timestamp;
use ledger::codec::{decode_message, encode_message, CodecError, MAX_MESSAGE_BYTES};
use ledger::ids::MemberId;
use ledger::log::{Entry, Log, LogError};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::Mutex;

/// The socket's file name in the ledger directory.
pub const SOCKET: &str = "node.sock";

/// Most entries one read returns (callers read on until a read is empty).
pub const MAX_READ: usize = 8192;

/// Longest a `WaitFor` is held by the node before it answers.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// How long a request may wait for its answer (beyond a `WaitFor`'s own
/// wait): a node that does not answer by then is reported, not waited for.
/// `TALLINN_NODE_ANSWER_SECS` sets another limit.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

fn answer_timeout() -> Duration {
    std::env::var("TALLINN_NODE_ANSWER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(ANSWER_TIMEOUT, Duration::from_secs)
}

/// The socket of the ledger in `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// A log operation, as sent to the node.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// [`Log::append`].
    Append {
        /// The producer.
        producer: MemberId,
        /// The position of its last entry the caller expects.
        expected_last: Option<u64>,
        /// Leaf bytes.
        events: Vec<Vec<u8>>,
        /// Milliseconds since 1970.
        appended_at: i64,
    },
    /// [`Log::read`].
    Read {
        /// First position.
        from: u64,
        /// Most entries.
        max: u64,
    },
    /// [`Log::last_of`].
    LastOf(MemberId),
    /// [`Log::len`].
    Len,
    /// [`Log::wait_for`].
    WaitFor {
        /// Wait for a length above this.
        after: u64,
        /// For at most this long (capped at [`MAX_WAIT`]).
        timeout_ms: u64,
    },
    /// [`Log::member_entries`].
    MemberEntries {
        /// The member.
        member: MemberId,
        /// First position.
        from: u64,
        /// Most entries.
        max: u64,
    },
    /// [`Log::member_last_entries`].
    MemberLastEntries {
        /// The member.
        member: MemberId,
        /// Most entries.
        max: u64,
    },
    /// [`Log::latest_checkpoint`].
    LatestCheckpoint,
    /// Every stored checkpoint note, as text (unchecked).
    Checkpoints,
}

impl Request {
    /// The operation's name (a metric label).
    pub fn op(&self) -> &'static str {
        match self {
            Request::Append { .. } => "append",
            Request::Read { .. } => "read",
            Request::LastOf(_) => "last_of",
            Request::Len => "len",
            Request::WaitFor { .. } => "wait_for",
            Request::MemberEntries { .. } => "member_entries",
            Request::MemberLastEntries { .. } => "member_last_entries",
            Request::LatestCheckpoint => "latest_checkpoint",
            Request::Checkpoints => "checkpoints",
        }
    }
}

/// An entry on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireEntry {
    position: u64,
    appended_at: i64,
    member: Option<MemberId>,
    bytes: Vec<u8>,
}

impl From<Entry> for WireEntry {
    fn from(e: Entry) -> WireEntry {
        WireEntry {
            position: e.position,
            appended_at: e.appended_at.0,
            member: e.member,
            bytes: e.bytes,
        }
    }
}

impl From<WireEntry> for Entry {
    fn from(e: WireEntry) -> Entry {
        Entry {
            position: e.position,
            appended_at: Timestamp(e.appended_at),
            member: e.member,
            bytes: e.bytes,
        }
    }
}

/// The node's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// Positions appended.
    Positions(Vec<u64>),
    /// Entries read.
    Entries(Vec<WireEntry>),
    /// One entry, or none.
    Entry(Option<WireEntry>),
    /// A length.
    Len(u64),
    /// A checkpoint note as stored, or none.
    Note(Option<Vec<u8>>),
    /// Checkpoint notes as text.
    Texts(Vec<String>),
    /// The operation failed.
    Failed(WireError),
}

/// A [`LogError`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WireError {
    Conflict {
        producer: MemberId,
        expected: Option<u64>,
        actual: Option<u64>,
    },
    Malformed {
        index: u64,
        message: String,
    },
    WrongProducer {
        index: u64,
        producer: MemberId,
        found: MemberId,
    },
    Locked(String),
    Unavailable(String),
    Corrupt(String),
    Backend(String),
    Partial {
        stored: Vec<u64>,
        source: Box<WireError>,
    },
}

impl From<LogError> for WireError {
    fn from(e: LogError) -> WireError {
        match e {
            LogError::Conflict {
                producer,
                expected,
                actual,
            } => WireError::Conflict {
                producer,
                expected,
                actual,
            },
            LogError::Malformed { index, source } => WireError::Malformed {
                index: index as u64,
                message: source.to_string(),
            },
            LogError::WrongProducer {
                index,
                producer,
                found,
            } => WireError::WrongProducer {
                index: index as u64,
                producer,
                found,
            },
            LogError::Locked(s) => WireError::Locked(s),
            LogError::Unavailable(s) => WireError::Unavailable(s),
            LogError::Corrupt(s) => WireError::Corrupt(s),
            LogError::Backend(s) => WireError::Backend(s),
            LogError::Partial { stored, source } => WireError::Partial {
                stored,
                source: Box::new(WireError::from(*source)),
            },
        }
    }
}

impl From<WireError> for LogError {
    fn from(e: WireError) -> LogError {
        match e {
            WireError::Conflict {
                producer,
                expected,
                actual,
            } => LogError::Conflict {
                producer,
                expected,
                actual,
            },
            WireError::Malformed { index, message } => LogError::Malformed {
                index: index as usize,
                source: CodecError::Malformed(message),
            },
            WireError::WrongProducer {
                index,
                producer,
                found,
            } => LogError::WrongProducer {
                index: index as usize,
                producer,
                found,
            },
            WireError::Locked(s) => LogError::Locked(s),
            WireError::Unavailable(s) => LogError::Unavailable(s),
            WireError::Corrupt(s) => LogError::Corrupt(s),
            WireError::Backend(s) => LogError::Backend(s),
            WireError::Partial { stored, source } => LogError::Partial {
                stored,
                source: Box::new(LogError::from(*source)),
            },
        }
    }
}

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The connection failed or closed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The length prefix names more than a message may hold.
    #[error("a message of {0} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(u64),
    /// The bytes are not a message.
    #[error("{0}")]
    Codec(#[from] CodecError),
}

/// Writes one message.
pub async fn write_message<T: Serialize>(
    w: &mut (impl AsyncWriteExt + Unpin),
    value: &T,
) -> Result<(), FrameError> {
    let bytes = encode_message(value)?;
    w.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    w.write_all(&bytes).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one message (`None` at a clean end of the connection).
pub async fn read_message<T: serde::de::DeserializeOwned>(
    r: &mut (impl AsyncReadExt + Unpin),
) -> Result<Option<T>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as u64;
    if len > MAX_MESSAGE_BYTES as u64 {
        return Err(FrameError::TooLarge(len));
    }
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes).await?;
    Ok(Some(decode_message(&bytes)?))
}

/// The log of a ledger whose store a node holds, reached through its socket.
#[derive(Debug, Clone)]
pub struct LocalLog {
    path: PathBuf,
    /// The connection; `None` once a request went unanswered (a late answer
    /// would be taken for the next request's).
    conn: Arc<Mutex<Option<UnixStream>>>,
}

impl LocalLog {
    /// Connects to the node serving the ledger in `dir`: `None` when no node
    /// answers there (no socket, or one left by a node that stopped).
    pub async fn connect(dir: &Path) -> Result<Option<LocalLog>, LogError> {
        let path = socket_path(dir);
        match UnixStream::connect(&path).await {
            Ok(conn) => Ok(Some(LocalLog {
                path,
                conn: Arc::new(Mutex::new(Some(conn))),
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(LogError::Backend(format!("{}: {e}", path.display()))),
        }
    }

    /// The socket this log is reached through.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn call(&self, request: &Request) -> Result<Reply, LogError> {
        let fail =
            |e: FrameError| LogError::Backend(format!("the node at {}: {e}", self.path.display()));
        let mut guard = self.conn.lock().await;
        let Some(conn) = guard.as_mut() else {
            return Err(LogError::Unavailable(format!(
                "the node at {} stopped answering",
                self.path.display()
            )));
        };
        let wait = match request {
            Request::WaitFor { timeout_ms, .. } => Duration::from_millis(*timeout_ms),
            _ => Duration::ZERO,
        };
        let exchange = async {
            write_message(conn, request).await.map_err(fail)?;
            read_message::<Reply>(conn).await.map_err(fail)
        };
        let limit = answer_timeout() + wait;
        let answer = match tokio::time::timeout(limit, exchange).await {
            Ok(answer) => answer,
            Err(_) => {
                *guard = None;
                return Err(LogError::Unavailable(format!(
                    "the node at {} did not answer within {} s",
                    self.path.display(),
                    limit.as_secs()
                )));
            }
        };
        match answer? {
            Some(Reply::Failed(e)) => Err(e.into()),
            Some(reply) => Ok(reply),
            None => Err(LogError::Backend(format!(
                "the node at {} closed the connection (it stopped?)",
                self.path.display()
            ))),
        }
    }

    fn unexpected(&self, reply: &Reply) -> LogError {
        LogError::Backend(format!(
            "the node at {} answered {} to this request",
            self.path.display(),
            match reply {
                Reply::Positions(_) => "positions",
                Reply::Entries(_) => "entries",
                Reply::Entry(_) => "an entry",
                Reply::Len(_) => "a length",
                Reply::Note(_) => "a checkpoint",
                Reply::Texts(_) => "checkpoints",
                Reply::Failed(_) => "a failure",
            }
        ))
    }

    async fn entries(&self, request: &Request) -> Result<Vec<Entry>, LogError> {
        match self.call(request).await? {
            Reply::Entries(v) => Ok(v.into_iter().map(Entry::from).collect()),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn length(&self, request: &Request) -> Result<u64, LogError> {
        match self.call(request).await? {
            Reply::Len(n) => Ok(n),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Every checkpoint the node's store keeps, as text (unchecked).
    pub async fn checkpoint_texts(&self) -> Result<Vec<String>, LogError> {
        match self.call(&Request::Checkpoints).await? {
            Reply::Texts(t) => Ok(t),
            other => Err(self.unexpected(&other)),
        }
    }
}

impl Log for LocalLog {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        let request = Request::Append {
            producer: producer.clone(),
            expected_last,
            events: events.to_vec(),
            appended_at: appended_at.0,
        };
        match self.call(&request).await? {
            Reply::Positions(p) => Ok(p),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        let max = max as u64;
        self.entries(&Request::Read { from, max }).await
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        match self.call(&Request::LastOf(producer.clone())).await? {
            Reply::Entry(e) => Ok(e.map(Entry::from)),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn len(&self) -> Result<u64, LogError> {
        self.length(&Request::Len).await
    }

    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        let timeout_ms = timeout.min(MAX_WAIT).as_millis() as u64;
        self.length(&Request::WaitFor { after, timeout_ms }).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LogError> {
        match self.call(&Request::LatestCheckpoint).await? {
            Reply::Note(n) => Ok(n),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let member = member.clone();
        let max = max as u64;
        self.entries(&Request::MemberEntries { member, from, max })
            .await
    }

    async fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let member = member.clone();
        let max = max as u64;
        self.entries(&Request::MemberLastEntries { member, max })
            .await
    }
}
