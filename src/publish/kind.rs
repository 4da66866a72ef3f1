//! `KO_DOCKER_REPO=kind.local`: load the image into every node of a kind cluster
//! (`KIND_CLUSTER_NAME`, default `kind`) with `ctr images import`, as ko does. Needs the `kind`
//! and `docker` CLIs; without a cluster it fails with one clear line.

use std::process::Stdio;

use async_trait::async_trait;
use tokio::process::Command;

use super::blobs::BlobFiles;
use super::tarball::{LoadArchive, select_image};
use super::{PublishError, Published, Publisher};
use crate::build::Built;
use crate::image::Platform;

pub struct KindPublisher {
    pub cluster: String,
    pub tags: Vec<String>,
    pub blobs: BlobFiles,
    pub platform: Platform,
    /// The cluster's nodes, asked of `kind` once per run.
    pub nodes: tokio::sync::OnceCell<Vec<String>>,
}

impl KindPublisher {
    async fn nodes(&self) -> Result<&[String], PublishError> {
        self.nodes.get_or_try_init(|| self.list_nodes()).await.map(Vec::as_slice)
    }

    async fn list_nodes(&self) -> Result<Vec<String>, PublishError> {
        let output =
            Command::new("kind").args(["get", "nodes", "--name", &self.cluster]).output().await.map_err(|error| {
                PublishError::Invalid(format!(
                    "kind.local needs the `kind` CLI and a kind cluster, and `kind` cannot run: {error}"
                ))
            })?;
        let nodes: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if !output.status.success() || nodes.is_empty() {
            return Err(PublishError::Invalid(format!(
                "no kind cluster `{}` is running (`kind get nodes` found no nodes); create one with `kind create cluster` or set KIND_CLUSTER_NAME",
                self.cluster
            )));
        }
        Ok(nodes)
    }
}

#[async_trait]
impl Publisher for KindPublisher {
    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        let nodes = self.nodes().await?;
        let image = select_image(&built.artifact, &self.platform).ok_or_else(|| {
            PublishError::Invalid(format!("`{}` has no `{}` image for kind", built.import_path, self.platform))
        })?;
        let archive = LoadArchive::write(name.to_owned(), image, &self.tags, &self.blobs).await?;
        for node in nodes {
            let file = std::fs::File::open(&archive.path).map_err(|error| PublishError::Write {
                path: archive.path.to_path_buf(),
                message: error.to_string(),
            })?;
            let status = Command::new("docker")
                .args(["exec", "-i", node, "ctr", "--namespace=k8s.io", "images", "import", "--all-platforms", "-"])
                .stdin(Stdio::from(file))
                .status()
                .await
                .map_err(|error| {
                    PublishError::Invalid(format!("cannot run `docker exec` on kind node `{node}`: {error}"))
                })?;
            if !status.success() {
                return Err(PublishError::Invalid(format!(
                    "loading the image into kind node `{node}` failed ({status})"
                )));
            }
        }
        Ok(archive.published())
    }
}
