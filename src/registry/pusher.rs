//! Pushing an artifact: every blob once per run (HEAD first, cross-repository mount from the
//! base's repository when on the same registry, else a streaming upload), several at once;
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
use crate::image::referrer::{LegacyAttachment, Referrer};
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
    /// Per registry: whether it has the referrers API.
    referrers_api: Mutex<HashMap<String, Arc<OnceCell<bool>>>>,
    pub stats: Arc<PushStats>,
}

/// Requests are waiting on the network and the registry, not on our cores: at least this many
/// run at once, whatever `-j` says (the registry's per-request work overlaps).
const MIN_CONCURRENT_REQUESTS: usize = 8;

impl Pusher {
    /// A pusher sending up to `max(jobs, 8)` requests at once.
    pub fn new(client: Arc<Client>, jobs: usize, stats: Arc<PushStats>) -> Pusher {
        Pusher {
            client,
            jobs: jobs.max(MIN_CONCURRENT_REQUESTS),
            done: Mutex::new(HashMap::new()),
            referrers_api: Mutex::new(HashMap::new()),
            stats,
        }
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
            blobs.extend(self.blobs_of(image, repository)?);
        }
        blobs.extend(attachment_blobs(referrers, legacy));
        // `push_blob` puts each digest once, however often it is listed.
        self.all(blobs.into_iter().map(|blob| self.push_blob(repository, blob)).collect()).await?;
        self.all(
            images
                .iter()
                .map(|image| async move {
                    self.client
                        .put_manifest(repository, image.digest().as_str(), image.media_type(), image.manifest_bytes())
                        .await
                })
                .collect(),
        )
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
        self.all(tags.iter().map(|tag| self.client.put_manifest(repository, tag, media_type, bytes)).collect()).await?;
        Ok(())
    }

    /// Push the manifests of referrers (with the referrers-tag fallback where the API is
    /// missing) and of cosign's legacy attachment images under their `sha256-<hex>.sbom` tags;
    /// their blobs went up with the image's. Requests run concurrently, bounded by `-j`.
    async fn attach(
        &self,
        repository: &Repository,
        referrers: &[Referrer],
        legacy: &[LegacyAttachment],
    ) -> Result<(), RegistryError> {
        let legacy_tags = async {
            self.all(
                legacy
                    .iter()
                    .map(|attachment| async move {
                        self.client
                            .put_manifest(
                                repository,
                                &attachment.tag,
                                media_type::OCI_MANIFEST,
                                &attachment.manifest_bytes,
                            )
                            .await
                    })
                    .collect(),
            )
            .await
        };
        futures::try_join!(self.put_referrers(repository, referrers), legacy_tags)?;
        Ok(())
    }

    /// Put referrer manifests; where the registry did not acknowledge the subject (no
    /// `OCI-Subject`) and has no referrers API, update the `sha256-<hex>` referrers tag.
    async fn put_referrers(&self, repository: &Repository, referrers: &[Referrer]) -> Result<(), RegistryError> {
        let acknowledged = self
            .all(
                referrers
                    .iter()
                    .map(|referrer| async move {
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
                        Ok((referrer, acknowledged))
                    })
                    .collect(),
            )
            .await?;
        let mut pending: Vec<(Digest, Vec<&Referrer>)> = Vec::new();
        for (referrer, acknowledged) in acknowledged {
            if acknowledged {
                continue;
            }
            match pending.iter_mut().find(|(subject, _)| subject == &referrer.subject.digest) {
                Some((_, list)) => list.push(referrer),
                None => pending.push((referrer.subject.digest.clone(), vec![referrer])),
            }
        }
        if let Some((subject, _)) = pending.first()
            && !self.referrers_api(repository, subject).await?
        {
            self.all(
                pending.iter().map(|(subject, list)| self.update_referrers_tag(repository, subject, list)).collect(),
            )
            .await?;
        }
        Ok(())
    }

    /// Run futures at most `-j` at a time; the first error wins. (They are collected first:
    /// lazily mapped iterators trip the compiler's `Send` checks in async traits.)
    async fn all<T, F>(&self, futures: Vec<F>) -> Result<Vec<T>, RegistryError>
    where
        F: std::future::Future<Output = Result<T, RegistryError>>,
    {
        futures::stream::iter(futures).buffer_unordered(self.jobs).try_collect().await
    }

    /// Whether the repository's registry answers the referrers API (asked once per run).
    async fn referrers_api(&self, repository: &Repository, subject: &Digest) -> Result<bool, RegistryError> {
        let cell = self.referrers_api.lock().await.entry(repository.registry().to_owned()).or_default().clone();
        cell.get_or_try_init(|| self.client.referrers_supported(repository, subject)).await.copied()
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
            None => IndexManifest::new(media_type::OCI_INDEX, Vec::new()),
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

/// The blobs of referrers and legacy attachments: the empty config, their documents and configs.
fn attachment_blobs(referrers: &[Referrer], legacy: &[LegacyAttachment]) -> Vec<Blob> {
    let referred = referrers.iter().flat_map(Referrer::blobs);
    referred
        .chain(legacy.iter().flat_map(LegacyAttachment::blobs))
        .map(|(digest, bytes)| Blob {
            digest: digest.clone(),
            size: bytes.len() as u64,
            body: BlobBody::Bytes(bytes::Bytes::copy_from_slice(bytes)),
            mount_from: None,
        })
        .collect()
}
