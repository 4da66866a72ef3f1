//! Semantic versions as node-semver reads them strictly (the `semver` rules of
//! docker/metadata-action): `MAJOR.MINOR.PATCH`, an optional leading `v`, pre-release and build
//! identifiers. Pure.

/// A semantic version as node-semver reads it strictly (an optional leading `v`).
#[derive(Debug, PartialEq, Eq)]
pub struct Semver {
    pub raw: String,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: Option<String>,
}

impl Semver {
    pub fn parse(text: &str) -> Option<Semver> {
        let raw = text.trim();
        let rest = raw.strip_prefix('v').unwrap_or(raw);
        let (rest, build) = rest.split_once('+').map_or((rest, None), |(rest, build)| (rest, Some(build)));
        let (core, prerelease) = rest.split_once('-').map_or((rest, None), |(core, pre)| (core, Some(pre)));
        let numeric = |part: &str| {
            let valid = !part.is_empty()
                && part.bytes().all(|byte| byte.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'));
            if valid { part.parse::<u64>().ok() } else { None }
        };
        let mut parts = core.split('.');
        let (major, minor, patch) = (numeric(parts.next()?)?, numeric(parts.next()?)?, numeric(parts.next()?)?);
        if parts.next().is_some() {
            return None;
        }
        let identifier_characters = |part: &str| part.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        if let Some(prerelease) = prerelease {
            let valid = prerelease.split('.').all(|part| {
                !part.is_empty()
                    && identifier_characters(part)
                    && (!part.bytes().all(|byte| byte.is_ascii_digit()) || numeric(part).is_some())
            });
            if !valid {
                return None;
            }
        }
        if let Some(build) = build
            && !build.split('.').all(|part| !part.is_empty() && identifier_characters(part))
        {
            return None;
        }
        Some(Semver { raw: raw.to_owned(), major, minor, patch, prerelease: prerelease.map(str::to_owned) })
    }

    pub fn version(&self) -> String {
        match &self.prerelease {
            Some(prerelease) => format!("{}.{}.{}-{prerelease}", self.major, self.minor, self.patch),
            None => format!("{}.{}.{}", self.major, self.minor, self.patch),
        }
    }

    pub fn field(&self, name: &str) -> String {
        match name {
            "raw" => self.raw.clone(),
            "major" => self.major.to_string(),
            "minor" => self.minor.to_string(),
            "patch" => self.patch.to_string(),
            _ => self.version(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_semantic_versions_strictly() {
        let version = Semver::parse("v2.0.0-rc.1+meta").unwrap();
        assert_eq!((version.major, version.minor, version.patch), (2, 0, 0));
        assert_eq!(version.prerelease.as_deref(), Some("rc.1"));
        assert_eq!(version.version(), "2.0.0-rc.1");
        assert_eq!(version.field("raw"), "v2.0.0-rc.1+meta");
        for invalid in ["1.2", "v01.2.3", "1.2.3.4", "1.2.3-", "1.2.3-01", "release", "1.2.3+", "V1.2.3"] {
            assert_eq!(Semver::parse(invalid), None, "{invalid}");
        }
        assert!(Semver::parse("1.2.3-alpha-1.0a").is_some());
    }
}
