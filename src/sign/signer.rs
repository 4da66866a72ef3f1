//! The [`Signer`]: made once per run (one ephemeral P-256 key and one Fulcio certificate, or
//! a key file), then asked to sign image digests and attest predicates. Each call logs its
//! signature in Rekor (unless the transparency log is off) and returns everything a publisher
//! pushes: the bundle v0.3 referrer cosign 3 reads and the legacy `.sig` / `.att` layer older
//! cosign versions read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

use super::bundle::{self, Bundle, Envelope, EnvelopeSignature, RawBytes, VerificationMaterial};
use super::cosign::{self, LegacyKind};
use super::der;
use super::error::SignError;
use super::key;
use super::services::{self, LogEntry};
use super::token::TokenSource;
use super::trust::{SigningConfig, TrustedRoot};
use super::verify::{self, Policy};
use crate::image::gotime::Time;
use crate::image::referrer::{Attachment, AttachmentKind, LegacyAttachment, Referrer};
use crate::image::{Descriptor, Digest};

pub const PUBLIC_FULCIO: &str = "https://fulcio.sigstore.dev";
pub const PUBLIC_REKOR: &str = "https://rekor.sigstore.dev";
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
pub const BUNDLE_PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// How signatures are made.
#[derive(Clone, Debug)]
pub enum SigningMethod {
    /// An OIDC token → a Fulcio certificate for an ephemeral key.
    Keyless(TokenSource),
    /// A key file: cosign's encrypted key (with its password) or a PKCS#8 PEM.
    Key { path: PathBuf, password: Option<String> },
}

/// Everything a run's signer needs, as values (the CLI resolves flags and environment).
#[derive(Clone, Debug)]
pub struct SignerOptions {
    pub method: SigningMethod,
    /// Service URLs; a signing config file fills the ones not given; the public-good
    /// instance fills the rest.
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
    pub signing_config: Option<PathBuf>,
    /// When given, every signature is verified against it right after it is made.
    pub trusted_root: Option<PathBuf>,
    /// Log signatures in Rekor (keyless signing always does).
    pub tlog_upload: bool,
    /// How long Fulcio and Rekor may take, retries included.
    pub timeout: Duration,
}

impl SignerOptions {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
}

/// A signed image digest: the bundle referrer and the legacy `.sig` layer.
#[derive(Clone, Debug)]
pub struct Signature {
    pub referrer: Referrer,
    pub legacy: LegacyAttachment,
    pub bundle: Arc<Vec<u8>>,
}

/// A signed in-toto statement about an image digest.
#[derive(Clone, Debug)]
pub struct Attestation {
    pub predicate_type: String,
    pub referrer: Referrer,
    pub legacy: LegacyAttachment,
    pub bundle: Arc<Vec<u8>>,
}

impl Signature {
    /// What the registry publisher pushes ([`crate::registry::pusher::Pusher::attach`]).
    pub fn attachment(&self) -> Attachment {
        Attachment {
            kind: AttachmentKind::Signature,
            referrer: self.referrer.clone(),
            legacy: Some(self.legacy.clone()),
        }
    }
}

impl Attestation {
    pub fn attachment(&self) -> Attachment {
        Attachment {
            kind: AttachmentKind::Attestation { predicate_type: self.predicate_type.clone() },
            referrer: self.referrer.clone(),
            legacy: Some(self.legacy.clone()),
        }
    }
}

/// Who the signatures are from.
#[derive(Clone, Debug)]
enum Identity {
    Certificate { leaf_der: Vec<u8>, leaf_pem: String, chain_pem: String, identity: String, issuer: String },
    Key,
}

pub struct Signer {
    http: reqwest::Client,
    rng: SystemRandom,
    key: EcdsaKeyPair,
    public_key_info: Vec<u8>,
    identity: Identity,
    rekor_url: Option<String>,
    timeout: Duration,
    trusted_root: Option<TrustedRoot>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Signer({:?})", self.identity)
    }
}

impl Signer {
    /// Get the token and the certificate (keyless) or read the key: once per run.
    pub async fn new(options: SignerOptions) -> Result<Signer, SignError> {
        let config = match &options.signing_config {
            Some(path) => Some(SigningConfig::from_file(path)?),
            None => None,
        };
        let fulcio_url = options
            .fulcio_url
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.fulcio_url.clone()))
            .unwrap_or_else(|| PUBLIC_FULCIO.into());
        let rekor_url = options
            .rekor_url
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.rekor_url.clone()))
            .unwrap_or_else(|| PUBLIC_REKOR.into());
        let trusted_root = match &options.trusted_root {
            Some(path) => Some(TrustedRoot::from_file(path)?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("rko/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| SignError::Options(error.to_string()))?;
        let rng = SystemRandom::new();
        let (key, identity, tlog) = match &options.method {
            SigningMethod::Keyless(source) => {
                // The token is checked (parsed, not expired) before anything is sent to Fulcio.
                let token = source.fetch(&http).await?;
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .map_err(|_| SignError::Options("cannot generate an ephemeral key".into()))?;
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                    .map_err(|_| SignError::Options("cannot load the ephemeral key".into()))?;
                let info = der::p256_public_key_info(key.public_key().as_ref());
                let proof = key
                    .sign(&rng, token.challenge().as_bytes())
                    .map_err(|_| SignError::Options("cannot sign the proof of possession".into()))?;
                let chain =
                    services::fulcio_certificate(&http, &fulcio_url, options.timeout, &token, &info, proof.as_ref())
                        .await?;
                let leaf = super::x509::Certificate::from_der(&chain[0]).map_err(|error| SignError::Protocol {
                    service: "Fulcio",
                    url: fulcio_url.clone(),
                    message: format!("its certificate is unreadable: expected {}", error.0),
                })?;
                if leaf.public_key.point != key.public_key().as_ref() {
                    return Err(SignError::Protocol {
                        service: "Fulcio",
                        url: fulcio_url.clone(),
                        message: "the certificate is for another key".into(),
                    });
                }
                let chain_pem: String =
                    chain[1..].iter().map(|certificate| der::pem("CERTIFICATE", certificate)).collect();
                let identity = Identity::Certificate {
                    leaf_pem: der::pem("CERTIFICATE", &chain[0]),
                    leaf_der: chain[0].clone(),
                    chain_pem,
                    identity: leaf.identities.first().cloned().unwrap_or_default(),
                    issuer: leaf.issuer.clone().unwrap_or_default(),
                };
                (key, identity, true)
            }
            SigningMethod::Key { path, password } => {
                let pkcs8 = key::load_private_key(path, password.as_deref())?;
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng).map_err(|error| {
                    SignError::Key {
                        path: path.display().to_string(),
                        message: format!("not an ECDSA P-256 key ({error})"),
                    }
                })?;
                (key, Identity::Key, options.tlog_upload)
            }
        };
        let public_key_info = der::p256_public_key_info(key.public_key().as_ref());
        Ok(Signer {
            http,
            rng,
            key,
            public_key_info,
            identity,
            rekor_url: tlog.then_some(rekor_url),
            timeout: options.timeout,
            trusted_root,
        })
    }

    /// The certificate's identity and issuer (keyless), for messages and reports.
    pub fn identity(&self) -> Option<(&str, &str)> {
        match &self.identity {
            Identity::Certificate { identity, issuer, .. } => Some((identity, issuer)),
            Identity::Key => None,
        }
    }

    /// The public key, PEM (what `cosign verify --key` takes).
    pub fn public_key_pem(&self) -> String {
        der::pem("PUBLIC KEY", &self.public_key_info)
    }

    fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key
            .sign(&self.rng, message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| SignError::Options("ECDSA signing failed".into()))
    }

    /// What Rekor entries name as the verifier: the certificate, or the public key.
    fn verifier_pem(&self) -> String {
        match &self.identity {
            Identity::Certificate { leaf_pem, .. } => leaf_pem.clone(),
            Identity::Key => self.public_key_pem(),
        }
    }

    fn certificate_pems(&self) -> (&str, &str) {
        match &self.identity {
            Identity::Certificate { leaf_pem, chain_pem, .. } => (leaf_pem, chain_pem),
            Identity::Key => ("", ""),
        }
    }

    async fn log(&self, proposed: serde_json::Value) -> Result<Option<LogEntry>, SignError> {
        match &self.rekor_url {
            Some(url) => services::rekor_upload(&self.http, url, self.timeout, &proposed).await.map(Some),
            None => Ok(None),
        }
    }

    /// A DSSE envelope over `statement`, logged, as a bundle.
    async fn sign_statement(&self, statement: &[u8]) -> Result<(Envelope, Option<LogEntry>, Vec<u8>), SignError> {
        let signature = self.sign_bytes(&bundle::pae(bundle::IN_TOTO_PAYLOAD_TYPE, statement))?;
        let envelope = Envelope {
            payload_type: bundle::IN_TOTO_PAYLOAD_TYPE.into(),
            payload: STANDARD.encode(statement),
            signatures: vec![EnvelopeSignature { keyid: String::new(), sig: STANDARD.encode(&signature) }],
        };
        let envelope_json = serde_json::to_string(&envelope).unwrap_or_default();
        let entry = self.log(services::dsse(&envelope_json, &self.verifier_pem())).await?;
        let bundle = Bundle {
            media_type: bundle::BUNDLE_MEDIA_TYPE.into(),
            verification_material: self.material(entry.iter()),
            message_signature: None,
            dsse_envelope: Some(envelope.clone()),
        };
        let bytes = serde_json::to_vec(&bundle).unwrap_or_default();
        Ok((envelope, entry, bytes))
    }

    fn material<'a>(&self, entries: impl Iterator<Item = &'a LogEntry>) -> VerificationMaterial {
        let mut material = VerificationMaterial {
            tlog_entries: entries.map(|entry| entry.entry.clone()).collect(),
            ..Default::default()
        };
        match &self.identity {
            Identity::Certificate { leaf_der, .. } => {
                material.certificate = Some(RawBytes { raw_bytes: STANDARD.encode(leaf_der) })
            }
            Identity::Key => {
                let hint = STANDARD.encode(Digest::of(&self.public_key_info).hex().as_bytes());
                material.public_key = Some(bundle::PublicKeyHint { hint })
            }
        }
        material
    }

    fn referrer(&self, subject: &Descriptor, bundle: &Arc<Vec<u8>>, predicate_type: &str) -> Referrer {
        Referrer::annotated(
            subject.clone(),
            bundle::BUNDLE_MEDIA_TYPE,
            bundle::BUNDLE_MEDIA_TYPE,
            bundle.clone(),
            Time::from_unix(super::token::now()),
            BTreeMap::from([
                (BUNDLE_CONTENT_ANNOTATION.to_owned(), "dsse-envelope".to_owned()),
                (BUNDLE_PREDICATE_ANNOTATION.to_owned(), predicate_type.to_owned()),
            ]),
        )
    }

    /// Check a fresh bundle against the trusted root, when one was given.
    fn self_check(&self, bundle: &[u8], subject: &Digest, predicate_type: &str) -> Result<(), SignError> {
        let Some(root) = &self.trusted_root else { return Ok(()) };
        let policy = match &self.identity {
            Identity::Certificate { identity, issuer, .. } => Policy::exact(identity, issuer),
            Identity::Key => {
                Policy::key(super::x509::PublicKey::from_info(&self.public_key_info).map_err(|error| {
                    SignError::Options(format!("the signing key's public half is unreadable: {}", error.0))
                })?)
            }
        };
        verify::verify_bundle(bundle, subject, Some(predicate_type), &policy, root)
            .map(|_| ())
            .map_err(|error| SignError::SelfCheck { subject: subject.to_string(), message: error.to_string() })
    }

    /// Sign `subject` (an image or index pushed to `docker_reference`, a repository): a
    /// cosign-3 bundle (DSSE, `https://sigstore.dev/cosign/sign/v1`) and a legacy simple-signing
    /// layer, each with its own Rekor entry.
    pub async fn sign_image(&self, docker_reference: &str, subject: &Descriptor) -> Result<Signature, SignError> {
        let payload = cosign::simple_signing_payload(docker_reference, &subject.digest);
        let signature = self.sign_bytes(&payload)?;
        let entry =
            self.log(services::hashedrekord(Digest::of(&payload).hex(), &signature, &self.verifier_pem())).await?;
        let (certificate, chain) = self.certificate_pems();
        let legacy = cosign::legacy_attachment(
            LegacyKind::Signature,
            &subject.digest,
            cosign::SIMPLE_SIGNING,
            Arc::new(payload),
            cosign::annotations(&STANDARD.encode(&signature), certificate, chain, entry.as_ref()),
        );
        let statement =
            bundle::statement(docker_reference, subject.digest.hex(), bundle::COSIGN_SIGN_PREDICATE, &json!({}));
        let (_, _, bundle_bytes) = self.sign_statement(&statement).await?;
        self.self_check(&bundle_bytes, &subject.digest, bundle::COSIGN_SIGN_PREDICATE)?;
        let bundle = Arc::new(bundle_bytes);
        Ok(Signature { referrer: self.referrer(subject, &bundle, bundle::COSIGN_SIGN_PREDICATE), legacy, bundle })
    }

    /// Attest `predicate` of `predicate_type` about `subject` (pushed to `docker_reference`):
    /// one DSSE envelope and Rekor entry, as a bundle referrer and a legacy `.att` layer.
    pub async fn attest(
        &self,
        docker_reference: &str,
        subject: &Descriptor,
        predicate_type: &str,
        predicate: &serde_json::Value,
    ) -> Result<Attestation, SignError> {
        let statement = bundle::statement(docker_reference, subject.digest.hex(), predicate_type, predicate);
        let (envelope, entry, bundle_bytes) = self.sign_statement(&statement).await?;
        self.self_check(&bundle_bytes, &subject.digest, predicate_type)?;
        let (certificate, chain) = self.certificate_pems();
        let mut annotations = cosign::annotations("", certificate, chain, entry.as_ref());
        annotations.insert(cosign::PREDICATE_TYPE_ANNOTATION.into(), predicate_type.into());
        let legacy = cosign::legacy_attachment(
            LegacyKind::Attestation,
            &subject.digest,
            cosign::DSSE_ENVELOPE,
            Arc::new(serde_json::to_vec(&envelope).unwrap_or_default()),
            annotations,
        );
        let bundle = Arc::new(bundle_bytes);
        Ok(Attestation {
            predicate_type: predicate_type.into(),
            referrer: self.referrer(subject, &bundle, predicate_type),
            legacy,
            bundle,
        })
    }
}
