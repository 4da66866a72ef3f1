//! Publish to several places in order (layout, tarball, registry); the last one's reference is
//! the one printed, as in ko.

use async_trait::async_trait;

use super::{PublishError, Published, Publisher};
use crate::build::Built;

pub struct MultiPublisher {
    pub publishers: Vec<Box<dyn Publisher>>,
}

#[async_trait]
impl Publisher for MultiPublisher {
    fn prepare(&self, import_path: &crate::build::ImportPath) {
        for publisher in &self.publishers {
            publisher.prepare(import_path);
        }
    }

    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        let mut last: Option<Published> = None;
        for publisher in &self.publishers {
            let mut published = publisher.publish(built, name).await?;
            if let Some(previous) = last.take() {
                published.notes.splice(0..0, previous.notes);
            }
            last = Some(published);
        }
        last.ok_or_else(|| PublishError::Invalid("no output selected".into()))
    }

    async fn close(&self) -> Result<Vec<std::path::PathBuf>, PublishError> {
        let mut written = Vec::new();
        for publisher in &self.publishers {
            written.extend(publisher.close().await?);
        }
        Ok(written)
    }
}
