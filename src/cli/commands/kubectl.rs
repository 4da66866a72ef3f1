//! The `kubectl` side of the Kubernetes commands: finding kubectl (one clear error when it is
//! missing), `delete` as a pure passthrough, and `run`: build an import path, then
//! `kubectl run <name> --image <ref> --attach --rm --restart=Never`, as ko does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cli::args::RunCommand;
use crate::cli::outputs::Outputs;
use crate::cli::printer::Printer;
use crate::cli::session::Session;
use crate::env::Environment;

/// `kubectl` on `PATH`.
pub fn find_kubectl(environment: &Environment, command: &str) -> Result<PathBuf> {
    let path = environment.get(crate::env::PATH).unwrap_or("");
    for directory in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(directory).join("kubectl");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "`rko {command}` needs kubectl, and it is not on PATH: install kubectl (https://kubernetes.io/docs/tasks/tools/)"
    )
}

/// kubectl's flags whose values are secrets.
const SECRET_FLAGS: &[&str] = &["--token", "--password"];

/// `kubectl ARGS` as a shell would take it, for the log, with secret flag values masked.
fn describe(arguments: &[String]) -> String {
    let mut words = vec!["kubectl".to_owned()];
    let mut hide_next = false;
    for argument in arguments {
        let word = if std::mem::take(&mut hide_next) {
            "***".to_owned()
        } else if let Some((flag, _)) = argument.split_once('=').filter(|(flag, _)| SECRET_FLAGS.contains(flag)) {
            format!("{flag}=***")
        } else {
            hide_next = SECRET_FLAGS.contains(&argument.as_str());
            shell_quote(argument)
        };
        words.push(word);
    }
    words.join(" ")
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Run kubectl to completion with inherited stdio; fail on a non-zero exit.
fn run_kubectl(kubectl: &Path, arguments: &[String], printer: Printer) -> Result<()> {
    printer.status("Running", &describe(arguments));
    let status = Command::new(kubectl)
        .args(arguments)
        .status()
        .with_context(|| format!("cannot run `{}`", kubectl.display()))?;
    if !status.success() {
        bail!("`kubectl {}` failed ({status})", arguments.first().map_or("", String::as_str));
    }
    Ok(())
}

/// `rko delete …` = `kubectl delete …`.
pub fn delete(arguments: &[String], environment: &Environment, printer: Printer) -> Result<()> {
    let kubectl = find_kubectl(environment, "delete")?;
    let mut all = vec!["delete".to_owned()];
    all.extend(arguments.iter().cloned());
    run_kubectl(&kubectl, &all, printer)
}

/// Stream `input` into `kubectl <verb> -f - <arguments>`.
pub fn pipe_into(kubectl: &Path, verb: &str, arguments: &[String], input: &[u8], printer: Printer) -> Result<()> {
    let mut all = vec![verb.to_owned(), "-f".to_owned(), "-".to_owned()];
    all.extend(arguments.iter().cloned());
    printer.status("Running", &describe(&all));
    let mut child = Command::new(kubectl)
        .args(&all)
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{}`", kubectl.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, input).context("kubectl stopped reading its input")?;
    }
    let status = child.wait().context("kubectl did not finish")?;
    if !status.success() {
        bail!("`kubectl {verb}` failed ({status})");
    }
    Ok(())
}

/// The pod `rko run` starts: named after the image's repository (`hello-<md5>` with ko's
/// default naming), as a DNS label (lowercase alphanumerics and `-`, at most 63, no `-` at
/// either end).
fn pod_name(image_name: &str) -> String {
    let repository = image_name.rsplit('/').next().unwrap_or_default();
    let label: String = repository
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .take(63)
        .collect();
    match label.trim_matches('-') {
        "" => "rko-app".to_owned(),
        name => name.to_owned(),
    }
}

/// `rko run IMPORTPATH [-- kubectl args]`.
pub async fn run(command: RunCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let kubectl = find_kubectl(environment, "run")?;
    let outputs = Outputs::from_flags(None, &command.publish);
    outputs.check()?;
    let session = Session::open(&command.build, &command.publish, environment, printer)?;
    let import_path = session.qualify(&command.import_path)?;
    let run = session.publish_all(std::slice::from_ref(&import_path), &|_| String::new()).await;
    outputs.write(&mut session.report(&run), printer)?;
    let run = run.into_result(printer)?;
    let Some((_, published)) = run.published().next() else { anyhow::bail!("`{import_path}` was not published") };
    let mut arguments = vec![
        "run".to_owned(),
        pod_name(&published.name),
        "--image".to_owned(),
        published.reference.clone(),
        "--attach".to_owned(),
        "--rm".to_owned(),
        "--restart=Never".to_owned(),
        "--log-flush-frequency=1s".to_owned(),
    ];
    arguments.extend(command.kubectl_arguments);
    run_kubectl(&kubectl, &arguments, printer)
}

#[cfg(test)]
mod tests {
    use super::{describe, pod_name};

    #[test]
    fn logged_commands_hide_secrets() {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            describe(&words(&["run", "x", "--token", "s3cret", "--password=hunter2", "--labels=a=b", "it's"])),
            "kubectl run x --token *** --password=*** --labels=a=b 'it'\\''s'"
        );
    }

    #[test]
    fn pods_are_named_with_a_dns_label() {
        assert_eq!(
            pod_name("ghcr.io/acme/hello-124ec4359fcc3b362d8aa16b0f28dd36"),
            "hello-124ec4359fcc3b362d8aa16b0f28dd36"
        );
        assert_eq!(pod_name("ko.local/My_App"), "my-app");
        let long = format!("r/{}_{}", "a".repeat(62), "b".repeat(10));
        assert_eq!(pod_name(&long), "a".repeat(62));
        assert_eq!(pod_name("r/__"), "rko-app");
    }
}
