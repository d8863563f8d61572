//! Command-line arguments (clap). Only parsing and validation of shapes here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Signed, event-sourced coordination ledger of the Tallinn Mechanism.
#[derive(Debug, Parser)]
#[command(name = "tallinn", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Ledger directory [default: ./tallinn-data; `demo`: a new temporary directory].
    #[arg(long = "dir", global = true, env = "TALLINN_DIR", value_name = "DIR")]
    pub dir_flag: Option<PathBuf>,
    /// The ledger directory (resolved: `--dir`, `TALLINN_DIR` or `./tallinn-data`).
    #[arg(skip = PathBuf::from("./tallinn-data"))]
    pub dir: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Producer commands and `publish`: sign and check everything against the
    /// ledger's rules, print what would be stored, append nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Use this time instead of the system clock (RFC 3339), e.g. for replaying a script.
    #[arg(long, global = true, env = "TALLINN_NOW", hide = true)]
    pub now: Option<String>,
    /// NATS JetStream connection (`--nats URL` and the `nats` CLI's options).
    #[command(flatten)]
    pub nats: crate::nats::NatsArgs,
}

impl Global {
    /// Whether the user chose the directory (flag or environment).
    pub fn dir_given(&self) -> bool {
        self.dir_flag.is_some()
    }
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage signing keys.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn key new --name EE-MFA --out keys/EE-MFA.key\n  tallinn key show --key keys/EE-MFA.key"
    )]
    Key(KeyCommand),
    /// Create a ledger: sign its genesis from a members file.
    Init(InitArgs),
    /// Admit members and manage their keys (coordinator).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn member list\n  tallinn member admit --key coord.key --id IT-MAECI --name \"Italian MFA\" --kind ministry \\\n      --country IT --role donor --vkey it.key.pub"
    )]
    Member(MemberCommand),
    /// State a need (recipient institution).
    #[command(
        after_help = "Examples:\n  tallinn need --key ua.key --id N-1 --category hardware --description \"200 laptops\" \\\n      --quantity 200 --unit laptops --value 180000 --priority high --needed-by 2027-03-01\n  tallinn --dry-run need ...   # check only, append nothing"
    )]
    Need(NeedArgs),
    /// Make an offer (donor).
    #[command(
        after_help = "Examples:\n  tallinn offer --key ee.key --id O-1 --category hardware --modality goods --description laptops \\\n      --quantity 150 --unit laptops --value 120000 --answers UA-SSSCIP/N-1"
    )]
    Offer(OfferArgs),
    /// Make a commitment (donor).
    #[command(
        after_help = "Examples:\n  tallinn commit --key ee.key --id C-1 --offer O-1 --needs UA-SSSCIP/N-1 --recipient UA-SSSCIP \\\n      --category hardware --description laptops --quantity 100 --unit laptops --value 80000 \\\n      --tranche 2027-01-15:50:40000 --tranche 2027-02-15:50:40000"
    )]
    Commit(CommitArgs),
    /// Record a delivery on one of your commitments (donor).
    #[command(
        after_help = "Examples:\n  tallinn deliver --key ee.key --id D-1 --commitment C-1 --quantity 50 --value 40000 --date 2026-11-27"
    )]
    Deliver(DeliverArgs),
    /// Acknowledge receipt of a delivery (the commitment's recipient).
    #[command(
        after_help = "Examples:\n  tallinn receipt --key ua.key --id R-1 --delivery EE-MFA/D-1 --quantity-accepted 48 \\\n      --date 2026-11-30 --discrepancy \"2 units damaged in transit\""
    )]
    Receipt(ReceiptArgs),
    /// Amend an item: the real world changed.
    Amend(ChangeArgs),
    /// Correct an item: the record was wrong.
    Correct(ChangeArgs),
    /// Cancel a need, an offer, or a commitment (whole or remaining balance).
    Cancel(CancelArgs),
    /// Validate and append a file of JSON bodies, one per line, all or nothing.
    #[command(
        after_help = "Examples:\n  tallinn publish --key ee.key offers.jsonl            # all or nothing; a rerun resumes\n  tallinn --dry-run publish --key ee.key offers.jsonl"
    )]
    Publish(PublishArgs),
    /// List the events in the log.
    #[command(
        after_help = "Examples:\n  tallinn log --member EE-MFA --limit 20\n  tallinn --json log --from 100"
    )]
    Log(LogArgs),
    /// Build and follow the read models.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn projector run                                # follow; Ctrl-C or SIGTERM stops\n  tallinn projector catch-up\n  tallinn projector rebuild"
    )]
    Projector(ProjectorCommand),
    /// Print the SHA-256 digest of the read models (compare projectors in one line).
    #[command(
        after_help = "Examples:\n  tallinn digest                                       # equal on every honest projector"
    )]
    Digest,
    /// Log size, projector position and lag, chain heads.
    #[command(after_help = "Examples:\n  tallinn status\n  tallinn --json status")]
    Status,
    /// Print a report view: donors, categories, recipients, months, needs,
    /// commitments, overdue, pipeline, changes, integrity.
    #[command(
        after_help = "Examples:\n  tallinn report donors\n  tallinn report donors --as-of 2026-06-30 --format csv > donors.csv\n  tallinn --json report overdue"
    )]
    Report(ReportArgs),
    /// Play a deterministic year of coordination into a fresh ledger, project it, report.
    #[command(
        after_help = "Examples:\n  tallinn demo --seed 7\n  tallinn demo --events 100000 --dir ./big"
    )]
    Demo(DemoArgs),
    /// Benchmarks (figures, not tests).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn bench producer --events 100000\n  tallinn bench projection --events 100000"
    )]
    Bench(BenchCommand),
    /// Signed checkpoints of the log (C2SP) and witness cosignatures.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn checkpoint sign --key coord.key\n  tallinn checkpoint cosign --key ee.key\n  tallinn checkpoint verify --threshold 1"
    )]
    Checkpoint(crate::checkpoint::CheckpointCommand),
    /// Audit: export a bundle, verify it or the live ledger, prove inclusion,
    /// equivocation proofs, mirror a JetStream stream.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn audit export --out bundle.json\n  tallinn audit verify bundle.json\n  tallinn --nats nats://host:4222 --dir ./copy audit mirror\n  tallinn --dir ./restored audit restore bundle.json   # a lost log back from a bundle"
    )]
    Audit(crate::audit::AuditCommand),
    /// Deployment: the nats-server access control for a ledger (admin,
    /// coordinator, members), and the streams' creation by the administrator.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn deploy nats-config --members members.json > deploy/nats-access-control.conf\n  tallinn --nats URL --user ledger-admin deploy create-streams --origin ORIGIN"
    )]
    Deploy(crate::deploy::DeployCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: `tallinn completions bash > /etc/bash_completion.d/tallinn`
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Projector commands.
#[derive(Debug, Subcommand)]
pub enum ProjectorCommand {
    /// Fold the log from the last saved position to its end, then exit.
    CatchUp(ProjectorArgs),
    /// Catch up, then follow new events until interrupted (Ctrl-C).
    Run(ProjectorArgs),
    /// Forget the read models and rebuild them from position 1.
    Rebuild(ProjectorArgs),
}

/// Projector options.
#[derive(Debug, Args)]
pub struct ProjectorArgs {
    /// Save a snapshot after at least N events (and at least a quarter of the position).
    #[arg(long, default_value_t = 50_000)]
    pub save_every: u64,
    /// Signed checkpoints issued while projecting.
    #[command(flatten)]
    pub checkpoints: crate::checkpoint::IssueArgs,
}

/// `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The view.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(projector::views::View::ALL.map(|v| v.name())))]
    pub view: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::render::Format,
    /// The state as it was at the end of this date (YYYY-MM-DD), rebuilt from the log.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Days after delivery before a missing receipt is overdue.
    #[arg(long, default_value_t = 30)]
    pub receipt_days: i32,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed: the same seed gives the same keys, events, ids and digest.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Play at least this many events (the scripted year, then volume cycles).
    #[arg(long, default_value_t = 0)]
    pub events: u64,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Projection catch-up throughput vs the raw ed25519 batch-verify rate.
    Projection {
        /// Events in the demo ledger to project.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// Audit verify throughput (export + verify of a demo ledger) vs raw batch verification.
    Audit {
        /// Events in the demo ledger to audit.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// End-to-end: sign, append (JetStream with --nats), project; vs raw sign+verify.
    Pipeline {
        /// Events to sign, publish and project.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
    },
    /// One producer command (`need`), `member list` and `status` on a large
    /// embedded ledger, as child processes: wall time and peak memory, beside a
    /// command that replays the whole log.
    Producer {
        /// Events in the demo ledger.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        /// Runs of each command (medians are printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

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

/// The signer of a producer command.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// Your key file (its name is your member id).
    #[arg(long, env = "TALLINN_KEY")]
    pub key: PathBuf,
}

/// Member commands.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Admit a member (coordinator).
    Admit(AdmitArgs),
    /// Give a member a new key (the member itself, or the coordinator).
    RotateKey {
        /// Signer.
        #[command(flatten)]
        key: KeyArg,
        /// Whose key (default: the signer).
        #[arg(long)]
        member: Option<String>,
        /// The new verifier key, or a file holding it (e.g. NEW.key.pub).
        #[arg(long)]
        new_vkey: String,
    },
    /// Revoke a member's current key (the member itself, or the coordinator).
    RevokeKey {
        /// Signer.
        #[command(flatten)]
        key: KeyArg,
        /// Whose key (default: the signer).
        #[arg(long)]
        member: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Suspend a member (coordinator).
    Suspend {
        /// Signer.
        #[command(flatten)]
        key: KeyArg,
        /// Who.
        #[arg(long)]
        member: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// List members, their roles and keys.
    List,
}

/// `member admit`.
#[derive(Debug, Args)]
pub struct AdmitArgs {
    /// Signer (the coordinator).
    #[command(flatten)]
    pub key: KeyArg,
    /// Member id, e.g. EE-MFA or GB-GOV-1.
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// ministry, agency, company, ngo, recipient_institution, secretariat.
    #[arg(long)]
    pub kind: String,
    /// ISO 3166-1 alpha-2 country.
    #[arg(long)]
    pub country: String,
    /// Roles (repeat or comma-separate): donor, recipient, coordinator, auditor.
    #[arg(long = "role", value_delimiter = ',', required = true)]
    pub roles: Vec<String>,
    /// The member's verifier key, or a file holding it.
    #[arg(long)]
    pub vkey: String,
}

/// A money amount on the command line.
#[derive(Debug, Args, Clone)]
pub struct MoneyArgs {
    /// Amount in major units with up to the currency's decimals, e.g. 125000.50.
    #[arg(long)]
    pub value: String,
    /// ISO 4217 currency.
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    /// EUR equivalent in euros (required unless the currency is EUR).
    #[arg(long)]
    pub eur: Option<String>,
}

/// `need`.
#[derive(Debug, Args)]
pub struct NeedArgs {
    /// Signer (a recipient institution).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new need (prefixed with your member id), e.g. N-2024-001.
    #[arg(long)]
    pub id: String,
    /// The institution in need (default: the signer).
    #[arg(long)]
    pub recipient: Option<String>,
    /// Category code (schemas/CATEGORIES.md), e.g. hardware.
    #[arg(long)]
    pub category: String,
    /// OECD DAC 5-digit sector code.
    #[arg(long)]
    pub dac: Option<u32>,
    /// What is needed.
    #[arg(long)]
    pub description: String,
    /// How many.
    #[arg(long)]
    pub quantity: u64,
    /// Of what unit.
    #[arg(long)]
    pub unit: String,
    /// Estimated value.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// critical, high, medium or low.
    #[arg(long, default_value = "medium")]
    pub priority: String,
    /// Date needed by (YYYY-MM-DD).
    #[arg(long)]
    pub needed_by: Option<String>,
}

/// `offer`.
#[derive(Debug, Args)]
pub struct OfferArgs {
    /// Signer (a donor).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new offer, e.g. O-2024-001.
    #[arg(long)]
    pub id: String,
    /// Category code.
    #[arg(long)]
    pub category: String,
    /// OECD DAC 5-digit sector code.
    #[arg(long)]
    pub dac: Option<u32>,
    /// financial, goods, services or training.
    #[arg(long)]
    pub modality: String,
    /// What is offered.
    #[arg(long)]
    pub description: String,
    /// How many.
    #[arg(long)]
    pub quantity: u64,
    /// Of what unit.
    #[arg(long)]
    pub unit: String,
    /// Indicative value.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// Last day the offer stands (YYYY-MM-DD).
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Needs it answers (full item ids, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub answers: Vec<String>,
    /// Company or NGO the offer is made for: NAME.
    #[arg(long)]
    pub on_behalf_of: Option<String>,
    /// Kind of that contributor (company, ngo, agency).
    #[arg(long, default_value = "company")]
    pub contributor_kind: String,
    /// Country of that contributor.
    #[arg(long)]
    pub contributor_country: Option<String>,
}

/// `commit`.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Signer (a donor).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new commitment, e.g. C-2024-001.
    #[arg(long)]
    pub id: String,
    /// Your offer it fulfils (full id or local ref).
    #[arg(long)]
    pub offer: Option<String>,
    /// Needs it covers (full item ids, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub needs: Vec<String>,
    /// Recipient institution.
    #[arg(long)]
    pub recipient: String,
    /// Category code.
    #[arg(long)]
    pub category: String,
    /// What is committed.
    #[arg(long)]
    pub description: String,
    /// How many.
    #[arg(long)]
    pub quantity: u64,
    /// Of what unit.
    #[arg(long)]
    pub unit: String,
    /// Value.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// Tranche DATE:QUANTITY:VALUE (repeat), e.g. 2024-06-30:50:25000.00.
    #[arg(long = "tranche")]
    pub tranches: Vec<String>,
}

/// `deliver`.
#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Signer (the donor).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new delivery, e.g. D-2024-001.
    #[arg(long)]
    pub id: String,
    /// Your commitment (full id or local ref).
    #[arg(long)]
    pub commitment: String,
    /// Quantity delivered.
    #[arg(long)]
    pub quantity: u64,
    /// Value delivered.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// Delivery date (YYYY-MM-DD).
    #[arg(long)]
    pub date: String,
    /// Evidence: a file to hash, or a SHA-256 in hex.
    #[arg(long)]
    pub evidence: Option<String>,
}

/// `receipt`.
#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// Signer (the recipient).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new receipt, e.g. R-2024-001.
    #[arg(long)]
    pub id: String,
    /// The delivery (full item id).
    #[arg(long)]
    pub delivery: String,
    /// Quantity accepted.
    #[arg(long)]
    pub quantity_accepted: u64,
    /// Date received (YYYY-MM-DD).
    #[arg(long)]
    pub date: String,
    /// What differed (required when less is accepted than delivered).
    #[arg(long)]
    pub discrepancy: Option<String>,
}

/// `amend` and `correct`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Signer (the item's owner).
    #[command(flatten)]
    pub key: KeyArg,
    /// The item (full id or local ref).
    #[arg(long)]
    pub target: String,
    /// New quantity.
    #[arg(long)]
    pub quantity: Option<u64>,
    /// New value in major units.
    #[arg(long)]
    pub value: Option<String>,
    /// Currency of the new value.
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    /// EUR equivalent of the new value.
    #[arg(long)]
    pub eur: Option<String>,
    /// New date (needed_by, valid_until, delivered_on or received_on).
    #[arg(long)]
    pub date: Option<String>,
    /// New priority.
    #[arg(long)]
    pub priority: Option<String>,
    /// New tranches DATE:QUANTITY:VALUE (repeat).
    #[arg(long = "tranche")]
    pub tranches: Vec<String>,
    /// New description (or discrepancy note of a receipt).
    #[arg(long)]
    pub description: Option<String>,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

/// `cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Signer (the item's owner).
    #[command(flatten)]
    pub key: KeyArg,
    /// The item (full id or local ref).
    #[arg(long)]
    pub target: String,
    /// whole or remaining_balance.
    #[arg(long, default_value = "whole")]
    pub scope: String,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

/// `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Signer.
    #[command(flatten)]
    pub key: KeyArg,
    /// JSON Lines file: one body per line, e.g. {"need_stated": {...}}.
    pub file: PathBuf,
}

/// `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this member's events.
    #[arg(long)]
    pub member: Option<String>,
    /// First position.
    #[arg(long, default_value_t = 1)]
    pub from: u64,
    /// At most this many events.
    #[arg(long)]
    pub limit: Option<usize>,
}
