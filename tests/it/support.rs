//! What every integration test needs: the peers `scripts/test-peers` installed (read from
//! `$RKO_PEERS/env.sh`), throwaway Go modules outside any git repository (so Go stamps no VCS
//! data), and the real `rko` binary run with a clean, explicit environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The test peers' environment (`scripts/test-peers env`).
pub struct Peers {
    pub env: BTreeMap<String, String>,
}

pub fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let directory = std::env::var_os("RKO_PEERS").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".cache/rko-test-peers")
        });
        let env_file = directory.join("env.sh");
        assert!(env_file.is_file(), "no `{}`: run `scripts/test-peers setup` (or `scripts/test`)", env_file.display());
        let output = Command::new("bash")
            .arg("-c")
            .arg(format!(". '{}' && env -0", env_file.display()))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("bash runs");
        let env = output
            .stdout
            .split(|byte| *byte == 0)
            .filter_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                let (key, value) = entry.split_once('=')?;
                Some((key.to_owned(), value.to_owned()))
            })
            .collect();
        Peers { env }
    })
}

/// A command run with the peers' `PATH` and Go settings and nothing else from the caller.
pub fn command(program: &str) -> Command {
    let peers = peers();
    let mut command = Command::new(program);
    command.env_clear();
    for key in [
        "PATH",
        "GOTOOLCHAIN",
        "GOPROXY",
        "GOSUMDB",
        "GOFLAGS",
        "GOTELEMETRY",
        "GOCACHE",
        "GOMODCACHE",
        "GOPATH",
        "CONTAINERS_CONF",
        "CONTAINERS_STORAGE_CONF",
        "CONTAINERS_REGISTRIES_CONF",
    ] {
        if let Some(value) = peers.env.get(key) {
            command.env(key, value);
        }
    }
    command.env("HOME", std::env::var_os("HOME").unwrap_or_default()).env("NO_COLOR", "1");
    command
}

/// The `rko` binary under test.
pub fn rko_binary() -> &'static str {
    env!("CARGO_BIN_EXE_rko")
}

/// A Go module in a temporary directory, with its own rko cache.
pub struct Workspace {
    pub directory: tempfile::TempDir,
    pub cache: tempfile::TempDir,
}

impl Workspace {
    /// A module `example.com/<name>` made of `files` (`path`, `content`).
    pub fn module(name: &str, files: &[(&str, &str)]) -> Workspace {
        let workspace = Workspace { directory: tempdir(), cache: tempdir() };
        workspace.write("go.mod", &format!("module example.com/{name}\n\ngo 1.22\n"));
        for (path, content) in files {
            workspace.write(path, content);
        }
        workspace
    }

    /// A copy of a directory of the repository (`examples/hello`, `tests/fixtures/...`).
    pub fn copy_of(relative: &str) -> Workspace {
        Workspace::copy_from(&repository().join(relative))
    }

    /// A copy of `source` (symlinks kept as links), with an empty cache of its own.
    pub fn copy_from(source: &Path) -> Workspace {
        let workspace = Workspace { directory: tempdir(), cache: tempdir() };
        copy_tree(source, workspace.path());
        workspace
    }

    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    pub fn write(&self, path: &str, content: &str) {
        let path = self.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// `rko ARGS` in this workspace.
    pub fn rko(&self, arguments: &[&str]) -> Command {
        let mut command = command(rko_binary());
        command.current_dir(self.path()).env("RKO_CACHE_DIR", self.cache.path()).args(arguments);
        command
    }
}

/// A temporary directory with a lowercase name (podman refuses `oci:` paths with capitals).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&unique("rko-it")).rand_bytes(0).tempdir().expect("temporary directory")
}

pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(source: &Path, destination: &Path) {
    std::fs::create_dir_all(destination).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let target = destination.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The result of a command, with the assertions tests need.
pub struct Run {
    pub output: Output,
    pub description: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Assert success; return stdout.
    pub fn success(&self) -> String {
        assert!(
            self.output.status.success(),
            "{} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.description,
            self.output.status,
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }

    /// Assert failure with nothing on stdout; return the `error:` line (and what follows it).
    pub fn failure(&self) -> String {
        assert!(
            !self.output.status.success(),
            "{} unexpectedly succeeded:\nstdout:\n{}\nstderr:\n{}",
            self.description,
            self.stdout(),
            self.stderr()
        );
        assert_eq!(self.stdout(), "", "{} printed data on stdout while failing", self.description);
        let stderr = self.stderr();
        let start = stderr
            .find("error: ")
            .unwrap_or_else(|| panic!("{}: no `error:` line in stderr:\n{stderr}", self.description));
        stderr[start..].to_owned()
    }
}

pub fn run(command: &mut Command) -> Run {
    let description = format!("{:?}", command).chars().take(300).collect();
    let output = command.output().unwrap_or_else(|error| panic!("cannot run {description}: {error}"));
    Run { output, description }
}

/// The repository name rko gives `examples/hello` (`hello-<md5 of its import path>`).
pub const HELLO_NAME: &str = "hello-124ec4359fcc3b362d8aa16b0f28dd36";

/// A private copy of `examples/hello`.
pub fn hello() -> Workspace {
    Workspace::copy_of("examples/hello")
}

/// `rko build --json` with extra arguments and environment; returns the parsed report.
pub fn build_json(workspace: &Workspace, arguments: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut rko = workspace.rko(&["build", "--json"]);
    rko.args(arguments);
    for (key, value) in env {
        rko.env(key, value);
    }
    serde_json::from_str(&run(&mut rko).success()).expect("the report is JSON")
}

/// One bad input: the command fails, prints nothing on stdout, and its error names each of
/// `expected`. Returns the error.
pub fn rejects(workspace: &Workspace, arguments: &[&str], env: &[(&str, &str)], expected: &[&str]) -> String {
    let mut command = workspace.rko(arguments);
    for (key, value) in env {
        command.env(key, value);
    }
    let error = run(&mut command).failure();
    for text in expected {
        assert!(error.contains(text), "{arguments:?}: error does not mention `{text}`:\n{error}");
    }
    error
}

/// A base index made with crane (not rko), children in the order of `platforms`, each a tiny
/// image with a layer of its own, tagged `child<n>`; Docker media types (a manifest list of
/// Docker schema 2 images) when `docker`.
pub fn crane_index(registry: &str, platforms: &[&str], docker: bool) -> String {
    let repository = format!("{registry}/{}", unique("base"));
    let scratch = tempdir();
    let mut arguments = vec!["index".to_owned(), "append".to_owned(), format!("--docker-empty-base={docker}")];
    for (number, platform) in platforms.iter().enumerate() {
        let file = format!("child{number}.txt");
        std::fs::write(scratch.path().join(&file), format!("base layer for {platform}\n")).unwrap();
        let tar = scratch.path().join(format!("child{number}.tar"));
        run(command("tar").arg("-C").arg(scratch.path()).arg("-cf").arg(&tar).arg(&file)).success();
        let reference = format!("{repository}:child{number}");
        let empty_base = if docker { "--oci-empty-base=false" } else { "--oci-empty-base" };
        crane(&["append", empty_base, "-f", tar.to_str().unwrap(), "-t", &reference]);
        crane(&["mutate", "--set-platform", platform, "-t", &reference, &reference]);
        arguments.extend(["-m".to_owned(), reference]);
    }
    let index = format!("{repository}:index");
    arguments.extend(["-t".to_owned(), index.clone()]);
    crane(&arguments.iter().map(String::as_str).collect::<Vec<_>>());
    index
}

/// Build and return the single line rko printed.
pub fn build_ok(workspace: &Workspace, arguments: &[&str]) -> String {
    let stdout = run(&mut workspace.rko(arguments)).success();
    stdout.trim_end().to_owned()
}

/// `sha256:<64 hex>` at the end of a reference.
pub fn digest_of(reference: &str) -> String {
    let index = reference.rfind("@sha256:").unwrap_or_else(|| panic!("`{reference}` has no digest"));
    let digest = &reference[index + 1..];
    assert!(digest.len() == 71 && digest[7..].bytes().all(|b| b.is_ascii_hexdigit()), "bad digest in `{reference}`");
    digest.to_owned()
}

/// Read an OCI layout's image (the descriptor annotated `name`, or the only one).
pub struct LayoutImage {
    pub manifest: serde_json::Value,
    pub config: serde_json::Value,
}

pub fn layout_blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))).unwrap()
}

pub fn layout_image(layout: &Path, digest: &str) -> LayoutImage {
    let manifest: serde_json::Value = serde_json::from_slice(&layout_blob(layout, digest)).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_owned();
    let config = serde_json::from_slice(&layout_blob(layout, &config_digest)).unwrap();
    LayoutImage { manifest, config }
}

impl Peers {
    pub fn get(&self, name: &str) -> &str {
        self.env.get(name).map_or_else(|| panic!("{name} is not in the peers environment"), String::as_str)
    }
}

/// A name no other test or run uses (`<prefix>-<pid>-<n>-<nanoseconds>`).
pub fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{count}-{nanos}", std::process::id())
}

/// `crane ARGS`, stdout trimmed (asserting success).
pub fn crane(arguments: &[&str]) -> String {
    run(command("crane").args(arguments)).success().trim().to_owned()
}
