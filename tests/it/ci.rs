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

/// A pipeline's variables.
type Variables<'a> = &'a [(&'a str, &'a str)];

#[test]
fn tag_rules_follow_the_gitlab_pipeline() {
    let rules = "type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=ref,event=pr\ntype=sha";
    let cases: [(Variables, &[&str]); 2] = [
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

const CANARY: &str = "canary-secret-3f9a1c";

/// A simulated runner's step: `rko action` with `inputs` as `INPUT_*`, the file commands in
/// `directory`, a push event, and the canary in every credential variable.
fn action(workspace: &crate::support::Workspace, inputs: &[(&str, &str)]) -> (crate::support::Run, std::path::PathBuf) {
    let directory = workspace.path().join("runner");
    std::fs::create_dir_all(&directory).unwrap();
    let event = directory.join("event.json");
    std::fs::write(&event, r#"{"repository":{"default_branch":"main"}}"#).unwrap();
    let mut command = workspace.rko(&["action"]);
    command
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_REPOSITORY", "Acme/Hello-World")
        .env("GITHUB_ACTOR", "octocat")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_WORKSPACE", workspace.path())
        .env("GITHUB_OUTPUT", directory.join("output"))
        .env("GITHUB_STEP_SUMMARY", directory.join("summary.md"))
        .env("GITHUB_ARTIFACTS", directory.join("artifacts"))
        .env("GITHUB_TOKEN", CANARY)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", CANARY)
        .env("INPUT_GITHUB-TOKEN", CANARY)
        .env("INPUT_REGISTRY-PASSWORD", CANARY);
    for (name, value) in inputs {
        command.env(rko::ci::inputs::variable_name(name), value);
    }
    (run(&mut command), directory)
}

/// The step outputs as the runner reads them.
fn step_outputs(directory: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(directory.join("output")).expect("GITHUB_OUTPUT is written");
    rko::ci::github::parse(&text).expect("the runner can parse the outputs").into_iter().collect()
}

/// The canary shows only in `::add-mask::` lines, and in no file.
fn assert_masked(result: &crate::support::Run, directory: &std::path::Path) {
    assert!(!result.stdout().contains(CANARY), "stdout:\n{}", result.stdout());
    let stderr = result.stderr();
    let shown = stderr.lines().filter(|line| line.contains(CANARY));
    for line in shown {
        assert_eq!(line, format!("::add-mask::{CANARY}"), "a secret outside a mask command:\n{stderr}");
    }
    assert!(stderr.starts_with(&format!("::add-mask::{CANARY}\n")), "masks come first:\n{stderr}");
    for file in std::fs::read_dir(directory).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains(CANARY), "`{}` holds the secret", path.display());
    }
}

#[test]
fn the_action_pushes_and_writes_outputs_and_summary_the_runner_reads() {
    let workspace = hello();
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("action"));
    let (result, directory) = action(&workspace, &[("repo", &repository), ("tags", "one\ntwo"), ("import-paths", ".")]);
    let printed = result.success();
    let outputs = step_outputs(&directory);
    let digest = &outputs["digest"];
    let name = format!("{repository}/hello-124ec4359fcc3b362d8aa16b0f28dd36");
    assert_eq!(&crane(&["digest", &format!("{name}:one")]), digest);
    assert_eq!(outputs["image"], format!("{name}@{digest}"));
    assert_eq!(printed.trim(), outputs["image"]);
    assert_eq!(outputs["tags"], format!("{name}:one\n{name}:two"), "a multi-line output");
    let images: serde_json::Value = serde_json::from_str(&outputs["images"]).unwrap();
    assert_eq!(images[0]["digest"], digest.as_str());
    let summary = std::fs::read_to_string(directory.join("summary.md")).unwrap();
    assert!(summary.contains(digest.as_str()), "{summary}");
    let artifacts = std::fs::read_to_string(directory.join("artifacts")).unwrap();
    assert_eq!(artifacts, format!("oci://{name}@{digest}\n"));
    assert!(result.stderr().contains("::group::example.com/hello"), "{}", result.stderr());
    assert_masked(&result, &directory);
}

#[test]
fn the_action_defaults_to_the_repository_package_on_ghcr() {
    let workspace = hello();
    let (result, directory) = action(&workspace, &[("push", "false"), ("summary", "false")]);
    result.success();
    let outputs = step_outputs(&directory);
    assert!(
        outputs["image"].starts_with("ghcr.io/acme/hello-world/hello-124ec4359fcc3b362d8aa16b0f28dd36@sha256:"),
        "{outputs:?}"
    );
    assert!(!directory.join("summary.md").exists(), "summary: false writes no summary");
    assert_masked(&result, &directory);

    // A bad input is one error, after the masks.
    let (result, directory) = action(&workspace, &[("push", "maybe")]);
    let error = result.failure();
    assert!(error.contains("`push`") && error.contains("maybe"), "{error}");
    assert_masked(&result, &directory);
}

#[test]
fn the_action_annotates_go_compile_errors() {
    let workspace = hello();
    workspace.write("main.go", "package main\n\nfunc main() {\n\tundefined()\n}\n");
    let (result, directory) = action(&workspace, &[("push", "false")]);
    result.failure();
    let stderr = result.stderr();
    assert!(
        stderr.contains("::error title=go build%3A example.com/hello,file=main.go,line=4,col=2::undefined"),
        "{stderr}"
    );
    assert_masked(&result, &directory);
}

#[test]
fn a_gitlab_pipeline_passes_the_digest_to_a_later_job() {
    let workspace = hello();
    let fixture = crate::support::repository().join("tests/fixtures/gitlab/.gitlab-ci.yml");
    std::fs::copy(&fixture, workspace.path().join(".gitlab-ci.yml")).unwrap();
    let git = |arguments: &[&str]| {
        let mut git = crate::support::command("git");
        git.current_dir(workspace.path()).args(arguments);
        git.env("GIT_AUTHOR_NAME", "t").env("GIT_AUTHOR_EMAIL", "t@example.com");
        git.env("GIT_COMMITTER_NAME", "t").env("GIT_COMMITTER_EMAIL", "t@example.com");
        run(&mut git).success();
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["remote", "add", "origin", "https://gitlab.example.com/acme/hello.git"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "hello"]);
    let image = unique("pipeline");
    let config = crane_config();
    let rko_directory = std::path::Path::new(crate::support::rko_binary()).parent().unwrap().to_owned();
    let path = format!("{}:{}", rko_directory.display(), peers().env.get("PATH").map_or("", String::as_str));
    let mut pipeline = crate::support::command("gitlab-ci-local");
    pipeline.current_dir(workspace.path()).env("PATH", &path).args(["--shell-executor-no-image=true"]);
    let mut variables: Vec<(&str, String)> = gitlab_job(&image, "testpass");
    // gitlab-ci-local says `GITLAB_CI=false` (a local run); a runner says `true`.
    variables.retain(|(name, _)| !matches!(*name, "CI" | "DOCKER_CONFIG"));
    variables.push(("CRANE_DOCKER_CONFIG", config.path().display().to_string()));
    variables.push(("RKO_CACHE_DIR", workspace.path().join(".rko-cache").display().to_string()));
    for (name, value) in &variables {
        pipeline.arg("--variable").arg(format!("{name}={value}"));
    }
    let result = run(&mut pipeline);
    let output = format!("{}{}", result.stdout(), result.stderr());
    assert!(result.output.status.success(), "the pipeline failed:\n{output}");
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    assert!(output.contains(&format!("verified {registry}/{image}/hello@sha256:")), "{output}");
    assert!(!output.contains("testpass"), "the password shows in the job log:\n{output}");
}
