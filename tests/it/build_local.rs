//! `rko build` with no registry: the example app into an OCI layout that podman runs, the
//! printed reference forms, `.ko.yaml` templating reaching the binary, reproducibility, ko's
//! exact layer bytes for the golden app, local outputs, and every bad input's one-line error.

use std::path::Path;

use crate::support::{HELLO_NAME, Workspace, build_ok, command, digest_of, hello, layout_image, rejects, run, tempdir};

/// The built-in base's linux/amd64 image. It must not change unless the base does (then
/// update this value and say why in the commit).
const BUILTIN_AMD64_DIGEST: &str = "sha256:6ff4c722aea8f515f67f00ae573bfc98a9b6df617ebc442413bc7fe82e392bc8";

/// Unpack `layout:reference` with umoci and return the rootfs.
fn unpack(layout: &Path, reference: &str) -> tempfile::TempDir {
    let bundle = tempdir();
    let target = bundle.path().join("bundle");
    run(command("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:{reference}", layout.display()))
        .arg(&target))
    .success();
    bundle
}

/// Run the app binary of an unpacked image directly, with its kodata.
fn run_app(bundle: &Path, app: &str, arguments: &[&str]) -> String {
    let rootfs = bundle.join("bundle/rootfs");
    run(command(rootfs.join("ko-app").join(app).to_str().unwrap())
        .args(arguments)
        .env("KO_DATA_PATH", rootfs.join("var/run/ko")))
    .success()
}

#[test]
fn main_job_layout_runs_under_podman_with_kodata_and_symlinks() {
    let workspace = hello();
    let layout = workspace.path().join("out/layout");
    let reference =
        build_ok(&workspace, &["build", ".", "--push=false", "--oci-layout-path", layout.to_str().unwrap()]);
    assert_eq!(reference, format!("{}@{}", layout.display(), digest_of(&reference)));
    // The layout also holds the image's SBOM (a referrer), so podman is told which image to run.
    let image = format!("oci:{}:{HELLO_NAME}:latest", layout.display());
    let output = run(command("podman").args(["run", "--rm", &image])).success();
    assert!(output.contains("hello from rko's example app (version dev, linux/amd64)"), "{output}");
    assert!(output.contains("New York:"), "time-zone data missing: {output}");
    assert!(output.contains("kodata says: hello there"), "{output}");
    let output = run(command("podman").args(["run", "--rm", &image, "-f", "alias.txt"])).success();
    assert!(output.contains("kodata docs: reached through a symlink"), "{output}");
}

#[test]
fn skopeo_and_umoci_read_the_image() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    build_ok(&workspace, &["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."]);
    let reference = format!("{HELLO_NAME}:latest");
    let inspect =
        run(command("skopeo").args(["inspect", "--config"]).arg(format!("oci:{}:{reference}", layout.display())))
            .success();
    let config: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(config["config"]["Entrypoint"], serde_json::json!(["/ko-app/hello"]));
    assert_eq!(config["author"], "github.com/ko-build/ko");
    let env = config["config"]["Env"].as_array().unwrap();
    assert!(env.contains(&serde_json::json!("KO_DATA_PATH=/var/run/ko")), "{env:?}");
    assert!(
        env.iter()
            .any(|entry| entry.as_str().unwrap().starts_with("PATH=") && entry.as_str().unwrap().ends_with(":/ko-app"))
    );
    assert_eq!(config["config"]["User"], "65532");
    let bundle = unpack(&layout, &reference);
    let rootfs = bundle.path().join("bundle/rootfs");
    for path in [
        "etc/passwd",
        "etc/group",
        "etc/ssl/certs/ca-certificates.crt",
        "usr/share/zoneinfo/America/New_York",
        "tmp",
        "var/run/ko/greeting.txt",
    ] {
        assert!(rootfs.join(path).exists(), "{path} missing from the image");
    }
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532:"), "{passwd}");
    let output = run_app(bundle.path(), "hello", &[]);
    assert!(output.contains("kodata says: hello there"), "{output}");
}

#[test]
fn printed_references_follow_ko() {
    let workspace = hello();
    let latest = build_ok(&workspace, &["build", "--push=false", "."]);
    assert!(latest.starts_with(&format!("{HELLO_NAME}:latest@sha256:")), "{latest}");
    let digest = digest_of(&latest);
    let tagged = build_ok(&workspace, &["build", "--push=false", "-t", "x", "."]);
    assert_eq!(tagged, format!("{HELLO_NAME}:x@{digest}"));
    let tag_only = build_ok(&workspace, &["build", "--push=false", "-t", "x", "--tag-only", "."]);
    assert_eq!(tag_only, format!("{HELLO_NAME}:x"));
    let mut command = workspace.rko(&["build", "--push=false", "example.com/hello"]);
    let stdout = run(command.env("KO_DOCKER_REPO", "registry.example/team")).success();
    assert_eq!(stdout.trim(), format!("registry.example/team/{HELLO_NAME}:latest@{digest}"));
    for (flag, name) in [
        ("-P", "registry.example/team/example.com/hello"),
        ("-B", "registry.example/team/hello"),
        ("--bare", "registry.example/team"),
    ] {
        let mut command = workspace.rko(&["build", "--push=false", flag, "ko://example.com/hello"]);
        let stdout = run(command.env("KO_DOCKER_REPO", "registry.example/team")).success();
        assert_eq!(stdout.trim(), format!("{name}:latest@{digest}"), "{flag}");
    }
}

#[test]
fn ldflags_templates_from_ko_yaml_reach_the_binary() {
    let workspace = hello();
    workspace.write(
        ".ko.yaml",
        "builds:\n- id: hello\n  main: .\n  ldflags:\n  - -X main.version={{.Env.APP_VERSION}}-{{ .Timestamp }}-{{.Date}}-{{.Env.LDFLAGS}}{{.GoEnv.GOOS}}\n",
    );
    let layout = workspace.path().join("layout");
    let mut build = workspace.rko(&["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."]);
    let run_result = run(build.env("APP_VERSION", "1.2.3").env("SOURCE_DATE_EPOCH", "1700000000"));
    run_result.success();
    let bundle = unpack(&layout, &format!("{HELLO_NAME}:latest"));
    let output = run_app(bundle.path(), "hello", &[]);
    assert!(output.contains("(version 1.2.3-1700000000-2023-11-14T22:13:20Z-linux, linux/amd64)"), "{output}");

    // --ldflags replaces the config's ldflags, like ko.
    let mut build = workspace.rko(&[
        "build",
        "--push=false",
        "--oci-layout-path",
        layout.to_str().unwrap(),
        "--ldflags",
        "-X main.version=from-flag",
        ".",
    ]);
    run(&mut build).success();
    let bundle = unpack(&layout, &format!("{HELLO_NAME}:latest"));
    assert!(run_app(bundle.path(), "hello", &[]).contains("(version from-flag,"));
}

#[test]
fn builds_are_reproducible_and_the_builtin_base_is_pinned() {
    let first = hello();
    let second = hello();
    let one = build_ok(&first, &["build", "--push=false", "."]);
    let two = build_ok(&second, &["build", "--push=false", "."]);
    assert_eq!(digest_of(&one), digest_of(&two), "two builds from fresh caches differ");
    let layout = first.path().join("layout");
    build_ok(&first, &["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."]);
    let image = layout_image(&layout, &digest_of(&one));
    assert_eq!(image.manifest["annotations"]["org.opencontainers.image.base.name"], "builtin");
    assert_eq!(image.manifest["annotations"]["org.opencontainers.image.base.digest"], BUILTIN_AMD64_DIGEST);
}

#[test]
fn golden_app_layers_equal_kos() {
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(crate::support::repository().join("tests/fixtures/golden/expected.json")).unwrap(),
    )
    .unwrap();
    for (variant, epochs) in [("default", None), ("epoch", Some(("1700000000", "1600000000")))] {
        let workspace = Workspace::copy_of("tests/fixtures/golden/app");
        let layout = workspace.path().join("layout");
        let mut build =
            workspace.rko(&["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "./cmd/hello"]);
        if let Some((source, kodata)) = epochs {
            build.env("SOURCE_DATE_EPOCH", source).env("KO_DATA_DATE_EPOCH", kodata);
        }
        let reference = run(&mut build).success();
        let image = layout_image(&layout, &digest_of(reference.trim()));
        let diff_ids = image.config["rootfs"]["diff_ids"].as_array().unwrap();
        let expected = &expected["variants"][variant];
        assert_eq!(diff_ids[diff_ids.len() - 2], expected["kodata_layer_diffid"], "{variant} kodata layer");
        assert_eq!(diff_ids[diff_ids.len() - 1], expected["binary_layer_diffid"], "{variant} binary layer");
        if epochs.is_some() {
            assert_eq!(image.config["created"], "2023-11-14T22:13:20Z");
            assert_eq!(image.config["history"][1]["created"], "2020-09-13T12:26:40Z");
        }
    }
}

#[test]
fn labels_annotations_and_user_reach_config_and_manifest() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let reference = build_ok(
        &workspace,
        &[
            "build",
            "--push=false",
            "--oci-layout-path",
            layout.to_str().unwrap(),
            "--image-label",
            "team=core,tier=web",
            "--image-annotation",
            "org.example/owner=ops",
            "--image-user",
            "1000:1000",
            ".",
        ],
    );
    let image = layout_image(&layout, &digest_of(&reference));
    assert_eq!(image.config["config"]["Labels"], serde_json::json!({"team": "core", "tier": "web"}));
    assert_eq!(image.config["config"]["User"], "1000:1000");
    assert_eq!(image.manifest["annotations"]["org.example/owner"], "ops");
}

#[test]
fn tarball_loads_into_podman_and_image_refs_are_recorded() {
    let workspace = hello();
    let tarball = workspace.path().join("image.tar");
    let refs = workspace.path().join("refs.txt");
    let reference = build_ok(
        &workspace,
        &[
            "build",
            "--push=false",
            "-t",
            "v1",
            "--tarball",
            tarball.to_str().unwrap(),
            "--image-refs",
            refs.to_str().unwrap(),
            ".",
        ],
    );
    assert!(reference.starts_with(&format!("{HELLO_NAME}:v1@sha256:")), "{reference}");
    assert_eq!(std::fs::read_to_string(&refs).unwrap(), format!("{reference}\n"));
    let loaded = run(command("podman").args(["load", "-i"]).arg(&tarball)).success();
    assert!(loaded.contains(&format!("{HELLO_NAME}:v1")), "{loaded}");
    let output = run(command("podman").args(["run", "--rm", &format!("localhost/{HELLO_NAME}:v1")])).success();
    assert!(output.contains("kodata says: hello there"), "{output}");
}

#[test]
fn scratch_base_and_config_discovery() {
    let workspace = Workspace::copy_of("tests/fixtures/golden/app");
    workspace.write("conf/.ko.yaml", "defaultBaseImage: scratch\ndefaultBaseImag: typo\n");
    let layout = workspace.path().join("layout");
    let mut build =
        workspace.rko(&["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "./cmd/hello"]);
    let result = run(build.env("KO_CONFIG_PATH", "conf"));
    let reference = result.success();
    assert!(result.stderr().contains("unknown key `defaultBaseImag`"), "{}", result.stderr());
    let image = layout_image(&layout, &digest_of(reference.trim()));
    assert_eq!(image.manifest["annotations"]["org.opencontainers.image.base.name"], "scratch");
    assert_eq!(image.config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert_eq!(image.config["config"]["Env"], serde_json::json!(["PATH=/ko-app", "KO_DATA_PATH=/var/run/ko"]));
    let output = run(command("podman")
        .args(["run", "--rm"])
        .arg(format!("oci:{}:hello-9014b3a6a78526e217493cbbb4789689:latest", layout.display())))
    .success();
    assert_eq!(output, "hello from kodata\n");
}

#[test]
fn builds_entries_select_directory_env_and_flags() {
    let workspace = Workspace::module("root", &[("main.go", "package main\nfunc main() {}\n")]);
    workspace.write("tool/go.mod", "module example.com/tool\n\ngo 1.22\n");
    workspace.write(
        "tool/cmd/tool/main.go",
        "package main\n\nimport \"fmt\"\n\nvar tag = \"none\"\n\nfunc main() { fmt.Println(\"tool\", tag) }\n",
    );
    workspace.write(".ko.yaml", "builds:\n- id: tool\n  dir: ./tool\n  main: ./cmd/tool\n  flags: -tags netgo\n  ldflags: -X main.tag={{.Env.TOOL_TAG}}\n  env: [TOOL_TAG=from-env]\n");
    let layout = workspace.path().join("layout");
    let reference = build_ok(
        &workspace,
        &["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "./tool/cmd/tool"],
    );
    let image = layout_image(&layout, &digest_of(&reference));
    assert_eq!(image.config["history"][2]["created_by"], "ko build ko://example.com/tool/cmd/tool");
    let bundle = unpack(&layout, "tool-a6c8807c4f39492dbf04ce9e4e6a6456:latest");
    assert_eq!(run_app(bundle.path(), "tool", &[]), "tool from-env\n");
}

#[test]
fn platform_comes_from_goos_and_goarch() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let mut build = workspace.rko(&["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."]);
    let reference = run(build.env("GOOS", "linux").env("GOARCH", "arm64")).success();
    let image = layout_image(&layout, &digest_of(reference.trim()));
    assert_eq!(image.config["architecture"], "arm64");
    assert_eq!(image.config["os"], "linux");
}

#[test]
fn bad_inputs_fail_with_one_clear_error() {
    let workspace = Workspace::module(
        "bad",
        &[
            ("cmd/ok/main.go", "package main\nfunc main() {}\n"),
            ("lib/lib.go", "package lib\n"),
            ("cmd/broken/main.go", "package main\nfunc main() { undefinedCall() }\n"),
            ("cmd/escape/main.go", "package main\nfunc main() {}\n"),
            ("secret.txt", "do not ship\n"),
            ("empty/README", "no Go here\n"),
            ("cmd/loop/main.go", "package main\nfunc main() {}\n"),
            ("cmd/loop/kodata/file.txt", "x\n"),
        ],
    );
    std::os::unix::fs::symlink(".", workspace.path().join("cmd/loop/kodata/self")).unwrap();
    std::os::unix::fs::symlink(workspace.path().join("secret.txt"), {
        std::fs::create_dir_all(workspace.path().join("cmd/escape/kodata")).unwrap();
        workspace.path().join("cmd/escape/kodata/leak.txt")
    })
    .unwrap();
    let no_push = "--push=false";
    rejects(&workspace, &["build", no_push, "./cmd/nope"], &[], &["`./cmd/nope` does not exist"]);
    rejects(&workspace, &["build", no_push, "example.com/bad/nope"], &[], &["does not exist"]);
    rejects(&workspace, &["build", no_push, "./lib"], &[], &["`./lib` is `package lib`, not `package main`"]);
    // What `go list` cannot place is explained in terms of the path, never Go template internals.
    let repository = [("KO_DOCKER_REPO", "127.0.0.1:1/unused")];
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--push", "false", "./cmd/ok"], &["`false` is not a Go package", "standard library", "`--flag=false`"]),
        (&[no_push, "example.com/bda/cmd/ok"], &["not in the main module `example.com/bad`", "check the import path"]),
        (&[no_push, "cmd/ok"], &["`cmd/ok` is not a Go package", "did you mean `./cmd/ok`?"]),
        (&[no_push, "fmt"], &["`fmt` is `package fmt`, not `package main`"]),
        (&[no_push, "./empty"], &["`./empty` has no Go source files", "pass the directory of a `package main`"]),
        (&[no_push, "./cmd/loop"], &["kodata symlink `", "cmd/loop/kodata/self` loops"]),
    ];
    for (arguments, expected) in cases {
        let arguments: Vec<&str> = ["build"].iter().chain(arguments).copied().collect();
        let error = rejects(&workspace, &arguments, &repository, expected);
        assert!(!error.contains("template") && error.lines().count() == 1, "{error}");
    }
    rejects(
        &workspace,
        &["build", no_push, "./cmd/broken"],
        &[],
        &["`go build` failed for `example.com/bad/cmd/broken`", "undefined: undefinedCall"],
    );
    rejects(
        &workspace,
        &["build", no_push, "-t", "a", "-t", "b", "--tag-only", "./cmd/ok"],
        &[],
        &["--tag-only needs exactly one tag"],
    );
    rejects(
        &workspace,
        &["build", no_push, "./cmd/escape"],
        &[],
        &["kodata symlink", "leak.txt", "points outside", "KO_DATA_PATH_ALLOWED_ROOT"],
    );
    rejects(
        &workspace,
        &["build", no_push, "--tarball", "/nonexistent-dir/x.tar", "./cmd/ok"],
        &[],
        &["/nonexistent-dir"],
    );
    rejects(
        &workspace,
        &["build", no_push, "--oci-layout-path", "/proc/version/layout", "./cmd/ok"],
        &[],
        &["/proc/version/layout"],
    );
    rejects(&workspace, &["build", "./cmd/ok"], &[], &["KO_DOCKER_REPO is unset", "--push=false"]);
    rejects(
        &workspace,
        &["build", no_push, "--platform", "linux/amd64,all", "./cmd/ok"],
        &[],
        &["`all` cannot be combined"],
    );
    rejects(
        &workspace,
        &["build", no_push, "--platform", "linux/amd65", "./cmd/ok"],
        &[],
        &["unknown platform `linux/amd65`"],
    );
    rejects(
        &workspace,
        &["build", no_push, "./cmd/ok"],
        &[("KO_DEFAULTPLATFORMS", "linux/arm64"), ("GOOS", "linux")],
        &["GOOS"],
    );
    rejects(
        &workspace,
        &["build", no_push, "./cmd/ok"],
        &[("SOURCE_DATE_EPOCH", "yesterday")],
        &["SOURCE_DATE_EPOCH=`yesterday`"],
    );
    rejects(
        &workspace,
        &["build", no_push, "./cmd/ok"],
        &[("GOFLAGS", "-toolexec=/bin/true")],
        &["GOFLAGS sets `-toolexec=/bin/true`"],
    );
    rejects(
        &workspace,
        &["build", no_push, "./cmd/ok"],
        &[("KO_CONFIG_PATH", "missing.yaml")],
        &["KO_CONFIG_PATH", "missing.yaml", "does not exist"],
    );

    let cases: [(&str, &[&str]); 5] = [
        ("builds:\n- main: ./cmd/ok\n  flags: [-toolexec, /bin/true]\n", &["`-toolexec` is not allowed"]),
        ("defaultBaseImage: builtin\nbuilds:\n  main: x\n", &[".ko.yaml`:3:3:", "builds"]),
        ("defaultPlatforms: {linux: amd64}\n", &[".ko.yaml`:1:19:", "a string or a list of strings"]),
        (
            "builds:\n- main: ./cmd/ok\n  ldflags: [\"-X main.v={{.Env.NOPE_NOT_SET}}\"]\n",
            &["unknown key `.Env.NOPE_NOT_SET`", "builds[0]"],
        ),
        ("builds:\n- main: ./cmd/ok\n  ldflags: [\"-X main.v={{.Env.X\"]\n", &["template `-X main.v={{.Env.X`"]),
    ];
    for (config, expected) in cases {
        workspace.write(".ko.yaml", config);
        rejects(&workspace, &["build", no_push, "./cmd/ok"], &[], expected);
    }
    std::fs::remove_file(workspace.path().join(".ko.yaml")).unwrap();
    std::fs::create_dir(workspace.path().join(".ko.yaml")).unwrap();
    rejects(&workspace, &["build", no_push, "./cmd/ok"], &[], &["is a directory"]);
}

#[test]
fn standard_library_commands_build_like_kos() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let reference =
        build_ok(&workspace, &["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "cmd/gofmt"]);
    let image = layout_image(&layout, &digest_of(&reference));
    assert_eq!(image.config["config"]["Entrypoint"], serde_json::json!(["/ko-app/gofmt"]));
}

#[test]
fn version_and_completion() {
    let workspace = hello();
    let version = run(&mut workspace.rko(&["version"])).success();
    assert_eq!(version.trim(), concat!("v", env!("CARGO_PKG_VERSION")), "`v`-prefixed, as ko prints `v0.19.1`");
    let completion = run(&mut workspace.rko(&["completion", "bash"])).success();
    assert!(completion.contains("_rko()"), "{completion}");
}
