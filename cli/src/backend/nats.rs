//! NATS connection options, after the `nats` CLI's conventions (flags,
//! `NATS_URL`/`NATS_CREDS`, the current `nats` context), and the stream of a
//! ledger, created or checked.

use std::path::PathBuf;

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use tallinn_nats::{ConnectOptions, Connection, NatsLog, StreamSpec};

use super::checkpoints::NatsCheckpoints;

/// NATS connection options (every command; `--nats` switches the log to JetStream).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "NATS JetStream (with --nats; the `nats` CLI's options)")]
pub struct NatsArgs {
    /// NATS server URL(s), comma-separated: use the JetStream stream as the log.
    #[arg(
        long = "nats",
        global = true,
        env = "TALLINN_NATS_URL",
        value_name = "URL"
    )]
    pub url: Option<String>,
    /// NATS credentials file (JWT + nkey seed).
    #[arg(long, global = true, env = "TALLINN_NATS_CREDS", value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// File holding an nkey seed.
    #[arg(long, global = true, env = "TALLINN_NATS_NKEY", value_name = "FILE")]
    pub nkey: Option<PathBuf>,
    /// NATS user name.
    #[arg(long, global = true, env = "TALLINN_NATS_USER")]
    pub user: Option<String>,
    /// NATS password.
    #[arg(long, global = true, env = "TALLINN_NATS_PASSWORD")]
    pub password: Option<String>,
    /// Prefix of this client's reply subjects [default: `_INBOX_<user>` with
    /// --user, the only replies `deploy nats-config` lets that user read;
    /// `_INBOX` otherwise].
    #[arg(
        long = "inbox-prefix",
        global = true,
        env = "TALLINN_NATS_INBOX",
        value_name = "PREFIX"
    )]
    pub inbox: Option<String>,
    /// CA certificate (PEM) to verify the server's TLS certificate.
    #[arg(long, global = true, env = "TALLINN_NATS_TLS_CA", value_name = "FILE")]
    pub tlsca: Option<PathBuf>,
    /// TLS client certificate (PEM).
    #[arg(
        long,
        global = true,
        env = "TALLINN_NATS_TLS_CERT",
        value_name = "FILE"
    )]
    pub tlscert: Option<PathBuf>,
    /// TLS client key (PEM).
    #[arg(long, global = true, env = "TALLINN_NATS_TLS_KEY", value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
    /// The ledger's stream [default: at `init`, TALLINN_<ORIGIN>; else the only TALLINN_* stream].
    #[arg(long, global = true, env = "TALLINN_NATS_STREAM", value_name = "NAME")]
    pub stream: Option<String>,
    /// Replicas of the stream created by `init` (3 on a cluster).
    #[arg(
        long,
        global = true,
        env = "TALLINN_NATS_REPLICAS",
        default_value_t = 1
    )]
    pub replicas: usize,
    /// Connection and request timeout in seconds.
    #[arg(long = "nats-timeout", global = true, default_value_t = 5)]
    pub timeout: u64,
    /// When appends of several events are atomic batches: auto (replicated streams),
    /// atomic (wherever the stream allows them) or never.
    #[arg(
        long = "nats-batches",
        global = true,
        env = "TALLINN_NATS_BATCHES",
        default_value = "auto",
        value_name = "POLICY"
    )]
    pub batches: tallinn_nats::Batches,
}

impl NatsArgs {
    /// Fills what the flags and `TALLINN_NATS_*` left unset from the `nats`
    /// CLI's environment, as that tool reads it: `NATS_URL`, `NATS_CREDS`,
    /// and the current context (`NATS_CONTEXT`, else the name in
    /// `$XDG_CONFIG_HOME/nats/context.txt`, the file
    /// `$XDG_CONFIG_HOME/nats/context/<name>.json`; `~/.config` without
    /// `XDG_CONFIG_HOME`) for the URL, credentials and TLS files. A URL from
    /// any of them switches the log to JetStream, as `--nats` does.
    pub fn apply_nats_environment(&mut self) -> Result<()> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let context = nats_context()?;
        let ctx = |k: &str| {
            context
                .as_ref()
                .and_then(|c| c.get(k))
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        if self.url.is_none() {
            self.url = var("NATS_URL").or_else(|| ctx("url"));
        }
        let no_auth = self.creds.is_none()
            && self.nkey.is_none()
            && self.user.is_none()
            && self.password.is_none();
        if no_auth {
            self.creds = var("NATS_CREDS")
                .or_else(|| ctx("creds"))
                .map(PathBuf::from);
            self.nkey = ctx("nkey").map(PathBuf::from);
            self.user = ctx("user");
            self.password = ctx("password");
        }
        if self.tlsca.is_none() && self.tlscert.is_none() && self.tlskey.is_none() {
            self.tlsca = ctx("ca").map(PathBuf::from);
            self.tlscert = ctx("cert").map(PathBuf::from);
            self.tlskey = ctx("key").map(PathBuf::from);
        }
        Ok(())
    }

    /// Whether `--nats` was given.
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    fn options(&self) -> Result<ConnectOptions> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| anyhow!("--nats: a server URL is required"))?;
        Ok(ConnectOptions {
            url,
            creds: self.creds.clone(),
            nkey: self.nkey.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            token: None,
            tlsca: self.tlsca.clone(),
            tlscert: self.tlscert.clone(),
            tlskey: self.tlskey.clone(),
            timeout: Duration::from_secs(self.timeout.max(1)),
            // A user's replies come on its own prefix (deploy nats-config).
            inbox_prefix: self
                .inbox
                .clone()
                .or_else(|| self.user.as_deref().map(tallinn_nats::inbox_prefix_of)),
        })
    }

    /// Connects (checking the server version).
    pub async fn connect(&self) -> Result<Connection> {
        Ok(Connection::connect(&self.options()?).await?)
    }

    /// Connects and opens the ledger's existing stream.
    pub async fn open(&self) -> Result<NatsLog> {
        let conn = self.connect().await?;
        Ok(self.configure(NatsLog::open(&conn, self.stream.as_deref()).await?))
    }

    /// Applies `--nats-batches` to an opened log.
    pub fn configure(&self, log: NatsLog) -> NatsLog {
        log.set_batches(self.batches);
        log
    }
}

/// The `nats` CLI's current context, if one is selected and readable.
fn nats_context() -> Result<Option<serde_json::Value>> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".config"),
            None => return Ok(None),
        },
    };
    let dir = config.join("nats");
    let name = match std::env::var("NATS_CONTEXT").ok().filter(|v| !v.is_empty()) {
        Some(n) => n,
        None => match std::fs::read_to_string(dir.join("context.txt")) {
            Ok(n) if !n.trim().is_empty() => n.trim().to_string(),
            _ => return Ok(None),
        },
    };
    if name.contains('/') || name.contains("..") {
        bail!("nats context {name:?}: not a context name");
    }
    let path = dir.join("context").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("nats context {name:?} ({})", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("nats context {name:?} ({})", path.display()))?;
    Ok(Some(v))
}

/// Creates (or checks) the events and checkpoint streams of the ledger of
/// `origin` (`init`, `demo --nats`): the stream's name and replicas from the
/// options.
pub async fn create_streams(nats: &NatsArgs, origin: &str) -> Result<NatsLog> {
    let conn = nats.connect().await?;
    let mut spec = StreamSpec::for_origin(origin);
    if let Some(name) = &nats.stream {
        spec.name = name.clone();
    }
    spec.replicas = nats.replicas.max(1);
    let log = nats.configure(NatsLog::create_or_check(&conn, &spec).await?);
    NatsCheckpoints::open_for_issuing(&log).await?;
    Ok(log)
}
