//! `rko build` (alias `publish`): qualify every import path, build them all at once, publish
//! each as it is ready, and print the references in argument order. The report (`--json`,
//! `--report`, `--image-refs`) is written even when an import path failed.

use anyhow::Result;

use crate::cli::args::BuildCommand;
use crate::cli::outputs::Outputs;
use crate::cli::printer::Printer;
use crate::cli::session::Session;
use crate::env::Environment;

pub async fn run(command: BuildCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let outputs = Outputs::from_flags(command.report.clone(), &command.publish);
    outputs.check()?;
    if command.skaffold {
        return crate::cli::skaffold::run(command, environment, printer).await;
    }
    let session = Session::open(&command.build, &command.publish, environment, printer)?;
    let references = if command.import_paths.is_empty() { vec![".".to_owned()] } else { command.import_paths.clone() };
    let import_paths = session.import_paths(&references)?;
    super::refuse_shared_names(&session, &import_paths, &command.publish)?;
    let run = session.publish_all(&import_paths, &|_| String::new()).await;
    let mut report = session.report(&run);
    outputs.write(&mut report, printer)?;
    if command.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    }
    let run = run.into_result(printer)?;
    if !command.json {
        for (_, published) in run.published() {
            printer.data(&published.reference);
        }
    }
    Ok(())
}
