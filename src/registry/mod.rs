//! Registries: references, authentication, the HTTP client, the pusher and base-image pulls.
//! Depends on `image` (and implements the `base` and `publish` seams that need a registry).

pub mod api;
pub mod auth;
pub mod client;
pub mod error;
mod ping;
pub mod pull;
pub mod pusher;
pub mod shared;
mod tls;
mod transport;

pub use crate::image::reference;
pub use client::{Client, ClientOptions, Scope};
pub use error::{ErrorKind, RegistryError};
pub use reference::{Reference, ReferenceError, Repository};
