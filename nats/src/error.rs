//! The backend's error type, [`NatsError`], and its conversion to the log's
//! [`LogError`].

use ledger::log::LogError;

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
    /// The server is older than [`MIN_SERVER`](crate::MIN_SERVER).
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
