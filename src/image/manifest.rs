//! Descriptors, image manifests and indexes with ggcr's field order and Go's leniency, so that
//! re-encoding gives the bytes ko would. Depends only on the rest of `image`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::platform::Platform;
use super::serde_util::nullable;

/// A reference to a blob or manifest: media type, size, digest and optional metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default, deserialize_with = "nullable")]
    pub media_type: String,
    pub size: u64,
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(rename = "artifactType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
}

impl Descriptor {
    pub fn new(media_type: &str, size: u64, digest: Digest) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            size,
            digest,
            data: None,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: String::new(),
        }
    }

    /// The descriptor of an in-memory document (config, manifest).
    pub fn of_bytes(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor::new(media_type, bytes.len() as u64, Digest::of(bytes))
    }
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(rename = "artifactType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "nullable")]
    pub layers: Vec<Descriptor>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
}

/// The annotation naming the base an image was built on (as given: tag and all).
pub const BASE_NAME_ANNOTATION: &str = "org.opencontainers.image.base.name";
/// The annotation holding the base's digest.
pub const BASE_DIGEST_ANNOTATION: &str = "org.opencontainers.image.base.digest";

/// An image index (OCI index or Docker manifest list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexManifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(rename = "artifactType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
}

impl IndexManifest {
    /// A schema 2 index of `media_type` listing `manifests`, with no annotations or subject.
    pub fn new(media_type: &str, manifests: Vec<Descriptor>) -> IndexManifest {
        IndexManifest {
            schema_version: 2,
            media_type: media_type.to_owned(),
            artifact_type: String::new(),
            manifests,
            annotations: BTreeMap::new(),
            subject: None,
        }
    }
}
