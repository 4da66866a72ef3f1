//! `--push=false` with no other output: compute the digest and print the reference ko would
//! (`name:tag@sha256:…`, or `name:tag` with `--tag-only`); nothing is written anywhere.

use async_trait::async_trait;

use super::{Action, PublishError, Published, Publisher};
use crate::build::Built;

pub struct NopPublisher {
    pub tags: Vec<String>,
    pub tag_only: bool,
}

#[async_trait]
impl Publisher for NopPublisher {
    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        let tag = self.tags.first().map_or("latest", String::as_str);
        let digest = built.artifact.digest().clone();
        let reference = if self.tag_only { format!("{name}:{tag}") } else { format!("{name}:{tag}@{digest}") };
        let tags = self.tags.iter().map(|tag| format!("{name}:{tag}")).collect();
        Ok(Published::new(reference, name.to_owned(), digest, tags, Action::Built))
    }
}
