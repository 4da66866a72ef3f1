//! `rko resolve` (and `apply`/`create`): read every `-f` input in order, find the `ko://`
//! references, build each distinct import path once (all at once), and write the inputs back
//! with only those references replaced — comments, quoting, order and separators untouched.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::build::ImportPath;
use crate::cli::args::{ApplyCommand, ResolveCommand};
use crate::cli::commands::kubectl;
use crate::cli::outputs::Outputs;
use crate::cli::printer::Printer;
use crate::cli::session::Session;
use crate::env::Environment;
use crate::resolve::{Selector, scan};

/// One input: where it came from (for messages) and its text.
pub struct Input {
    name: String,
    text: String,
}

fn read_file(path: &Path) -> Result<Input> {
    let text = std::fs::read_to_string(path).map_err(|error| anyhow!("cannot read `{}`: {error}", path.display()))?;
    Ok(Input { name: path.display().to_string(), text })
}

/// The YAML and JSON files of a directory (`.yaml`, `.yml`, `.json`), sorted; `recursive`
/// descends into sub-directories.
fn directory_files(directory: &Path, recursive: bool, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(|error| anyhow!("cannot read directory `{}`: {error}", directory.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .map_err(|error| anyhow!("cannot read directory `{}`: {error}", directory.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if recursive {
                directory_files(&path, recursive, files)?;
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json")) {
            files.push(path);
        }
    }
    Ok(())
}

/// `-f http://…`: neither rko nor ko fetches URLs (kubectl does).
fn refuse_url(name: &str) -> Result<()> {
    let Some((scheme, _)) = name.split_once("://") else { return Ok(()) };
    if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        bail!(
            "-f `{name}` is a URL, and rko reads only files, directories and `-` (stdin): fetch it first, e.g. `curl -fsSL '{name}' | rko resolve -f -`"
        );
    }
    Ok(())
}

/// Every `-f` input, read before anything is built, so a bad one fails first.
pub fn read_inputs(command: &ResolveCommand) -> Result<Vec<Input>> {
    let working_directory = std::env::current_dir().context("cannot read the working directory")?;
    inputs(command, &working_directory)
}

fn inputs(command: &ResolveCommand, working_directory: &Path) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for name in &command.filenames {
        if name == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("cannot read YAML from stdin")?;
            if text.trim().is_empty() {
                bail!(
                    "-f -: stdin is empty, so there is nothing to resolve: pipe the YAML in (did the command before `|` fail?)"
                );
            }
            inputs.push(Input { name: "<stdin>".into(), text });
            continue;
        }
        let path = working_directory.join(name);
        if !path.exists() {
            refuse_url(name)?;
        }
        if path.is_dir() {
            let mut files = Vec::new();
            directory_files(&path, command.recursive, &mut files)?;
            if files.is_empty() {
                let has_directories = std::fs::read_dir(&path)
                    .map(|entries| entries.flatten().any(|entry| entry.path().is_dir()))
                    .unwrap_or(false);
                let hint =
                    if has_directories && !command.recursive { "; its sub-directories are read with -R" } else { "" };
                bail!("-f `{name}`: the directory holds no `.yaml`, `.yml` or `.json` files{hint}");
            }
            for file in files {
                inputs.push(read_file(&file)?);
            }
        } else {
            inputs.push(read_file(&path)?);
        }
    }
    Ok(inputs)
}

fn outputs(command: &ResolveCommand) -> Outputs {
    Outputs::from_flags(command.report.clone(), &command.publish)
}

/// Resolve the inputs into the rewritten text. The report and the other machine outputs are
/// written before any failure is returned.
pub async fn resolve_inputs(command: &ResolveCommand, inputs: Vec<Input>, session: &Session) -> Result<String> {
    let selector = match command.selector.trim() {
        "" => None,
        text => Some(Selector::parse(text).map_err(|error| anyhow!("invalid --selector: {error}"))?),
    };
    let mut scanned = Vec::new();
    for input in &inputs {
        let result = scan(&input.text, selector.as_ref()).map_err(|error| anyhow!("`{}`:{error}", input.name))?;
        scanned.push(result);
    }
    // Each distinct reference is qualified once; errors name the first place it appears.
    let mut import_paths: Vec<ImportPath> = Vec::new();
    let mut by_reference: BTreeMap<String, ImportPath> = BTreeMap::new();
    let mut origins: BTreeMap<ImportPath, String> = BTreeMap::new();
    for (input, scanned) in inputs.iter().zip(&scanned) {
        for reference in scanned.references() {
            if by_reference.contains_key(&reference.import_path) {
                continue;
            }
            let place =
                format!("`ko://{}` in `{}`:{}:{}", reference.import_path, input.name, reference.line, reference.column);
            let import_path = session.qualify(&reference.import_path).with_context(|| place.clone())?;
            // Two references (`./cmd/app`, `example.com/app/cmd/app`) may name one package.
            if let std::collections::btree_map::Entry::Vacant(vacant) = origins.entry(import_path.clone()) {
                vacant.insert(place);
                import_paths.push(import_path.clone());
            }
            by_reference.insert(reference.import_path.clone(), import_path);
        }
    }
    super::refuse_shared_names(session, &import_paths, &command.publish)?;
    let origin = |import_path: &ImportPath| origins.get(import_path).cloned().unwrap_or_default();
    let run = session.publish_all(&import_paths, &origin).await;
    let published: BTreeMap<&ImportPath, &str> =
        run.published().map(|(built, published)| (&built.import_path, published.reference.as_str())).collect();
    let replacement = |path: &str| by_reference.get(path).and_then(|ip| published.get(ip)).map(|r| (*r).to_owned());
    let mut output = String::new();
    for (index, scanned) in scanned.iter().enumerate() {
        let text = scanned.render(&replacement);
        if index > 0 && !text.is_empty() {
            if !output.is_empty() && !output.ends_with('\n') {
                output.push('\n');
            }
            output.push_str("---\n");
        }
        output.push_str(&text);
    }
    let mut report = session.report(&run);
    report.resolved =
        by_reference.keys().filter_map(|path| Some((format!("ko://{path}"), replacement(path)?))).collect();
    outputs(command).write(&mut report, session.printer())?;
    run.into_result(session.printer())?;
    Ok(output)
}

/// `rko resolve`: the rewritten YAML on stdout.
pub async fn resolve(command: ResolveCommand, environment: &Environment, printer: Printer) -> Result<()> {
    outputs(&command).check()?;
    let inputs = read_inputs(&command)?;
    let session = Session::open(&command.build, &command.publish, environment, printer)?;
    let output = resolve_inputs(&command, inputs, &session).await?;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(output.as_bytes()).context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")
}

/// `rko apply` / `rko create`: resolve, then stream the result into `kubectl <verb> -f -`.
pub async fn apply(command: ApplyCommand, verb: &str, environment: &Environment, printer: Printer) -> Result<()> {
    let kubectl = kubectl::find_kubectl(environment, verb)?;
    let resolve = &command.resolve;
    outputs(resolve).check()?;
    let inputs = read_inputs(resolve)?;
    let session = Session::open(&resolve.build, &resolve.publish, environment, printer)?;
    let output = resolve_inputs(resolve, inputs, &session).await?;
    kubectl::pipe_into(&kubectl, verb, &command.kubectl_arguments, output.as_bytes(), printer)
}
