//! Reading what a reference points at (ggcr's `remote.Get`): resolve a tag or digest to an image
//! or to an index whose children are fetched only when asked for. Only manifests and configs
//! are downloaded; layers stay in the registry as [`BlobSource::Registry`] until something needs
//! their bytes.

use std::sync::Arc;

use async_trait::async_trait;

use super::client::Client;
use super::error::RegistryError;
use super::reference::{Reference, Repository};
use crate::image::{BlobSource, ChildImages, Descriptor, Image, ImageOrIndex, IndexManifest, LazyIndex, media_type};

/// The image or index `reference` names.
pub async fn get(client: &Arc<Client>, reference: &Reference) -> Result<ImageOrIndex<RegistryError>, RegistryError> {
    let repository = &reference.repository;
    let (bytes, media_type, digest) = client.get_manifest(repository, &reference.identifier()).await?;
    let invalid = |message: String| RegistryError::Protocol {
        registry: repository.registry().to_owned(),
        what: format!("manifest `{reference}`"),
        message,
    };
    if media_type::is_index(&media_type) {
        let manifest: IndexManifest =
            serde_json::from_slice(&bytes).map_err(|error| invalid(format!("invalid index: {error}")))?;
        let children = Arc::new(RegistryChildren { client: client.clone(), repository: repository.clone() });
        return Ok(ImageOrIndex::Index(LazyIndex::new(manifest, digest, children)));
    }
    if !media_type::is_image_manifest(&media_type) {
        return Err(invalid(format!("it is a `{media_type}`, not an image or an index")));
    }
    Ok(ImageOrIndex::Image(Arc::new(image(client, repository, bytes).await?)))
}

/// Fetches an index's children from the index's repository.
struct RegistryChildren {
    client: Arc<Client>,
    repository: Repository,
}

#[async_trait]
impl ChildImages for RegistryChildren {
    type Error = RegistryError;

    async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, RegistryError> {
        let digest = descriptor.digest.as_str();
        let (bytes, media_type, _) = self.client.get_manifest(&self.repository, digest).await?;
        if !media_type::is_image_manifest(&media_type) {
            return Err(RegistryError::Protocol {
                registry: self.repository.registry().to_owned(),
                what: format!("manifest `{}@{digest}`", self.repository),
                message: format!("it is a `{media_type}`, not an image manifest"),
            });
        }
        Ok(Arc::new(image(&self.client, &self.repository, bytes).await?))
    }
}

/// The image a manifest describes: its config is fetched, its layers stay in the registry.
async fn image(client: &Client, repository: &Repository, manifest: Vec<u8>) -> Result<Image, RegistryError> {
    let invalid = |message: String| RegistryError::Protocol {
        registry: repository.registry().to_owned(),
        what: format!("an image manifest of `{repository}`"),
        message,
    };
    let parsed: crate::image::Manifest =
        serde_json::from_slice(&manifest).map_err(|error| invalid(format!("it is not valid JSON: {error}")))?;
    let config = client.get_small_blob(repository, &parsed.config.digest).await?;
    let source = repository.to_string();
    Image::from_parts(manifest, config, |_| BlobSource::Registry { repository: source.clone() })
        .map_err(|error| invalid(error.to_string()))
}
