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
