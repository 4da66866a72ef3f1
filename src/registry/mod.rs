//! Registries (ggcr's `remote`): authentication, the HTTP client, reading images and indexes,
//! and the pusher. Depends only on `image` (references live there, re-exported here); the
//! adapters that put a registry behind the `base` and `publish` seams live in those modules.

pub mod api;
pub mod auth;
pub mod client;
pub mod error;
mod ping;
pub mod pull;
pub mod pusher;
pub mod shared;
#[cfg(test)]
pub mod test_server;
mod tls;
mod transport;

pub use crate::image::reference;
pub use client::{Client, ClientOptions, Scope};
pub use error::{ErrorKind, RegistryError};
pub use reference::{Reference, ReferenceError, Repository};
