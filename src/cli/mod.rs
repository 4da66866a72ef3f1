//! The command line: parse arguments, resolve settings, wire the seams, run, print. The only
//! module that prints, reads the environment (through [`crate::env`]) or uses `anyhow`.

pub mod args;
pub mod ci;
pub mod commands;
pub mod outputs;
pub mod printer;
pub mod session;
pub mod settings;
pub mod skaffold;
pub mod wiring;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::env::{self, Environment};
use args::{Cli, Command};
use printer::Printer;

/// Resolves on SIGINT or SIGTERM (never, if the handlers cannot be installed).
async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// Run rko with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let environment = Environment::capture();
    let printer = Printer::new(environment.get(env::NO_COLOR).is_some(), cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            printer.error(&format!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        match cli.command {
            Command::Build(command) => commands::build::run(*command, &environment, printer).await,
            Command::Resolve(command) => commands::resolve::resolve(*command, &environment, printer).await,
            Command::Apply(command) => commands::resolve::apply(*command, "apply", &environment, printer).await,
            Command::Create(command) => commands::resolve::apply(*command, "create", &environment, printer).await,
            Command::Delete { arguments } => commands::kubectl::delete(&arguments, &environment),
            Command::Run(command) => commands::kubectl::run(*command, &environment, printer).await,
            Command::Action { post } => commands::action::run(post, &environment, printer).await,
            Command::Index(command) => commands::index::run(command, &environment, printer).await,
            Command::Login(command) => commands::login::run(command, &environment, printer).await,
            Command::Sign(command) => commands::sign::run(*command, &environment, printer).await,
            Command::Verify(command) => commands::verify::run(*command, &environment, printer).await,
            Command::Version => {
                printer.data(env!("CARGO_PKG_VERSION"));
                Ok(())
            }
            Command::Completion { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "rko", &mut std::io::stdout());
                Ok(())
            }
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = run => Some(result),
            () = interrupted() => None,
        }
    });
    let Some(result) = result else {
        // Blocking work may still be writing: remove what it wrote and exit without waiting.
        crate::cache::remove_temporary_files();
        printer.error("interrupted; partial files were removed");
        runtime.shutdown_background();
        return ExitCode::from(130);
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            printer.error(&format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}
