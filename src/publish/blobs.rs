//! Getting a layer's bytes for local outputs (layout, tarball, archive): a cache file is
//! hard-linked or copied, a registry blob is downloaded through [`RemoteBlobs`] (the run's
//! shared registry client) and checked against its digest. Bytes stream from file to file;
//! nothing is held in memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::PublishError;
use crate::image::digest::digest_reader;
use crate::image::reference::Repository;
use crate::image::{BlobSource, Digest, Layer};
use crate::registry::RegistryError;
use crate::registry::shared::SharedClient;

/// Downloads blobs from registries.
#[async_trait]
pub trait RemoteBlobs: Send + Sync {
    /// Stream blob `digest` of `repository` into `destination` (a new file).
    async fn download(&self, repository: &Repository, digest: &Digest, destination: &Path)
    -> Result<(), RegistryError>;
}

#[async_trait]
impl RemoteBlobs for Arc<SharedClient> {
    async fn download(
        &self,
        repository: &Repository,
        digest: &Digest,
        destination: &Path,
    ) -> Result<(), RegistryError> {
        self.client().await?.download_blob(repository, digest, destination).await
    }
}

/// Resolves layer sources to local files.
#[derive(Clone, Default)]
pub struct BlobFiles {
    pub remote: Option<Arc<dyn RemoteBlobs>>,
    /// Where downloaded blobs are kept (the cache's blob directory).
    pub download_directory: Option<PathBuf>,
}

impl BlobFiles {
    /// A local file holding the layer's compressed bytes, downloading it if needed.
    pub async fn file(&self, layer: &Layer) -> Result<PathBuf, PublishError> {
        let digest = &layer.descriptor.digest;
        match &layer.source {
            BlobSource::File(path) => Ok(path.clone()),
            BlobSource::Registry { repository } => {
                let (Some(remote), Some(directory)) = (&self.remote, &self.download_directory) else {
                    return Err(PublishError::Blob {
                        digest: digest.clone(),
                        source_name: repository.clone(),
                        message: "no registry client is available".into(),
                    });
                };
                let path = directory.join(digest.hex());
                if path.is_file() {
                    return Ok(path);
                }
                let error = |message: String| PublishError::Blob {
                    digest: digest.clone(),
                    source_name: repository.clone(),
                    message,
                };
                let temporary = tempfile::Builder::new()
                    .prefix(".download-")
                    .tempfile_in(directory)
                    .map_err(|e| error(e.to_string()))?
                    .into_temp_path();
                let parsed = Repository::parse(repository).map_err(|e| error(e.to_string()))?;
                remote.download(&parsed, digest, &temporary).await.map_err(|source| PublishError::Download {
                    digest: digest.clone(),
                    repository: repository.clone(),
                    source: Box::new(source),
                })?;
                let check_path = temporary.to_path_buf();
                let (actual, _) = tokio::task::spawn_blocking(move || digest_reader(std::fs::File::open(check_path)?))
                    .await
                    .map_err(|e| error(e.to_string()))?
                    .map_err(|e| error(e.to_string()))?;
                if &actual != digest {
                    return Err(error(format!("downloaded bytes have digest `{actual}`")));
                }
                crate::image::layer::set_readable(&temporary).map_err(|e| error(e.to_string()))?;
                temporary.persist(&path).map_err(|e| error(e.to_string()))?;
                Ok(path)
            }
            BlobSource::Foreign => Err(PublishError::Blob {
                digest: digest.clone(),
                source_name: "a foreign layer".into(),
                message: "its bytes may not be redistributed, so local outputs cannot hold it".into(),
            }),
        }
    }

    /// Put the layer's bytes at `destination` (hard link when possible, else copy).
    pub async fn place(&self, layer: &Layer, destination: &Path) -> Result<(), PublishError> {
        if destination.is_file() {
            return Ok(());
        }
        let source = self.file(layer).await?;
        place_file(&source, destination)
    }
}

/// Hard-link or copy `source` to `destination` atomically.
pub fn place_file(source: &Path, destination: &Path) -> Result<(), PublishError> {
    let write =
        |error: std::io::Error| PublishError::Write { path: destination.to_owned(), message: error.to_string() };
    let directory = destination.parent().unwrap_or(Path::new("."));
    let temporary = directory.join(format!(
        ".{}.tmp-{}",
        destination.file_name().and_then(|n| n.to_str()).unwrap_or("blob"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&temporary);
    if std::fs::hard_link(source, &temporary).is_err() {
        std::fs::copy(source, &temporary).map_err(write)?;
    }
    std::fs::rename(&temporary, destination).map_err(write)
}

/// Write small bytes (configs, manifests) atomically.
pub fn write_file(destination: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let write =
        |error: std::io::Error| PublishError::Write { path: destination.to_owned(), message: error.to_string() };
    let directory = destination.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(write)?;
    std::io::Write::write_all(&mut temporary, bytes).map_err(write)?;
    crate::image::layer::set_readable(temporary.path()).map_err(write)?;
    temporary.persist(destination).map_err(|error| write(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Descriptor, media_type};
    use crate::registry::ErrorKind;
    use crate::registry::test_server::{TestRegistry, options};

    #[tokio::test]
    async fn download_errors_keep_the_registry_s_kind() {
        let registry = TestRegistry::start().await;
        let directory = tempfile::tempdir().unwrap();
        let blobs = BlobFiles {
            remote: Some(Arc::new(Arc::new(SharedClient::new(options())))),
            download_directory: Some(directory.path().to_owned()),
        };
        for (repository, kind) in
            [("denied/app", ErrorKind::Denied), ("busy/app", ErrorKind::Transient), ("private/app", ErrorKind::Auth)]
        {
            let layer = Layer {
                descriptor: Descriptor::new(media_type::OCI_LAYER_GZIP, 5, Digest::of(b"layer")),
                diff_id: Digest::of(b"tar"),
                source: BlobSource::Registry { repository: format!("{}/{repository}", registry.address) },
            };
            let error = blobs.file(&layer).await.expect_err(repository);
            assert_eq!(error.kind(), kind, "{repository}: {error}");
            assert!(error.to_string().contains(repository), "{error}");
        }
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 0, "no partial download is left");
    }
}
