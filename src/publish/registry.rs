//! Publishing to a registry: name the image, push it with its tags, and print the reference ko
//! prints (`name@sha256:…`; `name:tag@sha256:…` for one tag other than `latest`; `name:tag`
//! with `--tag-only`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Namer, PublishError, Published, Publisher};
use tokio::sync::OnceCell;

use crate::build::{Built, ImportPath};
use crate::registry::client::Scope;
use crate::registry::pusher::{PushStats, Pusher};
use crate::registry::reference::Repository;
use crate::registry::shared::SharedClient;

pub struct RegistryPublisher {
    pub registries: Arc<SharedClient>,
    pub jobs: usize,
    pub stats: Arc<PushStats>,
    pub namer: Namer,
    pub tags: Vec<String>,
    pub tag_only: bool,
    pusher: OnceCell<Arc<Pusher>>,
}

impl RegistryPublisher {
    pub fn new(
        registries: Arc<SharedClient>,
        jobs: usize,
        stats: Arc<PushStats>,
        namer: Namer,
        tags: Vec<String>,
        tag_only: bool,
    ) -> Self {
        RegistryPublisher { registries, jobs, stats, namer, tags, tag_only, pusher: OnceCell::new() }
    }

    async fn pusher(&self) -> Result<&Arc<Pusher>, PublishError> {
        self.pusher
            .get_or_try_init(|| async {
                let client =
                    self.registries.client().await.map_err(|error| PublishError::Registry(error.to_string()))?;
                Ok(Arc::new(Pusher::new(client, self.jobs, self.stats.clone())))
            })
            .await
    }
}

#[async_trait]
impl Publisher for RegistryPublisher {
    fn prepare(&self, import_path: &ImportPath) {
        if let Ok(repository) = Repository::parse(&self.namer.name(import_path.as_str())) {
            self.registries.warm_up(repository.registry().to_owned(), vec![Scope::push(repository.path())]);
        }
    }

    async fn publish(&self, built: &Built) -> Result<Published, PublishError> {
        let name = self.namer.name(built.import_path.as_str());
        let repository = Repository::parse(&name).map_err(|error| {
            PublishError::Invalid(format!("cannot push `{}`: {error}; check KO_DOCKER_REPO", built.import_path))
        })?;
        let referrers: Vec<_> = built.attachments.iter().map(|attachment| attachment.referrer.clone()).collect();
        let legacy: Vec<_> = built.attachments.iter().filter_map(|attachment| attachment.legacy.clone()).collect();
        self.pusher()
            .await?
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
