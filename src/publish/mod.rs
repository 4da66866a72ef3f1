//! The `Publisher` seam: send a built artifact, under the name the caller gave it, somewhere
//! (registry, OCI layout, docker tarball, OCI archive, Docker daemon) and say what reference it
//! got and what was done. Naming happens once, before publishing ([`Namer`]); publishing to
//! several places is a small wrapper; documents made once the digests are known (signatures,
//! attestations) come from an [`Attacher`] that the registry publisher calls between pushing
//! content by digest and moving tags. Wired together in `cli`.

pub mod archive;
pub mod blobs;
pub mod daemon;
pub mod docker_api;
pub mod docker_ssh;
pub mod kind;
pub mod layout;
pub mod multi;
pub mod namer;
pub mod nop;
pub mod registry;
pub mod tarball;

use async_trait::async_trait;

use crate::build::{Built, ImportPath};
use crate::image::Digest;
use crate::image::referrer::Attachment;

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
    /// What was done with it.
    pub action: Action,
    /// Documents attached while publishing (signatures, attestations), beyond the build's.
    pub attachments: Vec<Attachment>,
}

/// What publishing did, for the status line: only what happened is claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Pushed to a registry.
    Published,
    /// Written into an OCI layout.
    Wrote,
    /// Loaded into a Docker daemon or kind.
    Loaded,
    /// Nothing written yet (`--push=false`, or a file written when the run closes).
    Built,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Published => "Published",
            Action::Wrote => "Wrote",
            Action::Loaded => "Loaded",
            Action::Built => "Built",
        }
    }
}

impl Published {
    /// What a publisher returns: `reference` for `name`, nothing noted or attached yet.
    pub fn new(reference: String, name: String, digest: Digest, tags: Vec<String>, action: Action) -> Published {
        Published { reference, name, digest, tags, notes: Vec::new(), action, attachments: Vec::new() }
    }
}

/// Makes documents for an artifact once its content is in a registry by digest, before any tag
/// moves (signing). `name` is the repository it was pushed to.
#[async_trait]
pub trait Attacher: Send + Sync {
    async fn attachments(&self, name: &str, built: &Built) -> Result<Vec<Attachment>, PublishError>;
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

    /// Publish one build under `name` (a repository, from the [`Namer`]); the returned
    /// reference is what `rko build` prints.
    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError>;

    /// Finish: tarball and archive outputs are written here. Returns the files written.
    async fn close(&self) -> Result<Vec<std::path::PathBuf>, PublishError> {
        Ok(Vec::new())
    }
}
