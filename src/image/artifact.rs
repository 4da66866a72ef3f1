//! Images, indexes and the `Artifact` a build produces. These are immutable values: the
//! manifest and config bytes are computed once, and every edit returns a new value. Layer bytes
//! are never held here, only where to find them. Depends only on the rest of `image`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::ConfigFile;
use super::digest::Digest;
use super::gojson;
use super::layer::{BlobSource, Layer};
use super::manifest::{Descriptor, IndexManifest, Manifest};
use super::media_type;
use super::platform::Platform;

/// A single-platform image: manifest, config and layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    digest: Digest,
    config: ConfigFile,
    config_bytes: Vec<u8>,
    layers: Vec<Layer>,
}

/// An image that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image manifest lists {manifest} layers but the config lists {config} diffIDs")]
    LayerCount { manifest: usize, config: usize },
    #[error("media type `{0}` is not an image manifest")]
    NotAnImage(String),
    #[error("config digest `{actual}` does not match the manifest's `{expected}`")]
    ConfigDigest { expected: Digest, actual: Digest },
    #[error("invalid image {0}")]
    Json(&'static str, #[source] serde_json::Error),
}

impl Image {
    /// Assemble an image from its config and layers; the manifest is derived, keeping the
    /// template's media type, annotations and config media type.
    pub fn assemble(template: &Manifest, config: ConfigFile, layers: Vec<Layer>) -> Result<Image, ImageError> {
        if layers.len() != config.rootfs.diff_ids.len() {
            return Err(ImageError::LayerCount { manifest: layers.len(), config: config.rootfs.diff_ids.len() });
        }
        let config_bytes = gojson::to_vec(&config);
        let mut manifest = template.clone();
        manifest.config = Descriptor {
            size: config_bytes.len() as u64,
            digest: Digest::of(&config_bytes),
            ..template.config.clone()
        };
        manifest.layers = layers.iter().map(|layer| layer.descriptor.clone()).collect();
        Ok(Image::from_manifest(manifest, config, config_bytes, layers))
    }

    /// An image exactly as a registry or layout serves it (bytes kept verbatim); `source`
    /// says where each layer's bytes live.
    pub fn from_parts(
        manifest_bytes: Vec<u8>,
        config_bytes: Vec<u8>,
        source: impl Fn(&Descriptor) -> BlobSource,
    ) -> Result<Image, ImageError> {
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| ImageError::Json("manifest", e))?;
        let config: ConfigFile = serde_json::from_slice(&config_bytes).map_err(|e| ImageError::Json("config", e))?;
        if manifest.layers.len() != config.rootfs.diff_ids.len() {
            return Err(ImageError::LayerCount {
                manifest: manifest.layers.len(),
                config: config.rootfs.diff_ids.len(),
            });
        }
        let layers = manifest
            .layers
            .iter()
            .zip(&config.rootfs.diff_ids)
            .map(|(descriptor, diff_id)| Layer {
                descriptor: descriptor.clone(),
                diff_id: diff_id.clone(),
                source: if media_type::is_foreign_layer(&descriptor.media_type) {
                    BlobSource::Foreign
                } else {
                    source(descriptor)
                },
            })
            .collect();
        let digest = Digest::of(&manifest_bytes);
        Ok(Image { manifest, manifest_bytes, digest, config, config_bytes, layers })
    }

    fn from_manifest(manifest: Manifest, config: ConfigFile, config_bytes: Vec<u8>, layers: Vec<Layer>) -> Image {
        let manifest_bytes = gojson::to_vec(&manifest);
        let digest = Digest::of(&manifest_bytes);
        Image { manifest, manifest_bytes, digest, config, config_bytes, layers }
    }

    /// A copy with annotations merged into the manifest.
    pub fn with_annotations(&self, annotations: &BTreeMap<String, String>) -> Image {
        let mut manifest = self.manifest.clone();
        manifest.annotations.extend(annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
        Image::from_manifest(manifest, self.config.clone(), self.config_bytes.clone(), self.layers.clone())
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn media_type(&self) -> &str {
        if self.manifest.media_type.is_empty() { media_type::OCI_MANIFEST } else { &self.manifest.media_type }
    }

    pub fn config(&self) -> &ConfigFile {
        &self.config
    }

    pub fn config_bytes(&self) -> &[u8] {
        &self.config_bytes
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The descriptor of this image's manifest.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type(), self.manifest_bytes.len() as u64, self.digest.clone())
    }

    pub fn platform(&self) -> Platform {
        self.config.platform()
    }
}

/// A multi-platform index of images rko built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    manifest: IndexManifest,
    bytes: Vec<u8>,
    digest: Digest,
    children: Vec<Arc<Image>>,
}

impl Index {
    /// Assemble an index from images and their descriptors (platform, annotations, URLs).
    pub fn assemble(
        media_type: &str,
        annotations: BTreeMap<String, String>,
        children: Vec<(Descriptor, Arc<Image>)>,
    ) -> Index {
        let manifests = children.iter().map(|(descriptor, _)| descriptor.clone()).collect();
        let manifest = IndexManifest { annotations, ..IndexManifest::new(media_type, manifests) };
        let bytes = gojson::to_vec(&manifest);
        let digest = Digest::of(&bytes);
        Index { manifest, bytes, digest, children: children.into_iter().map(|(_, image)| image).collect() }
    }

    pub fn manifest(&self) -> &IndexManifest {
        &self.manifest
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn media_type(&self) -> &str {
        &self.manifest.media_type
    }

    /// The images, in the order of the index's descriptors.
    pub fn children(&self) -> &[Arc<Image>] {
        &self.children
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type(), self.bytes.len() as u64, self.digest.clone())
    }
}

/// What a build produces: one image, or an index of per-platform images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Artifact {
    Image(Arc<Image>),
    Index(Arc<Index>),
}

impl Artifact {
    pub fn digest(&self) -> &Digest {
        match self {
            Artifact::Image(image) => image.digest(),
            Artifact::Index(index) => index.digest(),
        }
    }

    pub fn descriptor(&self) -> Descriptor {
        match self {
            Artifact::Image(image) => image.descriptor(),
            Artifact::Index(index) => index.descriptor(),
        }
    }

    /// Every image in the artifact (the image itself, or the index's children).
    pub fn images(&self) -> Vec<Arc<Image>> {
        match self {
            Artifact::Image(image) => vec![image.clone()],
            Artifact::Index(index) => index.children().to_vec(),
        }
    }
}

/// Check an image's internal consistency (ggcr's `validate`, without reading layer bytes).
pub fn validate(image: &Image) -> Result<(), ImageError> {
    if !media_type::is_image_manifest(image.media_type()) {
        return Err(ImageError::NotAnImage(image.media_type().to_owned()));
    }
    let actual = Digest::of(image.config_bytes());
    if actual != image.manifest().config.digest {
        return Err(ImageError::ConfigDigest { expected: image.manifest().config.digest.clone(), actual });
    }
    if image.layers().len() != image.config().rootfs.diff_ids.len() {
        return Err(ImageError::LayerCount {
            manifest: image.layers().len(),
            config: image.config().rootfs.diff_ids.len(),
        });
    }
    Ok(())
}
