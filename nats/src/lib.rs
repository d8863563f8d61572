//! The NATS JetStream backend of the ledger's [`Log`].
//!
//! One stream per ledger (file storage, `deny_delete`, `deny_purge`, a duplicate
//! window, configurable replicas). Each producer publishes on its own subject
//! `<prefix>.events.<member>`; the payload is the event's leaf bytes and the headers
//! carry `Nats-Msg-Id` (the event id in hex), the informational `Tallinn-Member`,
//! `Tallinn-Kind`, `Tallinn-Seq` and the time the producer appended it
//! (`Tallinn-Appended-At`, Unix ms). Log positions are stream sequence numbers,
//! dense because nothing can be deleted or purged.
//!
//! Appends are conditional: the first event of an append carries
//! `Nats-Expected-Last-Subject-Sequence` (the producer's chain head). On a stream
//! with `allow_atomic` (created so on nats-server 2.12 and newer), when the
//! [`Batches`] policy asks for it (by default on replicated streams), an append of
//! several events is published as atomic batches (ADR-50) of at most
//! [`MAX_ATOMIC_BATCH`] events, each conditional on the subject sequence left by the
//! one before: all of a batch is stored, contiguously, or nothing of it, so producers
//! on different subjects append concurrently without disturbing each other.
//! Otherwise, on a single-replica stream each later one carries `Nats-Expected-Last-Msg-Id` = the id
//! of the event before it, so the acks can be pipelined (a bounded window) and an
//! append still stores only a prefix of its events, nothing a racing writer could
//! interleave; when a later event is refused only because another producer's event
//! came in between, the append goes on from the stored prefix. On a replicated
//! stream every event carries the subject sequence of the one before it and is
//! published after its predecessor's ack (see [`NatsLog::append_events`]).
//! An event already stored (a republish after a timeout, a crash or a restart) is
//! recognised through the chain head (the last message on the subject) and reported
//! as stored, never appended twice.

use std::collections::VecDeque;
use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use ledger::calendar::Timestamp;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::log::{Entry, Log, LogError};

pub mod checkpoints;
mod read;
pub use checkpoints::{CheckpointStream, PublishOutcome};

/// When an append of several events is published as one atomic batch (if the
/// server and the stream accept them; an append of one event is always a single
/// conditional publish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Batches {
    /// On replicated streams only. There the alternative waits for each event's
    /// acknowledgement before publishing the next. On a single-replica file stream
    /// nats-server 2.15.1 stages every atomic batch in a temporary file store and
    /// syncs the commit (about 16 ms per batch on a disk whose fsync takes 4 ms), so
    /// with the default `sync_interval` the pipelined publishes are faster there.
    #[default]
    Auto = 0,
    /// Wherever the stream accepts them (the faster choice on a single-replica
    /// stream of a server with `sync_interval: always`, which syncs every message
    /// of the pipelined publishes).
    Atomic = 1,
    /// Never.
    Never = 2,
}

impl std::str::FromStr for Batches {
    type Err = String;
    fn from_str(s: &str) -> Result<Batches, String> {
        match s {
            "auto" => Ok(Batches::Auto),
            "atomic" => Ok(Batches::Atomic),
            "never" => Ok(Batches::Never),
            _ => Err(format!("{s:?}: expected auto, atomic or never")),
        }
    }
}

/// The oldest nats-server this backend accepts.
pub const MIN_SERVER: (u64, u64) = (2, 10);

/// How many publish acks may be outstanding during one append.
pub const ACK_WINDOW: usize = 256;

/// The first nats-server with atomic batch publish (ADR-50, stream `allow_atomic`).
pub const ATOMIC_SERVER: (u64, u64) = (2, 12);

/// The most events in one atomic batch: nats-server's default limit
/// (`jetstream.limits.batch.max_msgs`); a server configured lower says so in its
/// refusal and appends then use its limit.
pub const MAX_ATOMIC_BATCH: usize = 1000;

/// How many times an atomic batch the server refused for a transient reason (too
/// many batches in flight on the stream, an abandoned batch) is published again.
const BUSY_RETRIES: u32 = 20;

/// How many times an atomic batch refused although the chain head had not moved is
/// published again.
const STALE_RETRIES: u32 = 5;

/// Header: the time the producer appended the event (Unix milliseconds).
pub const APPENDED_AT_HEADER: &str = "Tallinn-Appended-At";

/// Why a NATS operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// A connection option is unusable.
    #[error("--{field}: {reason}")]
    Option {
        /// The option.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The server cannot be reached or refused the connection.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The server URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server is older than [`MIN_SERVER`].
    #[error("nats-server {version} at {url} is too old: 2.10 or newer is required (jetstream sync_interval, filter_subjects)")]
    OldServer {
        /// The URL.
        url: String,
        /// The version it announced.
        version: String,
    },
    /// The server has no JetStream, or the account has none.
    #[error("JetStream is not enabled on the server (start nats-server with -js): {0}")]
    NoJetStream(String),
    /// The ledger's stream does not exist.
    #[error("no stream {0} on the server: create the ledger with `tallinn init --nats URL`")]
    MissingStream(String),
    /// A publish found no stream to answer it: the stream is missing, or has
    /// no leader right now (a leader election in a cluster). Nothing of that
    /// publish was stored; it can be retried.
    #[error("no stream {0} answered the publish (nothing of it was stored): during a leader election this passes in seconds, retry; if it persists, is the ledger created (`tallinn init --nats URL`)?")]
    Unavailable(String),
    /// A read found no server answering (a stream leader or replica moving).
    #[error("{0}; retry: a leader election passes in seconds")]
    NotAnswering(String),
    /// No stream name was given and none (or several) could be found.
    #[error("{0}")]
    NoStreamChosen(String),
    /// The existing stream is configured differently.
    #[error("stream {stream} exists with {field} = {found}, not {expected}; it is never changed silently")]
    ConfigMismatch {
        /// The stream.
        stream: String,
        /// The differing field.
        field: &'static str,
        /// Its value on the server.
        found: String,
        /// The value wanted.
        expected: String,
    },
    /// The server refused an operation for lack of permission.
    #[error("permission denied by the NATS server: {0}")]
    Permission(String),
    /// Any other JetStream failure.
    #[error("JetStream: {0}")]
    JetStream(String),
}

impl From<NatsError> for LogError {
    fn from(e: NatsError) -> LogError {
        match e {
            NatsError::Unavailable(_) | NatsError::NotAnswering(_) => {
                LogError::Unavailable(e.to_string())
            }
            e => LogError::Backend(e.to_string()),
        }
    }
}

/// How to reach the server, following the `nats` CLI's options.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Server URL(s), comma-separated.
    pub url: String,
    /// A `.creds` file (JWT + nkey seed).
    pub creds: Option<PathBuf>,
    /// A file holding an nkey seed (`SU...`).
    pub nkey: Option<PathBuf>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Token.
    pub token: Option<String>,
    /// CA certificate(s) to trust (PEM).
    pub tlsca: Option<PathBuf>,
    /// Client certificate (PEM), with `tlskey`.
    pub tlscert: Option<PathBuf>,
    /// Client key (PEM), with `tlscert`.
    pub tlskey: Option<PathBuf>,
    /// Connection and request timeout.
    pub timeout: Duration,
    /// The prefix of this client's reply subjects (`_INBOX` if none): a
    /// deployment gives every user its own (`_INBOX_<user>`) and lets it
    /// subscribe there only, so no user reads another's replies.
    pub inbox_prefix: Option<String>,
}

/// The reply-subject prefix of a user: `_INBOX_<user>`, with `.` written `~`
/// (one subject token), as `tallinn deploy nats-config` grants it.
pub fn inbox_prefix_of(user: &str) -> String {
    format!("_INBOX_{}", user.replace('.', "~"))
}

/// A connection to a JetStream server, with the server errors it reported.
#[derive(Clone)]
pub struct Connection {
    /// The client.
    pub client: async_nats::Client,
    /// The JetStream context.
    pub js: jetstream::Context,
    errors: Arc<ServerErrors>,
    url: String,
}

#[derive(Default)]
struct ServerErrors {
    last: Mutex<Option<String>>,
    notify: tokio::sync::Notify,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.url)
    }
}

fn parse_version(v: &str) -> Option<(u64, u64)> {
    let mut it = v.trim_start_matches('v').split(['.', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Whether the server announced a version with atomic batch publish.
fn supports_atomic(conn: &Connection) -> bool {
    parse_version(&conn.client.server_info().version).is_some_and(|v| v >= ATOMIC_SERVER)
}

impl Connection {
    /// Connects, checks the server version (>= 2.10) and that JetStream answers.
    pub async fn connect(o: &ConnectOptions) -> Result<Connection, NatsError> {
        let timeout = if o.timeout.is_zero() {
            Duration::from_secs(5)
        } else {
            o.timeout
        };
        let mut opts = match &o.creds {
            Some(path) => async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|e| NatsError::Option {
                    field: "creds",
                    reason: format!("{}: {e}", path.display()),
                })?,
            None => async_nats::ConnectOptions::new(),
        };
        if let Some(path) = &o.nkey {
            let seed = std::fs::read_to_string(path).map_err(|e| NatsError::Option {
                field: "nkey",
                reason: format!("{}: {e}", path.display()),
            })?;
            let seed = seed
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with('S'))
                .ok_or_else(|| NatsError::Option {
                    field: "nkey",
                    reason: format!("{}: no nkey seed (a line starting with S)", path.display()),
                })?;
            opts = opts.nkey(seed.to_string());
        }
        match (&o.user, &o.password) {
            (Some(u), p) => opts = opts.user_and_password(u.clone(), p.clone().unwrap_or_default()),
            (None, Some(_)) => {
                return Err(NatsError::Option {
                    field: "password",
                    reason: "needs --user".into(),
                })
            }
            (None, None) => {}
        }
        if let Some(t) = &o.token {
            opts = opts.token(t.clone());
        }
        if let Some(prefix) = &o.inbox_prefix {
            opts = opts.custom_inbox_prefix(prefix);
        }
        if let Some(ca) = &o.tlsca {
            pem_file(ca, "tlsca", "CERTIFICATE")?;
            opts = opts.add_root_certificates(ca.clone()).require_tls(true);
        }
        match (&o.tlscert, &o.tlskey) {
            (Some(c), Some(k)) => {
                pem_file(c, "tlscert", "CERTIFICATE")?;
                pem_file(k, "tlskey", "PRIVATE KEY")?;
                opts = opts.add_client_certificate(c.clone(), k.clone())
            }
            (None, None) => {}
            _ => {
                return Err(NatsError::Option {
                    field: "tlscert",
                    reason: "--tlscert and --tlskey go together".into(),
                })
            }
        }
        let errors = Arc::new(ServerErrors::default());
        let sink = errors.clone();
        opts = opts
            .connection_timeout(timeout)
            .request_timeout(Some(timeout))
            .name("tallinn")
            .event_callback(move |event| {
                let sink = sink.clone();
                async move {
                    if let async_nats::Event::ServerError(e) = event {
                        let text = e.to_string();
                        tracing::debug!(error = %text, "NATS server error");
                        *sink.last.lock().expect("not poisoned") = Some(text);
                        sink.notify.notify_waiters();
                    }
                }
            });
        let url = o.url.clone();
        let addrs: Vec<async_nats::ServerAddr> = url
            .split(',')
            .map(|u| u.trim().parse())
            .collect::<Result<_, std::io::Error>>()
            .map_err(|e| NatsError::Option {
                field: "nats",
                reason: format!("{url:?}: {e}"),
            })?;
        let client = match tokio::time::timeout(timeout * 2, opts.connect(addrs)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                let reason = match e.kind() {
                    async_nats::ConnectErrorKind::AuthorizationViolation
                    | async_nats::ConnectErrorKind::Authentication => {
                        format!(
                            "authentication failed (check --creds/--nkey/--user/--password): {e}"
                        )
                    }
                    _ => e.to_string(),
                };
                return Err(NatsError::Connect { url, reason });
            }
            Err(_) => {
                return Err(NatsError::Connect {
                    url,
                    reason: "timed out".into(),
                })
            }
        };
        let version = client.server_info().version;
        match parse_version(&version) {
            Some(v) if v >= MIN_SERVER => {}
            _ => return Err(NatsError::OldServer { url, version }),
        }
        let mut js = jetstream::new(client.clone());
        js.set_timeout(timeout);
        Ok(Connection {
            client,
            js,
            errors,
            url,
        })
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Takes the last error the server reported (e.g. a permissions violation).
    pub fn take_server_error(&self) -> Option<String> {
        self.errors.last.lock().expect("not poisoned").take()
    }

    fn server_error(&self) -> Option<String> {
        self.errors.last.lock().expect("not poisoned").clone()
    }

    /// Explains a failed request: a permissions violation the server reported, or `e`.
    fn explain(&self, e: impl std::fmt::Display) -> NatsError {
        match self.take_server_error() {
            Some(s) if s.to_lowercase().contains("permission") => NatsError::Permission(s),
            _ => NatsError::JetStream(e.to_string()),
        }
    }

    /// Lists the names of the ledger streams (names starting with `TALLINN`,
    /// without their checkpoint streams).
    pub async fn ledger_streams(&self) -> Result<Vec<String>, NatsError> {
        let mut names = self.js.stream_names();
        let mut out = Vec::new();
        while let Some(n) = names.next().await {
            let n = n.map_err(|e| self.explain(e))?;
            if n.starts_with("TALLINN") {
                out.push(n);
            }
        }
        let all = out.clone();
        out.retain(|n| !checkpoints::is_checkpoint_stream(n, &all));
        Ok(out)
    }
}

/// The stream of one ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// Subject prefix: producers publish on `<prefix>.events.<member>`.
    pub prefix: String,
    /// Replicas (1 on a single server, 3 on a cluster).
    pub replicas: usize,
    /// Duplicate window for `Nats-Msg-Id`.
    pub duplicate_window: Duration,
}

impl StreamSpec {
    /// The default stream of a ledger with this origin: name `TALLINN_<ORIGIN>`, prefix
    /// `tallinn.<origin>` (characters other than letters, digits and `-` become `_`).
    pub fn for_origin(origin: &str) -> StreamSpec {
        let token: String = origin
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        StreamSpec {
            name: format!("TALLINN_{}", token.to_ascii_uppercase().replace('-', "_")),
            prefix: format!("tallinn.{token}"),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
        }
    }

    /// The subject of a producer.
    pub fn subject(&self, producer: &MemberId) -> String {
        subject(&self.prefix, producer)
    }

    fn config(&self, atomic: bool) -> stream::Config {
        stream::Config {
            allow_atomic_publish: atomic,
            name: self.name.clone(),
            subjects: vec![format!("{}.events.>", self.prefix)],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: self.duplicate_window,
            num_replicas: self.replicas,
            allow_direct: true,
            deny_delete: true,
            deny_purge: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        }
    }
}

/// The subject of `producer` under `prefix`; `.` in member ids becomes `~`.
pub fn subject(prefix: &str, producer: &MemberId) -> String {
    format!("{prefix}.events.{}", producer.as_str().replace('.', "~"))
}

/// The member whose subject `<prefix>.events.<member>` a message was read from
/// ([`subject`] reversed); [`MemberId::unnamed_subject`] for any other subject.
pub fn subject_member(prefix: &str, subject: &str) -> MemberId {
    subject
        .strip_prefix(prefix)
        .and_then(|s| s.strip_prefix(".events."))
        // One token: [`subject`] writes a member id's `.` as `~`, so a deeper
        // subject such as `<prefix>.events.EE.X` (which the stream's
        // `events.>` filter stores) is no member's, not member `EE.X`'s.
        .filter(|token| !token.contains('.'))
        .and_then(|token| token.replace('~', ".").parse().ok())
        .unwrap_or_else(MemberId::unnamed_subject)
}

/// Checks an existing stream's configuration against what a ledger needs.
fn check_config(
    name: &str,
    found: &stream::Config,
    want: &stream::Config,
    check_replicas: bool,
) -> Result<(), NatsError> {
    let differ = |field: &'static str, f: String, e: String| NatsError::ConfigMismatch {
        stream: name.to_string(),
        field,
        found: f,
        expected: e,
    };
    if found.subjects != want.subjects {
        return Err(differ(
            "subjects",
            format!("{:?}", found.subjects),
            format!("{:?}", want.subjects),
        ));
    }
    if found.storage != want.storage {
        return Err(differ(
            "storage",
            format!("{:?}", found.storage),
            format!("{:?}", want.storage),
        ));
    }
    if !found.deny_delete {
        return Err(differ("deny_delete", "false".into(), "true".into()));
    }
    if !found.deny_purge {
        return Err(differ("deny_purge", "false".into(), "true".into()));
    }
    if found.retention != want.retention {
        return Err(differ(
            "retention",
            format!("{:?}", found.retention),
            format!("{:?}", want.retention),
        ));
    }
    if found.max_messages > 0 || found.max_bytes > 0 || !found.max_age.is_zero() {
        return Err(differ(
            "limits",
            format!(
                "max_msgs {} max_bytes {} max_age {:?}",
                found.max_messages, found.max_bytes, found.max_age
            ),
            "none".into(),
        ));
    }
    if !found.allow_direct {
        return Err(differ("allow_direct", "false".into(), "true".into()));
    }
    if check_replicas && found.num_replicas.max(1) != want.num_replicas.max(1) {
        return Err(differ(
            "replicas",
            found.num_replicas.to_string(),
            want.num_replicas.to_string(),
        ));
    }
    if check_replicas && found.duplicate_window != want.duplicate_window {
        return Err(differ(
            "duplicate_window",
            format!("{:?}", found.duplicate_window),
            format!("{:?}", want.duplicate_window),
        ));
    }
    Ok(())
}

/// The ledger's log in a JetStream stream.
#[derive(Clone)]
pub struct NatsLog {
    conn: Connection,
    stream: stream::Stream<stream::Info>,
    name: String,
    prefix: String,
    /// The server and the stream accept atomic batches (>= 2.12, `allow_atomic`).
    allowed: Arc<AtomicBool>,
    /// The [`Batches`] policy, as its `u8`.
    batches: Arc<AtomicU8>,
    /// The most events per atomic batch (lowered if the server refuses a size).
    batch_max: Arc<AtomicUsize>,
    /// Batch ids: `<nuid of this log>-<counter>`.
    batch_nonce: Arc<str>,
    batch_counter: Arc<AtomicU64>,
}

impl std::fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NatsLog({} at {})", self.name, self.conn.url)
    }
}

/// What went wrong with one publish.
enum PublishFailure {
    /// The expected-last check failed (or an atomic batch held an id already stored).
    Conflict,
    /// The stream does not accept atomic batches (nothing was stored).
    AtomicDisabled,
    /// An atomic batch was refused for a transient reason (nothing was stored).
    Busy(String),
    /// An atomic batch was larger than the server accepts (its limit, if it said).
    TooLarge(Option<usize>),
    /// Anything else.
    Other(NatsError),
}

fn ms_of(t: &async_nats::jetstream::message::StreamMessage) -> i64 {
    (t.time.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The serialized length of a header block ("NATS/1.0", the lines, the blank line).
fn wire_len(h: &HeaderMap) -> usize {
    let mut len = 12;
    for (k, vs) in h.iter() {
        for v in vs {
            len += k.to_string().len() + v.as_str().len() + 4;
        }
    }
    len
}

/// The receipt time of an entry: the producer's `Tallinn-Appended-At`, but never
/// later than the server's own timestamp (a producer can only make its own events
/// look older, which the rules treat no more kindly).
fn appended_at(headers: Option<&HeaderMap>, server_ms: i64) -> Timestamp {
    receipt_time(
        headers
            .and_then(|h| h.get(APPENDED_AT_HEADER))
            .map(|v| v.as_str()),
        server_ms,
    )
}

/// The receipt time of an entry from the text of its `Tallinn-Appended-At`
/// header (`None` without one) and the server's timestamp (Unix milliseconds):
/// the claimed time if it is a decimal `i64`, but never later than the server's
/// and never before 1970 (a claim before year 0 made `audit export` write an
/// `appended_at` the bundle reader refuses, so one member could make the whole
/// bundle unreadable). Pure: the part of reading a message that the
/// `nats_entry` fuzz target drives.
pub fn receipt_time(claimed: Option<&str>, server_ms: i64) -> Timestamp {
    let claimed = claimed.and_then(|v| v.parse::<i64>().ok());
    Timestamp(claimed.map_or(server_ms, |c| c.max(0).min(server_ms)))
}

impl NatsLog {
    /// Creates the stream of `spec`, or checks the existing one has its configuration
    /// (replicas and duplicate window included).
    pub async fn create_or_check(
        conn: &Connection,
        spec: &StreamSpec,
    ) -> Result<NatsLog, NatsError> {
        let want = spec.config(supports_atomic(conn));
        let stream = match conn.js.get_stream(&spec.name).await {
            Ok(mut s) => {
                let info = s.info().await.map_err(|e| conn.explain(e))?;
                check_config(&spec.name, &info.config, &want, true)?;
                s
            }
            Err(e) => match map_get_stream(conn, &spec.name, e) {
                NatsError::MissingStream(_) => conn.js.create_stream(want).await.map_err(|e| {
                    let text = e.to_string();
                    if text.contains("not enabled") {
                        NatsError::NoJetStream(text)
                    } else {
                        conn.explain(e)
                    }
                })?,
                other => return Err(other),
            },
        };
        Ok(NatsLog::from_stream(
            conn.clone(),
            stream,
            spec.name.clone(),
            spec.prefix.clone(),
        ))
    }

    /// Opens an existing stream (`name`, or the only ledger stream on the server).
    pub async fn open(conn: &Connection, name: Option<&str>) -> Result<NatsLog, NatsError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                let mut names = conn.ledger_streams().await?;
                match names.len() {
                    0 => return Err(NatsError::NoStreamChosen(
                        "no ledger stream (TALLINN_*) on the server: create one with `tallinn init --nats URL`".into(),
                    )),
                    1 => names.remove(0),
                    _ => return Err(NatsError::NoStreamChosen(format!(
                        "several ledger streams on the server ({}): choose one with --stream",
                        names.join(", ")
                    ))),
                }
            }
        };
        let mut stream = conn
            .js
            .get_stream(&name)
            .await
            .map_err(|e| map_get_stream(conn, &name, e))?;
        let info = stream.info().await.map_err(|e| conn.explain(e))?;
        let subj = info.config.subjects.first().cloned().unwrap_or_default();
        let Some(prefix) = subj.strip_suffix(".events.>") else {
            return Err(NatsError::ConfigMismatch {
                stream: name,
                field: "subjects",
                found: format!("{:?}", info.config.subjects),
                expected: "[\"<prefix>.events.>\"]".into(),
            });
        };
        let spec = StreamSpec {
            name: name.clone(),
            prefix: prefix.to_string(),
            replicas: info.config.num_replicas,
            duplicate_window: info.config.duplicate_window,
        };
        check_config(&name, &info.config, &spec.config(false), false)?;
        Ok(NatsLog::from_stream(
            conn.clone(),
            stream,
            name,
            spec.prefix,
        ))
    }

    fn from_stream(
        conn: Connection,
        stream: stream::Stream<stream::Info>,
        name: String,
        prefix: String,
    ) -> NatsLog {
        let allowed = supports_atomic(&conn) && stream.cached_info().config.allow_atomic_publish;
        let inbox = conn.client.new_inbox();
        let nonce = inbox.rsplit('.').next().unwrap_or("tallinn").to_string();
        NatsLog {
            conn,
            stream,
            name,
            prefix,
            allowed: Arc::new(AtomicBool::new(allowed)),
            batches: Arc::new(AtomicU8::new(Batches::Auto as u8)),
            batch_max: Arc::new(AtomicUsize::new(MAX_ATOMIC_BATCH)),
            batch_nonce: nonce.into(),
            batch_counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Whether appends of several events are published as atomic batches: the
    /// server (2.12 or newer) and the stream (`allow_atomic`) accept them and the
    /// [`Batches`] policy asks for them. Otherwise they use the pipelined (single
    /// replica) or sequential (replicated) conditional publishes.
    pub fn atomic(&self) -> bool {
        self.allowed.load(Ordering::Relaxed)
            && match self.batches() {
                Batches::Atomic => true,
                Batches::Never => false,
                Batches::Auto => self.stream.cached_info().config.num_replicas > 1,
            }
    }

    /// Whether the server and the stream accept atomic batches.
    pub fn atomic_allowed(&self) -> bool {
        self.allowed.load(Ordering::Relaxed)
    }

    /// The policy for atomic batches.
    pub fn batches(&self) -> Batches {
        match self.batches.load(Ordering::Relaxed) {
            1 => Batches::Atomic,
            2 => Batches::Never,
            _ => Batches::Auto,
        }
    }

    /// Sets the policy for atomic batches (for this log and its clones); returns
    /// whether appends now use them ([`NatsLog::atomic`]).
    pub fn set_batches(&self, policy: Batches) -> bool {
        self.batches.store(policy as u8, Ordering::Relaxed);
        self.atomic()
    }

    /// The stream name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subject prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The headers every stored event carries: `Nats-Msg-Id` and the informational
    /// `Tallinn-*` ones.
    fn headers(&self, producer: &MemberId, ev: &Event, at: Timestamp) -> HeaderMap {
        let env = ev.envelope();
        let mut h = HeaderMap::new();
        h.insert("Nats-Msg-Id", ev.id().to_string().as_str());
        h.insert("Tallinn-Member", producer.as_str());
        h.insert("Tallinn-Kind", env.body.kind().name());
        h.insert("Tallinn-Seq", env.seq.to_string().as_str());
        h.insert(APPENDED_AT_HEADER, at.0.to_string().as_str());
        h
    }

    fn message(
        &self,
        producer: &MemberId,
        ev: &Event,
        bytes: &[u8],
        at: Timestamp,
        expect: Expect<'_>,
    ) -> (String, jetstream::message::PublishMessage) {
        let mut m = jetstream::message::PublishMessage::build()
            .payload(bytes.to_vec().into())
            .headers(self.headers(producer, ev, at))
            .expected_stream(&self.name);
        m = match expect {
            Expect::SubjectSeq(n) => m.expected_last_subject_sequence(n),
            Expect::LastId(id) => m.expected_last_message_id(id),
        };
        (subject(&self.prefix, producer), m)
    }

    /// Publishes `events[from..]` pipelined, the first conditional on the subject's
    /// last sequence `expected`, the others on the previous event's id. Returns the
    /// positions stored (a prefix) and the failure that stopped it, if any.
    async fn publish_run(
        &self,
        producer: &MemberId,
        events: &[(Event, &[u8])],
        expected: u64,
        at: Timestamp,
    ) -> (Vec<u64>, Option<PublishFailure>) {
        if events.len() > 1 && self.atomic() {
            match self.publish_atomic(producer, events, expected, at).await {
                (_, Some(PublishFailure::AtomicDisabled)) => {
                    // The stream's allow_atomic was turned off: nothing of the batch
                    // was stored; go on without batches.
                    tracing::debug!("{}: atomic publish disabled; falling back", self.name);
                    self.allowed.store(false, Ordering::Relaxed);
                }
                r => return r,
            }
        }
        if self.stream.cached_info().config.num_replicas > 1 {
            return self
                .publish_sequential(producer, events, expected, at)
                .await;
        }
        let mut inflight = VecDeque::new();
        let mut stored = Vec::with_capacity(events.len());
        let mut failure = None;
        let mut ack_failed = false;
        let mut prev_id = String::new();
        for (i, (ev, bytes)) in events.iter().enumerate() {
            let expect = if i == 0 {
                Expect::SubjectSeq(expected)
            } else {
                Expect::LastId(&prev_id)
            };
            let (subj, msg) = self.message(producer, ev, bytes, at, expect);
            prev_id = ev.id().to_string();
            match self.conn.js.send_publish(subj, msg).await {
                Ok(ack) => inflight.push_back(ack),
                Err(e) => {
                    failure = Some(PublishFailure::Other(self.conn.explain(e)));
                    break;
                }
            }
            if inflight.len() >= ACK_WINDOW {
                let ack = inflight.pop_front().expect("non-empty");
                match self.await_ack(ack).await {
                    Ok(seq) => stored.push(seq),
                    Err(f) => {
                        failure = Some(f);
                        ack_failed = true;
                        break;
                    }
                }
            }
        }
        // Collect the remaining acks up to the first failure. The later ones are not
        // awaited: after a refused precondition they fail too (each expects its
        // predecessor to be the stream's last message), and after a timeout or a
        // lost connection whether they were stored is learnt from the chain head
        // by the next attempt.
        // A publish that could not even be sent leaves the ones before it in flight:
        // their acks still count.
        let send_failure = if ack_failed { None } else { failure.take() };
        while failure.is_none() {
            let Some(ack) = inflight.pop_front() else {
                break;
            };
            match self.await_ack(ack).await {
                Ok(seq) => stored.push(seq),
                Err(f) => failure = Some(f),
            }
        }
        (stored, failure.or(send_failure))
    }

    /// Publishes the first events of `events` (at most the batch limit) as one atomic
    /// batch whose first message is conditional on the subject's last sequence
    /// `expected`. Returns the positions of the whole batch, or nothing stored and the
    /// failure. Refusals that store nothing and say nothing about the chain (too many
    /// batches in flight, a batch too large) are retried here.
    async fn publish_atomic(
        &self,
        producer: &MemberId,
        events: &[(Event, &[u8])],
        expected: u64,
        at: Timestamp,
    ) -> (Vec<u64>, Option<PublishFailure>) {
        let subj = subject(&self.prefix, producer);
        let mut busy = 0;
        loop {
            let n = events
                .len()
                .min(self.batch_max.load(Ordering::Relaxed))
                .max(1);
            let batch_id = format!(
                "{}-{}",
                self.batch_nonce,
                self.batch_counter.fetch_add(1, Ordering::Relaxed)
            );
            let max_payload = self.conn.client.server_info().max_payload;
            let mut batch = Vec::with_capacity(n);
            for (i, (ev, bytes)) in events[..n].iter().enumerate() {
                let mut h = self.headers(producer, ev, at);
                h.insert("Nats-Batch-Id", batch_id.as_str());
                h.insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
                if i == 0 {
                    h.insert("Nats-Expected-Stream", self.name.as_str());
                    h.insert(
                        "Nats-Expected-Last-Subject-Sequence",
                        expected.to_string().as_str(),
                    );
                }
                // An event too large for the server ends the batch before it (the
                // commit header adds 22 bytes), so that the events before it are
                // stored and the append fails on it alone, as on the other paths.
                if i > 0 && max_payload > 0 && bytes.len() + wire_len(&h) + 22 > max_payload {
                    break;
                }
                batch.push((h, bytes));
            }
            let n = batch.len();
            let mut commit = None;
            for (i, (mut h, bytes)) in batch.into_iter().enumerate() {
                let payload = bytes::Bytes::copy_from_slice(bytes);
                let sent = if i + 1 < n {
                    self.conn
                        .client
                        .publish_with_headers(subj.clone(), h, payload)
                        .await
                        .map_err(|e| self.conn.explain(e))
                } else {
                    h.insert("Nats-Batch-Commit", "1");
                    let m = jetstream::message::PublishMessage::build()
                        .payload(payload)
                        .headers(h);
                    match self.conn.js.send_publish(subj.clone(), m).await {
                        Ok(ack) => {
                            commit = Some(ack);
                            Ok(())
                        }
                        Err(e) => Err(self.conn.explain(e)),
                    }
                };
                if let Err(e) = sent {
                    return (vec![], Some(PublishFailure::Other(e)));
                }
            }
            let ack = commit.expect("the last message is the commit");
            match self.await_ack_full(ack).await {
                Ok(a) => {
                    let count = a.batch_size.unwrap_or(n as u64);
                    if count != n as u64 || a.sequence < count {
                        return (
                            vec![],
                            Some(PublishFailure::Other(NatsError::JetStream(format!(
                                "atomic batch of {n} events acknowledged as {count} at {}",
                                a.sequence
                            )))),
                        );
                    }
                    return ((a.sequence + 1 - count..=a.sequence).collect(), None);
                }
                Err(PublishFailure::TooLarge(limit)) if n > 1 => {
                    let smaller = limit.filter(|&l| l > 0 && l < n).unwrap_or(n / 2);
                    tracing::debug!("{}: atomic batches of at most {smaller}", self.name);
                    self.batch_max.store(smaller, Ordering::Relaxed);
                }
                Err(PublishFailure::Busy(why)) if busy < BUSY_RETRIES => {
                    busy += 1;
                    tracing::debug!("{}: atomic batch refused ({why}); again", self.name);
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(busy))).await;
                }
                Err(PublishFailure::Busy(why)) => {
                    return (
                        vec![],
                        Some(PublishFailure::Other(NatsError::JetStream(why))),
                    )
                }
                Err(f) => return (vec![], Some(f)),
            }
        }
    }

    /// Publishes `events` one at a time, each conditional on the subject's last
    /// sequence being the previous one's. Used on replicated streams: there a
    /// pipelined `Nats-Expected-Last-Msg-Id` is re-checked when followers apply the
    /// entry, and nats-server 2.15.1 was seen to halt the stream ("last msgid
    /// mismatch ... critical write error") after a leader change.
    async fn publish_sequential(
        &self,
        producer: &MemberId,
        events: &[(Event, &[u8])],
        mut expected: u64,
        at: Timestamp,
    ) -> (Vec<u64>, Option<PublishFailure>) {
        let mut stored = Vec::with_capacity(events.len());
        for (ev, bytes) in events {
            let (subj, msg) = self.message(producer, ev, bytes, at, Expect::SubjectSeq(expected));
            let ack = match self.conn.js.send_publish(subj, msg).await {
                Ok(ack) => ack,
                Err(e) => return (stored, Some(PublishFailure::Other(self.conn.explain(e)))),
            };
            match self.await_ack(ack).await {
                Ok(seq) => {
                    stored.push(seq);
                    expected = seq;
                }
                Err(f) => return (stored, Some(f)),
            }
        }
        (stored, None)
    }

    async fn await_ack(
        &self,
        ack: jetstream::context::PublishAckFuture,
    ) -> Result<u64, PublishFailure> {
        self.await_ack_full(ack).await.map(|a| a.sequence)
    }

    async fn await_ack_full(
        &self,
        ack: jetstream::context::PublishAckFuture,
    ) -> Result<jetstream::publish::PublishAck, PublishFailure> {
        let notified = self.conn.errors.notify.notified();
        tokio::pin!(notified);
        let r = tokio::select! {
            r = ack.into_future() => r,
            _ = &mut notified => {
                if let Some(e) = self.conn.server_error().filter(|e| e.to_lowercase().contains("permission")) {
                    self.conn.take_server_error();
                    return Err(PublishFailure::Other(NatsError::Permission(e)));
                }
                return Err(PublishFailure::Other(NatsError::JetStream("the server reported an error".into())));
            }
        };
        match r {
            Ok(a) => Ok(a),
            Err(e) => match e.kind() {
                PublishErrorKind::WrongLastSequence | PublishErrorKind::WrongLastMessageId => {
                    Err(PublishFailure::Conflict)
                }
                PublishErrorKind::Other => {
                    use jetstream::ErrorCode as C;
                    let api = std::error::Error::source(&e)
                        .and_then(|s| s.downcast_ref::<jetstream::Error>());
                    match api.map(|a| a.error_code()) {
                        Some(C::ATOMIC_PUBLISH_DISABLED) => Err(PublishFailure::AtomicDisabled),
                        Some(C::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE) => {
                            Err(PublishFailure::Conflict)
                        }
                        Some(C::ATOMIC_PUBLISH_INCOMPLETE_BATCH)
                        | Some(C::BATCH_PUBLISH_TOO_MANY_INFLIGHT) => {
                            Err(PublishFailure::Busy(e.to_string()))
                        }
                        Some(C::ATOMIC_PUBLISH_TOO_LARGE_BATCH) => {
                            // "atomic publish batch is too large: 1000"
                            let text = e.to_string();
                            let limit = text
                                .rsplit(':')
                                .find_map(|t| t.split_whitespace().next()?.parse().ok());
                            Err(PublishFailure::TooLarge(limit))
                        }
                        _ => Err(PublishFailure::Other(self.conn.explain(e))),
                    }
                }
                // "No responders": no stream, or none with a leader now.
                PublishErrorKind::StreamNotFound => Err(PublishFailure::Other(
                    NatsError::Unavailable(self.name.clone()),
                )),
                _ => Err(PublishFailure::Other(self.conn.explain(e))),
            },
        }
    }

    /// The last message on `producer`'s subject.
    async fn last_message(
        &self,
        producer: &MemberId,
    ) -> Result<Option<jetstream::message::StreamMessage>, NatsError> {
        match self
            .stream
            .direct_get_last_for_subject(subject(&self.prefix, producer))
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => {
                // Direct get is served by any replica; right after a stream is
                // created or a node is lost it may have no responder yet: ask the
                // leader instead.
                tracing::debug!("direct get failed ({e}); asking the stream leader");
                match self
                    .stream
                    .get_last_raw_message_by_subject(&subject(&self.prefix, producer))
                    .await
                {
                    Ok(m) => Ok(Some(m)),
                    Err(e)
                        if e.kind()
                            == jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(self.conn.explain(e)),
                }
            }
        }
    }

    /// The position of the message on `producer`'s subject after `after` (inclusive
    /// of nothing before `after + 1`).
    async fn next_on_subject(&self, producer: &MemberId, after: u64) -> Result<u64, NatsError> {
        let subj = subject(&self.prefix, producer);
        match self
            .stream
            .direct_get_next_for_subject(subj.clone(), Some(after + 1))
            .await
        {
            Ok(m) => Ok(m.sequence),
            Err(_) => self
                .stream
                .get_first_raw_message_by_subject(&subj, after + 1)
                .await
                .map(|m| m.sequence)
                .map_err(|e| self.conn.explain(e)),
        }
    }

    /// Whether entries were removed from the stream (purged, deleted, or
    /// dropped by a changed limit): a log only grows, so the stream must hold
    /// every sequence from 1 to its last. `Some(what)` describes the hole.
    pub async fn lost_entries(&self) -> Result<Option<String>, NatsError> {
        let state = self.info().await?.state;
        if state.messages == state.last_sequence
            && (state.messages == 0 || state.first_sequence == 1)
        {
            return Ok(None);
        }
        Ok(Some(format!(
            "stream {} holds {} messages for positions {}..={}: {} entries were removed",
            self.name,
            state.messages,
            state.first_sequence,
            state.last_sequence,
            state.last_sequence.saturating_sub(state.messages)
        )))
    }

    /// Publishes `bytes` exactly as another log holds them, on `member`'s
    /// subject, whatever they are (re-seeding a stream from a verified copy):
    /// conditional on the stream's name and on the subject's last sequence
    /// being `expected` (`None`: no message yet). No `Nats-Msg-Id`: a copy may
    /// rightly hold the same event twice. Returns the position stored.
    pub async fn append_verbatim(
        &self,
        member: &MemberId,
        expected: Option<u64>,
        bytes: &[u8],
        at: Timestamp,
    ) -> Result<u64, NatsError> {
        let mut h = HeaderMap::new();
        h.insert("Nats-Expected-Stream", self.name.as_str());
        h.insert(
            "Nats-Expected-Last-Subject-Sequence",
            expected.unwrap_or(0).to_string().as_str(),
        );
        h.insert(APPENDED_AT_HEADER, at.0.to_string().as_str());
        let ack = self
            .conn
            .js
            .publish_with_headers(subject(&self.prefix, member), h, bytes.to_vec().into())
            .await
            .map_err(|e| self.conn.explain(e))?
            .await
            .map_err(|e| self.conn.explain(e))?;
        Ok(ack.sequence)
    }

    /// The append of [`Log::append`], with the positions stored before a failure.
    pub async fn append_events(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, (Vec<u64>, LogError)> {
        let mut decoded = Vec::with_capacity(events.len());
        for (index, bytes) in events.iter().enumerate() {
            let ev = Event::from_bytes(bytes)
                .map_err(|source| (vec![], LogError::Malformed { index, source }))?;
            if &ev.envelope().producer != producer {
                return Err((
                    vec![],
                    LogError::WrongProducer {
                        index,
                        producer: producer.clone(),
                        found: ev.envelope().producer.clone(),
                    },
                ));
            }
            decoded.push((ev, bytes.as_slice()));
        }
        let mut positions: Vec<u64> = Vec::with_capacity(events.len());
        let mut expected = expected_last.unwrap_or(0);
        let mut stale = 0;
        while positions.len() < decoded.len() {
            let done = positions.len();
            let atomic = decoded.len() - done > 1 && self.atomic();
            let (stored, failure) = self
                .publish_run(producer, &decoded[done..], expected, appended_at)
                .await;
            let progressed = !stored.is_empty();
            positions.extend(stored);
            if let Some(&last) = positions.last() {
                expected = last;
            }
            match failure {
                None => {}
                Some(PublishFailure::Other(e)) => return Err((positions, e.into())),
                Some(PublishFailure::Busy(why)) => {
                    return Err((positions, NatsError::JetStream(why).into()))
                }
                Some(PublishFailure::AtomicDisabled) | Some(PublishFailure::TooLarge(_)) => {
                    return Err((
                        positions,
                        NatsError::JetStream(format!(
                            "{}: the server refused an atomic batch",
                            self.name
                        ))
                        .into(),
                    ))
                }
                Some(PublishFailure::Conflict) => {
                    // Who holds the chain head? If it is one of ours, those events
                    // are stored already (a republish); else another writer won.
                    let head = self
                        .last_message(producer)
                        .await
                        .map_err(|e| (positions.clone(), LogError::from(e)))?;
                    let done = positions.len();
                    let head_index = head.as_ref().and_then(|h| {
                        decoded[done..]
                            .iter()
                            .position(|(_, b)| h.payload.as_ref() == *b)
                            .map(|i| (done + i, h.sequence))
                    });
                    match head_index {
                        Some((j, seq)) => {
                            // Events done..=j are stored: find their positions.
                            let mut after = if done == 0 {
                                expected_last.unwrap_or(0)
                            } else {
                                expected
                            };
                            for _ in done..j {
                                let p = self
                                    .next_on_subject(producer, after)
                                    .await
                                    .map_err(|e| (positions.clone(), LogError::from(e)))?;
                                positions.push(p);
                                after = p;
                            }
                            positions.push(seq);
                            expected = seq;
                        }
                        None => {
                            let actual = head.as_ref().map(|h| h.sequence);
                            let ours = done > 0 && actual == Some(expected);
                            let unmoved = actual.unwrap_or(0) == expected;
                            if ours && progressed {
                                // Only another producer's event came in between:
                                // go on from our stored prefix.
                            } else if unmoved && atomic && stale < STALE_RETRIES {
                                // An atomic batch refused although the chain head
                                // is where it expected: the server still had an
                                // earlier batch of this subject in process (a
                                // replicated stream). Nothing of it was stored.
                                stale += 1;
                                tokio::time::sleep(Duration::from_millis(20 * u64::from(stale)))
                                    .await;
                            } else {
                                return Err((
                                    positions,
                                    LogError::Conflict {
                                        producer: producer.clone(),
                                        expected: if done == 0 {
                                            expected_last
                                        } else {
                                            Some(expected)
                                        },
                                        actual,
                                    },
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(positions)
    }

    /// The stream's info. A request that times out with no error reported by the
    /// server (a cluster electing a new stream leader) is retried, up to
    /// [`INFO_ATTEMPTS`] times in all; a permission refusal is not.
    async fn info(&self) -> Result<stream::Info, NatsError> {
        let mut s = self.stream.clone();
        let mut attempt = 1;
        loop {
            match s.info().await {
                Ok(info) => return Ok(info.clone()),
                Err(e)
                    if e.kind() == async_nats::jetstream::context::RequestErrorKind::TimedOut
                        && attempt < INFO_ATTEMPTS
                        && self.conn.server_error().is_none() =>
                {
                    attempt += 1;
                    tracing::debug!(stream = %self.name, attempt, "stream info timed out; retrying");
                }
                Err(e) => return Err(self.conn.explain(e)),
            }
        }
    }
}

enum Expect<'a> {
    SubjectSeq(u64),
    LastId(&'a str),
}

fn map_get_stream(
    conn: &Connection,
    name: &str,
    e: jetstream::context::GetStreamError,
) -> NatsError {
    match e.kind() {
        jetstream::context::GetStreamErrorKind::JetStream(j)
            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
        {
            NatsError::MissingStream(name.to_string())
        }
        _ => {
            let text = e.to_string();
            if text.contains("not enabled") {
                NatsError::NoJetStream(text)
            } else {
                conn.explain(e)
            }
        }
    }
}

impl Log for NatsLog {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        self.append_events(producer, expected_last, events, appended_at)
            .await
            .map_err(|(_, e)| e)
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        Ok(self.read_entries(from, max).await?)
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        Ok(self.last_message(producer).await?.map(|m| Entry {
            position: m.sequence,
            appended_at: appended_at(Some(&m.headers), ms_of(&m)),
            member: Some(producer.clone()),
            bytes: m.payload.to_vec(),
        }))
    }

    async fn lost_entries(&self) -> Result<Option<String>, LogError> {
        Ok(NatsLog::lost_entries(self).await?)
    }

    async fn len(&self) -> Result<u64, LogError> {
        Ok(self.info().await?.state.last_sequence)
    }

    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let len = self.info().await?.state.last_sequence;
            if len > after || tokio::time::Instant::now() >= deadline {
                return Ok(len);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Attempts of a stream info request that times out (see `NatsLog::info`).
const INFO_ATTEMPTS: u32 = 3;

/// Checks that `path` is a readable PEM file holding a `kind` block (the client
/// library skips anything else silently, which would surface later as a vague
/// handshake failure).
fn pem_file(path: &std::path::Path, field: &'static str, kind: &str) -> Result<(), NatsError> {
    let text = std::fs::read_to_string(path).map_err(|e| NatsError::Option {
        field,
        reason: format!("{}: {e}", path.display()),
    })?;
    if !text.contains("-----BEGIN ") || !text.contains(&format!("{kind}-----")) {
        return Err(NatsError::Option {
            field,
            reason: format!("{} holds no PEM {kind}", path.display()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_come_from_the_origin() {
        let s = StreamSpec::for_origin("tallinn-mechanism.example/ledger");
        assert_eq!(s.name, "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER");
        assert_eq!(s.prefix, "tallinn.tallinn-mechanism_example_ledger");
        let m: MemberId = "EE-MFA.X".parse().unwrap();
        assert_eq!(
            s.subject(&m),
            "tallinn.tallinn-mechanism_example_ledger.events.EE-MFA~X"
        );
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("2.15.1"), Some((2, 15)));
        assert_eq!(parse_version("2.9.10"), Some((2, 9)));
        assert!(parse_version("2.9.10").unwrap() < MIN_SERVER);
        assert_eq!(parse_version("2.10.0-beta"), Some((2, 10)));
    }

    #[test]
    fn subject_member_reverses_subject_exactly() {
        let p = "tallinn.tallinn-mechanism_example_ledger";
        let m: MemberId = "EE-MFA.X".parse().unwrap();
        assert_eq!(subject_member(p, &subject(p, &m)), m);
        assert_eq!(
            subject_member(p, &format!("{p}.events.EE-MFA")).as_str(),
            "EE-MFA"
        );
        // Fuzz finding (nats_entry): a deeper subject is no member's; it was
        // read as member `TM-.ECRETARIAT`, whose subject is `...TM-~ECRETARIAT`.
        for other in [
            format!("{p}.events.TM-.ECRETARIAT"),
            format!("{p}.events.EE-MFA.X"),
            format!("{p}.events."),
            format!("{p}.checkpoints"),
            "other.events.EE-MFA".to_string(),
        ] {
            assert_eq!(
                subject_member(p, &other),
                MemberId::unnamed_subject(),
                "{other}"
            );
        }
    }

    #[test]
    fn receipt_times_read_back_from_a_bundle() {
        // Finding (nats_entry property): a claim of -99999999999999 was kept
        // and exported as "-1199-02-15T14:13:20.001Z", which no bundle reader
        // reads. Claims before 1970 now count as 1970.
        let server = 1_710_028_800_000;
        assert_eq!(receipt_time(Some("-5"), server), Timestamp(0));
        assert_eq!(receipt_time(Some("-5"), -10), Timestamp(-10));
        for claim in [
            "-99999999999999",
            "-9223372036854775808",
            "-1",
            "0",
            "5000",
            "x",
        ] {
            let at = receipt_time(Some(claim), server);
            let json = serde_json::to_string(&at).unwrap();
            let back: Timestamp = serde_json::from_str(&json).unwrap_or_else(|e| {
                panic!("claim {claim}: {json}: {e}");
            });
            assert_eq!(back, at);
        }
    }

    #[test]
    fn appended_at_is_never_later_than_the_server_time() {
        let mut h = HeaderMap::new();
        h.insert(APPENDED_AT_HEADER, "5000");
        assert_eq!(appended_at(Some(&h), 9000), Timestamp(5000));
        assert_eq!(appended_at(Some(&h), 1000), Timestamp(1000));
        assert_eq!(appended_at(None, 1000), Timestamp(1000));
    }
}
