//! The CLI against NATS JetStream: connection options (the `nats` CLI's
//! conventions), a log that is either the embedded store or JetStream, and the
//! commands that only exist with `--nats` (stream creation at `init`, the demo
//! through JetStream, `audit mirror`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use ledger::calendar::Timestamp;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::log::{Entry, Log, LogError};
use ledger::store::Store;
use tallinn_nats::{ConnectOptions, Connection, NatsLog, StreamSpec};

use crate::context::{log_dir, Ledger, OPEN_WAIT};

pub mod checkpoints;

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

/// The log of a command: the embedded store of `--dir`, or JetStream with `--nats`.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per command; boxing buys nothing
pub enum AnyLog {
    /// The embedded sled store, held for the whole command.
    Embedded(Store),
    /// The embedded store, held only while in use (a follower: see
    /// `ledger::shared`).
    Shared(ledger::shared::SharedStore),
    /// A JetStream stream.
    Nats(NatsLog),
}

/// Entries this process read from its log (through [`AnyLog`]).
static ENTRIES_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count_read(n: usize) {
    ENTRIES_READ.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
}

/// How many entries this process read from its log: what a command costs
/// that does not grow with the ledger (printed with `TALLINN_STATS=1`).
pub fn entries_read() -> u64 {
    ENTRIES_READ.load(std::sync::atomic::Ordering::Relaxed)
}

impl Log for AnyLog {
    async fn append(
        &self,
        producer: &MemberId,
        expected_last: Option<u64>,
        events: &[Vec<u8>],
        appended_at: Timestamp,
    ) -> Result<Vec<u64>, LogError> {
        match self {
            AnyLog::Embedded(s) => s.append(producer, expected_last, events, appended_at).await,
            AnyLog::Shared(s) => s.append(producer, expected_last, events, appended_at).await,
            AnyLog::Nats(n) => n.append(producer, expected_last, events, appended_at).await,
        }
    }

    async fn read(&self, from: u64, max: usize) -> Result<Vec<Entry>, LogError> {
        let entries = match self {
            AnyLog::Embedded(s) => s.read(from, max).await,
            AnyLog::Shared(s) => s.read(from, max).await,
            AnyLog::Nats(n) => n.read(from, max).await,
        }?;
        count_read(entries.len());
        Ok(entries)
    }

    async fn last_of(&self, producer: &MemberId) -> Result<Option<Entry>, LogError> {
        let entry = match self {
            AnyLog::Embedded(s) => s.last_of(producer).await,
            AnyLog::Shared(s) => s.last_of(producer).await,
            AnyLog::Nats(n) => n.last_of(producer).await,
        }?;
        count_read(usize::from(entry.is_some()));
        Ok(entry)
    }

    async fn len(&self) -> Result<u64, LogError> {
        match self {
            AnyLog::Embedded(s) => s.len().await,
            AnyLog::Shared(s) => s.len().await,
            AnyLog::Nats(n) => n.len().await,
        }
    }

    async fn wait_for(&self, after: u64, timeout: Duration) -> Result<u64, LogError> {
        match self {
            AnyLog::Embedded(s) => s.wait_for(after, timeout).await,
            AnyLog::Shared(s) => s.wait_for(after, timeout).await,
            AnyLog::Nats(n) => n.wait_for(after, timeout).await,
        }
    }

    async fn lost_entries(&self) -> Result<Option<String>, LogError> {
        match self {
            AnyLog::Embedded(_) | AnyLog::Shared(_) => Ok(None),
            AnyLog::Nats(n) => Ok(n.lost_entries().await?),
        }
    }

    async fn member_entries(
        &self,
        member: &MemberId,
        from: u64,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let entries = match self {
            AnyLog::Embedded(s) => s.member_entries(member, from, max).await,
            AnyLog::Shared(s) => s.member_entries(member, from, max).await,
            AnyLog::Nats(n) => n.member_entries(member, from, max).await,
        }?;
        count_read(entries.len());
        Ok(entries)
    }

    async fn member_last_entries(
        &self,
        member: &MemberId,
        max: usize,
    ) -> Result<Vec<Entry>, LogError> {
        let entries = match self {
            AnyLog::Embedded(s) => s.member_last_entries(member, max).await,
            AnyLog::Shared(s) => s.member_last_entries(member, max).await,
            AnyLog::Nats(n) => n.member_last_entries(member, max).await,
        }?;
        count_read(entries.len());
        Ok(entries)
    }

    async fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, LogError> {
        match self {
            AnyLog::Embedded(s) => s.latest_checkpoint().await,
            AnyLog::Shared(s) => s.latest_checkpoint().await,
            AnyLog::Nats(n) => n.latest_checkpoint().await,
        }
    }
}

/// Opens the log of a command: JetStream with `--nats`, else the ledger in `dir`.
pub async fn open_log(nats: &NatsArgs, dir: &Path) -> Result<AnyLog> {
    if nats.enabled() {
        return Ok(AnyLog::Nats(nats.open().await?));
    }
    if !log_dir(dir).exists() {
        return Err(crate::context::missing_log(
            dir,
            "create one with `tallinn init` (or pass --dir, or --nats URL)",
        ));
    }
    Ok(AnyLog::Embedded(Store::open(&log_dir(dir), OPEN_WAIT)?))
}

/// Opens and replays the ledger of a command.
pub async fn open_ledger(nats: &NatsArgs, dir: &Path) -> Result<Ledger<AnyLog>> {
    Ledger::replay(open_log(nats, dir).await?).await
}

/// `init --nats`: creates (or checks) the stream, then appends the genesis if the
/// stream is empty.
pub async fn init(nats: &NatsArgs, genesis_event: &Event, now: Timestamp) -> Result<u64> {
    let conn = nats.connect().await?;
    let origin = genesis_event.envelope().origin.clone();
    let mut spec = StreamSpec::for_origin(&origin);
    if let Some(name) = &nats.stream {
        spec.name = name.clone();
    }
    spec.replicas = nats.replicas.max(1);
    let log = nats.configure(NatsLog::create_or_check(&conn, &spec).await?);
    checkpoints::NatsCheckpoints::open_for_issuing(&log).await?;
    let len = log.len().await?;
    if len > 0 {
        bail!(
            "stream {} already holds a ledger ({len} events); nothing written",
            log.name()
        );
    }
    let producer = genesis_event.envelope().producer.clone();
    let pos = log
        .append(&producer, None, &[genesis_event.bytes().to_vec()], now)
        .await?;
    Ok(pos[0])
}

/// `demo --nats`: the demo scenario signed exactly as on the embedded store, each
/// member's events published through the JetStream producer path in log order,
/// then projected into `dir`.
pub async fn demo(nats: &NatsArgs, dir: &Path, seed: u64, events: u64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let scratch = dir.join(".demo-source");
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "Playing the demo (seed {seed}) through JetStream, projector in {}",
        dir.display()
    );
    let start = std::time::Instant::now();
    let played = crate::demo::play(&scratch, seed, events)?;
    let source = Store::open(&log_dir(&scratch), OPEN_WAIT)?;
    let genesis = source
        .read_sync(1, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the demo wrote no events"))?;
    let origin = Event::from_bytes(&genesis.bytes)?.envelope().origin.clone();
    let conn = nats.connect().await?;
    let mut spec = StreamSpec::for_origin(&origin);
    if let Some(name) = &nats.stream {
        spec.name = name.clone();
    }
    spec.replicas = nats.replicas.max(1);
    let log = nats.configure(NatsLog::create_or_check(&conn, &spec).await?);
    checkpoints::NatsCheckpoints::open_for_issuing(&log).await?;
    if log.len().await? > 0 {
        bail!(
            "stream {} already holds events; the demo needs an empty one",
            log.name()
        );
    }
    let published = copy_log(&source, &log).await?;
    drop(source);
    let keys = dir.join("keys");
    let _ = std::fs::remove_dir_all(&keys);
    std::fs::rename(scratch.join("keys"), &keys)?;
    std::fs::remove_dir_all(&scratch)?;
    println!(
        "  published {published} events ({} deliberately invalid) to stream {} in {:.2}s",
        played.rejected,
        log.name(),
        start.elapsed().as_secs_f64()
    );
    let mut p = crate::project::catch_up(
        dir,
        &AnyLog::Nats(log),
        50_000,
        crate::project::Open::Shared,
    )
    .await?;
    let digest = p.digest_hex()?;
    println!("  projected to position {}; digest {}", p.position, digest);
    println!(
        "  {} events accepted, {} rejected; member keys in {}",
        p.overview().accepted,
        p.overview().rejected.len(),
        keys.display()
    );
    Ok(())
}

/// Appends every entry of `source` to `log` in order, grouping consecutive entries
/// of one producer with one receipt time into one pipelined append.
async fn copy_log(source: &Store, log: &NatsLog) -> Result<u64> {
    let mut heads: std::collections::HashMap<MemberId, u64> = Default::default();
    let mut from = 1;
    let mut copied = 0;
    loop {
        let batch = source.read_sync(from, 4096)?;
        if batch.is_empty() {
            break;
        }
        let mut i = 0;
        while i < batch.len() {
            let who = Event::from_bytes(&batch[i].bytes)?
                .envelope()
                .producer
                .clone();
            let at = batch[i].appended_at;
            let mut j = i + 1;
            while j < batch.len()
                && batch[j].appended_at == at
                && Event::from_bytes(&batch[j].bytes)?.envelope().producer == who
            {
                j += 1;
            }
            let bytes: Vec<Vec<u8>> = batch[i..j].iter().map(|e| e.bytes.clone()).collect();
            let positions = log
                .append(&who, heads.get(&who).copied(), &bytes, at)
                .await?;
            for (e, p) in batch[i..j].iter().zip(&positions) {
                if *p != e.position {
                    bail!(
                        "stream {}: event {} landed at position {p}; another writer is publishing",
                        log.name(),
                        e.position
                    );
                }
            }
            heads.insert(who, *positions.last().expect("non-empty"));
            copied += positions.len() as u64;
            i = j;
        }
        from = batch.last().map_or(from, |e| e.position + 1);
    }
    Ok(copied)
}

/// `audit mirror --nats URL --dir DIR`: copies the stream into the embedded log of
/// DIR, incrementally (from its length on), verifying as it goes: every entry is
/// judged by the rules, positions must follow on, and an entry already mirrored
/// must be byte-identical to the stream's. Then the checkpoints of the checkpoint
/// stream that hold against the mirrored log (log signature, size, root, order)
/// go into DIR's checkpoint store; the others are named and make it fail.
pub async fn mirror(nats: &NatsArgs, dir: &Path, json: bool) -> Result<()> {
    if !nats.enabled() {
        bail!("--nats: audit mirror copies a JetStream stream; give its server URL");
    }
    let log = nats.open().await?;
    // Read before the events: every honest checkpoint is then covered by them.
    let cps = checkpoints::NatsCheckpoints::open(&log).await?;
    let cp_messages = cps.messages().await?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let local = Store::open(&log_dir(dir), OPEN_WAIT)?.without_flush();
    let mut replay = Ledger::replay(local.clone()).await?;
    let have = local.len_sync()?;
    // The stream must still hold every entry (nothing removed), and the last
    // mirrored entry must still be the stream's (nothing rewritten).
    // Each refusal keeps its evidence (see `crate::evidence`).
    let evidence = |loss| crate::evidence::keep(dir, &local, &log, log.name(), loss);
    if let Some(hole) = log.lost_entries().await? {
        let kept = match crate::evidence::first_missing(&log, have).await? {
            Some(p) => {
                let path = evidence(crate::evidence::Loss::Hole(p)).await?;
                format!("; evidence in {}", path.display())
            }
            None => String::new(),
        };
        bail!(
            "{hole}: history was deleted; the copy in {} keeps it (verify it with `tallinn --dir {} audit verify`; re-seed a new stream from it with `tallinn deploy reseed`){kept}",
            dir.display(),
            dir.display()
        );
    }
    let theirs_len = log.len().await?;
    if theirs_len < have {
        let path = evidence(crate::evidence::Loss::Shorter(theirs_len)).await?;
        bail!(
            "stream {} holds {theirs_len} entries, this copy in {} holds {have}: history was deleted or the stream replaced; \
             the copy keeps it (verify it with `tallinn --dir {} audit verify`; re-seed a new stream from it with `tallinn deploy reseed`); evidence in {}",
            log.name(),
            dir.display(),
            dir.display(),
            path.display()
        );
    }
    if have > 0 {
        let theirs = log.read(have, 1).await?;
        let ours = local.read_sync(have, 1)?;
        if theirs.first().map(|e| &e.bytes) != ours.first().map(|e| &e.bytes) {
            let path = evidence(crate::evidence::Loss::Rewritten(have)).await?;
            bail!(
                "position {have} differs between {} and stream {}: the stream was rewritten or this is another ledger; evidence in {}",
                dir.display(),
                log.name(),
                path.display()
            );
        }
    }
    let target = log.len().await?;
    let mut copied = 0u64;
    let mut rejected = 0u64;
    let mut from = have + 1;
    while from <= target {
        let batch = log.read(from, 4096).await?;
        if batch.is_empty() {
            break;
        }
        // Judged as a batch (batch verification on all cores), appended one by one.
        let judged = crate::context::replay_entries(&mut replay.state, &batch);
        for (e, j) in batch.iter().zip(judged) {
            if e.position != local.len_sync()? + 1 {
                bail!("stream {} skipped to position {}", log.name(), e.position);
            }
            if !matches!(j.outcome, Some(ledger::rules::Outcome::Accepted)) {
                rejected += 1;
            }
            // Copied exactly, on the subject that carried it: malformed bytes
            // and events on another member's subject too (the log is
            // immutable, and the copy must be judged as the stream is).
            let subject = match (&e.member, &j.event) {
                (Some(m), _) => m.clone(),
                (None, Ok(ev)) => ev.envelope().producer.clone(),
                (None, Err(_)) => MemberId::unnamed_subject(),
            };
            let expected = local.last_of_sync(&subject)?.map(|x| x.position);
            local.append_verbatim_sync(
                &subject,
                expected,
                std::slice::from_ref(&e.bytes),
                e.appended_at,
            )?;
            replay.judged.push(j);
            copied += 1;
        }
        from = batch.last().map_or(from, |e| e.position + 1);
    }
    local.flush()?;
    let len = local.len_sync()?;
    let (kept, refused) = if replay.state.origin.is_some() {
        let tree = crate::checkpoint::full_tree(&local).await?;
        let v = checkpoints::NatsCheckpoints::validate(&cp_messages, &replay.state, &tree)?;
        let cs = crate::checkpoint::checkpoint_store(&local)?;
        let mut notes: Vec<ledger::checkpoint::Note> =
            v.valid.iter().map(|(_, n, _)| n.clone()).collect();
        cps.merge(&mut notes, &cp_messages);
        for ((_, _, cp), note) in v.valid.iter().zip(&notes) {
            cs.put(cp.size, note)?;
        }
        (v.valid.len(), checkpoints::refusals(cps.name(), &v))
    } else {
        (0, Vec::new())
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"stream": log.name(), "copied": copied, "length": len, "rejected_in_copy": rejected,
                "checkpoints": kept, "checkpoints_refused": refused.len()})
        );
    } else {
        println!(
            "mirrored {copied} new events from stream {} into {} (now {len} events; {rejected} of the new ones rejected by the rules); {kept} checkpoints from {}",
            log.name(),
            dir.display(),
            cps.name()
        );
    }
    if let Some(first) = refused.first() {
        bail!(
            "{} checkpoint message(s) refused, not mirrored (see `tallinn audit verify --nats`); first: {first}",
            refused.len()
        );
    }
    Ok(())
}
