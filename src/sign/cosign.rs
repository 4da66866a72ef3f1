//! cosign's legacy signature images, the `sha256-<hex>.sig` and `.att` tags every cosign
//! version reads: one layer per signature (the simple-signing payload, or a DSSE envelope)
//! with its signature, certificate, chain and Rekor bundle as layer annotations, as an
//! appending [`LegacyAttachment`] (earlier signatures survive; an identical one is not
//! repeated). Pure data.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::services::LogEntry;
use crate::image::Digest;
use crate::image::referrer::LegacyAttachment;

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

/// The legacy attachment of `kind` for `subject`: one layer of `media_type` holding `blob`,
/// with cosign's `annotations`, appended to what the tag holds.
pub fn legacy_attachment(
    kind: LegacyKind,
    subject: &Digest,
    media_type: &str,
    blob: Arc<Vec<u8>>,
    annotations: BTreeMap<String, String>,
) -> LegacyAttachment {
    LegacyAttachment::appending(subject, kind.suffix(), media_type, blob, annotations)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_carry_cosign_annotations() {
        let subject = Digest::of(b"image");
        assert_eq!(LegacyKind::Signature.tag(&subject), format!("sha256-{}.sig", subject.hex()));
        let payload = simple_signing_payload("r/a", &subject);
        let attachment = legacy_attachment(
            LegacyKind::Signature,
            &subject,
            SIMPLE_SIGNING,
            Arc::new(payload),
            annotations("c2ln", "CERT", "CHAIN", None),
        );
        assert_eq!(attachment.tag, LegacyKind::Signature.tag(&subject));
        let layer = attachment.layer();
        assert_eq!(layer.annotations[SIGNATURE_ANNOTATION], "c2ln");
        assert_eq!(layer.annotations[CHAIN_ANNOTATION], "CHAIN");
        assert!(!layer.annotations.contains_key(BUNDLE_ANNOTATION));
        let text = String::from_utf8(attachment.blob.to_vec()).unwrap();
        assert!(text.contains(r#""docker-manifest-digest":""#) && text.ends_with(r#""optional":null}"#), "{text}");
    }
}
