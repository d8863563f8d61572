//! The commands, one module each (a command group's modules in a directory),
//! each holding its arguments and its handler; `dispatch` only routes. The
//! log is chosen once, below the commands (`crate::backend`).

pub mod audit;
pub mod bench;
pub mod checkpoint;
pub mod demo;
pub mod deploy;
pub mod export;
pub mod init;
pub mod key;
pub mod log;
pub mod member;
pub mod produce;
pub mod projector;
pub mod publish;
pub mod report;
pub mod serve;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::context::now;

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
    /// Log format on stderr: text, or json (one object per line, for log collectors).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "TALLINN_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    /// Use this time instead of the system clock (RFC 3339), e.g. for replaying a script.
    #[arg(long, global = true, env = "TALLINN_NOW", hide = true)]
    pub now: Option<String>,
    /// Reports: the date overdue and ageing are judged against (YYYY-MM-DD)
    /// [default: the `--as-of` date, else today's date from the clock].
    #[arg(long, global = true, env = "TALLINN_TODAY", value_name = "DATE")]
    pub today: Option<String>,
    /// NATS JetStream connection (`--nats URL` and the `nats` CLI's options).
    #[command(flatten)]
    pub nats: crate::backend::NatsArgs,
}

/// The format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
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
    Key(key::KeyCommand),
    /// Create a ledger: sign its genesis from a members file.
    Init(init::InitArgs),
    /// Admit members and manage their keys (coordinator).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn member list\n  tallinn member admit --key coord.key --id IT-MAECI --name \"Italian MFA\" --kind ministry \\\n      --country IT --role donor --vkey it.key.pub"
    )]
    Member(member::MemberCommand),
    /// State a need (recipient institution).
    #[command(
        after_help = "Examples:\n  tallinn need --key ua.key --id N-1 --category hardware --description \"200 laptops\" \\\n      --quantity 200 --unit laptops --value 180000 --priority high --needed-by 2027-03-01\n  tallinn --dry-run need ...   # check only, append nothing"
    )]
    Need(produce::NeedArgs),
    /// Make an offer (donor).
    #[command(
        after_help = "Examples:\n  tallinn offer --key ee.key --id O-1 --category hardware --modality goods --description laptops \\\n      --quantity 150 --unit laptops --value 120000 --answers UA-SSSCIP/N-1"
    )]
    Offer(produce::OfferArgs),
    /// Make a commitment (donor).
    #[command(
        after_help = "Examples:\n  tallinn commit --key ee.key --id C-1 --offer O-1 --needs UA-SSSCIP/N-1 --recipient UA-SSSCIP \\\n      --category hardware --description laptops --quantity 100 --unit laptops --value 80000 \\\n      --tranche 2027-01-15:50:40000 --tranche 2027-02-15:50:40000"
    )]
    Commit(produce::CommitArgs),
    /// Record a delivery on one of your commitments (donor).
    #[command(
        after_help = "Examples:\n  tallinn deliver --key ee.key --id D-1 --commitment C-1 --quantity 50 --value 40000 --date 2026-11-27"
    )]
    Deliver(produce::DeliverArgs),
    /// Acknowledge receipt of a delivery (the commitment's recipient).
    #[command(
        after_help = "Examples:\n  tallinn receipt --key ua.key --id R-1 --delivery EE-MFA/D-1 --quantity-accepted 48 \\\n      --date 2026-11-30 --discrepancy \"2 units damaged in transit\""
    )]
    Receipt(produce::ReceiptArgs),
    /// Amend an item: the real world changed.
    Amend(produce::ChangeArgs),
    /// Correct an item: the record was wrong.
    Correct(produce::ChangeArgs),
    /// Cancel a need, an offer, or a commitment (whole or remaining balance).
    Cancel(produce::CancelArgs),
    /// Validate and append a file of JSON bodies, one per line, all or nothing.
    #[command(
        after_help = "Examples:\n  tallinn publish --key ee.key offers.jsonl            # all or nothing; a rerun resumes\n  tallinn --dry-run publish --key ee.key offers.jsonl"
    )]
    Publish(publish::PublishArgs),
    /// List the events in the log.
    #[command(
        after_help = "Examples:\n  tallinn log --member EE-MFA --limit 20\n  tallinn --json log --from 100"
    )]
    Log(log::LogArgs),
    /// Build and follow the read models.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn projector run                                # follow; Ctrl-C or SIGTERM stops\n  tallinn projector catch-up\n  tallinn projector rebuild"
    )]
    Projector(projector::ProjectorCommand),
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
    Report(report::ReportArgs),
    /// Export the ledger's state for other systems (IATI 2.03).
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Run a live node: follow the log, serve the read API, metrics and the
    /// dashboard over HTTP.
    #[command(
        after_help = "Examples:\n  tallinn serve                                        # http://127.0.0.1:8080/\n  tallinn serve --listen 0.0.0.0:8080 --token-file token.txt\n  tallinn --nats nats://host:4222 --origin ORIGIN serve\n  curl -s localhost:8080/api/v1/reports/donors"
    )]
    Serve(serve::ServeArgs),
    /// Play a deterministic year of coordination into a fresh ledger, project it, report.
    #[command(
        after_help = "Examples:\n  tallinn demo --seed 7\n  tallinn demo --events 100000 --dir ./big"
    )]
    Demo(demo::DemoArgs),
    /// Benchmarks (figures, not tests).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn bench producer --events 100000\n  tallinn bench projection --events 100000"
    )]
    Bench(bench::BenchCommand),
    /// Signed checkpoints of the log (C2SP) and witness cosignatures.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn checkpoint sign --key coord.key\n  tallinn checkpoint cosign --key ee.key\n  tallinn checkpoint verify --threshold 1"
    )]
    Checkpoint(checkpoint::CheckpointCommand),
    /// Audit: export a bundle, verify it or the live ledger, prove inclusion,
    /// equivocation proofs, mirror a JetStream stream.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn audit export --out bundle.json\n  tallinn audit verify bundle.json\n  tallinn --nats nats://host:4222 --dir ./copy audit mirror\n  tallinn --dir ./restored audit restore bundle.json   # a lost log back from a bundle"
    )]
    Audit(audit::AuditCommand),
    /// Deployment: the nats-server access control for a ledger (admin,
    /// coordinator, members), and the streams' creation by the administrator.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  tallinn deploy nats-config --members members.json > deploy/nats-access-control.conf\n  tallinn --nats URL --user ledger-admin deploy create-streams --origin ORIGIN"
    )]
    Deploy(deploy::DeployCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: `tallinn completions bash > /etc/bash_completion.d/tallinn`
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Commands (by path) that never talk to NATS: the NATS options, global so
/// that they parse anywhere, are hidden from their help.
const OFFLINE: &[&[&str]] = &[
    &["key"],
    &["completions"],
    &["bench", "projection"],
    &["bench", "audit"],
    &["audit", "check-proof"],
    &["audit", "check-equivocation"],
    &["audit", "restore"],
    &["deploy", "nats-config"],
];

/// The NATS options (as [`crate::backend::NatsArgs`] defines them).
fn nats_options() -> Vec<clap::Arg> {
    crate::backend::NatsArgs::augment_args(clap::Command::new("nats"))
        .get_arguments()
        .cloned()
        .collect()
}

/// Whether the command at `path` (names from the top) is in [`OFFLINE`].
fn is_offline(path: &[String]) -> bool {
    OFFLINE
        .iter()
        .any(|p| p.len() <= path.len() && p.iter().zip(path).all(|(a, b)| a == b))
}

/// The command line: the derived [`Cli`], built, with the NATS options hidden
/// from the help of the commands in [`OFFLINE`].
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let ids: Vec<clap::Id> = nats_options().iter().map(|a| a.get_id().clone()).collect();
    let mut c = Cli::command();
    c.build();
    hide_nats(c, &ids, &[])
}

fn hide_nats(c: clap::Command, ids: &[clap::Id], path: &[String]) -> clap::Command {
    let c = if is_offline(path) {
        c.mut_args(|a| {
            if ids.contains(a.get_id()) {
                a.hide(true)
            } else {
                a
            }
        })
    } else {
        c
    };
    c.mut_subcommands(|sc| {
        let mut p = path.to_vec();
        p.push(sc.get_name().to_string());
        hide_nats(sc, ids, &p)
    })
}

/// The NATS option given on the command line to a command in [`OFFLINE`]
/// (which would ignore it), as `(option, command)`; options set in the
/// environment (`TALLINN_NATS_URL`, `NATS_URL`, ...) do no harm and pass.
pub fn nats_option_offline(m: &clap::ArgMatches) -> Option<(String, String)> {
    let mut path = Vec::new();
    let mut leaf = m;
    while let Some((name, sub)) = leaf.subcommand() {
        path.push(name.to_string());
        leaf = sub;
    }
    if !is_offline(&path) {
        return None;
    }
    nats_options().into_iter().find_map(|a| {
        let given =
            leaf.value_source(a.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine);
        given.then(|| {
            let name = a
                .get_long()
                .map_or_else(|| a.get_id().to_string(), |l| format!("--{l}"));
            (name, format!("tallinn {}", path.join(" ")))
        })
    })
}

/// Runs one command.
pub async fn dispatch(cli: Cli) -> Result<()> {
    let g = &cli.global;
    let (dir, json, nats) = (g.dir.as_path(), g.json, &g.nats);
    crate::progress::set_quiet(json);
    if let Some(v) = std::env::var_os("TALLINN_COMPACT_MIN") {
        let v = v.to_string_lossy();
        let bytes = v
            .parse()
            .map_err(|_| anyhow::anyhow!("TALLINN_COMPACT_MIN: {v:?} is not a number of bytes"))?;
        ::projector::store::set_default_compact_min(bytes);
    }
    crate::context::set_report_clock(g.today.as_deref(), g.now.as_deref())?;
    match cli.command {
        Command::Key(c) => key::run(json, c),
        Command::Init(a) => init::run(g, a).await,
        Command::Member(c) => member::run(g, c).await,
        Command::Need(a) => produce::need(g, a).await,
        Command::Offer(a) => produce::offer(g, a).await,
        Command::Commit(a) => produce::commit(g, a).await,
        Command::Deliver(a) => produce::deliver(g, a).await,
        Command::Receipt(a) => produce::receipt(g, a).await,
        Command::Amend(a) => produce::amend(g, a).await,
        Command::Correct(a) => produce::correct(g, a).await,
        Command::Cancel(a) => produce::cancel(g, a).await,
        Command::Publish(a) => {
            publish::publish(nats, dir, json, g.dry_run, now(g.now.as_deref())?, a).await
        }
        Command::Log(a) => log::log(nats, dir, json, a).await,
        Command::Projector(c) => projector::projector(nats, dir, c, g.now.as_deref()).await,
        Command::Digest => report::digest(nats, dir, json).await,
        Command::Status => report::status(nats, dir, json).await,
        Command::Report(mut a) => {
            // `--json` asks for JSON wherever it is given.
            if json {
                a.format = crate::render::Format::Json;
            }
            report::report(nats, dir, a, now(g.now.as_deref())?).await
        }
        Command::Serve(a) => serve::serve(nats, dir, a, g.now.as_deref()).await,
        Command::Export(c) => export::run(nats, dir, g.now.as_deref(), c).await,
        Command::Demo(a) => demo::run(g, a).await,
        Command::Bench(c) => bench::run(nats, c).await,
        Command::Checkpoint(c) => {
            checkpoint::run(nats, dir, json, now(g.now.as_deref())?.0, c).await
        }
        Command::Audit(c) => audit::run(nats, dir, json, c).await,
        Command::Deploy(c) => deploy::run(nats, dir, c).await,
        Command::Completions { shell } => {
            let mut cmd = command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tallinn", &mut script);
            std::io::stdout().write_all(&script)?;
            Ok(())
        }
    }
}
