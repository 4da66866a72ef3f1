//! One run of the build-and-publish machinery, shared by `build`, `resolve`, `apply`,
//! `create` and `run`: settings resolved once, the builder and publishers wired once, and every
//! import path built and published at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use futures::future::try_join_all;

use super::args::{BuildFlags, PublishFlags};
use super::printer::Printer;
use super::settings::{self, BuildSettings};
use super::wiring::{self, Publishing};
use crate::build::cache::Cache;
use crate::build::{Builder, Built, ImportPath, package};
use crate::config;
use crate::env::{self, Environment};
use crate::publish::Published;
use crate::registry::shared::SharedClient;
use crate::report::{ImageReport, PushReport, Report, Resources};

pub struct Session {
    pub working_directory: PathBuf,
    pub build_settings: BuildSettings,
    builder: Arc<dyn Builder>,
    publishing: Publishing,
    cache: Cache,
    printer: Printer,
}

/// What one import path became.
pub type Outcome = (Arc<Built>, Published);

impl Session {
    /// Load `.ko.yaml`, resolve the settings and wire the builder and publishers.
    pub fn open(
        build: &BuildFlags,
        publish: &PublishFlags,
        environment: &Environment,
        printer: Printer,
    ) -> Result<Session> {
        let working_directory = std::env::current_dir().context("cannot read the working directory")?;
        let config_path = environment.non_empty(env::KO_CONFIG_PATH).map(Path::new);
        let config = config::load(&working_directory, config_path)?;
        for warning in &config.warnings {
            printer.warning(warning);
        }
        let (build_settings, warnings) = settings::build_settings(build, &config, environment, &working_directory)?;
        let (publish_settings, more) = settings::publish_settings(publish, environment, build_settings.jobs)?;
        for warning in warnings.iter().chain(&more) {
            printer.warning(warning);
        }
        let cache = Cache::open(&build_settings.cache_directory)?;
        let registries =
            Arc::new(SharedClient::new(wiring::client_options(environment, publish_settings.insecure_registry)?));
        let builder = wiring::make_builder(&build_settings, environment, &cache, registries.clone(), printer);
        let publishing =
            wiring::make_publisher(&publish_settings, &build_settings.platforms, &cache, &registries, environment)?;
        Ok(Session { working_directory, build_settings, builder, publishing, cache, printer })
    }

    /// Qualify references (expanding `...` patterns) into distinct import paths, in order.
    pub fn import_paths(&self, references: &[String]) -> Result<Vec<ImportPath>> {
        let mut import_paths: Vec<ImportPath> = Vec::new();
        for reference in references {
            let expanded = if reference.ends_with("...") {
                package::expand_pattern(&self.working_directory, reference, &self.build_settings.go)?
            } else {
                vec![reference.clone()]
            };
            for reference in expanded {
                let import_path = self.builder.qualify(&reference)?;
                if !import_paths.contains(&import_path) {
                    import_paths.push(import_path);
                }
            }
        }
        Ok(import_paths)
    }

    /// Qualify one reference.
    pub fn qualify(&self, reference: &str) -> Result<ImportPath> {
        Ok(self.builder.qualify(reference)?)
    }

    /// Build and publish every import path at once; the first failure stops the rest.
    /// `origin` adds where an import path came from to its errors.
    pub async fn publish_all(
        &self,
        import_paths: &[ImportPath],
        origin: &(dyn Fn(&ImportPath) -> String + Sync),
    ) -> Result<Vec<Outcome>> {
        let (builder, publisher, printer) = (&self.builder, &self.publishing.publisher, self.printer);
        for import_path in import_paths {
            publisher.prepare(import_path);
        }
        let outcomes = try_join_all(import_paths.iter().map(|import_path| async move {
            let (built, published, elapsed) = async {
                let built = builder.build(import_path).await?;
                if printer.verbose() {
                    for platform in &built.platforms {
                        printer.status("Built", &describe_build(import_path, platform));
                    }
                }
                let started = std::time::Instant::now();
                let published = publisher.publish(&built).await?;
                Ok::<_, anyhow::Error>((built, published, started.elapsed()))
            }
            .await
            .map_err(|error| match origin(import_path) {
                place if place.is_empty() => error,
                place => error.context(place),
            })?;
            for note in &published.notes {
                printer.note(note);
            }
            let mut line = published.reference.clone();
            if printer.verbose() {
                line.push_str(&format!(" (in {:.2} s)", elapsed.as_secs_f64()));
            }
            printer.status("Published", &line);
            Ok::<_, anyhow::Error>((built, published))
        }))
        .await?;
        publisher.close().await?;
        if printer.verbose()
            && let Some(stats) = &self.publishing.push_stats
        {
            let push = PushReport::from(stats.as_ref());
            printer.status(
                "Uploaded",
                &format!(
                    "{} blobs ({:.1} MB), {} already in the registry, {} mounted, {} referrers",
                    push.uploaded,
                    push.uploaded_bytes as f64 / 1e6,
                    push.existing,
                    push.mounted,
                    push.referrers
                ),
            );
        }
        self.cache.collect_garbage();
        Ok(outcomes)
    }

    /// The report of a run.
    pub fn report(&self, outcomes: &[Outcome]) -> Report {
        Report {
            images: outcomes.iter().map(|(built, published)| ImageReport::new(built, published)).collect(),
            push: self.publishing.push_stats.as_ref().map(|stats| PushReport::from(stats.as_ref())),
            resolved: Default::default(),
            resources: Resources::now(),
        }
    }
}

/// Write the report to `--report FILE`, if asked.
pub fn write_report(report: &Report, path: Option<&Path>) -> Result<()> {
    if let Some(path) = path {
        let bytes = serde_json::to_vec_pretty(report)?;
        std::fs::write(path, bytes).with_context(|| format!("cannot write the report to `{}`", path.display()))?;
    }
    Ok(())
}

/// `example.com/app for linux/amd64 in 0.31 s (linked, layers written)`, for `-v`.
fn describe_build(import_path: &ImportPath, platform: &crate::build::PlatformBuild) -> String {
    let seconds = platform.finished.duration_since(platform.started).unwrap_or_default().as_secs_f64();
    format!(
        "{import_path} for {} in {seconds:.2} s ({}, {})",
        platform.platform,
        if platform.relinked { "linked" } else { "binary up to date" },
        if platform.layers_cached { "layers from the cache" } else { "layers written" },
    )
}
