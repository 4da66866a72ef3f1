//! `--push=false` with no other output: compute the digest and print the reference ko would
//! (`name:tag@sha256:…`, or `name:tag` with `--tag-only`); nothing is written anywhere.

use async_trait::async_trait;

use super::{Namer, PublishError, Published, Publisher};
use crate::build::Built;

pub struct NopPublisher {
    pub namer: Namer,
    pub tags: Vec<String>,
    pub tag_only: bool,
}

#[async_trait]
impl Publisher for NopPublisher {
    async fn publish(&self, built: &Built) -> Result<Published, PublishError> {
        let name = self.namer.name(built.import_path.as_str());
        let tag = self.tags.first().map_or("latest", String::as_str);
        let digest = built.artifact.digest().clone();
        let reference = if self.tag_only { format!("{name}:{tag}") } else { format!("{name}:{tag}@{digest}") };
        let tags = self.tags.iter().map(|tag| format!("{name}:{tag}")).collect();
        Ok(Published { reference, name, digest, tags, notes: Vec::new() })
    }
}
