//! cosign's legacy signature images, the `sha256-<hex>.sig` and `.att` tags every cosign
//! version reads: one layer per signature (the simple-signing payload, or a DSSE envelope)
//! with its signature, certificate, chain and Rekor bundle as layer annotations. Appending to
//! an existing image keeps earlier signatures and does not repeat an identical one. Pure data.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::error::SignError;
use super::services::LogEntry;
use crate::image::config::{ConfigFile, History, RootFs};
use crate::image::{Descriptor, Digest, Manifest, gojson, media_type};

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";

/// Which legacy tag a layer belongs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyKind {
    Signature,
    Attestation,
}

impl LegacyKind {
    pub fn suffix(self) -> &'static str {
        match self {
            LegacyKind::Signature => "sig",
            LegacyKind::Attestation => "att",
        }
    }

    /// `sha256-<hex>.sig` / `.att` for `subject`.
    pub fn tag(self, subject: &Digest) -> String {
        format!("sha256-{}.{}", subject.hex(), self.suffix())
    }
}

/// One signature layer: its blob (payload or envelope), media type and annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyLayer {
    pub kind: LegacyKind,
    pub media_type: String,
    pub blob: Arc<Vec<u8>>,
    pub annotations: BTreeMap<String, String>,
}

impl LegacyLayer {
    pub fn descriptor(&self) -> Descriptor {
        let mut descriptor = Descriptor::of_bytes(&self.media_type, &self.blob);
        descriptor.annotations = self.annotations.clone();
        descriptor
    }
}

/// cosign's simple-signing payload for `docker_reference` (repository) at `digest`.
pub fn simple_signing_payload(docker_reference: &str, digest: &Digest) -> Vec<u8> {
    let payload = json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest.as_str()},
            "type": "cosign container image signature",
        },
        "optional": null,
    });
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The annotations of a signature layer. `certificate_pem` and `chain_pem` are empty for
/// key-based signatures; `entry` is absent without a transparency log.
pub fn annotations(
    signature_base64: &str,
    certificate_pem: &str,
    chain_pem: &str,
    entry: Option<&LogEntry>,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([(SIGNATURE_ANNOTATION.to_owned(), signature_base64.to_owned())]);
    if !certificate_pem.is_empty() {
        annotations.insert(CERTIFICATE_ANNOTATION.into(), certificate_pem.to_owned());
        annotations.insert(CHAIN_ANNOTATION.into(), chain_pem.to_owned());
    }
    if let Some(entry) = entry {
        let set = entry.entry.inclusion_promise.as_ref().map_or("", |promise| &promise.signed_entry_timestamp);
        let bundle = json!({
            "SignedEntryTimestamp": set,
            "Payload": {
                "body": entry.entry.canonicalized_body,
                "integratedTime": entry.entry.integrated_time,
                "logIndex": entry.entry.log_index,
                "logID": entry.log_id_hex,
            },
        });
        annotations.insert(BUNDLE_ANNOTATION.into(), serde_json::to_string(&bundle).unwrap_or_default());
    }
    annotations
}

/// A legacy signature image ready to push: its tag, manifest and config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyImage {
    pub tag: String,
    pub manifest_bytes: Vec<u8>,
    pub config_bytes: Vec<u8>,
    /// False when the layer was already there (nothing to push).
    pub changed: bool,
}

impl LegacyImage {
    pub fn config_digest(&self) -> Digest {
        Digest::of(&self.config_bytes)
    }
}

/// Append `layer` to the legacy image `tag` whose current manifest and config are `existing`
/// (none when the tag does not exist yet), as cosign does: earlier layers stay, in order; a
/// layer with the same blob and the same signature is not added twice.
pub fn append_layer(
    tag: &str,
    existing: Option<(&[u8], Option<&[u8]>)>,
    layer: &LegacyLayer,
) -> Result<LegacyImage, SignError> {
    let invalid = |message: String| SignError::Legacy { tag: tag.to_owned(), message };
    let (mut manifest, mut config) = match existing {
        Some((manifest_bytes, config_bytes)) => {
            let manifest: Manifest = serde_json::from_slice(manifest_bytes)
                .map_err(|error| invalid(format!("its manifest is not an image manifest: {error}")))?;
            let config = config_bytes.and_then(|bytes| serde_json::from_slice::<ConfigFile>(bytes).ok());
            (manifest, config.unwrap_or_default())
        }
        None => (
            Manifest {
                schema_version: 2,
                media_type: media_type::OCI_MANIFEST.into(),
                artifact_type: String::new(),
                config: Descriptor::of_bytes(media_type::OCI_CONFIG, b"{}"),
                layers: Vec::new(),
                annotations: BTreeMap::new(),
                subject: None,
            },
            ConfigFile::default(),
        ),
    };
    let descriptor = layer.descriptor();
    let duplicate = manifest.layers.iter().any(|existing| {
        existing.digest == descriptor.digest
            && existing.annotations.get(SIGNATURE_ANNOTATION) == descriptor.annotations.get(SIGNATURE_ANNOTATION)
    });
    if !duplicate {
        manifest.layers.push(descriptor);
    }
    config.rootfs =
        RootFs { kind: "layers".into(), diff_ids: manifest.layers.iter().map(|l| l.digest.clone()).collect() };
    config.history.resize_with(manifest.layers.len(), History::default);
    let config_bytes = gojson::to_vec(&config);
    manifest.config = Descriptor::of_bytes(
        if manifest.config.media_type.is_empty() { media_type::OCI_CONFIG } else { &manifest.config.media_type },
        &config_bytes,
    );
    Ok(LegacyImage {
        tag: tag.to_owned(),
        manifest_bytes: gojson::to_vec(&manifest),
        config_bytes,
        changed: !duplicate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(signature: &str) -> LegacyLayer {
        LegacyLayer {
            kind: LegacyKind::Signature,
            media_type: SIMPLE_SIGNING.into(),
            blob: Arc::new(simple_signing_payload("r/a", &Digest::of(b"image"))),
            annotations: annotations(signature, "", "", None),
        }
    }

    #[test]
    fn appends_and_does_not_repeat() {
        let tag = LegacyKind::Signature.tag(&Digest::of(b"image"));
        assert!(tag.starts_with("sha256-") && tag.ends_with(".sig"));
        let first = append_layer(&tag, None, &layer("c2lnMQ==")).unwrap();
        let second =
            append_layer(&tag, Some((&first.manifest_bytes, Some(&first.config_bytes))), &layer("c2lnMg==")).unwrap();
        let again =
            append_layer(&tag, Some((&second.manifest_bytes, Some(&second.config_bytes))), &layer("c2lnMg==")).unwrap();
        assert!(first.changed && second.changed && !again.changed);
        assert_eq!(again.manifest_bytes, second.manifest_bytes);
        let manifest: Manifest = serde_json::from_slice(&second.manifest_bytes).unwrap();
        assert_eq!(manifest.layers.len(), 2);
        assert_eq!(manifest.layers[0].annotations[SIGNATURE_ANNOTATION], "c2lnMQ==");
        assert_eq!(manifest.config.digest, second.config_digest());
        let config: ConfigFile = serde_json::from_slice(&second.config_bytes).unwrap();
        assert_eq!(config.rootfs.diff_ids.len(), 2);
        let error = append_layer(&tag, Some((b"[]", None)), &layer("x")).unwrap_err().to_string();
        assert!(error.contains(&tag), "{error}");
    }
}
