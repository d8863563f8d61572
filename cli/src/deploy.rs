//! `tallinn deploy nats-config|create-streams`: the JetStream deployment's
//! three powers, generated from the members file instead of hand-edited.
//!
//! - the **administrator** (`ledger-admin`) creates, updates, purges and
//!   deletes the two streams; its credential is used once, at set-up, and then
//!   kept offline (history it could still erase is detected: members' mirrors
//!   and projectors refuse a log that is shorter than, or different from, what
//!   they saw);
//! - the **coordinator** publishes its own subjects and the checkpoints, and
//!   reads; it cannot change the streams;
//! - every **member** publishes only its own events and cosignatures, and
//!   reads; `projector` and `auditor` only read.
//!
//! Every user reads replies only on its own prefix, `_INBOX_<user>` (the CLI
//! uses it by default with `--user`), so nobody sees another's replies.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ledger::body::Genesis;
use tallinn_nats::{inbox_prefix_of, StreamSpec};

use crate::nats::NatsArgs;

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
}

/// Runs a deploy command.
pub async fn run(nats: &NatsArgs, cmd: DeployCommand) -> Result<()> {
    match cmd {
        DeployCommand::NatsConfig {
            members,
            example_passwords,
        } => {
            let text = std::fs::read_to_string(&members)
                .with_context(|| format!("{}", members.display()))?;
            let genesis: Genesis = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a members file", members.display()))?;
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
            let cps = crate::nats::checkpoints::NatsCheckpoints::open_for_issuing(&log).await?;
            println!("streams {} and {} ready", log.name(), cps.name());
            Ok(())
        }
    }
}

/// The `authorization` block for the ledger of `genesis` (pure).
pub fn nats_config(genesis: &Genesis, example_passwords: bool) -> String {
    let spec = StreamSpec::for_origin(&genesis.origin);
    let (s, p) = (&spec.name, &spec.prefix);
    let cps = format!("{s}_CHECKPOINTS");
    let password = |user: &str| {
        if example_passwords {
            format!("\"example-{}\"", user.to_lowercase())
        } else {
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
    };
    let read: Vec<String> = vec![
        "$JS.API.INFO".into(),
        "$JS.API.STREAM.NAMES".into(),
        format!("$JS.API.STREAM.INFO.{s}"),
        format!("$JS.API.STREAM.MSG.GET.{s}"),
        format!("$JS.API.DIRECT.GET.{s}"),
        format!("$JS.API.DIRECT.GET.{s}.>"),
        format!("$JS.API.CONSUMER.CREATE.{s}"),
        format!("$JS.API.CONSUMER.CREATE.{s}.>"),
        format!("$JS.API.CONSUMER.INFO.{s}.>"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{s}.>"),
        format!("$JS.API.STREAM.INFO.{cps}"),
        format!("$JS.API.STREAM.MSG.GET.{cps}"),
        format!("$JS.API.DIRECT.GET.{cps}"),
        format!("$JS.API.DIRECT.GET.{cps}.>"),
    ];
    let own = |id: &str| {
        let token = id.replace('.', "~");
        vec![
            format!("{p}.events.{token}"),
            format!("{p}.cosignatures.{token}"),
        ]
    };
    let manage = |stream: &str| {
        ["CREATE", "UPDATE", "PURGE", "DELETE"].map(|op| format!("$JS.API.STREAM.{op}.{stream}"))
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
        let _ = writeln!(out, "    # {comment}");
        let _ = writeln!(
            out,
            "    {{ user: \"{name}\", password: {},",
            password(name)
        );
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
    };
    let mut admin = read.clone();
    admin.extend(manage(s));
    admin.extend(manage(&cps));
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
