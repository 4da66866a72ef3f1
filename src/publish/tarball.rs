//! `--tarball FILE`: a `docker load`-able archive (the `docker save` layout ggcr writes:
//! `manifest.json`, config as `sha256:<hex>`, gzip layers as `<hex>.tar.gz`), written once on
//! close with every published image and its tags. An index contributes the image matching
//! `platform` (the daemon's, or `--platform`'s first), said on stderr by the caller.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::Mutex;

use super::blobs::BlobFiles;
use super::{Namer, PublishError, Published, Publisher};
use crate::build::Built;
use crate::image::tar::{Header, TarWriter};
use crate::image::{Artifact, Image, Platform};

pub struct TarballPublisher {
    path: PathBuf,
    namer: Namer,
    tags: Vec<String>,
    blobs: BlobFiles,
    /// Which child of an index goes into the archive.
    platform: Platform,
    entries: Mutex<Vec<(Arc<Image>, Vec<String>)>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

impl TarballPublisher {
    pub fn new(
        path: PathBuf,
        namer: Namer,
        tags: Vec<String>,
        blobs: BlobFiles,
        platform: Platform,
    ) -> TarballPublisher {
        TarballPublisher { path, namer, tags, blobs, platform, entries: Mutex::new(Vec::new()) }
    }
}

/// The image of `artifact` for `platform` (itself when it is a single image).
pub fn select_image(artifact: &Artifact, platform: &Platform) -> Option<Arc<Image>> {
    match artifact {
        Artifact::Image(image) => Some(image.clone()),
        Artifact::Index(index) => index.children().iter().find(|child| platform.matches(&child.platform())).cloned(),
    }
}

#[async_trait]
impl Publisher for TarballPublisher {
    async fn publish(&self, built: &Built) -> Result<Published, PublishError> {
        let name = self.namer.name(built.import_path.as_str());
        let image = select_image(&built.artifact, &self.platform).ok_or_else(|| {
            PublishError::Invalid(format!(
                "--tarball holds one platform per image and `{}` has no `{}` image; add it to --platform",
                built.import_path, self.platform
            ))
        })?;
        let tags: Vec<String> = self.tags.iter().map(|tag| format!("{name}:{tag}")).collect();
        self.entries.lock().await.push((image, tags.clone()));
        let digest = built.artifact.digest().clone();
        let reference = match self.tags.as_slice() {
            [tag] if tag != "latest" => format!("{name}:{tag}@{digest}"),
            _ => format!("{name}@{digest}"),
        };
        Ok(Published { reference, name, digest, tags })
    }

    async fn close(&self) -> Result<(), PublishError> {
        let entries = self.entries.lock().await.clone();
        if entries.is_empty() {
            return Ok(());
        }
        write_docker_archive(&self.path, entries, &self.blobs).await
    }
}

/// Write a `docker save`-style archive of `entries` (image and its `name:tag` references).
pub async fn write_docker_archive(
    path: &std::path::Path,
    entries: Vec<(Arc<Image>, Vec<String>)>,
    blobs: &BlobFiles,
) -> Result<(), PublishError> {
    let mut files = Vec::new();
    for (image, _) in &entries {
        for layer in image.layers() {
            files.push((layer.descriptor.digest.clone(), blobs.file(layer).await?));
        }
    }
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || write_archive(&path, &entries, &files))
        .await
        .map_err(|error| PublishError::Invalid(error.to_string()))?
}

fn write_archive(
    path: &std::path::Path,
    entries: &[(Arc<Image>, Vec<String>)],
    files: &[(crate::image::Digest, PathBuf)],
) -> Result<(), PublishError> {
    let write = |error: std::io::Error| PublishError::Write { path: path.to_owned(), message: error.to_string() };
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let temporary = tempfile::NamedTempFile::new_in(directory).map_err(write)?;
    let mut tar = TarWriter::new(BufWriter::new(temporary.reopen().map_err(write)?));
    let mut written = BTreeSet::new();
    let mut manifest = Vec::new();
    for (image, tags) in entries {
        let config_name = format!("sha256:{}", image.manifest().config.digest.hex());
        if written.insert(config_name.clone()) {
            let bytes = image.config_bytes();
            tar.append(&Header::file(&config_name, 0o644, 0, bytes.len() as u64), bytes).map_err(write)?;
        }
        let mut layers = Vec::new();
        for layer in image.layers() {
            let digest = &layer.descriptor.digest;
            let name = format!("{}.tar.gz", digest.hex());
            if written.insert(name.clone()) {
                let source = files.iter().find(|(d, _)| d == digest).map(|(_, p)| p.clone()).unwrap_or_default();
                let file = File::open(&source).map_err(write)?;
                tar.append(&Header::file(&name, 0o644, 0, layer.descriptor.size), std::io::BufReader::new(file))
                    .map_err(write)?;
            }
            layers.push(name);
        }
        manifest.push(ManifestEntry { config: config_name, repo_tags: tags.clone(), layers });
    }
    let bytes = serde_json::to_vec(&manifest).map_err(|error| write(error.into()))?;
    tar.append(&Header::file("manifest.json", 0o644, 0, bytes.len() as u64), &bytes[..]).map_err(write)?;
    let mut inner = tar.finish().map_err(write)?;
    std::io::Write::flush(&mut inner).map_err(write)?;
    drop(inner);
    crate::image::layer::set_readable(temporary.path()).map_err(write)?;
    temporary.persist(path).map_err(|error| write(error.error))?;
    Ok(())
}
