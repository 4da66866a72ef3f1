//! Shared helpers of the gobinary integration tests: finding the Go
//! toolchain, copying the fixture sources from `tests/fixtures/` to a
//! temporary directory and cross-compiling them there, and running `go` to
//! get the answers to compare with. Depends on nothing else in rko.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `scripts/test-peers` installs the test peers.
pub fn peers_directory() -> PathBuf {
    std::env::var_os("RKO_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/rko-test-peers"))
}

/// The Go toolchain: `$RKO_TEST_GO`, else `$RKO_PEERS/go/bin/go`,
/// else `go` on the `PATH`; `None` (after saying so) when none runs.
pub fn go_toolchain() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(go) = std::env::var_os("RKO_TEST_GO") {
        candidates.push(PathBuf::from(go));
    }
    candidates.push(peers_directory().join("go/bin/go"));
    candidates.push(PathBuf::from("go"));
    let found = candidates
        .into_iter()
        .find(|go| Command::new(go).arg("version").output().is_ok_and(|output| output.status.success()));
    assert!(
        found.is_some(),
        "no Go toolchain (tried $RKO_TEST_GO, $RKO_PEERS/go/bin/go and `go` on PATH): run `scripts/test-peers setup`"
    );
    found
}

/// A `go` command with the environment the project always uses: local
/// toolchain only, no module proxy, no cgo, the shared build cache.
pub fn go_command(go: &Path) -> Command {
    let mut command = Command::new(go);
    let cache = peers_directory().join("gocache");
    command
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", cache)
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0");
    command
}

/// Runs `go` with `arguments` and gives its standard output, panicking
/// with its standard error when it fails.
pub fn go_output(go: &Path, arguments: &[&str]) -> String {
    let output = go_command(go).args(arguments).output().expect("run go");
    assert!(output.status.success(), "go {arguments:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("go prints UTF-8")
}

/// A fresh copy of `tests/fixtures/` under Cargo's temporary directory for
/// integration tests, named after the test crate so that test binaries
/// never share one. Outside any version control, so builds carry no VCS
/// settings.
pub fn fixture_sources(test_name: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gobinary-{test_name}"));
    if directory.exists() {
        fs::remove_dir_all(&directory).expect("clear fixture directory");
    }
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gobinary"), &directory.join("src"));
    fs::create_dir_all(directory.join("bin")).expect("create bin directory");
    directory
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create directory");
    for entry in fs::read_dir(from).expect("read fixture directory") {
        let entry = entry.expect("read fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// Builds the Go program in `source` for `goos`/`goarch` (with extra
/// environment and flags) into `output`.
pub fn go_build(go: &Path, source: &Path, output: &Path, target: &Target) {
    let result = go_command(go)
        .current_dir(source)
        .env("GOOS", target.goos)
        .env("GOARCH", target.goarch)
        .envs(target.environment.iter().copied())
        .arg("build")
        .arg("-buildvcs=false")
        .args(target.flags)
        .arg("-o")
        .arg(output)
        .arg(".")
        .output()
        .expect("run go build");
    assert!(
        result.status.success(),
        "go build for {} failed: {}",
        target.name,
        String::from_utf8_lossy(&result.stderr)
    );
}

/// One cross-compilation of the fixture program.
pub struct Target {
    pub name: &'static str,
    pub goos: &'static str,
    pub goarch: &'static str,
    pub environment: &'static [(&'static str, &'static str)],
    pub flags: &'static [&'static str],
}

const LINKER_FLAGS: &str = "-ldflags=-X main.v=1";

/// Every platform the tests cover, plus `-trimpath` and stripped builds.
pub const TARGETS: &[Target] = &[
    Target { name: "linux-amd64", goos: "linux", goarch: "amd64", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "linux-arm64", goos: "linux", goarch: "arm64", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "linux-386", goos: "linux", goarch: "386", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "linux-arm", goos: "linux", goarch: "arm", environment: &[("GOARM", "7")], flags: &[LINKER_FLAGS] },
    Target { name: "linux-s390x", goos: "linux", goarch: "s390x", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "linux-ppc64le", goos: "linux", goarch: "ppc64le", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "windows-amd64", goos: "windows", goarch: "amd64", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "windows-386", goos: "windows", goarch: "386", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "darwin-arm64", goos: "darwin", goarch: "arm64", environment: &[], flags: &[LINKER_FLAGS] },
    Target { name: "darwin-amd64", goos: "darwin", goarch: "amd64", environment: &[], flags: &[LINKER_FLAGS] },
    Target {
        name: "linux-amd64-trimpath",
        goos: "linux",
        goarch: "amd64",
        environment: &[],
        flags: &["-trimpath", LINKER_FLAGS],
    },
    Target {
        name: "linux-amd64-stripped",
        goos: "linux",
        goarch: "amd64",
        environment: &[],
        flags: &["-ldflags=-s -w -X main.v=1"],
    },
];

/// What `go version -m FILE` prints for the given build information, made
/// the way `cmd/go/internal/version` makes it.
pub fn go_version_m_text(file: &Path, info: &rko::gobinary::BuildInfo) -> String {
    let mut without_version = info.clone();
    without_version.go_version.clear();
    let modules = without_version.to_string();
    let mut text = format!("{}: {}\n", file.display(), info.go_version);
    if !modules.is_empty() {
        text.push_str(&format!("\t{}\n", modules[..modules.len() - 1].replace('\n', "\n\t")));
    }
    text
}

/// A small deterministic pseudo-random generator (xorshift64*).
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, limit: u64) -> u64 {
        if limit == 0 { 0 } else { self.next() % limit }
    }

    pub fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let value = self.next().to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }
}
