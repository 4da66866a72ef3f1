//! Publishing to a registry: name the image, push it with its tags, and print the reference ko
//! prints (`name@sha256:…`; `name:tag@sha256:…` for one tag other than `latest`; `name:tag`
//! with `--tag-only`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Namer, PublishError, Published, Publisher};
use crate::build::Built;
use crate::registry::pusher::Pusher;
use crate::registry::reference::Repository;

pub struct RegistryPublisher {
    pub pusher: Arc<Pusher>,
    pub namer: Namer,
    pub tags: Vec<String>,
    pub tag_only: bool,
}

#[async_trait]
impl Publisher for RegistryPublisher {
    async fn publish(&self, built: &Built) -> Result<Published, PublishError> {
        let name = self.namer.name(built.import_path.as_str());
        let repository = Repository::parse(&name).map_err(|error| {
            PublishError::Invalid(format!("cannot push `{}`: {error}; check KO_DOCKER_REPO", built.import_path))
        })?;
        let referrers: Vec<_> = built.attachments.iter().map(|attachment| attachment.referrer.clone()).collect();
        let legacy: Vec<_> = built.attachments.iter().filter_map(|attachment| attachment.legacy.clone()).collect();
        self.pusher
            .push(&repository, &built.artifact, &referrers, &legacy, &self.tags)
            .await
            .map_err(|error| PublishError::Registry(error.to_string()))?;
        let digest = built.artifact.digest().clone();
        let reference = match (self.tag_only, self.tags.as_slice()) {
            (true, [tag, ..]) => format!("{repository}:{tag}"),
            (false, [tag]) if tag != "latest" => format!("{repository}:{tag}@{digest}"),
            _ => format!("{repository}@{digest}"),
        };
        Ok(Published {
            reference,
            name: repository.to_string(),
            digest,
            tags: self.tags.iter().map(|tag| format!("{repository}:{tag}")).collect(),
            notes: Vec::new(),
        })
    }
}
