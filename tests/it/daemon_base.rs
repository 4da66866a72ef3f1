//! `ko.local/...` bases, read from the Docker daemon at `DOCKER_HOST` (podman's Docker API
//! here) as ko does: a base loaded with `rko build --local` carries an app built on it that
//! podman runs, with the base's layers gzipped into Docker media types like ko's; overrides,
//! platform requests and every bad input's one-line error.

use crate::support::{
    HELLO_NAME, Workspace, build_json, command, crane, hello, layout_image, peers, rejects, run, unique,
};

const APP: &str = r#"package main

import (
	"fmt"
	"os"
)

func main() {
	if _, err := os.Stat("/ko-app/hello"); err != nil {
		fmt.Println("the base's app is missing:", err)
		os.Exit(1)
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		fmt.Println("the base's /etc/passwd is missing:", err)
		os.Exit(1)
	}
	fmt.Printf("running on a daemon base (%d bytes of /etc/passwd)\n", len(passwd))
}
"#;

fn docker_host() -> String {
    peers().get("RKO_TEST_DOCKER_HOST").to_owned()
}

fn app() -> Workspace {
    Workspace::module("onbase", &[("main.go", APP)])
}

/// An image in the daemon, removed when the test ends.
struct Loaded {
    name: String,
    layers: Vec<String>,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = command("docker").args(["rmi", &self.name]).env("DOCKER_HOST", docker_host()).output();
    }
}

/// Load `examples/hello` into the daemon as `ko.local/<hello>:<unique tag>`, with the daemon's
/// diffIDs for it.
fn load_base() -> Loaded {
    let tag = unique("base");
    let workspace = hello();
    let mut build = workspace.rko(&["build", "--local", "-t", &tag, "."]);
    run(build.env("DOCKER_HOST", docker_host())).success();
    let name = format!("ko.local/{HELLO_NAME}:{tag}");
    let mut inspect = command("docker");
    inspect.args(["image", "inspect", "--format", "{{json .RootFS.Layers}}", &name]).env("DOCKER_HOST", docker_host());
    let layers = serde_json::from_str(run(&mut inspect).success().trim()).expect("RootFS.Layers is JSON");
    Loaded { name, layers }
}

fn pushed(workspace: &Workspace, base: &str, arguments: &[&str]) -> String {
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("onbase"));
    let mut all = vec!["."];
    all.extend_from_slice(arguments);
    let report = build_json(
        workspace,
        &all,
        &[("KO_DEFAULTBASEIMAGE", base), ("KO_DOCKER_REPO", &repository), ("DOCKER_HOST", &docker_host())],
    );
    report["images"][0]["reference"].as_str().expect("a reference").to_owned()
}

#[test]
fn a_ko_local_base_comes_from_the_daemon_and_runs() {
    let loaded = load_base();
    let (base, base_layers) = (&loaded.name, &loaded.layers);
    let workspace = app();
    let reference = pushed(&workspace, base, &[]);

    let manifest: serde_json::Value = serde_json::from_str(&crane(&["manifest", &reference])).unwrap();
    assert_eq!(manifest["mediaType"], "application/vnd.docker.distribution.manifest.v2+json", "{manifest}");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), base_layers.len() + 2, "{manifest}");
    for layer in layers {
        assert_eq!(layer["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip", "{manifest}");
    }
    assert_eq!(manifest["annotations"]["org.opencontainers.image.base.name"], base.as_str());
    let config: serde_json::Value = serde_json::from_str(&crane(&["config", &reference])).unwrap();
    let diff_ids: Vec<String> = serde_json::from_value(config["rootfs"]["diff_ids"].clone()).unwrap();
    assert_eq!(diff_ids[..base_layers.len()], base_layers[..], "the base's layers come first, unchanged");
    // Every layer's gzip bytes decompress to its diffID.
    crane(&["validate", "--remote", &reference]);

    let output = run(command("podman").args(["run", "--rm", "--pull=always", &reference])).success();
    assert!(output.contains("running on a daemon base"), "{output}");

    // The same bytes from a cold cache (and again from the warm one).
    let digest = reference.rsplit_once('@').unwrap().1.to_owned();
    let cold = Workspace::copy_from(workspace.path());
    assert!(pushed(&cold, base, &[]).ends_with(&digest));
    assert!(pushed(&workspace, base, &[]).ends_with(&digest));
}

#[test]
fn overrides_and_platform_requests_with_a_ko_local_base() {
    let loaded = load_base();
    let (base, base_layers) = (&loaded.name, &loaded.layers);
    let workspace = app();
    workspace.write(".ko.yaml", &format!("baseImageOverrides:\n  example.com/onbase: {base}\n"));
    let layout = workspace.path().join("layout");
    let report = build_json(
        &workspace,
        &["--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."],
        &[("DOCKER_HOST", &docker_host())],
    );
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let image = layout_image(&layout, reference.rsplit_once('@').unwrap().1);
    assert_eq!(image.manifest["annotations"]["org.opencontainers.image.base.name"], base.as_str());
    assert_eq!(image.manifest["layers"].as_array().unwrap().len(), base_layers.len() + 2);

    // A daemon holds one platform per name: asking for more builds that one (as ko does) ...
    let reference = pushed(&workspace, base, &["--platform=linux/amd64,linux/arm64"]);
    let manifest: serde_json::Value = serde_json::from_str(&crane(&["manifest", &reference])).unwrap();
    assert_eq!(manifest["mediaType"], "application/vnd.docker.distribution.manifest.v2+json", "{manifest}");
    // ... and asking for only others is an error naming the base's platform.
    rejects(
        &workspace,
        &["build", "--push=false", "--platform=linux/arm64", "."],
        &[("DOCKER_HOST", &docker_host())],
        &[base, "linux/amd64"],
    );
}

#[test]
fn a_ko_local_base_that_cannot_be_had_is_one_clear_error() {
    let workspace = app();
    let missing = format!("ko.local/{}:v1", unique("absent"));
    let docker_host = docker_host();
    let build = ["build", "--push=false", "."];
    rejects(
        &workspace,
        &build,
        &[("KO_DEFAULTBASEIMAGE", &missing), ("DOCKER_HOST", &docker_host)],
        &[&missing, "is not in the Docker daemon", &docker_host],
    );
    // No DOCKER_HOST: the default socket, named in the error.
    rejects(&workspace, &build, &[("KO_DEFAULTBASEIMAGE", &missing)], &[&missing, "unix:///var/run/docker.sock"]);
    rejects(
        &workspace,
        &build,
        &[("KO_DEFAULTBASEIMAGE", &missing), ("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
        &["cannot reach the Docker daemon", "unix:///nonexistent/docker.sock"],
    );
    rejects(
        &workspace,
        &build,
        &[("KO_DEFAULTBASEIMAGE", &missing), ("DOCKER_HOST", "npipe:////./pipe/docker_engine")],
        &["DOCKER_HOST `npipe:////./pipe/docker_engine` is not supported", "ssh://"],
    );
}
