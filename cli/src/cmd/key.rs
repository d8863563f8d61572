//! `tallinn key new|show`: signing keys.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ledger::keys::Signer;
use serde_json::json;

use crate::context::signer;

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a new Ed25519 key: FILE (mode 0600) and FILE.pub (the verifier key).
    New {
        /// Key name: the member id it signs for, e.g. EE-MFA.
        #[arg(long)]
        name: String,
        /// Where to write the secret key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the verifier key of a key file.
    Show {
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
    },
}

/// Runs a key command.
pub fn run(json: bool, cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::New { name, out } => new(json, &name, &out),
        KeyCommand::Show { key } => show(json, &key),
    }
}

fn new(json: bool, name: &str, out: &std::path::Path) -> Result<()> {
    let signer = Signer::generate(name)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    ledger::keyfile::write(out, &signer)?;
    if json {
        println!(
            "{}",
            json!({"vkey": signer.vkey(), "key_file": out, "vkey_file": ledger::keyfile::pub_path(out)})
        );
    } else {
        println!("{}", signer.vkey());
    }
    Ok(())
}

fn show(json: bool, key: &std::path::Path) -> Result<()> {
    let s = signer(key)?;
    if json {
        println!("{}", json!({"member": s.name(), "vkey": s.vkey()}));
    } else {
        println!("{}", s.vkey());
    }
    Ok(())
}
