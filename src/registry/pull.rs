//! Base images from registries, behind the `base` seam: resolve a tag or digest, and for an
//! index fetch only the children a build needs. Only manifests and configs are downloaded; layers
//! stay in the registry as [`BlobSource::Registry`] until a local output needs their bytes.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::client::Client;
use super::reference::{Reference, Repository};
use crate::build::{Base, BaseChildren, BaseRoot};
use crate::image::{BlobSource, Descriptor, Image, IndexManifest, media_type};

/// Pulls bases (and blobs for local outputs) from registries.
pub struct RegistryPuller {
    pub client: Arc<Client>,
}

struct Children {
    client: Arc<Client>,
    repository: Repository,
}

async fn fetch_image(client: &Client, repository: &Repository, bytes: Vec<u8>) -> Result<Image, String> {
    let manifest: crate::image::Manifest =
        serde_json::from_slice(&bytes).map_err(|error| format!("its manifest is not valid JSON: {error}"))?;
    let config = client.get_small_blob(repository, &manifest.config.digest).await.map_err(|e| e.to_string())?;
    let source = repository.to_string();
    Image::from_parts(bytes, config, |_| BlobSource::Registry { repository: source.clone() }).map_err(|e| e.to_string())
}

#[async_trait]
impl BaseChildren for Children {
    async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, String> {
        let (bytes, media_type, _) =
            self.client.get_manifest(&self.repository, descriptor.digest.as_str()).await.map_err(|e| e.to_string())?;
        if !media_type::is_image_manifest(&media_type) {
            return Err(format!("`{}` is a `{media_type}`, not an image manifest", descriptor.digest));
        }
        Ok(Arc::new(fetch_image(&self.client, &self.repository, bytes).await?))
    }
}

#[async_trait]
impl crate::base::RegistryBases for RegistryPuller {
    async fn base(&self, text: &str) -> Result<Base, String> {
        let reference = Reference::parse(text).map_err(|error| error.to_string())?;
        let (bytes, media_type, digest) = self
            .client
            .get_manifest(&reference.repository, &reference.identifier())
            .await
            .map_err(|e| format!("base image: {e}"))?;
        let name = reference.to_string();
        if media_type::is_index(&media_type) {
            let manifest: IndexManifest = serde_json::from_slice(&bytes)
                .map_err(|error| format!("base image `{name}`: invalid index: {error}"))?;
            let children = Arc::new(Children { client: self.client.clone(), repository: reference.repository.clone() });
            return Ok(Base { name, root: BaseRoot::Index { manifest: Box::new(manifest), digest, children } });
        }
        if !media_type::is_image_manifest(&media_type) {
            return Err(format!("base image `{name}` is a `{media_type}`, not an image or an index"));
        }
        let image = fetch_image(&self.client, &reference.repository, bytes)
            .await
            .map_err(|e| format!("base image `{name}`: {e}"))?;
        Ok(Base { name, root: BaseRoot::Image(Arc::new(image)) })
    }
}

#[async_trait]
impl crate::publish::blobs::RemoteBlobs for RegistryPuller {
    async fn download(
        &self,
        repository: &str,
        digest: &crate::image::Digest,
        destination: &Path,
    ) -> Result<(), String> {
        let repository = Repository::parse(repository).map_err(|error| error.to_string())?;
        self.client.download_blob(&repository, digest, destination).await.map_err(|error| error.to_string())
    }
}
