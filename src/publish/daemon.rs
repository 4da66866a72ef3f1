//! `--local` / `KO_DOCKER_REPO=ko.local`: load the image into a Docker daemon (dockerd or
//! podman's Docker API) as `ko.local/<name>:<digest hex>` plus every `--tags` tag. From an index
//! the image matching the daemon's own platform is loaded (ko always takes linux/amd64).

use std::sync::Arc;

use async_trait::async_trait;

use super::blobs::BlobFiles;
use super::docker_api::DockerApi;
use super::tarball::{select_image, write_docker_archive};
use super::{Namer, PublishError, Published, Publisher};
use crate::build::Built;
use crate::image::Platform;

pub struct DaemonPublisher {
    pub api: DockerApi,
    pub namer: Namer,
    pub tags: Vec<String>,
    pub blobs: BlobFiles,
    platform: tokio::sync::OnceCell<Platform>,
}

impl DaemonPublisher {
    pub fn new(api: DockerApi, namer: Namer, tags: Vec<String>, blobs: BlobFiles) -> DaemonPublisher {
        DaemonPublisher { api, namer, tags, blobs, platform: tokio::sync::OnceCell::new() }
    }

    async fn daemon_platform(&self) -> Result<&Platform, PublishError> {
        self.platform
            .get_or_try_init(|| async {
                let (os, architecture) = self.api.platform().await.map_err(PublishError::Registry)?;
                let architecture = match architecture.as_str() {
                    "x86_64" => "amd64".to_owned(),
                    "aarch64" => "arm64".to_owned(),
                    _ => architecture,
                };
                Ok(Platform::new(if os.is_empty() { "linux" } else { &os }, &architecture, ""))
            })
            .await
    }
}

#[async_trait]
impl Publisher for DaemonPublisher {
    async fn publish(&self, built: &Built) -> Result<Published, PublishError> {
        let name = self.namer.name(built.import_path.as_str());
        let platform = self.daemon_platform().await?.clone();
        let image = select_image(&built.artifact, &platform).ok_or_else(|| {
            PublishError::Invalid(format!(
                "`{}` has no image for the daemon's platform `{platform}`; add it to --platform",
                built.import_path
            ))
        })?;
        let digest_tag = format!("{name}:{}", image.digest().hex());
        let mut references = vec![digest_tag.clone()];
        references.extend(self.tags.iter().map(|tag| format!("{name}:{tag}")));
        let archive = tempfile::Builder::new()
            .prefix("rko-load-")
            .suffix(".tar")
            .tempfile()
            .map_err(|error| PublishError::Write { path: std::env::temp_dir(), message: error.to_string() })?
            .into_temp_path();
        write_docker_archive(&archive, Arc::clone(&image), references.clone(), &self.blobs).await?;
        self.api.load(&archive).await.map_err(PublishError::Registry)?;
        Ok(Published {
            reference: digest_tag,
            name,
            digest: image.digest().clone(),
            tags: references[1..].to_vec(),
            notes: Vec::new(),
        })
    }
}
