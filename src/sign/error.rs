//! The one error type of signing and verification: each variant renders as one line saying
//! what failed, where, and how to fix it. Tokens, keys and passwords never appear in them.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SignError {
    #[error("no OIDC identity token for keyless signing: {hint}")]
    NoToken { hint: String },
    #[error("the OIDC identity token {origin} is not usable: {message}")]
    BadToken { origin: String, message: String },
    #[error(
        "the OIDC identity token {origin} expired at {expired} (`exp` {exp}, now {now}): fetch a fresh one right before signing"
    )]
    ExpiredToken { origin: String, exp: i64, expired: String, now: i64 },
    #[error("cannot get an OIDC identity token {origin}: {message}")]
    TokenRequest { origin: String, message: String },
    #[error(
        "{service} at `{url}` did not answer within {seconds} s ({attempts} attempts; last: {message}); retry later"
    )]
    Unavailable { service: &'static str, url: String, seconds: u64, attempts: u32, message: String },
    #[error("{service} at `{url}` refused the request: HTTP {status}: {message}")]
    Refused { service: &'static str, url: String, status: u16, message: String },
    #[error("{service} at `{url}` sent an unreadable answer: {message}")]
    Protocol { service: &'static str, url: String, message: String },
    #[error("the signing key `{path}` cannot be used: {message}")]
    Key { path: String, message: String },
    #[error("the password for the signing key `{path}` is wrong (set COSIGN_PASSWORD to the key's password)")]
    KeyPassword { path: String },
    #[error("`{path}` is not a usable {what}: {message}")]
    File { path: String, what: &'static str, message: String },
    #[error("the existing `{tag}` signature image cannot be extended: {message}")]
    Legacy { tag: String, message: String },
    #[error("invalid signing options: {0}")]
    Options(String),
    #[error("the new signature of `{subject}` does not verify against the trusted root: {message}")]
    SelfCheck { subject: String, message: String },
}

/// Why a signature or attestation did not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct VerifyError(pub String);

impl VerifyError {
    pub fn new(message: impl Into<String>) -> VerifyError {
        VerifyError(message.into())
    }
}
