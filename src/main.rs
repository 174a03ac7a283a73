//! `tenure`: the workstation license manager. With a subcommand it is a CLI; without one it
//! opens the desktop window. `main` chooses the front-end and maps the outcome to an exit code.

use std::process::ExitCode;
use tenure::cli::{self, FrontEnd};

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TENURE_LOG")
                .unwrap_or_else(|_| args.log_filter().into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let outcome = args.front_end().and_then(|front_end| match front_end {
        FrontEnd::Window { demo, server, db } => tenure::gui::run(demo, server, db),
        FrontEnd::Command(command) => cli::run(*command),
    });
    match outcome {
        Ok(code) => code,
        Err(e) if cli::is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: {}",
                tenure::advice::explain_any(&e, tenure::advice::Front::Cli)
            );
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
