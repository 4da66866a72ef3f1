//! The `Builder` seam: turn an import path into an image or index. [`GoBuilder`] runs
//! `go build`, writes the kodata and binary layers and assembles the image on a base that comes
//! in through the [`BaseSource`] seam. This module never talks to a registry.

pub mod assemble;
pub mod base;
pub mod capabilities;
pub mod go;
pub mod gobuilder;
pub mod index;
pub mod jobs;
pub mod layers;
pub mod package;
pub mod platforms;
pub mod templating;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::gobinary::BuildInfo;
pub use crate::image::referrer::Attachment;
use crate::image::{Artifact, Digest, Platform};

pub use base::{Base, BaseError, BaseRoot, BaseSource};
pub use gobuilder::{GoBuilder, GoBuilderOptions};
pub use platforms::PlatformRequest;

/// A Go import path (`example.com/app/cmd/hello`), without the `ko://` prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImportPath(String);

impl ImportPath {
    pub fn new(path: String) -> ImportPath {
        ImportPath(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImportPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One platform's build, for reports and SBOMs.
#[derive(Clone, Debug)]
pub struct PlatformBuild {
    pub platform: Platform,
    pub image: Digest,
    pub binary: PathBuf,
    /// Where the binary lives in the image (`/ko-app/<name>`).
    pub app_path: String,
    /// The binary's Go build information, or why it could not be read.
    pub build_info: Result<Arc<BuildInfo>, String>,
    /// Whether `go build` wrote a new binary (false when the output was already up to date).
    pub relinked: bool,
    /// Whether both layers came from the layer cache (neither tarred nor compressed).
    pub layers_cached: bool,
    pub started: SystemTime,
    pub finished: SystemTime,
}

/// The result of building one import path.
#[derive(Clone, Debug)]
pub struct Built {
    pub import_path: ImportPath,
    pub artifact: Artifact,
    pub platforms: Vec<PlatformBuild>,
    pub attachments: Vec<Attachment>,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Package(#[from] package::PackageError),
    #[error(transparent)]
    Go(#[from] go::GoError),
    #[error(transparent)]
    Layer(#[from] layers::LayerError),
    #[error(transparent)]
    Capabilities(#[from] capabilities::CapabilityError),
    #[error(transparent)]
    Image(#[from] crate::image::artifact::ImageError),
    #[error("cannot use the base image for `{import_path}`")]
    Base { import_path: String, source: Box<BaseError> },
    #[error(
        "base image `{base}` is for `{base_platform}`, which does not match the requested platform(s) `{requested}`; pick a matching `--platform` or another base"
    )]
    PlatformMismatch { base: String, base_platform: String, requested: String },
    #[error(
        "base image `{base}` has no image for `{requested}` (it has: {available}); pick one of those platforms or another base"
    )]
    NoMatchingPlatform { base: String, requested: String, available: String },
    #[error(
        "base image `{base}` nests an index (`{digest}`, `{media_type}`) inside its index, which rko (like ko) does not support"
    )]
    NestedIndex { base: String, digest: Digest, media_type: String },
    #[error("cannot build `{import_path}` with these layers: {message}")]
    Compression { import_path: String, message: String },
    #[error("template `{template}` in {place}: {message}")]
    Template { template: String, place: String, message: String },
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    #[error("cannot write `{}`: {message}", path.display())]
    Output { path: PathBuf, message: String },
    #[error("build task failed: {0}")]
    Task(String),
}

impl BuildError {
    /// What kind of failure this is; a base image's registry or daemon error passes its own on.
    pub fn kind(&self) -> crate::registry::ErrorKind {
        use crate::registry::ErrorKind;
        match self {
            BuildError::Base { source, .. } => source.kind(),
            BuildError::Layer(layers::LayerError::Read(..) | layers::LayerError::Write(..))
            | BuildError::Go(go::GoError::Spawn { .. })
            | BuildError::Cache { .. }
            | BuildError::Output { .. }
            | BuildError::Task(_) => ErrorKind::Local,
            BuildError::Package(_)
            | BuildError::Go(_)
            | BuildError::Layer(_)
            | BuildError::Capabilities(_)
            | BuildError::Image(_)
            | BuildError::PlatformMismatch { .. }
            | BuildError::NoMatchingPlatform { .. }
            | BuildError::NestedIndex { .. }
            | BuildError::Compression { .. }
            | BuildError::Template { .. } => ErrorKind::Invalid,
        }
    }
}

/// Builds import paths into artifacts.
#[async_trait]
pub trait Builder: Send + Sync {
    /// Resolve what the user wrote (`./cmd/app`, `ko://…`, an import path) to the import path
    /// to build, failing unless it is a `package main`.
    fn qualify(&self, reference: &str) -> Result<ImportPath, BuildError>;

    /// Build one import path for every requested platform.
    async fn build(&self, import_path: &ImportPath) -> Result<Arc<Built>, BuildError>;
}

/// What a builder reports while it works; the CLI turns these into status lines.
pub trait Progress: Send + Sync {
    fn building(&self, import_path: &ImportPath, platform: &Platform);
    fn warning(&self, message: &str);
}

/// A progress sink that drops everything (tests, library use).
pub struct Silent;

impl Progress for Silent {
    fn building(&self, _: &ImportPath, _: &Platform) {}
    fn warning(&self, _: &str) {}
}
