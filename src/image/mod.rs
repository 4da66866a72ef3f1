//! The OCI image model: digests, media types, platforms, descriptors, manifests, configs,
//! layers, images and indexes, plus the byte-exact encoders (Go JSON, Go tar) that make rko's
//! output match ko's, and the layer compressors (a parallel gzip, zstd).
//!
//! This module knows nothing of the network, of Go builds or of the command line.

pub mod artifact;
pub mod config;
pub mod digest;
pub mod gojson;
pub mod gotime;
pub mod layer;
pub mod lazy_index;
pub mod manifest;
pub mod media_type;
pub mod pgzip;
pub mod platform;
pub mod reference;
pub mod referrer;
pub mod serde_util;
pub mod tar;

pub use artifact::{Artifact, Image, Index};
pub use config::ConfigFile;
pub use digest::Digest;
pub use layer::{BlobSource, Layer};
pub use lazy_index::{ChildImages, ImageOrIndex, LazyIndex};
pub use manifest::{Descriptor, IndexManifest, Manifest};
pub use platform::Platform;
