//! Publishing to a registry, in the pusher's phases: content by digest, then attachments (the
//! build's SBOMs and whatever the [`Attacher`]s make now that the digests exist: signatures,
//! attestations), then tags. Prints the reference ko prints (`name@sha256:…`;
//! `name:tag@sha256:…` for one tag other than `latest`; `name:tag` with `--tag-only`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Action, Attacher, PublishError, Published, Publisher};
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
    /// The repository each import path is pushed to, for warming up connections.
    pub names: Box<dyn Fn(&ImportPath) -> String + Send + Sync>,
    pub tags: Vec<String>,
    pub tag_only: bool,
    pub attachers: Vec<Arc<dyn Attacher>>,
    pusher: OnceCell<Arc<Pusher>>,
}

impl RegistryPublisher {
    pub fn new(
        registries: Arc<SharedClient>,
        jobs: usize,
        stats: Arc<PushStats>,
        names: Box<dyn Fn(&ImportPath) -> String + Send + Sync>,
        tags: Vec<String>,
        tag_only: bool,
    ) -> Self {
        RegistryPublisher {
            registries,
            jobs,
            stats,
            names,
            tags,
            tag_only,
            attachers: Vec::new(),
            pusher: OnceCell::new(),
        }
    }

    async fn pusher(&self) -> Result<&Arc<Pusher>, PublishError> {
        self.pusher
            .get_or_try_init(|| async {
                let client = self.registries.client().await?;
                Ok(Arc::new(Pusher::new(client, self.jobs, self.stats.clone())))
            })
            .await
    }
}

#[async_trait]
impl Publisher for RegistryPublisher {
    fn prepare(&self, import_path: &ImportPath) {
        if let Ok(repository) = Repository::parse(&(self.names)(import_path)) {
            self.registries.warm_up(repository.registry().to_owned(), vec![Scope::push(repository.path())]);
        }
    }

    async fn publish(&self, built: &Built, name: &str) -> Result<Published, PublishError> {
        let repository = Repository::parse(name).map_err(|error| {
            PublishError::Invalid(format!("cannot push `{}`: {error}; check KO_DOCKER_REPO", built.import_path))
        })?;
        let pusher = self.pusher().await?;
        pusher.push_content(&repository, &built.artifact, &built.attachments).await?;
        let mut made = Vec::new();
        for attacher in &self.attachers {
            made.extend(attacher.attachments(name, built).await?);
        }
        let attachments: Vec<_> = built.attachments.iter().chain(&made).cloned().collect();
        pusher.attach(&repository, &attachments).await?;
        pusher.tag(&repository, &built.artifact, &self.tags).await?;
        let digest = built.artifact.digest().clone();
        let reference = match (self.tag_only, self.tags.as_slice()) {
            (true, [tag, ..]) => format!("{repository}:{tag}"),
            (false, [tag]) if tag != "latest" => format!("{repository}:{tag}@{digest}"),
            _ => format!("{repository}@{digest}"),
        };
        let tags = self.tags.iter().map(|tag| format!("{repository}:{tag}")).collect();
        let mut published = Published::new(reference, repository.to_string(), digest, tags, Action::Published);
        published.attachments = made;
        Ok(published)
    }
}
