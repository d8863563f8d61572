//! `tallinn init`: a ledger's genesis, signed from a members file and
//! appended through the one append path on either backend (on JetStream the
//! streams are created or checked first).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use ledger::body::{Body, Genesis};
use ledger::log::Log;
use ledger::producer::step;
use ledger::rules::{Outcome, SignatureCheck};
use ledger::state::State;
use ledger::store::Store;

use crate::backend::{nats::create_streams, AnyLog};
use crate::cmd::Global;
use crate::context::{log_dir, now, signer, OPEN_WAIT};

/// `init`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tallinn init --template > members.json   # every field, keys by file\n  tallinn key new --name TM-SECRETARIAT --out keys/TM-SECRETARIAT.key\n  tallinn --dir ./ledger init --key keys/TM-SECRETARIAT.key --members members.json"
)]
pub struct InitArgs {
    /// The coordinator's key file.
    #[arg(long, required_unless_present = "template")]
    pub key: Option<PathBuf>,
    /// JSON file: {"origin": ..., "coordinator": MEMBER, "members": [MEMBER...]}
    /// (schemas/genesis.schema.json); a member may give `key_file` (its .pub
    /// file, relative to this file) instead of `key`.
    #[arg(long, required_unless_present = "template")]
    pub members: Option<PathBuf>,
    /// Print a members file with every field to fill in, and create nothing.
    #[arg(long, conflicts_with_all = ["key", "members"])]
    pub template: bool,
}

/// Runs `init`.
pub async fn run(g: &Global, a: InitArgs) -> Result<()> {
    if a.template {
        if std::io::stderr().is_terminal() {
            eprintln!("{}", crate::members_file::TEMPLATE_GUIDE);
        }
        print!("{}", crate::members_file::template());
        return Ok(());
    }
    let (Some(key), Some(members)) = (&a.key, &a.members) else {
        bail!("init: --key and --members are required (or --template)");
    };
    let signer = signer(key)?;
    let genesis: Genesis = crate::members_file::load(members)?;
    if genesis.coordinator.key != signer.public_key()
        || genesis.coordinator.id.as_str() != signer.name()
    {
        bail!(
            "{}: the coordinator's id and key must be those of --key ({})",
            members.display(),
            signer.vkey()
        );
    }
    Body::Genesis(genesis.clone())
        .validate()
        .map_err(|e| anyhow!("{e}"))?;
    let log = if g.nats.enabled() {
        AnyLog::Nats(create_streams(&g.nats, &genesis.origin).await?)
    } else {
        AnyLog::Embedded(Store::open(&log_dir(&g.dir), OPEN_WAIT)?)
    };
    let len = log.len().await?;
    if len > 0 {
        let place = match &log {
            AnyLog::Nats(n) => format!("stream {}", n.name()),
            _ => g.dir.display().to_string(),
        };
        bail!("{place} already holds a ledger ({len} events); nothing written");
    }
    // The genesis is judged against the empty state like any event.
    let t = now(g.now.as_deref())?;
    let (origin, producer) = (genesis.origin.clone(), genesis.coordinator.id.clone());
    let state = State::new();
    let genesis = Body::Genesis(genesis);
    let (event, outcome) = step(
        &state,
        &origin,
        &producer,
        genesis,
        t,
        &signer,
        SignatureCheck::Verify,
    )?;
    if outcome != Outcome::Accepted {
        bail!("genesis rejected, nothing written: {outcome:?}");
    }
    let pos = log
        .append(&producer, None, &[event.bytes().to_vec()], t)
        .await?;
    crate::cmd::produce::print_event(g.json, &event, pos[0]);
    Ok(())
}
