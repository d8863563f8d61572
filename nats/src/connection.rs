//! Connecting to a JetStream server: [`ConnectOptions`], [`Connection`] (the
//! server version check, the errors the server reported and the explanation of
//! a failed request, the ledger streams on the server), reply-subject prefixes
//! and the checks of TLS (PEM) files.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use futures_util::StreamExt;

use crate::{checkpoints, NatsError};

/// The oldest nats-server this backend accepts.
pub const MIN_SERVER: (u64, u64) = (2, 10);

/// The first nats-server with atomic batch publish (ADR-50, stream `allow_atomic`).
pub const ATOMIC_SERVER: (u64, u64) = (2, 12);

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
    pub(crate) errors: Arc<ServerErrors>,
    url: String,
}

/// The last error the server reported, and a wake-up for those awaiting one.
#[derive(Default)]
pub(crate) struct ServerErrors {
    last: Mutex<Option<String>>,
    pub(crate) notify: tokio::sync::Notify,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.url)
    }
}

pub(crate) fn parse_version(v: &str) -> Option<(u64, u64)> {
    let mut it = v.trim_start_matches('v').split(['.', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Whether the server announced a version with atomic batch publish.
pub(crate) fn supports_atomic(conn: &Connection) -> bool {
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

    pub(crate) fn server_error(&self) -> Option<String> {
        self.errors.last.lock().expect("not poisoned").clone()
    }

    /// Explains a failed request: a permissions violation the server reported, or `e`.
    pub(crate) fn explain(&self, e: impl std::fmt::Display) -> NatsError {
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
            // A cluster electing a leader may not answer the listing: retryable.
            let n = n.map_err(|e| match self.explain(e) {
                NatsError::JetStream(t) if t.contains("timed out") => NatsError::NotAnswering(
                    format!("listing the streams: {t} (a leader election?)"),
                ),
                other => other,
            })?;
            if n.starts_with("TALLINN") {
                out.push(n);
            }
        }
        let all = out.clone();
        out.retain(|n| !checkpoints::is_checkpoint_stream(n, &all));
        Ok(out)
    }
}

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
    fn versions_parse() {
        assert_eq!(parse_version("2.15.1"), Some((2, 15)));
        assert_eq!(parse_version("2.9.10"), Some((2, 9)));
        assert!(parse_version("2.9.10").unwrap() < MIN_SERVER);
        assert_eq!(parse_version("2.10.0-beta"), Some((2, 10)));
    }
}
