//! `tallinn export FORMAT`: the ledger's state in the formats other
//! systems read.

pub mod iati;

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;

use crate::backend::NatsArgs;

/// `export`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// An IATI 2.03 activity file (`iati-activities`): one activity per
    /// commitment, one per offer not yet committed (see schemas/IATI.md).
    #[command(
        after_help = "Examples:\n  tallinn export iati --out tallinn.xml\n  tallinn export iati --member EE-MFA --as-of 2025-06-30 --org-ref EE-MFA=XM-DAC-82"
    )]
    Iati(iati::IatiArgs),
}

/// Runs an export.
pub async fn run(nats: &NatsArgs, dir: &Path, now: Option<&str>, c: ExportCommand) -> Result<()> {
    match c {
        ExportCommand::Iati(a) => iati::export(nats, dir, now, a).await,
    }
}
