//! Integration tests of the gobinary module on inputs that are not Go
//! binaries: native executables, text files, missing files and random
//! bytes dressed up with the magic numbers of every format. None may panic;
//! each must give the right error variant. Needs no Go toolchain. Depends on
//! nothing else in rko.

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use crate::common::Random;
use rko::gobinary::{GoBinaryError, read_build_id, read_build_id_from, read_build_info, read_build_info_from};

#[test]
fn native_executables_are_not_go() {
    let test_binary = std::env::current_exe().unwrap();
    let mut candidates = vec![test_binary];
    for system in ["/bin/ls", "/usr/bin/env"] {
        if Path::new(system).exists() {
            candidates.push(system.into());
        }
    }
    for path in candidates {
        let error = read_build_info(&path).unwrap_err();
        assert!(matches!(error, GoBinaryError::NoBuildInfo { .. }), "{error}");
        assert!(error.is_not_go());
        let expected = format!("`{}` is not a Go binary with build information: ", path.display());
        assert!(error.to_string().starts_with(&expected), "{error}");
        let error = read_build_id(&path).unwrap_err();
        assert!(matches!(error, GoBinaryError::NoBuildId { .. }), "{error}");
        assert_eq!(error.to_string(), format!("`{}` has no Go build ID", path.display()));
    }
}

#[test]
fn other_files_are_not_executables_and_missing_files_are_unreadable() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    for result in [read_build_info(&manifest).map(|_| ()), read_build_id(&manifest).map(|_| ())] {
        let error = result.unwrap_err();
        assert!(matches!(error, GoBinaryError::NotExecutable { .. }), "{error}");
        assert!(error.to_string().starts_with(&format!("`{}` is not an executable", manifest.display())));
    }
    let missing = Path::new("/nonexistent/go-binary");
    let error = read_build_info(missing).unwrap_err();
    assert!(matches!(error, GoBinaryError::Read { .. }), "{error}");
    assert!(!error.is_not_go());
    assert!(error.to_string().starts_with("cannot read `/nonexistent/go-binary`: "), "{error}");
    assert!(!error.to_string().ends_with('.'));
}

/// Fails the test on any single read larger than the input, the sign of an
/// allocation sized by a corrupt length.
struct GuardedReader {
    cursor: Cursor<Vec<u8>>,
}

impl Read for GuardedReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let length = self.cursor.get_ref().len();
        assert!(buffer.len() <= length.max(16), "read of {} bytes from {length}", buffer.len());
        self.cursor.read(buffer)
    }
}

impl Seek for GuardedReader {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.cursor.seek(position)
    }
}

const PREFIXES: &[&[u8]] = &[
    b"\x7fELF\x01\x01\x01",
    b"\x7fELF\x02\x01\x01",
    b"\x7fELF\x01\x02\x01",
    b"\x7fELF\x02\x02\x01",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe\x00\x00\x00\x01",
    b"\xca\xfe\xba\xbf\x00\x00\x00\x01",
];

#[test]
fn random_bytes_never_panic() {
    let mut random = Random::new(0xfeed_beef);
    let name = Path::new("random");
    for round in 0..30_000 {
        let length = random.below(if round % 10 == 0 { 70_000 } else { 2_048 }) as usize;
        let mut bytes = vec![0; length];
        random.fill(&mut bytes);
        // Small numbers make offsets and counts land inside the file.
        for byte in bytes.iter_mut() {
            if random.below(3) == 0 {
                *byte &= 0x1f;
            }
        }
        let prefix = PREFIXES[random.below(PREFIXES.len() as u64) as usize];
        if random.below(8) != 0 && length >= prefix.len() {
            bytes[..prefix.len()].copy_from_slice(prefix);
            if prefix == b"MZ" && length > 0x40 {
                let signature = random.below(length as u64 - 4) as u32;
                bytes[0x3c..0x40].copy_from_slice(&signature.to_le_bytes());
                bytes[signature as usize..signature as usize + 4].copy_from_slice(b"PE\0\0");
            }
            if random.below(4) == 0 && length > 0x400 {
                let at = random.below(length as u64 / 16 - 2) as usize * 16;
                bytes[at..at + 14].copy_from_slice(b"\xff Go buildinf:");
            }
        }
        let info = read_build_info_from(GuardedReader { cursor: Cursor::new(bytes.clone()) }, name);
        let id = read_build_id_from(GuardedReader { cursor: Cursor::new(bytes) }, name);
        if let Err(error) = info.map(|_| ()).and(id.map(|_| ())) {
            assert!(error.to_string().contains("`random`"), "{error}");
        }
    }
}
