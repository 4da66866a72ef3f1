//! One run of the build-and-publish machinery, shared by `build`, `resolve`, `apply`,
//! `create` and `run`: settings resolved once, the builder and publishers wired once, and every
//! import path built and published at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use futures::future::join_all;

use super::args::{BuildFlags, PublishFlags};
use super::printer::Printer;
use super::settings::{self, BuildSettings};
use super::wiring::{self, Publishing};
use crate::build::{Builder, Built, ImportPath, package};
use crate::cache::Cache;
use crate::config;
use crate::env::{self, Environment};
use crate::publish::Published;
use crate::registry::shared::SharedClient;
use crate::report::{FailureReport, ImageReport, PushReport, Report};

pub struct Session {
    pub working_directory: PathBuf,
    pub build_settings: BuildSettings,
    builder: Arc<dyn Builder>,
    publishing: Publishing,
    cache: Cache,
    printer: Printer,
    /// The CI rko runs under, for its log groups.
    pub ci_system: crate::ci::detect::CiSystem,
}

/// What one import path became.
pub enum Outcome {
    Published { built: Arc<Built>, published: Published },
    Failed { import_path: ImportPath, stage: &'static str, error: anyhow::Error },
}

/// Every import path's outcome, in the order asked, and what closing the outputs did.
pub struct Run {
    pub outcomes: Vec<Outcome>,
    /// An output written at the end (a tarball) that failed.
    pub close_error: Option<anyhow::Error>,
}

impl Run {
    /// The published ones, in order.
    pub fn published(&self) -> impl Iterator<Item = (&Arc<Built>, &Published)> {
        self.outcomes.iter().filter_map(|outcome| match outcome {
            Outcome::Published { built, published } => Some((built, published)),
            Outcome::Failed { .. } => None,
        })
    }

    /// The run's errors, each as printed: the first is what the command fails with.
    pub fn errors(&self) -> impl Iterator<Item = &anyhow::Error> {
        let failures = self.outcomes.iter().filter_map(|outcome| match outcome {
            Outcome::Failed { error, .. } => Some(error),
            Outcome::Published { .. } => None,
        });
        failures.chain(&self.close_error)
    }

    /// Fail with the first error after printing the others (each one line).
    pub fn into_result(self, printer: Printer) -> Result<Run> {
        let errors: Vec<String> = self.errors().map(|error| format!("{error:#}")).collect();
        let mut errors = errors.into_iter();
        let Some(first) = errors.next() else { return Ok(self) };
        for other in errors {
            printer.error(&other);
        }
        Err(anyhow::anyhow!(first))
    }
}

impl Session {
    /// Load `.ko.yaml`, resolve the settings and wire the builder and publishers.
    pub fn open(
        build: &BuildFlags,
        publish: &PublishFlags,
        environment: &Environment,
        printer: Printer,
    ) -> Result<Session> {
        let ci = super::ci::zero_config(environment, printer);
        let evaluated = super::ci::evaluate_tag_rules(publish, &ci, printer)?;
        let publish = evaluated.as_ref().unwrap_or(publish);
        let environment = &ci.environment;
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
        let (cache, unusable) =
            Cache::open_or_temporary(&build_settings.cache_directory, build_settings.cache_max_size)?;
        if let Some(reason) = unusable {
            printer.warning(&format!("{reason}; using a temporary cache for this run"));
        }
        let mut client_options = wiring::client_options(environment, publish_settings.insecure_registry)?;
        client_options.keychain.credentials.extend(ci.credentials);
        let registries = Arc::new(SharedClient::new(client_options));
        let builder = wiring::make_builder(&build_settings, environment, &cache, registries.clone(), printer);
        let publishing =
            wiring::make_publisher(&publish_settings, &build_settings.platforms, &cache, &registries, environment)?;
        Ok(Session { working_directory, build_settings, builder, publishing, cache, printer, ci_system: ci.system })
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
                let import_path = self.qualify(&reference)?;
                if !import_paths.contains(&import_path) {
                    import_paths.push(import_path);
                }
            }
        }
        Ok(import_paths)
    }

    /// Qualify one reference, and check the image name it gets (before anything is built).
    pub fn qualify(&self, reference: &str) -> Result<ImportPath> {
        let import_path = self.builder.qualify(reference)?;
        settings::check_image_name(&self.publishing.namer, &import_path)?;
        Ok(import_path)
    }

    pub fn printer(&self) -> Printer {
        self.printer
    }

    /// The name an import path is published under (named once, here, for every output).
    pub fn name(&self, import_path: &ImportPath) -> String {
        self.publishing.namer.name(import_path.as_str())
    }

    /// Build and publish every import path at once. One failing does not stop the others:
    /// every outcome is kept, so the report says what was built and what failed. `origin`
    /// adds where an import path came from to its errors.
    pub async fn publish_all(
        &self,
        import_paths: &[ImportPath],
        origin: &(dyn Fn(&ImportPath) -> String + Sync),
    ) -> Run {
        let (builder, publisher, printer) = (&self.builder, &self.publishing.publisher, self.printer);
        for import_path in import_paths {
            publisher.prepare(import_path);
        }
        let in_context = |import_path: &ImportPath, error: anyhow::Error| match origin(import_path) {
            place if place.is_empty() => error,
            place => error.context(place),
        };
        let outcomes = join_all(import_paths.iter().map(|import_path| async move {
            let built = match builder.build(import_path).await {
                Ok(built) => built,
                Err(error) => {
                    let error = in_context(import_path, error.into());
                    return Outcome::Failed { import_path: import_path.clone(), stage: "build", error };
                }
            };
            if printer.verbose() {
                for platform in &built.platforms {
                    printer.status("Built", &describe_build(import_path, platform));
                }
            }
            let started = std::time::Instant::now();
            let published = match publisher.publish(&built, &self.name(import_path)).await {
                Ok(published) => published,
                Err(error) => {
                    let error = in_context(import_path, error.into());
                    return Outcome::Failed { import_path: import_path.clone(), stage: "publish", error };
                }
            };
            for note in &published.notes {
                printer.note(note);
            }
            let mut line = published.reference.clone();
            if printer.verbose() {
                line.push_str(&format!(" (in {:.2} s)", started.elapsed().as_secs_f64()));
            }
            printer.status(published.action.verb(), &line);
            Outcome::Published { built, published }
        }))
        .await;
        // Files written at the end (tarballs) are announced once they exist; none is written
        // when an import path failed, so no archive is missing an image.
        let close_error = if outcomes.iter().any(|outcome| matches!(outcome, Outcome::Failed { .. })) {
            None
        } else {
            match publisher.close().await {
                Ok(written) => {
                    for path in written {
                        printer.status("Wrote", &path.display().to_string());
                    }
                    None
                }
                Err(error) => Some(anyhow::Error::from(error)),
            }
        };
        if printer.verbose()
            && let Some(stats) = &self.publishing.push_stats
        {
            let push = PushReport::from(stats.as_ref());
            printer.status(
                "Uploaded",
                &format!(
                    "{} blobs ({:.1} MB), {} already in the registry, {} mounted, {} referrers, \
                     {} manifests already in the registry",
                    push.uploaded,
                    push.uploaded_bytes as f64 / 1e6,
                    push.existing,
                    push.mounted,
                    push.referrers,
                    push.manifests_existing
                ),
            );
        }
        self.cache.collect_garbage();
        Run { outcomes, close_error }
    }

    /// The report of a run.
    pub fn report(&self, run: &Run) -> Report {
        let images = run.published().map(|(built, published)| ImageReport::new(built, published)).collect();
        let mut failures: Vec<FailureReport> = run
            .outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Outcome::Failed { import_path, stage, error } => Some(FailureReport {
                    import_path: Some(import_path.to_string()),
                    stage,
                    error: format!("{error:#}"),
                }),
                Outcome::Published { .. } => None,
            })
            .collect();
        if let Some(error) = &run.close_error {
            failures.push(FailureReport { import_path: None, stage: "write", error: format!("{error:#}") });
        }
        let mut report = Report::new(images, failures);
        report.push = self.publishing.push_stats.as_ref().map(|stats| PushReport::from(stats.as_ref()));
        super::ci::log_groups(self.ci_system, &report, self.printer);
        report
    }
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
