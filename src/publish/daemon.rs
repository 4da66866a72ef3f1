//! `--local` / `KO_DOCKER_REPO=ko.local`: load the image into a Docker daemon (dockerd or
//! podman's Docker API) as `ko.local/<name>:<digest hex>` plus every `--tags` tag. From an index
//! the image matching the daemon's own platform is loaded (ko always takes linux/amd64).

use async_trait::async_trait;

use super::blobs::BlobFiles;
use super::tarball::{LoadArchive, select_image};
use super::{PublishError, Published, Publisher};
use crate::build::Built;
use crate::daemon::DockerApi;
use crate::image::Platform;
use crate::image::platform::go_architecture;

pub struct DaemonPublisher {
    pub api: DockerApi,
    pub tags: Vec<String>,
    pub blobs: BlobFiles,
    platform: tokio::sync::OnceCell<Platform>,
}

impl DaemonPublisher {
    pub fn new(api: DockerApi, tags: Vec<String>, blobs: BlobFiles) -> DaemonPublisher {
        DaemonPublisher { api, tags, blobs, platform: tokio::sync::OnceCell::new() }
    }

    async fn daemon_platform(&self) -> Result<&Platform, PublishError> {
        self.platform
            .get_or_try_init(|| async {
                let (os, architecture) = self.api.platform().await?;
                Ok(Platform::new(if os.is_empty() { "linux" } else { &os }, go_architecture(&architecture), ""))
            })
            .await
    }
}

#[async_trait]
impl Publisher for DaemonPublisher {
    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        let platform = self.daemon_platform().await?.clone();
        let image = select_image(&built.artifact, &platform).ok_or_else(|| {
            PublishError::Invalid(format!(
                "`{}` has no image for the daemon's platform `{platform}`; add it to --platform",
                built.import_path
            ))
        })?;
        let archive = LoadArchive::write(name.to_owned(), image, &self.tags, &self.blobs).await?;
        self.api.load(&archive.path).await?;
        Ok(archive.published())
    }
}
