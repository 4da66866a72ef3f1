//! `rko action`: the binary side of the GitHub Action. Masks every secret first, reads the
//! `INPUT_*` variables, defaults the repository to `ghcr.io/<owner/repo lower-cased>` with the
//! workflow token held in process, builds every import path (and resolves the `resolve`
//! files), then writes the step outputs, the job summary, annotations for `.ko.yaml` and Go
//! compile errors, and `oci://` lines for `GITHUB_ARTIFACTS`. `--post` is the post step.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;

use crate::ci::annotations::{self, Paths};
use crate::ci::github::{self, FileCommands};
use crate::ci::inputs::ActionInputs;
use crate::ci::{summary, vars};
use crate::cli::args::{Cli, Command};
use crate::cli::outputs::ci_images;
use crate::cli::printer::Printer;
use crate::cli::session::{Outcome, Session};
use crate::env::{self, Environment};

/// Variables that carry secrets besides the inputs.
const SECRET_VARIABLES: [&str; 3] = [vars::GITHUB_TOKEN, vars::ACTIONS_ID_TOKEN_REQUEST_TOKEN, "ACTIONS_RUNTIME_TOKEN"];

/// Whether an input's name says it holds a secret (`github-token`, `registry-password`, ...).
fn is_secret_input(variable: &str) -> bool {
    let name = variable.to_ascii_uppercase();
    ["TOKEN", "PASSWORD", "SECRET", "KEY"].iter().any(|word| name.contains(word))
}

/// `::add-mask::` for every secret in the environment, before anything else is printed.
fn mask_secrets(environment: &Environment, printer: Printer) {
    let mut masks = String::new();
    let mut masked: Vec<&str> = Vec::new();
    let inputs = environment
        .variables()
        .iter()
        .filter(|(name, _)| name.starts_with(vars::INPUT_PREFIX) && is_secret_input(name))
        .map(|(_, value)| value.as_str());
    let others = SECRET_VARIABLES.iter().filter_map(|name| environment.non_empty(name));
    for value in inputs.chain(others) {
        // Each line of a multi-line secret is masked on its own, as the runner needs.
        for line in value.lines().map(str::trim).filter(|line| !line.is_empty()) {
            if masked.contains(&line) {
                continue;
            }
            masked.push(line);
            if let Some(command) = github::add_mask(line) {
                masks.push_str(&command);
                masks.push('\n');
            }
        }
    }
    printer.log(&masks);
}

/// The `rko build` command line the inputs amount to.
fn build_arguments(inputs: &ActionInputs) -> Vec<String> {
    let mut arguments = vec!["rko".to_owned(), "build".to_owned()];
    for platform in &inputs.platforms {
        arguments.push(format!("--platform={platform}"));
    }
    for tag in &inputs.tags {
        arguments.push(format!("--tags={tag}"));
    }
    if let Some(rules) = &inputs.tag_rules {
        arguments.push(format!("--tag-rules={rules}"));
    }
    if let Some(base) = &inputs.base_image {
        arguments.push(format!("--base-image={base}"));
    }
    if !inputs.push {
        arguments.push("--push=false".to_owned());
    }
    if let Some(formats) = &inputs.sbom {
        let names: Vec<&str> = formats.iter().map(|format| format.name()).collect();
        let value = if names.is_empty() { "none".to_owned() } else { names.join(",") };
        arguments.push(format!("--sbom={value}"));
    }
    arguments.push("--".to_owned());
    arguments.extend(inputs.import_paths.iter().cloned());
    arguments
}

/// `rko action [--post]`.
pub async fn run(post: bool, environment: &Environment, printer: Printer) -> Result<()> {
    mask_secrets(environment, printer);
    if post {
        printer.note("the post step has nothing to do (no cache is saved yet)");
        return Ok(());
    }
    let inputs = ActionInputs::read(environment)?;
    if inputs.sign == Some(true) || inputs.provenance == Some(true) {
        printer.warning("signing is not wired yet: the `sign` and `provenance` inputs are ignored");
    }
    if let Some(directory) = &inputs.working_directory {
        std::env::set_current_dir(directory)
            .with_context(|| format!("cannot use the `working-directory` input `{directory}`"))?;
    }
    // The action's inputs become the environment rko reads (not its children's).
    let mut environment = environment.overlay(vars::GITHUB_ACTIONS, "true");
    if let Some(repo) = &inputs.repo {
        environment = environment.overlay(env::KO_DOCKER_REPO, repo);
    }
    if let Some(config) = &inputs.config {
        environment = environment.overlay(env::KO_CONFIG_PATH, config);
    }
    if let Some(token) = &inputs.github_token {
        environment = environment.overlay(vars::GITHUB_TOKEN, token.expose());
    }
    let paths = Paths {
        build_directory: std::env::current_dir().context("cannot read the working directory")?,
        workspace: environment.non_empty(vars::GITHUB_WORKSPACE).map(PathBuf::from),
    };
    let Command::Build(command) = Cli::try_parse_from(build_arguments(&inputs))
        .map_err(|error| anyhow!("the action's inputs are not a valid build: {}", error.to_string().trim()))?
        .command
    else {
        bail!("the action's inputs are not a build");
    };
    let session = match Session::open(&command.build, &command.publish, &environment, printer) {
        Ok(session) => session,
        Err(error) => {
            if let Some(annotation) =
                error.downcast_ref::<crate::config::ConfigError>().and_then(|e| annotations::config_error(e, &paths))
            {
                printer.log(&format!("{}\n", annotation.command()));
            }
            return Err(error);
        }
    };
    let import_paths = session.import_paths(&command.import_paths)?;
    let run = session.publish_all(&import_paths, &|_| String::new()).await;
    for outcome in &run.outcomes {
        if let Outcome::Failed { stage: "build", error, .. } = outcome {
            // The error quotes go's output indented by four spaces under its first line.
            let text = format!("{error:#}");
            let output: Vec<&str> = text.lines().map(|line| line.strip_prefix("    ").unwrap_or(line)).collect();
            for annotation in annotations::go_output(&output.join("\n"), &paths) {
                printer.log(&format!("{}\n", annotation.command()));
            }
        }
    }
    let resolved_yaml = if inputs.resolve.is_empty() || run.errors().next().is_some() {
        None
    } else {
        let mut arguments = build_arguments(&inputs);
        arguments[1] = "resolve".to_owned();
        arguments.truncate(arguments.len() - inputs.import_paths.len() - 1);
        for file in &inputs.resolve {
            arguments.push(format!("--filename={file}"));
        }
        let Command::Resolve(command) = Cli::try_parse_from(arguments)?.command else { bail!("not a resolve") };
        let files = crate::cli::commands::resolve::read_inputs(&command)?;
        Some(crate::cli::commands::resolve::resolve_inputs(&command, files, &session).await?)
    };
    let mut report = session.report(&run);
    crate::cli::outputs::Outputs::default().write(&mut report, printer)?;
    let images = ci_images(&report);
    let outputs = crate::ci::outputs::Outputs::new(&images, resolved_yaml);
    let files = FileCommands::from_variables(&environment);
    files.set_outputs(&outputs.github())?;
    if inputs.summary && !images.is_empty() {
        files.append_summary(&summary::render(&images))?;
    }
    if let Some(path) = environment.non_empty("GITHUB_ARTIFACTS") {
        let lines: String = images.iter().map(|image| format!("oci://{}\n", image.pinned())).collect();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to `{path}` (GITHUB_ARTIFACTS)"))?;
        file.write_all(lines.as_bytes()).with_context(|| format!("cannot append to `{path}` (GITHUB_ARTIFACTS)"))?;
    }
    let repository = environment.get(env::KO_DOCKER_REPO).unwrap_or_default().to_owned();
    let run = run.into_result(printer).inspect_err(|error| {
        let text = format!("{error:#}");
        let registry = crate::ci::detect::github_registry(environment.non_empty(vars::GITHUB_SERVER_URL));
        if repository.starts_with(&registry) && (text.contains("403") || text.contains("denied")) {
            printer.note(&format!(
                "{registry} refused the push: give the job `permissions: packages: write`, and if the package \
                 exists, add this repository under the package's \"Manage Actions access\" settings"
            ));
        }
    })?;
    for (_, published) in run.published() {
        printer.data(&published.reference);
    }
    Ok(())
}
