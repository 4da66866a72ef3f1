//! One registry client per run, created on first use (a build on the built-in base with no push
//! never pays for TLS set-up), shared by base pulls, blob downloads and the pusher.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use super::client::{Client, ClientOptions};
use super::error::RegistryError;
use super::pull::RegistryPuller;
use crate::build::Base;
use crate::image::Digest;

pub struct SharedClient {
    options: ClientOptions,
    client: OnceLock<Result<Arc<Client>, String>>,
}

impl SharedClient {
    pub fn new(options: ClientOptions) -> SharedClient {
        SharedClient { options, client: OnceLock::new() }
    }

    pub fn get(&self) -> Result<Arc<Client>, RegistryError> {
        self.client
            .get_or_init(|| Client::new(self.options.clone()).map(Arc::new).map_err(|error| error.to_string()))
            .clone()
            .map_err(|message| RegistryError::Certificate { path: "TLS set-up".into(), message })
    }

    fn puller(&self) -> Result<RegistryPuller, String> {
        Ok(RegistryPuller { client: self.get().map_err(|error| error.to_string())?, insecure: self.options.insecure })
    }
}

#[async_trait]
impl crate::base::RegistryBases for SharedClient {
    async fn base(&self, reference: &str) -> Result<Base, String> {
        crate::base::RegistryBases::base(&self.puller()?, reference).await
    }
}

#[async_trait]
impl crate::publish::blobs::RemoteBlobs for SharedClient {
    async fn download(
        &self,
        repository: &str,
        insecure: bool,
        digest: &Digest,
        destination: &Path,
    ) -> Result<(), String> {
        crate::publish::blobs::RemoteBlobs::download(&self.puller()?, repository, insecure, digest, destination).await
    }
}
