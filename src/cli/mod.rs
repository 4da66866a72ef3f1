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
/// What `rko version` prints: the release tag, `v`-prefixed as ko prints its own (`v0.19.1`).
pub const VERSION_TAG: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// Run rko with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => without_trailing_tip(error, std::env::args().skip(1)).exit(),
    };
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
            Command::Delete { arguments } => commands::kubectl::delete(&arguments, &environment, printer),
            Command::Run(command) => commands::kubectl::run(*command, &environment, printer).await,
            Command::Action { post } => commands::action::run(post, &environment, printer).await,
            Command::Index(command) => commands::index::run(command, &environment, printer).await,
            Command::Login(command) => commands::login::run(command, &environment, printer).await,
            Command::Sign(command) => commands::sign::run(*command, &environment, printer).await,
            Command::Verify(command) => commands::verify::run(*command, &environment, printer).await,
            Command::Version => {
                printer.data(VERSION_TAG);
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

/// clap answers an unknown flag with "to pass '-q' as a value, use '-- -q'", which would make
/// `-q` an import path (or a kubectl argument): point at the command's `--help` instead.
fn without_trailing_tip(mut error: clap::Error, arguments: impl Iterator<Item = String>) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return error;
    }
    let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg).cloned() else { return error };
    let root = Cli::command();
    let mut name = vec!["rko".to_owned()];
    let mut command = &root;
    let mut after_double_dash = false;
    for argument in arguments.take_while(|argument| *argument != flag) {
        if argument == "--" {
            after_double_dash = true;
        } else if let Some(sub) = command.find_subcommand(&argument).filter(|_| !after_double_dash) {
            name.push(sub.get_name().to_owned());
            command = sub;
        }
    }
    let name = name.join(" ");
    let ours = if after_double_dash {
        let hint = if name == "rko resolve" { " (kubectl arguments go to `rko apply` and `rko create`)" } else { "" };
        format!("`{name}` takes no arguments after `--`{hint}")
    } else {
        format!("`{flag}` is not a flag of `{name}`: `{name} --help` lists them")
    };
    let mut tips: Vec<clap::builder::StyledStr> = match error.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => {
            tips.iter().filter(|tip| !tip.to_string().contains("as a value, use")).cloned().collect()
        }
        _ => Vec::new(),
    };
    if error.get(ContextKind::SuggestedArg).is_none() {
        tips.push(ours.into());
    }
    error.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for(arguments: &[&str]) -> String {
        let error = Cli::try_parse_from(arguments).expect_err("unknown flag");
        without_trailing_tip(error, arguments[1..].iter().map(|a| (*a).to_owned())).to_string()
    }

    #[test]
    fn unknown_flags_point_at_help_not_at_double_dash() {
        let message = error_for(&["rko", "build", "-q", "."]);
        assert!(!message.contains("-- -q"), "{message}");
        assert!(message.contains("`-q` is not a flag of `rko build`: `rko build --help` lists them"), "{message}");
        let message = error_for(&["rko", "resolve", "-f", "x.yaml", "--quiet"]);
        assert!(message.contains("`rko resolve --help`") && !message.contains("-- --quiet"), "{message}");
        let message = error_for(&["rko", "-q", "version"]);
        assert!(message.contains("`-q` is not a flag of `rko`: `rko --help`"), "{message}");
        let message = error_for(&["rko", "resolve", "-f", "x.yaml", "--", "--dry-run"]);
        assert!(
            message.contains("`rko resolve` takes no arguments after `--` (kubectl arguments go to `rko apply`"),
            "{message}"
        );
        // clap's own "a similar argument exists" tip stays.
        let message = error_for(&["rko", "build", "--pussh"]);
        assert!(message.contains("--push") && !message.contains("is not a flag"), "{message}");
    }
}
