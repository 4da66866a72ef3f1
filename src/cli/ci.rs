//! The CI front end's wiring: which CI runs rko, its zero-config registry (`KO_DOCKER_REPO`
//! from `CI_REGISTRY_IMAGE` on GitLab, `ghcr.io/<owner/repo>` on GitHub Actions) and the job's
//! registry login (held in process, never written or printed), tags from `--tag-rules`, and
//! the per-image log groups (GitLab's collapsible sections, GitHub's `::group::`).

use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use super::args::PublishFlags;
use super::printer::Printer;
use crate::ci::detect::{self, CiSystem};
use crate::ci::git_context::GitContext;
use crate::ci::tag_rules::TagRules;
use crate::ci::{github, vars};
use crate::env::{self, Environment};
use crate::registry::auth::Credential;
use crate::report::Report;

/// What the CI adds to a run.
pub struct CiSetup {
    pub system: CiSystem,
    /// The environment with the CI's defaults (`KO_DOCKER_REPO`) filled in.
    pub environment: Environment,
    /// The job's registry login: `(host[:port], credential)`.
    pub credentials: Vec<(String, Credential)>,
}

/// The CI's zero-config defaults: `KO_DOCKER_REPO` when unset (said in a note), and the job's
/// registry credentials. The GitHub token is `GITHUB_TOKEN` (the action puts its input there).
pub fn zero_config(environment: &Environment, printer: Printer) -> CiSetup {
    let system = detect::detect(environment);
    let mut setup = CiSetup { system, environment: environment.clone(), credentials: Vec::new() };
    let Some(defaults) = detect::registry_defaults(system, environment, None) else { return setup };
    if environment.non_empty(env::KO_DOCKER_REPO).is_none() {
        printer.note(&format!(
            "KO_DOCKER_REPO is unset; on {} pushing to `{}` (from {})",
            system.name(),
            defaults.repository,
            defaults.source
        ));
        setup.environment = environment.overlay(env::KO_DOCKER_REPO, &defaults.repository);
    }
    if let Some(login) = defaults.credentials {
        let credential =
            Credential::Basic { username: login.username.clone(), password: login.password.expose().to_owned() };
        setup.credentials.push((login.registry, credential));
    }
    setup
}

/// The rules text of `--tag-rules` (or `RKO_TAG_RULES`): the text itself, or `@FILE`.
fn tag_rules_text(flags: &PublishFlags, environment: &Environment) -> Result<Option<(String, String)>> {
    let (value, origin) = match (&flags.tag_rules, environment.non_empty(env::RKO_TAG_RULES)) {
        (Some(value), _) => (value.clone(), "--tag-rules"),
        (None, Some(value)) => (value.to_owned(), env::RKO_TAG_RULES),
        (None, None) => return Ok(None),
    };
    match value.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the tag rules file `{path}` ({origin})"))?;
            Ok(Some((text, format!("`{path}`"))))
        }
        None => Ok(Some((value, origin.to_owned()))),
    }
}

/// The publish flags with `--tag-rules` evaluated into tags for this CI's ref (GitHub's or
/// GitLab's variables; outside CI only rules that need no ref give tags).
pub fn evaluate_tag_rules(flags: &PublishFlags, setup: &CiSetup, printer: Printer) -> Result<Option<PublishFlags>> {
    let Some((text, origin)) = tag_rules_text(flags, &setup.environment)? else { return Ok(None) };
    if !flags.tags.is_empty() {
        bail!("--tags and {origin} were both given: pass one (tag rules replace the -t tags)");
    }
    let rules = TagRules::parse(&text).with_context(|| format!("invalid tag rules in {origin}"))?;
    let now = SystemTime::now();
    let environment = &setup.environment;
    let context = match setup.system {
        CiSystem::GithubActions => {
            let payload =
                match environment.non_empty(vars::GITHUB_EVENT_PATH) {
                    Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                        format!("cannot read the GitHub event payload `{path}` (GITHUB_EVENT_PATH)")
                    })?),
                    None => None,
                };
            GitContext::from_github(environment, payload.as_deref(), now)?
        }
        CiSystem::Gitlab => GitContext::from_gitlab(environment, now),
        _ => GitContext::empty(now),
    };
    let tags = rules.evaluate(&context).with_context(|| format!("cannot apply the tag rules in {origin}"))?;
    for warning in &tags.warnings {
        printer.warning(warning);
    }
    if tags.tags.is_empty() {
        bail!("the tag rules in {origin} give no tag for this run; add a rule that always applies (e.g. `type=sha`)");
    }
    printer.note(&format!("tags from {origin}: {}", tags.tags.join(", ")));
    let mut flags = flags.clone();
    flags.tags = tags.tags;
    flags.tag_rules = None;
    Ok(Some(flags))
}

/// The line opening a collapsed log group named `name` (GitLab) titled `title`.
fn open_group(system: CiSystem, time: u64, name: &str, title: &str) -> String {
    match system {
        CiSystem::Gitlab => format!("\x1b[0Ksection_start:{time}:{name}[collapsed=true]\r\x1b[0K{title}"),
        _ => github::group(title),
    }
}

/// The line closing the group `name`.
fn close_group(system: CiSystem, time: u64, name: &str) -> String {
    match system {
        CiSystem::Gitlab => format!("\x1b[0Ksection_end:{time}:{name}\r\x1b[0K"),
        _ => github::end_group().to_owned(),
    }
}

/// One collapsed log group per image, after the run: its reference, tags, platforms and SBOMs.
pub fn log_groups(system: CiSystem, report: &Report, printer: Printer) {
    if !matches!(system, CiSystem::GithubActions | CiSystem::Gitlab) {
        return;
    }
    let time = SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut text = String::new();
    for (index, image) in report.images.iter().enumerate() {
        let name = format!("rko_image_{index}");
        text.push_str(&open_group(system, time, &name, &format!("{} {}", image.import_path, image.reference)));
        text.push('\n');
        for tag in &image.tags {
            text.push_str(&format!("  tag {tag}\n"));
        }
        for platform in &image.platforms {
            text.push_str(&format!("  {} {}\n", platform.platform, platform.digest));
        }
        for sbom in &image.sboms {
            text.push_str(&format!("  sbom {} {}\n", sbom.format, sbom.digest));
        }
        text.push_str(&close_group(system, time, &name));
        text.push('\n');
    }
    printer.log(&text);
}
