//! Image references (`registry/repository[:tag][@digest]`) parsed and validated as
//! go-containerregistry's `name` package does: Docker Hub defaults (`index.docker.io`,
//! `library/`), lowercase repositories, tag and digest syntax. Depends on `image` only.

use std::fmt;

use crate::image::Digest;

pub const DOCKER_HUB: &str = "index.docker.io";

/// A repository in a registry, e.g. `ghcr.io/acme/app`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    registry: String,
    path: String,
}

/// A repository plus a tag and/or digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    pub repository: Repository,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid image reference `{text}`: {reason}")]
    Invalid { text: String, reason: String },
}

fn invalid(text: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError::Invalid { text: text.to_owned(), reason: reason.into() }
}

/// The most characters of `registry/path` docker and registries accept.
pub const MAX_NAME_LENGTH: usize = 255;

/// What no reference may contain: a scheme, whitespace or control characters.
fn check_characters(text: &str) -> Result<(), ReferenceError> {
    if let Some((scheme, rest)) = text.split_once("://") {
        return Err(invalid(
            text,
            format!(
                "remove the `{scheme}://`: references name no scheme (write `{rest}`; plain HTTP is used for loopback registries and with --insecure-registry)"
            ),
        ));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(text, "it contains a space or a control character"));
    }
    Ok(())
}

impl Repository {
    /// Parse `[registry/]path`; a first component with `.`, `:` or `localhost` is a registry.
    pub fn parse(text: &str) -> Result<Repository, ReferenceError> {
        if text.is_empty() {
            return Err(invalid(text, "it is empty"));
        }
        check_characters(text)?;
        let (registry, path) = match text.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), text.to_owned()),
        };
        let registry = if registry == "docker.io" { DOCKER_HUB.to_owned() } else { registry };
        validate_registry(text, &registry)?;
        if path.is_empty() {
            return Err(invalid(text, "the repository path is empty"));
        }
        if let Some((_, digest)) = path.split_once('@') {
            return Err(invalid(text, format!("a repository names no digest (`@{digest}`)")));
        }
        if let Some((_, tag)) = path.rsplit('/').next().and_then(|last| last.split_once(':')) {
            return Err(invalid(text, format!("a repository names no tag (`:{tag}`)")));
        }
        if path.split('/').any(str::is_empty) {
            return Err(invalid(text, "it has an empty path component (`//` or a trailing `/`)"));
        }
        for component in path.split('/') {
            if !valid_component(component) {
                let reason = if component.chars().any(|c| c.is_ascii_uppercase()) {
                    format!("repository `{path}` must be lowercase (`{}`)", path.to_ascii_lowercase())
                } else {
                    format!(
                        "repository component `{component}` must be lowercase letters, digits and single `.`, `_`, `__` or `-` separators"
                    )
                };
                return Err(invalid(text, reason));
            }
        }
        let path = if registry == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path };
        let length = registry.len() + 1 + path.len();
        if length > MAX_NAME_LENGTH {
            return Err(invalid(
                text,
                format!(
                    "`{registry}/{path}` is {length} characters long; registries and docker accept at most {MAX_NAME_LENGTH}"
                ),
            ));
        }
        Ok(Repository { registry, path })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The path inside the registry (`acme/app`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A repository below this one (`<self>/<child>`).
    pub fn join(&self, child: &str) -> Result<Repository, ReferenceError> {
        Repository::parse(&format!("{}/{child}", self))
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

impl Reference {
    /// Parse `repository[:tag][@digest]`; with neither, the tag is `latest`.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        check_characters(text)?;
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (
                rest,
                Some(
                    digest
                        .parse::<Digest>()
                        .map_err(|_| invalid(text, format!("`{digest}` is not a sha256 digest")))?,
                ),
            ),
            None => (text, None),
        };
        let (repository, tag) = match rest.rfind(':') {
            Some(index) if !rest[index + 1..].contains('/') => (&rest[..index], Some(rest[index + 1..].to_owned())),
            _ => (rest, None),
        };
        if let Some(tag) = &tag
            && !valid_tag(tag)
        {
            return Err(invalid(
                text,
                format!("tag `{tag}` must be 1–128 of `A-Za-z0-9_.-`, not starting with `.` or `-`"),
            ));
        }
        let repository =
            Repository::parse(repository).map_err(|ReferenceError::Invalid { reason, .. }| invalid(text, reason))?;
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_owned()) } else { tag };
        Ok(Reference { repository, tag, digest })
    }

    /// What to ask a registry for: the digest if known, else the tag.
    pub fn identifier(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".into(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() {
            index += 1;
            continue;
        }
        let separator_length = if component[index..].starts_with("__") {
            2
        } else if matches!(byte, b'.' | b'_') {
            1
        } else if byte == b'-' {
            bytes[index..].iter().take_while(|b| **b == b'-').count()
        } else {
            return false;
        };
        index += separator_length;
        if index >= bytes.len() || !bytes[index].is_ascii_alphanumeric() {
            return false;
        }
    }
    true
}

fn validate_registry(text: &str, registry: &str) -> Result<(), ReferenceError> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (registry, None),
    };
    let host_ok =
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(invalid(text, format!("`{registry}` is not a valid registry host[:port]")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_ggcr() {
        let reference = Reference::parse("127.0.0.1:5000/a/b:v1").unwrap();
        assert_eq!(reference.repository.registry(), "127.0.0.1:5000");
        assert_eq!(reference.repository.path(), "a/b");
        assert_eq!(reference.tag.as_deref(), Some("v1"));
        let hub = Reference::parse("alpine").unwrap();
        assert_eq!(hub.to_string(), "index.docker.io/library/alpine:latest");
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = Reference::parse(&format!("cgr.dev/chainguard/static@{digest}")).unwrap();
        assert_eq!(pinned.tag, None);
        assert_eq!(pinned.identifier(), digest);
        assert_eq!(Reference::parse("localhost/x").unwrap().repository.registry(), "localhost");
        assert_eq!(Repository::parse("docker.io/acme/app").unwrap().to_string(), "index.docker.io/acme/app");
    }

    #[test]
    fn rejects_what_ggcr_rejects() {
        for text in [
            "",
            "Example.com/App",
            "reg.io/UPPER",
            "reg.io/a//b",
            "reg.io/a:",
            "reg.io/a:-x",
            "reg.io/a@sha256:xyz",
            "reg.io/-a",
            "reg.io:x/a",
            "reg.io/a_-b",
        ] {
            assert!(Reference::parse(text).is_err(), "{text}");
        }
        assert!(Reference::parse("reg.io/a__b/c-d.e---f:V1.0_x").is_ok());
    }

    #[test]
    fn says_what_is_wrong_with_a_repository() {
        let reason = |text: &str| match Repository::parse(text) {
            Err(ReferenceError::Invalid { reason, .. }) => reason,
            Ok(repository) => panic!("`{text}` parsed as `{repository}`"),
        };
        assert!(reason("reg.io/App").contains("must be lowercase (`app`)"));
        assert!(reason("http://reg.io/app").contains("write `reg.io/app`"));
        assert!(reason("reg.io/app:v1").contains("no tag (`:v1`)"));
        assert!(reason("reg.io/app@sha256:abc").contains("no digest"));
        assert!(reason("reg.io/my app").contains("space"));
        assert!(reason("reg.io/a//b").contains("empty path component"));
        assert!(reason(&format!("reg.io/{}", "a".repeat(250))).contains("257 characters long"));
        assert!(Repository::parse(&format!("reg.io/{}", "a".repeat(248))).is_ok());
        assert!(Reference::parse("https://reg.io/app:v1").is_err());
    }
}
