//! Where the seams meet: the one place that decides which Builder and which Publishers a run
//! uses, and in what order the wrappers go around them.

use std::sync::Arc;

use anyhow::{Result, bail};

use super::printer::{Printer, StatusProgress};
use super::settings::{BuildSettings, PublishSettings, Target};
use crate::base::Selector;
use crate::build::PlatformRequest;
use crate::build::assemble::ImageSettings;
use crate::build::cache::Cache;
use crate::build::gobuilder::{GoBuilder, GoBuilderOptions};
use crate::env::Environment;
use crate::image::Platform;
use crate::image::gotime::Time;
use crate::publish::blobs::BlobFiles;
use crate::publish::layout::LayoutPublisher;
use crate::publish::multi::MultiPublisher;
use crate::publish::nop::NopPublisher;
use crate::publish::recorder::Recorder;
use crate::publish::tarball::TarballPublisher;
use crate::publish::{Namer, Publisher};

/// The gzip level for rko's own layers: ko's (`BestSpeed`), the fastest standard layers.
pub const GZIP_LEVEL: u32 = 1;

pub fn make_builder(
    settings: &BuildSettings,
    environment: &Environment,
    cache: &Cache,
    printer: Printer,
) -> Arc<GoBuilder> {
    // Bases come through a selector so overrides and the built-in base share one seam.
    let base = Arc::new(Selector::new(
        settings.default_base.clone(),
        settings.base_overrides.clone(),
        cache.blobs().to_owned(),
        None,
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
        gzip_level: GZIP_LEVEL,
        now,
    };
    Arc::new(GoBuilder::new(options, base, cache.clone(), Arc::new(StatusProgress(printer))))
}

/// ko's publisher choice: daemon or kind alone; otherwise layout, tarball and registry in that
/// order, or the no-op publisher when nothing is asked for; `--image-refs` records around it.
pub fn make_publisher(
    settings: &PublishSettings,
    platforms: &PlatformRequest,
    cache: &Cache,
) -> Result<Box<dyn Publisher>> {
    let namer = Namer { repository: settings.repository.clone(), style: settings.naming };
    let blobs = BlobFiles { remote: None, download_directory: Some(cache.blobs().to_owned()) };
    let mut publishers: Vec<Box<dyn Publisher>> = Vec::new();
    match &settings.target {
        Target::Daemon(_) => {
            bail!("loading into a Docker daemon (`ko.local`, --local) is not available in this build of rko")
        }
        Target::Kind(_) => bail!("loading into kind (`kind.local`) is not available in this build of rko"),
        _ => {}
    }
    if let Some(path) = &settings.oci_layout_path {
        publishers.push(Box::new(LayoutPublisher::new(
            path.clone(),
            namer.clone(),
            settings.tags.clone(),
            blobs.clone(),
        )));
    }
    if let Some(path) = &settings.tarball {
        let platform = match platforms {
            PlatformRequest::List(list) if !list.is_empty() => list[0].clone(),
            _ => Platform::new("linux", "amd64", ""),
        };
        publishers.push(Box::new(TarballPublisher::new(
            path.clone(),
            namer.clone(),
            settings.tags.clone(),
            blobs.clone(),
            platform,
        )));
    }
    if settings.oci_archive.is_some() {
        bail!("--oci-archive is not available in this build of rko");
    }
    if let Target::Registry(repository) = &settings.target {
        bail!(
            "pushing to `{repository}` is not available in this build of rko; use --push=false with --oci-layout-path or --tarball"
        );
    }
    if publishers.is_empty() {
        publishers.push(Box::new(NopPublisher { namer, tags: settings.tags.clone(), tag_only: settings.tag_only }));
    }
    let publisher: Box<dyn Publisher> =
        if publishers.len() == 1 { publishers.remove(0) } else { Box::new(MultiPublisher { publishers }) };
    Ok(match &settings.image_refs {
        Some(path) => Box::new(Recorder::new(publisher, path.clone())),
        None => publisher,
    })
}
