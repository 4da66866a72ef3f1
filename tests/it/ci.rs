//! The CI front end through the real binary: the dotenv report GitLab reads (`--dotenv`), the
//! zero-config registry and credentials of a GitLab job, tags from `--tag-rules`, and
//! `rko action` as a simulated GitHub runner calls it. Each checks the result with crane.

use rko::ci::dotenv;

use crate::support::{crane, hello, peers, rejects, run, unique};

/// The variables of a dotenv file, as GitLab reads them.
fn dotenv_variables(path: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).expect("the dotenv report is written");
    dotenv::parse(&text).expect("every line is NAME=VALUE").into_iter().collect()
}

#[test]
fn the_dotenv_report_names_the_pushed_digest() {
    let workspace = hello();
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("dotenv"));
    let file = workspace.path().join("build.env");
    let mut build = workspace.rko(&["build", "-t", "one,two", "--dotenv", file.to_str().unwrap(), "."]);
    let printed = run(build.env("KO_DOCKER_REPO", &repository)).success();
    let variables = dotenv_variables(&file);
    let digest = &variables["RKO_DIGEST"];
    let image = &variables["RKO_IMAGE"];
    assert!(digest.starts_with("sha256:"), "{variables:?}");
    assert_eq!(printed.trim(), image, "RKO_IMAGE is the printed reference");
    let name = image.split('@').next().unwrap();
    assert_eq!(&crane(&["digest", &format!("{name}:one")]), digest);
    assert_eq!(variables["RKO_TAGS"], format!("{name}:one,{name}:two"), "tags are full references");
    let images: serde_json::Value = serde_json::from_str(&variables["RKO_IMAGES_JSON"]).unwrap();
    assert_eq!(images[0]["digest"], digest.as_str());
    assert_eq!(images[0]["import_path"], "example.com/hello");
}

#[test]
fn the_dotenv_report_is_written_when_the_build_fails() {
    let workspace = hello();
    workspace.write("cmd/broken/main.go", "package main\n\nfunc main() { undefined() }\n");
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("dotenv"));
    let file = workspace.path().join("build.env");
    let mut build = workspace.rko(&["build", "--dotenv", file.to_str().unwrap(), ".", "./cmd/broken"]);
    let error = run(build.env("KO_DOCKER_REPO", &repository)).failure();
    assert!(error.contains("undefined"), "{error}");
    let variables = dotenv_variables(&file);
    assert!(variables["RKO_IMAGE"].starts_with(&repository), "what was built is on record: {variables:?}");
}

#[test]
fn an_unwritable_output_fails_before_anything_is_built() {
    let workspace = hello();
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("unwritable"));
    let missing = workspace.path().join("no/such/directory/build.env");
    let missing = missing.to_str().unwrap();
    let directory = workspace.path().to_str().unwrap();
    for flag in ["--dotenv", "--report", "--image-refs"] {
        for path in [missing, directory] {
            let error =
                rejects(&workspace, &["build", flag, path, "."], &[("KO_DOCKER_REPO", &repository)], &[path, flag]);
            assert!(!error.contains("Published"), "nothing is built or pushed first:\n{error}");
        }
    }
    // resolve and run check too.
    rejects(&workspace, &["resolve", "--dotenv", missing, "-f", "-"], &[("KO_DOCKER_REPO", &repository)], &[missing]);
}

/// A docker config with the TLS registry's login, for crane (rko must not need one).
fn crane_config() -> tempfile::TempDir {
    let directory = crate::support::tempdir();
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    let config = format!(r#"{{"auths":{{"{registry}":{{"username":"testuser","password":"testpass"}}}}}}"#);
    std::fs::write(directory.path().join("config.json"), config).unwrap();
    directory
}

/// `crane ARGS` against the TLS registry.
fn crane_tls(config: &tempfile::TempDir, arguments: &[&str]) -> String {
    let mut crane = crate::support::command("crane");
    crane.args(arguments).env("DOCKER_CONFIG", config.path()).env("SSL_CERT_FILE", peers().get("RKO_TEST_REGISTRY_CA"));
    run(&mut crane).success().trim().to_owned()
}

/// A GitLab job's variables for the TLS registry standing in for the project's registry.
fn gitlab_job(image: &str, secret: &str) -> Vec<(&'static str, String)> {
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    vec![
        ("GITLAB_CI", "true".to_owned()),
        ("CI", "true".to_owned()),
        ("CI_REGISTRY", registry.to_owned()),
        ("CI_REGISTRY_IMAGE", format!("{registry}/{image}")),
        ("CI_REGISTRY_USER", "testuser".to_owned()),
        ("CI_REGISTRY_PASSWORD", secret.to_owned()),
        ("SSL_CERT_FILE", peers().get("RKO_TEST_REGISTRY_CA").to_owned()),
        // No docker config: the job's login is all rko has.
        ("DOCKER_CONFIG", "/nonexistent".to_owned()),
    ]
}

#[test]
fn a_gitlab_job_pushes_to_its_registry_with_no_configuration() {
    let workspace = hello();
    let image = unique("gitlab");
    let file = workspace.path().join("build.env");
    let mut build = workspace.rko(&["build", "-B", "--dotenv", file.to_str().unwrap(), "."]);
    build.envs(gitlab_job(&image, "testpass"));
    let result = run(&mut build);
    let printed = result.success();
    let stderr = result.stderr();
    assert!(stderr.contains("CI_REGISTRY_IMAGE"), "the default is announced:\n{stderr}");
    assert!(stderr.contains("section_start:") && stderr.contains("section_end:"), "{stderr}");
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    assert!(printed.starts_with(&format!("{registry}/{image}/hello@sha256:")), "{printed}");
    let variables = dotenv_variables(&file);
    let config = crane_config();
    assert_eq!(crane_tls(&config, &["digest", &format!("{registry}/{image}/hello:latest")]), variables["RKO_DIGEST"]);

    // A wrong password is the registry's refusal, and the password is printed nowhere.
    let mut denied = workspace.rko(&["build", "-B", "."]);
    denied.envs(gitlab_job(&unique("gitlab"), "wrong-secret-canary"));
    let result = run(&mut denied);
    let error = result.failure();
    assert!(!error.contains("wrong-secret-canary") && !result.stdout().contains("wrong-secret-canary"), "{error}");
}

#[test]
fn tag_rules_follow_the_gitlab_pipeline() {
    let rules = "type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=ref,event=pr\ntype=sha";
    let cases: [(&[(&str, &str)], &[&str]); 2] = [
        (
            &[("CI_COMMIT_TAG", "v1.2.3"), ("CI_COMMIT_SHA", "0123456789abcdef0123")],
            &["1.2", "1.2.3", "latest", "sha-0123456"],
        ),
        (
            &[
                ("CI_PIPELINE_SOURCE", "merge_request_event"),
                ("CI_MERGE_REQUEST_IID", "42"),
                ("CI_COMMIT_REF_NAME", "feature"),
                ("CI_COMMIT_SHA", "fedcba9876543210fedc"),
                ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "abcdef0123456789abcd"),
            ],
            &["pr-42", "sha-abcdef0"],
        ),
    ];
    for (pipeline, expected) in cases {
        let workspace = hello();
        let image = unique("rules");
        let mut build = workspace.rko(&["build", "-B", "--tag-rules", rules, "."]);
        build.envs(gitlab_job(&image, "testpass")).envs(pipeline.iter().copied());
        run(&mut build).success();
        let registry = peers().get("RKO_TEST_REGISTRY_TLS");
        let listed = crane_tls(&crane_config(), &["ls", &format!("{registry}/{image}/hello")]);
        // The SBOM's legacy `sha256-<hex>.sbom` tags aside.
        let mut tags: Vec<&str> = listed.lines().filter(|tag| !tag.starts_with("sha256-")).collect();
        tags.sort_unstable();
        assert_eq!(tags, expected, "{pipeline:?}");
    }
    // From a file (RKO_TAG_RULES=@FILE), and never together with -t.
    let workspace = hello();
    workspace.write("tags.rules", "type=raw,value=from-file\n");
    let image = unique("rules");
    let mut build = workspace.rko(&["build", "-B", "."]);
    build.envs(gitlab_job(&image, "testpass")).env("RKO_TAG_RULES", "@tags.rules");
    run(&mut build).success();
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    let listed = crane_tls(&crane_config(), &["ls", &format!("{registry}/{image}/hello")]);
    assert_eq!(listed.lines().filter(|tag| !tag.starts_with("sha256-")).collect::<Vec<_>>(), ["from-file"]);
    rejects(&workspace, &["build", "-t", "x", "--tag-rules", "type=sha", "."], &[], &["--tags", "--tag-rules"]);
    rejects(&workspace, &["build", "--tag-rules", "type=nonsense", "--push=false", "."], &[], &["tag rules"]);
}
