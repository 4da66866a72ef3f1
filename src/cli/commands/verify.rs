//! `rko verify IMAGE`: find every signature (or, with `--type`, attestation) of an image —
//! sigstore bundle referrers (referrers API or `sha256-<hex>` tag) and cosign's legacy `.sig`
//! / `.att` tags — and verify them offline against a trusted root (or a public key). Succeeds,
//! as cosign does, when at least one verifies; says what it checked either way.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{ArgAction, Args};
use reqwest::{StatusCode, header};

use crate::cli::printer::Printer;
use crate::cli::wiring;
use crate::env::Environment;
use crate::image::{Digest, IndexManifest, Manifest, media_type};
use crate::registry::Client;
use crate::registry::client::Scope;
use crate::registry::reference::{Reference, Repository};
use crate::sign::bundle::{BUNDLE_MEDIA_TYPE, COSIGN_SIGN_PREDICATE};
use crate::sign::verify::{self, Matcher, Policy, Verified};
use crate::sign::{LegacyKind, TrustedRoot, key, predicate};

#[derive(Debug, Args)]
pub struct VerifyCommand {
    /// The image or index (`registry/repo:tag` or `@sha256:…`)
    pub image: String,
    /// The signer's identity (the certificate's SAN: workflow URI or e-mail)
    #[arg(long)]
    pub certificate_identity: Option<String>,
    /// A regular expression the identity must match (whole)
    #[arg(long)]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer (e.g. `https://token.actions.githubusercontent.com`)
    #[arg(long)]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression the issuer must match (whole)
    #[arg(long)]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// The sigstore trusted root (`trusted_root.json`): CAs and transparency logs
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Verify attestations of this type instead of signatures: `spdxjson`, `cyclonedx`,
    /// `slsaprovenance1` or a predicate-type URI
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: Option<String>,
    /// Verify key-based signatures with this public key (PEM)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print the verified claims as JSON on stdout
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub json: bool,
    /// Allow plain HTTP and unverified TLS for registries
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub insecure_registry: bool,
}

fn matcher(exact: &Option<String>, pattern: &Option<String>, flag: &str) -> Result<Matcher> {
    match (exact, pattern) {
        (Some(_), Some(_)) => bail!("--{flag} and --{flag}-regexp cannot both be given"),
        (Some(value), None) => Ok(Matcher::Exact(value.clone())),
        (None, Some(pattern)) => {
            Matcher::pattern(pattern).map_err(|error| anyhow::anyhow!("--{flag}-regexp `{pattern}`: {error}"))
        }
        (None, None) => bail!("keyless verification needs --{flag} (or --{flag}-regexp), or pass --key"),
    }
}

pub async fn run(command: VerifyCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let reference = Reference::parse(&command.image)?;
    let policy = match &command.key {
        Some(path) => Policy::Key(key::load_public_key(path)?),
        None => Policy::Identity {
            identity: matcher(
                &command.certificate_identity,
                &command.certificate_identity_regexp,
                "certificate-identity",
            )?,
            issuer: matcher(
                &command.certificate_oidc_issuer,
                &command.certificate_oidc_issuer_regexp,
                "certificate-oidc-issuer",
            )?,
        },
    };
    let root = match &command.trusted_root {
        Some(path) => Some(TrustedRoot::from_file(path)?),
        None if command.key.is_some() => None,
        None => bail!(
            "keyless verification needs --trusted-root FILE (sigstore's `trusted_root.json`; for the public instance: `cosign trusted-root create` or the sigstore TUF repository)"
        ),
    };
    let wanted = match &command.predicate_type {
        Some(name) => Some(
            predicate::predicate_type(name)
                .with_context(|| format!("--type `{name}`: use spdxjson, cyclonedx, slsaprovenance1 or a URI"))?
                .to_owned(),
        ),
        None => None,
    };
    let client = Client::new(wiring::client_options(environment, command.insecure_registry)?)?;
    let repository = &reference.repository;
    let (_, _, digest) = client.get_manifest(repository, &reference.identifier()).await?;
    if let Some(expected) = &reference.digest
        && expected != &digest
    {
        bail!("`{reference}` answered with digest `{digest}`");
    }
    let what = if wanted.is_some() { "attestation" } else { "signature" };
    let expected_predicate = wanted.as_deref().unwrap_or(COSIGN_SIGN_PREDICATE);
    let mut verified: Vec<Verified> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut record = |source: String, result: Result<Verified, crate::sign::VerifyError>| match result {
        Ok(claims) => {
            let signer = if claims.identity.is_empty() {
                "the key".to_owned()
            } else {
                format!("`{}` (issuer `{}`)", claims.identity, claims.issuer)
            };
            let log = claims
                .log_index
                .map_or(", no transparency log entry".to_owned(), |index| format!(", Rekor log index {index}"));
            printer.status("Verified", &format!("{source}: {} by {signer}{log}", claims.predicate_type));
            verified.push(claims);
        }
        Err(error) => {
            printer.warning(&format!("{source}: {error}"));
            failures.push(format!("{source}: {error}"));
        }
    };
    // Bundles attached as referrers.
    let root_for_bundles = root.clone().unwrap_or(TrustedRoot::empty());
    for (manifest_digest, bundle) in bundles(&client, repository, &digest).await? {
        let predicate_type = bundle_predicate(&bundle);
        if predicate_type.as_deref().is_some_and(|found| found != expected_predicate) {
            continue;
        }
        let result = verify::verify_bundle(&bundle, &digest, Some(expected_predicate), &policy, &root_for_bundles);
        record(format!("bundle {manifest_digest}"), result);
    }
    // cosign's legacy tag.
    let kind = if wanted.is_some() { LegacyKind::Attestation } else { LegacyKind::Signature };
    let tag = kind.tag(&digest);
    if let Some(bytes) = client.get_manifest_if_exists(repository, &tag).await? {
        let manifest: Manifest =
            serde_json::from_slice(&bytes).with_context(|| format!("`{repository}:{tag}` is not an image manifest"))?;
        for (number, layer) in manifest.layers.iter().enumerate() {
            if wanted.is_some()
                && layer.annotations.get("predicateType").is_some_and(|found| found != expected_predicate)
            {
                continue;
            }
            let blob = client.get_small_blob(repository, &layer.digest).await?;
            let result = verify::verify_legacy(
                &layer.media_type,
                &blob,
                &layer.annotations,
                &digest,
                wanted.as_deref(),
                &policy,
                root.as_ref(),
            );
            record(format!("{tag} layer {}", number + 1), result);
        }
    }
    if verified.is_empty() {
        let checked = if failures.is_empty() {
            format!("no {what} found (looked at the referrers of `{digest}`, and `{repository}:{tag}`)")
        } else {
            let more =
                if failures.len() > 1 { format!(" (and {} more, above)", failures.len() - 1) } else { String::new() };
            format!("{}{more}", failures[0])
        };
        bail!(
            "`{repository}@{digest}` has no valid {what}{}: {checked}",
            wanted.map_or(String::new(), |t| format!(" of type `{t}`"))
        );
    }
    if command.json {
        let value = serde_json::json!({"image": format!("{repository}@{digest}"), "verified": verified});
        printer.data(&serde_json::to_string_pretty(&value)?);
    } else {
        printer.data(&format!("{repository}@{digest}"));
    }
    Ok(())
}

/// The predicate a bundle referrer's manifest announces, if it does.
fn bundle_predicate(bundle: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bundle).ok()?;
    let payload = value["dsseEnvelope"]["payload"].as_str()?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, payload).ok()?;
    let statement: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    statement["predicateType"].as_str().map(str::to_owned)
}

/// Every sigstore bundle attached to `subject`: from the referrers API, else the referrers
/// tag; filtered by the layer's media type (registries report various artifact types).
async fn bundles(client: &Client, repository: &Repository, subject: &Digest) -> Result<Vec<(Digest, Vec<u8>)>> {
    let path = format!("/v2/{}/referrers/{subject}", repository.path());
    let response = client
        .send(repository.registry(), &[Scope::pull(repository.path())], |http, base| {
            Ok(http.get(format!("{base}{path}")).header(header::ACCEPT, media_type::OCI_INDEX))
        })
        .await?;
    let index = if response.status() == StatusCode::OK {
        let body = response.bytes().await.context("cannot read the referrers index")?;
        serde_json::from_slice::<IndexManifest>(&body).ok()
    } else {
        None
    };
    let index = match index {
        Some(index) => index,
        None => match client.get_manifest_if_exists(repository, &format!("sha256-{}", subject.hex())).await {
            Ok(Some(bytes)) => serde_json::from_slice::<IndexManifest>(&bytes)
                .unwrap_or(IndexManifest::new(media_type::OCI_INDEX, Vec::new())),
            Ok(None) => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        },
    };
    let mut found = Vec::new();
    for descriptor in &index.manifests {
        let (bytes, _, digest) = client.get_manifest(repository, descriptor.digest.as_str()).await?;
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else { continue };
        if manifest.subject.as_ref().is_some_and(|referred| &referred.digest != subject) {
            continue;
        }
        let Some(layer) = manifest.layers.first() else { continue };
        if !layer.media_type.starts_with("application/vnd.dev.sigstore.bundle") && layer.media_type != BUNDLE_MEDIA_TYPE
        {
            continue;
        }
        found.push((digest, client.get_small_blob(repository, &layer.digest).await?));
    }
    Ok(found)
}
