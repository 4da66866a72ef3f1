//! Pushing an artifact, in explicit phases the publisher runs in order: content (every blob
//! once per run — HEAD first, cross-repository mount from the base's repository when on the
//! same registry, else a streaming upload, several at once — each image manifest as soon as its
//! own blobs are there, the index after all of them, by digest), attachments (SBOMs,
//! signatures, attestations), and tags last, so a failure never leaves a tag pointing at
//! something incomplete or unsigned. Every manifest and tag is HEADed first and not put again
//! when the registry already holds exactly that digest there, so an unchanged push writes
//! nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::{Mutex, OnceCell, Semaphore};

use super::api::{BlobBody, Mount};
use super::client::Client;
use super::error::RegistryError;
use super::reference::Repository;
use crate::image::referrer::{Attachment, LegacyAttachment, LegacyMode, Referrer};
use crate::image::{Artifact, BlobSource, Digest, Image, IndexManifest, gojson, media_type};

/// What the pusher did, for the report.
#[derive(Debug, Default)]
pub struct PushStats {
    pub uploaded: AtomicU64,
    pub uploaded_bytes: AtomicU64,
    pub mounted: AtomicU64,
    pub existing: AtomicU64,
    pub referrers: AtomicU64,
    /// Manifests and tags not put because the registry already held exactly that digest.
    pub manifests_existing: AtomicU64,
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
    /// Bounds the requests in flight across nested phases (an image's blobs run beside other
    /// images' blobs) to `jobs`; held only around single requests, never while waiting on others.
    requests: Semaphore,
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
            requests: Semaphore::new(jobs.max(MIN_CONCURRENT_REQUESTS)),
            done: Mutex::new(HashMap::new()),
            referrers_api: Mutex::new(HashMap::new()),
            stats,
        }
    }

    /// Phase 1 and 2: every blob of `artifact` (and of `attachments`, so their small documents
    /// travel with the layers), each image manifest once its own blobs are there (the images of
    /// an index side by side), then the index, by digest. Nothing is tagged.
    pub async fn push_content(
        &self,
        repository: &Repository,
        artifact: &Artifact,
        attachments: &[Attachment],
    ) -> Result<(), RegistryError> {
        let images = artifact.images();
        let mut pushes = Vec::new();
        for image in &images {
            let blobs = self.blobs_of(image, repository)?;
            pushes.push(async move {
                // `push_blob` puts each digest once, however often (in however many images) it is listed.
                self.all(blobs.into_iter().map(|blob| self.push_blob(repository, blob)).collect()).await?;
                let digest = image.digest();
                self.put_manifest(repository, digest.as_str(), digest, image.media_type(), image.manifest_bytes())
                    .await
                    .map(|_| ())
            });
        }
        let attachment_blobs = attachment_blobs(attachments).into_iter().map(|blob| self.push_blob(repository, blob));
        futures::try_join!(self.all(pushes), self.all(attachment_blobs.collect()))?;
        if let Artifact::Index(index) = artifact {
            let digest = index.digest();
            self.put_manifest(repository, digest.as_str(), digest, index.media_type(), index.bytes()).await?;
        }
        Ok(())
    }

    /// Phase 3: attachments (SBOMs, signatures, attestations) as referrers, with the
    /// referrers-tag fallback where the API is missing, and as cosign's legacy images under
    /// their `sha256-<hex>.<kind>` tags (replaced, or appended to). Blobs already pushed with
    /// the content are not sent again. Requests run concurrently, bounded by `-j`; appends to
    /// one tag run in order, so none is lost.
    pub async fn attach(&self, repository: &Repository, attachments: &[Attachment]) -> Result<(), RegistryError> {
        self.all(attachment_blobs(attachments).into_iter().map(|blob| self.push_blob(repository, blob)).collect())
            .await?;
        let referrers: Vec<&Referrer> = attachments.iter().map(|attachment| &attachment.referrer).collect();
        let mut by_tag: Vec<(&str, Vec<&LegacyAttachment>)> = Vec::new();
        for legacy in attachments.iter().filter_map(|attachment| attachment.legacy.as_ref()) {
            match by_tag.iter_mut().find(|(tag, _)| *tag == legacy.tag) {
                Some((_, list)) => list.push(legacy),
                None => by_tag.push((&legacy.tag, vec![legacy])),
            }
        }
        let legacy_tags = self.all(
            by_tag
                .iter()
                .map(|(_, list)| async move {
                    for legacy in list {
                        self.put_legacy(repository, legacy).await?;
                    }
                    Ok(())
                })
                .collect(),
        );
        futures::try_join!(self.put_referrers(repository, &referrers), legacy_tags)?;
        Ok(())
    }

    /// Phase 4, last: point each of `tags` at `artifact`.
    pub async fn tag(
        &self,
        repository: &Repository,
        artifact: &Artifact,
        tags: &[String],
    ) -> Result<(), RegistryError> {
        let (media_type, bytes) = match artifact {
            Artifact::Image(image) => (image.media_type(), image.manifest_bytes()),
            Artifact::Index(index) => (index.media_type(), index.bytes()),
        };
        let digest = artifact.digest();
        self.all(tags.iter().map(|tag| self.put_manifest(repository, tag, digest, media_type, bytes)).collect())
            .await?;
        Ok(())
    }

    /// Put a manifest (of `digest`) under `reference` (a tag or that digest), unless a `HEAD`
    /// shows the registry already holds exactly that digest there. `None` when it was not put,
    /// else whether the registry acknowledged a `subject`.
    async fn put_manifest(
        &self,
        repository: &Repository,
        reference: &str,
        digest: &Digest,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Option<bool>, RegistryError> {
        let _permit = self.requests.acquire().await.map_err(|_| closed(repository))?;
        if self.client.manifest_present(repository, reference, digest).await? {
            self.stats.manifests_existing.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        self.client.put_manifest(repository, reference, media_type, bytes).await.map(Some)
    }

    /// One legacy attachment image: put under its tag, or appended to the image the tag holds.
    async fn put_legacy(&self, repository: &Repository, legacy: &LegacyAttachment) -> Result<(), RegistryError> {
        let legacy = match legacy.mode {
            LegacyMode::Replace => {
                let digest = Digest::of(&legacy.manifest_bytes);
                let bytes = &legacy.manifest_bytes;
                self.put_manifest(repository, &legacy.tag, &digest, media_type::OCI_MANIFEST, bytes).await?;
                return Ok(());
            }
            LegacyMode::Append => match self.client.get_manifest_if_exists(repository, &legacy.tag).await? {
                None => std::borrow::Cow::Borrowed(legacy),
                Some(existing) => {
                    let protocol = |message: String| RegistryError::Protocol {
                        registry: repository.registry().to_owned(),
                        what: format!("tag `{}`", legacy.tag),
                        message,
                    };
                    let manifest: crate::image::Manifest =
                        serde_json::from_slice(&existing).map_err(|error| protocol(error.to_string()))?;
                    let config = self.client.get_small_blob(repository, &manifest.config.digest).await?;
                    match legacy.appended_to(&existing, &config).map_err(|error| protocol(error.to_string()))? {
                        None => {
                            self.stats.manifests_existing.fetch_add(1, Ordering::Relaxed);
                            return Ok(());
                        }
                        Some(merged) => {
                            let (digest, bytes) = (&merged.manifest().config.digest, &merged.config_bytes);
                            let blob = Blob {
                                digest: digest.clone(),
                                size: bytes.len() as u64,
                                body: BlobBody::Bytes(bytes::Bytes::copy_from_slice(bytes)),
                                mount_from: None,
                            };
                            self.push_blob(repository, blob).await?;
                            std::borrow::Cow::Owned(merged)
                        }
                    }
                }
            },
        };
        self.client.put_manifest(repository, &legacy.tag, media_type::OCI_MANIFEST, &legacy.manifest_bytes).await?;
        Ok(())
    }

    /// Put referrer manifests; where the registry did not acknowledge the subject (no
    /// `OCI-Subject`, or the referrer was there already) and has no referrers API, update the
    /// `sha256-<hex>` referrers tag (rewritten only when a referrer is added to it).
    async fn put_referrers(&self, repository: &Repository, referrers: &[&Referrer]) -> Result<(), RegistryError> {
        let acknowledged = self
            .all(
                referrers
                    .iter()
                    .map(|&referrer| async move {
                        let digest = referrer.digest();
                        let bytes = referrer.manifest_bytes();
                        let put =
                            self.put_manifest(repository, digest.as_str(), digest, media_type::OCI_MANIFEST, bytes);
                        let acknowledged = put.await?;
                        self.stats.referrers.fetch_add(1, Ordering::Relaxed);
                        Ok((referrer, acknowledged == Some(true)))
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
        cell.get_or_try_init(|| async {
            let _permit = self.requests.acquire().await.map_err(|_| closed(repository))?;
            self.put_blob(repository, &blob).await
        })
        .await
        .map(|_| ())
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

/// The error of a closed request semaphore (never closed while the pusher lives).
fn closed(repository: &Repository) -> RegistryError {
    RegistryError::Protocol {
        registry: repository.registry().to_owned(),
        what: "a push".into(),
        message: "the pusher was shut down".into(),
    }
}

/// The blobs of attachments: the empty config, their documents, their legacy images' configs.
fn attachment_blobs(attachments: &[Attachment]) -> Vec<Blob> {
    attachments
        .iter()
        .flat_map(|attachment| {
            let legacy = attachment.legacy.iter().flat_map(LegacyAttachment::blobs);
            attachment.referrer.blobs().into_iter().chain(legacy)
        })
        .map(|(digest, bytes)| Blob {
            digest: digest.clone(),
            size: bytes.len() as u64,
            body: BlobBody::Bytes(bytes::Bytes::copy_from_slice(bytes)),
            mount_from: None,
        })
        .collect()
}
