//! The GitHub Action's inputs (SPEC §3), read from `INPUT_<NAME>` variables the way the runner
//! sets them and `@actions/core` reads them: the input id upper-cased, spaces turned into `_`,
//! hyphens kept (`INPUT_IMPORT-PATHS`); values trimmed; an empty value means the default.
//! Booleans follow YAML 1.2's core schema; lists are split on newlines and commas. Reads a
//! [`Variables`] map only.

use super::vars::INPUT_PREFIX;
use super::{Secret, Variables};
use crate::sbom::SbomFormat;

pub const IMPORT_PATHS: &str = "import-paths";
pub const REPO: &str = "repo";
pub const PLATFORMS: &str = "platforms";
pub const TAGS: &str = "tags";
pub const TAG_RULES: &str = "tag-rules";
pub const BASE_IMAGE: &str = "base-image";
pub const CONFIG: &str = "config";
pub const WORKING_DIRECTORY: &str = "working-directory";
pub const PUSH: &str = "push";
pub const SBOM: &str = "sbom";
pub const SIGN: &str = "sign";
pub const PROVENANCE: &str = "provenance";
pub const RESOLVE: &str = "resolve";
pub const SUMMARY: &str = "summary";
pub const GITHUB_TOKEN: &str = "github-token";
pub const VERSION: &str = "version";
pub const CACHE: &str = "cache";

/// Every input `action.yml` declares.
pub const ALL: [&str; 17] = [
    IMPORT_PATHS,
    REPO,
    PLATFORMS,
    TAGS,
    TAG_RULES,
    BASE_IMAGE,
    CONFIG,
    WORKING_DIRECTORY,
    PUSH,
    SBOM,
    SIGN,
    PROVENANCE,
    RESOLVE,
    SUMMARY,
    GITHUB_TOKEN,
    VERSION,
    CACHE,
];

/// An input that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error(
        "input `{name}` is `{value}`, which is not a boolean; use `true` or `false` \
         (YAML 1.2 core schema: true, True, TRUE, false, False, FALSE)"
    )]
    NotBoolean { name: &'static str, value: String },
    #[error("input `sbom` is `{value}`; use `spdx`, `cyclonedx`, `spdx,cyclonedx` or `none`")]
    Sbom { value: String },
}

/// The action's inputs, typed. `None` and empty lists mean "not given: use the default".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionInputs {
    /// Default `.`.
    pub import_paths: Vec<String>,
    pub repo: Option<String>,
    pub platforms: Vec<String>,
    /// Plain tags, as `--tags` takes them.
    pub tags: Vec<String>,
    /// docker/metadata-action rules, one per line, for [`super::tag_rules::TagRules::parse`].
    pub tag_rules: Option<String>,
    pub base_image: Option<String>,
    pub config: Option<String>,
    pub working_directory: Option<String>,
    /// Default true.
    pub push: bool,
    /// `None`: the default (SPDX); an empty list: `none`.
    pub sbom: Option<Vec<SbomFormat>>,
    /// `None`: sign when an OIDC token is available.
    pub sign: Option<bool>,
    /// `None`: the default.
    pub provenance: Option<bool>,
    /// YAML files (or directories) to resolve `ko://` references in.
    pub resolve: Vec<String>,
    /// Default true.
    pub summary: bool,
    pub github_token: Option<Secret>,
    /// The rko version the action runs (the shim's business; recorded for the summary).
    pub version: Option<String>,
    /// Default true.
    pub cache: bool,
}

/// `INPUT_<NAME>` for an input id, as the runner names it.
pub fn variable_name(input: &str) -> String {
    format!("{INPUT_PREFIX}{}", input.replace(' ', "_").to_uppercase())
}

/// An input's value, trimmed; `None` when unset or empty.
pub fn input<'a>(variables: &'a impl Variables, name: &str) -> Option<&'a str> {
    variables.variable(&variable_name(name)).map(str::trim).filter(|value| !value.is_empty())
}

/// A boolean input: `true|True|TRUE|false|False|FALSE`, `None` when empty.
pub fn boolean(variables: &impl Variables, name: &'static str) -> Result<Option<bool>, InputError> {
    match input(variables, name) {
        None => Ok(None),
        Some("true" | "True" | "TRUE") => Ok(Some(true)),
        Some("false" | "False" | "FALSE") => Ok(Some(false)),
        Some(value) => Err(InputError::NotBoolean { name, value: shortened(value) }),
    }
}

/// A list input: items separated by newlines or commas, each trimmed, empty items dropped.
/// `#` has no special meaning (the runner passes the text as written).
pub fn list(variables: &impl Variables, name: &str) -> Vec<String> {
    split_list(input(variables, name).unwrap_or_default())
}

/// Split a list value on newlines and commas, trimming and dropping empty items.
pub fn split_list(value: &str) -> Vec<String> {
    value.split(['\n', '\r', ',']).map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
}

/// A value for an error message: long values are cut (the whole value helps nobody).
fn shortened(value: &str) -> String {
    const MAXIMUM: usize = 64;
    if value.chars().count() <= MAXIMUM {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(MAXIMUM).collect();
        cut.push('…');
        cut
    }
}

fn sbom(variables: &impl Variables) -> Result<Option<Vec<SbomFormat>>, InputError> {
    let Some(value) = input(variables, SBOM) else {
        return Ok(None);
    };
    let invalid = || InputError::Sbom { value: shortened(value) };
    let items = split_list(value);
    if items.len() == 1 && items[0] == "none" {
        return Ok(Some(Vec::new()));
    }
    let mut formats = Vec::new();
    for item in &items {
        let format = match item.as_str() {
            "spdx" => SbomFormat::Spdx,
            "cyclonedx" => SbomFormat::CycloneDx,
            _ => return Err(invalid()),
        };
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    Ok(Some(formats))
}

impl ActionInputs {
    /// Read every input. The first unusable one is the error.
    pub fn read(variables: &impl Variables) -> Result<ActionInputs, InputError> {
        let owned = |name| input(variables, name).map(str::to_owned);
        let mut import_paths = list(variables, IMPORT_PATHS);
        if import_paths.is_empty() {
            import_paths.push(".".to_owned());
        }
        Ok(ActionInputs {
            import_paths,
            repo: owned(REPO),
            platforms: list(variables, PLATFORMS),
            tags: list(variables, TAGS),
            tag_rules: owned(TAG_RULES),
            base_image: owned(BASE_IMAGE),
            config: owned(CONFIG),
            working_directory: owned(WORKING_DIRECTORY),
            push: boolean(variables, PUSH)?.unwrap_or(true),
            sbom: sbom(variables)?,
            sign: boolean(variables, SIGN)?,
            provenance: boolean(variables, PROVENANCE)?,
            resolve: list(variables, RESOLVE),
            summary: boolean(variables, SUMMARY)?.unwrap_or(true),
            github_token: owned(GITHUB_TOKEN).map(Secret::new),
            version: owned(VERSION),
            cache: boolean(variables, CACHE)?.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::variables;

    #[test]
    fn variable_names_keep_hyphens_and_upper_case() {
        assert_eq!(variable_name("import-paths"), "INPUT_IMPORT-PATHS");
        assert_eq!(variable_name("github-token"), "INPUT_GITHUB-TOKEN");
        assert_eq!(variable_name("odd name"), "INPUT_ODD_NAME");
    }

    #[test]
    fn defaults_when_nothing_is_set_or_everything_is_empty() {
        let empty: Vec<(String, String)> = ALL.iter().map(|name| (variable_name(name), "  ".to_owned())).collect();
        let empty = empty.into_iter().collect();
        for map in [variables(&[]), empty] {
            let inputs = ActionInputs::read(&map).unwrap();
            assert_eq!(inputs.import_paths, ["."]);
            assert!(inputs.push && inputs.summary && inputs.cache);
            assert_eq!((inputs.sign, inputs.provenance, inputs.sbom), (None, None, None));
            assert_eq!((inputs.repo, inputs.tag_rules, inputs.github_token), (None, None, None));
            assert!(inputs.platforms.is_empty() && inputs.tags.is_empty() && inputs.resolve.is_empty());
        }
    }

    #[test]
    fn reads_every_input() {
        let map = variables(&[
            ("INPUT_IMPORT-PATHS", "./cmd/app\n./cmd/worker\n"),
            ("INPUT_REPO", " ghcr.io/acme "),
            ("INPUT_PLATFORMS", "linux/amd64,linux/arm64"),
            ("INPUT_TAGS", "v1\nlatest"),
            ("INPUT_TAG-RULES", "type=ref,event=branch\ntype=sha\n"),
            ("INPUT_BASE-IMAGE", "cgr.dev/chainguard/static"),
            ("INPUT_CONFIG", "deploy/.ko.yaml"),
            ("INPUT_WORKING-DIRECTORY", "services/api"),
            ("INPUT_PUSH", "False"),
            ("INPUT_SBOM", "spdx,cyclonedx"),
            ("INPUT_SIGN", "TRUE"),
            ("INPUT_PROVENANCE", "false"),
            ("INPUT_RESOLVE", "config/\nextra.yaml"),
            ("INPUT_SUMMARY", "false"),
            ("INPUT_GITHUB-TOKEN", "ghs_secret"),
            ("INPUT_VERSION", "0.2.0"),
            ("INPUT_CACHE", "false"),
        ]);
        let inputs = ActionInputs::read(&map).unwrap();
        assert_eq!(inputs.import_paths, ["./cmd/app", "./cmd/worker"]);
        assert_eq!(inputs.repo.as_deref(), Some("ghcr.io/acme"));
        assert_eq!(inputs.platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(inputs.tags, ["v1", "latest"]);
        assert_eq!(inputs.tag_rules.as_deref(), Some("type=ref,event=branch\ntype=sha"));
        assert_eq!(inputs.base_image.as_deref(), Some("cgr.dev/chainguard/static"));
        assert_eq!(inputs.config.as_deref(), Some("deploy/.ko.yaml"));
        assert_eq!(inputs.working_directory.as_deref(), Some("services/api"));
        assert!(!inputs.push && !inputs.summary && !inputs.cache);
        assert_eq!(inputs.sbom, Some(vec![SbomFormat::Spdx, SbomFormat::CycloneDx]));
        assert_eq!((inputs.sign, inputs.provenance), (Some(true), Some(false)));
        assert_eq!(inputs.resolve, ["config/", "extra.yaml"]);
        assert_eq!(inputs.github_token.as_ref().map(Secret::expose), Some("ghs_secret"));
        assert_eq!(inputs.version.as_deref(), Some("0.2.0"));
        assert!(!format!("{inputs:?}").contains("ghs_secret"));
    }

    #[test]
    fn booleans_follow_the_yaml_core_schema_only() {
        for (value, expected) in [("true", true), ("True", true), ("TRUE", true), ("false", false), ("FALSE", false)] {
            let map = variables(&[("INPUT_PUSH", value)]);
            assert_eq!(boolean(&map, PUSH), Ok(Some(expected)), "{value}");
        }
        for value in ["yes", "1", "tRUE", "on", "no"] {
            let map = variables(&[("INPUT_SIGN", value)]);
            let error = ActionInputs::read(&map).unwrap_err();
            assert_eq!(error, InputError::NotBoolean { name: SIGN, value: value.to_owned() });
            let message = error.to_string();
            assert!(message.contains("input `sign`") && message.contains(&format!("`{value}`")), "{message}");
        }
    }

    #[test]
    fn lists_split_on_newlines_and_commas_and_keep_hashes() {
        assert_eq!(split_list(" a ,b\r\n\n c,,\n#d "), ["a", "b", "c", "#d"]);
        assert!(split_list(" \n , ").is_empty());
    }

    #[test]
    fn sbom_takes_its_documented_values() {
        let read = |value: &str| sbom(&variables(&[("INPUT_SBOM", value)]));
        assert_eq!(read("spdx"), Ok(Some(vec![SbomFormat::Spdx])));
        assert_eq!(read("cyclonedx"), Ok(Some(vec![SbomFormat::CycloneDx])));
        assert_eq!(read("none"), Ok(Some(vec![])));
        assert_eq!(read("cyclonedx, spdx"), Ok(Some(vec![SbomFormat::CycloneDx, SbomFormat::Spdx])));
        for value in ["spdx-json", "none,spdx", "true"] {
            let error = read(value).unwrap_err();
            assert!(error.to_string().starts_with("input `sbom` is"), "{error}");
        }
    }

    #[test]
    fn long_bad_values_are_shortened_in_errors() {
        let long = "x".repeat(500);
        let error = boolean(&variables(&[("INPUT_CACHE", &long)]), CACHE).unwrap_err();
        assert!(error.to_string().len() < 250, "{error}");
    }
}
