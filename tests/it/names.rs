//! Image names and references are checked before `go build` runs: `KO_DOCKER_REPO`, the names
//! `-P`/`-B`/`--bare` derive from import paths, base image references from every source, and
//! tags. The module here does not compile, so an error found after the build would be Go's.

use crate::support::{Workspace, build_json, peers, rejects};

/// A module whose program has a type error (`go list` accepts it, `go build` does not).
fn broken(directory: &str) -> Workspace {
    let main = "package main\n\nfunc main() { var count int = \"many\"; _ = count }\n";
    Workspace::module("names", &[(&format!("{directory}/main.go"), main)])
}

/// `rko build PACKAGE` fails before building, naming each of `expected`.
fn refused_before_build(workspace: &Workspace, arguments: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    let mut all = vec!["build"];
    all.extend_from_slice(arguments);
    let error = rejects(workspace, &all, env, expected);
    assert!(!error.contains("many") && !error.contains("go build"), "{arguments:?} {env:?} was built first: {error}");
    assert_eq!(error.trim_end().lines().count(), 1, "one line: {error}");
}

#[test]
fn bad_repositories_are_refused_before_building() {
    let workspace = broken("app");
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repo = |value: String, expected: &[&str]| {
        let mut all = vec!["KO_DOCKER_REPO"];
        all.extend_from_slice(expected);
        refused_before_build(&workspace, &["./app"], &[("KO_DOCKER_REPO", &value)], &all);
    };
    repo(format!("{registry}/Upper"), &["must be lowercase", &format!("`{registry}/upper`")]);
    repo(format!("http://{registry}/app"), &["scheme", &format!("`{registry}/app`")]);
    repo(format!("{registry}/app:v1"), &["tag", "-t"]);
    repo(format!("{registry}/app@sha256:{}", "a".repeat(64)), &["digest"]);
    repo(format!("{registry}/my app"), &["space"]);
    repo(format!("{registry}/a//b"), &["empty"]);
    repo(format!("{registry}/-app"), &["`-app`"]);
    repo(format!("{registry}/{}", "a".repeat(260)), &["255"]);
    repo("ko.local/Upper".into(), &["must be lowercase"]);
    repo("kind.local/Upper".into(), &["must be lowercase"]);
    // A registry alone is fine (names go right under it), but not for --bare.
    refused_before_build(
        &workspace,
        &["--bare", "./app"],
        &[("KO_DOCKER_REPO", registry)],
        &["--bare", "KO_DOCKER_REPO", registry],
    );
}

#[test]
fn names_derived_from_import_paths_are_checked_before_building() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    // `my_-tool` is a fine Go package directory, but `_-` cannot appear in a repository name.
    let workspace = broken("my_-tool");
    let env = [("KO_DOCKER_REPO", registry)];
    for flag in ["-B", "-P", "--push=false"] {
        refused_before_build(&workspace, &[flag, "./my_-tool"], &env, &["example.com/names/my_-tool", "my_-tool"]);
    }
    // Together with a long KO_DOCKER_REPO, the name passes 255 characters.
    let workspace = broken("app");
    let long = format!("{registry}/{}", "r".repeat(230));
    refused_before_build(&workspace, &["./app"], &[("KO_DOCKER_REPO", &long)], &["example.com/names/app", "255"]);
}

#[test]
fn bad_base_references_and_tags_are_refused_before_building_naming_their_source() {
    let workspace = broken("app");
    let env = [("KO_DOCKER_REPO", peers().get("RKO_TEST_REGISTRY"))];
    for base in ["bad::reference", "example.com/Upper", "http://example.com/base", "example.com/base:bad tag"] {
        refused_before_build(
            &workspace,
            &["./app"],
            &[env[0], ("KO_DEFAULTBASEIMAGE", base)],
            &["KO_DEFAULTBASEIMAGE", base],
        );
        refused_before_build(&workspace, &["--base-image", base, "./app"], &env, &["--base-image", base]);
    }
    workspace.write(".ko.yaml", "defaultBaseImage: example.com/Base\n");
    refused_before_build(&workspace, &["./app"], &env, &["defaultBaseImage", "example.com/Base", "lowercase"]);
    workspace.write(".ko.yaml", "baseImageOverrides:\n  example.com/names/app: 'example.com/base@sha256:abc'\n");
    refused_before_build(&workspace, &["./app"], &env, &["baseImageOverrides", "example.com/names/app", "sha256"]);
    std::fs::remove_file(workspace.path().join(".ko.yaml")).unwrap();
    for tag in ["bad tag", "-x", &"t".repeat(129)] {
        refused_before_build(&workspace, &[&format!("--tags={tag}"), "./app"], &env, &["tag", tag]);
    }
}

#[test]
fn trailing_slashes_are_dropped_as_ko_does() {
    let workspace = crate::support::hello();
    let registry = peers().get("RKO_TEST_REGISTRY");
    let report =
        build_json(&workspace, &["--push=false", "."], &[("KO_DOCKER_REPO", &format!("{registry}/trailing/"))]);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    assert!(reference.starts_with(&format!("{registry}/trailing/{}", crate::support::HELLO_NAME)), "{reference}");
}
