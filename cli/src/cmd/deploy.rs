//! `tallinn deploy nats-config|create-streams`: the JetStream deployment's
//! three powers, generated from the members file instead of hand-edited.
//!
//! - the **administrator** (`ledger-admin`) creates, updates, purges and
//!   deletes the two streams, and may re-seed a new one from a verified copy;
//!   its credential is used once, at set-up (or recovery), and then kept
//!   offline (history it could still erase is detected: members' mirrors
//!   and projectors refuse a log that is shorter than, or different from, what
//!   they saw);
//! - the **coordinator** publishes its own subjects and the checkpoints, and
//!   reads; it cannot change the streams;
//! - every **member** publishes only its own events and cosignatures, and
//!   reads; `projector` and `auditor` only read.
//!
//! Every user reads replies only on its own prefix, `_INBOX_<user>` (the CLI
//! uses it by default with `--user`), so nobody sees another's replies.
//! Nobody is granted `$JS.API.CONSUMER.*`: the CLI reads with batched direct
//! gets, which need no consumer, so no user can create consumers (one by one
//! or by the hundred) or delete anyone's.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Subcommand;
use ledger::body::Genesis;
use ledger::ids::MemberId;
use ledger::store::Store;
use projector::audit::{AuditInput, Trust};
use tallinn_nats::{inbox_prefix_of, StreamSpec};

use crate::backend::{AnyLog, NatsArgs};
use crate::cmd::checkpoint::Stored;
use crate::context::{log_dir, OPEN_WAIT};

/// The administrator's user name in the generated configuration.
pub const ADMIN: &str = "ledger-admin";
/// The read-only users in the generated configuration.
pub const READERS: [&str; 2] = ["projector", "auditor"];

/// Deployment commands.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Print the nats-server `authorization` block for a ledger: the
    /// administrator, the coordinator, every member of the members file, a
    /// projector and an auditor (re-run after each admission or revocation).
    NatsConfig {
        /// The members file (the genesis JSON: origin, coordinator, members),
        /// with members admitted since added to `members`.
        #[arg(long)]
        members: PathBuf,
        /// Write passwords as `example-<user>` instead of environment variables
        /// (`$TALLINN_PW_<USER>`, which nats-server reads when it starts).
        #[arg(long)]
        example_passwords: bool,
    },
    /// Create (or check) the ledger's two streams: run once, by the administrator.
    CreateStreams {
        /// The ledger origin (as in the members file).
        #[arg(long)]
        origin: String,
    },
    /// Re-seed an empty stream (made by `create-streams`) from the embedded
    /// copy in --dir (a member's `audit mirror`): the copy is audited first,
    /// then every entry is published on the subject that carried it, in
    /// order, and every checkpoint with it. By the administrator.
    Reseed,
}

/// Runs a deploy command.
pub async fn run(nats: &NatsArgs, dir: &Path, cmd: DeployCommand) -> Result<()> {
    match cmd {
        DeployCommand::NatsConfig {
            members,
            example_passwords,
        } => {
            // The members file `init` reads (`key_file`s resolved, every
            // problem reported at once).
            let genesis = crate::members_file::load(&members)?;
            print!("{}", nats_config(&genesis, example_passwords));
            Ok(())
        }
        DeployCommand::CreateStreams { origin } => {
            let conn = nats.connect().await?;
            let mut spec = StreamSpec::for_origin(&origin);
            if let Some(name) = &nats.stream {
                spec.name = name.clone();
            }
            spec.replicas = nats.replicas.max(1);
            let log = nats.configure(tallinn_nats::NatsLog::create_or_check(&conn, &spec).await?);
            let cps = crate::backend::checkpoints::NatsCheckpoints::open_for_issuing(&log).await?;
            println!("streams {} and {} ready", log.name(), cps.name());
            Ok(())
        }
        DeployCommand::Reseed => reseed(nats, dir).await,
    }
}

/// `deploy reseed`: the copy in `dir`, audited, into the (empty) stream.
async fn reseed(nats: &NatsArgs, dir: &Path) -> Result<()> {
    use ledger::log::Log as _;
    if !nats.enabled() {
        bail!("--nats: deploy reseed publishes into a JetStream stream; give its server URL");
    }
    let store = Store::open(&log_dir(dir), OPEN_WAIT)?;
    let local = AnyLog::Embedded(store.clone());
    let entries = crate::cmd::audit::read_all(&store).await?;
    let notes = Stored::read(&local).await?.texts()?;
    let input = AuditInput::from_entries(entries.clone(), notes.clone());
    let report = projector::audit::audit(input, &Trust::default())?;
    if !report.ok() {
        bail!(
            "the copy in {} does not verify ({} problems: see `tallinn --dir {} audit verify`); nothing re-seeded",
            dir.display(),
            report.problems.len(),
            dir.display()
        );
    }
    let log = nats.open().await?;
    let len = log.len().await?;
    if len > 0 {
        bail!("stream {} holds {len} entries: re-seed only an empty stream (made by `deploy create-streams`)", log.name());
    }
    let mut last: HashMap<MemberId, u64> = HashMap::new();
    for e in &entries {
        let subject = match (&e.member, ledger::event::Event::from_bytes(&e.bytes)) {
            (Some(m), _) => m.clone(),
            (None, Ok(ev)) => ev.envelope().producer.clone(),
            (None, Err(_)) => MemberId::unnamed_subject(),
        };
        let pos = log
            .append_verbatim(
                &subject,
                last.get(&subject).copied(),
                &e.bytes,
                e.appended_at,
            )
            .await?;
        if pos != e.position {
            bail!(
                "entry {} was stored at position {pos} of stream {}: another writer is publishing; stop it, delete and re-create the stream, re-run",
                e.position,
                log.name()
            );
        }
        last.insert(subject, pos);
    }
    let cps = crate::backend::checkpoints::NatsCheckpoints::open_for_issuing(&log).await?;
    let (state, tree) = crate::cmd::checkpoint::view(&log).await?;
    for text in &notes {
        cps.publish(&ledger::checkpoint::Note::parse(text)?, &state, &tree)
            .await?;
    }
    println!(
        "re-seeded stream {} with {} entries and {} checkpoints from {}",
        log.name(),
        entries.len(),
        notes.len(),
        dir.display()
    );
    Ok(())
}

/// The `authorization` block for the ledger of `genesis` (pure).
pub fn nats_config(genesis: &Genesis, example_passwords: bool) -> String {
    let spec = StreamSpec::for_origin(&genesis.origin);
    let (s, p) = (&spec.name, &spec.prefix);
    let cps = format!("{s}_CHECKPOINTS");
    let read = read_subjects(s, &cps);
    let own = |id: &str| {
        let token = id.replace('.', "~");
        vec![
            format!("{p}.events.{token}"),
            format!("{p}.cosignatures.{token}"),
        ]
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `tallinn deploy nats-config` for the ledger {:?}: stream {s}\n\
         # (subjects {p}.events.<member>) and {cps}. Re-generate after each admission\n\
         # or revocation. Three powers: {ADMIN} manages the streams (keep its\n\
         # credential offline after `tallinn deploy create-streams`); the coordinator\n\
         # publishes its own subjects and the checkpoints; each member its own\n\
         # subjects. Every user reads replies only on _INBOX_<user>.\n\
         authorization {{\n  users = [",
        genesis.origin
    );
    let mut user = |name: &str, comment: &str, publish: Vec<String>| {
        write_user(
            &mut out,
            name,
            &password(name, example_passwords),
            comment,
            &publish,
        );
    };
    let mut admin = read.clone();
    admin.extend(admin_subjects(s, p, &cps));
    user(
        ADMIN,
        "The administrator: creates and manages the streams; offline after set-up.",
        admin,
    );
    let coordinator = genesis.coordinator.id.as_str();
    let mut publish = read.clone();
    publish.extend(own(coordinator));
    publish.push(format!("{p}.checkpoints"));
    user(
        coordinator,
        "The coordinator (log operator): its own subjects, checkpoints, reading.",
        publish,
    );
    for m in &genesis.members {
        let mut publish = read.clone();
        publish.extend(own(m.id.as_str()));
        user(
            m.id.as_str(),
            &format!("Member {}: its own subjects and reading.", m.id),
            publish,
        );
    }
    for reader in READERS {
        user(reader, "Reading only.", read.clone());
    }
    out.push_str("  ]\n}\n");
    out
}

/// A user's password in the configuration: an example, or the environment
/// variable `TALLINN_PW_<USER>` nats-server reads it from.
fn password(user: &str, example: bool) -> String {
    if example {
        return format!("\"example-{}\"", user.to_lowercase());
    }
    let var: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("$TALLINN_PW_{var}")
}

/// What every user may publish to read the stream `s` and the checkpoint stream `cps`.
fn read_subjects(s: &str, cps: &str) -> Vec<String> {
    vec![
        "$JS.API.INFO".into(),
        "$JS.API.STREAM.NAMES".into(),
        format!("$JS.API.STREAM.INFO.{s}"),
        format!("$JS.API.STREAM.MSG.GET.{s}"),
        format!("$JS.API.DIRECT.GET.{s}"),
        format!("$JS.API.DIRECT.GET.{s}.>"),
        format!("$JS.API.STREAM.INFO.{cps}"),
        format!("$JS.API.STREAM.MSG.GET.{cps}"),
        format!("$JS.API.DIRECT.GET.{cps}"),
        format!("$JS.API.DIRECT.GET.{cps}.>"),
    ]
}

/// What the administrator may publish beyond reading.
fn admin_subjects(s: &str, p: &str, cps: &str) -> Vec<String> {
    let manage = |stream: &str| {
        ["CREATE", "UPDATE", "PURGE", "DELETE"].map(|op| format!("$JS.API.STREAM.{op}.{stream}"))
    };
    let mut admin: Vec<String> = manage(s).into_iter().chain(manage(cps)).collect();
    // Consumers (the CLI needs none): only the administrator may list, create
    // or delete them, e.g. to remove one left by an older client.
    admin.extend(["NAMES", "LIST"].map(|op| format!("$JS.API.CONSUMER.{op}.{s}")));
    admin.extend(
        ["CREATE", "DURABLE.CREATE", "INFO", "DELETE"]
            .map(|op| format!("$JS.API.CONSUMER.{op}.{s}.>")),
    );
    // Re-seeding a new stream from a verified copy (`deploy reseed`) publishes
    // every member's entries and the checkpoints; the signatures still decide.
    admin.push(format!("{p}.events.>"));
    admin.push(format!("{p}.checkpoints"));
    admin
}

/// One user's entry: its password, publish allowances and its own inbox.
fn write_user(out: &mut String, name: &str, password: &str, comment: &str, publish: &[String]) {
    let _ = writeln!(out, "    # {comment}");
    let _ = writeln!(out, "    {{ user: \"{name}\", password: {password},");
    let _ = writeln!(out, "      permissions: {{\n        publish: {{ allow: [");
    for subject in publish {
        let _ = writeln!(out, "          \"{subject}\"");
    }
    let _ = writeln!(out, "        ] }}");
    let _ = writeln!(
        out,
        "        subscribe: {{ allow: [\"{}.>\"] }}\n      }} }}",
        inbox_prefix_of(name)
    );
}
