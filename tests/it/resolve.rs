//! `resolve`, `apply`, `create`, `delete`, `run`: only the `ko://` scalars change (comments,
//! styles, anchors, `List`s, CRLF, JSON and separators survive, diff-checked), each distinct
//! import path is built once, selectors filter documents and list items, kubectl gets exactly
//! the arguments and input ko would give it (a recording stand-in), and bad inputs fail with
//! file, line and column.

use std::path::Path;

use crate::support::{HELLO_NAME, Workspace, crane, hello, peers, rejects, run, tempdir, unique};

const MANIFEST: &str = r#"# Deployment for the example app. Comments stay.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello          # aligned comment
  labels:
    app: web
    tier: "front"
spec:
  template:
    spec:
      containers:
      - name: plain
        image: ko://example.com/hello
        args: ["--flag=ko://example.com/not-a-reference", 'single']
      - name: quoted
        image: "ko://example.com/hello"
      - {name: flow, image: 'ko://example.com/hello'}
      - name: anchored
        image: &shared ko://example.com/hello
      - name: alias
        image: *shared
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: web-config, labels: {app: web}}
  data:
    image: >-
      ko://example.com/hello
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: db-config
    labels: {app: db}
  data: {image: ko://example.com/hello}
---
# a document with no object, only a comment
...
"#;

const JSON: &str = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"json\", \"labels\": {\"app\": \"web\"}},\n  \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"ko://example.com/hello\"}]}\n}\n";

fn workspace() -> Workspace {
    let workspace = hello();
    workspace.write("k8s/app.yaml", MANIFEST);
    workspace.write("k8s/crlf.yml", &MANIFEST.replace('\n', "\r\n"));
    workspace.write("k8s/pod.json", JSON);
    workspace.write("k8s/README.md", "not YAML, ignored in directories\n");
    workspace.write("k8s/nested/more.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: nested}\nspec: {containers: [{name: n, image: ko://example.com/hello}]}\n");
    workspace
}

fn resolve(workspace: &Workspace, arguments: &[&str], repository: &str) -> (String, serde_json::Value, String) {
    let report_path = workspace.path().join(format!("{}.json", unique("report")));
    let mut rko = workspace.rko(&["resolve", "--report", report_path.to_str().unwrap()]);
    rko.args(arguments).env("KO_DOCKER_REPO", repository);
    let result = run(&mut rko);
    let output = result.success();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    (output, report, result.stderr())
}

#[test]
fn only_references_change_and_each_path_builds_once() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("resolve"));
    let workspace = workspace();
    let (output, report, stderr) =
        resolve(&workspace, &["-f", "k8s/app.yaml", "-f", "k8s/crlf.yml", "-f", "k8s/pod.json"], &repository);
    assert_eq!(stderr.matches("Building example.com/hello for").count(), 1, "built more than once:\n{stderr}");
    assert_eq!(report["images"].as_array().unwrap().len(), 1);
    let reference =
        report["resolved"]["ko://example.com/hello"].as_str().expect("the reference is in the report").to_owned();
    assert!(crane(&["manifest", &reference]).contains("schemaVersion"), "{reference} is not pullable");

    let expected = [
        MANIFEST.replace("ko://example.com/hello", &reference),
        MANIFEST.replace('\n', "\r\n").replace("ko://example.com/hello", &reference),
        JSON.replace("ko://example.com/hello", &reference),
    ]
    .join("---\n");
    assert_eq!(output, expected, "only the references may change");
    assert!(output.contains("--flag=ko://example.com/not-a-reference"));
    let printed_json = output.rsplit("---\n").next().unwrap();
    serde_json::from_str::<serde_json::Value>(printed_json).expect("pod.json stays JSON");

    // A directory gives its .yaml, .yml and .json files in order; -R adds sub-directories.
    let (flat, _, _) = resolve(&workspace, &["-f", "k8s"], &repository);
    assert_eq!(flat, expected, "directory order is app.yaml, crlf.yml, pod.json");
    let (deep, report, stderr) = resolve(&workspace, &["-R", "-f", "k8s"], &repository);
    let nested = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: nested}}\nspec: {{containers: [{{name: n, image: {reference}}}]}}\n"
    );
    let lexical = [
        MANIFEST.replace("ko://example.com/hello", &reference),
        MANIFEST.replace('\n', "\r\n").replace("ko://example.com/hello", &reference),
        nested,
        JSON.replace("ko://example.com/hello", &reference),
    ]
    .join("---\n");
    assert_eq!(deep, lexical, "-R walks in lexical order, sub-directories in place");
    assert_eq!(stderr.matches("Building example.com/hello for").count(), 1, "four files, one build:\n{stderr}");
    assert_eq!(report["resolved"].as_object().unwrap().len(), 1);
}

#[test]
fn selectors_filter_documents_and_list_items() {
    let workspace = workspace();
    let (output, _, _) = resolve(&workspace, &["--push=false", "-f", "k8s/app.yaml", "-l", "app=web"], "");
    assert!(output.contains("name: hello") && output.contains("name: web-config"), "{output}");
    assert!(!output.contains("db-config"), "a List item that does not match stays: {output}");
    let (output, _, _) =
        resolve(&workspace, &["--push=false", "-f", "k8s/app.yaml", "-l", "tier in (front,back),app!=db"], "");
    assert!(output.contains("name: hello") && !output.contains("kind: List"), "{output}");
    let (output, _, stderr) = resolve(&workspace, &["--push=false", "-f", "k8s/app.yaml", "-l", "app=nothing"], "");
    assert_eq!(output.trim(), "", "everything filtered out");
    assert!(!stderr.contains("Building"), "nothing to build: {stderr}");
}

/// A `kubectl` that records its arguments and stdin.
fn recording_kubectl() -> (tempfile::TempDir, String) {
    let directory = tempdir();
    let script = directory.path().join("kubectl");
    let log = directory.path().display().to_string();
    std::fs::write(
        &script,
        format!("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {log}/argv\ncat > {log}/stdin\nexit 0\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", directory.path().display(), peers().get("PATH"));
    (directory, path)
}

fn recorded(directory: &Path) -> (Vec<String>, String) {
    let argv = std::fs::read_to_string(directory.join("argv")).unwrap().lines().map(str::to_owned).collect();
    (argv, std::fs::read_to_string(directory.join("stdin")).unwrap_or_default())
}

#[test]
fn kubectl_gets_what_ko_gives_it() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("apply"));
    let workspace = workspace();
    let (directory, path) = recording_kubectl();
    let (resolved, _, _) = resolve(&workspace, &["-f", "k8s/app.yaml"], &repository);
    for verb in ["apply", "create"] {
        let mut rko = workspace.rko(&[verb, "-f", "k8s/app.yaml", "--", "--namespace", "team", "--dry-run=server"]);
        let result = run(rko.env("PATH", &path).env("KO_DOCKER_REPO", &repository));
        result.success();
        let logged = format!("Running kubectl {verb} -f - --namespace team --dry-run=server\n");
        assert!(result.stderr().contains(&logged), "the kubectl command is logged:\n{}", result.stderr());
        let (argv, stdin) = recorded(directory.path());
        assert_eq!(argv, [verb, "-f", "-", "--namespace", "team", "--dry-run=server"]);
        assert_eq!(stdin, resolved, "{verb} streams the resolved YAML");
    }
    let mut delete = workspace.rko(&["delete", "-f", "k8s/app.yaml", "--now", "-n", "team"]);
    let result = run(delete.env("PATH", &path));
    result.success();
    assert!(result.stderr().contains("Running kubectl delete -f k8s/app.yaml --now -n team\n"), "{}", result.stderr());
    assert_eq!(recorded(directory.path()).0, ["delete", "-f", "k8s/app.yaml", "--now", "-n", "team"]);

    let mut run_command =
        workspace.rko(&["run", ".", "--", "--labels=a=b", "--token", "s3cr3t", "--", "-f", "alias.txt"]);
    let result = run(run_command.env("PATH", &path).env("KO_DOCKER_REPO", &repository));
    result.success();
    let (argv, _) = recorded(directory.path());
    // Logged on stderr like ko's `$ kubectl run …`, with the token masked.
    let logged = format!(
        "Running kubectl run {HELLO_NAME} --image {} --attach --rm --restart=Never --log-flush-frequency=1s --labels=a=b --token *** -- -f alias.txt\n",
        argv[3]
    );
    assert!(result.stderr().contains(&logged), "{}", result.stderr());
    assert!(!result.stderr().contains("s3cr3t"), "{}", result.stderr());
    assert_eq!(argv[..2], ["run".to_owned(), HELLO_NAME.to_owned()]);
    assert_eq!(argv[2], "--image");
    assert!(argv[3].starts_with(&format!("{repository}/{HELLO_NAME}@sha256:")), "{argv:?}");
    assert_eq!(
        argv[4..],
        [
            "--attach",
            "--rm",
            "--restart=Never",
            "--log-flush-frequency=1s",
            "--labels=a=b",
            "--token",
            "s3cr3t",
            "--",
            "-f",
            "alias.txt"
        ]
    );

    // No kubectl at all: one clear line, before anything is built.
    let without = format!("{}/go/bin", peers().get("RKO_PEERS"));
    for arguments in [&["apply", "-f", "k8s/app.yaml"][..], &["delete", "pod", "x"], &["run", "."]] {
        let mut rko = workspace.rko(arguments);
        let error = run(rko.env("PATH", &without).env("KO_DOCKER_REPO", &repository)).failure();
        assert!(error.contains("needs kubectl, and it is not on PATH"), "{error}");
    }
}

#[test]
fn resolve_bad_inputs() {
    let workspace = workspace();
    workspace.write("bad/malformed.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n");
    workspace.write("bad/library.yaml", "image: ko://example.com/hello/lib\n");
    workspace.write("lib/lib.go", "package lib\n");
    workspace.write("bad/broken.yaml", "a: b\nimage: ko://example.com/hello/broken\n");
    workspace.write("broken/main.go", "package main\n\nfunc main() { undefinedThing() }\n");
    std::fs::write(workspace.path().join("bad/binary.yaml"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let rejects = |arguments: &[&str], expected: &[&str]| {
        rejects(&workspace, &[&["resolve", "--push=false"], arguments].concat(), &[], expected)
    };
    rejects(&["-f", "bad/malformed.yaml"], &["malformed.yaml`:5:1:"]);
    let help = run(&mut workspace.rko(&["resolve", "--help"])).success();
    assert!(!help.contains("kubectl") && !help.contains("KUBECTL"), "resolve runs no kubectl:\n{help}");
    let help = run(&mut workspace.rko(&["apply", "--help"])).success();
    assert!(help.contains("Arguments for kubectl"), "{help}");
    rejects(&["-f", "k8s/app.yaml", "-l", "app in (web"], &["invalid --selector", "app in (web"]);
    rejects(&["-f", "k8s/nope.yaml"], &["cannot read", "nope.yaml"]);
    rejects(&["-f", "bad/binary.yaml"], &["cannot read", "binary.yaml"]);
    // ko says `lstat http://…: no such file or directory`.
    rejects(
        &["-f", "https://example.com/app.yaml"],
        &["`https://example.com/app.yaml` is a URL", "curl -fsSL 'https://example.com/app.yaml' | rko resolve -f -"],
    );
    // ko prints nothing (or `---`) and exits 0: a wrong directory or a failed pipe goes unnoticed.
    std::fs::create_dir_all(workspace.path().join("empty/sub")).unwrap();
    rejects(&["-f", "empty"], &["-f `empty`", "holds no `.yaml`, `.yml` or `.json` files", "with -R"]);
    rejects(&["-f", "lib"], &["-f `lib`", "holds no `.yaml`"]);
    let mut empty_stdin = workspace.rko(&["resolve", "--push=false", "-f", "-"]);
    let error = run(empty_stdin.stdin(std::process::Stdio::null())).failure();
    assert!(error.contains("stdin is empty, so there is nothing to resolve"), "{error}");
    // resolve runs no kubectl: arguments after `--` are refused, pointing at apply.
    rejects(&["-f", "k8s/app.yaml", "--", "--dry-run"], &["`rko resolve` takes no arguments after `--`", "rko apply"]);
    rejects(
        &["-f", "bad/library.yaml"],
        &["`ko://example.com/hello/lib` in", "library.yaml`:1:8", "not `package main`"],
    );
    rejects(
        &["-f", "bad/broken.yaml"],
        &["`ko://example.com/hello/broken` in", "broken.yaml`:2:8", "`go build` failed", "undefinedThing"],
    );
}
