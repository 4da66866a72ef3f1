//! `--tarball FILE` and `--oci-archive FILE`: collect every published artifact, then write one
//! archive on close (see [`super::archive`]). For docker's classic loader an index contributes
//! the image of rko's own platform when it has one (else its first), and the result says so.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::archive::{ArchiveEntry, ArchiveFormat, write_archive};
use super::blobs::BlobFiles;
use super::{Action, PublishError, Published, Publisher};
use crate::build::Built;
use crate::image::platform::go_architecture;
use crate::image::{Artifact, Image, Platform};

/// Which single-file format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `docker load`-able (and an OCI archive too).
    Docker,
    Oci,
}

pub struct ArchivePublisher {
    path: PathBuf,
    kind: ArchiveKind,
    tags: Vec<String>,
    blobs: BlobFiles,
    /// The platform docker's classic loader gets from an index.
    platform: Platform,
    /// `--oci-referrers`: list SBOM referrers in the archive's `index.json`.
    list_referrers: bool,
    entries: Mutex<Vec<ArchiveEntry>>,
}

impl ArchivePublisher {
    pub fn new(
        path: PathBuf,
        kind: ArchiveKind,
        tags: Vec<String>,
        blobs: BlobFiles,
        platform: Platform,
        list_referrers: bool,
    ) -> Self {
        ArchivePublisher { path, kind, tags, blobs, platform, list_referrers, entries: Mutex::new(Vec::new()) }
    }
}

/// The image of `artifact` for `platform` (itself when it is a single image).
pub fn select_image(artifact: &Artifact, platform: &Platform) -> Option<Arc<Image>> {
    match artifact {
        Artifact::Image(image) => Some(image.clone()),
        Artifact::Index(index) => index.children().iter().find(|child| platform.matches(&child.platform())).cloned(),
    }
}

/// The platform a local Docker runs: Linux on rko's own architecture (on macOS too, where
/// Docker runs Linux in a VM).
pub fn host_platform() -> Platform {
    Platform::new("linux", go_architecture(std::env::consts::ARCH), "")
}

#[async_trait]
impl Publisher for ArchivePublisher {
    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        let tags: Vec<String> = self.tags.iter().map(|tag| format!("{name}:{tag}")).collect();
        let digest = built.artifact.digest().clone();
        let mut notes = Vec::new();
        let docker_image = match (self.kind, &built.artifact) {
            (ArchiveKind::Oci, _) => None,
            (ArchiveKind::Docker, Artifact::Image(image)) => Some((image.clone(), tags.clone())),
            (ArchiveKind::Docker, Artifact::Index(index)) => {
                let image = select_image(&built.artifact, &self.platform).or_else(|| index.children().first().cloned());
                if let Some(image) = &image {
                    notes.push(format!(
                        "--tarball: `docker load` (classic store) gets the {} image of `{}`; the archive's OCI index holds all {} platforms",
                        image.platform(),
                        built.import_path,
                        index.children().len()
                    ));
                }
                image.map(|image| (image, tags.clone()))
            }
        };
        self.entries.lock().await.push(ArchiveEntry {
            artifact: built.artifact.clone(),
            referrers: built.attachments.iter().map(|attachment| attachment.referrer.clone()).collect(),
            list_referrers: self.list_referrers,
            reference_names: tags.clone(),
            docker_image,
        });
        let reference = match (self.kind, self.tags.as_slice()) {
            (ArchiveKind::Oci, _) => format!("{}@{digest}", self.path.display()),
            (ArchiveKind::Docker, [tag]) if tag != "latest" => format!("{name}:{tag}@{digest}"),
            (ArchiveKind::Docker, _) => format!("{name}@{digest}"),
        };
        // The file is written when the run closes: nothing is claimed before that.
        let mut published = Published::new(reference, name.to_owned(), digest, tags, Action::Built);
        published.notes = notes;
        Ok(published)
    }

    async fn close(&self) -> Result<Vec<PathBuf>, PublishError> {
        let entries = std::mem::take(&mut *self.entries.lock().await);
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let format = match self.kind {
            ArchiveKind::Docker => ArchiveFormat::DockerAndOci,
            ArchiveKind::Oci => ArchiveFormat::Oci,
        };
        write_archive(&self.path, &entries, &self.blobs, format).await?;
        Ok(vec![self.path.clone()])
    }
}

/// A temporary classic docker archive of one image, named `name:<digest hex>` and `name:<tag>`
/// for each tag: what daemons and kind nodes load (every reference in it).
pub struct LoadArchive {
    pub path: tempfile::TempPath,
    /// The digest tag first, then the tags.
    references: Vec<String>,
    name: String,
    image: Arc<Image>,
}

impl LoadArchive {
    pub async fn write(
        name: String,
        image: Arc<Image>,
        tags: &[String],
        blobs: &BlobFiles,
    ) -> Result<Self, PublishError> {
        let mut references = vec![format!("{name}:{}", image.digest().hex())];
        references.extend(tags.iter().map(|tag| format!("{name}:{tag}")));
        let path = tempfile::Builder::new()
            .prefix("rko-load-")
            .suffix(".tar")
            .tempfile()
            .map_err(|error| PublishError::Write { path: std::env::temp_dir(), message: error.to_string() })?
            .into_temp_path();
        let entry = ArchiveEntry {
            artifact: Artifact::Image(image.clone()),
            referrers: Vec::new(),
            list_referrers: false,
            reference_names: Vec::new(),
            docker_image: Some((image.clone(), references.clone())),
        };
        write_archive(&path, &[entry], blobs, ArchiveFormat::Docker).await?;
        Ok(LoadArchive { path, references, name, image })
    }

    /// What loading it published: the digest tag, and the tags.
    pub fn published(self) -> Published {
        let mut references = self.references.into_iter();
        let reference = references.next().unwrap_or_default();
        Published::new(reference, self.name, self.image.digest().clone(), references.collect(), Action::Loaded)
    }
}
