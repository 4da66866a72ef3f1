//! `rko index create REPO:TAG [-t TAG]... REF@DIGEST...`: scale-out's merge step. Reads the
//! per-platform images that `rko build --push-by-digest` runs pushed (one per runner), lays
//! them out on their base as one multi-platform build would ([`crate::publish::merge`]), and
//! publishes the index through the registry publisher's phases — content by digest (blobs are
//! found or mounted, never copied through rko), the index SBOM, then the tags, last. Every
//! check runs before anything is pushed, so bad input tags nothing. Prints `REPO@sha256:…`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use anyhow::{Result, bail};
use clap::{ArgAction, Args, Subcommand};
use futures::future::try_join_all;

use crate::build::{Built, PlatformBuild};
use crate::cache::Cache;
use crate::cli::outputs::Outputs;
use crate::cli::printer::Printer;
use crate::cli::settings;
use crate::cli::wiring;
use crate::env::Environment;
use crate::image::Artifact;
use crate::publish::Publisher;
use crate::publish::merge;
use crate::publish::registry::RegistryPublisher;
use crate::registry::pusher::PushStats;
use crate::registry::reference::valid_tag;
use crate::registry::shared::SharedClient;
use crate::report::{ImageReport, PushReport, Report};

#[derive(Debug, Args)]
pub struct IndexCommand {
    #[command(subcommand)]
    pub command: IndexSubcommand,
}

#[derive(Debug, Subcommand)]
pub enum IndexSubcommand {
    /// Merge per-platform images pushed by digest into one index, tagged last
    Create(IndexCreateCommand),
}

#[derive(Debug, Args)]
pub struct IndexCreateCommand {
    /// The index to publish, `REPO:TAG`
    pub target: String,
    /// One image per platform, `REPO@sha256:…` (as `rko build --push-by-digest` printed them)
    #[arg(required = true)]
    pub images: Vec<String>,
    /// More tags for the index (repeatable, comma-separated)
    #[arg(short, long, value_delimiter = ',', action = ArgAction::Append)]
    pub tags: Vec<String>,
    /// SBOM format to attach to the index: `spdx`, `cyclonedx`, `spdx,cyclonedx` or `none`
    #[arg(long, default_value = "spdx")]
    pub sbom: String,
    /// Allow plain HTTP and unverified TLS for registries
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub insecure_registry: bool,
    /// Maximum number of concurrent uploads (default: number of CPUs)
    #[arg(short, long, default_value_t = 0)]
    pub jobs: usize,
    /// Print the run's report as JSON on stdout instead of the reference
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub json: bool,
    /// Also write the run's report as JSON into this file
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the published references into this file, one per line
    #[arg(long)]
    pub image_refs: Option<PathBuf>,
}

pub async fn run(command: IndexCommand, environment: &Environment, printer: Printer) -> Result<()> {
    match command.command {
        IndexSubcommand::Create(command) => create(command, environment, printer).await,
    }
}

/// The target's tag first, then `-t`'s, each once and valid.
fn tags(target_tag: Option<String>, extra: &[String]) -> Result<Vec<String>> {
    let mut tags: Vec<String> = Vec::new();
    for tag in target_tag.iter().chain(extra) {
        if !valid_tag(tag) {
            bail!("invalid tag `{tag}`: tags are 1–128 of `A-Za-z0-9_.-` and cannot start with `.` or `-`");
        }
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    Ok(tags)
}

async fn create(command: IndexCreateCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let (repository, target_tag) = merge::target(&command.target).map_err(anyhow::Error::msg)?;
    let tags = tags(target_tag, &command.tags)?;
    let formats = crate::sbom::parse_formats(&command.sbom)?;
    let cache = Cache::open(&settings::cache_directory(environment), crate::cache::DEFAULT_MAX_SIZE)?;
    let registries = Arc::new(SharedClient::new(wiring::client_options(environment, command.insecure_registry)?));
    let client = registries.client().await?;
    let children = try_join_all(command.images.iter().map(|reference| merge::fetch(&client, reference))).await?;
    let (import_path, index) =
        merge::assemble(&children, cache.blobs().to_owned(), Some(Arc::new(registries.clone()))).await?;
    let index = Arc::new(index);
    let platforms = index
        .children()
        .iter()
        .map(|image| PlatformBuild {
            platform: image.platform(),
            image: image.digest().clone(),
            binary: PathBuf::new(),
            app_path: image.config().config.entrypoint.first().cloned().unwrap_or_default(),
            build_info: Err("built by another run".to_owned()),
            relinked: false,
            layers_cached: false,
            started: UNIX_EPOCH,
            finished: UNIX_EPOCH,
        })
        .collect();
    let built = Built {
        import_path: import_path.clone(),
        attachments: crate::sbom::index_attachments(&formats, &index),
        artifact: Artifact::Index(index.clone()),
        platforms,
    };
    let jobs =
        if command.jobs == 0 { std::thread::available_parallelism().map_or(4, usize::from) } else { command.jobs };
    let stats = Arc::new(PushStats::default());
    let name = repository.to_string();
    let publisher = RegistryPublisher::new(
        registries.clone(),
        jobs,
        stats.clone(),
        {
            let name = name.clone();
            Box::new(move |_: &crate::build::ImportPath| name.clone())
        },
        tags,
        false,
    );
    let mut published = publisher.publish(&built, &name).await?;
    published.reference = format!("{name}@{}", index.digest());
    printer
        .status("Published", &format!("{} ({import_path}, {} platforms)", published.reference, built.platforms.len()));
    let mut report = Report::new(vec![ImageReport::new(&built, &published)], Vec::new());
    report.push = Some(PushReport::from(stats.as_ref()));
    let outputs = Outputs { report: command.report.clone(), image_refs: command.image_refs.clone(), dotenv: None };
    outputs.write(&mut report, printer)?;
    if command.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        printer.data(&published.reference);
    }
    Ok(())
}
