//! Signing and attestations, sigstore-style, and their offline verification. Depends on
//! `image` (descriptors, referrers) only; it never talks to a registry, reads flags or the
//! process environment: the CLI passes values (and the environment as a map for token
//! discovery), and publishers push what it returns.
//!
//! The publisher's interface, once per run and then per digest:
//! 1. [`Signer::new`] from [`SignerOptions`]: keyless ([`SigningMethod::Keyless`] with a
//!    [`TokenSource`] from [`TokenSource::discover`]) fetches the OIDC token, refuses an
//!    expired one before any network call, makes ONE ephemeral P-256 key and gets ONE Fulcio
//!    certificate for the whole run; key-based ([`SigningMethod::Key`]) reads a cosign or
//!    PKCS#8 key.
//! 2. After an image or index is pushed by digest and before it is tagged:
//!    [`Signer::sign_image`]`(repository, descriptor)` → [`Signature`], and
//!    [`Signer::attest`]`(repository, descriptor, predicate_type, predicate)` → [`Attestation`].
//!    Each holds an [`crate::image::referrer::Referrer`] (the sigstore bundle v0.3, artifact
//!    type `application/vnd.dev.sigstore.bundle.v0.3+json`, cosign 3's form) and an appending
//!    [`crate::image::referrer::LegacyAttachment`] for cosign ≤ 2's `sha256-<hex>.sig` /
//!    `.att` tag; `.attachment()` gives the [`crate::image::referrer::Attachment`] that
//!    [`crate::registry::pusher::Pusher::attach`] pushes (referrers-tag fallback, append).
//! 3. Predicates: [`predicate::SPDX`], [`predicate::CYCLONEDX`] for SBOM documents as they
//!    are; [`predicate::slsa_provenance`] from [`predicate::BuildFacts`].
//!
//! Every signature has its own Rekor entry: a hashedrekord for the legacy simple-signing
//! payload, a dsse entry for each DSSE envelope (an attestation's bundle and `.att` layer
//! share one). Fulcio and Rekor calls retry 408/429/5xx and dropped connections until
//! `timeout`. [`verify`] checks all these forms, and cosign's, against a trusted root.

pub mod bundle;
pub mod cosign;
pub mod der;
pub mod error;
pub mod http;
pub mod key;
pub mod predicate;
pub mod sct;
pub mod services;
pub mod signer;
pub mod token;
pub mod trust;
pub mod verify;
pub mod x509;

pub use cosign::LegacyKind;
pub use error::{SignError, VerifyError};
pub use signer::{Attestation, Signature, Signer, SignerOptions, SigningMethod};
pub use token::{IdentityToken, TokenSource};
pub use trust::TrustedRoot;
