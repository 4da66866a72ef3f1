//! One registry client per run, shared by base pulls, blob downloads and the pusher. It is
//! created only when a registry is involved, on a background thread (loading the trusted roots
//! takes a while), and [`SharedClient::warm_up`] pings registries and fetches tokens while
//! `go build` runs, so pushing starts with everything ready.

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use super::client::{Client, ClientOptions, Scope};
use super::error::RegistryError;

pub struct SharedClient {
    options: ClientOptions,
    pending: Mutex<Option<JoinHandle<Result<Client, RegistryError>>>>,
    client: OnceLock<Result<Arc<Client>, RegistryError>>,
}

impl SharedClient {
    pub fn new(options: ClientOptions) -> SharedClient {
        SharedClient { options, pending: Mutex::new(None), client: OnceLock::new() }
    }

    /// Start creating the client in the background (idempotent).
    pub fn start(&self) {
        if self.client.get().is_some() {
            return;
        }
        if let Ok(mut pending) = self.pending.lock()
            && pending.is_none()
        {
            let options = self.options.clone();
            *pending = Some(std::thread::spawn(move || Client::new(options)));
        }
    }

    /// The client, waiting for the background creation if it is under way (blocking).
    pub fn get(&self) -> Result<Arc<Client>, RegistryError> {
        self.client
            .get_or_init(|| {
                let pending = self.pending.lock().ok().and_then(|mut pending| pending.take());
                let created = match pending {
                    Some(handle) => handle.join().unwrap_or_else(|_| {
                        Err(RegistryError::Certificate {
                            path: "TLS set-up".into(),
                            message: "the set-up thread panicked".into(),
                        })
                    }),
                    None => Client::new(self.options.clone()),
                };
                created.map(Arc::new)
            })
            .clone()
    }

    /// The client, from async code.
    pub async fn client(self: &Arc<Self>) -> Result<Arc<Client>, RegistryError> {
        if let Some(created) = self.client.get() {
            return created.clone();
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.get())
            .await
            .map_err(|error| RegistryError::Certificate { path: "TLS set-up".into(), message: error.to_string() })?
    }

    /// In the background: create the client, ping `registry` and get a token for `scopes`.
    pub fn warm_up(self: &Arc<Self>, registry: String, scopes: Vec<Scope>) {
        self.start();
        let this = self.clone();
        tokio::spawn(async move {
            if let Ok(client) = this.client().await {
                client.warm_up(&registry, &scopes).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_set_up_keeps_its_own_error_for_every_caller() {
        let options = ClientOptions { root_files: vec!["/nonexistent/ca.pem".into()], ..ClientOptions::default() };
        let shared = SharedClient::new(options);
        shared.start();
        let Err(first) = shared.get() else { panic!("a missing CA file was accepted") };
        let Err(second) = shared.get() else { panic!("a missing CA file was accepted") };
        assert!(first.to_string().contains("/nonexistent/ca.pem"), "{first}");
        assert!(!first.to_string().contains("TLS set-up"), "{first}");
        assert_eq!(first.to_string(), second.to_string());
        assert_eq!(first.kind(), crate::registry::ErrorKind::Local);
    }
}
