//! Pushing an artifact: every blob once per run (HEAD first, cross-repository mount from the
//! base's repository when on the same registry, else a streaming upload), bounded by `-j`;
//! then configs, then image manifests, then the index, then tags — so a failure never leaves
//! a tag pointing at something incomplete.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::{Mutex, OnceCell};

use super::api::{BlobBody, Mount};
use super::client::Client;
use super::error::RegistryError;
use super::reference::Repository;
use crate::image::referrer::{EMPTY_CONFIG, LegacyAttachment, Referrer};
use crate::image::{Artifact, BlobSource, Digest, Image, IndexManifest, gojson, media_type};

/// What the pusher did, for the report.
#[derive(Debug, Default)]
pub struct PushStats {
    pub uploaded: AtomicU64,
    pub uploaded_bytes: AtomicU64,
    pub mounted: AtomicU64,
    pub existing: AtomicU64,
    pub referrers: AtomicU64,
}

/// A blob in a repository (`registry/path`, digest): the unit pushed once per run.
type BlobKey = (String, Digest);

/// One blob to put into a repository.
#[derive(Clone)]
struct Blob {
    digest: Digest,
    size: u64,
    body: BlobBody,
    /// A repository on the same registry that holds it (for a mount).
    mount_from: Option<Repository>,
}

pub struct Pusher {
    client: Arc<Client>,
    jobs: usize,
    done: Mutex<HashMap<BlobKey, Arc<OnceCell<()>>>>,
    pub stats: PushStats,
}

impl Pusher {
    pub fn new(client: Arc<Client>, jobs: usize) -> Pusher {
        Pusher { client, jobs: jobs.max(1), done: Mutex::new(HashMap::new()), stats: PushStats::default() }
    }

    /// Push `artifact` to `repository` with its `referrers` and cosign `legacy` attachments, and
    /// tag it with each of `tags` (last).
    pub async fn push(
        &self,
        repository: &Repository,
        artifact: &Artifact,
        referrers: &[Referrer],
        legacy: &[LegacyAttachment],
        tags: &[String],
    ) -> Result<(), RegistryError> {
        let images = artifact.images();
        let mut blobs: Vec<Blob> = Vec::new();
        for image in &images {
            for blob in self.blobs_of(image, repository)? {
                if !blobs.iter().any(|known| known.digest == blob.digest) {
                    blobs.push(blob);
                }
            }
        }
        futures::stream::iter(blobs.into_iter().map(|blob| self.push_blob(repository, blob)))
            .buffer_unordered(self.jobs)
            .try_collect::<Vec<()>>()
            .await?;
        futures::stream::iter(images.iter().cloned().map(|image| async move {
            self.client
                .put_manifest(repository, image.digest().as_str(), image.media_type(), image.manifest_bytes())
                .await
                .map(|_| ())
        }))
        .buffer_unordered(self.jobs)
        .try_collect::<Vec<()>>()
        .await?;
        let (media_type, bytes) = match artifact {
            Artifact::Image(image) => (image.media_type().to_owned(), image.manifest_bytes().to_vec()),
            Artifact::Index(index) => {
                self.client
                    .put_manifest(repository, index.digest().as_str(), index.media_type(), index.bytes())
                    .await?;
                (index.media_type().to_owned(), index.bytes().to_vec())
            }
        };
        self.attach(repository, referrers, legacy).await?;
        let (media_type, bytes) = (&media_type, &bytes);
        futures::stream::iter(
            tags.iter().cloned().map(|tag| async move {
                self.client.put_manifest(repository, &tag, media_type, bytes).await.map(|_| ())
            }),
        )
        .buffer_unordered(self.jobs)
        .try_collect::<Vec<()>>()
        .await?;
        Ok(())
    }

    /// Push referrers (with the referrers-tag fallback where the API is missing), then cosign's
    /// legacy attachment images under their `sha256-<hex>.sbom` tags.
    async fn attach(
        &self,
        repository: &Repository,
        referrers: &[Referrer],
        legacy: &[LegacyAttachment],
    ) -> Result<(), RegistryError> {
        let bytes_blob = |bytes: &[u8]| Blob {
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            body: BlobBody::Bytes(bytes::Bytes::copy_from_slice(bytes)),
            mount_from: None,
        };
        let mut pending: Vec<(Digest, Vec<&Referrer>)> = Vec::new();
        for referrer in referrers {
            self.push_blob(repository, bytes_blob(EMPTY_CONFIG)).await?;
            self.push_blob(repository, bytes_blob(&referrer.blob)).await?;
            let acknowledged = self
                .client
                .put_manifest(
                    repository,
                    referrer.digest().as_str(),
                    media_type::OCI_MANIFEST,
                    referrer.manifest_bytes(),
                )
                .await?;
            self.stats.referrers.fetch_add(1, Ordering::Relaxed);
            if !acknowledged {
                match pending.iter_mut().find(|(subject, _)| subject == &referrer.subject.digest) {
                    Some((_, list)) => list.push(referrer),
                    None => pending.push((referrer.subject.digest.clone(), vec![referrer])),
                }
            }
        }
        for (subject, list) in pending {
            if self.client.referrers_supported(repository, &subject).await? {
                continue;
            }
            self.update_referrers_tag(repository, &subject, &list).await?;
        }
        for attachment in legacy {
            self.push_blob(repository, bytes_blob(&attachment.config_bytes)).await?;
            self.push_blob(repository, bytes_blob(&attachment.blob)).await?;
            self.client
                .put_manifest(repository, &attachment.tag, media_type::OCI_MANIFEST, &attachment.manifest_bytes)
                .await?;
        }
        Ok(())
    }

    /// The OCI 1.1 referrers tag schema: `sha256-<subject hex>` tags an index of referrers.
    async fn update_referrers_tag(
        &self,
        repository: &Repository,
        subject: &Digest,
        referrers: &[&Referrer],
    ) -> Result<(), RegistryError> {
        let tag = format!("sha256-{}", subject.hex());
        let mut index = match self.client.get_manifest_if_exists(repository, &tag).await? {
            Some(bytes) => {
                serde_json::from_slice::<IndexManifest>(&bytes).map_err(|error| RegistryError::Protocol {
                    registry: repository.registry().to_owned(),
                    what: format!("referrers tag `{tag}`"),
                    message: format!("not an image index: {error}"),
                })?
            }
            None => IndexManifest {
                schema_version: 2,
                media_type: media_type::OCI_INDEX.into(),
                artifact_type: String::new(),
                manifests: Vec::new(),
                annotations: Default::default(),
                subject: None,
            },
        };
        let before = index.manifests.len();
        for referrer in referrers {
            if !index.manifests.iter().any(|existing| &existing.digest == referrer.digest()) {
                index.manifests.push(referrer.descriptor());
            }
        }
        if index.manifests.len() == before {
            return Ok(());
        }
        self.client.put_manifest(repository, &tag, media_type::OCI_INDEX, &gojson::to_vec(&index)).await.map(|_| ())
    }

    fn blobs_of(&self, image: &Image, repository: &Repository) -> Result<Vec<Blob>, RegistryError> {
        let mut blobs = Vec::new();
        for layer in image.layers() {
            let (body, mount_from) = match &layer.source {
                BlobSource::Foreign => continue,
                BlobSource::File(path) => (BlobBody::File(path.clone()), None),
                BlobSource::Registry { repository: source, .. } => {
                    let source = Repository::parse(source).map_err(|error| RegistryError::Protocol {
                        registry: repository.registry().to_owned(),
                        what: "a base layer".into(),
                        message: error.to_string(),
                    })?;
                    let same_registry = source.registry() == repository.registry() && &source != repository;
                    (BlobBody::Remote(source.clone()), same_registry.then_some(source))
                }
            };
            if media_type::is_foreign_layer(&layer.descriptor.media_type) {
                continue;
            }
            blobs.push(Blob { digest: layer.descriptor.digest.clone(), size: layer.descriptor.size, body, mount_from });
        }
        let config = &image.manifest().config;
        blobs.push(Blob {
            digest: config.digest.clone(),
            size: config.size,
            body: BlobBody::Bytes(bytes::Bytes::copy_from_slice(image.config_bytes())),
            mount_from: None,
        });
        Ok(blobs)
    }

    /// Put one blob, at most once per repository per run.
    async fn push_blob(&self, repository: &Repository, blob: Blob) -> Result<(), RegistryError> {
        let key = (repository.to_string(), blob.digest.clone());
        let cell = self.done.lock().await.entry(key).or_default().clone();
        cell.get_or_try_init(|| self.put_blob(repository, &blob)).await.map(|_| ())
    }

    async fn put_blob(&self, repository: &Repository, blob: &Blob) -> Result<(), RegistryError> {
        if self.client.blob_exists(repository, &blob.digest).await? {
            self.stats.existing.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let mut session = None;
        if let Some(source) = &blob.mount_from {
            match self.client.mount_blob(repository, &blob.digest, source).await? {
                Mount::Mounted => {
                    self.stats.mounted.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Mount::Session(location) => session = Some(location),
            }
        }
        self.client.upload_blob(repository, &blob.digest, blob.size, &blob.body, session).await?;
        self.stats.uploaded.fetch_add(1, Ordering::Relaxed);
        self.stats.uploaded_bytes.fetch_add(blob.size, Ordering::Relaxed);
        Ok(())
    }
}
