//! What an SBOM says about an image, gathered once for both formats: the image, its base (from
//! the `org.opencontainers.image.base.*` annotations), the Go modules in its binary, and — for
//! rko's built-in base, whose content is known exactly — the base's own packages. Also package
//! URLs (purl) for Go modules and OCI images.

use base64::Engine;

use crate::base::builtin::{BUILTIN_NAME, BasePackage, PACKAGES};
use crate::gobinary::{BuildInfo, Module};
use crate::image::gotime::Time;
use crate::image::manifest::{BASE_DIGEST_ANNOTATION, BASE_NAME_ANNOTATION};
use std::sync::Arc;

use crate::image::reference::Reference;
use crate::image::{Digest, Image, Index, Platform};

/// The version SBOMs name as their creating tool's.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One image's facts.
pub struct ImageFacts<'a> {
    pub image: &'a Image,
    pub build_info: Option<&'a BuildInfo>,
}

impl ImageFacts<'_> {
    pub fn digest(&self) -> &Digest {
        self.image.digest()
    }

    pub fn created(&self) -> Time {
        self.image.config().created
    }

    /// The base image's name and digest, when the image was built on one.
    pub fn base(&self) -> Option<(&str, &str)> {
        let annotations = &self.image.manifest().annotations;
        Some((annotations.get(BASE_NAME_ANNOTATION)?.as_str(), annotations.get(BASE_DIGEST_ANNOTATION)?.as_str()))
    }

    /// The packages of the base, when rko knows them (its built-in base).
    pub fn base_packages(&self) -> &'static [BasePackage] {
        match self.base() {
            Some((BUILTIN_NAME, _)) => &PACKAGES,
            _ => &[],
        }
    }

    /// The image's purl: `pkg:oci/image@sha256%3A…?mediaType=…` (plus platform qualifiers).
    pub fn purl(&self) -> String {
        oci_purl("image", self.digest(), &[("mediaType", self.image.media_type())])
    }
}

/// A document's creation time: seconds precision in UTC (`2006-01-02T15:04:05Z`), as ko writes it.
pub fn timestamp(time: Time) -> String {
    Time::from_unix(time.unix()).to_string()
}

/// An index's creation time: its first image's.
pub fn index_created(index: &Index) -> Time {
    index.children().first().map_or(Time::ZERO, |child| child.config().created)
}

/// The index's purl: `pkg:oci/index@sha256%3A…?mediaType=…`.
pub fn index_purl(index: &Index) -> String {
    oci_purl("index", index.digest(), &[("mediaType", index.media_type())])
}

/// Each image of an index with its platform and its purl (platform qualifiers and media type).
pub fn index_images(index: &Index) -> impl Iterator<Item = (&Arc<Image>, Platform, String)> {
    index.manifest().manifests.iter().zip(index.children()).map(|(descriptor, child)| {
        let platform = descriptor.platform.clone().unwrap_or_else(|| child.platform());
        let mut pairs = platform_qualifiers(&platform);
        pairs.push(("mediaType", child.media_type().to_owned()));
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let purl = oci_purl("image", child.digest(), &borrowed);
        (child, platform, purl)
    })
}

/// The modules of a binary: its main module and its dependencies. A dependency replaced by
/// another versioned module is listed as that module (its code is what the binary holds); one
/// replaced by a local directory keeps the module path and version it stands in for.
pub fn modules(info: &BuildInfo) -> (&Module, Vec<&Module>) {
    let dependencies = info
        .deps
        .iter()
        .map(|module| match module.replace.as_deref() {
            Some(replacement) if !replacement.version.is_empty() && !replacement.path.starts_with(['.', '/']) => {
                replacement
            }
            _ => module,
        })
        .collect();
    (&info.main, dependencies)
}

/// A module's version, `(devel)` when the build had none.
pub fn version(module: &Module) -> &str {
    if module.version.is_empty() { "(devel)" } else { &module.version }
}

fn encode(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || keep(character) {
            encoded.push(character);
        } else {
            let mut buffer = [0u8; 4];
            for byte in character.encode_utf8(&mut buffer).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    encoded
}

fn qualifiers(pairs: &[(&str, &str)]) -> String {
    let mut pairs: Vec<_> = pairs.iter().filter(|(_, value)| !value.is_empty()).collect();
    pairs.sort();
    let text: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value, |c| matches!(c, '.' | '-' | '_' | '~' | '/' | ':'))))
        .collect();
    if text.is_empty() { String::new() } else { format!("?{}", text.join("&")) }
}

/// `pkg:golang/<path>@<version>?type=module`, host and owner lowercased as ko does.
pub fn golang_purl(module: &Module) -> String {
    let path: Vec<String> = module
        .path
        .split('/')
        .enumerate()
        .map(|(index, segment)| {
            let segment = if index < 2 { segment.to_lowercase() } else { segment.to_owned() };
            encode(&segment, |c| matches!(c, '.' | '-' | '_' | '~'))
        })
        .collect();
    let version = encode(version(module), |c| matches!(c, '.' | '-' | '_' | '~'));
    format!("pkg:golang/{}@{version}?type=module", path.join("/"))
}

/// `pkg:oci/<name>@sha256%3A<hex>?<qualifiers>`.
pub fn oci_purl(name: &str, digest: &Digest, qualifier_pairs: &[(&str, &str)]) -> String {
    format!(
        "pkg:oci/{}@sha256%3A{}{}",
        encode(&name.to_lowercase(), |c| matches!(c, '.' | '-' | '_')),
        digest.hex(),
        qualifiers(qualifier_pairs)
    )
}

/// The base image's purl, from its reference (`repository_url`, `tag`).
pub fn base_purl(name: &str, digest: &Digest) -> String {
    match Reference::parse(name) {
        Ok(reference) => {
            let repository = reference.repository.to_string();
            let short = reference.repository.path().rsplit('/').next().unwrap_or("image").to_owned();
            oci_purl(
                &short,
                digest,
                &[("repository_url", &repository), ("tag", reference.tag.as_deref().unwrap_or(""))],
            )
        }
        Err(_) => oci_purl(name, digest, &[]),
    }
}

/// Platform qualifiers for an index child's purl.
pub fn platform_qualifiers(platform: &Platform) -> Vec<(&'static str, String)> {
    vec![
        ("arch", platform.architecture.clone()),
        ("os", platform.os.clone()),
        ("variant", platform.variant.clone()),
        ("os-version", platform.os_version.clone()),
    ]
}

/// The SHA-256 inside a go.sum `h1:` hash, as hex (what ko records as the module checksum).
pub fn h1_hex(sum: &str) -> Option<String> {
    let encoded = sum.strip_prefix("h1:")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    (bytes.len() == 32).then(|| hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(path: &str, version: &str) -> Module {
        Module { path: path.into(), version: version.into(), sum: String::new(), replace: None }
    }

    #[test]
    fn purls_follow_the_spec() {
        assert_eq!(
            golang_purl(&module("github.com/Foo/Bar/v2", "v2.0.0+incompatible")),
            "pkg:golang/github.com/foo/Bar/v2@v2.0.0%2Bincompatible?type=module"
        );
        let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        assert_eq!(
            oci_purl("image", &digest, &[("mediaType", "application/vnd.oci.image.manifest.v1+json")]),
            format!("pkg:oci/image@sha256%3A{}?mediaType=application/vnd.oci.image.manifest.v1%2Bjson", "a".repeat(64))
        );
        assert_eq!(
            base_purl("cgr.dev/chainguard/static:latest", &digest),
            format!("pkg:oci/static@sha256%3A{}?repository_url=cgr.dev/chainguard/static&tag=latest", "a".repeat(64))
        );
        assert_eq!(
            h1_hex("h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }
}
