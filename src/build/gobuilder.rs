//! [`GoBuilder`], the `Builder` that does ko's job: pick the base's platforms, run one
//! `go build` per platform (all at once, bounded by `-j`), write the kodata and binary layers,
//! assemble each image, and join several platforms into an index in the base's order.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use futures::future::try_join_all;
use tokio::sync::{OnceCell, Semaphore};

use super::assemble::{AppLayers, ImageSettings, NewLayer, assemble};
use super::jobs::{BinaryJob, KodataJob, MadeLayer};
use super::package::{self, GoPackage, KO_SCHEME};
use super::platforms::{self, PlatformRequest, Selected};
use super::templating::Templating;
use super::{
    Base, BaseRoot, BaseSource, BuildError, Builder, Built, ImportPath, PlatformBuild, Progress, capabilities, go,
};
use crate::cache::{BinaryOutput, Cache};
use crate::image::layer::Compression;
use crate::image::{Artifact, Image, Index, Platform};

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
    templating: Templating,
    packages: Mutex<HashMap<ImportPath, Resolved>>,
    /// Each package's kodata layer, shared by its platforms (keyed by source and layout).
    kodata: Mutex<HashMap<KodataKey, Arc<OnceCell<MadeLayer>>>>,
    overflow_reported: AtomicBool,
}

/// A kodata layer's source directory, and whether it is laid out for Windows.
type KodataKey = (PathBuf, bool);

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
            kodata: Mutex::new(HashMap::new()),
            overflow_reported: AtomicBool::new(false),
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

    /// Build every requested platform of `base` for `resolved`: one platform gives an image,
    /// several an index in the base's order.
    async fn build_on(&self, resolved: &Resolved, base: Base) -> Result<Built, BuildError> {
        let import_path = &resolved.package.import_path;
        let base_annotations = |digest: &str| super::index::base_annotations(&base.name, digest);
        let selected = platforms::select(&base, &self.options.platforms)?;
        let (base, base_annotations) = (&base, &base_annotations);
        let builds = selected.into_iter().map(|Selected { platform, entry }| async move {
            let base_image = match (&base.root, &entry) {
                (BaseRoot::Image(image), _) => image.with_annotations(&base_annotations(image.digest().as_str())),
                (BaseRoot::Index(index), Some(descriptor)) => {
                    let child = index.image(descriptor).await.map_err(|source| BuildError::Base {
                        import_path: import_path.to_string(),
                        source: Box::new(source),
                    })?;
                    child.with_annotations(&base_annotations(descriptor.digest.as_str()))
                }
                (BaseRoot::Index(_), None) => {
                    return Err(BuildError::Task("an index base's platform has no index entry".into()));
                }
            };
            let (image, record) = self.build_one(resolved, &base_image, &platform).await?;
            Ok::<_, BuildError>((entry, Arc::new(image), record))
        });
        let mut results = try_join_all(builds).await?;
        let (manifest, digest) = match &base.root {
            BaseRoot::Index(index) if results.len() > 1 => (&index.manifest, &index.digest),
            _ => {
                let Some((_, image, record)) = results.pop() else {
                    return Err(BuildError::Task("no platform was built".into()));
                };
                return Ok(Built {
                    import_path: import_path.clone(),
                    artifact: Artifact::Image(image),
                    platforms: vec![record],
                    attachments: Vec::new(),
                });
            }
        };
        let (media_type, annotations) =
            super::index::header(manifest, &base.name, digest.as_str(), &self.options.image.annotations);
        let mut children = Vec::new();
        let mut records = Vec::new();
        for (base_entry, image, record) in results {
            let entry = match &base_entry {
                Some(base_entry) => super::index::entry(manifest, base_entry, &image),
                None => image.descriptor(),
            };
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
        let origin = spec.map_or("the default build".to_owned(), |spec| spec.origin.clone());
        let (env_entries, env_place) = match spec.and_then(|spec| spec.env.clone()) {
            Some(env) => (env, format!("{origin} env")),
            None => (self.options.default_env.clone(), "`defaultEnv`".to_owned()),
        };
        let environment = go::build_environment(platform, &self.options.process_environment, &env_entries, &env_place)?;
        let effective = go::effective(&environment);
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
        let windows = platform.os == "windows";
        let capabilities = match spec {
            Some(spec) if !windows => capabilities::xattr(&spec.linux_capabilities)?,
            _ => None,
        };
        let link = Link { resolved, platform, app_name: &app_name, flags: &flags, ldflags: &ldflags, environment };
        // The kodata layer does not depend on the binary: it is written while Go builds.
        let (kodata, Linked { output, binary, build_id_before }) =
            tokio::try_join!(self.kodata_layer(resolved, windows), self.link(link))?;
        let job = BinaryJob {
            binary: binary.clone(),
            app: app_name.clone(),
            windows,
            capabilities,
            compression: self.options.compression,
            cache: self.cache.clone(),
        };
        let produced = tokio::task::spawn_blocking(move || job.run()).await.map_err(task_error)??;
        drop(output);
        for layer in [&kodata, &produced.layer] {
            if let Some(error) = &layer.overflowed {
                self.overflowing(error);
            }
        }
        let layers_cached = produced.layer.cached && kodata.cached;
        let image = assemble(
            base,
            import_path,
            &app_name,
            windows,
            AppLayers {
                media_type: layer_media_type,
                kodata: NewLayer { path: kodata.path, written: kodata.written },
                binary: NewLayer { path: produced.layer.path, written: produced.layer.written },
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
            layers_cached,
            started,
            finished: SystemTime::now(),
        };
        Ok((image, record))
    }

    /// `go build` into the cache's output for this import path and platform (locked against
    /// concurrent runs), or into the run's overflow when the cache cannot take the binary.
    async fn link(&self, link: Link<'_>) -> Result<Linked, BuildError> {
        let import_path = link.resolved.package.import_path.as_str();
        let cache = self.cache.clone();
        let (key_path, key_platform, key_directory) =
            (import_path.to_owned(), link.platform.clone(), link.resolved.run_directory.clone());
        let (output, refused) =
            tokio::task::spawn_blocking(move || cache.binary_output(&key_path, &key_platform, &key_directory))
                .await
                .map_err(task_error)??;
        if let Some(error) = refused {
            self.overflowing(&error);
        }
        let binary = output.directory.join(link.app_name);
        // Go touches an up-to-date output without relinking it: compare build IDs, not times.
        let build_id_before = crate::gobinary::read_build_id(&binary).ok();
        match self.go_build(&link, &binary).await {
            Ok(()) => Ok(Linked { output, binary, build_id_before }),
            // Go could not write the output into the cache (a full or read-only disk).
            Err(go::GoError::Failed { output: text, .. })
                if output.lock.is_some() && text.contains(&format!("{}: ", binary.display())) =>
            {
                let _ = std::fs::remove_file(&binary);
                drop(output);
                let written = format!("{}: ", binary.display());
                let reason = text.rsplit(&written).next().and_then(|rest| rest.lines().next()).unwrap_or("");
                self.overflowing(&std::io::Error::other(reason.trim().to_owned()));
                let output =
                    self.cache.overflow_binary_output(import_path, link.platform, &link.resolved.run_directory)?;
                let binary = output.directory.join(link.app_name);
                self.go_build(&link, &binary).await?;
                Ok(Linked { output, binary, build_id_before: None })
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn go_build(&self, link: &Link<'_>, binary: &Path) -> Result<(), go::GoError> {
        let import_path = link.resolved.package.import_path.as_str();
        let arguments =
            go::build_arguments(link.flags, link.ldflags, self.options.disable_optimizations, binary, import_path)?;
        let directory = &link.resolved.run_directory;
        go::run(&self.options.go, directory, &arguments, &link.environment, import_path, link.platform).await
    }

    /// The kodata layer of `resolved`'s package, written once per build however many
    /// platforms share it.
    async fn kodata_layer(&self, resolved: &Resolved, windows: bool) -> Result<MadeLayer, BuildError> {
        let source = resolved.package.directory.join("kodata");
        let cell = self
            .kodata
            .lock()
            .map_err(|_| BuildError::Task("a kodata layer's writer panicked".into()))?
            .entry((source.clone(), windows))
            .or_default()
            .clone();
        let layer = cell
            .get_or_try_init(|| async {
                let job = KodataJob {
                    source,
                    allowed_root: self.options.kodata_allowed_root.clone(),
                    time: self.options.image.kodata_time.map_or(0, |time| time.unix()),
                    windows,
                    compression: self.options.compression,
                    cache: self.cache.clone(),
                };
                tokio::task::spawn_blocking(move || job.run()).await.map_err(task_error)?
            })
            .await?;
        Ok(layer.clone())
    }

    /// Say once per run that the cache could not take something.
    fn overflowing(&self, error: &std::io::Error) {
        if !self.overflow_reported.swap(true, Ordering::Relaxed) {
            self.progress.warning(&format!(
                "cannot write into the cache `{}` ({error}); what does not fit is kept for this run only",
                self.cache.root().display()
            ));
        }
    }
}

/// One `go build`: what it builds and how.
struct Link<'a> {
    resolved: &'a Resolved,
    platform: &'a Platform,
    app_name: &'a str,
    flags: &'a [String],
    ldflags: &'a [String],
    environment: Vec<(OsString, OsString)>,
}

/// Where `go build` put the binary; the output stays locked until this is dropped.
struct Linked {
    output: BinaryOutput,
    binary: PathBuf,
    build_id_before: Option<String>,
}

fn task_error(error: tokio::task::JoinError) -> BuildError {
    BuildError::Task(error.to_string())
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
            .map_err(|source| BuildError::Base { import_path: import_path.to_string(), source: Box::new(source) })?;
        Ok(Arc::new(self.build_on(&resolved, base).await?))
    }
}
