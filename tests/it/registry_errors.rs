//! How registry failures reach the user: an HTTP answer is reported with its status and the
//! registry's own error (never as a TLS error), 408/429/5xx, dropped connections and stalls are
//! retried, a stall says how long rko waited (`RKO_REGISTRY_TIMEOUT`), and a 401 without
//! credentials says where rko looked and how to add them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::proxy::{Action, FaultProxy};
use crate::support::{build_json, hello, peers, rejects, tempdir, unique};

/// What the stub registry does with each plain HTTP request.
#[derive(Clone)]
enum Answer {
    Status(u16, &'static str),
    /// Answer 429 with `Retry-After: 0`.
    Throttle,
    /// Read the request and never answer.
    Stall,
    /// Read the request and close the connection.
    Close,
}

/// A registry stub on 127.0.0.1 that answers every request the same way. Like a Go server on a
/// plain port, it answers a TLS handshake with `400 Bad Request`.
struct Stub {
    address: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    fn start(answer: Answer) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (answer, log) = (answer.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &answer, &log));
            }
        });
        Stub { address, requests }
    }

    /// The plain HTTP request lines seen (`GET /v2/`).
    fn plain_requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().iter().filter(|line| line.as_str() != "TLS").cloned().collect()
    }
}

fn serve(mut stream: TcpStream, answer: &Answer, log: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 16 << 10];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
        if head.first() == Some(&0x16) {
            log.lock().unwrap().push("TLS".into());
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request");
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("").rsplit_once(' ').map_or("", |(line, _)| line).to_owned();
    log.lock().unwrap().push(line);
    let (status, headers, body) = match answer {
        Answer::Status(status, body) => (*status, "Content-Type: application/json\r\n", *body),
        Answer::Throttle => {
            (429, "Retry-After: 0\r\n", r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#)
        }
        Answer::Stall => {
            std::thread::sleep(std::time::Duration::from_secs(120));
            return;
        }
        Answer::Close => return,
    };
    let response =
        format!("HTTP/1.1 {status} Stub\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(response.as_bytes());
}

const BOOM: &str = r#"{"errors":[{"code":"UNKNOWN","message":"boom"}]}"#;

#[test]
fn answers_to_the_api_root_are_reported_with_their_status_not_as_tls_errors() {
    let workspace = hello();
    let build = |stub: &Stub, expected: &[&str]| {
        let repository = format!("{}/app", stub.address);
        let env = [("KO_DOCKER_REPO", repository.as_str()), ("RKO_REGISTRY_TIMEOUT", "1")];
        let error = rejects(&workspace, &["build", "."], &env, expected);
        assert!(!error.to_lowercase().contains("tls"), "an HTTP answer reported as a TLS error: {error}");
        assert_eq!(error.trim_end().lines().count(), 1, "one line: {error}");
        error
    };

    let failing = Stub::start(Answer::Status(500, BOOM));
    build(&failing, &[&format!("registry `{}`", failing.address), "500", "UNKNOWN: boom", "4 attempts"]);
    assert_eq!(failing.plain_requests().len(), 4, "5xx is retried: {:?}", failing.plain_requests());

    let throttling = Stub::start(Answer::Throttle);
    build(&throttling, &["429", "TOOMANYREQUESTS: slow down"]);
    assert!(throttling.plain_requests().len() > 1, "429 is retried");

    let denied = r#"{"errors":[{"code":"DENIED","message":"not from here"}]}"#;
    let forbidding = Stub::start(Answer::Status(403, denied));
    build(&forbidding, &["403", "DENIED: not from here"]);
    assert_eq!(forbidding.plain_requests(), ["GET /v2/"], "403 is not retried");

    let elsewhere = Stub::start(Answer::Status(404, "404 page not found"));
    build(&elsewhere, &["404", "404 page not found", "/v2/"]);

    let stalling = Stub::start(Answer::Stall);
    build(&stalling, &[&format!("cannot reach registry `{}`", stalling.address), "timed out after 1 s"]);

    let closing = Stub::start(Answer::Close);
    build(&closing, &[&format!("cannot reach registry `{}`", closing.address), "closed"]);
    assert!(closing.plain_requests().len() > 1, "a dropped connection is retried");
}

#[test]
fn failures_after_the_ping_name_the_status_and_the_registry_error() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();

    // Two failed pings, then the registry recovers: the push succeeds.
    let proxy = FaultProxy::start(registry);
    proxy.inject("GET", "/v2/", 2, Action::Respond { status: 503, headers: vec![], body: BOOM.into() });
    let repository = format!("{}/{}", proxy.address, unique("recovers"));
    build_json(&workspace, &["--sbom=none", "."], &[("KO_DOCKER_REPO", &repository)]);

    let proxy = FaultProxy::start(registry);
    proxy.inject("PUT", "/manifests/", 100, Action::Respond { status: 500, headers: vec![], body: BOOM.into() });
    let repository = format!("{}/{}", proxy.address, unique("manifest"));
    let error = rejects(&workspace, &["build", "."], &[("KO_DOCKER_REPO", &repository)], &["500", "UNKNOWN: boom"]);
    assert!(error.contains("manifest") && error.contains("4 attempts") && !error.contains("  "), "{error}");

    let proxy = FaultProxy::start(registry);
    let denied = r#"{"errors":[{"code":"DENIED","message":"no uploads"}]}"#;
    proxy.inject("POST", "/blobs/uploads/", 100, Action::Respond { status: 403, headers: vec![], body: denied.into() });
    let repository = format!("{}/{}", proxy.address, unique("upload"));
    rejects(&workspace, &["build", "."], &[("KO_DOCKER_REPO", &repository)], &["denied", "403", "DENIED: no uploads"]);

    // A token endpoint that fails: its status and error, after retries.
    let proxy = FaultProxy::start_with_token_auth(registry);
    proxy.inject("GET", "/token", 100, Action::Respond { status: 500, headers: vec![], body: BOOM.into() });
    let repository = format!("{}/{}", proxy.address, unique("token"));
    rejects(&workspace, &["build", "."], &[("KO_DOCKER_REPO", &repository)], &["token", "500", "UNKNOWN: boom"]);
    let token_requests = proxy.requests().iter().filter(|r| r.starts_with("GET /token")).count();
    assert!(token_requests > 1, "a failing token endpoint is retried: {:?}", proxy.requests());
}

#[test]
fn stalls_are_retried_then_reported_with_the_time_waited() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();
    let base = crate::support::crane_index(registry, &["linux/amd64"], false);
    let timeout = ("RKO_REGISTRY_TIMEOUT", "1");

    // A base manifest and a blob (its config, then its layer for the layout) that stop
    // half-way, once: read again.
    let proxy = FaultProxy::start(registry);
    proxy.inject("GET", "/manifests/", 1, Action::Truncate { keep: 20 });
    proxy.inject("GET", "/blobs/", 2, Action::Truncate { keep: 5 });
    let proxied_base = base.replacen(registry, &proxy.address, 1);
    let layout = tempdir();
    let layout_path = layout.path().to_str().unwrap();
    let arguments = ["--push=false", "--oci-layout-path", layout_path, "."];
    build_json(&workspace, &arguments, &[("KO_DEFAULTBASEIMAGE", &proxied_base), timeout]);

    // Always: one line saying how long rko waited.
    proxy.inject("GET", "/manifests/", 100, Action::Truncate { keep: 20 });
    rejects(
        &workspace,
        &["build", "--push=false", "."],
        &[("KO_DEFAULTBASEIMAGE", &proxied_base), timeout],
        &[&format!("registry `{}`", proxy.address), "timed out after 1 s"],
    );

    // An upload the registry never answers, once, and a HEAD that never comes back: retried.
    let proxy = FaultProxy::start(registry);
    proxy.inject("PUT", "/blobs/uploads/", 1, Action::Stall);
    proxy.inject("HEAD", "/blobs/", 1, Action::Stall);
    let repository = format!("{}/{}", proxy.address, unique("stall"));
    build_json(&workspace, &["--sbom=none", "."], &[("KO_DOCKER_REPO", &repository), timeout]);
    let uploads = proxy.requests().iter().filter(|r| r.starts_with("PUT") && r.contains("/blobs/uploads/")).count();
    assert!(uploads >= 4, "the stalled upload was sent again: {:?}", proxy.requests());

    let error = rejects(
        &workspace,
        &["build", "."],
        &[("KO_DOCKER_REPO", &repository), ("RKO_REGISTRY_TIMEOUT", "0")],
        &["RKO_REGISTRY_TIMEOUT"],
    );
    assert!(error.contains("`0`"), "{error}");
}

/// A docker config directory with `config`, or an empty one.
fn docker_config(config: Option<&str>) -> tempfile::TempDir {
    let directory = tempdir();
    if let Some(config) = config {
        std::fs::write(directory.path().join("config.json"), config).unwrap();
    }
    directory
}

#[test]
fn a_refusal_without_credentials_says_none_were_found_and_how_to_add_them() {
    let registry = peers().get("RKO_TEST_REGISTRY");
    let workspace = hello();
    let no_credentials = |proxy: &str, config: &tempfile::TempDir, path: Option<&str>, expected: &[&str]| {
        let repository = format!("{proxy}/{}", unique("anonymous"));
        let mut env = vec![("KO_DOCKER_REPO", repository.as_str()), ("DOCKER_CONFIG", config.path().to_str().unwrap())];
        if let Some(path) = path {
            env.push(("PATH", path));
        }
        let error = rejects(&workspace, &["build", "."], &env, expected);
        assert!(!error.contains("rejected the credentials"), "{error}");
        for hint in [format!("rko login {proxy}"), "DOCKER_CONFIG".into(), "credHelpers".into()] {
            assert!(error.contains(&hint), "no `{hint}` in: {error}");
        }
    };

    // Bearer tokens: the anonymous token has no push scope.
    let proxy = FaultProxy::start_with_token_auth(registry);
    let empty = docker_config(None);
    let config_file = empty.path().join("config.json").display().to_string();
    no_credentials(&proxy.address, &empty, None, &["no credentials", &config_file]);
    let other = docker_config(Some(r#"{"auths":{"other.example":{"auth":"YTpi"}}}"#));
    no_credentials(&proxy.address, &other, None, &["no credentials", &format!("no entry for `{}`", proxy.address)]);

    // A credential helper that has nothing for this registry.
    let helpers = tempdir();
    let helper = helpers.path().join("docker-credential-rkoempty");
    std::fs::write(&helper, "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n").unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", helpers.path().display(), peers().get("PATH"));
    let with_helper = docker_config(Some(&format!(r#"{{"credHelpers":{{"{}":"rkoempty"}}}}"#, proxy.address)));
    no_credentials(&proxy.address, &with_helper, Some(&path), &["no credentials", "docker-credential-rkoempty"]);

    // An anonymous token request refused outright.
    let refusing = FaultProxy::start_with_token_auth(registry);
    let unauthorized = r#"{"errors":[{"code":"UNAUTHORIZED","message":"anonymous access disabled"}]}"#;
    refusing.inject("GET", "/token", 100, Action::Respond { status: 401, headers: vec![], body: unauthorized.into() });
    no_credentials(&refusing.address, &empty, None, &["no credentials", "anonymous access disabled"]);

    // Basic auth (htpasswd over TLS) with no credentials.
    let tls = peers().get("RKO_TEST_REGISTRY_TLS");
    let repository = format!("{tls}/{}", unique("anonymous"));
    let env = [
        ("KO_DOCKER_REPO", repository.as_str()),
        ("DOCKER_CONFIG", empty.path().to_str().unwrap()),
        ("SSL_CERT_FILE", peers().get("RKO_TEST_REGISTRY_CA")),
    ];
    let error = rejects(&workspace, &["build", "."], &env, &["no credentials", &format!("rko login {tls}")]);
    assert!(!error.contains("rejected the credentials"), "{error}");

    // Credentials that are there but wrong keep saying so.
    let wrong =
        docker_config(Some(&format!(r#"{{"auths":{{"{}":{{"auth":"dGVzdHVzZXI6d3Jvbmc="}}}}}}"#, proxy.address)));
    let repository = format!("{}/{}", proxy.address, unique("wrong"));
    let env = [("KO_DOCKER_REPO", repository.as_str()), ("DOCKER_CONFIG", wrong.path().to_str().unwrap())];
    rejects(&workspace, &["build", "."], &env, &[&format!("registry `{}` rejected the credentials", proxy.address)]);
}
