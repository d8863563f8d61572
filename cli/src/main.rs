//! `tallinn`: the command-line edge of the ledger. Parses arguments, calls the
//! ledger and projector libraries, prints results. No business logic lives here.

mod backend;
mod cmd;
mod context;
mod flags;
mod members_file;
mod outfile;
mod producer;
mod progress;
mod render;

use std::process::ExitCode;

/// mimalloc: see cli/Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process: mimalloc asks for them
/// on its arenas, and each 2 MiB page is faulted in (and zeroed) whole, which
/// doubled the resident memory of short commands (`status`: 111 MB against
/// 61 MB without, measured at 1M events) for no measured gain.
fn no_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    no_huge_pages();
    let matches = match cmd::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let mut cli = match <cmd::Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    if let Some((option, command)) = cmd::nats_option_offline(&matches) {
        let message = format!("{option}: `{command}` works offline and takes no NATS options");
        report_error(cli.global.json, 2, "usage", &message);
        return ExitCode::from(2);
    }
    if let Some(d) = cli.global.dir_flag.clone() {
        cli.global.dir = d;
    }
    if let Err(e) = cli.global.nats.apply_nats_environment() {
        report_error(cli.global.json, 2, "usage", &one_line(&e));
        return ExitCode::from(2);
    }
    init_tracing(cli.global.verbose, cli.global.log_format);
    quiet_on_broken_pipe();
    let json = cli.global.json;
    match run(cli) {
        Ok(()) => {
            // For the benchmarks that run commands as children, and tests.
            cmd::bench::pipeline::report_peak_memory();
            if std::env::var_os("TALLINN_STATS").is_some() {
                eprintln!("stats entries-read {}", backend::entries_read());
                eprintln!("stats rows-scanned {}", projector::rows::records_scanned());
                let (n, before, after) = projector::store::compactions();
                eprintln!("stats compactions {n} last-before {before} last-after {after}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let (code, kind) = exit_code(&err);
            let message = match err.downcast_ref::<Exit>() {
                Some(exit) => exit.message.clone(),
                None => one_line(&err),
            };
            report_error(json, code, kind, &message);
            ExitCode::from(code)
        }
    }
}

/// Exit code 5: temporarily unavailable (another process holds the
/// embedded ledger, or the JetStream cluster is electing a leader): retry.
pub const EXIT_UNAVAILABLE: u8 = 5;

/// The documented exit code of an error, with its kind (for `--json`).
fn exit_code(err: &anyhow::Error) -> (u8, &'static str) {
    use ledger::log::LogError;
    if let Some(exit) = err.downcast_ref::<Exit>() {
        return (
            exit.code,
            if exit.code == cmd::audit::EXIT_EVIDENCE_BROKEN {
                "audit_failed"
            } else {
                "refused"
            },
        );
    }
    for cause in err.chain() {
        if cause.downcast_ref::<producer::Refused>().is_some() {
            return (cmd::audit::EXIT_REFUSED, "refused");
        }
        let busy = match cause.downcast_ref::<LogError>() {
            Some(LogError::Locked(_) | LogError::Unavailable(_)) => true,
            _ => {
                matches!(
                    cause.downcast_ref::<projector::store::StoreError>(),
                    Some(projector::store::StoreError::Locked(_))
                ) || matches!(
                    cause.downcast_ref::<tallinn_nats::NatsError>(),
                    Some(
                        tallinn_nats::NatsError::Unavailable(_)
                            | tallinn_nats::NatsError::NotAnswering(_)
                    )
                )
            }
        };
        if busy {
            return (EXIT_UNAVAILABLE, "unavailable");
        }
    }
    (1, "error")
}

/// Prints an error: one line `error: ...`, or under `--json` one JSON object
/// (`{"error": ..., "kind": ..., "exit": ...}`) on stderr.
fn report_error(json: bool, code: u8, kind: &str, message: &str) {
    if json {
        let v = serde_json::json!({"error": message, "kind": kind, "exit": code});
        eprintln!("{v}");
    } else {
        eprintln!("error: {message}");
    }
}

/// Help and version go out as clap prints them; a usage error becomes one line
/// (`error: ...`, with the possible values or missing arguments), exit code 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let text = e.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")
        })
        .collect();
    let line = parts.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    let json = std::env::args().skip(1).any(|a| a == "--json");
    report_error(json, 2, "usage", &format!("{line} (see --help)"));
    ExitCode::from(2)
}

/// An error with its own documented exit code (other errors exit 1, usage 2).
#[derive(Debug)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// The one-line message.
    pub message: String,
}

impl Exit {
    /// An error that exits with `code`.
    pub fn new(code: u8, message: String) -> Exit {
        Exit { code, message }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// A reader that goes away (`tallinn report ... | head -1`) ends the command
/// quietly with exit 0: `println!` panics on a closed stdout, and this hook
/// turns exactly that panic into a clean exit; any other panic is reported
/// as before.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std") && text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The error and its causes on one line, each cause once: an error whose own
/// text already includes its cause (`path: No such file...`) does not get the
/// cause printed a second time.
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.replace('\n', " ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8, format: cmd::LogFormat) {
    let default = match verbose {
        // The NATS client logs connection failures itself; the error line says it.
        // sled reports a damaged database in many lines of its own; the
        // error line says it once.
        0 => "warn,async_nats=off,sled=off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        cmd::LogFormat::Text => fmt.init(),
        cmd::LogFormat::Json => fmt.json().init(),
    }
}

fn run(cli: cmd::Cli) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(cmd::dispatch(cli))
}
