//! Artifacts attached to an image or index: an OCI 1.1 artifact manifest (`artifactType`, the
//! empty config, one blob, `subject`), and cosign's legacy attachment image (the one pushed to
//! the `sha256-<hex>.sbom` tag, without a subject). Small documents only: the blob is held in
//! memory. Depends only on the rest of `image`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::{ConfigFile, RootFs};
use super::digest::Digest;
use super::gojson;
use super::gotime::Time;
use super::manifest::{Descriptor, Manifest};
use super::media_type;

/// The OCI empty config: `{}`.
pub const EMPTY_CONFIG: &[u8] = b"{}";
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// An artifact manifest that refers to `subject`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    pub subject: Descriptor,
    pub artifact_type: String,
    /// The attached document and its media type.
    pub blob: Arc<Vec<u8>>,
    pub blob_media_type: String,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    digest: Digest,
}

impl Referrer {
    /// An artifact of `artifact_type` holding `blob`, created at `created` (kept deterministic).
    pub fn new(
        subject: Descriptor,
        artifact_type: &str,
        blob_media_type: &str,
        blob: Arc<Vec<u8>>,
        created: Time,
    ) -> Referrer {
        let mut config = Descriptor::of_bytes(media_type::OCI_EMPTY, EMPTY_CONFIG);
        config.data = Some("e30=".into());
        let subject = Descriptor::new(&subject.media_type, subject.size, subject.digest.clone());
        let manifest = Manifest {
            schema_version: 2,
            media_type: media_type::OCI_MANIFEST.into(),
            artifact_type: artifact_type.into(),
            config,
            layers: vec![Descriptor::of_bytes(blob_media_type, &blob)],
            annotations: BTreeMap::from([(CREATED_ANNOTATION.to_owned(), created.to_string())]),
            subject: Some(subject.clone()),
        };
        let manifest_bytes = gojson::to_vec(&manifest);
        let digest = Digest::of(&manifest_bytes);
        Referrer {
            subject,
            artifact_type: artifact_type.into(),
            blob,
            blob_media_type: blob_media_type.into(),
            manifest,
            manifest_bytes,
            digest,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The blobs its manifest names, with their digests: the empty config and the document.
    pub fn blobs(&self) -> [(&Digest, &[u8]); 2] {
        [(&self.manifest.config.digest, EMPTY_CONFIG), (&self.manifest.layers[0].digest, self.blob.as_slice())]
    }

    /// The descriptor listing this referrer in a referrers index.
    pub fn descriptor(&self) -> Descriptor {
        let mut descriptor =
            Descriptor::new(media_type::OCI_MANIFEST, self.manifest_bytes.len() as u64, self.digest.clone());
        descriptor.artifact_type = self.artifact_type.clone();
        descriptor.annotations = self.manifest.annotations.clone();
        descriptor
    }
}

/// cosign's legacy attachment (`static.NewFile`): an OCI image whose one uncompressed layer is
/// the document, for the `sha256-<hex>.<kind>` tag `cosign download` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyAttachment {
    pub tag: String,
    pub config_bytes: Vec<u8>,
    pub manifest_bytes: Vec<u8>,
    pub blob: Arc<Vec<u8>>,
    manifest: Manifest,
}

impl LegacyAttachment {
    /// The attachment of `kind` (`sbom`) for `subject`, holding `blob` of `blob_media_type`.
    pub fn new(subject: &Digest, kind: &str, blob_media_type: &str, blob: Arc<Vec<u8>>) -> LegacyAttachment {
        let layer = Descriptor::of_bytes(blob_media_type, &blob);
        let config = ConfigFile {
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![layer.digest.clone()] },
            ..ConfigFile::default()
        };
        let config_bytes = gojson::to_vec(&config);
        let manifest = Manifest {
            schema_version: 2,
            media_type: media_type::OCI_MANIFEST.into(),
            artifact_type: String::new(),
            config: Descriptor::of_bytes(media_type::OCI_CONFIG, &config_bytes),
            layers: vec![layer],
            annotations: BTreeMap::new(),
            subject: None,
        };
        LegacyAttachment {
            tag: format!("sha256-{}.{kind}", subject.hex()),
            config_bytes,
            manifest_bytes: gojson::to_vec(&manifest),
            blob,
            manifest,
        }
    }

    /// The blobs its manifest names, with their digests: the config and the document.
    pub fn blobs(&self) -> [(&Digest, &[u8]); 2] {
        [(&self.manifest.config.digest, &self.config_bytes), (&self.manifest.layers[0].digest, self.blob.as_slice())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_manifest_follows_oci_1_1() {
        let subject = Descriptor::of_bytes(media_type::OCI_MANIFEST, b"image");
        let referrer = Referrer::new(
            subject.clone(),
            "application/spdx+json",
            "application/spdx+json",
            Arc::new(b"{}".to_vec()),
            Time::ZERO,
        );
        let value: serde_json::Value = serde_json::from_slice(referrer.manifest_bytes()).unwrap();
        assert_eq!(value["artifactType"], "application/spdx+json");
        assert_eq!(value["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
        assert_eq!(
            value["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(value["subject"]["digest"], subject.digest.as_str());
        assert_eq!(referrer.descriptor().artifact_type, "application/spdx+json");
        let legacy = LegacyAttachment::new(&subject.digest, "sbom", "text/spdx+json", Arc::new(b"{}".to_vec()));
        assert_eq!(legacy.tag, format!("sha256-{}.sbom", subject.digest.hex()));
    }
}
