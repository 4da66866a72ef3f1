//! The seam through which builds get their base image: a name (as the user wrote it) and either
//! one image or an index whose children are fetched on demand. Implementations live in
//! [`crate::base`]; builds never know where a base comes from.

use std::sync::Arc;

use async_trait::async_trait;

use super::ImportPath;
use crate::image::{Descriptor, Digest, Image, IndexManifest};

/// A resolved base image.
#[derive(Clone)]
pub struct Base {
    /// The reference as configured (`cgr.dev/chainguard/static:latest`), for the
    /// `org.opencontainers.image.base.name` annotation.
    pub name: String,
    pub root: BaseRoot,
}

#[derive(Clone)]
pub enum BaseRoot {
    Image(Arc<Image>),
    Index { manifest: Box<IndexManifest>, digest: Digest, children: Arc<dyn BaseChildren> },
}

/// Fetches the images an index base refers to.
#[async_trait]
pub trait BaseChildren: Send + Sync {
    async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, String>;
}

/// Chooses and fetches the base for an import path.
#[async_trait]
pub trait BaseSource: Send + Sync {
    async fn base(&self, import_path: &ImportPath) -> Result<Base, String>;
}
