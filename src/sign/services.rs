//! The two sigstore services a keyless signature needs: Fulcio (`POST /api/v2/signingCert`:
//! a token and a public key in, a certificate chain out) and Rekor v1 (`POST
//! /api/v1/log/entries`: a hashedrekord or dsse entry in, its log entry with signed entry
//! timestamp and inclusion proof out). Both go through [`super::http::send`]'s retries.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::bundle::{Checkpoint, InclusionPromise, InclusionProof, KindVersion, LogId, TlogEntry};
use super::der;
use super::error::SignError;
use super::http::{self, body_text};
use super::token::IdentityToken;

const FULCIO: &str = "Fulcio";
const REKOR: &str = "Rekor";

/// Ask Fulcio for a certificate for `public_key_info` (DER SPKI); `proof` is the signature
/// over the token's subject. Returns the chain as DER, leaf first.
pub async fn fulcio_certificate(
    http: &reqwest::Client,
    base: &str,
    timeout: Duration,
    token: &IdentityToken,
    public_key_info: &[u8],
    proof: &[u8],
) -> Result<Vec<Vec<u8>>, SignError> {
    let url = format!("{}/api/v2/signingCert", base.trim_end_matches('/'));
    let body = json!({
        "credentials": {"oidcIdentityToken": token.jwt},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": der::pem("PUBLIC KEY", public_key_info)},
            "proofOfPossession": STANDARD.encode(proof),
        },
    });
    let answer = http::send(FULCIO, &url, timeout, || {
        http.post(&url)
            .bearer_auth(&token.jwt)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
    })
    .await?;
    if !answer.status.is_success() {
        return Err(SignError::Refused {
            service: FULCIO,
            url,
            status: answer.status.as_u16(),
            message: body_text(&answer.body),
        });
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Reply {
        signed_certificate_embedded_sct: Option<Signed>,
        signed_certificate_detached_sct: Option<Signed>,
    }
    #[derive(Deserialize)]
    struct Signed {
        chain: Chain,
    }
    #[derive(Deserialize)]
    struct Chain {
        certificates: Vec<String>,
    }
    let protocol = |message: String| SignError::Protocol { service: FULCIO, url: url.clone(), message };
    let reply: Reply = serde_json::from_slice(&answer.body).map_err(|error| protocol(error.to_string()))?;
    let signed = reply
        .signed_certificate_embedded_sct
        .or(reply.signed_certificate_detached_sct)
        .ok_or_else(|| protocol("no certificate chain in the answer".into()))?;
    let chain: Vec<Vec<u8>> =
        signed.chain.certificates.iter().flat_map(|text| der::pem_blocks(text, "CERTIFICATE")).collect();
    if chain.is_empty() {
        return Err(protocol("the certificate chain is empty".into()));
    }
    Ok(chain)
}

/// Rekor's answer to an upload, as the bundle and cosign's annotations need it.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub entry: TlogEntry,
    /// The log ID in hex (as cosign's `dev.sigstore.cosign/bundle` wants it).
    pub log_id_hex: String,
}

/// A hashedrekord v0.0.1 entry: SHA-256 of the artifact, the signature, the certificate PEM.
pub fn hashedrekord(sha256_hex: &str, signature: &[u8], certificate_pem: &str) -> serde_json::Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256_hex}},
            "signature": {
                "content": STANDARD.encode(signature),
                "publicKey": {"content": STANDARD.encode(certificate_pem)},
            },
        },
    })
}

/// A dsse v0.0.1 entry: the envelope's JSON text and the verifier (certificate PEM).
pub fn dsse(envelope_json: &str, certificate_pem: &str) -> serde_json::Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {"envelope": envelope_json, "verifiers": [STANDARD.encode(certificate_pem)]}},
    })
}

/// Upload `proposed` to Rekor v1 at `base`. A 409 (the same entry is already logged, e.g.
/// after a retried upload) is answered by reading the existing entry.
pub async fn rekor_upload(
    http: &reqwest::Client,
    base: &str,
    timeout: Duration,
    proposed: &serde_json::Value,
) -> Result<LogEntry, SignError> {
    let base = base.trim_end_matches('/');
    let url = format!("{base}/api/v1/log/entries");
    let kind = proposed["kind"].as_str().unwrap_or("").to_owned();
    let version = proposed["apiVersion"].as_str().unwrap_or("").to_owned();
    let mut answer = http::send(REKOR, &url, timeout, || {
        http.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(proposed.to_string())
    })
    .await?;
    if answer.status == StatusCode::CONFLICT
        && let Some(location) = answer.location.clone()
    {
        let existing = if location.starts_with("http") { location } else { format!("{base}{location}") };
        answer = http::send(REKOR, &existing, timeout, || http.get(&existing)).await?;
    }
    if !answer.status.is_success() {
        return Err(SignError::Refused {
            service: REKOR,
            url,
            status: answer.status.as_u16(),
            message: body_text(&answer.body),
        });
    }
    parse_entry(&answer.body, &kind, &version).map_err(|message| SignError::Protocol { service: REKOR, url, message })
}

/// Rekor's `{uuid: {body, integratedTime, logID, logIndex, verification}}`.
fn parse_entry(body: &[u8], kind: &str, version: &str) -> Result<LogEntry, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        body: String,
        integrated_time: i64,
        #[serde(rename = "logID")]
        log_id: String,
        log_index: i64,
        verification: Option<Verification>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Verification {
        signed_entry_timestamp: Option<String>,
        inclusion_proof: Option<Proof>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Proof {
        checkpoint: String,
        #[serde(default)]
        hashes: Vec<String>,
        log_index: i64,
        root_hash: String,
        tree_size: i64,
    }
    let map: std::collections::BTreeMap<String, Entry> =
        serde_json::from_slice(body).map_err(|error| error.to_string())?;
    let entry = map.into_values().next().ok_or("no entry in the answer")?;
    let log_id = hex::decode(&entry.log_id).map_err(|_| "the log ID is not hex".to_owned())?;
    let verification = entry.verification.ok_or("the entry has no verification data")?;
    let set = verification.signed_entry_timestamp.ok_or("the entry has no signed entry timestamp")?;
    let to_base64 = |text: &str| hex::decode(text).map(|bytes| STANDARD.encode(bytes));
    let inclusion_proof = match verification.inclusion_proof {
        Some(proof) => Some(InclusionProof {
            log_index: proof.log_index,
            root_hash: to_base64(&proof.root_hash).map_err(|_| "the root hash is not hex".to_owned())?,
            tree_size: proof.tree_size,
            hashes: proof
                .hashes
                .iter()
                .map(|hash| to_base64(hash))
                .collect::<Result<_, _>>()
                .map_err(|_| "a proof hash is not hex".to_owned())?,
            checkpoint: Checkpoint { envelope: proof.checkpoint },
        }),
        None => None,
    };
    Ok(LogEntry {
        entry: TlogEntry {
            log_index: entry.log_index,
            log_id: LogId { key_id: STANDARD.encode(&log_id) },
            kind_version: KindVersion { kind: kind.to_owned(), version: version.to_owned() },
            integrated_time: entry.integrated_time,
            inclusion_promise: Some(InclusionPromise { signed_entry_timestamp: set }),
            inclusion_proof,
            canonicalized_body: entry.body,
        },
        log_id_hex: entry.log_id,
    })
}
