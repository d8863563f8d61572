//! `tallinn`: the command-line edge of the ledger. Parses arguments, calls the
//! ledger and projector libraries, prints results. No business logic lives here.

mod args;
mod bench;
mod context;
mod demo;
mod flags;
mod nats;
#[allow(clippy::type_complexity, clippy::write_literal)]
mod produce;
mod project;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut cli = args::Cli::parse();
    if let Some(d) = cli.global.dir_flag.clone() {
        cli.global.dir = d;
    }
    init_tracing(cli.global.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        // The NATS client logs connection failures itself; the error line says it.
        0 => "warn,async_nats=off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(produce::dispatch(cli))
}
