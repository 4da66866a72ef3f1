//! [`GoBuilder`], the `Builder` that does ko's job: pick the base's platforms, run one
//! `go build` per platform (all at once, bounded by `-j`), write the kodata and binary layers,
//! assemble each image, and join several platforms into an index in the base's order.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use futures::future::try_join_all;
use tokio::sync::Semaphore;

use super::assemble::{ImageSettings, NewLayer, assemble};
use super::cache::{Cache, FileLock};
use super::layers::{BinaryLayer, KodataLayer, write_binary, write_kodata};
use super::package::{self, GoPackage, KO_SCHEME};
use super::templating::Templating;
use super::{
    Base, BaseRoot, BaseSource, BuildError, Builder, Built, ImportPath, PlatformBuild, Progress, capabilities, go,
};
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
    pub gzip_level: u32,
    /// `SOURCE_DATE_EPOCH` or now, for `.Date`/`.Timestamp`.
    pub now: crate::image::gotime::Time,
}

pub struct GoBuilder {
    options: GoBuilderOptions,
    base: Arc<dyn BaseSource>,
    cache: Cache,
    progress: Arc<dyn Progress>,
    semaphore: Arc<Semaphore>,
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
        let base_annotations = |digest: &str| {
            BTreeMap::from([
                ("org.opencontainers.image.base.digest".to_owned(), digest.to_owned()),
                ("org.opencontainers.image.base.name".to_owned(), base.name.clone()),
            ])
        };
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
                    let mut entry = Descriptor { platform: descriptor.platform.clone(), ..image.descriptor() };
                    entry.urls = descriptor.urls.clone();
                    entry.annotations = descriptor.annotations.clone();
                    entry.media_type = descriptor.media_type.clone();
                    if manifest.media_type != media_type::DOCKER_MANIFEST_LIST {
                        entry.artifact_type = image.manifest().config.media_type.clone();
                    }
                    Ok::<_, BuildError>((entry, Arc::new(image), record))
                });
                let results = try_join_all(builds).await?;
                let mut annotations = manifest.annotations.clone();
                annotations.extend(base_annotations(digest.as_str()));
                annotations.extend(self.options.image.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
                let media_type =
                    if manifest.media_type.is_empty() { media_type::OCI_INDEX } else { &manifest.media_type };
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
        let arguments =
            go::build_arguments(&flags, &ldflags, self.options.disable_optimizations, &binary, import_path)?;
        go::run(&self.options.go, &resolved.run_directory, &arguments, &environment, import_path, platform).await?;

        let windows = platform.os == "windows";
        let capabilities = match spec {
            Some(spec) if !windows => capabilities::xattr(&spec.linux_capabilities)?,
            _ => None,
        };
        let kodata_source = resolved.package.directory.join("kodata");
        let allowed_root = self.options.kodata_allowed_root.clone();
        let kodata_time = self.options.image.kodata_time.map_or(0, |time| time.unix());
        let blobs = self.cache.blobs().to_owned();
        let level = self.options.gzip_level;
        let binary_path = binary.clone();
        let app = app_name.clone();
        let (kodata, binary_layer, build_info) = tokio::task::spawn_blocking(move || {
            // Read under the lock: a concurrent run may rebuild this output once it is released.
            let build_info =
                crate::gobinary::read_build_info(&binary_path).map(Arc::new).map_err(|error| error.to_string());
            let kodata = write_kodata(
                &KodataLayer {
                    source: &kodata_source,
                    allowed_root: allowed_root.as_deref(),
                    mtime: kodata_time,
                    windows,
                },
                &blobs,
                level,
            )?;
            let binary = write_binary(
                &BinaryLayer { binary: &binary_path, app_name: &app, windows, capabilities },
                &blobs,
                level,
            )?;
            Ok::<_, BuildError>((kodata, binary, build_info))
        })
        .await
        .map_err(|error| BuildError::Task(error.to_string()))??;
        drop(lock);
        let blob = |written: &crate::image::layer::WrittenLayer| self.cache.blobs().join(written.digest.hex());
        let image = assemble(
            base,
            import_path,
            &app_name,
            windows,
            NewLayer { path: blob(&kodata), written: kodata },
            NewLayer { path: blob(&binary_layer), written: binary_layer },
            &self.options.image,
        )?;
        let record = PlatformBuild {
            platform: platform.clone(),
            image: image.digest().clone(),
            binary,
            app_path: format!("{}/{app_name}", super::layers::APP_DIRECTORY),
            build_info,
            started,
            finished: SystemTime::now(),
        };
        Ok((image, record))
    }
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
