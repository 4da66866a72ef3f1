//! What an SBOM says about an image, gathered once for both formats: the image, its base (from
//! the `org.opencontainers.image.base.*` annotations), the Go modules in its binary, and — for
//! rko's built-in base, whose content is known exactly — the base's own packages. Also package
//! URLs (purl) for Go modules and OCI images.

use base64::Engine;

use crate::base::builtin::{BUILTIN_NAME, BasePackage, PACKAGES, SCRATCH_NAME};
use crate::gobinary::BuildInfo;
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

/// One Go component an SBOM lists: the main module (or, for a GOPATH build, the main
/// package) or one dependency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoComponent<'a> {
    /// The module path (the package's import path for a GOPATH build).
    pub path: &'a str,
    /// The version, when the build knew one (never `(devel)`).
    pub version: Option<&'a str>,
    /// The go.sum hash (`h1:…`), empty when the build recorded none.
    pub sum: &'a str,
    /// Its code came from a local directory (a `replace` with a path), not a module proxy.
    pub local: bool,
    /// A module (false for the main package of a GOPATH build).
    pub module: bool,
}

impl GoComponent<'_> {
    /// `pkg:golang/<path>[@<version>]?type=module` (no `type` for a GOPATH package), host
    /// and owner lowercased as ko does.
    pub fn purl(&self) -> String {
        let path: Vec<String> = self
            .path
            .split('/')
            .enumerate()
            .map(|(index, segment)| {
                let segment = if index < 2 { segment.to_lowercase() } else { segment.to_owned() };
                encode(&segment, |c| matches!(c, '.' | '-' | '_' | '~'))
            })
            .collect();
        let version = self
            .version
            .map(|version| format!("@{}", encode(version, |c| matches!(c, '.' | '-' | '_' | '~'))))
            .unwrap_or_default();
        let qualifiers = if self.module { "?type=module" } else { "" };
        format!("pkg:golang/{}{version}{qualifiers}", path.join("/"))
    }

    /// Where a module proxy serves this version's code, if one does.
    pub fn download_location(&self) -> Option<String> {
        let version = self.version.filter(|_| !self.local)?;
        Some(format!("https://proxy.golang.org/{}/@v/{version}.zip", self.path))
    }
}

/// The Go components of a binary and what its build information could not tell.
pub struct GoComponents<'a> {
    pub main: GoComponent<'a>,
    /// Distinct dependencies, in the build information's order.
    pub dependencies: Vec<GoComponent<'a>>,
    /// Built in GOPATH mode (`GO111MODULE=off`): no modules, so no dependencies are known.
    pub gopath: bool,
}

fn known(version: &str) -> Option<&str> {
    (!version.is_empty() && version != "(devel)").then_some(version)
}

/// The components of a binary: its main module and its dependencies. A dependency replaced by
/// another versioned module is listed as that module (its code is what the binary holds); one
/// replaced by a local directory keeps the module path and version it stands in for. A binary
/// built in GOPATH mode has no main module: its main package stands in for it.
pub fn go_components(info: &BuildInfo) -> GoComponents<'_> {
    let gopath = info.main.path.is_empty();
    let main = if gopath {
        GoComponent { path: &info.path, version: None, sum: "", local: true, module: false }
    } else {
        GoComponent {
            path: &info.main.path,
            version: known(&info.main.version),
            sum: &info.main.sum,
            local: true,
            module: true,
        }
    };
    let mut dependencies: Vec<GoComponent<'_>> = Vec::new();
    for module in &info.deps {
        let component = match module.replace.as_deref() {
            Some(replacement) if !replacement.version.is_empty() && !replacement.path.starts_with(['.', '/']) => {
                GoComponent {
                    path: &replacement.path,
                    version: known(&replacement.version),
                    sum: &replacement.sum,
                    local: false,
                    module: true,
                }
            }
            Some(replacement) => GoComponent {
                path: &module.path,
                version: known(&module.version),
                sum: &replacement.sum,
                local: true,
                module: true,
            },
            None => GoComponent {
                path: &module.path,
                version: known(&module.version),
                sum: &module.sum,
                local: false,
                module: true,
            },
        };
        // Two modules replaced by one, two paths differing only in the case purls ignore, or a
        // dependency naming the main module: listed once (bom-refs and SPDX ids must be unique).
        let purl = component.purl();
        let duplicate = |other: &GoComponent<'_>| other.purl() == purl;
        if component.path.is_empty() || duplicate(&main) || dependencies.iter().any(duplicate) {
            continue;
        }
        dependencies.push(component);
    }
    GoComponents { main, dependencies, gopath }
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

/// `pkg:oci/<name>@sha256%3A<hex>?<qualifiers>`.
pub fn oci_purl(name: &str, digest: &Digest, qualifier_pairs: &[(&str, &str)]) -> String {
    format!(
        "pkg:oci/{}@sha256%3A{}{}",
        encode(&name.to_lowercase(), |c| matches!(c, '.' | '-' | '_')),
        digest.hex(),
        qualifiers(qualifier_pairs)
    )
}

/// The base image's purl, from its reference (`repository_url`, `tag`). rko's own bases
/// (`builtin`, `scratch`) live in no repository: their purls have no `repository_url`.
pub fn base_purl(name: &str, digest: &Digest) -> String {
    if name == BUILTIN_NAME || name == SCRATCH_NAME {
        return oci_purl(name, digest, &[]);
    }
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
    use crate::gobinary::Module;

    fn module(path: &str, version: &str, sum: &str) -> Module {
        Module { path: path.into(), version: version.into(), sum: sum.into(), replace: None }
    }

    fn replaced(path: &str, version: &str, by: Module) -> Module {
        Module { replace: Some(Box::new(by)), ..module(path, version, "") }
    }

    #[test]
    fn purls_follow_the_spec() {
        let component = GoComponent {
            path: "github.com/Foo/Bar/v2",
            version: Some("v2.0.0+incompatible"),
            sum: "",
            local: false,
            module: true,
        };
        assert_eq!(component.purl(), "pkg:golang/github.com/foo/Bar/v2@v2.0.0%2Bincompatible?type=module");
        let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        assert_eq!(
            oci_purl("image", &digest, &[("mediaType", "application/vnd.oci.image.manifest.v1+json")]),
            format!("pkg:oci/image@sha256%3A{}?mediaType=application/vnd.oci.image.manifest.v1%2Bjson", "a".repeat(64))
        );
        assert_eq!(
            base_purl("cgr.dev/chainguard/static:latest", &digest),
            format!("pkg:oci/static@sha256%3A{}?repository_url=cgr.dev/chainguard/static&tag=latest", "a".repeat(64))
        );
        assert_eq!(base_purl("builtin", &digest), format!("pkg:oci/builtin@sha256%3A{}", "a".repeat(64)));
        assert_eq!(
            h1_hex("h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn components_name_what_the_binary_holds() {
        // GOPATH mode: no main module; the main package is the identity.
        let gopath = BuildInfo { path: "example.com/app".into(), ..BuildInfo::default() };
        let components = go_components(&gopath);
        assert!(components.gopath);
        assert_eq!(components.main.purl(), "pkg:golang/example.com/app");
        assert_eq!(components.main.download_location(), None);

        let info = BuildInfo {
            path: "example.com/app/cmd/x".into(),
            main: module("example.com/app", "(devel)", ""),
            deps: vec![
                module("example.com/plain", "v1.0.0", "h1:x"),
                replaced("example.com/local", "v1.2.3", module("./local", "", "")),
                replaced("example.com/a", "v1.0.0", module("example.com/fork", "v2.0.0", "h1:f")),
                replaced("example.com/b", "v1.0.0", module("example.com/fork", "v2.0.0", "h1:f")),
                module("example.com/app", "(devel)", ""),
                module("Example.com/plain", "v1.0.0", "h1:y"),
            ],
            ..BuildInfo::default()
        };
        let components = go_components(&info);
        assert!(!components.gopath);
        assert_eq!(components.main.purl(), "pkg:golang/example.com/app?type=module", "no `(devel)` version");
        let listed: Vec<_> =
            components.dependencies.iter().map(|c| (c.path, c.version, c.sum, c.download_location())).collect();
        assert_eq!(
            listed,
            [
                (
                    "example.com/plain",
                    Some("v1.0.0"),
                    "h1:x",
                    Some("https://proxy.golang.org/example.com/plain/@v/v1.0.0.zip".into())
                ),
                ("example.com/local", Some("v1.2.3"), "", None),
                (
                    "example.com/fork",
                    Some("v2.0.0"),
                    "h1:f",
                    Some("https://proxy.golang.org/example.com/fork/@v/v2.0.0.zip".into())
                ),
            ]
        );
    }
}
