//! Integration tests of the gobinary module against real Go binaries: the
//! fixture program of `tests/fixtures/app` (with a replaced dependency and
//! `-ldflags=-X main.v=1`) is cross-compiled for every target in
//! `common::TARGETS`, and what the module reads is compared with what
//! `go version -m` and `go tool buildid` print. Then the same binaries are
//! truncated, stripped of section headers, wrapped in a universal Mach-O
//! file and mutated at random. Depends on nothing else in rko.

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{Random, TARGETS, go_build, go_output, go_toolchain, go_version_m_text};
use rko::gobinary::{
    BuildInfo, GoBinaryError, read_build_id, read_build_id_from, read_build_info, read_build_info_from,
};

struct Fixtures {
    go: PathBuf,
    directory: PathBuf,
}

impl Fixtures {
    fn binary(&self, name: &str) -> PathBuf {
        self.directory.join("bin").join(name)
    }
}

/// Builds every target once per test run; `None` when Go is missing.
fn fixtures() -> Option<&'static Fixtures> {
    static FIXTURES: OnceLock<Option<Fixtures>> = OnceLock::new();
    FIXTURES
        .get_or_init(|| {
            let go = go_toolchain()?;
            let directory = crate::common::fixture_sources("go_binaries");
            for target in TARGETS {
                let output = directory.join("bin").join(target.name);
                go_build(&go, &directory.join("src/app"), &output, target);
            }
            Some(Fixtures { go, directory })
        })
        .as_ref()
}

fn expect_fixture_contents(name: &str, info: &BuildInfo) {
    assert_eq!(info.path, "example.com/fixture", "{name}");
    assert_eq!((info.main.path.as_str(), info.main.version.as_str()), ("example.com/fixture", "(devel)"));
    assert_eq!(info.deps.len(), 1, "{name}");
    let dependency = &info.deps[0];
    assert_eq!((dependency.path.as_str(), dependency.version.as_str()), ("example.com/dep", "v1.2.3"));
    let replacement = dependency.replace.as_deref().expect("the dependency is replaced");
    assert_eq!((replacement.path.as_str(), replacement.version.as_str()), ("../dep", "(devel)"));
    assert!(info.go_version.starts_with("go1."), "{name}: {}", info.go_version);
    let target = TARGETS.iter().find(|target| target.name == name).unwrap();
    assert_eq!(info.setting("GOOS"), Some(target.goos), "{name}");
    assert_eq!(info.setting("GOARCH"), Some(target.goarch), "{name}");
    assert_eq!(info.setting("-buildmode"), Some("exe"), "{name}");
    match name {
        "linux-amd64-trimpath" => assert_eq!(info.setting("-trimpath"), Some("true")),
        "linux-amd64-stripped" => assert_eq!(info.setting("-ldflags"), Some("-s -w -X main.v=1")),
        _ => assert_eq!(info.setting("-ldflags"), Some("-X main.v=1"), "{name}"),
    }
    if name == "linux-arm" {
        assert_eq!(info.setting("GOARM"), Some("7"));
    }
}

#[test]
fn build_info_matches_go_version_m() {
    let Some(fixtures) = fixtures() else { return };
    for target in TARGETS {
        let binary = fixtures.binary(target.name);
        let info = read_build_info(&binary).unwrap_or_else(|error| panic!("{error}"));
        expect_fixture_contents(target.name, &info);
        let expected = go_output(&fixtures.go, &["version", "-m", binary.to_str().unwrap()]);
        assert_eq!(go_version_m_text(&binary, &info), expected, "{}", target.name);
    }
}

#[test]
fn build_id_matches_go_tool_buildid() {
    let Some(fixtures) = fixtures() else { return };
    for target in TARGETS {
        let binary = fixtures.binary(target.name);
        let id = read_build_id(&binary).unwrap_or_else(|error| panic!("{error}"));
        let expected = go_output(&fixtures.go, &["tool", "buildid", binary.to_str().unwrap()]);
        assert_eq!(format!("{id}\n"), expected, "{}", target.name);
        assert_eq!(id.split('/').count(), 4, "{}: {id}", target.name);
    }
}

/// Zeroes `e_shoff`, `e_shnum` and `e_shstrndx`, as tools that strip section
/// headers do: the blob must then be found in the first writable segment.
#[test]
fn elf_without_section_headers_falls_back_to_the_data_segment() {
    let Some(fixtures) = fixtures() else { return };
    for (name, fields) in [
        ("linux-amd64", [40..48, 60..62, 62..64]),
        ("linux-386", [32..36, 48..50, 50..52]),
        ("linux-s390x", [40..48, 60..62, 62..64]),
    ] {
        let binary = fixtures.binary(name);
        let mut bytes = std::fs::read(&binary).unwrap();
        for field in fields {
            bytes[field].fill(0);
        }
        let patched = read_build_info_from(Cursor::new(&bytes), &binary).unwrap();
        assert_eq!(patched, read_build_info(&binary).unwrap(), "{name}");
        let id = read_build_id_from(Cursor::new(&bytes), &binary).unwrap();
        assert_eq!(id, read_build_id(&binary).unwrap(), "{name}");
    }
}

/// A universal Mach-O file of darwin/amd64 and darwin/arm64, read like Go
/// reads it: build info of the first architecture.
#[test]
fn universal_macho_reads_the_first_architecture() {
    let Some(fixtures) = fixtures() else { return };
    let slices = [("darwin-amd64", 0x0100_0007u32, 3u32), ("darwin-arm64", 0x0100_000c, 0)];
    let mut fat = Vec::new();
    fat.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
    fat.extend_from_slice(&2u32.to_be_bytes());
    let mut contents = Vec::new();
    let mut offset = 0x4000usize;
    for (name, cpu, subtype) in slices {
        let slice = std::fs::read(fixtures.binary(name)).unwrap();
        for value in [cpu, subtype, offset as u32, slice.len() as u32, 14] {
            fat.extend_from_slice(&value.to_be_bytes());
        }
        contents.push((offset, slice.clone()));
        offset = (offset + slice.len()).next_multiple_of(0x4000);
    }
    for (at, slice) in contents {
        fat.resize(at, 0);
        fat.extend_from_slice(&slice);
    }
    let path = fixtures.directory.join("bin/darwin-universal");
    std::fs::write(&path, &fat).unwrap();

    let info = read_build_info(&path).unwrap();
    assert_eq!(info.setting("GOARCH"), Some("amd64"));
    let expected = go_output(&fixtures.go, &["version", "-m", path.to_str().unwrap()]);
    assert_eq!(go_version_m_text(&path, &info), expected);
    let expected_id = go_output(&fixtures.go, &["tool", "buildid", path.to_str().unwrap()]);
    assert_eq!(format!("{}\n", read_build_id(&path).unwrap()), expected_id);
}

/// Every prefix of a binary gives an error or exactly the full answer,
/// never something else; ELF files lose their section headers at the end,
/// so cutting even one byte is an error there.
#[test]
fn truncated_binaries_give_errors() {
    let Some(fixtures) = fixtures() else { return };
    for target in TARGETS {
        let binary = fixtures.binary(target.name);
        let bytes = std::fs::read(&binary).unwrap();
        let full_info = read_build_info(&binary).unwrap();
        let full_id = read_build_id(&binary).unwrap();
        let length = bytes.len();
        for cut in [0, 1, 15, 16, 17, 63, 64, 200, 4096, 40_000, length / 4, length / 2, length - 100, length - 1] {
            let prefix = &bytes[..cut];
            let info = read_build_info_from(Cursor::new(prefix), &binary);
            match &info {
                Ok(info) => assert_eq!(info, &full_info, "{} cut at {cut}", target.name),
                Err(error) => assert!(error.to_string().contains(&format!("`{}`", binary.display()))),
            }
            if target.goos == "linux" && cut >= length / 2 {
                let error = info.expect_err("truncated ELF must fail");
                assert!(matches!(error, GoBinaryError::Corrupt { .. }), "{error}");
            }
            if cut < 16 {
                let error = read_build_info_from(Cursor::new(prefix), &binary).unwrap_err();
                assert!(matches!(error, GoBinaryError::NotExecutable { .. }), "{error}");
            }
            if let Ok(id) = read_build_id_from(Cursor::new(prefix), &binary) {
                assert_eq!(id, full_id, "{} cut at {cut}", target.name);
            }
        }
    }
}

/// A reader that refuses single reads larger than the data, so that any
/// attempt at a huge allocation driven by a corrupt length shows up.
struct GuardedReader<'a> {
    cursor: Cursor<&'a [u8]>,
}

impl Read for GuardedReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let length = self.cursor.get_ref().len();
        assert!(buffer.len() <= length.max(16), "read of {} bytes from {length}", buffer.len());
        self.cursor.read(buffer)
    }
}

impl Seek for GuardedReader<'_> {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.cursor.seek(position)
    }
}

/// Mutations per fixture: `GOBINARY_FUZZ_ITERATIONS`, 1500 by default.
fn iterations() -> u64 {
    std::env::var("GOBINARY_FUZZ_ITERATIONS").ok().and_then(|value| value.parse().ok()).unwrap_or(1500)
}

/// Random byte changes in the headers, tables and blob of every fixture
/// never cause a panic or an oversized read.
#[test]
fn mutated_binaries_never_panic() {
    let Some(fixtures) = fixtures() else { return };
    let mut random = Random::new(0x5eed);
    let name = Path::new("mutated");
    for target in TARGETS {
        let mut bytes = std::fs::read(fixtures.binary(target.name)).unwrap();
        let length = bytes.len() as u64;
        let blob = bytes
            .chunks(16)
            .position(|chunk| chunk.starts_with(b"\xff Go buildinf:"))
            .expect("the blob is in the file") as u64
            * 16;
        let regions = [(0, 0x2000), (length - 0x2000, 0x2000), (blob, 0x400)];
        for _ in 0..iterations() {
            let mut changes = Vec::new();
            for _ in 0..1 + random.below(8) {
                let (start, size) = regions[random.below(3) as usize];
                let at = (start + random.below(size)).min(length - 8) as usize;
                // Random bytes, or a word of extreme or small value.
                let value = match random.below(4) {
                    0 => [0xff; 8],
                    1 => random.below(0x100).to_le_bytes(),
                    _ => random.next().to_le_bytes(),
                };
                let width = [1, 2, 4, 8][random.below(4) as usize];
                changes.push((at, bytes[at..at + 8].to_vec()));
                bytes[at..at + width].copy_from_slice(&value[..width]);
            }
            let _ = read_build_info_from(GuardedReader { cursor: Cursor::new(&bytes) }, name);
            let _ = read_build_id_from(GuardedReader { cursor: Cursor::new(&bytes) }, name);
            for (at, original) in changes.into_iter().rev() {
                bytes[at..at + 8].copy_from_slice(&original);
            }
        }
    }
}
