//! Documents attached to an image or index (SBOMs, signatures, attestations), stored the two
//! ways verifiers look for them: an OCI 1.1 artifact manifest (`artifactType`, the empty config,
//! one blob, `subject`, annotations), and cosign's legacy attachment image (the one pushed to
//! the `sha256-<hex>.sbom`/`.sig`/`.att` tag, without a subject), which either replaces what
//! the tag held (`.sbom`) or appends a layer to it (`.sig`, `.att`, so earlier signatures
//! survive). Small documents only: the blob is held in memory. Depends only on the rest of
//! `image`.

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

/// A document format for SBOMs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SbomFormat {
    Spdx,
    CycloneDx,
}

impl SbomFormat {
    pub fn name(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "spdx",
            SbomFormat::CycloneDx => "cyclonedx",
        }
    }

    /// The referrer's `artifactType` and the document's media type.
    pub fn media_type(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "application/spdx+json",
            SbomFormat::CycloneDx => "application/vnd.cyclonedx+json",
        }
    }

    /// The layer media type cosign uses in its legacy `.sbom` images.
    pub fn legacy_media_type(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "text/spdx+json",
            SbomFormat::CycloneDx => "application/vnd.cyclonedx+json",
        }
    }
}

/// What an attachment is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachmentKind {
    Sbom(SbomFormat),
    Signature,
    Attestation { predicate_type: String },
}

impl AttachmentKind {
    /// `spdx`, `cyclonedx`, `signature` or the attestation's predicate type, for reports.
    pub fn name(&self) -> &str {
        match self {
            AttachmentKind::Sbom(format) => format.name(),
            AttachmentKind::Signature => "signature",
            AttachmentKind::Attestation { predicate_type } => predicate_type,
        }
    }
}

/// A document attached to one image or index: its referrer and, optionally, cosign's legacy
/// image for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub referrer: Referrer,
    pub legacy: Option<LegacyAttachment>,
}

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
        Referrer::annotated(subject, artifact_type, blob_media_type, blob, created, BTreeMap::new())
    }

    /// [`Referrer::new`] with more manifest annotations (cosign's bundle referrers carry some).
    pub fn annotated(
        subject: Descriptor,
        artifact_type: &str,
        blob_media_type: &str,
        blob: Arc<Vec<u8>>,
        created: Time,
        mut annotations: BTreeMap<String, String>,
    ) -> Referrer {
        annotations.insert(CREATED_ANNOTATION.to_owned(), created.to_string());
        let mut config = Descriptor::of_bytes(media_type::OCI_EMPTY, EMPTY_CONFIG);
        config.data = Some("e30=".into());
        let subject = Descriptor::new(&subject.media_type, subject.size, subject.digest.clone());
        let manifest = Manifest {
            schema_version: 2,
            media_type: media_type::OCI_MANIFEST.into(),
            artifact_type: artifact_type.into(),
            config,
            layers: vec![Descriptor::of_bytes(blob_media_type, &blob)],
            annotations,
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

/// What a legacy attachment does to the tag that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyMode {
    /// The tag gets this image alone (`.sbom`: one SBOM per subject).
    Replace,
    /// The layer is added to the image the tag holds, if not already there (`.sig`, `.att`).
    Append,
}

/// cosign's legacy attachment (`static.NewFile`): an OCI image whose one uncompressed layer is
/// the document, for the `sha256-<hex>.<kind>` tag `cosign download`/`verify` read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyAttachment {
    pub tag: String,
    pub mode: LegacyMode,
    pub config_bytes: Vec<u8>,
    pub manifest_bytes: Vec<u8>,
    pub blob: Arc<Vec<u8>>,
    manifest: Manifest,
}

/// An existing legacy attachment image could not be extended.
#[derive(Debug, thiserror::Error)]
#[error("the image at tag `{tag}` is not a cosign attachment image: {message}")]
pub struct LegacyMergeError {
    pub tag: String,
    pub message: String,
}

impl LegacyAttachment {
    /// The attachment of `kind` (`sbom`) for `subject`, holding `blob` of `blob_media_type`;
    /// it replaces what the tag held.
    pub fn new(subject: &Digest, kind: &str, blob_media_type: &str, blob: Arc<Vec<u8>>) -> LegacyAttachment {
        LegacyAttachment::with_layer(subject, kind, LegacyMode::Replace, blob_media_type, blob, BTreeMap::new())
    }

    /// An attachment whose layer (with `annotations`, e.g. cosign's signature and certificate)
    /// is appended to what the tag holds (`sig`, `att`).
    pub fn appending(
        subject: &Digest,
        kind: &str,
        blob_media_type: &str,
        blob: Arc<Vec<u8>>,
        annotations: BTreeMap<String, String>,
    ) -> LegacyAttachment {
        LegacyAttachment::with_layer(subject, kind, LegacyMode::Append, blob_media_type, blob, annotations)
    }

    fn with_layer(
        subject: &Digest,
        kind: &str,
        mode: LegacyMode,
        blob_media_type: &str,
        blob: Arc<Vec<u8>>,
        annotations: BTreeMap<String, String>,
    ) -> LegacyAttachment {
        let mut layer = Descriptor::of_bytes(blob_media_type, &blob);
        layer.annotations = annotations;
        let tag = format!("sha256-{}.{kind}", subject.hex());
        let config = ConfigFile {
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![layer.digest.clone()] },
            ..ConfigFile::default()
        };
        LegacyAttachment::assemble(tag, mode, gojson::to_vec(&config), vec![layer], blob)
    }

    fn assemble(
        tag: String,
        mode: LegacyMode,
        config_bytes: Vec<u8>,
        layers: Vec<Descriptor>,
        blob: Arc<Vec<u8>>,
    ) -> LegacyAttachment {
        let manifest = Manifest {
            schema_version: 2,
            media_type: media_type::OCI_MANIFEST.into(),
            artifact_type: String::new(),
            config: Descriptor::of_bytes(media_type::OCI_CONFIG, &config_bytes),
            layers,
            annotations: BTreeMap::new(),
            subject: None,
        };
        LegacyAttachment { tag, mode, config_bytes, manifest_bytes: gojson::to_vec(&manifest), blob, manifest }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The layer this attachment adds (its last).
    pub fn layer(&self) -> &Descriptor {
        &self.manifest.layers[self.manifest.layers.len() - 1]
    }

    /// This attachment's layer added to the image the tag already holds (its manifest and
    /// config), as cosign appends signatures: earlier layers keep their order and annotations,
    /// and a layer already there (same digest and annotations) is not added twice. `None` when
    /// nothing changes.
    pub fn appended_to(
        &self,
        existing_manifest: &[u8],
        existing_config: &[u8],
    ) -> Result<Option<LegacyAttachment>, LegacyMergeError> {
        let error = |message: String| LegacyMergeError { tag: self.tag.clone(), message };
        let existing: Manifest =
            serde_json::from_slice(existing_manifest).map_err(|e| error(format!("its manifest: {e}")))?;
        let ours = self.layer();
        if existing.layers.iter().any(|layer| layer.digest == ours.digest && layer.annotations == ours.annotations) {
            return Ok(None);
        }
        let mut config: serde_json::Value =
            serde_json::from_slice(existing_config).map_err(|e| error(format!("its config: {e}")))?;
        let diff_ids = config
            .pointer_mut("/rootfs/diff_ids")
            .and_then(serde_json::Value::as_array_mut)
            .ok_or_else(|| error("its config has no `rootfs.diff_ids`".into()))?;
        diff_ids.push(serde_json::Value::String(ours.digest.to_string()));
        let config_bytes = serde_json::to_vec(&config).map_err(|e| error(e.to_string()))?;
        let mut layers = existing.layers;
        layers.push(ours.clone());
        Ok(Some(LegacyAttachment::assemble(self.tag.clone(), self.mode, config_bytes, layers, self.blob.clone())))
    }

    /// The blobs this attachment adds, with their digests: the config and its document (the
    /// earlier layers of an appended image are already in the registry).
    pub fn blobs(&self) -> [(&Digest, &[u8]); 2] {
        [(&self.manifest.config.digest, &self.config_bytes), (&self.layer().digest, self.blob.as_slice())]
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
        assert_eq!(legacy.mode, LegacyMode::Replace);
    }

    #[test]
    fn legacy_signatures_append_once() {
        let subject = Digest::of(b"image");
        let annotated = |signature: &str| {
            LegacyAttachment::appending(
                &subject,
                "sig",
                "application/vnd.dev.cosign.simplesigning.v1+json",
                Arc::new(b"{\"critical\":{}}".to_vec()),
                BTreeMap::from([("dev.cosignproject.cosign/signature".to_owned(), signature.to_owned())]),
            )
        };
        let first = annotated("MEUC-first");
        assert_eq!(first.tag, format!("sha256-{}.sig", subject.hex()));
        let second = annotated("MEUC-second");
        let merged = second.appended_to(&first.manifest_bytes, &first.config_bytes).unwrap().unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&merged.manifest_bytes).unwrap();
        let signatures: Vec<_> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|layer| layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap())
            .collect();
        assert_eq!(signatures, ["MEUC-first", "MEUC-second"]);
        let config: serde_json::Value = serde_json::from_slice(&merged.config_bytes).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(manifest["config"]["digest"], Digest::of(&merged.config_bytes).as_str());
        // The same signature again changes nothing.
        assert!(second.appended_to(&merged.manifest_bytes, &merged.config_bytes).unwrap().is_none());
        assert!(second.appended_to(b"not json", b"{}").is_err());
    }
}
