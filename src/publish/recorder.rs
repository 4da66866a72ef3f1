//! `--image-refs FILE`: every published reference, one per line (and, for an index, one
//! `repo@sha256:…` line per platform image), in the order the images were published.

use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{PublishError, Published, Publisher};
use crate::build::Built;
use crate::image::Artifact;

pub struct Recorder {
    pub inner: Box<dyn Publisher>,
    pub path: PathBuf,
    lines: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn new(inner: Box<dyn Publisher>, path: PathBuf) -> Recorder {
        Recorder { inner, path, lines: Mutex::new(Vec::new()) }
    }

    async fn record(&self, lines: Vec<String>) -> Result<(), PublishError> {
        let mut all = self.lines.lock().await;
        all.extend(lines);
        let mut text = all.join("\n");
        text.push('\n');
        let write = |error: std::io::Error| PublishError::Write { path: self.path.clone(), message: error.to_string() };
        let mut file = std::fs::File::create(&self.path).map_err(write)?;
        file.write_all(text.as_bytes()).map_err(write)
    }
}

#[async_trait]
impl Publisher for Recorder {
    fn prepare(&self, import_path: &crate::build::ImportPath) {
        self.inner.prepare(import_path);
    }

    async fn publish(&self, built: &Built) -> Result<Published, PublishError> {
        let published = self.inner.publish(built).await?;
        let mut lines = vec![published.reference.clone()];
        if let Artifact::Index(index) = &built.artifact {
            let repository = published.name.split('@').next().unwrap_or(&published.name).to_owned();
            lines.extend(index.children().iter().map(|child| format!("{repository}@{}", child.digest())));
        }
        self.record(lines).await?;
        Ok(published)
    }

    async fn close(&self) -> Result<(), PublishError> {
        self.inner.close().await
    }
}
