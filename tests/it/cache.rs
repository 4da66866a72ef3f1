//! The build and layer caches: a no-change rebuild neither relinks, compresses nor uploads,
//! and puts no manifest the registry already has (an edit puts the new ones and moves the tag);
//! a run killed while writing a layer leaves a cache the next run uses correctly; two runs
//! sharing a cache both produce correct images; corrupted entries and blobs are detected and
//! rebuilt; and `--compression` picks the layers' codec.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::proxy::{Action, FaultProxy};
use crate::support::{Workspace, build_json, command, crane, digest_of, hello, peers, run, unique};

fn platform(report: &serde_json::Value) -> &serde_json::Value {
    &report["images"][0]["platforms"][0]
}

#[test]
fn no_change_rebuild_neither_relinks_compresses_nor_uploads() {
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("nochange"));
    let workspace = hello();
    let env = [("KO_DOCKER_REPO", repository.as_str())];
    let first = build_json(&workspace, &["."], &env);
    assert_eq!(
        (platform(&first)["relinked"].as_bool(), platform(&first)["layers_cached"].as_bool()),
        (Some(true), Some(false))
    );
    let mut verbose = workspace.rko(&["build", "-v", "--json", "."]);
    verbose.env("KO_DOCKER_REPO", &repository);
    let verbose = run(&mut verbose);
    let second: serde_json::Value = serde_json::from_str(&verbose.success()).expect("JSON report");
    let talk = verbose.stderr();
    assert!(
        talk.contains("for linux/amd64 in ") && talk.contains("(binary up to date, layers from the cache)"),
        "{talk}"
    );
    assert!(talk.contains("Uploaded 0 blobs (0.0 MB), 7 already in the registry"), "{talk}");
    assert_eq!(platform(&second)["relinked"], false, "{second}");
    assert_eq!(platform(&second)["layers_cached"], true, "{second}");
    assert_eq!(second["push"]["uploaded"], 0);
    assert_eq!(second["images"][0]["digest"], first["images"][0]["digest"]);

    // `--report FILE` writes the same report and keeps the reference on stdout.
    let report_path = workspace.path().join("report.json");
    let mut reported = workspace.rko(&["build", "--report", report_path.to_str().unwrap(), "."]);
    let stdout = run(reported.env("KO_DOCKER_REPO", &repository)).success();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(stdout.trim(), report["images"][0]["reference"].as_str().unwrap());
    assert_eq!(report["push"]["uploaded_bytes"], 0, "{report}");
    assert!(report["resources"]["peak_rss_bytes"].as_u64().unwrap() > 1 << 20, "{report}");

    let main = std::fs::read_to_string(workspace.path().join("main.go")).unwrap();
    workspace.write("main.go", &main.replace("hello from rko's example app", "hello again from rko's example app"));
    let edited = build_json(&workspace, &["."], &env);
    assert_eq!(
        (platform(&edited)["relinked"].as_bool(), platform(&edited)["layers_cached"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(edited["push"]["uploaded"].as_u64().unwrap() >= 2, "the new binary layer and config: {edited}");
    assert_ne!(edited["images"][0]["digest"], first["images"][0]["digest"]);
}

/// Requests that write to the registry (`PUT`, `POST`, `PATCH`) among `requests`.
fn writes(requests: &[String]) -> Vec<&String> {
    requests.iter().filter(|request| ["PUT ", "POST ", "PATCH "].iter().any(|m| request.starts_with(m))).collect()
}

#[test]
fn a_no_change_push_puts_no_manifest_and_an_edit_moves_the_tag() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let proxy = FaultProxy::start(registry);
    let repository = format!("{}/{}", proxy.address, unique("unchanged"));
    let workspace = hello();
    let env = [("KO_DOCKER_REPO", repository.as_str())];
    let arguments = ["--platform=linux/amd64,linux/arm64", "--tags=latest,v1", "."];
    let first = build_json(&workspace, &arguments, &env);
    assert!(!writes(&proxy.requests()).is_empty());

    let before = proxy.requests().len();
    let mut verbose = workspace.rko(&["build", "-v", "--json"]);
    verbose.args(arguments).env("KO_DOCKER_REPO", &repository);
    let verbose = run(&mut verbose);
    let second: serde_json::Value = serde_json::from_str(&verbose.success()).expect("JSON report");
    let requests = proxy.requests()[before..].to_vec();
    assert_eq!(writes(&requests), Vec::<&String>::new(), "a no-change push wrote to the registry: {requests:?}");
    assert_eq!(second["images"][0]["digest"], first["images"][0]["digest"]);
    assert_eq!(second["push"]["uploaded"], 0, "{second}");
    // Two images, the index, their SBOM referrers and legacy `.sbom` tags, two tags.
    let existing = second["push"]["manifests_existing"].as_u64().unwrap();
    assert!(existing >= 5, "{second}");
    assert!(
        verbose.stderr().contains(&format!("{existing} manifests already in the registry")),
        "{}",
        verbose.stderr()
    );

    // A registry that answers `HEAD` without naming the digest gets the tag put again.
    let silent = Action::Respond { status: 200, headers: vec![], body: String::new() };
    proxy.inject("HEAD", "/manifests/v1", 1, silent);
    let before = proxy.requests().len();
    build_json(&workspace, &arguments, &env);
    let requests = proxy.requests()[before..].to_vec();
    let puts = writes(&requests);
    assert!(puts.len() == 1 && puts[0].ends_with("/manifests/v1"), "{requests:?}");

    let main = std::fs::read_to_string(workspace.path().join("main.go")).unwrap();
    workspace.write("main.go", &main.replace("hello from rko's example app", "hello, edited, from rko's example app"));
    let before = proxy.requests().len();
    let edited = build_json(&workspace, &arguments, &env);
    let digest = edited["images"][0]["digest"].as_str().unwrap();
    assert_ne!(edited["images"][0]["digest"], first["images"][0]["digest"]);
    let requests = proxy.requests()[before..].to_vec();
    for put in [format!("/manifests/{digest}"), "/manifests/latest".into(), "/manifests/v1".into()] {
        assert!(writes(&requests).iter().any(|request| request.ends_with(&put)), "no PUT of {put}: {requests:?}");
    }
    let image = edited["images"][0]["name"].as_str().unwrap().replacen(&proxy.address, registry, 1);
    for tag in ["latest", "v1"] {
        assert_eq!(crane(&["digest", &format!("{image}:{tag}")]).trim(), digest, "`{tag}` did not move");
    }
}

#[test]
fn a_run_killed_mid_write_leaves_a_usable_cache() {
    let workspace = hello();
    // Enough incompressible kodata that writing its layer takes a while.
    let random = std::fs::File::create(workspace.path().join("kodata/noise.bin")).unwrap();
    run(command("head").args(["-c", "48000000", "/dev/urandom"]).stdout(random)).success();
    let layout = workspace.path().join("layout");
    let arguments =
        ["build", "--push=false", "--compression=gzip:9", "--oci-layout-path", layout.to_str().unwrap(), "."];
    let mut child = workspace.rko(&arguments).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let blobs = workspace.cache.path().join("blobs/sha256");
    let started = Instant::now();
    let writing = loop {
        let partial = std::fs::read_dir(&blobs).into_iter().flatten().flatten().any(|entry| {
            entry.file_name().to_string_lossy().starts_with(".layer-")
                && entry.metadata().is_ok_and(|m| m.len() > 1 << 20)
        });
        if partial || started.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            break partial;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(writing, "the run was not caught writing a layer");
    assert!(!layout.join("index.json").exists(), "the killed run got as far as publishing");

    let after_crash = build_json(&workspace, &arguments[1..], &[]);
    let clean = Workspace::copy_from(workspace.path());
    std::fs::remove_dir_all(clean.path().join("layout")).unwrap();
    let fresh = build_json(&clean, &arguments[1..], &[]);
    assert_eq!(after_crash["images"][0]["digest"], fresh["images"][0]["digest"], "the crash changed the image");
}

#[test]
fn concurrent_runs_sharing_a_cache_both_produce_correct_images() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();
    let shared = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let main = std::fs::read_to_string(workspace.path().join("main.go")).unwrap();
        workspace.write("main.go", &format!("{main}\n// round {round}\n"));
        let children: Vec<_> = (0..2)
            .map(|_| {
                let repository = format!("{registry}/{}", unique("concurrent"));
                let mut rko = workspace.rko(&["build", "--json", "--platform=linux/amd64,linux/arm64", "."]);
                rko.env("RKO_CACHE_DIR", shared.path())
                    .env("KO_DOCKER_REPO", &repository)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                rko.spawn().unwrap()
            })
            .collect();
        let mut digests = Vec::new();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let reference = report["images"][0]["reference"].as_str().unwrap().to_owned();
            let index: serde_json::Value = serde_json::from_str(&crane(&["manifest", &reference])).unwrap();
            for descriptor in index["manifests"].as_array().unwrap() {
                let child =
                    format!("{}@{}", reference.split('@').next().unwrap(), descriptor["digest"].as_str().unwrap());
                assert!(crane(&["validate", "--remote", &child]).starts_with("PASS"), "{child}");
            }
            digests.push(digest_of(&reference));
        }
        assert_eq!(digests[0], digests[1], "round {round}: two concurrent runs built different images");
    }
}

#[test]
fn corrupted_cache_entries_and_blobs_are_rebuilt() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let arguments = ["--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."];
    let first = build_json(&workspace, &arguments, &[]);
    let layers = workspace.cache.path().join("layers");
    let check_layout = |report: &serde_json::Value| {
        let digest = report["images"][0]["digest"].as_str().unwrap();
        let image = crate::support::layout_image(&layout, digest);
        for layer in image.manifest["layers"].as_array().unwrap() {
            let digest = layer["digest"].as_str().unwrap();
            let bytes = crate::support::layout_blob(&layout, digest);
            assert_eq!(format!("sha256:{}", sha256_hex(&bytes)), digest, "layout blob has the wrong bytes");
        }
    };
    check_layout(&first);

    // Garbage entries.
    for entry in std::fs::read_dir(&layers).unwrap().flatten() {
        std::fs::write(entry.path(), b"{\"layer\": torn").unwrap();
    }
    let second = build_json(&workspace, &arguments, &[]);
    assert_eq!(platform(&second)["layers_cached"], false, "torn entries were used");
    assert_eq!(second["images"][0]["digest"], first["images"][0]["digest"]);

    // A blob changed in place (same size) and one truncated.
    let image = crate::support::layout_image(&layout, first["images"][0]["digest"].as_str().unwrap());
    let layer_digests: Vec<String> =
        image.manifest["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap().to_owned()).collect();
    let blobs = workspace.cache.path().join("blobs/sha256");
    let binary_blob = blobs.join(layer_digests.last().unwrap().trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&binary_blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::remove_file(&binary_blob).unwrap();
    std::fs::write(&binary_blob, &bytes).unwrap();
    let kodata_blob = blobs.join(layer_digests[layer_digests.len() - 2].trim_start_matches("sha256:"));
    let length = std::fs::metadata(&kodata_blob).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&kodata_blob).unwrap().set_len(length / 2).unwrap();
    std::fs::remove_dir_all(&layout).unwrap();
    let third = build_json(&workspace, &arguments, &[]);
    assert_eq!(platform(&third)["layers_cached"], false, "changed blobs were used");
    assert_eq!(third["images"][0]["digest"], first["images"][0]["digest"]);
    check_layout(&third);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn compression_picks_the_layer_codec() {
    let repository = format!("{}/{}", peers().get("RKO_TEST_REGISTRY"), unique("zstd"));
    let workspace = hello();
    let report = build_json(&workspace, &["--compression=zstd", "."], &[("KO_DOCKER_REPO", &repository)]);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&crane(&["manifest", reference])).unwrap();
    let types: Vec<&str> =
        manifest["layers"].as_array().unwrap().iter().map(|l| l["mediaType"].as_str().unwrap()).collect();
    assert_eq!(
        types[1..],
        ["application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar+zstd"]
    );
    let output = run(command("podman").args(["run", "--rm", "--pull=always", reference])).success();
    assert!(output.contains("kodata says: hello there"), "{output}");
    let error = run(&mut workspace.rko(&["build", "--push=false", "--compression=brotli", "."])).failure();
    assert!(error.contains("invalid --compression `brotli`"), "{error}");
}

/// `rko` (as set up in `command`) run in a private mount namespace after `setup`, shell
/// commands that may mount over paths (a small tmpfs, a read-only bind mount) without touching
/// the rest of the machine. Root uses a plain mount namespace, anyone else a user namespace.
fn in_mount_namespace(command: &std::process::Command, setup: &str) -> std::process::Command {
    let root = run(std::process::Command::new("id").arg("-u")).success().trim() == "0";
    let mut wrapped = std::process::Command::new("unshare");
    if !root {
        wrapped.arg("--map-root-user");
    }
    wrapped.args(["--mount", "sh", "-c", &format!("set -e; {setup}; exec \"$@\""), "sh"]);
    wrapped.arg(command.get_program()).args(command.get_args()).env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    if let Some(directory) = command.get_current_dir() {
        wrapped.current_dir(directory);
    }
    wrapped
}

/// The `warning:` lines of a run.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|line| line.starts_with("warning:")).collect()
}

#[test]
fn an_unusable_cache_directory_falls_back_to_a_temporary_cache() {
    let workspace = hello();
    let layout = workspace.path().join("layout");
    let arguments = ["build", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."];

    // `RKO_CACHE_DIR` names a file.
    let file = workspace.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let mut build = workspace.rko(&arguments);
    let result = run(build.env("RKO_CACHE_DIR", &file));
    let reference = result.success();
    let stderr = result.stderr();
    assert_eq!(warnings(&stderr).len(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cache directory `{}` cannot be used", file.display()))
            && stderr.contains("using a temporary cache for this run"),
        "{stderr}"
    );
    let digest = digest_of(reference.trim());

    // A read-only home (no cache directory configured), and an existing read-only cache.
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cache.path().join("blobs/sha256")).unwrap();
    for (what, path) in [("home", home.path()), ("cache", cache.path())] {
        let read_only = format!("mount --bind {0} {0}; mount -o remount,bind,ro {0}", path.display());
        let mut build = workspace.rko(&arguments);
        build.env("HOME", home.path());
        match what {
            "home" => build.env_remove("RKO_CACHE_DIR"),
            _ => build.env("RKO_CACHE_DIR", path),
        };
        let result = run(&mut in_mount_namespace(&build, &read_only));
        let reference = result.success();
        assert_eq!(digest_of(reference.trim()), digest, "read-only {what}: another image");
        let stderr = result.stderr();
        assert_eq!(warnings(&stderr).len(), 1, "read-only {what}: {stderr}");
        assert!(stderr.contains("Read-only file system") && stderr.contains("temporary cache"), "{stderr}");
    }
    assert!(!home.path().join(".cache").exists(), "the read-only home got a cache");
}

#[test]
fn a_full_cache_keeps_what_does_not_fit_for_the_run_only() {
    let workspace = hello();
    let reference = build_json(&workspace, &["--push=false", "."], &[]);
    let expected = reference["images"][0]["digest"].as_str().unwrap().to_owned();
    // 1 MB holds no binary (2.6 MB); 3 MB holds the binary but not its layer besides it.
    for size in ["1m", "3m"] {
        let cache = tempfile::tempdir().unwrap();
        let layout = workspace.path().join(format!("layout-{size}"));
        let mut build =
            workspace.rko(&["build", "--json", "--push=false", "--oci-layout-path", layout.to_str().unwrap(), "."]);
        build.env("RKO_CACHE_DIR", cache.path());
        let small = format!("mount -t tmpfs -o size={size} rko-test {}", cache.path().display());
        let result = run(&mut in_mount_namespace(&build, &small));
        let report: serde_json::Value = serde_json::from_str(&result.success()).expect("JSON report");
        assert_eq!(report["images"][0]["digest"], expected.as_str(), "{size}: another image");
        let stderr = result.stderr();
        assert_eq!(warnings(&stderr).len(), 1, "{size}: {stderr}");
        assert!(
            stderr.to_lowercase().contains("no space left on device") && stderr.contains("kept for this run only"),
            "{stderr}"
        );
        let image = crate::support::layout_image(&layout, &expected);
        for layer in image.manifest["layers"].as_array().unwrap() {
            let digest = layer["digest"].as_str().unwrap();
            let bytes = crate::support::layout_blob(&layout, digest);
            assert_eq!(format!("sha256:{}", sha256_hex(&bytes)), digest, "{size}: a layer has the wrong bytes");
        }
    }
}

/// Big incompressible kodata, so that writing its layer takes a while.
fn with_noise(workspace: &Workspace) {
    let random = std::fs::File::create(workspace.path().join("kodata/noise.bin")).unwrap();
    run(command("head").args(["-c", "48000000", "/dev/urandom"]).stdout(random)).success();
}

/// The partial layer files in a cache larger than `at_least` bytes.
fn partial_layers(cache: &std::path::Path, at_least: u64) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache.join("blobs/sha256"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(".layer-"))
        .filter(|entry| entry.metadata().is_ok_and(|metadata| metadata.len() >= at_least))
        .map(|entry| entry.path())
        .collect()
}

/// Start `rko` and wait until it writes a partial layer bigger than 4 MB (the kodata layer).
fn caught_writing_kodata(workspace: &Workspace, arguments: &[&str]) -> std::process::Child {
    let mut child = workspace.rko(arguments).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while partial_layers(workspace.cache.path(), 4 << 20).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was caught writing kodata");
        assert!(started.elapsed() < Duration::from_secs(120), "the run was not caught writing kodata");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn kodata_is_written_once_per_build_and_interruption_leaves_no_partial_files() {
    let workspace = hello();
    with_noise(&workspace);
    let arguments =
        ["build", "--push=false", "-j", "2", "--compression=gzip:9", "--platform=linux/amd64,linux/arm64", "."];
    let child = caught_writing_kodata(&workspace, &arguments);
    // Both platforms are building: one kodata layer is being written for both.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(partial_layers(workspace.cache.path(), 2 << 20).len(), 1, "kodata is written once per platform");
    let status = run(command("kill").args(["-INT", &child.id().to_string()])).success();
    assert_eq!(status, "");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("error: interrupted"));
    assert_eq!(partial_layers(workspace.cache.path(), 0), Vec::<std::path::PathBuf>::new(), "partial files were left");
}

#[test]
fn partial_files_of_a_killed_run_are_removed_by_the_next() {
    let workspace = hello();
    with_noise(&workspace);
    let arguments = ["build", "--push=false", "--compression=gzip:9", "."];
    let mut child = caught_writing_kodata(&workspace, &arguments);
    child.kill().unwrap();
    child.wait().unwrap();
    let left = partial_layers(workspace.cache.path(), 0);
    assert!(!left.is_empty());
    // A partial layer younger than a few seconds may be one whose writer has not locked it yet.
    for path in &left {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
    }
    // The next run's own partial files are locked, so a third run leaves them alone.
    let second = caught_writing_kodata(&workspace, &arguments);
    let third = build_json(&workspace, &["--push=false", "--compression=gzip:9", "."], &[]);
    assert_eq!(third["images"][0]["platforms"].as_array().unwrap().len(), 1);
    let output = second.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "a concurrent run removed files in use: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for path in &left {
        assert!(!path.exists(), "{} was left", path.display());
    }
}

/// Set every file under `directory` back by `by`.
fn age_files(directory: &std::path::Path, by: Duration) {
    for entry in std::fs::read_dir(directory).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            age_files(&path, by);
        } else {
            let modified = entry.metadata().unwrap().modified().unwrap();
            std::fs::File::options().append(true).open(&path).unwrap().set_modified(modified - by).unwrap();
        }
    }
}

#[test]
fn the_cache_is_kept_under_its_size_bound() {
    let workspace = hello();
    let noise = |name: &str| {
        std::fs::remove_file(workspace.path().join("kodata/noise-a.bin")).ok();
        let random = std::fs::File::create(workspace.path().join(format!("kodata/{name}"))).unwrap();
        run(command("head").args(["-c", "3000000", "/dev/urandom"]).stdout(random)).success();
    };
    noise("noise-a.bin");
    let first = build_json(&workspace, &["--push=false", "."], &[]);
    let blobs = workspace.cache.path().join("blobs/sha256");
    let first_blobs: Vec<String> = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    // Two hours later, with other kodata: the first kodata layer is the least recently used.
    age_files(workspace.cache.path(), Duration::from_secs(2 * 3600));
    noise("noise-b.bin");
    let second = build_json(&workspace, &["--push=false", "."], &[("RKO_CACHE_MAX_SIZE", "8MB")]);
    assert_ne!(first["images"][0]["digest"], second["images"][0]["digest"]);
    let kept: Vec<String> = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let size: u64 =
        ["blobs/sha256", "bin", "layers"].iter().flat_map(|part| walk_sizes(&workspace.cache.path().join(part))).sum();
    assert!(size <= 8_000_000, "the cache holds {size} bytes, above its 8 MB bound");
    let evicted: Vec<&String> = first_blobs.iter().filter(|name| !kept.contains(name)).collect();
    assert_eq!(evicted.len(), 1, "exactly the old kodata layer goes: {first_blobs:?} → {kept:?}");
    // What the second build used is all still there: a third build reuses both layers.
    let third = build_json(&workspace, &["--push=false", "."], &[("RKO_CACHE_MAX_SIZE", "8MB")]);
    assert_eq!(platform(&third)["layers_cached"], true, "{third}");

    let error = run(workspace.rko(&["build", "--push=false", "."]).env("RKO_CACHE_MAX_SIZE", "lots")).failure();
    assert!(error.contains("RKO_CACHE_MAX_SIZE=`lots` is not a size"), "{error}");
}

fn walk_sizes(directory: &std::path::Path) -> Vec<u64> {
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        let metadata = entry.metadata().unwrap();
        if metadata.is_dir() {
            sizes.extend(walk_sizes(&entry.path()));
        } else {
            sizes.push(metadata.len());
        }
    }
    sizes
}
