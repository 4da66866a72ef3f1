//! `rko build` (alias `publish`): qualify every import path, build them all at once, publish
//! each as it is ready, and print the references in argument order.

use anyhow::Result;

use crate::cli::args::BuildCommand;
use crate::cli::printer::Printer;
use crate::cli::session::{Session, write_report};
use crate::env::Environment;

pub async fn run(command: BuildCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let session = Session::open(&command.build, &command.publish, environment, printer)?;
    let references = if command.import_paths.is_empty() { vec![".".to_owned()] } else { command.import_paths.clone() };
    let import_paths = session.import_paths(&references)?;
    let outcomes = session.publish_all(&import_paths, &|_| String::new()).await?;
    let report = session.report(&outcomes);
    write_report(&report, command.report.as_deref())?;
    if command.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        for (_, published) in &outcomes {
            printer.data(&published.reference);
        }
    }
    Ok(())
}
