//! The seam through which builds get their base image: a name (as the user wrote it) and either
//! one image or an index whose children are fetched on demand ([`ImageOrIndex`]).
//! Implementations live in `base` (above `build`): builds never know where a base comes from,
//! only what kind of failure getting it was ([`BaseError::kind`]).

use async_trait::async_trait;

use super::ImportPath;
use crate::daemon::DaemonError;
use crate::image::reference::ReferenceError;
use crate::image::{Digest, ImageOrIndex};
use crate::registry::{ErrorKind, RegistryError};

/// A resolved base image.
#[derive(Clone)]
pub struct Base {
    /// The reference as configured (`cgr.dev/chainguard/static:latest`), for the
    /// `org.opencontainers.image.base.name` annotation.
    pub name: String,
    pub root: BaseRoot,
}

/// A base's image, or its index with children fetched when a build needs them.
pub type BaseRoot = ImageOrIndex<BaseError>;

/// Why a base image could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error(
        "the built-in base image is for Linux, not `{platform}`; set KO_DEFAULTBASEIMAGE (or defaultBaseImage) to a base for that OS"
    )]
    BuiltinPlatform { platform: String },
    #[error("cannot write the built-in base into the cache `{path}`")]
    Cache { path: String, source: std::io::Error },
    #[error("base image `{base}` needs a registry, and no registry client is configured")]
    NoRegistry { base: String },
    #[error("no image `{digest}` in the {base} base")]
    MissingChild { base: String, digest: Digest },
    #[error("base image task failed: {0}")]
    Task(String),
}

impl From<RegistryError> for BaseError {
    fn from(error: RegistryError) -> BaseError {
        BaseError::Registry(Box::new(error))
    }
}

impl BaseError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            BaseError::Reference(_) | BaseError::BuiltinPlatform { .. } | BaseError::MissingChild { .. } => {
                ErrorKind::Invalid
            }
            BaseError::Registry(error) => error.kind(),
            BaseError::Daemon(error) => error.kind(),
            BaseError::Cache { .. } | BaseError::NoRegistry { .. } | BaseError::Task(_) => ErrorKind::Local,
        }
    }
}

/// Chooses and fetches the base for an import path.
#[async_trait]
pub trait BaseSource: Send + Sync {
    async fn base(&self, import_path: &ImportPath) -> Result<Base, BaseError>;
}
