//! The `Publisher` seam: send a built artifact somewhere (registry, OCI layout, docker tarball,
//! OCI archive, Docker daemon) and say what reference it got. Naming, recording
//! (`--image-refs`) and publishing to several places are small wrappers in their own files,
//! wired together in `cli`.

pub mod archive;
pub mod blobs;
pub mod daemon;
pub mod docker_api;
pub mod kind;
pub mod layout;
pub mod multi;
pub mod namer;
pub mod nop;
pub mod recorder;
pub mod registry;
pub mod tarball;

use async_trait::async_trait;

use crate::build::{Built, ImportPath};
use crate::image::Digest;

pub use namer::{Namer, NamingStyle};

/// Where an artifact ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The reference to print (`name@sha256:…`, `name:tag@sha256:…`, `name:tag`).
    pub reference: String,
    /// The repository name the artifact got (without tag or digest).
    pub name: String,
    pub digest: Digest,
    /// Tags applied, as `name:tag`.
    pub tags: Vec<String>,
    /// What the user should know about this output (printed on stderr).
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot write `{}`: {message}", path.display())]
    Write { path: std::path::PathBuf, message: String },
    #[error("cannot read blob `{digest}` from `{source_name}`: {message}")]
    Blob { digest: Digest, source_name: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Registry(String),
}

#[async_trait]
pub trait Publisher: Send + Sync {
    /// Called for each import path before it is built, so a publisher can get ready (connect,
    /// authenticate) while `go build` runs.
    fn prepare(&self, _import_path: &ImportPath) {}

    /// Publish one build; the returned reference is what `rko build` prints.
    async fn publish(&self, built: &Built) -> Result<Published, PublishError>;

    /// Finish (tarball and archive outputs are written here).
    async fn close(&self) -> Result<(), PublishError> {
        Ok(())
    }
}
