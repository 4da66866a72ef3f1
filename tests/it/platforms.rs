//! Multi-platform builds and many programs at once: indexes in the base's order, `all` with
//! `unknown/unknown` entries skipped, GOARM/GOAMD64 from variants, arm64 binaries run under
//! qemu, builds overlapping in time with output in argument order, `./...`, Windows layers, and
//! every index output shape read back by skopeo, umoci, podman and crane.

use std::path::Path;

use crate::support::{
    HELLO_NAME, Workspace, build_json, command, crane, crane_index, digest_of, hello, layout_blob, layout_image, peers,
    rejects, run, tempdir, unique,
};

/// Unpack a gzip layer blob of an OCI layout into `destination`.
fn extract_layer(layout: &Path, digest: &str, destination: &Path) {
    let blob = layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    std::fs::create_dir_all(destination).unwrap();
    run(command("tar").arg("-xzf").arg(&blob).arg("-C").arg(destination)).success();
}

/// The platforms of an index, as `os/arch[/variant]`.
fn platforms_of(index: &serde_json::Value) -> Vec<String> {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|descriptor| {
            let platform = &descriptor["platform"];
            let mut text =
                format!("{}/{}", platform["os"].as_str().unwrap(), platform["architecture"].as_str().unwrap());
            if let Some(variant) = platform["variant"].as_str() {
                text = format!("{text}/{variant}");
            }
            text
        })
        .collect()
}

#[test]
fn two_platforms_pushed_as_an_index_run_on_both() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("multi"));
    let workspace = hello();
    let report =
        build_json(&workspace, &["--platform=linux/amd64,linux/arm64", "."], &[("KO_DOCKER_REPO", &repository)]);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let index: serde_json::Value = serde_json::from_str(&crane(&["manifest", reference])).unwrap();
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(platforms_of(&index), ["linux/amd64", "linux/arm64"]);
    assert_eq!(report["images"][0]["platforms"].as_array().unwrap().len(), 2);

    let arm64 = index["manifests"][1]["digest"].as_str().unwrap();
    let filesystem = tempdir();
    let exported = filesystem.path().join("fs.tar");
    run(command("crane").args(["export", &format!("{repository}/{HELLO_NAME}@{arm64}")]).arg(&exported)).success();
    run(command("tar").arg("-xf").arg(&exported).arg("-C").arg(filesystem.path())).success();
    let binary = filesystem.path().join("ko-app/hello");
    let header = std::fs::read(&binary).unwrap();
    assert_eq!(
        (&header[..4], u16::from_le_bytes([header[18], header[19]])),
        (&b"\x7fELF"[..], 0xB7),
        "not an aarch64 ELF"
    );
    let output =
        run(command("qemu-aarch64-static").arg(&binary).env("KO_DATA_PATH", filesystem.path().join("var/run/ko")))
            .success();
    assert!(output.contains("linux/arm64") && output.contains("kodata says"), "{output}");

    let output =
        run(command("podman").args(["run", "--rm", "--pull=always", "--platform", "linux/amd64", reference])).success();
    assert!(output.contains("(version dev, linux/amd64)"), "{output}");
}

#[test]
fn all_builds_every_real_platform_of_the_base_in_order() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let base = crane_index(registry, &["linux/arm64", "unknown/unknown", "linux/amd64", "linux/arm/v7"], false);
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let report = build_json(
        &workspace,
        &["--push=false", "--platform=all", "--oci-layout-path", layout.to_str().unwrap(), "."],
        &[("KO_DEFAULTBASEIMAGE", &base)],
    );
    let digest = digest_of(report["images"][0]["reference"].as_str().unwrap());
    let index: serde_json::Value = serde_json::from_slice(&layout_blob(&layout, &digest)).unwrap();
    assert_eq!(platforms_of(&index), ["linux/arm64", "linux/amd64", "linux/arm/v7"]);
    assert_eq!(index["annotations"]["org.opencontainers.image.base.digest"], crane(&["digest", &base]));

    // A Docker manifest list base gives a Docker manifest list of Docker images.
    let docker_base = crane_index(registry, &["linux/amd64", "linux/arm64"], true);
    let docker_report = build_json(
        &workspace,
        &["--push=false", "--platform=all", "--oci-layout-path", layout.to_str().unwrap(), "."],
        &[("KO_DEFAULTBASEIMAGE", &docker_base)],
    );
    let digest = digest_of(docker_report["images"][0]["reference"].as_str().unwrap());
    let index: serde_json::Value = serde_json::from_slice(&layout_blob(&layout, &digest)).unwrap();
    assert_eq!(index["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json");
    let child = layout_image(&layout, index["manifests"][0]["digest"].as_str().unwrap());
    assert_eq!(child.manifest["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    let layers = child.manifest["layers"].as_array().unwrap();
    assert!(layers.iter().all(|l| l["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"), "{layers:?}");

    // Docker images have no zstd layer type.
    let mut zstd = workspace.rko(&["build", "--push=false", "--compression=zstd", "."]);
    let error = run(zstd.env("KO_DEFAULTBASEIMAGE", &docker_base)).failure();
    assert!(error.contains("has no zstd layer type; use an OCI base or --compression=gzip"), "{error}");
    assert_eq!(error.lines().filter(|line| line.starts_with("error")).count(), 1, "{error}");
}

#[test]
fn variants_set_goarm_and_goamd64() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let report = build_json(
        &workspace,
        &["--push=false", "--platform=linux/arm/v7,linux/amd64/v3", "--oci-layout-path", layout.to_str().unwrap(), "."],
        &[("KO_DEFAULTBASEIMAGE", "scratch")],
    );
    let digest = digest_of(report["images"][0]["reference"].as_str().unwrap());
    let index: serde_json::Value = serde_json::from_slice(&layout_blob(&layout, &digest)).unwrap();
    assert_eq!(
        platforms_of(&index),
        ["linux/arm/v7", "linux/amd64/v3"],
        "scratch provides the requested platforms, in order"
    );
    for (child, setting) in [(0, "GOARM=7"), (1, "GOAMD64=v3")] {
        let image = layout_image(&layout, index["manifests"][child]["digest"].as_str().unwrap());
        let binary_layer =
            image.manifest["layers"].as_array().unwrap().last().unwrap()["digest"].as_str().unwrap().to_owned();
        let directory = tempdir();
        extract_layer(&layout, &binary_layer, directory.path());
        let info = run(command("go").args(["version", "-m"]).arg(directory.path().join("ko-app/hello"))).success();
        assert!(info.contains(&format!("build\t{setting}")), "{setting} missing:\n{info}");
    }
}

#[test]
fn programs_and_platforms_build_at_once_and_print_in_argument_order() {
    let program = |name: &str| format!("package main\n\nimport \"fmt\"\n\nfunc main() {{ fmt.Println(\"{name}\") }}\n");
    let workspace = Workspace::module(
        "several",
        &[
            ("cmd/alpha/main.go", &program("alpha")),
            ("cmd/beta/main.go", &program("beta")),
            ("lib/lib.go", "package lib\n"),
        ],
    );
    let report = build_json(
        &workspace,
        &["--push=false", "-j", "4", "--platform=linux/amd64,linux/arm64", "./cmd/beta", "./cmd/alpha"],
        &[],
    );
    let images = report["images"].as_array().unwrap();
    let order: Vec<&str> = images.iter().map(|image| image["import_path"].as_str().unwrap()).collect();
    assert_eq!(order, ["example.com/several/cmd/beta", "example.com/several/cmd/alpha"]);
    let builds: Vec<(f64, f64)> = images
        .iter()
        .flat_map(|image| image["platforms"].as_array().unwrap().iter())
        .map(|p| (p["build_started"].as_f64().unwrap(), p["build_finished"].as_f64().unwrap()))
        .collect();
    assert_eq!(builds.len(), 4);
    let latest_start = builds.iter().map(|b| b.0).fold(f64::MIN, f64::max);
    let earliest_finish = builds.iter().map(|b| b.1).fold(f64::MAX, f64::min);
    assert!(latest_start < earliest_finish, "the four builds did not overlap: {builds:?}");

    let stdout = run(&mut workspace.rko(&["build", "--push=false", "./..."])).success();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("alpha-") && lines[1].starts_with("beta-"), "{stdout}");
    let error = run(&mut workspace.rko(&["build", "--push=false", "./lib/..."])).failure();
    assert!(error.contains("`./lib/...` matches no `package main`"), "{error}");
}

#[test]
fn index_layouts_and_archives_load_everywhere() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let archive = workspace.path().join("image.oci.tar");
    let tarball = workspace.path().join("image.docker.tar");
    let result = run(&mut workspace.rko(&[
        "build",
        "--push=false",
        "--platform=linux/amd64,linux/arm64",
        "--oci-layout-path",
        layout.to_str().unwrap(),
        "--oci-archive",
        archive.to_str().unwrap(),
        "--tarball",
        tarball.to_str().unwrap(),
        ".",
    ]));
    result.success();
    assert!(
        result.stderr().contains("note: --tarball: `docker load` (classic store) gets the linux/amd64 image"),
        "{}",
        result.stderr()
    );
    let reference = format!("{HELLO_NAME}:latest");
    for source in [
        format!("oci:{}:{reference}", layout.display()),
        format!("oci-archive:{}:{reference}", archive.display()),
        format!("oci-archive:{}:{reference}", tarball.display()),
    ] {
        let copy = tempdir();
        run(command("skopeo").args(["copy", "--all", &source]).arg(format!("oci:{}:copy", copy.path().display())))
            .success();
        let index: serde_json::Value = serde_json::from_str(
            &run(command("skopeo").args(["inspect", "--raw"]).arg(format!("oci:{}:copy", copy.path().display())))
                .success(),
        )
        .unwrap();
        assert_eq!(platforms_of(&index), ["linux/amd64", "linux/arm64"], "{source}");
        // umoci cannot choose a platform from an index: let skopeo pick each, then unpack it.
        for (architecture, machine) in [("amd64", 0x3Eu16), ("arm64", 0xB7)] {
            let single = tempdir();
            run(command("skopeo")
                .args(["copy", "--override-arch", architecture, &source])
                .arg(format!("oci:{}:one", single.path().display())))
            .success();
            let bundle = tempdir();
            let target = bundle.path().join("bundle");
            run(command("umoci")
                .args(["unpack", "--rootless", "--image"])
                .arg(format!("{}:one", single.path().display()))
                .arg(&target))
            .success();
            let binary = std::fs::read(target.join("rootfs/ko-app/hello")).unwrap();
            assert_eq!(u16::from_le_bytes([binary[18], binary[19]]), machine, "{source} {architecture}");
        }
    }
    let listed = run(command("umoci").args(["ls", "--layout"]).arg(&layout)).success();
    assert_eq!(listed.trim(), reference, "umoci lists the layout's reference");
    let loaded = run(command("podman").args(["load", "-i"]).arg(&tarball)).success();
    assert!(loaded.contains(&reference), "{loaded}");
    let output = run(command("podman").args(["run", "--rm", &format!("localhost/{reference}")])).success();
    assert!(output.contains("linux/amd64"), "{output}");

    // --local loads the daemon's own platform from an index.
    let docker_host = peers().get("RKO_TEST_DOCKER_HOST");
    let mut local = workspace.rko(&["build", "--local", "-t", "multi", "--platform=linux/arm64,linux/amd64", "."]);
    run(local.env("DOCKER_HOST", docker_host)).success();
    let mut docker = command("docker");
    docker.args(["run", "--rm", &format!("ko.local/{HELLO_NAME}:multi")]).env("DOCKER_HOST", docker_host);
    assert!(run(&mut docker).success().contains("linux/amd64"));
}

#[test]
fn windows_images_use_kos_layout() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let base = crane_index(registry, &["windows/amd64:10.0.20348.2227"], false);
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let report = build_json(
        &workspace,
        &["--push=false", "--platform=windows/amd64:10.0.20348", "--oci-layout-path", layout.to_str().unwrap(), "."],
        &[("KO_DEFAULTBASEIMAGE", &base)],
    );
    let image = layout_image(&layout, &digest_of(report["images"][0]["reference"].as_str().unwrap()));
    assert_eq!(image.config["os"], "windows");
    assert_eq!(image.config["os.version"], "10.0.20348.2227");
    assert_eq!(image.config["config"]["Entrypoint"], serde_json::json!(["C:\\ko-app\\hello"]));
    let env = image.config["config"]["Env"].as_array().unwrap();
    assert!(
        env.contains(&serde_json::json!("PATH=C:\\ko-app"))
            && env.contains(&serde_json::json!("KO_DATA_PATH=C:\\var\\run\\ko")),
        "{env:?}"
    );
    let layers = image.manifest["layers"].as_array().unwrap();
    let binary_layer = layers.last().unwrap()["digest"].as_str().unwrap();
    let listing = run(command("tar")
        .arg("-tzvf")
        .arg(layout.join("blobs/sha256").join(binary_layer.trim_start_matches("sha256:"))))
    .success();
    let names: Vec<&str> = listing.lines().map(|line| line.rsplit(' ').next().unwrap()).collect();
    assert_eq!(names, ["Hives", "Files", "Files/ko-app", "Files/ko-app/hello"], "{listing}");
    let directory = tempdir();
    extract_layer(&layout, binary_layer, directory.path());
    assert_eq!(&std::fs::read(directory.path().join("Files/ko-app/hello")).unwrap()[..2], b"MZ", "not a PE binary");
    let kodata_layer = layers[layers.len() - 2]["digest"].as_str().unwrap();
    let listing = run(command("tar")
        .arg("-tzf")
        .arg(layout.join("blobs/sha256").join(kodata_layer.trim_start_matches("sha256:"))))
    .success();
    assert!(
        listing.contains("Files/var/run/ko/greeting.txt") && !listing.contains("alias.txt"),
        "symlinks are skipped for windows: {listing}"
    );
}

#[test]
fn platform_bad_inputs() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();
    let base = crane_index(registry, &["linux/amd64", "linux/arm64"], false);
    let mut lacking = workspace.rko(&["build", "--push=false", "--platform=linux/s390x", "."]);
    let error = run(lacking.env("KO_DEFAULTBASEIMAGE", &base)).failure();
    assert!(
        error.contains("has no image for `linux/s390x`") && error.contains("(it has: linux/amd64, linux/arm64)"),
        "{error}"
    );
    let error = run(&mut workspace.rko(&["build", "--push=false", "--platform=windows/amd64", "."])).failure();
    assert!(error.contains("built-in base image is for Linux"), "{error}");
    let error =
        run(&mut workspace.rko(&["build", "--push=false", "--platform=linux/amd64,plan9/sparc", "."])).failure();
    assert!(error.contains("unknown platform `plan9/sparc`"), "{error}");
    let error = run(&mut workspace.rko(&["build", "--push=false", "--platform=all,linux/amd64", "."])).failure();
    assert!(error.contains("`all` cannot be combined"), "{error}");

    let inner = crane_index(registry, &["linux/amd64"], false);
    let outer = format!("{registry}/{}:nested", unique("nested"));
    crane(&["index", "append", "--flatten=false", "-m", &inner, "-t", &outer]);
    let mut nested = workspace.rko(&["build", "--push=false", "."]);
    let error = run(nested.env("KO_DEFAULTBASEIMAGE", &outer)).failure();
    assert!(error.contains("nests an index"), "{error}");
}

/// The ELF machine (`e_machine`) of a binary, or `PE` for a Windows one.
fn binary_kind(binary: &[u8]) -> String {
    match binary {
        [0x7f, b'E', b'L', b'F', _, data, ..] if binary.len() > 20 => {
            let machine = [binary[18], binary[19]];
            let machine = if *data == 2 { u16::from_be_bytes(machine) } else { u16::from_le_bytes(machine) };
            format!("ELF {machine:#x}")
        }
        [b'M', b'Z', ..] => "PE".into(),
        _ => "unknown".into(),
    }
}

/// Build `examples/hello` into a layout with `env` and extra `arguments`; return the image
/// config's `os/arch[/variant]`, the binary's kind, its `go version -m` output, and stderr.
fn built_platform(arguments: &[&str], env: &[(&str, &str)]) -> (String, String, String, String) {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let mut build = workspace.rko(&["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap()]);
    build.args(arguments).arg(".");
    for (key, value) in env {
        build.env(key, value);
    }
    let result = run(&mut build);
    let image = layout_image(&layout, &digest_of(result.success().trim()));
    let mut platform =
        format!("{}/{}", image.config["os"].as_str().unwrap(), image.config["architecture"].as_str().unwrap());
    if let Some(variant) = image.config["variant"].as_str() {
        platform = format!("{platform}/{variant}");
    }
    let binary_layer = image.manifest["layers"].as_array().unwrap().last().unwrap()["digest"].as_str().unwrap();
    let directory = tempdir();
    extract_layer(&layout, binary_layer, directory.path());
    let path =
        ["ko-app/hello", "Files/ko-app/hello"].iter().map(|path| directory.path().join(path)).find(|p| p.exists());
    let path = path.expect("the binary is in its layer");
    let info = run(command("go").args(["version", "-m"]).arg(&path)).success();
    (platform, binary_kind(&std::fs::read(&path).unwrap()), info, result.stderr())
}

#[test]
fn the_image_platform_and_the_binary_always_agree() {
    let scratch = ("KO_DEFAULTBASEIMAGE", "scratch");
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);
    let cases: [Case; 8] = [
        (&[("GOARCH", "arm64")], "linux/arm64", "ELF 0xb7", "GOARCH=arm64"),
        (&[("GOOS", "linux"), ("GOARCH", "arm64"), ("GOARM", "7")], "linux/arm64", "ELF 0xb7", "GOARCH=arm64"),
        (&[("GOARCH", "arm"), ("GOARM", "6")], "linux/arm/v6", "ELF 0x28", "GOARM=6"),
        (&[("GOARCH", "arm")], "linux/arm", "ELF 0x28", "GOARM=7"),
        (&[("GOAMD64", "v3")], "linux/amd64/v3", "ELF 0x3e", "GOAMD64=v3"),
        (&[("GOOS", "windows"), scratch], "windows/amd64", "PE", "GOOS=windows"),
        (&[("KO_DEFAULTPLATFORMS", "linux/arm64")], "linux/arm64", "ELF 0xb7", "GOARCH=arm64"),
        (&[("GOARCH", "s390x"), scratch], "linux/s390x", "ELF 0x16", "GOARCH=s390x"),
    ];
    for (env, platform, kind, setting) in cases {
        let (built, binary, info, stderr) = built_platform(&[], env);
        assert_eq!((built.as_str(), binary.as_str()), (platform, kind), "{env:?}: {stderr}");
        assert!(info.contains(&format!("build\t{setting}\n")), "{env:?}: {setting} missing:\n{info}");
        assert!(!stderr.contains("warning"), "{env:?}: {stderr}");
    }

    // `--platform` wins over the environment, and says so.
    let env = [("GOOS", "windows"), ("GOARCH", "arm64"), ("GOAMD64", "v3")];
    let (built, binary, info, stderr) = built_platform(&["--platform=linux/amd64"], &env);
    assert_eq!((built.as_str(), binary.as_str()), ("linux/amd64", "ELF 0x3e"), "{stderr}");
    assert!(info.contains("build\tGOAMD64=v1\n"), "{info}");
    let warnings: Vec<&str> = stderr.lines().filter(|line| line.starts_with("warning:")).collect();
    assert_eq!(
        warnings,
        [
            "warning: ignoring GOOS=`windows`, GOARCH=`arm64`, GOAMD64=`v3` from the environment: --platform chooses what `go build` targets"
        ]
    );
    let (built, _, _, stderr) = built_platform(&["--platform=linux/arm64"], &[("GOOS", "linux"), ("GOARCH", "arm64")]);
    assert_eq!(built, "linux/arm64");
    assert!(!stderr.contains("warning"), "agreeing variables are not worth a warning: {stderr}");
}

#[test]
fn build_env_cannot_choose_another_platform() {
    let workspace = hello();
    let no_push = "--push=false";
    let cases = [
        (
            "builds:\n- id: app\n  main: .\n  env: [GOARCH=arm64]\n",
            "builds[0] (id `app`) env sets `GOARCH=arm64`, but this build is for `linux/amd64`",
        ),
        ("defaultEnv: [GOOS=windows]\n", "`defaultEnv` sets `GOOS=windows`, but this build is for `linux/amd64`"),
        (
            "defaultPlatforms: [linux/arm/v7]\ndefaultEnv: [GOARM=6]\n",
            "`defaultEnv` sets `GOARM=6`, but this build is for `linux/arm/v7`",
        ),
    ];
    for (config, expected) in cases {
        workspace.write(".ko.yaml", config);
        let error = rejects(&workspace, &["build", no_push, "."], &[], &[expected, "--platform"]);
        assert_eq!(error.lines().count(), 1, "{error}");
    }
    // Settings that agree with the platform are fine.
    workspace.write(".ko.yaml", "defaultPlatforms: [linux/arm64]\ndefaultEnv: [GOOS=linux, GOARCH=arm64]\n");
    run(&mut workspace.rko(&["build", no_push, "."])).success();
    // As in ko, a platform list from the defaults cannot be combined with GOOS/GOARCH/GOARM.
    std::fs::remove_file(workspace.path().join(".ko.yaml")).unwrap();
    rejects(
        &workspace,
        &["build", no_push, "."],
        &[("KO_DEFAULTPLATFORMS", "linux/arm64"), ("GOARCH", "amd64")],
        &["KO_DEFAULTPLATFORMS or defaultPlatforms", "GOARCH=`amd64`"],
    );
    rejects(&workspace, &["build", no_push, "."], &[("GOARCH", "arm"), ("GOARM", "8")], &["GOARM=`8`", "5, 6 or 7"]);
    rejects(&workspace, &["build", no_push, "."], &[("GOAMD64", "v9")], &["GOAMD64=`v9`"]);
    rejects(&workspace, &["build", no_push, "."], &[("GOOS", "windows")], &["built-in base image is for Linux"]);
}
