//! [`GoBuilder`], the `Builder` that does ko's job: pick the base's platforms, run one
//! `go build` per platform (all at once, bounded by `-j`), write the kodata and binary layers,
//! assemble each image, and join several platforms into an index in the base's order.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use futures::future::try_join_all;
use tokio::sync::Semaphore;

use super::assemble::{AppLayers, ImageSettings, NewLayer, assemble};
use super::cache::{Cache, FileLock};
use super::layer_cache::LayerCache;
use super::layers::{BinaryLayer, KodataLayer, plan_kodata, write_binary};
use super::package::{self, GoPackage, KO_SCHEME};
use super::templating::Templating;
use super::{
    Base, BaseRoot, BaseSource, BuildError, Builder, Built, ImportPath, PlatformBuild, Progress, capabilities, go,
};
use crate::image::layer::{Compression, WrittenLayer};
use crate::image::{Artifact, Descriptor, Image, Index, Platform, media_type};

/// Which platforms to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformRequest {
    /// Every platform of the base (`--platform=all`).
    All,
    List(Vec<Platform>),
}

impl PlatformRequest {
    fn matches(&self, platform: &Platform) -> bool {
        match self {
            PlatformRequest::All => true,
            PlatformRequest::List(list) => list.iter().any(|wanted| wanted.matches(platform)),
        }
    }

    fn describe(&self) -> String {
        match self {
            PlatformRequest::All => "all".into(),
            PlatformRequest::List(list) => list.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        }
    }
}

/// A `builds[]` entry resolved to its import path.
#[derive(Clone, Debug)]
pub struct BuildSpec {
    pub import_path: ImportPath,
    /// Where `go build` runs.
    pub directory: PathBuf,
    /// For messages: "`.ko.yaml` builds[0] (`id`)".
    pub origin: String,
    pub env: Option<Vec<String>>,
    pub flags: Option<Vec<String>>,
    pub ldflags: Option<Vec<String>>,
    pub linux_capabilities: Vec<String>,
}

/// Everything a `GoBuilder` needs, resolved once by the CLI.
#[derive(Clone, Debug)]
pub struct GoBuilderOptions {
    pub working_directory: PathBuf,
    pub go: PathBuf,
    pub process_environment: Vec<(OsString, OsString)>,
    pub platforms: PlatformRequest,
    pub builds: Vec<BuildSpec>,
    pub default_env: Vec<String>,
    pub default_flags: Vec<String>,
    pub default_ldflags: Vec<String>,
    /// `--ldflags`: replaces every other ldflags source.
    pub ldflags_override: Option<Vec<String>>,
    pub disable_optimizations: bool,
    pub image: ImageSettings,
    pub kodata_allowed_root: Option<PathBuf>,
    pub jobs: usize,
    pub compression: Compression,
    /// `SOURCE_DATE_EPOCH` or now, for `.Date`/`.Timestamp`.
    pub now: crate::image::gotime::Time,
}

pub struct GoBuilder {
    options: GoBuilderOptions,
    base: Arc<dyn BaseSource>,
    cache: Cache,
    progress: Arc<dyn Progress>,
    semaphore: Arc<Semaphore>,
    layers: LayerCache,
    templating: Templating,
    packages: Mutex<HashMap<ImportPath, Resolved>>,
}

/// A package and the directory its `go build` runs in.
#[derive(Clone, Debug)]
struct Resolved {
    package: GoPackage,
    run_directory: PathBuf,
    spec: Option<BuildSpec>,
}

impl GoBuilder {
    pub fn new(
        options: GoBuilderOptions,
        base: Arc<dyn BaseSource>,
        cache: Cache,
        progress: Arc<dyn Progress>,
    ) -> GoBuilder {
        let templating = Templating::new(
            options.go.clone(),
            options.process_environment.clone(),
            options.working_directory.clone(),
            options.now,
        );
        GoBuilder {
            semaphore: Arc::new(Semaphore::new(options.jobs.max(1))),
            options,
            base,
            layers: cache.layers(),
            cache,
            progress,
            templating,
            packages: Mutex::new(HashMap::new()),
        }
    }

    fn resolve(&self, reference: &str) -> Result<Resolved, BuildError> {
        let path = reference.strip_prefix(KO_SCHEME).unwrap_or(reference);
        if let Some(resolved) =
            self.packages.lock().ok().and_then(|map| map.get(&ImportPath::new(path.to_owned())).cloned())
        {
            return Ok(resolved);
        }
        let spec = self.options.builds.iter().find(|spec| spec.import_path.as_str() == path).cloned();
        let base_directory = spec.as_ref().map_or(&self.options.working_directory, |spec| &spec.directory);
        let package = package::resolve(base_directory, reference, &self.options.go)?;
        let spec =
            spec.or_else(|| self.options.builds.iter().find(|spec| spec.import_path == package.import_path).cloned());
        let run_directory = match (&spec, &package.module_root) {
            (Some(spec), _) => spec.directory.clone(),
            (None, Some(root)) if package::is_local(path) && !self.options.working_directory.starts_with(root) => {
                root.clone()
            }
            _ => self.options.working_directory.clone(),
        };
        let resolved = Resolved { package, run_directory, spec };
        if let Ok(mut map) = self.packages.lock() {
            map.insert(resolved.package.import_path.clone(), resolved.clone());
        }
        Ok(resolved)
    }

    /// Build every requested platform of `base` for `resolved`.
    async fn build_on(&self, resolved: &Resolved, base: Base) -> Result<Built, BuildError> {
        let import_path = &resolved.package.import_path;
        let base_annotations = |digest: &str| super::index::base_annotations(&base.name, digest);
        match &base.root {
            BaseRoot::Image(image) => {
                let platform = image.platform();
                let platform = if platform.os.is_empty() { Platform::new("linux", "amd64", "") } else { platform };
                if !self.options.platforms.matches(&platform) {
                    return Err(BuildError::PlatformMismatch {
                        base: base.name.clone(),
                        base_platform: platform.to_string(),
                        requested: self.options.platforms.describe(),
                    });
                }
                let base_image = image.with_annotations(&base_annotations(image.digest().as_str()));
                let (image, record) = self.build_one(resolved, &base_image, &platform).await?;
                Ok(Built {
                    import_path: import_path.clone(),
                    artifact: Artifact::Image(Arc::new(image)),
                    platforms: vec![record],
                    attachments: Vec::new(),
                })
            }
            BaseRoot::Index { manifest, digest, children } => {
                let mut matches = Vec::new();
                for descriptor in &manifest.manifests {
                    if !media_type::is_image_manifest(&descriptor.media_type) {
                        return Err(BuildError::NestedIndex {
                            base: base.name.clone(),
                            digest: descriptor.digest.clone(),
                            media_type: descriptor.media_type.clone(),
                        });
                    }
                    let platform = descriptor.platform.clone().unwrap_or_default();
                    if platform.os == "unknown" || platform.architecture == "unknown" {
                        continue;
                    }
                    let wanted = match &self.options.platforms {
                        PlatformRequest::All => true,
                        request => descriptor.platform.is_some() && request.matches(&platform),
                    };
                    if wanted {
                        matches.push((descriptor.clone(), platform));
                    }
                }
                if matches.is_empty() {
                    let available: Vec<String> = manifest
                        .manifests
                        .iter()
                        .filter_map(|descriptor| descriptor.platform.as_ref())
                        .filter(|platform| !platform.is_unknown())
                        .map(ToString::to_string)
                        .collect();
                    return Err(BuildError::NoMatchingPlatform {
                        base: base.name.clone(),
                        requested: self.options.platforms.describe(),
                        available: if available.is_empty() { "none".into() } else { available.join(", ") },
                    });
                }
                let fetch = |descriptor: Descriptor| {
                    let children = children.clone();
                    let name = base.name.clone();
                    async move {
                        children.image(&descriptor).await.map_err(|message| BuildError::Base {
                            import_path: import_path.to_string(),
                            message: format!("`{name}`: {message}"),
                        })
                    }
                };
                if let [(descriptor, platform)] = matches.as_slice() {
                    let child = fetch(descriptor.clone()).await?;
                    let base_image = child.with_annotations(&base_annotations(descriptor.digest.as_str()));
                    let (image, record) = self.build_one(resolved, &base_image, platform).await?;
                    return Ok(Built {
                        import_path: import_path.clone(),
                        artifact: Artifact::Image(Arc::new(image)),
                        platforms: vec![record],
                        attachments: Vec::new(),
                    });
                }
                let builds = matches.iter().map(|(descriptor, platform)| async {
                    let child = fetch(descriptor.clone()).await?;
                    let base_image = child.with_annotations(&base_annotations(descriptor.digest.as_str()));
                    let (image, record) = self.build_one(resolved, &base_image, platform).await?;
                    let entry = super::index::entry(manifest, descriptor, &image);
                    Ok::<_, BuildError>((entry, Arc::new(image), record))
                });
                let results = try_join_all(builds).await?;
                let (media_type, annotations) =
                    super::index::header(manifest, &base.name, digest.as_str(), &self.options.image.annotations);
                let mut children = Vec::new();
                let mut records = Vec::new();
                for (entry, image, record) in results {
                    children.push((entry, image));
                    records.push(record);
                }
                let index = Index::assemble(media_type, annotations, children);
                Ok(Built {
                    import_path: import_path.clone(),
                    artifact: Artifact::Index(Arc::new(index)),
                    platforms: records,
                    attachments: Vec::new(),
                })
            }
        }
    }

    /// One platform: `go build`, layers, image.
    async fn build_one(
        &self,
        resolved: &Resolved,
        base: &Image,
        platform: &Platform,
    ) -> Result<(Image, PlatformBuild), BuildError> {
        let _permit = self.semaphore.acquire().await.map_err(|error| BuildError::Task(error.to_string()))?;
        let started = SystemTime::now();
        let import_path = resolved.package.import_path.as_str();
        self.progress.building(&resolved.package.import_path, platform);
        let spec = resolved.spec.as_ref();
        let env_entries = spec.and_then(|spec| spec.env.clone()).unwrap_or_else(|| self.options.default_env.clone());
        let environment = go::build_environment(platform, &self.options.process_environment, &env_entries)?;
        let effective = go::effective(&environment);
        let origin = spec.map_or("the default build".to_owned(), |spec| spec.origin.clone());
        let flags = spec.and_then(|spec| spec.flags.clone()).unwrap_or_else(|| self.options.default_flags.clone());
        let flags =
            self.templating.expand(&flags, &format!("{origin} flags"), &effective, &resolved.run_directory).await?;
        let (ldflags, ldflags_place) =
            match (&self.options.ldflags_override, spec.and_then(|spec| spec.ldflags.clone())) {
                (Some(ldflags), _) => (ldflags.clone(), "`--ldflags`".to_owned()),
                (None, Some(ldflags)) => (ldflags, format!("{origin} ldflags")),
                (None, None) => (self.options.default_ldflags.clone(), "`defaultLdflags`".to_owned()),
            };
        let ldflags = self.templating.expand(&ldflags, &ldflags_place, &effective, &resolved.run_directory).await?;
        // Checked before building: a base whose manifest type has no layer type for the
        // compression is bad input.
        let layer_media_type =
            self.options.compression.layer_media_type(base.media_type()).ok_or_else(|| BuildError::Compression {
                import_path: import_path.to_owned(),
                message: format!(
                    "the base's `{}` has no zstd layer type; use an OCI base or --compression=gzip",
                    base.media_type()
                ),
            })?;
        let app_name = go::app_name(import_path);
        let output_directory = self.cache.binary_directory(import_path, platform, &resolved.run_directory);
        let cache_error =
            |error: std::io::Error| BuildError::Cache { path: output_directory.clone(), message: error.to_string() };
        std::fs::create_dir_all(&output_directory).map_err(cache_error)?;
        let lock_path = output_directory.join(".lock");
        let lock = tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path))
            .await
            .map_err(|error| BuildError::Task(error.to_string()))?
            .map_err(cache_error)?;
        let binary = output_directory.join(&app_name);
        // Go touches an up-to-date output without relinking it: compare build IDs, not times.
        let build_id_before = crate::gobinary::read_build_id(&binary).ok();
        let arguments =
            go::build_arguments(&flags, &ldflags, self.options.disable_optimizations, &binary, import_path)?;
        let windows = platform.os == "windows";
        // The kodata layer does not depend on the binary: write it while Go builds.
        let kodata_job = KodataJob {
            source: resolved.package.directory.join("kodata"),
            allowed_root: self.options.kodata_allowed_root.clone(),
            time: self.options.image.kodata_time.map_or(0, |time| time.unix()),
            windows,
            blobs: self.cache.blobs().to_owned(),
            compression: self.options.compression,
            layers: self.layers.clone(),
        };
        let kodata = tokio::task::spawn_blocking(move || kodata_job.run());
        go::run(&self.options.go, &resolved.run_directory, &arguments, &environment, import_path, platform).await?;

        let job = LayerJob {
            binary: binary.clone(),
            app: app_name.clone(),
            windows,
            capabilities: match spec {
                Some(spec) if !windows => capabilities::xattr(&spec.linux_capabilities)?,
                _ => None,
            },
            blobs: self.cache.blobs().to_owned(),
            compression: self.options.compression,
            layers: self.layers.clone(),
        };
        let task_error = |error: tokio::task::JoinError| BuildError::Task(error.to_string());
        let produced = tokio::task::spawn_blocking(move || job.run()).await.map_err(task_error)??;
        drop(lock);
        let (kodata, kodata_hit) = kodata.await.map_err(task_error)??;
        let blob = |written: &crate::image::layer::WrittenLayer| self.cache.blobs().join(written.digest.hex());
        let image = assemble(
            base,
            import_path,
            &app_name,
            windows,
            AppLayers {
                media_type: layer_media_type,
                kodata: NewLayer { path: blob(&kodata), written: kodata },
                binary: NewLayer { path: blob(&produced.binary), written: produced.binary },
            },
            &self.options.image,
        )?;
        let record = PlatformBuild {
            platform: platform.clone(),
            image: image.digest().clone(),
            binary,
            app_path: format!("{}/{app_name}", super::layers::APP_DIRECTORY),
            build_info: produced.build_info,
            relinked: produced.build_id.is_none() || produced.build_id != build_id_before,
            layers_cached: produced.cached && kodata_hit,
            started,
            finished: SystemTime::now(),
        };
        Ok((image, record))
    }
}

/// Everything needed to produce one platform's binary layer, run off the async threads while
/// the output lock is held (a concurrent run may rebuild the binary once it is released).
struct LayerJob {
    binary: PathBuf,
    app: String,
    windows: bool,
    capabilities: Option<Vec<u8>>,
    blobs: PathBuf,
    compression: Compression,
    layers: LayerCache,
}

struct Produced {
    binary: WrittenLayer,
    build_info: Result<Arc<crate::gobinary::BuildInfo>, String>,
    build_id: Option<String>,
    /// The layer came from the layer cache.
    cached: bool,
}

/// Everything needed to produce one platform's kodata layer.
struct KodataJob {
    source: PathBuf,
    allowed_root: Option<PathBuf>,
    time: i64,
    windows: bool,
    blobs: PathBuf,
    compression: Compression,
    layers: LayerCache,
}

impl KodataJob {
    /// The layer, and whether it came from the layer cache (keyed by the kodata files' metadata).
    fn run(self) -> Result<(WrittenLayer, bool), BuildError> {
        let plan = plan_kodata(&KodataLayer {
            source: &self.source,
            allowed_root: self.allowed_root.as_deref(),
            mtime: self.time,
            windows: self.windows,
        })?;
        let key = super::cache::key(&["kodata-v1", &plan.fingerprint(), &self.compression.name()]);
        cached_or(&self.layers, Some(key), || plan.write(&self.blobs, self.compression))
    }
}

impl LayerJob {
    fn run(self) -> Result<Produced, BuildError> {
        let build_info =
            crate::gobinary::read_build_info(&self.binary).map(Arc::new).map_err(|error| error.to_string());
        // The binary layer depends on the binary (its Go build ID) and how it is laid out.
        let build_id = crate::gobinary::read_build_id(&self.binary).ok();
        let binary_key = build_id.as_ref().map(|build_id| {
            let capabilities = self.capabilities.as_deref().map(hex::encode).unwrap_or_default();
            super::cache::key(&[
                "binary-v1",
                build_id,
                &self.app,
                &self.windows.to_string(),
                &capabilities,
                &self.compression.name(),
            ])
        });
        let (binary, binary_hit) = cached_or(&self.layers, binary_key, || {
            let layer = BinaryLayer {
                binary: &self.binary,
                app_name: &self.app,
                windows: self.windows,
                capabilities: self.capabilities.clone(),
            };
            write_binary(&layer, &self.blobs, self.compression)
        })?;
        Ok(Produced { binary, build_info, build_id, cached: binary_hit })
    }
}

/// The cached layer for `key`, or a fresh one from `make` (then cached).
fn cached_or(
    layers: &LayerCache,
    key: Option<String>,
    make: impl FnOnce() -> Result<WrittenLayer, super::layers::LayerError>,
) -> Result<(WrittenLayer, bool), BuildError> {
    if let Some(hit) = key.as_deref().and_then(|key| layers.get(key)) {
        return Ok((hit, true));
    }
    let written = make()?;
    if let Some(key) = key {
        // A failure to remember only costs the next run a rebuild.
        let _ = layers.put(&key, &written);
    }
    Ok((written, false))
}

#[async_trait]
impl Builder for GoBuilder {
    fn qualify(&self, reference: &str) -> Result<ImportPath, BuildError> {
        Ok(self.resolve(reference)?.package.import_path)
    }

    async fn build(&self, import_path: &ImportPath) -> Result<Arc<Built>, BuildError> {
        let resolved = self.resolve(import_path.as_str())?;
        let base = self
            .base
            .base(import_path)
            .await
            .map_err(|message| BuildError::Base { import_path: import_path.to_string(), message })?;
        Ok(Arc::new(self.build_on(&resolved, base).await?))
    }
}
