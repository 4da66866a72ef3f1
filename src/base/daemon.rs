//! `ko.local/...` bases: images read from the Docker daemon at `DOCKER_HOST` (the default
//! socket when unset), as ko does with ggcr's `daemon.Image`. Such a base is one image, never an
//! index: a daemon holds one platform of each name.

use std::path::Path;
use std::sync::Arc;

use crate::build::{Base, BaseError};
use crate::daemon::DockerApi;
use crate::image::ImageOrIndex;
use crate::image::reference::Reference;

/// The registry name that means "the Docker daemon", for bases as for `KO_DOCKER_REPO`.
pub const LOCAL_DOMAIN: &str = "ko.local";

/// The base `reference` (in [`LOCAL_DOMAIN`]) names, with its layers gzipped into `blobs`.
pub async fn base(docker_host: Option<&str>, reference: &Reference, blobs: &Path) -> Result<Base, BaseError> {
    let api = DockerApi::from_host(docker_host)?;
    let name = reference.to_string();
    let image = crate::daemon::image::read(&api, &name, blobs).await?;
    Ok(Base { name, root: ImageOrIndex::Image(Arc::new(image)) })
}
