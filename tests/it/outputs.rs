//! What a run says it did, and the outputs a ko user's scripts read: the report survives a
//! failed import path, status lines claim only what happened, partial files are not left
//! behind, and an OCI layout or archive holds one top-level entry per image (so `oci:DIR`
//! works with skopeo, umoci and podman, as with ko's layouts).

use crate::support::{
    HELLO_NAME, Workspace, command, crane, digest_of, hello, layout_blob, peers, rejects, run, tempdir, unique,
};

/// A module with two good programs and one that does not compile.
fn three_programs() -> Workspace {
    let main = |word: &str| format!("package main\n\nimport \"fmt\"\n\nfunc main() {{ fmt.Println(\"{word}\") }}\n");
    Workspace::module(
        "three",
        &[
            ("cmd/one/main.go", &main("one")),
            ("cmd/two/main.go", &main("two")),
            ("cmd/broken/main.go", "package main\n\nfunc main() { undefined() }\n"),
        ],
    )
}

#[test]
fn the_report_lists_what_was_built_when_one_import_path_fails() {
    let workspace = three_programs();
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("three"));
    let report_file = workspace.path().join("report.json");
    let refs_file = workspace.path().join("refs.txt");
    let mut build = workspace.rko(&[
        "build",
        "--json",
        "--report",
        report_file.to_str().unwrap(),
        "--image-refs",
        refs_file.to_str().unwrap(),
        "./cmd/one",
        "./cmd/broken",
        "./cmd/two",
    ]);
    let result = run(build.env("KO_DOCKER_REPO", &repository));
    assert!(!result.output.status.success(), "a failed import path must fail the run:\n{}", result.stderr());
    let stderr = result.stderr();
    assert!(stderr.contains("error: ") && stderr.contains("undefined"), "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&result.stdout()).expect("--json prints the report");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    for report in [&printed, &written] {
        assert_eq!(report["schema_version"], 1);
        assert_eq!(report["rko_version"], env!("CARGO_PKG_VERSION"));
        let images = report["images"].as_array().unwrap();
        let paths: Vec<_> = images.iter().map(|image| image["import_path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["example.com/three/cmd/one", "example.com/three/cmd/two"], "argument order");
        for image in images {
            assert_eq!(image["action"], "published");
            // They really are in the registry, by digest and by tag.
            let reference = image["reference"].as_str().unwrap();
            crane(&["validate", "--remote", reference]);
            assert_eq!(crane(&["digest", &format!("{}:latest", image["name"].as_str().unwrap())]), image["digest"]);
        }
        let failures = report["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0]["import_path"], "example.com/three/cmd/broken");
        assert_eq!(failures[0]["stage"], "build");
        assert!(failures[0]["error"].as_str().unwrap().contains("undefined"), "{failures:?}");
    }
    let references: Vec<String> =
        printed["images"].as_array().unwrap().iter().map(|i| i["reference"].as_str().unwrap().to_owned()).collect();
    assert_eq!(std::fs::read_to_string(&refs_file).unwrap(), format!("{}\n", references.join("\n")));

    // Without --json: nothing on stdout (no partial list to pipe on), the same error.
    let mut plain = workspace.rko(&["build", "./cmd/one", "./cmd/broken"]);
    let error = run(plain.env("KO_DOCKER_REPO", &repository)).failure();
    assert!(error.contains("undefined"), "{error}");
}

#[test]
fn status_lines_claim_only_what_happened() {
    let workspace = hello();
    // --push=false: built, not published.
    let result = run(&mut workspace.rko(&["build", "--push=false", "."]));
    result.success();
    let stderr = result.stderr();
    assert!(stderr.contains("       Built ") && !stderr.contains("Published"), "{stderr}");

    // A tarball is announced once written, after the image line.
    let tarball = workspace.path().join("image.tar");
    let result = run(&mut workspace.rko(&["build", "--push=false", "--tarball", tarball.to_str().unwrap(), "."]));
    result.success();
    let stderr = result.stderr();
    let wrote = format!("       Wrote {}", tarball.display());
    assert!(stderr.contains(&wrote) && !stderr.contains("Published"), "{stderr}");
    assert!(stderr.find("       Built ").unwrap() < stderr.find(&wrote).unwrap(), "{stderr}");

    // A tarball that cannot be written: one error, no claim, no file.
    let missing = workspace.path().join("no/such/dir/image.tar");
    let error = rejects(
        &workspace,
        &["build", "--push=false", "--tarball", missing.to_str().unwrap(), "."],
        &[],
        &["cannot write", "no/such/dir"],
    );
    assert!(!error.contains("Wrote"), "{error}");
    assert!(!missing.exists());

    // An OCI layout is written by the time its line is printed.
    let layout = workspace.path().join("layout");
    let result =
        run(&mut workspace.rko(&["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."]));
    result.success();
    assert!(result.stderr().contains(&format!("       Wrote {}@sha256:", layout.display())), "{}", result.stderr());
}

#[test]
fn a_full_sbom_directory_is_named_and_leaves_no_partial_file() {
    let workspace = hello();
    let directory = workspace.path().join("sboms");
    std::fs::create_dir(&directory).unwrap();
    run(command("mount").args(["-t", "tmpfs", "-o", "size=4k", "tmpfs"]).arg(&directory)).success();
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&directory);
    std::fs::write(directory.join("filler"), vec![b'x'; 4096]).unwrap_or_default();
    let error = rejects(
        &workspace,
        &["build", "--push=false", "--sbom-dir", directory.to_str().unwrap(), "."],
        &[],
        &["--sbom-dir", directory.to_str().unwrap()],
    );
    assert!(!error.contains("cache directory"), "{error}");
    let left: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "filler")
        .collect();
    assert!(left.is_empty(), "partial SBOM files left: {left:?}");
}

#[test]
fn layouts_and_archives_have_one_entry_that_oci_tools_read_unnamed() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let reference = crate::support::build_ok(
        &workspace,
        &["build", "--push=false", "--sbom=spdx,cyclonedx", "--oci-layout-path", layout.to_str().unwrap(), "."],
    );
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index}");
    assert_eq!(manifests[0]["digest"], digest_of(&reference));
    // The SBOM referrers are in the layout's blobs all the same.
    let blobs = std::fs::read_dir(layout.join("blobs/sha256")).unwrap().count();
    assert!(blobs >= 6, "{blobs} blobs");

    let unnamed = format!("oci:{}", layout.display());
    let inspected: serde_json::Value =
        serde_json::from_str(&run(command("skopeo").args(["inspect", &unnamed])).success()).unwrap();
    assert_eq!(inspected["Digest"], digest_of(&reference));
    let copy = tempdir();
    run(command("skopeo").args(["copy", "--all", &unnamed]).arg(format!("oci:{}", copy.path().display()))).success();
    // umoci needs a tag (as with ko's layouts, which have none); the one entry carries the name.
    let bundle = tempdir();
    run(command("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:{HELLO_NAME}:latest", layout.display()))
        .arg(bundle.path().join("b")))
    .success();
    let output = run(command("podman").args(["run", "--rm", &unnamed])).success();
    assert!(output.contains("kodata says: hello there"), "{output}");

    // A two-platform OCI archive: one index entry, and skopeo copies every platform from it.
    let archive = workspace.path().join("image.tar");
    crate::support::build_ok(
        &workspace,
        &[
            "build",
            "--push=false",
            "--platform=linux/amd64,linux/arm64",
            "--oci-archive",
            archive.to_str().unwrap(),
            ".",
        ],
    );
    let copied = tempdir();
    run(command("skopeo")
        .args(["copy", "--all"])
        .arg(format!("oci-archive:{}", archive.display()))
        .arg(format!("oci:{}", copied.path().display())))
    .success();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copied.path().join("index.json")).unwrap()).unwrap();
    let top = index["manifests"][0]["digest"].as_str().unwrap();
    let platforms: serde_json::Value = serde_json::from_slice(&layout_blob(copied.path(), top)).unwrap();
    assert_eq!(platforms["manifests"].as_array().unwrap().len(), 2);

    // --oci-referrers lists the referrers too, for referrer-aware tools.
    let listed = workspace.path().join("listed");
    crate::support::build_ok(
        &workspace,
        &["build", "--push=false", "--oci-referrers", "--oci-layout-path", listed.to_str().unwrap(), "."],
    );
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(listed.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    let named = format!("oci:{}:{HELLO_NAME}:latest", listed.display());
    run(command("skopeo").args(["inspect", &named])).success();
}
