//! SBOMs: SPDX 2.3 and CycloneDX 1.6 for every image and index, checked by the SPDX tools and
//! the CycloneDX JSON schemas, listing a real (replaced) dependency; attached as OCI 1.1
//! referrers that `oras discover` finds through the referrers API or the tag fallback, and as
//! cosign's legacy `.sbom` tag that `cosign download sbom` reads; deterministic bytes; and the
//! bad inputs (unknown `--sbom`, a binary without build information).

use std::path::Path;

use crate::support::{Workspace, build_json, command, crane, digest_of, peers, run, tempdir, unique};

/// An app whose one dependency, `example.com/dep` v1.2.3, is a local module pulled in with
/// `replace`.
fn with_dependency() -> Workspace {
    let workspace = Workspace::module(
        "withdep",
        &[
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/dep\"\n)\n\nfunc main() { fmt.Println(dep.Greeting()) }\n",
            ),
            ("dep/go.mod", "module example.com/dep\n\ngo 1.22\n"),
            (
                "dep/dep.go",
                "package dep\n\n// Greeting is what the app prints.\nfunc Greeting() string { return \"hello from dep\" }\n",
            ),
        ],
    );
    let go_mod = std::fs::read_to_string(workspace.path().join("go.mod")).unwrap();
    workspace
        .write("go.mod", &format!("{go_mod}\nrequire example.com/dep v1.2.3\n\nreplace example.com/dep => ./dep\n"));
    workspace
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn spdx_and_cyclonedx_validate_and_list_the_dependency() {
    let workspace = with_dependency();
    let directory = workspace.path().join("sboms");
    let report = build_json(
        &workspace,
        &[
            "--push=false",
            "--sbom=spdx,cyclonedx",
            "--sbom-dir",
            directory.to_str().unwrap(),
            "--platform=linux/amd64,linux/arm64",
            ".",
        ],
        &[],
    );
    assert_eq!(report["images"][0]["sboms"].as_array().unwrap().len(), 6, "two formats for two images and the index");
    let mut names: Vec<String> =
        std::fs::read_dir(&directory).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "withdep-index.cdx.json",
            "withdep-index.spdx.json",
            "withdep-linux-amd64.cdx.json",
            "withdep-linux-amd64.spdx.json",
            "withdep-linux-arm64.cdx.json",
            "withdep-linux-arm64.spdx.json"
        ]
    );
    for name in names.iter().filter(|n| n.ends_with(".spdx.json")) {
        run(command("pyspdxtools").arg("-i").arg(directory.join(name))).success();
    }
    let cyclonedx: Vec<_> = names.iter().filter(|n| n.ends_with(".cdx.json")).map(|n| directory.join(n)).collect();
    let output = run(command("validate-cyclonedx").args(&cyclonedx)).success();
    assert_eq!(output.matches("valid CycloneDX 1.6").count(), 3, "{output}");

    let spdx = read_json(&directory.join("withdep-linux-amd64.spdx.json"));
    let packages = spdx["packages"].as_array().unwrap();
    let dependency = packages.iter().find(|p| p["name"] == "example.com/dep").expect("the dependency is listed");
    assert_eq!(dependency["versionInfo"], "v1.2.3");
    assert_eq!(dependency["externalRefs"][0]["referenceLocator"], "pkg:golang/example.com/dep@v1.2.3?type=module");
    assert!(packages.iter().any(|p| p["name"] == "example.com/withdep"), "main module");
    assert!(
        packages.iter().any(|p| p["name"] == "ca-certificates") && packages.iter().any(|p| p["name"] == "tzdata"),
        "built-in base packages"
    );
    let relationships = spdx["relationships"].as_array().unwrap();
    for kind in ["DESCRIBES", "DESCENDANT_OF", "CONTAINS", "DEPENDS_ON"] {
        assert!(relationships.iter().any(|r| r["relationshipType"] == kind), "no {kind}");
    }
    let index = read_json(&directory.join("withdep-index.spdx.json"));
    assert_eq!(
        index["relationships"].as_array().unwrap().iter().filter(|r| r["relationshipType"] == "VARIANT_OF").count(),
        2
    );

    let bom = read_json(&directory.join("withdep-linux-amd64.cdx.json"));
    let component = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "example.com/dep")
        .expect("dependency component");
    assert_eq!(
        (component["version"].as_str(), component["purl"].as_str()),
        (Some("v1.2.3"), Some("pkg:golang/example.com/dep@v1.2.3?type=module"))
    );
    assert_eq!(bom["metadata"]["component"]["type"], "container");
    assert!(bom["dependencies"].as_array().unwrap().iter().any(|d| {
        d["dependsOn"].as_array().unwrap().iter().any(|r| r == "pkg:golang/example.com/dep@v1.2.3?type=module")
    }));
}

#[test]
fn sboms_reach_cosign_oras_and_the_referrers_tag() {
    let workspace = with_dependency();
    let directory = workspace.path().join("sboms");
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("sbom"));
    let report =
        build_json(&workspace, &["--sbom-dir", directory.to_str().unwrap(), "."], &[("KO_DOCKER_REPO", &repository)]);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let digest = digest_of(reference);

    let downloaded = run(command("cosign").args(["download", "sbom", "--allow-http-registry", reference])).success();
    assert_eq!(
        downloaded.trim(),
        std::fs::read_to_string(directory.join("withdep-linux-amd64.spdx.json")).unwrap().trim()
    );

    let fallback: serde_json::Value = serde_json::from_str(&crane(&[
        "manifest",
        &format!("{}:sha256-{}", reference.split('@').next().unwrap(), &digest[7..]),
    ]))
    .unwrap();
    assert_eq!(fallback["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(fallback["manifests"][0]["artifactType"], "application/spdx+json");
    assert_eq!(fallback["manifests"][0]["digest"], report["images"][0]["sboms"][0]["digest"]);
    let discovered: serde_json::Value = serde_json::from_str(
        &run(command("oras").args(["discover", "--plain-http", "--format", "json", reference])).success(),
    )
    .unwrap();
    assert_eq!(discovered["referrers"][0]["artifactType"], "application/spdx+json");

    // The registry with the referrers API: oras finds them there, and no fallback tag is made.
    let referrers_registry = peers().get("RKO_TEST_REGISTRY_REFERRERS");
    let repository = format!("{referrers_registry}/{}", unique("sbom"));
    let report = build_json(&workspace, &["--sbom=spdx,cyclonedx", "."], &[("KO_DOCKER_REPO", &repository)]);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let discovered: serde_json::Value = serde_json::from_str(
        &run(command("oras").args(["discover", "--plain-http", "--format", "json", reference])).success(),
    )
    .unwrap();
    let mut digests: Vec<&str> =
        discovered["referrers"].as_array().unwrap().iter().map(|r| r["digest"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> =
        report["images"][0]["sboms"].as_array().unwrap().iter().map(|s| s["digest"].as_str().unwrap()).collect();
    digests.sort();
    expected.sort();
    assert_eq!(digests, expected);
    let tags = crane(&["ls", reference.split('@').next().unwrap()]);
    assert!(
        !tags.lines().any(|tag| tag.starts_with("sha256-") && !tag.ends_with(".sbom")),
        "fallback tag on a referrers registry: {tags}"
    );

    // Layouts carry the referrers too, listed for oras with --oci-referrers.
    let layout = workspace.path().join("layout");
    let report = build_json(
        &workspace,
        &["--push=false", "--oci-referrers", "--oci-layout-path", layout.to_str().unwrap(), "."],
        &[],
    );
    let digest = digest_of(report["images"][0]["reference"].as_str().unwrap());
    let discovered: serde_json::Value = serde_json::from_str(
        &run(command("oras")
            .args(["discover", "--format", "json", "--oci-layout"])
            .arg(format!("{}@{digest}", layout.display())))
        .success(),
    )
    .unwrap();
    assert_eq!(discovered["referrers"][0]["artifactType"], "application/spdx+json");
}

#[test]
fn sboms_are_deterministic() {
    let first = with_dependency();
    let second = with_dependency();
    let mut documents = Vec::new();
    for workspace in [&first, &second] {
        let directory = workspace.path().join("sboms");
        let report = build_json(
            workspace,
            &["--push=false", "--sbom=spdx,cyclonedx", "--sbom-dir", directory.to_str().unwrap(), "."],
            &[],
        );
        let spdx = std::fs::read(directory.join("withdep-linux-amd64.spdx.json")).unwrap();
        let cyclonedx = std::fs::read(directory.join("withdep-linux-amd64.cdx.json")).unwrap();
        documents.push((spdx, cyclonedx, report["images"][0]["sboms"].clone()));
    }
    assert_eq!(documents[0], documents[1], "two builds of the same source gave different SBOMs or referrers");
}

#[test]
fn sbom_bad_inputs() {
    let workspace = with_dependency();
    let error = run(&mut workspace.rko(&["build", "--push=false", "--sbom=cyclone", "."])).failure();
    assert!(error.contains("unknown --sbom value `cyclone`"), "{error}");

    // A toolchain whose binaries carry no build information: warn, and still describe the image.
    let tools = tempdir();
    let wrapper = tools.path().join("go-without-buildinfo");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\ngo \"$@\" || exit $?\nprevious=\"\"; out=\"\"\nfor argument in \"$@\"; do [ \"$previous\" = -o ] && out=\"$argument\"; previous=\"$argument\"; done\n\
         [ -n \"$out\" ] && python3 -c 'import sys\np = sys.argv[1]\nb = bytearray(open(p, \"rb\").read())\ni = b.find(b\"\\xff Go buildinf:\")\nb[i:i+14] = bytes(14)\nopen(p, \"wb\").write(b)' \"$out\"\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let directory = workspace.path().join("sboms");
    let mut build = workspace.rko(&["build", "--push=false", "--sbom-dir", directory.to_str().unwrap(), "."]);
    let result = run(build.env("KO_GO_PATH", &wrapper));
    result.success();
    assert!(
        result.stderr().contains(
            "warning: the `linux/amd64` binary of `example.com/withdep` has no readable Go build information"
        ),
        "{}",
        result.stderr()
    );
    let spdx_path = directory.join("withdep-linux-amd64.spdx.json");
    run(command("pyspdxtools").arg("-i").arg(&spdx_path)).success();
    let spdx = read_json(&spdx_path);
    let packages = spdx["packages"].as_array().unwrap();
    assert!(packages.iter().any(|p| p["primaryPackagePurpose"] == "CONTAINER"
        && p["name"] == spdx["documentDescribes"][0].as_str().unwrap().replace("SPDXRef-Package-sha256-", "sha256:")));
    assert!(packages.iter().any(|p| p["name"] == "builtin"), "the base is listed");
    assert!(!packages.iter().any(|p| p["name"] == "example.com/dep"), "no modules without build information");
}

/// The main package's SPDX package and CycloneDX component, by name.
fn main_entries(directory: &Path, app: &str, name: &str) -> (serde_json::Value, serde_json::Value) {
    let spdx_path = directory.join(format!("{app}-linux-amd64.spdx.json"));
    let cyclonedx_path = directory.join(format!("{app}-linux-amd64.cdx.json"));
    run(command("pyspdxtools").arg("-i").arg(&spdx_path)).success();
    let output = run(command("validate-cyclonedx").arg(&cyclonedx_path)).success();
    assert!(output.contains("valid CycloneDX 1.6"), "{output}");
    let spdx = read_json(&spdx_path);
    let bom = read_json(&cyclonedx_path);
    for package in spdx["packages"].as_array().unwrap() {
        assert!(package["name"].as_str().is_some_and(|n| !n.is_empty()), "a package without a name: {package}");
        assert_ne!(package["SPDXID"], "SPDXRef-Package-", "{package}");
        assert_ne!(package["downloadLocation"], "https://", "{package}");
        let purl = package["externalRefs"][0]["referenceLocator"].as_str().unwrap();
        assert!(!purl.starts_with("pkg:golang/@") && !purl.contains("devel"), "{purl}");
        assert!(!package["versionInfo"].as_str().is_some_and(|v| v.contains("devel")), "{package}");
    }
    for component in bom["components"].as_array().unwrap() {
        let purl = component["purl"].as_str().unwrap();
        assert!(!purl.starts_with("pkg:golang/@") && !purl.contains("devel"), "{purl}");
        assert!(
            !purl.contains("repository_url=index.docker.io/library/builtin"),
            "the built-in base is not on Docker Hub: {purl}"
        );
    }
    let package = spdx["packages"].as_array().unwrap().iter().find(|p| p["name"] == name).cloned();
    let component = bom["components"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned();
    (
        package.unwrap_or_else(|| panic!("no SPDX package `{name}`")),
        component.unwrap_or_else(|| panic!("no component `{name}`")),
    )
}

/// `GO111MODULE=off` (how Debian builds Go): the binary has no main module. The SBOM names the
/// main package by its import path, validates, and rko says the dependencies are unknown.
#[test]
fn gopath_builds_get_a_valid_sbom() {
    let gopath = Workspace { directory: tempdir(), cache: tempdir() };
    gopath.write(
        "src/example.com/app/main.go",
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n)\n\nfunc main() { fmt.Println(lib.Greeting()) }\n",
    );
    gopath.write(
        "src/example.com/lib/lib.go",
        "package lib\n\n// Greeting is what the app prints.\nfunc Greeting() string { return \"hello\" }\n",
    );
    let app = gopath.path().join("src/example.com/app");
    for reference in [".", "example.com/app"] {
        let directory = gopath.path().join(format!("sboms-{}", reference.len()));
        let mut build = gopath.rko(&[
            "build",
            "--push=false",
            "--sbom=spdx,cyclonedx",
            "--sbom-dir",
            directory.to_str().unwrap(),
            reference,
        ]);
        build.current_dir(&app).env("GO111MODULE", "off").env("GOPATH", gopath.path()).env("GOFLAGS", "");
        let result = run(&mut build);
        result.success();
        assert!(
            result.stderr().contains(
                "warning: `example.com/app` was built in GOPATH mode (GO111MODULE=off): its SBOM names the package but cannot list its dependencies"
            ),
            "{}",
            result.stderr()
        );
        let (package, component) = main_entries(&directory, "app", "example.com/app");
        assert_eq!(package["externalRefs"][0]["referenceLocator"], "pkg:golang/example.com/app");
        assert_eq!(package["primaryPackagePurpose"], "APPLICATION");
        assert!(package["comment"].as_str().unwrap().contains("dependencies are not listed"), "{package}");
        assert_eq!(component["purl"], "pkg:golang/example.com/app");
        assert_eq!(component["bom-ref"], "pkg:golang/example.com/app");
    }
}

/// Module-mode neighbours: a `(devel)` main module (no VCS stamp), a dependency replaced by a
/// local directory, one replaced by another module, and dependencies without a go.sum hash
/// (vendored).
#[test]
fn sboms_state_only_the_versions_and_sources_the_build_knew() {
    let workspace = with_dependency();
    let directory = workspace.path().join("sboms");
    run(&mut workspace.rko(&[
        "build",
        "--push=false",
        "--sbom=spdx,cyclonedx",
        "--sbom-dir",
        directory.to_str().unwrap(),
        ".",
    ]))
    .success();
    let (main, component) = main_entries(&directory, "withdep", "example.com/withdep");
    assert_eq!(main["externalRefs"][0]["referenceLocator"], "pkg:golang/example.com/withdep?type=module");
    assert!(main.get("versionInfo").is_none(), "a (devel) build has no version: {main}");
    assert!(component.get("version").is_none(), "{component}");
    let (local, _) = main_entries(&directory, "withdep", "example.com/dep");
    assert_eq!(local["versionInfo"], "v1.2.3");
    assert_eq!(local["downloadLocation"], "NOASSERTION", "its code came from `./dep`, not the module proxy");

    let vendored = Workspace::module(
        "vendored",
        &[
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/old\"\n\t\"example.com/plain\"\n\t\"example.com/x-y\"\n\t\"example.com/x/y\"\n)\n\nfunc main() { fmt.Println(old.Name(), plain.Name(), xy.Name(), y.Name()) }\n",
            ),
            (
                "vendor/example.com/old/old.go",
                "package old\n\n// Name names it.\nfunc Name() string { return \"old\" }\n",
            ),
            (
                "vendor/example.com/plain/plain.go",
                "package plain\n\n// Name names it.\nfunc Name() string { return \"plain\" }\n",
            ),
            // Two module paths whose SPDX ids would clean to the same `example.com-x-y-v1.0.0`.
            (
                "vendor/example.com/x-y/xy.go",
                "package xy\n\n// Name names it.\nfunc Name() string { return \"x-y\" }\n",
            ),
            ("vendor/example.com/x/y/y.go", "package y\n\n// Name names it.\nfunc Name() string { return \"x/y\" }\n"),
            (
                "vendor/modules.txt",
                "# example.com/old v1.0.0 => example.com/new v1.5.0\n## explicit; go 1.22\nexample.com/old\n# example.com/plain v1.4.0\n## explicit; go 1.22\nexample.com/plain\n# example.com/x-y v1.0.0\n## explicit; go 1.22\nexample.com/x-y\n# example.com/x/y v1.0.0\n## explicit; go 1.22\nexample.com/x/y\n# example.com/old => example.com/new v1.5.0\n",
            ),
        ],
    );
    vendored.write(
        "go.mod",
        "module example.com/vendored\n\ngo 1.22\n\nrequire (\n\texample.com/old v1.0.0\n\texample.com/plain v1.4.0\n\texample.com/x-y v1.0.0\n\texample.com/x/y v1.0.0\n)\n\nreplace example.com/old => example.com/new v1.5.0\n",
    );
    let directory = vendored.path().join("sboms");
    let mut build = vendored.rko(&[
        "build",
        "--push=false",
        "--sbom=spdx,cyclonedx",
        "--sbom-dir",
        directory.to_str().unwrap(),
        ".",
    ]);
    run(build.env("GOFLAGS", "-mod=vendor")).success();
    let (replacement, component) = main_entries(&directory, "vendored", "example.com/new");
    assert_eq!(replacement["versionInfo"], "v1.5.0");
    assert_eq!(replacement["downloadLocation"], "https://proxy.golang.org/example.com/new/@v/v1.5.0.zip");
    assert!(replacement.get("checksums").is_none() && component.get("hashes").is_none(), "no go.sum hash was recorded");
    let (plain, _) = main_entries(&directory, "vendored", "example.com/plain");
    assert_eq!(plain["externalRefs"][0]["referenceLocator"], "pkg:golang/example.com/plain@v1.4.0?type=module");
    let spdx = read_json(&directory.join("vendored-linux-amd64.spdx.json"));
    assert!(
        !spdx["packages"].as_array().unwrap().iter().any(|p| p["name"] == "example.com/old"),
        "listed as its replacement"
    );
    main_entries(&directory, "vendored", "example.com/x-y");
    main_entries(&directory, "vendored", "example.com/x/y");
    let mut ids: Vec<&str> =
        spdx["packages"].as_array().unwrap().iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "SPDX ids are unique");
}
