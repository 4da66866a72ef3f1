//! Offline verification against a trusted root: a bundle v0.3 (DSSE or message signature) or a
//! legacy cosign layer (simple signing payload or DSSE envelope, with its certificate and Rekor
//! bundle annotations). Checks the certificate chain to a trusted CA, its validity at the log's
//! integrated time, the identity and issuer (or a public key instead), the signature, the Rekor
//! signed entry timestamp and inclusion proof, that the log entry is about this signature,
//! that the payload names the image digest, and the certificate's embedded SCT when the
//! root names CT logs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use super::bundle::{self, Bundle, Envelope, TlogEntry};
use super::cosign;
use super::der;
use super::error::VerifyError;
use super::sct;
use super::trust::TrustedRoot;
use super::x509::{Certificate, Hash, PublicKey};
use crate::image::Digest;

/// An exact value or a regular expression (matched whole, as cosign does).
#[derive(Clone, Debug)]
pub enum Matcher {
    Exact(String),
    Pattern(regex_lite::Regex),
}

impl Matcher {
    pub fn pattern(text: &str) -> Result<Matcher, String> {
        regex_lite::Regex::new(&format!("^(?:{text})$")).map(Matcher::Pattern).map_err(|error| error.to_string())
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(expected) => expected == value,
            Matcher::Pattern(pattern) => pattern.is_match(value),
        }
    }

    fn describe(&self) -> String {
        match self {
            Matcher::Exact(expected) => format!("`{expected}`"),
            Matcher::Pattern(pattern) => format!("the pattern `{}`", pattern.as_str()),
        }
    }
}

/// Who must have signed.
#[derive(Clone, Debug)]
pub enum Policy {
    Identity { identity: Matcher, issuer: Matcher },
    Key(PublicKey),
}

impl Policy {
    pub fn exact(identity: &str, issuer: &str) -> Policy {
        Policy::Identity { identity: Matcher::Exact(identity.into()), issuer: Matcher::Exact(issuer.into()) }
    }

    pub fn key(key: PublicKey) -> Policy {
        Policy::Key(key)
    }
}

/// What a verified signature says.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// `bundle` (OCI referrer) or `legacy` (`.sig` / `.att` tag).
    pub form: String,
    pub predicate_type: String,
    pub identity: String,
    pub issuer: String,
    pub log_index: Option<i64>,
    pub integrated_time: Option<i64>,
    /// The in-toto statement (attestations and cosign-3 signatures).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub statement: Value,
}

fn fail(message: impl Into<String>) -> VerifyError {
    VerifyError::new(message)
}

/// Verify a bundle about `subject`; `predicate_type`, when given, must be the statement's.
pub fn verify_bundle(
    bytes: &[u8],
    subject: &Digest,
    predicate_type: Option<&str>,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Verified, VerifyError> {
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|error| fail(format!("unreadable bundle: {error}")))?;
    if !bundle.media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(fail(format!("unknown bundle media type `{}`", bundle.media_type)));
    }
    let material = &bundle.verification_material;
    let certificate = match (&material.certificate, &material.x509_certificate_chain) {
        (Some(raw), _) => Some(decode(&raw.raw_bytes)?),
        (None, Some(chain)) => chain.certificates.first().map(|raw| decode(&raw.raw_bytes)).transpose()?,
        (None, None) => None,
    };
    let entry = material.tlog_entries.first();
    let signer = check_signer(certificate.as_deref(), entry.map(|entry| entry.integrated_time), policy, root)?;
    let mut verified =
        Verified { form: "bundle".into(), identity: signer.identity, issuer: signer.issuer, ..Verified::default() };
    match (&bundle.dsse_envelope, &bundle.message_signature) {
        (Some(envelope), _) => {
            let (statement, signature) = check_envelope(envelope, &signer.key, subject, predicate_type)?;
            verified.predicate_type = statement["predicateType"].as_str().unwrap_or("").to_owned();
            verified.statement = statement;
            if let Some(entry) = entry {
                let payload = envelope.payload_bytes().unwrap_or_default();
                check_entry(entry, root, &payload, &signature, certificate.as_deref(), &signer.key)?;
            }
        }
        (None, Some(_)) => {
            return Err(fail(
                "the bundle holds a message signature; image signatures are DSSE statements (cosign 3's form)",
            ));
        }
        (None, None) => return Err(fail("the bundle holds neither a DSSE envelope nor a message signature")),
    }
    verified.log_index = entry.map(|entry| entry.log_index);
    verified.integrated_time = entry.map(|entry| entry.integrated_time);
    Ok(verified)
}

/// One cosign legacy layer: its media type, blob and annotations.
pub fn verify_legacy(
    media_type: &str,
    blob: &[u8],
    annotations: &std::collections::BTreeMap<String, String>,
    subject: &Digest,
    predicate_type: Option<&str>,
    policy: &Policy,
    root: Option<&TrustedRoot>,
) -> Result<Verified, VerifyError> {
    let certificate = match annotations.get(cosign::CERTIFICATE_ANNOTATION).filter(|pem| !pem.is_empty()) {
        Some(pem) => Some(
            der::pem_blocks(pem, "CERTIFICATE")
                .into_iter()
                .next()
                .ok_or_else(|| fail("the certificate annotation is not PEM"))?,
        ),
        None => None,
    };
    let entry = match annotations.get(cosign::BUNDLE_ANNOTATION) {
        Some(text) => Some(legacy_entry(text)?),
        None => None,
    };
    let empty_root = TrustedRoot::empty();
    let root = root.unwrap_or(&empty_root);
    let signer = check_signer(certificate.as_deref(), entry.as_ref().map(|entry| entry.integrated_time), policy, root)?;
    let mut verified =
        Verified { form: "legacy".into(), identity: signer.identity, issuer: signer.issuer, ..Verified::default() };
    if media_type == cosign::SIMPLE_SIGNING {
        if predicate_type.is_some() {
            return Err(fail("a simple-signing layer is not an attestation"));
        }
        let signature = decode(annotations.get(cosign::SIGNATURE_ANNOTATION).map_or("", String::as_str))?;
        if !signer.key.verify(Hash::Sha256, blob, &signature) {
            return Err(fail("the signature does not match the payload (tampered, or signed by another key)"));
        }
        let payload: Value = serde_json::from_slice(blob).map_err(|_| fail("the payload is not JSON"))?;
        let named = payload["critical"]["image"]["docker-manifest-digest"].as_str().unwrap_or("");
        if named != subject.as_str() {
            return Err(fail(format!("the payload signs `{named}`, not `{subject}`")));
        }
        if let Some(entry) = &entry {
            check_hashed_entry(entry, Digest::of(blob).hex(), &signature, certificate.as_deref(), &signer.key)?;
            check_log_proofs(entry, root)?;
        }
        verified.predicate_type = bundle::COSIGN_SIGN_PREDICATE.into();
    } else if media_type == cosign::DSSE_ENVELOPE {
        let envelope: Envelope = serde_json::from_slice(blob).map_err(|_| fail("the layer is not a DSSE envelope"))?;
        let (statement, signature) = check_envelope(&envelope, &signer.key, subject, predicate_type)?;
        if let Some(entry) = &entry {
            let payload = envelope.payload_bytes().unwrap_or_default();
            check_entry(entry, root, &payload, &signature, certificate.as_deref(), &signer.key)?;
        }
        verified.predicate_type = statement["predicateType"].as_str().unwrap_or("").to_owned();
        verified.statement = statement;
    } else {
        return Err(fail(format!("unknown signature layer type `{media_type}`")));
    }
    verified.log_index = entry.as_ref().map(|entry| entry.log_index);
    verified.integrated_time = entry.as_ref().map(|entry| entry.integrated_time);
    Ok(verified)
}

struct Signer {
    key: PublicKey,
    identity: String,
    issuer: String,
}

/// The signing key, from a certificate that chains to the root and matches the policy, or
/// the policy's own key.
fn check_signer(
    certificate: Option<&[u8]>,
    integrated_time: Option<i64>,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Signer, VerifyError> {
    match policy {
        Policy::Key(key) => Ok(Signer { key: key.clone(), identity: String::new(), issuer: String::new() }),
        Policy::Identity { identity, issuer } => {
            let der = certificate.ok_or_else(|| fail("the signature has no certificate (key-based: pass --key)"))?;
            let certificate = Certificate::from_der(der)
                .map_err(|error| fail(format!("unreadable certificate: expected {}", error.0)))?;
            let issuing = root
                .authorities
                .iter()
                .filter_map(|authority| authority.chain.first())
                .find(|issuing| certificate.signed_by(&issuing.public_key))
                .ok_or_else(|| fail("the certificate was not issued by a certificate authority of the trusted root"))?;
            if !root.ct_logs.is_empty() {
                sct::verify_embedded(&certificate, &issuing.public_key.info, &root.ct_logs)?;
            }
            let at = integrated_time.ok_or_else(|| fail("the signature has no transparency log entry"))?;
            if !certificate.valid_at(at) {
                return Err(fail(format!(
                    "the certificate was not valid when the signature was logged (at {at}, valid {}..{})",
                    certificate.not_before, certificate.not_after
                )));
            }
            let found_issuer = certificate.issuer.clone().unwrap_or_default();
            if !issuer.matches(&found_issuer) {
                return Err(fail(format!(
                    "the certificate's OIDC issuer is `{found_issuer}`, not {}",
                    issuer.describe()
                )));
            }
            let found = certificate.identities.iter().find(|name| identity.matches(name));
            let Some(found) = found else {
                return Err(fail(format!(
                    "the certificate's identity is `{}`, not {}",
                    certificate.identities.join("`, `"),
                    identity.describe()
                )));
            };
            Ok(Signer { key: certificate.public_key.clone(), identity: found.clone(), issuer: found_issuer })
        }
    }
}

/// Check a DSSE envelope's signature and statement; returns the statement and signature.
fn check_envelope(
    envelope: &Envelope,
    key: &PublicKey,
    subject: &Digest,
    predicate_type: Option<&str>,
) -> Result<(Value, Vec<u8>), VerifyError> {
    let payload = envelope.payload_bytes().ok_or_else(|| fail("the envelope's payload is not base64"))?;
    let pae = bundle::pae(&envelope.payload_type, &payload);
    let signature = envelope
        .signatures
        .iter()
        .filter_map(|signature| STANDARD.decode(&signature.sig).ok())
        .find(|signature| key.verify(Hash::Sha256, &pae, signature))
        .ok_or_else(|| fail("no signature in the envelope matches its payload (tampered, or signed by another key)"))?;
    if envelope.payload_type != bundle::IN_TOTO_PAYLOAD_TYPE {
        return Err(fail(format!("the envelope's payload is `{}`, not an in-toto statement", envelope.payload_type)));
    }
    let statement: Value = serde_json::from_slice(&payload).map_err(|_| fail("the statement is not JSON"))?;
    let subjects = statement["subject"].as_array().cloned().unwrap_or_default();
    if !subjects.iter().any(|entry| entry["digest"]["sha256"].as_str() == Some(subject.hex())) {
        return Err(fail(format!("the statement is not about `{subject}`")));
    }
    let found = statement["predicateType"].as_str().unwrap_or("");
    if let Some(expected) = predicate_type
        && found != expected
    {
        return Err(fail(format!("the statement's predicate type is `{found}`, not `{expected}`")));
    }
    Ok((statement, signature))
}

/// The log entry of a DSSE signature: proofs, and that it logs this payload and signature.
fn check_entry(
    entry: &TlogEntry,
    root: &TrustedRoot,
    payload: &[u8],
    signature: &[u8],
    certificate: Option<&[u8]>,
    key: &PublicKey,
) -> Result<(), VerifyError> {
    check_log_proofs(entry, root)?;
    let body = body(entry)?;
    match body["kind"].as_str().unwrap_or("") {
        "dsse" => {
            let spec = &body["spec"];
            if spec["payloadHash"]["value"].as_str() != Some(Digest::of(payload).hex()) {
                return Err(fail("the log entry is about another payload"));
            }
            let logged = spec["signatures"].as_array().cloned().unwrap_or_default();
            let ours = logged.iter().any(|item| {
                item["signature"].as_str().and_then(|text| STANDARD.decode(text).ok()).as_deref() == Some(signature)
                    && item["verifier"].as_str().is_some_and(|verifier| same_verifier(verifier, certificate, key))
            });
            if !ours {
                return Err(fail("the log entry is about another signature"));
            }
            Ok(())
        }
        "intoto" => {
            let hash = body["spec"]["content"]["payloadHash"]["value"].as_str();
            if hash.is_some() && hash != Some(Digest::of(payload).hex()) {
                return Err(fail("the log entry is about another payload"));
            }
            Ok(())
        }
        other => Err(fail(format!("the log entry is of kind `{other}`, not `dsse`"))),
    }
}

fn check_hashed_entry(
    entry: &TlogEntry,
    sha256_hex: &str,
    signature: &[u8],
    certificate: Option<&[u8]>,
    key: &PublicKey,
) -> Result<(), VerifyError> {
    let body = body(entry)?;
    let spec = &body["spec"];
    if body["kind"].as_str() != Some("hashedrekord") || spec["data"]["hash"]["value"].as_str() != Some(sha256_hex) {
        return Err(fail("the log entry is about another payload"));
    }
    let logged = spec["signature"]["content"].as_str().and_then(|text| STANDARD.decode(text).ok());
    let verifier = spec["signature"]["publicKey"]["content"].as_str().unwrap_or("");
    if logged.as_deref() != Some(signature) || !same_verifier(verifier, certificate, key) {
        return Err(fail("the log entry is about another signature"));
    }
    Ok(())
}

/// Whether a logged verifier (base64 of a PEM certificate or key) is the signer's.
fn same_verifier(logged_base64: &str, certificate: Option<&[u8]>, key: &PublicKey) -> bool {
    let Ok(pem) = STANDARD.decode(logged_base64) else { return false };
    let pem = String::from_utf8_lossy(&pem);
    match certificate {
        Some(der) => der::pem_blocks(&pem, "CERTIFICATE").first().map(Vec::as_slice) == Some(der),
        None => der::pem_blocks(&pem, "PUBLIC KEY")
            .first()
            .is_some_and(|info| PublicKey::from_info(info).is_ok_and(|logged| logged.point == key.point)),
    }
}

fn body(entry: &TlogEntry) -> Result<Value, VerifyError> {
    let bytes = decode(&entry.canonicalized_body)?;
    serde_json::from_slice(&bytes).map_err(|_| fail("the log entry's body is not JSON"))
}

/// The signed entry timestamp and, when present, the inclusion proof and its checkpoint.
fn check_log_proofs(entry: &TlogEntry, root: &TrustedRoot) -> Result<(), VerifyError> {
    let log_id = decode(&entry.log_id.key_id)?;
    let log = root
        .log(&log_id)
        .ok_or_else(|| fail("the signature was logged in a transparency log the trusted root does not name"))?;
    let promise =
        entry.inclusion_promise.as_ref().ok_or_else(|| fail("the log entry has no signed entry timestamp"))?;
    let canonical = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        entry.canonicalized_body,
        entry.integrated_time,
        hex::encode(&log_id),
        entry.log_index
    );
    if !log.key.verify(log.key.default_hash(), canonical.as_bytes(), &decode(&promise.signed_entry_timestamp)?) {
        return Err(fail("the log's signed entry timestamp does not verify"));
    }
    if let Some(proof) = &entry.inclusion_proof {
        let leaf = {
            let mut bytes = vec![0u8];
            bytes.extend(decode(&entry.canonicalized_body)?);
            ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().to_vec()
        };
        let hashes = proof.hashes.iter().map(|hash| decode(hash)).collect::<Result<Vec<_>, _>>()?;
        let root_hash = decode(&proof.root_hash)?;
        if merkle_root(proof.log_index as u64, proof.tree_size as u64, leaf, &hashes).as_deref() != Some(&root_hash[..])
        {
            return Err(fail("the log's inclusion proof does not lead to its root hash"));
        }
        check_checkpoint(&proof.checkpoint.envelope, &root_hash, proof.tree_size, log)?;
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: the root an audit path leads to.
fn merkle_root(index: u64, size: u64, leaf: Vec<u8>, hashes: &[Vec<u8>]) -> Option<Vec<u8>> {
    if index >= size {
        return None;
    }
    let node = |left: &[u8], right: &[u8]| {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(left);
        bytes.extend_from_slice(right);
        ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().to_vec()
    };
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in hashes {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// A signed note: `origin\nsize\nbase64(root)\n…\n\n— name base64(keyhint‖signature)\n`.
fn check_checkpoint(note: &str, root_hash: &[u8], size: i64, log: &super::trust::Log) -> Result<(), VerifyError> {
    let (text, signatures) = note.split_once("\n\n").ok_or_else(|| fail("the checkpoint is not a signed note"))?;
    let text = format!("{text}\n");
    let mut lines = text.lines();
    let (_, found_size, found_root) = (lines.next(), lines.next(), lines.next());
    if found_size != Some(&size.to_string()) || found_root != Some(&STANDARD.encode(root_hash)) {
        return Err(fail("the checkpoint is for another tree"));
    }
    let verified = signatures.lines().filter_map(|line| line.strip_prefix("\u{2014} ")).any(|line| {
        let Some((_, signature)) = line.rsplit_once(' ') else { return false };
        let Ok(bytes) = STANDARD.decode(signature) else { return false };
        bytes.len() > 4
            && bytes[..4] == log.id[..4]
            && log.key.verify(log.key.default_hash(), text.as_bytes(), &bytes[4..])
    });
    if !verified {
        return Err(fail("the checkpoint's signature does not verify with the log's key"));
    }
    Ok(())
}

/// cosign's `dev.sigstore.cosign/bundle` annotation, as a log entry.
fn legacy_entry(text: &str) -> Result<TlogEntry, VerifyError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Annotation {
        signed_entry_timestamp: String,
        payload: Payload,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        body: String,
        integrated_time: i64,
        log_index: i64,
        #[serde(rename = "logID")]
        log_id: String,
    }
    let annotation: Annotation =
        serde_json::from_str(text).map_err(|error| fail(format!("unreadable Rekor bundle annotation: {error}")))?;
    let log_id = hex::decode(&annotation.payload.log_id).map_err(|_| fail("the Rekor bundle's log ID is not hex"))?;
    Ok(TlogEntry {
        log_index: annotation.payload.log_index,
        log_id: bundle::LogId { key_id: STANDARD.encode(log_id) },
        kind_version: bundle::KindVersion { kind: String::new(), version: String::new() },
        integrated_time: annotation.payload.integrated_time,
        inclusion_promise: Some(bundle::InclusionPromise { signed_entry_timestamp: annotation.signed_entry_timestamp }),
        inclusion_proof: None,
        canonicalized_body: annotation.payload.body,
    })
}

fn decode(text: &str) -> Result<Vec<u8>, VerifyError> {
    STANDARD.decode(text.trim()).map_err(|_| fail("a field that should be base64 is not"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_paths() {
        let leaf = |n: u8| ring::digest::digest(&ring::digest::SHA256, &[0, n]).as_ref().to_vec();
        let node = |a: &[u8], b: &[u8]| {
            let mut bytes = vec![1u8];
            bytes.extend_from_slice(a);
            bytes.extend_from_slice(b);
            ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref().to_vec()
        };
        // Three leaves: root = H(H(l0,l1), l2).
        let root = node(&node(&leaf(0), &leaf(1)), &leaf(2));
        assert_eq!(merkle_root(2, 3, leaf(2), &[node(&leaf(0), &leaf(1))]), Some(root.clone()));
        assert_eq!(merkle_root(0, 3, leaf(0), &[leaf(1), leaf(2)]), Some(root.clone()));
        assert_ne!(merkle_root(1, 3, leaf(0), &[leaf(1), leaf(2)]), Some(root.clone()));
        assert_eq!(merkle_root(0, 1, leaf(0), &[]), Some(leaf(0)));
        assert!(Matcher::pattern("https://github.com/.*").unwrap().matches("https://github.com/o/r"));
        assert!(!Matcher::pattern("github").unwrap().matches("https://github.com"));
    }
}
