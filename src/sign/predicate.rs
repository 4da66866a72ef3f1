//! Attestation predicates: the predicate types cosign uses for SBOMs (`--type spdxjson`,
//! `--type cyclonedx`) and SLSA v1 provenance, built from a plain struct of build facts (on
//! GitHub Actions with GitHub's workflow build type and claims, elsewhere with rko's own).

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub const SPDX: &str = "https://spdx.dev/Document";
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// GitHub's build type for workflow runs (what actions/attest-build-provenance writes).
pub const GITHUB_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";
/// rko's build type outside GitHub Actions.
pub const RKO_BUILD_TYPE: &str = "https://github.com/rko-build/rko/buildtypes/go-image/v1";

/// The predicate type of cosign's `--type` name (`spdxjson`, `cyclonedx`, `slsaprovenance1`),
/// or the value itself when it is a URI.
pub fn predicate_type(name: &str) -> Option<&str> {
    match name {
        "spdxjson" | "spdx" => Some(SPDX),
        "cyclonedx" => Some(CYCLONEDX),
        "slsaprovenance1" => Some(SLSA_PROVENANCE_V1),
        uri if uri.contains("://") => Some(uri),
        _ => None,
    }
}

/// What the GitHub Actions run says about itself (from its environment, read by the CLI).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitHubRun {
    pub server_url: String,
    pub repository: String,
    pub repository_id: String,
    pub repository_owner_id: String,
    pub workflow_ref: String,
    pub r#ref: String,
    pub sha: String,
    pub event_name: String,
    pub run_id: String,
    pub run_attempt: String,
    pub runner_environment: String,
}

/// The facts provenance records about one build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildFacts {
    pub import_path: String,
    pub go_version: String,
    pub platform: String,
    pub flags: Vec<String>,
    pub ldflags: Vec<String>,
    /// `name@sha256:…` of the base image (empty for the built-in base or `scratch`).
    pub base_image: String,
    pub base_image_digest: String,
    /// The source repository (URI) and commit, when known.
    pub source_uri: String,
    pub source_commit: String,
    /// SHA-256 hex of the `.ko.yaml` used, when there was one.
    pub config_digest: String,
    pub builder_version: String,
    /// Set on GitHub Actions.
    pub github: Option<GitHubRun>,
}

/// A SLSA v1 provenance predicate for `facts`.
pub fn slsa_provenance(facts: &BuildFacts) -> Value {
    let mut dependencies = Vec::new();
    if !facts.source_uri.is_empty() {
        let mut dependency = json!({"uri": format!("git+{}", facts.source_uri)});
        if !facts.source_commit.is_empty() {
            dependency["digest"] = json!({"gitCommit": facts.source_commit});
        }
        dependencies.push(dependency);
    }
    if !facts.base_image_digest.is_empty() {
        let hex = facts.base_image_digest.trim_start_matches("sha256:");
        dependencies.push(json!({"uri": format!("oci://{}", facts.base_image), "digest": {"sha256": hex}}));
    }
    let mut build = BTreeMap::from([
        ("importPath", json!(facts.import_path)),
        ("goVersion", json!(facts.go_version)),
        ("platform", json!(facts.platform)),
        ("flags", json!(facts.flags)),
        ("ldflags", json!(facts.ldflags)),
    ]);
    if !facts.base_image.is_empty() {
        build.insert("baseImage", json!(facts.base_image));
    }
    if !facts.base_image_digest.is_empty() {
        build.insert("baseImageDigest", json!(facts.base_image_digest));
    }
    if !facts.config_digest.is_empty() {
        build.insert("koYamlDigest", json!({"sha256": facts.config_digest}));
    }
    if !facts.source_commit.is_empty() {
        build.insert("sourceCommit", json!(facts.source_commit));
    }
    match &facts.github {
        Some(run) => {
            let server = run.server_url.trim_end_matches('/');
            let workflow_path = run
                .workflow_ref
                .split_once('@')
                .map_or("", |(path, _)| path)
                .strip_prefix(&format!("{}/", run.repository))
                .unwrap_or("");
            json!({
                "buildDefinition": {
                    "buildType": GITHUB_BUILD_TYPE,
                    "externalParameters": {
                        "workflow": {"ref": run.r#ref, "repository": format!("{server}/{}", run.repository), "path": workflow_path},
                        "rko": build,
                    },
                    "internalParameters": {"github": {
                        "event_name": run.event_name,
                        "repository_id": run.repository_id,
                        "repository_owner_id": run.repository_owner_id,
                        "runner_environment": run.runner_environment,
                    }},
                    "resolvedDependencies": dependencies,
                },
                "runDetails": {
                    "builder": {"id": format!("{server}/{}", run.workflow_ref)},
                    "metadata": {"invocationId": format!(
                        "{server}/{}/actions/runs/{}/attempts/{}", run.repository, run.run_id, run.run_attempt
                    )},
                },
            })
        }
        None => json!({
            "buildDefinition": {
                "buildType": RKO_BUILD_TYPE,
                "externalParameters": build,
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": "https://github.com/rko-build/rko", "version": {"rko": facts.builder_version}},
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_on_and_off_github() {
        let mut facts = BuildFacts {
            import_path: "example.com/app".into(),
            go_version: "go1.27.3".into(),
            ldflags: vec!["-s".into()],
            base_image: "cgr.dev/chainguard/static".into(),
            base_image_digest: "sha256:abc".into(),
            source_uri: "https://github.com/o/r".into(),
            source_commit: "deadbeef".into(),
            config_digest: "00ff".into(),
            ..BuildFacts::default()
        };
        let generic = slsa_provenance(&facts);
        assert_eq!(generic["buildDefinition"]["buildType"], RKO_BUILD_TYPE);
        assert_eq!(generic["buildDefinition"]["externalParameters"]["koYamlDigest"]["sha256"], "00ff");
        assert_eq!(generic["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"], "deadbeef");
        assert_eq!(generic["buildDefinition"]["resolvedDependencies"][1]["digest"]["sha256"], "abc");
        facts.github = Some(GitHubRun {
            server_url: "https://github.com".into(),
            repository: "o/r".into(),
            workflow_ref: "o/r/.github/workflows/release.yml@refs/heads/main".into(),
            r#ref: "refs/heads/main".into(),
            run_id: "7".into(),
            run_attempt: "1".into(),
            ..GitHubRun::default()
        });
        let github = slsa_provenance(&facts);
        assert_eq!(github["buildDefinition"]["buildType"], GITHUB_BUILD_TYPE);
        assert_eq!(
            github["buildDefinition"]["externalParameters"]["workflow"]["path"],
            ".github/workflows/release.yml"
        );
        assert_eq!(
            github["runDetails"]["metadata"]["invocationId"],
            "https://github.com/o/r/actions/runs/7/attempts/1"
        );
        assert_eq!(predicate_type("spdxjson"), Some(SPDX));
        assert_eq!(predicate_type("bogus"), None);
    }
}
