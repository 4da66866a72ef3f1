//! sigstore's trust files: a trusted root (`trusted_root.json`: certificate authorities,
//! transparency logs and their keys) for verification, and a signing config
//! (`signing_config.json`, v0.1 or v0.2) naming the Fulcio and Rekor URLs for signing.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::error::SignError;
use super::x509::{Certificate, PublicKey};

/// A certificate authority: its chain, the issuing certificate first.
#[derive(Clone, Debug)]
pub struct Authority {
    pub chain: Vec<Certificate>,
}

/// A transparency log: its key and ID (SHA-256 of the key).
#[derive(Clone, Debug)]
pub struct Log {
    pub base_url: String,
    pub key: PublicKey,
    pub id: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct TrustedRoot {
    pub authorities: Vec<Authority>,
    pub logs: Vec<Log>,
    /// Certificate-transparency logs (their SCTs are embedded in Fulcio certificates).
    pub ct_logs: Vec<Log>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RootFile {
    #[serde(default)]
    tlogs: Vec<LogFile>,
    #[serde(default)]
    ctlogs: Vec<LogFile>,
    #[serde(default)]
    certificate_authorities: Vec<AuthorityFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogFile {
    #[serde(default)]
    base_url: String,
    public_key: RawKey,
    log_id: KeyId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyId {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorityFile {
    cert_chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<RawKey>,
}

impl TrustedRoot {
    pub fn from_file(path: &Path) -> Result<TrustedRoot, SignError> {
        let bad = |message: String| SignError::File { path: path.display().to_string(), what: "trusted root", message };
        let text = std::fs::read(path).map_err(|error| bad(error.to_string()))?;
        TrustedRoot::from_json(&text).map_err(bad)
    }

    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot, String> {
        let file: RootFile = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        let decode = |text: &str| STANDARD.decode(text).map_err(|_| "a value is not base64".to_owned());
        let mut authorities = Vec::new();
        for authority in file.certificate_authorities {
            let mut chain = Vec::new();
            for certificate in authority.cert_chain.certificates {
                let der = decode(&certificate.raw_bytes)?;
                chain.push(Certificate::from_der(&der).map_err(|error| format!("a CA certificate: {}", error.0))?);
            }
            authorities.push(Authority { chain });
        }
        let logs_of = |files: Vec<LogFile>| -> Result<Vec<Log>, String> {
            let mut logs = Vec::new();
            for log in files {
                let key = PublicKey::from_info(&decode(&log.public_key.raw_bytes)?)
                    .map_err(|error| format!("a log key: {}", error.0))?;
                logs.push(Log { base_url: log.base_url, key, id: decode(&log.log_id.key_id)? });
            }
            Ok(logs)
        };
        let logs = logs_of(file.tlogs)?;
        let ct_logs = logs_of(file.ctlogs)?;
        if authorities.is_empty() && logs.is_empty() {
            return Err("it names no certificate authority and no transparency log".into());
        }
        Ok(TrustedRoot { authorities, logs, ct_logs })
    }

    /// A root that trusts nothing (key-based verification without a trusted root).
    pub fn empty() -> TrustedRoot {
        TrustedRoot { authorities: Vec::new(), logs: Vec::new(), ct_logs: Vec::new() }
    }

    pub fn log(&self, id: &[u8]) -> Option<&Log> {
        self.logs.iter().find(|log| log.id == id)
    }
}

/// The service URLs of a signing config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningConfig {
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
}

impl SigningConfig {
    pub fn from_file(path: &Path) -> Result<SigningConfig, SignError> {
        let bad =
            |message: String| SignError::File { path: path.display().to_string(), what: "signing config", message };
        let bytes = std::fs::read(path).map_err(|error| bad(error.to_string()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| bad(error.to_string()))?;
        let first_url = |key: &str, version: Option<u64>| {
            value[key].as_array().and_then(|list| {
                list.iter()
                    .filter(|service| version.is_none_or(|v| service["majorApiVersion"].as_u64().unwrap_or(1) == v))
                    .find_map(|service| service["url"].as_str().map(str::to_owned))
            })
        };
        let fulcio_url = first_url("caUrls", None).or_else(|| value["caUrl"].as_str().map(str::to_owned));
        let rekor_url = first_url("rekorTlogUrls", Some(1))
            .or_else(|| value["tlogUrls"].as_array().and_then(|l| l.first()?.as_str().map(str::to_owned)));
        if rekor_url.is_none()
            && let Some(other) = first_url("rekorTlogUrls", None)
        {
            return Err(bad(format!(
                "it names only Rekor v2 (`{other}`); rko logs in Rekor v1 (cosign 2's `.sig` needs its signed entry timestamps): add a v1 entry or pass --rekor-url"
            )));
        }
        if fulcio_url.is_none() && rekor_url.is_none() {
            return Err(bad("it names no Fulcio (`caUrls`) and no Rekor v1 (`rekorTlogUrls`) service".into()));
        }
        Ok(SigningConfig { fulcio_url, rekor_url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_configs() {
        let directory = tempfile::tempdir().unwrap();
        let write = |text: &str| {
            let path = directory.path().join("signing_config.json");
            std::fs::write(&path, text).unwrap();
            path
        };
        let config = SigningConfig::from_file(&write(
            r#"{"caUrls":[{"url":"http://fulcio"}],"rekorTlogUrls":[{"url":"http://rekor2","majorApiVersion":2},{"url":"http://rekor1","majorApiVersion":1}]}"#,
        ))
        .unwrap();
        assert_eq!(config.fulcio_url.as_deref(), Some("http://fulcio"));
        assert_eq!(config.rekor_url.as_deref(), Some("http://rekor1"));
        let old = SigningConfig::from_file(&write(r#"{"caUrl":"http://f","tlogUrls":["http://r"]}"#)).unwrap();
        assert_eq!(old.rekor_url.as_deref(), Some("http://r"));
        let error = SigningConfig::from_file(&write(
            r#"{"caUrls":[{"url":"http://f"}],"rekorTlogUrls":[{"url":"http://rekor2","majorApiVersion":2}]}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("only Rekor v2") && error.contains("signing_config.json"), "{error}");
        assert!(TrustedRoot::from_json(b"{}").is_err());
    }
}
