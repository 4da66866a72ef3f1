//! Where the seams meet: the one place that decides which Builder and which Publishers a run
//! uses, and in what order the wrappers go around them.

use std::sync::Arc;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::printer::{Printer, StatusProgress};
use super::settings::{BuildSettings, PublishSettings, Target};
use crate::base::Selector;
use crate::build::assemble::ImageSettings;
use crate::build::gobuilder::{GoBuilder, GoBuilderOptions};
use crate::build::{Builder, ImportPath, PlatformRequest, Progress};
use crate::cache::Cache;
use crate::daemon::DockerApi;
use crate::env::{self, Environment};
use crate::image::Platform;
use crate::image::gotime::Time;
use crate::publish::blobs::{BlobFiles, RemoteBlobs};
use crate::publish::daemon::DaemonPublisher;
use crate::publish::kind::KindPublisher;
use crate::publish::layout::LayoutPublisher;
use crate::publish::multi::MultiPublisher;
use crate::publish::nop::NopPublisher;
use crate::publish::registry::RegistryPublisher;
use crate::publish::tarball::{ArchiveKind, ArchivePublisher, host_platform};
use crate::publish::{Namer, Publisher};
use crate::registry::auth::Keychain;
use crate::registry::client::{ClientOptions, DEFAULT_TIMEOUT, RetryPolicy};
use crate::registry::pusher::PushStats;
use crate::registry::shared::SharedClient;
use crate::sbom::SbomBuilder;

/// Registry client settings from the environment: docker config, GitHub token, extra CAs.
pub fn client_options(environment: &Environment, insecure: bool) -> Result<ClientOptions> {
    let config_directory = environment
        .non_empty(env::DOCKER_CONFIG)
        .map(PathBuf::from)
        .or_else(|| environment.non_empty(env::HOME).map(|home| Path::new(home).join(".docker")));
    let root_files = environment.non_empty(env::SSL_CERT_FILE).map(PathBuf::from).into_iter().collect();
    let root_directories = environment
        .non_empty(env::SSL_CERT_DIR)
        .map(|directories| directories.split(':').filter(|d| !d.is_empty()).map(PathBuf::from).collect())
        .unwrap_or_default();
    Ok(ClientOptions {
        insecure,
        system_roots: true,
        root_files,
        root_directories,
        keychain: Keychain {
            config_directory,
            github_token: environment.non_empty(env::GITHUB_TOKEN).map(str::to_owned),
            github_actor: environment.non_empty(env::GITHUB_ACTOR).map(str::to_owned),
            credentials: Vec::new(),
        },
        retry: RetryPolicy { timeout: registry_timeout(environment)?, ..RetryPolicy::default() },
    })
}

/// `RKO_REGISTRY_TIMEOUT`: a positive number of seconds, else the default.
fn registry_timeout(environment: &Environment) -> Result<Duration> {
    let Some(text) = environment.non_empty(env::RKO_REGISTRY_TIMEOUT) else { return Ok(DEFAULT_TIMEOUT) };
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0 && *seconds <= 86_400.0)
        .map(Duration::from_secs_f64)
        .with_context(|| {
            format!(
                "{}=`{text}` is not a number of seconds between 0 and 86400; set it to e.g. `60`",
                env::RKO_REGISTRY_TIMEOUT
            )
        })
}

pub fn make_builder(
    settings: &BuildSettings,
    environment: &Environment,
    cache: &Cache,
    registries: Arc<SharedClient>,
    printer: Printer,
) -> Arc<dyn Builder> {
    // Bases come through a selector so overrides, the built-in base and registry bases share
    // one seam; the registry client is only created if a registry base is used.
    let base = Arc::new(Selector::new(
        settings.default_base.clone(),
        settings.base_overrides.clone(),
        settings.platforms.clone(),
        cache.blobs().to_owned(),
        Some(Arc::new(registries)),
        environment.non_empty(env::DOCKER_HOST).map(str::to_owned),
    ));
    let now = settings.creation_time.unwrap_or_else(|| {
        let seconds =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        Time::from_unix(seconds)
    });
    let options = GoBuilderOptions {
        working_directory: settings.working_directory.clone(),
        go: settings.go.clone(),
        process_environment: environment.ordered().to_vec(),
        platforms: settings.platforms.clone(),
        builds: settings.builds.clone(),
        default_env: settings.default_env.clone(),
        default_flags: settings.default_flags.clone(),
        default_ldflags: settings.default_ldflags.clone(),
        ldflags_override: settings.ldflags_override.clone(),
        disable_optimizations: settings.disable_optimizations,
        image: ImageSettings {
            creation_time: settings.creation_time,
            kodata_time: settings.kodata_time,
            labels: settings.labels.clone(),
            annotations: settings.annotations.clone(),
            user: settings.user.clone(),
        },
        kodata_allowed_root: settings.kodata_allowed_root.clone(),
        jobs: settings.jobs,
        compression: settings.compression,
        now,
    };
    let progress: Arc<dyn Progress> = Arc::new(StatusProgress(printer));
    let builder: Arc<dyn Builder> = Arc::new(GoBuilder::new(options, base, cache.clone(), progress.clone()));
    // SBOMs wrap the Go builder: they need its images and binaries, and nothing else does.
    if settings.sbom_formats.is_empty() {
        return builder;
    }
    Arc::new(SbomBuilder {
        inner: builder,
        formats: settings.sbom_formats.clone(),
        directory: settings.sbom_directory.clone(),
        progress,
    })
}

/// The publisher for a run and, when it pushes, the statistics the report shows.
pub struct Publishing {
    pub publisher: Box<dyn Publisher>,
    pub push_stats: Option<Arc<PushStats>>,
    /// Names every import path once, for every publisher.
    pub namer: Namer,
}

/// ko's publisher choice: daemon or kind alone; otherwise layout, tarball and registry in that
/// order, or the no-op publisher when nothing is asked for.
pub fn make_publisher(
    settings: &PublishSettings,
    platforms: &PlatformRequest,
    cache: &Cache,
    registries: &Arc<SharedClient>,
    environment: &Environment,
) -> Result<Publishing> {
    let namer = Namer { repository: settings.repository.clone(), style: settings.naming };
    let remote: Arc<dyn RemoteBlobs> = Arc::new(registries.clone());
    let blobs = BlobFiles { remote: Some(remote), download_directory: Some(cache.blobs().to_owned()) };
    let first_platform = match platforms {
        PlatformRequest::List(list) if !list.is_empty() => list[0].clone(),
        _ => Platform::new("linux", "amd64", ""),
    };
    let mut publishers: Vec<Box<dyn Publisher>> = Vec::new();
    let mut push_stats = None;
    match &settings.target {
        Target::Daemon(_) => {
            let api = DockerApi::from_host(environment.get(env::DOCKER_HOST)).map_err(anyhow::Error::msg)?;
            publishers.push(Box::new(DaemonPublisher::new(api, settings.tags.clone(), blobs.clone())));
        }
        Target::Kind(_) => {
            let cluster = environment.non_empty(env::KIND_CLUSTER_NAME).unwrap_or("kind").to_owned();
            publishers.push(Box::new(KindPublisher {
                cluster,
                tags: settings.tags.clone(),
                blobs: blobs.clone(),
                platform: first_platform.clone(),
                nodes: Default::default(),
            }));
        }
        Target::Registry(_) | Target::None => {
            if let Some(path) = &settings.oci_layout_path {
                publishers.push(Box::new(LayoutPublisher::new(
                    path.clone(),
                    settings.tags.clone(),
                    blobs.clone(),
                    settings.oci_referrers,
                )));
            }
            for (path, kind) in [(&settings.tarball, ArchiveKind::Docker), (&settings.oci_archive, ArchiveKind::Oci)] {
                if let Some(path) = path {
                    publishers.push(Box::new(ArchivePublisher::new(
                        path.clone(),
                        kind,
                        settings.tags.clone(),
                        blobs.clone(),
                        host_platform(),
                        settings.oci_referrers,
                    )));
                }
            }
            if matches!(settings.target, Target::Registry(_)) {
                let stats = Arc::new(PushStats::default());
                push_stats = Some(stats.clone());
                publishers.push(Box::new(RegistryPublisher::new(
                    registries.clone(),
                    settings.jobs,
                    stats,
                    {
                        let namer = namer.clone();
                        Box::new(move |import_path: &ImportPath| namer.name(import_path.as_str()))
                    },
                    settings.tags.clone(),
                    settings.tag_only,
                )));
            }
        }
    }
    if publishers.is_empty() {
        publishers.push(Box::new(NopPublisher { tags: settings.tags.clone(), tag_only: settings.tag_only }));
    }
    let publisher: Box<dyn Publisher> =
        if publishers.len() == 1 { publishers.remove(0) } else { Box::new(MultiPublisher { publishers }) };
    Ok(Publishing { publisher, push_stats, namer })
}
