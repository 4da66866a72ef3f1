//! Publishing to real registries on 127.0.0.1: Debian's distribution 2.8 over HTTP, the same
//! with TLS and htpasswd after `rko login`, bases pulled from a registry (index, platform
//! choice, annotations, mounts, no layer downloads), tags, podman's Docker API for `--local`,
//! and the failures: unreachable, unknown tag, malformed names, wrong password, refused blobs,
//! throttling and dropped connections (through a fault-injecting proxy).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::proxy::{Action, FaultProxy};
use crate::support::{
    HELLO_NAME, build_json, command, crane, crane_index, digest_of, hello, peers, rejects, run, tempdir, unique,
};

/// A three-platform base index made with crane (not rko), amd64 first.
fn crane_base(registry: &str) -> String {
    crane_index(registry, &["linux/amd64", "linux/arm64", "linux/arm/v7"], false)
}

#[test]
fn push_to_distribution_validates_and_runs() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("push"));
    let workspace = hello();
    let report = build_json(&workspace, &["."], &[("KO_DOCKER_REPO", &repository)]);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    assert_eq!(reference, format!("{repository}/{HELLO_NAME}@{}", digest_of(reference)));
    let output = crane(&["validate", "--remote", reference]);
    assert!(output.starts_with("PASS"), "{output}");
    let output = run(command("podman").args(["run", "--rm", "--pull=always", reference])).success();
    assert!(output.contains("kodata says: hello there"), "{output}");
    assert_eq!(crane(&["digest", &format!("{repository}/{HELLO_NAME}:latest")]), digest_of(reference));

    // Tags: each resolves to the same digest; a second identical run uploads nothing.
    let report = build_json(&workspace, &["-t", "a", "-t", "b", "."], &[("KO_DOCKER_REPO", &repository)]);
    for tag in ["a", "b"] {
        assert_eq!(crane(&["digest", &format!("{repository}/{HELLO_NAME}:{tag}")]), digest_of(reference));
    }
    assert_eq!(report["push"]["uploaded"], 0, "{report}");
    let single = build_json(&workspace, &["-t", "v1", "."], &[("KO_DOCKER_REPO", &repository)]);
    assert_eq!(single["images"][0]["reference"], format!("{repository}/{HELLO_NAME}:v1@{}", digest_of(reference)));
    let tag_only = build_json(&workspace, &["-t", "v1", "--tag-only", "."], &[("KO_DOCKER_REPO", &repository)]);
    assert_eq!(tag_only["images"][0]["reference"], format!("{repository}/{HELLO_NAME}:v1"));
}

#[test]
fn tls_registry_after_login_and_wrong_password() {
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    let certificate = peers().get("RKO_TEST_REGISTRY_CA");
    let repository = format!("{registry}/{}", unique("tls"));
    let workspace = hello();
    let docker_config = tempdir();
    let config = docker_config.path().to_str().unwrap();

    let mut login = workspace.rko(&["login", registry, "-u", "testuser", "--password-stdin"]);
    login.env("DOCKER_CONFIG", config).env("SSL_CERT_FILE", certificate).stdin(std::process::Stdio::piped());
    let mut child = login.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"testpass\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stored = std::fs::read_to_string(docker_config.path().join("config.json")).unwrap();
    assert!(stored.contains(registry) && !stored.contains("testpass"), "{stored}");

    let env = [("KO_DOCKER_REPO", repository.as_str()), ("DOCKER_CONFIG", config), ("SSL_CERT_FILE", certificate)];
    let report = build_json(&workspace, &["."], &env);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let mut crane_tls = command("crane");
    crane_tls.args(["digest", reference]).env("DOCKER_CONFIG", config).env("SSL_CERT_FILE", certificate);
    assert_eq!(run(&mut crane_tls).success().trim(), digest_of(reference));

    // Without the CA: one line saying what to do.
    let mut untrusted = workspace.rko(&["build", "."]);
    untrusted.env("KO_DOCKER_REPO", &repository).env("DOCKER_CONFIG", config);
    let error = run(&mut untrusted).failure();
    assert!(
        error.contains(&format!("cannot reach registry `{registry}`")) && error.contains("SSL_CERT_FILE"),
        "{error}"
    );

    // A wrong password: rejected by name, and nothing is pushed.
    let wrong = tempdir();
    std::fs::write(
        wrong.path().join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"dGVzdHVzZXI6d3Jvbmc="}}}}}}"#),
    )
    .unwrap();
    let other = format!("{registry}/{}", unique("denied"));
    let mut denied = workspace.rko(&["build", "."]);
    denied.env("KO_DOCKER_REPO", &other).env("DOCKER_CONFIG", wrong.path()).env("SSL_CERT_FILE", certificate);
    let error = run(&mut denied).failure();
    assert!(error.contains(&format!("registry `{registry}` rejected the credentials")), "{error}");
    assert!(!error.contains("wrong") && !error.contains("dGVzdHVzZXI6d3Jvbmc"), "secret in error: {error}");
    let mut listing = command("crane");
    listing
        .args(["ls", &format!("{other}/{HELLO_NAME}")])
        .env("DOCKER_CONFIG", config)
        .env("SSL_CERT_FILE", certificate);
    let listed = run(&mut listing);
    assert!(!listed.output.status.success() || listed.stdout().trim().is_empty(), "tags were pushed");

    let mut bad_login = workspace.rko(&["login", registry, "-u", "testuser", "-p", "nope"]);
    bad_login.env("DOCKER_CONFIG", wrong.path()).env("SSL_CERT_FILE", certificate);
    let error = run(&mut bad_login).failure();
    assert!(error.contains("rejected the password of user `testuser`"), "{error}");
}

#[test]
fn registry_base_index_gives_the_right_child_and_is_mounted_not_downloaded() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let base = crane_base(registry);
    let index: serde_json::Value = serde_json::from_str(&crane(&["manifest", &base])).unwrap();
    let child_digest = |architecture: &str| {
        index["manifests"].as_array().unwrap().iter().find(|d| d["platform"]["architecture"] == architecture).unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let amd64_manifest: serde_json::Value = serde_json::from_str(&crane(&[
        "manifest",
        &format!("{}@{}", base.rsplit_once(':').unwrap().0, child_digest("amd64")),
    ]))
    .unwrap();
    let base_layer = amd64_manifest["layers"][0]["digest"].as_str().unwrap().to_owned();

    let proxy = FaultProxy::start(registry);
    let proxied_base = base.replacen(registry, &proxy.address, 1);
    let repository = format!("{}/{}", proxy.address, unique("app"));
    let workspace = hello();
    let env = [("KO_DOCKER_REPO", repository.as_str()), ("KO_DEFAULTBASEIMAGE", proxied_base.as_str())];
    let report = build_json(&workspace, &["--sbom=none", "."], &env);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&crane(&["manifest", &reference.replacen(&proxy.address, registry, 1)])).unwrap();
    assert_eq!(manifest["annotations"]["org.opencontainers.image.base.digest"], child_digest("amd64"));
    assert_eq!(manifest["annotations"]["org.opencontainers.image.base.name"], proxied_base);
    assert_eq!(report["push"]["mounted"], 1, "the base layer is mounted: {report}");
    assert_eq!(report["push"]["uploaded"], 3, "kodata, binary and config only: {report}");
    let downloads: Vec<String> =
        proxy.requests().into_iter().filter(|r| r.starts_with("GET") && r.contains(&base_layer)).collect();
    assert!(downloads.is_empty(), "base layer downloaded: {downloads:?}");
    build_json(&workspace, &["."], &env);
    let again = build_json(&workspace, &["."], &env);
    assert_eq!(again["push"]["uploaded"], 0, "an identical run (SBOM included) uploads nothing: {again}");

    // baseImageOverrides picks the base per import path (keys are case-insensitive, as in ko).
    workspace.write(".ko.yaml", &format!("baseImageOverrides:\n  Example.com/Hello: {proxied_base}\n"));
    let overridden = build_json(&workspace, &["--push=false", "--oci-layout-path", "layout", "."], &[]);
    let layout_manifest = crate::support::layout_image(
        &workspace.path().join("layout"),
        &digest_of(overridden["images"][0]["reference"].as_str().unwrap()),
    )
    .manifest;
    assert_eq!(layout_manifest["annotations"]["org.opencontainers.image.base.name"], proxied_base);
    std::fs::remove_file(workspace.path().join(".ko.yaml")).unwrap();

    let arm = build_json(&workspace, &["--platform", "linux/arm/v7", "."], &env);
    let arm_reference = arm["images"][0]["reference"].as_str().unwrap().replacen(&proxy.address, registry, 1);
    let arm_config: serde_json::Value = serde_json::from_str(&crane(&["config", &arm_reference])).unwrap();
    assert_eq!((arm_config["architecture"].as_str(), arm_config["variant"].as_str()), (Some("arm"), Some("v7")));
}

#[test]
fn local_daemon_load_then_docker_run() {
    let docker_host = peers().get("RKO_TEST_DOCKER_HOST").to_owned();
    let workspace = hello();
    let mut build = workspace.rko(&["build", "--local", "-t", "itest", "."]);
    let reference = run(build.env("DOCKER_HOST", &docker_host)).success();
    let reference = reference.trim();
    assert!(reference.starts_with(&format!("ko.local/{HELLO_NAME}:")), "{reference}");
    let mut docker = command("docker");
    docker.args(["run", "--rm", &format!("ko.local/{HELLO_NAME}:itest")]).env("DOCKER_HOST", &docker_host);
    let output = run(&mut docker).success();
    assert!(output.contains("kodata says: hello there"), "{output}");
    let mut by_digest = command("docker");
    by_digest.args(["image", "inspect", reference]).env("DOCKER_HOST", &docker_host);
    run(&mut by_digest).success();

    let mut missing = workspace.rko(&["build", "--local", "."]);
    let error = run(missing.env("DOCKER_HOST", "unix:///nonexistent/docker.sock")).failure();
    assert!(error.contains("cannot reach the Docker daemon"), "{error}");
    let mut kind = workspace.rko(&["build", "."]);
    let error = run(kind.env("KO_DOCKER_REPO", "kind.local")).failure();
    assert!(error.contains("kind.local") && error.contains("kind"), "{error}");
}

#[test]
fn transient_failures_are_retried() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let proxy = FaultProxy::start(registry);
    let repository = format!("{}/{}", proxy.address, unique("retry"));
    proxy.inject(
        "PUT",
        "/manifests/",
        1,
        Action::Respond { status: 429, headers: vec![("Retry-After".into(), "1".into())], body: String::new() },
    );
    proxy.inject("PUT", "/blobs/uploads/", 1, Action::Drop);
    proxy.inject("HEAD", "/blobs/", 1, Action::Respond { status: 503, headers: vec![], body: String::new() });
    let workspace = hello();
    let report = build_json(&workspace, &["."], &[("KO_DOCKER_REPO", &repository)]);
    let reference = report["images"][0]["reference"].as_str().unwrap().replacen(&proxy.address, registry, 1);
    assert!(crane(&["validate", "--remote", &reference]).starts_with("PASS"));
    let manifest_puts = proxy.requests().iter().filter(|r| r.starts_with("PUT") && r.contains("/manifests/")).count();
    assert!(manifest_puts >= 3, "the throttled manifest PUT was retried: {:?}", proxy.requests());
}

#[test]
fn registry_failures_fail_fast_with_one_line() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();
    let rejects = |env: &[(&str, &str)], expected: &[&str]| {
        let started = Instant::now();
        let error = rejects(&workspace, &["build", "."], env, expected);
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}: {error}", started.elapsed());
    };
    rejects(&[("KO_DOCKER_REPO", "127.0.0.1:1/nothing")], &["cannot reach registry `127.0.0.1:1`", "refused"]);
    let missing_tag = format!("{registry}/{}:nope", unique("missing"));
    rejects(&[("KO_DOCKER_REPO", registry), ("KO_DEFAULTBASEIMAGE", &missing_tag)], &["not found", "nope"]);
    rejects(&[("KO_DOCKER_REPO", &format!("{registry}/Upper"))], &["must be lowercase", "KO_DOCKER_REPO"]);
    rejects(
        &[("KO_DOCKER_REPO", registry), ("KO_DEFAULTBASEIMAGE", "bad::reference")],
        &["invalid image reference `bad::reference`"],
    );

    let proxy = FaultProxy::start(registry);
    let repository = format!("{}/{}", proxy.address, unique("refused"));
    let refusal = r#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]}"#;
    proxy.inject("PUT", "/blobs/uploads/", 100, Action::Respond { status: 400, headers: vec![], body: refusal.into() });
    rejects(&[("KO_DOCKER_REPO", &repository)], &["refused blob", "BLOB_UPLOAD_INVALID"]);
    assert!(
        !proxy.requests().iter().any(|r| r.starts_with("PUT") && r.contains("/manifests/")),
        "a manifest was pushed after a refused blob"
    );
}

#[test]
fn bearer_tokens_helpers_cert_dirs_streaming_and_chunks() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();

    // Bearer tokens: anonymous pulls work, pushes need the credentials, which come from a
    // docker credential helper here.
    let proxy = FaultProxy::start_with_token_auth(registry);
    let helpers = tempdir();
    let helper = helpers.path().join("docker-credential-rkotest");
    std::fs::write(&helper, "#!/bin/sh\nread server\necho \"{\\\"ServerURL\\\":\\\"$server\\\",\\\"Username\\\":\\\"testuser\\\",\\\"Secret\\\":\\\"testpass\\\"}\"\n").unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker_config = tempdir();
    std::fs::write(
        docker_config.path().join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"rkotest"}}}}"#, proxy.address),
    )
    .unwrap();
    let path = format!("{}:{}", helpers.path().display(), peers().get("PATH"));
    let repository = format!("{}/{}", proxy.address, unique("bearer"));
    let mut anonymous = workspace.rko(&["build", "."]);
    let error = run(anonymous.env("KO_DOCKER_REPO", &repository)).failure();
    assert!(error.contains(&format!("rko login {}", proxy.address)) && error.contains("no credentials"), "{error}");
    let before = proxy.requests().len();
    let report = build_json(
        &workspace,
        &["."],
        &[("KO_DOCKER_REPO", &repository), ("DOCKER_CONFIG", docker_config.path().to_str().unwrap()), ("PATH", &path)],
    );
    let token_requests = proxy.requests()[before..].iter().filter(|r| r.starts_with("GET /token")).count();
    assert_eq!(token_requests, 1, "one token per scope per run: {:?}", &proxy.requests()[before..]);
    let reference = report["images"][0]["reference"].as_str().unwrap().replacen(&proxy.address, registry, 1);
    assert!(crane(&["validate", "--remote", &reference]).starts_with("PASS"));

    // A base on another registry: its layer cannot be mounted, so it is streamed across.
    let base = crane_base(registry);
    let other_registry = peers().get("RKO_TEST_REGISTRY_REFERRERS");
    let target = format!("{other_registry}/{}", unique("across"));
    let report = build_json(&workspace, &["."], &[("KO_DOCKER_REPO", &target), ("KO_DEFAULTBASEIMAGE", &base)]);
    assert_eq!(report["push"]["mounted"], 0, "{report}");
    assert!(report["push"]["uploaded"].as_u64().unwrap() >= 1, "{report}");
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let pushed: serde_json::Value = serde_json::from_str(&crane(&["manifest", reference])).unwrap();
    let base_child = format!("{}:child0", base.rsplit_once(':').unwrap().0);
    let base_manifest: serde_json::Value = serde_json::from_str(&crane(&["manifest", &base_child])).unwrap();
    assert_eq!(pushed["layers"][0]["digest"], base_manifest["layers"][0]["digest"]);
    assert!(
        crane(&["validate", "--remote", reference]).starts_with("PASS"),
        "the base layer reached the other registry"
    );

    // Chunked uploads when the registry asks for them.
    let chunky = FaultProxy::start(registry);
    chunky.inject("POST", "/blobs/uploads/", 100, Action::AddHeader("OCI-Chunk-Min-Length".into(), "1024".into()));
    let repository = format!("{}/{}", chunky.address, unique("chunks"));
    let report = build_json(&workspace, &["."], &[("KO_DOCKER_REPO", &repository)]);
    assert!(chunky.requests().iter().any(|r| r.starts_with("PATCH")), "no chunk was sent: {:?}", chunky.requests());
    let reference = report["images"][0]["reference"].as_str().unwrap().replacen(&chunky.address, registry, 1);
    assert!(crane(&["validate", "--remote", &reference]).starts_with("PASS"));

    // Extra CAs from a directory.
    let tls = peers().get("RKO_TEST_REGISTRY_TLS");
    let certificates = tempdir();
    std::fs::copy(peers().get("RKO_TEST_REGISTRY_CA"), certificates.path().join("test-ca.pem")).unwrap();
    let auth = tempdir();
    std::fs::write(
        auth.path().join("config.json"),
        format!(r#"{{"auths":{{"{tls}":{{"username":"testuser","password":"testpass"}}}}}}"#),
    )
    .unwrap();
    let repository = format!("{tls}/{}", unique("certdir"));
    build_json(
        &workspace,
        &["."],
        &[
            ("KO_DOCKER_REPO", &repository),
            ("SSL_CERT_DIR", certificates.path().to_str().unwrap()),
            ("DOCKER_CONFIG", auth.path().to_str().unwrap()),
        ],
    );
}

/// A Debian `docker-registry` serving TLS with `certificate` and `key` on a free loopback port,
/// stopped when dropped.
struct TlsRegistry {
    port: u16,
    process: std::process::Child,
    _directory: tempfile::TempDir,
}

impl TlsRegistry {
    fn start(certificate: &std::path::Path, key: &std::path::Path) -> TlsRegistry {
        let directory = tempdir();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = directory.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp:\n  addr: 127.0.0.1:{port}\n  tls: {{certificate: {}, key: {}}}\n",
                directory.path().join("data").display(),
                certificate.display(),
                key.display()
            ),
        )
        .unwrap();
        let process = command("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry runs");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "docker-registry did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsRegistry { port, process, _directory: directory }
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// `openssl req -x509` as most people run it: a self-signed certificate that is its own CA
/// (`CA:TRUE`), for `subject_alternative_names`. Returns (certificate, key).
fn self_signed(directory: &std::path::Path, name: &str, subject_alternative_names: &str) -> (PathBuf, PathBuf) {
    let (certificate, key) = (directory.join(format!("{name}.crt")), directory.join(format!("{name}.key")));
    run(command("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .args([
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            &format!("subjectAltName={subject_alternative_names}"),
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            certificate.to_str().unwrap(),
        ]))
    .success();
    let text =
        run(command("openssl").args(["x509", "-noout", "-text", "-in", certificate.to_str().unwrap()])).success();
    assert!(text.contains("CA:TRUE"), "openssl made a certificate that is not a CA: {text}");
    (certificate, key)
}

#[test]
fn a_trusted_self_signed_ca_certificate_is_accepted_as_the_server_certificate() {
    let certificates = tempdir();
    let (certificate, key) = self_signed(certificates.path(), "server", "DNS:localhost");
    let (other, _) = self_signed(certificates.path(), "other", "DNS:localhost,IP:127.0.0.1");
    let registry = TlsRegistry::start(&certificate, &key);
    let workspace = hello();
    let host = format!("localhost:{}", registry.port);
    let repository = format!("{host}/{}", unique("selfsigned"));
    let trusted = [("KO_DOCKER_REPO", repository.as_str()), ("SSL_CERT_FILE", certificate.to_str().unwrap())];
    let report = build_json(&workspace, &["."], &trusted);
    let reference = report["images"][0]["reference"].as_str().unwrap();
    let mut crane_tls = command("crane");
    crane_tls.args(["validate", "--remote", reference]).env("SSL_CERT_FILE", &certificate);
    assert!(run(&mut crane_tls).success().starts_with("PASS"));

    // Another self-signed certificate is no trust for this one.
    let untrusted = [("KO_DOCKER_REPO", repository.as_str()), ("SSL_CERT_FILE", other.to_str().unwrap())];
    let error = rejects(
        &workspace,
        &["build", "."],
        &untrusted,
        &[&format!("cannot reach registry `{host}`"), "SSL_CERT_FILE"],
    );
    assert!(error.contains("certificate") && !error.contains("HTTP"), "{error}");

    // Trusted, but not for this name (the certificate names `localhost` only).
    let by_address = format!("127.0.0.1:{}/{}", registry.port, unique("selfsigned"));
    let wrong_name = [("KO_DOCKER_REPO", by_address.as_str()), ("SSL_CERT_FILE", certificate.to_str().unwrap())];
    rejects(&workspace, &["build", "."], &wrong_name, &["not valid for", "127.0.0.1"]);
}
