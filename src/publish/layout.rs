//! `--oci-layout-path DIR`: write the artifact (blobs, configs, manifests, index) into an OCI
//! image layout and add it to `index.json`, named with `org.opencontainers.image.ref.name` so
//! `skopeo`/`podman` can address it (`oci:DIR:<tag>`), and so that with one import path it is
//! the layout's only entry (`oci:DIR`, `umoci --image DIR` work as with ko's layouts). SBOM
//! referrers are written into the blobs too; `--oci-referrers` also lists them in `index.json`
//! for referrer-aware tools (`oras discover --oci-layout`). The printed reference is
//! `DIR@sha256:…`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::blobs::{BlobFiles, write_file};
use super::{Action, PublishError, Published, Publisher};
use crate::build::Built;
use crate::image::{Artifact, Descriptor, Image, IndexManifest, gojson, media_type};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub struct LayoutPublisher {
    path: PathBuf,
    tags: Vec<String>,
    blobs: BlobFiles,
    /// `--oci-referrers`: list referrers in `index.json` too.
    list_referrers: bool,
    index_lock: Mutex<()>,
}

impl LayoutPublisher {
    pub fn new(path: PathBuf, tags: Vec<String>, blobs: BlobFiles, list_referrers: bool) -> LayoutPublisher {
        LayoutPublisher { path, tags, blobs, list_referrers, index_lock: Mutex::new(()) }
    }

    fn blob_path(&self, digest: &crate::image::Digest) -> PathBuf {
        self.path.join("blobs").join("sha256").join(digest.hex())
    }

    async fn write_image(&self, image: &Image) -> Result<(), PublishError> {
        for layer in image.layers() {
            self.blobs.place(layer, &self.blob_path(&layer.descriptor.digest)).await?;
        }
        write_file(&self.blob_path(&image.manifest().config.digest), image.config_bytes())?;
        write_file(&self.blob_path(image.digest()), image.manifest_bytes())
    }
}

/// Create the layout skeleton (`oci-layout`, `blobs/sha256`) if missing.
pub fn prepare(path: &Path) -> Result<(), PublishError> {
    let write = |error: std::io::Error| PublishError::Write { path: path.to_owned(), message: error.to_string() };
    std::fs::create_dir_all(path.join("blobs").join("sha256")).map_err(write)?;
    let marker = path.join("oci-layout");
    if !marker.exists() {
        write_file(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    }
    Ok(())
}

/// Add `descriptors` to `index.json`, replacing entries that carry the same ref names; unnamed
/// entries (referrers) are added once per digest.
pub fn add_to_index(path: &Path, descriptors: Vec<Descriptor>) -> Result<(), PublishError> {
    let index_path = path.join("index.json");
    let mut index = match std::fs::read(&index_path) {
        Ok(bytes) => serde_json::from_slice::<IndexManifest>(&bytes).map_err(|error| PublishError::Write {
            path: index_path.clone(),
            message: format!("existing index.json is not an OCI index: {error}"),
        })?,
        Err(_) => IndexManifest::new(media_type::OCI_INDEX, Vec::new()),
    };
    for descriptor in descriptors {
        match descriptor.annotations.get(REF_NAME).cloned() {
            Some(name) => index.manifests.retain(|existing| existing.annotations.get(REF_NAME) != Some(&name)),
            None if index.manifests.iter().any(|existing| existing.digest == descriptor.digest) => continue,
            None => {}
        }
        index.manifests.push(descriptor);
    }
    write_file(&index_path, &gojson::to_vec(&index))
}

#[async_trait]
impl Publisher for LayoutPublisher {
    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        prepare(&self.path)?;
        let mut descriptor = built.artifact.descriptor();
        match &built.artifact {
            Artifact::Image(image) => {
                self.write_image(image).await?;
                descriptor.artifact_type = image.manifest().config.media_type.clone();
            }
            Artifact::Index(index) => {
                for child in index.children() {
                    self.write_image(child).await?;
                }
                write_file(&self.blob_path(index.digest()), index.bytes())?;
            }
        }
        let tag = self.tags.first().map_or("latest", String::as_str);
        descriptor.annotations.insert(REF_NAME.into(), format!("{name}:{tag}"));
        let mut descriptors = vec![descriptor];
        // SBOMs go in as OCI 1.1 referrers: their manifests name the image as `subject`.
        for attachment in &built.attachments {
            let referrer = &attachment.referrer;
            for (digest, bytes) in referrer.blobs() {
                write_file(&self.blob_path(digest), bytes)?;
            }
            write_file(&self.blob_path(referrer.digest()), referrer.manifest_bytes())?;
            if self.list_referrers {
                descriptors.push(referrer.descriptor());
            }
        }
        {
            let _guard = self.index_lock.lock().await;
            add_to_index(&self.path, descriptors)?;
        }
        let digest = built.artifact.digest().clone();
        let reference = format!("{}@{digest}", self.path.display());
        Ok(Published::new(reference, self.path.display().to_string(), digest, Vec::new(), Action::Wrote))
    }
}
