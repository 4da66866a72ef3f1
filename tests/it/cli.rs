//! The command line's smaller promises: two import paths never share one image name, unknown
//! flags get a tip that works, `login -p` warns without echoing the password, packages outside
//! the main module build, and `--local` reaches a daemon through `DOCKER_HOST=ssh://…` (a
//! stand-in `ssh` that relays to the podman socket, so the arguments are checked too).
use std::path::Path;

use crate::support::{Workspace, command, hello, peers, rejects, run, tempdir, unique};

/// A module with two commands whose last path elements are equal.
fn two_commands() -> Workspace {
    let main = |name: &str| format!("package main\n\nfunc main() {{ println(\"{name}\") }}\n");
    Workspace::module(
        "pair",
        &[("cmd/a/main.go", &main("a")), ("cmd/b/main.go", &main("b")), ("tools/a/main.go", &main("tools a"))],
    )
}

#[test]
fn two_import_paths_never_share_one_image_name() {
    let workspace = two_commands();
    let registry = peers().get("RKO_TEST_REGISTRY");
    let repository = format!("{registry}/{}", unique("bare"));
    let env = [("KO_DOCKER_REPO", repository.as_str())];
    // ko pushes both to `KO_DOCKER_REPO:latest`, the second replacing the first.
    let error = rejects(
        &workspace,
        &["build", "--bare", "./cmd/a", "./cmd/b"],
        &env,
        &[
            "`example.com/pair/cmd/a` and `example.com/pair/cmd/b` would both be published as",
            "--bare",
            "separate runs",
        ],
    );
    assert!(!error.contains("Building"), "refused before building: {error}");
    rejects(&workspace, &["build", "--bare", "./..."], &env, &["would both be published as", "--bare"]);
    rejects(&workspace, &["build", "-B", "./cmd/a", "./tools/a"], &env, &[&format!("`{repository}/a`"), "-B", "-P"]);
    workspace.write("k8s.yaml", "a: ko://example.com/pair/cmd/a\nb: ko://example.com/pair/cmd/b\n");
    rejects(&workspace, &["resolve", "--bare", "-f", "k8s.yaml"], &env, &["would both be published as"]);
    let listed = run(command("crane").args(["ls", &repository]));
    assert!(!listed.output.status.success() || listed.stdout().trim().is_empty(), "something was pushed");

    // One import path, or distinct names, are fine.
    let stdout = run(workspace.rko(&["build", "--bare", "./cmd/a"]).env("KO_DOCKER_REPO", &repository)).success();
    assert!(stdout.starts_with(&format!("{repository}@sha256:")), "{stdout}");
    let stdout = run(&mut workspace.rko(&["build", "-B", "--push=false", "./cmd/a", "./cmd/b"])).success();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}

#[test]
fn unknown_flags_get_a_tip_that_works() {
    let workspace = hello();
    let error = run(&mut workspace.rko(&["build", "-q", "."])).failure();
    assert!(!error.contains("-- -q"), "`-- -q` would make `-q` an import path: {error}");
    assert!(error.contains("`-q` is not a flag of `rko build`: `rko build --help` lists them"), "{error}");
    let error = run(&mut workspace.rko(&["apply", "-f", "x.yaml", "--quiet"])).failure();
    assert!(!error.contains("-- --quiet") && error.contains("`rko apply --help`"), "{error}");
}

#[test]
fn login_with_a_password_argument_warns_and_never_prints_it() {
    let registry = peers().get("RKO_TEST_REGISTRY_TLS");
    let certificate = peers().get("RKO_TEST_REGISTRY_CA");
    let workspace = hello();
    let docker_config = tempdir();
    let mut login = workspace.rko(&["login", registry, "-u", "testuser", "-p", "testpass"]);
    let result = run(login.env("DOCKER_CONFIG", docker_config.path()).env("SSL_CERT_FILE", certificate));
    result.success();
    let stderr = result.stderr();
    assert!(
        stderr.contains("warning: passing the password with -p/--password is insecure")
            && stderr.contains("--password-stdin"),
        "{stderr}"
    );
    assert!(!stderr.contains("testpass") && !result.stdout().contains("testpass"), "{stderr}");
    // Wrong password: the warning, the error, and still no password.
    let mut wrong = workspace.rko(&["login", registry, "-u", "testuser", "-p", "n0tit"]);
    let result = run(wrong.env("DOCKER_CONFIG", docker_config.path()).env("SSL_CERT_FILE", certificate));
    let error = result.failure();
    assert!(result.stderr().contains("warning: passing the password") && !result.stderr().contains("n0tit"), "{error}");
}

/// `rko build example.com/dep/cmd/tool`: a main package of a dependency module, found through
/// `go list` (which used to be misread and reported missing).
#[test]
fn packages_outside_the_main_module_build() {
    let workspace = Workspace::module("top", &[("dep/go.mod", "module example.com/dep\n\ngo 1.22\n")]);
    workspace.write("dep/cmd/tool/main.go", "package main\n\nfunc main() { println(\"tool\") }\n");
    let go_mod = std::fs::read_to_string(workspace.path().join("go.mod")).unwrap();
    workspace
        .write("go.mod", &format!("{go_mod}\nrequire example.com/dep v1.2.3\n\nreplace example.com/dep => ./dep\n"));
    let stdout = run(&mut workspace.rko(&["build", "--push=false", "example.com/dep/cmd/tool"])).success();
    assert!(stdout.starts_with("tool-"), "{stdout}");
    rejects(
        &workspace,
        &["build", "--push=false", "example.com/dep/cmd/nothing"],
        &[],
        &["example.com/dep/cmd/nothing"],
    );
}

/// A stand-in `ssh`: records its arguments, then relays stdin and stdout to a unix socket, as
/// `docker system dial-stdio` would on the remote host; `FAKE_SSH_FAIL` makes it fail like an
/// unreachable host.
fn fake_ssh(directory: &Path) {
    let script = directory.join("ssh");
    std::fs::write(
        &script,
        r#"#!/usr/bin/env python3
import os, socket, sys, threading
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
if os.environ.get("FAKE_SSH_FAIL"):
    sys.stderr.write("ssh: connect to host nowhere port 22: Connection refused\n")
    sys.exit(255)
connection = socket.socket(socket.AF_UNIX)
connection.connect(os.environ["FAKE_SSH_SOCKET"])
def upstream():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        connection.sendall(data)
    connection.shutdown(socket.SHUT_WR)
threading.Thread(target=upstream, daemon=True).start()
while True:
    data = connection.recv(65536)
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

#[test]
fn local_reaches_the_daemon_over_ssh() {
    let docker_host = peers().get("RKO_TEST_DOCKER_HOST");
    let socket = docker_host.strip_prefix("unix://").expect("the podman socket is a unix socket");
    let tools = tempdir();
    fake_ssh(tools.path());
    let log = tools.path().join("ssh.log");
    let path = format!("{}:{}", tools.path().display(), peers().get("PATH"));
    let workspace = hello();
    let tag = unique("ssh");
    let with_ssh = |command: &mut std::process::Command| {
        command.env("PATH", &path).env("FAKE_SSH_LOG", &log).env("FAKE_SSH_SOCKET", socket);
    };

    let mut build = workspace.rko(&["build", "--local", "-t", &tag, "."]);
    with_ssh(build.env("DOCKER_HOST", "ssh://deployer@builder.example:2222"));
    let reference = run(&mut build).success();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(!calls.is_empty(), "ssh was not used");
    for call in calls.lines() {
        assert_eq!(call, "-l deployer -p 2222 -- builder.example docker system dial-stdio");
    }
    let mut docker = command("docker");
    docker.args(["image", "inspect", reference.trim()]).env("DOCKER_HOST", docker_host);
    run(&mut docker).success();
    let mut docker = command("docker");
    let name = format!("ko.local/{}:{tag}", crate::support::HELLO_NAME);
    docker.args(["image", "inspect", &name]).env("DOCKER_HOST", docker_host);
    run(&mut docker).success();

    // ssh failing: its own words reach the error.
    let mut unreachable = workspace.rko(&["build", "--local", "."]);
    with_ssh(unreachable.env("DOCKER_HOST", "ssh://nowhere").env("FAKE_SSH_FAIL", "1"));
    let error = run(&mut unreachable).failure();
    assert!(
        error.contains("cannot reach the Docker daemon at `ssh://nowhere`") && error.contains("Connection refused"),
        "{error}"
    );
    // A password in the URL is refused without being repeated.
    let error = rejects(
        &workspace,
        &["build", "--local", "."],
        &[("DOCKER_HOST", "ssh://deployer:hunter2@builder.example")],
        &["has a password", "ssh://[user@]host[:port]"],
    );
    assert!(!error.contains("hunter2"), "{error}");
}
