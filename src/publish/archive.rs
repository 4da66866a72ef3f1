//! Single-file outputs. `--oci-archive` is a tar of an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/…`), multi-platform indexes included. `--tarball` is the same
//! archive plus docker's `manifest.json` — the format `docker save` itself writes since Docker
//! 25 — so OCI-aware loaders get every platform and docker's classic loader gets one image per
//! artifact (the caller says which). Layers stream from their files; nothing is held in memory.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::PublishError;
use super::blobs::BlobFiles;
use super::layout::REF_NAME;
use crate::image::referrer::Referrer;
use crate::image::tar::{Header, TarWriter};
use crate::image::{Artifact, Image, IndexManifest, gojson, media_type};

/// What goes into the archive for one artifact.
pub struct ArchiveEntry {
    pub artifact: Artifact,
    /// Documents attached to it (SBOMs), stored as OCI 1.1 referrers.
    pub referrers: Vec<Referrer>,
    /// Whether `index.json` lists the referrers too (`--oci-referrers`); their blobs are in the
    /// archive either way.
    pub list_referrers: bool,
    /// `name:tag`s, one index.json entry each.
    pub reference_names: Vec<String>,
    /// For docker's `manifest.json`: the image classic loaders get, and its `name:tag`s.
    pub docker_image: Option<(Arc<Image>, Vec<String>)>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

enum Content {
    File(PathBuf),
    Bytes(Vec<u8>),
}

fn blob_name(digest: &crate::image::Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// Which indexes an archive carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An OCI layout (`index.json`, `oci-layout`, blobs).
    Oci,
    /// The OCI layout plus docker's `manifest.json`, as `docker save` writes since Docker 25.
    DockerAndOci,
    /// Only docker's `manifest.json` (what daemons load with every tag).
    Docker,
}

/// Write `entries` into one tar at `path` (atomically) in `format`.
pub async fn write_archive(
    path: &Path,
    entries: &[ArchiveEntry],
    blobs: &BlobFiles,
    format: ArchiveFormat,
) -> Result<(), PublishError> {
    let mut files: Vec<(String, Content)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut add = |files: &mut Vec<(String, Content)>, name: String, content: Content| {
        if seen.insert(name.clone()) {
            files.push((name, content));
        }
    };
    let mut index = IndexManifest::new(media_type::OCI_INDEX, Vec::new());
    let mut docker_manifest = Vec::new();
    for entry in entries {
        for image in entry.artifact.images() {
            for layer in image.layers() {
                let file = blobs.file(layer).await?;
                add(&mut files, blob_name(&layer.descriptor.digest), Content::File(file));
            }
            add(&mut files, blob_name(&image.manifest().config.digest), Content::Bytes(image.config_bytes().to_vec()));
            add(&mut files, blob_name(image.digest()), Content::Bytes(image.manifest_bytes().to_vec()));
        }
        if let Artifact::Index(built) = &entry.artifact {
            add(&mut files, blob_name(built.digest()), Content::Bytes(built.bytes().to_vec()));
        }
        for referrer in &entry.referrers {
            for (digest, bytes) in referrer.blobs() {
                add(&mut files, blob_name(digest), Content::Bytes(bytes.to_vec()));
            }
            add(&mut files, blob_name(referrer.digest()), Content::Bytes(referrer.manifest_bytes().to_vec()));
            if entry.list_referrers {
                index.manifests.push(referrer.descriptor());
            }
        }
        for name in &entry.reference_names {
            let mut descriptor = entry.artifact.descriptor();
            descriptor.annotations.insert(REF_NAME.into(), name.clone());
            descriptor.annotations.insert("io.containerd.image.name".into(), name.clone());
            index.manifests.push(descriptor);
        }
        if let Some((image, tags)) = &entry.docker_image {
            docker_manifest.push(DockerManifestEntry {
                config: blob_name(&image.manifest().config.digest),
                repo_tags: tags.clone(),
                layers: image.layers().iter().map(|layer| blob_name(&layer.descriptor.digest)).collect(),
            });
        }
    }
    if format != ArchiveFormat::Docker {
        files.push(("index.json".into(), Content::Bytes(gojson::to_vec(&index))));
        files.push(("oci-layout".into(), Content::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec())));
    }
    if format != ArchiveFormat::Oci {
        let bytes = serde_json::to_vec(&docker_manifest).map_err(|error| PublishError::Invalid(error.to_string()))?;
        files.push(("manifest.json".into(), Content::Bytes(bytes)));
    }
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || write_tar(&path, files))
        .await
        .map_err(|error| PublishError::Invalid(error.to_string()))?
}

fn write_tar(path: &Path, files: Vec<(String, Content)>) -> Result<(), PublishError> {
    let write = |error: std::io::Error| PublishError::Write { path: path.to_owned(), message: error.to_string() };
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temporary = tempfile::NamedTempFile::new_in(directory).map_err(write)?;
    let mut tar = TarWriter::new(BufWriter::with_capacity(1 << 16, temporary.reopen().map_err(write)?));
    for name in ["blobs/", "blobs/sha256/"] {
        tar.append_empty(&Header::directory(name, 0o755, 0)).map_err(write)?;
    }
    for (name, content) in files {
        match content {
            Content::Bytes(bytes) => {
                tar.append(&Header::file(&name, 0o644, 0, bytes.len() as u64), &bytes[..]).map_err(write)?
            }
            Content::File(source) => {
                let file = File::open(&source).map_err(write)?;
                let size = file.metadata().map_err(write)?.len();
                tar.append(&Header::file(&name, 0o644, 0, size), BufReader::with_capacity(1 << 16, file))
                    .map_err(write)?;
            }
        }
    }
    let mut inner = tar.finish().map_err(write)?;
    inner.flush().map_err(write)?;
    drop(inner);
    crate::image::layer::set_readable(temporary.path()).map_err(write)?;
    temporary.persist(path).map_err(|error| write(error.error))?;
    Ok(())
}
