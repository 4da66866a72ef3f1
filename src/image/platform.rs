//! Platforms (`os/arch/variant:osversion`): parsing as ko does, printing as ggcr does, and the
//! matching rule ko applies between requested platforms and a base index's children.
//! Depends on nothing else in rko.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::serde_util::nullable;

/// The platform of an image, as in an index descriptor (field order is ggcr's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(rename = "os.version", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    #[serde(rename = "os.features", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// A platform string that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlatformError {
    #[error("invalid platform `{0}`: too many `/` (expected `os/arch[/variant][:osversion]`)")]
    TooManySlashes(String),
    #[error(
        "unknown platform `{platform}`: Go cannot build for `{pair}`; see `go tool dist list` for the valid `os/arch` pairs"
    )]
    Unknown { platform: String, pair: String },
    #[error("invalid platform `{platform}`: {reason}")]
    Invalid { platform: String, reason: String },
}

/// The `os/arch` pairs Go 1.27 can build (`go tool dist list`).
const GO_PLATFORMS: &[&str] = &[
    "aix/ppc64",
    "android/386",
    "android/amd64",
    "android/arm",
    "android/arm64",
    "darwin/amd64",
    "darwin/arm64",
    "dragonfly/amd64",
    "freebsd/386",
    "freebsd/amd64",
    "freebsd/arm",
    "freebsd/arm64",
    "freebsd/riscv64",
    "illumos/amd64",
    "ios/amd64",
    "ios/arm64",
    "js/wasm",
    "linux/386",
    "linux/amd64",
    "linux/arm",
    "linux/arm64",
    "linux/loong64",
    "linux/mips",
    "linux/mips64",
    "linux/mips64le",
    "linux/mipsle",
    "linux/ppc64",
    "linux/ppc64le",
    "linux/riscv64",
    "linux/s390x",
    "netbsd/386",
    "netbsd/amd64",
    "netbsd/arm",
    "netbsd/arm64",
    "openbsd/386",
    "openbsd/amd64",
    "openbsd/arm",
    "openbsd/arm64",
    "openbsd/ppc64",
    "openbsd/riscv64",
    "plan9/386",
    "plan9/amd64",
    "plan9/arm",
    "solaris/amd64",
    "wasip1/wasm",
    "windows/386",
    "windows/amd64",
    "windows/arm64",
];

/// Go's name for a machine architecture as the kernel (`uname -m`) or Rust names it.
pub fn go_architecture(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform { os: os.into(), architecture: architecture.into(), variant: variant.into(), ..Platform::default() }
    }

    /// Parse `os[/arch[/variant]][:osversion]` exactly as ggcr's `v1.ParsePlatform`.
    pub fn parse(text: &str) -> Result<Platform, PlatformError> {
        let trimmed = text.trim();
        let mut platform = Platform::default();
        let (path, os_version) = match trimmed.split_once(':') {
            Some((path, version)) if !version.contains(':') => (path, version),
            Some(_) => {
                return Err(PlatformError::Invalid { platform: text.into(), reason: "more than one `:`".into() });
            }
            None => (trimmed, ""),
        };
        platform.os_version = os_version.into();
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() > 3 {
            return Err(PlatformError::TooManySlashes(text.into()));
        }
        platform.os = parts[0].into();
        platform.architecture = parts.get(1).copied().unwrap_or_default().into();
        platform.variant = parts.get(2).copied().unwrap_or_default().into();
        Ok(platform)
    }

    /// Parse a platform the user asked to build for, rejecting what Go cannot target.
    pub fn parse_buildable(text: &str) -> Result<Platform, PlatformError> {
        let platform = Platform::parse(text)?;
        if platform.os.is_empty() {
            return Err(PlatformError::Invalid { platform: text.into(), reason: "the os is empty".into() });
        }
        if !platform.architecture.is_empty() {
            let pair = format!("{}/{}", platform.os, platform.architecture);
            if !GO_PLATFORMS.contains(&pair.as_str()) {
                return Err(PlatformError::Unknown { platform: text.into(), pair });
            }
        } else if !GO_PLATFORMS.iter().any(|pair| pair.split('/').next() == Some(platform.os.as_str())) {
            return Err(PlatformError::Unknown { platform: text.into(), pair: platform.os.clone() });
        }
        match (platform.architecture.as_str(), platform.variant.as_str()) {
            (_, "") | ("arm64", _) => {}
            ("arm", variant) | ("amd64", variant)
                if variant.starts_with('v') && variant[1..].parse::<u32>().is_ok() => {}
            (architecture, variant) => {
                return Err(PlatformError::Invalid {
                    platform: text.into(),
                    reason: format!(
                        "variant `{variant}` is not valid for `{architecture}` (use e.g. `arm/v7` or `amd64/v3`)"
                    ),
                });
            }
        }
        Ok(platform)
    }

    /// ko's rule: every field the request sets must equal the candidate's; a Windows
    /// `os.version` without the build number matches any build number.
    pub fn matches(&self, candidate: &Platform) -> bool {
        let differs = |wanted: &str, have: &str| !wanted.is_empty() && wanted != have;
        if differs(&self.os, &candidate.os) || differs(&self.architecture, &candidate.architecture) {
            return false;
        }
        if differs(&self.variant, &candidate.variant) {
            return false;
        }
        if self.os_version.is_empty() {
            return true;
        }
        if self.os == "windows" && self.os_version.split('.').count() == 3 {
            return candidate.os_version == self.os_version
                || candidate.os_version.starts_with(&format!("{}.", self.os_version));
        }
        self.os_version == candidate.os_version
    }

    /// `true` for the `unknown/unknown` entries build tools add to indexes for attestations.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    /// `os/arch/variant:osversion`, as ggcr's `Platform.String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.os.is_empty() {
            return Ok(());
        }
        f.write_str(&self.os)?;
        for part in [&self.architecture, &self.variant] {
            if !part.is_empty() {
                write!(f, "/{part}")?;
            }
        }
        if !self.os_version.is_empty() {
            write!(f, ":{}", self.os_version)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_like_ggcr() {
        for text in ["linux/amd64", "linux/arm/v7", "windows/amd64:10.0.20348", "linux"] {
            assert_eq!(Platform::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Platform::parse("a/b/c/d"), Err(PlatformError::TooManySlashes("a/b/c/d".into())));
    }

    #[test]
    fn rejects_platforms_go_cannot_build() {
        assert!(matches!(Platform::parse_buildable("linux/amd65"), Err(PlatformError::Unknown { .. })));
        assert!(matches!(Platform::parse_buildable("plan10"), Err(PlatformError::Unknown { .. })));
        assert!(matches!(Platform::parse_buildable("linux/arm/7"), Err(PlatformError::Invalid { .. })));
        assert!(Platform::parse_buildable("linux/arm64/v8").is_ok());
        assert!(Platform::parse_buildable("linux/amd64/v3").is_ok());
    }

    #[test]
    fn matching_follows_ko() {
        let arm64_v8 = Platform::new("linux", "arm64", "v8");
        assert!(Platform::parse("linux/arm64").unwrap().matches(&arm64_v8));
        assert!(!Platform::parse("linux/arm64/v9").unwrap().matches(&arm64_v8));
        assert!(!Platform::parse("linux/amd64").unwrap().matches(&arm64_v8));
        let mut windows = Platform::new("windows", "amd64", "");
        windows.os_version = "10.0.20348.2227".into();
        assert!(Platform::parse("windows/amd64:10.0.20348").unwrap().matches(&windows));
        assert!(!Platform::parse("windows/amd64:10.0.17763").unwrap().matches(&windows));
        assert!(Platform::parse("windows/amd64:10.0.20348.2227").unwrap().matches(&windows));
    }
}
