//! `rko sign IMAGE[@DIGEST]`: sign an image already in a registry, keylessly (an OIDC token →
//! Fulcio → Rekor) or with a key, and attach attestations; the pusher's attachment phase
//! pushes the sigstore bundle referrers (with the referrers-tag fallback) and appends to
//! cosign's `.sig` / `.att` tags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{ArgAction, Args};

use crate::cli::printer::Printer;
use crate::cli::wiring;
use crate::env::{self, Environment};
use crate::image::Descriptor;
use crate::registry::Client;
use crate::registry::pusher::{PushStats, Pusher};
use crate::registry::reference::Reference;
use crate::sign::{Signer, SignerOptions, SigningMethod, TokenSource, predicate};

/// Flags shared by signing commands (and, later, `build --sign`).
#[derive(Debug, Args, Clone)]
pub struct SigningFlags {
    /// OIDC identity token, or a file holding one (default: the CI's ambient token)
    #[arg(long, value_name = "TOKEN|FILE")]
    pub identity_token: Option<String>,
    /// Sign with this key instead (cosign's encrypted key, password in COSIGN_PASSWORD; or PKCS#8 PEM)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Fulcio URL (default: the signing config's, else the public instance)
    #[arg(long)]
    pub fulcio_url: Option<String>,
    /// Rekor URL (default: the signing config's, else the public instance)
    #[arg(long)]
    pub rekor_url: Option<String>,
    /// A sigstore signing config (`signing_config.json`) naming Fulcio and Rekor
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// Verify each new signature against this trusted root (`trusted_root.json`)
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Log key-based signatures in Rekor (keyless signatures always are)
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub tlog_upload: bool,
    /// Seconds Fulcio and Rekor may take, retries included
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub signing_timeout: u64,
}

impl SigningFlags {
    pub fn options(&self, environment: &Environment) -> Result<SignerOptions> {
        let method = match &self.key {
            Some(path) => SigningMethod::Key {
                path: path.clone(),
                password: environment.get(env::COSIGN_PASSWORD).map(str::to_owned),
            },
            None => {
                SigningMethod::Keyless(TokenSource::discover(self.identity_token.as_deref(), environment.variables())?)
            }
        };
        Ok(SignerOptions {
            method,
            fulcio_url: self.fulcio_url.clone(),
            rekor_url: self.rekor_url.clone(),
            signing_config: self.signing_config.clone(),
            trusted_root: self.trusted_root.clone(),
            tlog_upload: self.tlog_upload,
            timeout: Duration::from_secs(self.signing_timeout.max(1)),
        })
    }
}

#[derive(Debug, Args)]
pub struct SignCommand {
    /// The image or index to sign (`registry/repo@sha256:…`; a tag is resolved to its digest)
    pub image: String,
    #[command(flatten)]
    pub signing: SigningFlags,
    /// Attach an attestation: `TYPE=FILE` with TYPE `spdxjson`, `cyclonedx`, `slsaprovenance1`
    /// or a predicate-type URI (repeatable)
    #[arg(long, value_name = "TYPE=FILE")]
    pub attest: Vec<String>,
    /// Only attest (no image signature)
    #[arg(long)]
    pub no_signature: bool,
    /// Allow plain HTTP and unverified TLS for registries
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub insecure_registry: bool,
}

pub async fn run(command: SignCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let reference = Reference::parse(&command.image)?;
    let mut attestations = Vec::new();
    for item in &command.attest {
        let (name, path) = item.split_once('=').with_context(|| format!("--attest `{item}`: expected TYPE=FILE"))?;
        let predicate_type = predicate::predicate_type(name).with_context(|| {
            format!("--attest `{item}`: unknown type `{name}` (use spdxjson, cyclonedx, slsaprovenance1 or a URI)")
        })?;
        let text = std::fs::read(path).with_context(|| format!("cannot read the predicate file `{path}`"))?;
        let value: serde_json::Value =
            serde_json::from_slice(&text).with_context(|| format!("the predicate file `{path}` is not JSON"))?;
        attestations.push((predicate_type.to_owned(), value));
    }
    let options = command.signing.options(environment)?;
    let client = Arc::new(Client::new(wiring::client_options(environment, command.insecure_registry)?)?);
    let repository = &reference.repository;
    let (bytes, media_type, digest) = client.get_manifest(repository, &reference.identifier()).await?;
    if let Some(expected) = &reference.digest
        && expected != &digest
    {
        bail!("`{reference}` answered with digest `{digest}`");
    }
    let subject = Descriptor::new(&media_type, bytes.len() as u64, digest.clone());
    let signer = Signer::new(options).await?;
    if let Some((identity, issuer)) = signer.identity() {
        printer.status("Certificate", &format!("for `{identity}` (issuer `{issuer}`)"));
    }
    let pusher = Pusher::new(client.clone(), 0, Arc::new(PushStats::default()));
    if !command.no_signature {
        let signature = signer.sign_image(&repository.to_string(), &subject).await?;
        pusher.attach(repository, &[signature.attachment()]).await?;
        printer.status("Signed", &format!("{repository}@{digest}"));
        printer.data(&format!("{repository}@{}", signature.referrer.digest()));
    }
    for (predicate_type, predicate) in &attestations {
        let attestation = signer.attest(&repository.to_string(), &subject, predicate_type, predicate).await?;
        pusher.attach(repository, &[attestation.attachment()]).await?;
        printer.status("Attested", &format!("{predicate_type} for {repository}@{digest}"));
        printer.data(&format!("{repository}@{}", attestation.referrer.digest()));
    }
    Ok(())
}
