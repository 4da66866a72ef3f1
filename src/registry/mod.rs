//! Registries: references, authentication, the HTTP client and the pusher. Depends on `image`.

pub mod reference;

pub use reference::{Reference, ReferenceError, Repository};
