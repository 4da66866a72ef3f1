//! Reads the Go build information (`go version -m`) and the Go build ID
//! (`go tool buildid`) straight from a compiled Go binary, without running
//! Go, for ELF, PE and Mach-O files of any word size and byte order. Only the
//! headers and the few kilobytes that hold the answers are read, with seek
//! and read, so binaries of hundreds of megabytes cost next to nothing. This
//! module depends on nothing else in rko.
//!
//! The format code lives in `elf`, `pe` and `macho`; `blob` decodes the build
//! info blob, `buildid` the build ID, `modinfo` the text form of the build
//! information, `quote` Go's string quoting and `reader` the bounded reads.

mod blob;
mod buildid;
mod elf;
mod macho;
mod modinfo;
mod pe;
mod quote;
mod reader;
#[cfg(test)]
mod synthetic_tests;

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

pub use modinfo::{BuildInfo, ModinfoError, Module};

use elf::ElfFile;
use macho::MachOFile;
use pe::PeFile;
use reader::{FileReader, Outcome, Problem};

/// Why a Go binary could not be read. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum GoBinaryError {
    /// The file could not be opened, seeked or read.
    #[error("cannot read `{}`: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not an ELF, PE or Mach-O executable.
    #[error("`{}` is not an executable in a known format (ELF, PE or Mach-O)", file.display())]
    NotExecutable { file: PathBuf },
    /// The executable holds no Go build information: it was not built by
    /// Go, or the information was removed. Callers may warn and go on.
    #[error("`{}` is not a Go binary with build information: {reason}", file.display())]
    NoBuildInfo { file: PathBuf, reason: String },
    /// The executable holds no Go build ID.
    #[error("`{}` has no Go build ID", file.display())]
    NoBuildId { file: PathBuf },
    /// A header, table or string in the file is cut short or inconsistent.
    #[error("`{}` is truncated or corrupt: {reason}", file.display())]
    Corrupt { file: PathBuf, reason: String },
    /// The build information text could not be parsed.
    #[error("cannot parse the Go build information of `{}`: {source}", file.display())]
    Parse {
        file: PathBuf,
        #[source]
        source: ModinfoError,
    },
}

impl GoBinaryError {
    /// Whether the file is simply not a Go binary (or lacks what was asked
    /// for), as opposed to unreadable or damaged: the case to warn about and
    /// continue.
    pub fn is_not_go(&self) -> bool {
        matches!(
            self,
            GoBinaryError::NotExecutable { .. } | GoBinaryError::NoBuildInfo { .. } | GoBinaryError::NoBuildId { .. }
        )
    }

    fn new(file: &Path, problem: Problem) -> GoBinaryError {
        let file = file.to_path_buf();
        match problem {
            Problem::Input(source) => GoBinaryError::Read { file, source },
            Problem::NotExecutable => GoBinaryError::NotExecutable { file },
            Problem::NoBuildInfo(reason) => GoBinaryError::NoBuildInfo { file, reason },
            Problem::NoBuildId => GoBinaryError::NoBuildId { file },
            Problem::Corrupt(reason) => GoBinaryError::Corrupt { file, reason },
        }
    }
}

/// Reads the build information of the Go binary at `path`, like Go's
/// `debug/buildinfo.ReadFile` and `go version -m`.
pub fn read_build_info(path: &Path) -> Result<BuildInfo, GoBinaryError> {
    read_build_info_from(open(path)?, path)
}

/// Reads the Go build ID of the binary at `path`, exactly as
/// `go tool buildid` prints it.
pub fn read_build_id(path: &Path) -> Result<String, GoBinaryError> {
    read_build_id_from(open(path)?, path)
}

/// Like [`read_build_info`], from any seekable source; `name` is only used
/// in error messages.
pub fn read_build_info_from<R: Read + Seek>(source: R, name: &Path) -> Result<BuildInfo, GoBinaryError> {
    let (go_version, modinfo) = FileReader::new(source)
        .and_then(|mut reader| read_raw_build_info(&mut reader))
        .map_err(|problem| GoBinaryError::new(name, problem))?;
    let mut info =
        BuildInfo::parse(&modinfo).map_err(|source| GoBinaryError::Parse { file: name.to_path_buf(), source })?;
    info.go_version = go_version;
    Ok(info)
}

/// Like [`read_build_id`], from any seekable source; `name` is only used
/// in error messages.
pub fn read_build_id_from<R: Read + Seek>(source: R, name: &Path) -> Result<String, GoBinaryError> {
    FileReader::new(source)
        .and_then(|mut reader| buildid::read_build_id(&mut reader))
        .map_err(|problem| GoBinaryError::new(name, problem))
}

fn open(path: &Path) -> Result<File, GoBinaryError> {
    File::open(path).map_err(|source| GoBinaryError::Read { file: path.to_path_buf(), source })
}

/// The container formats told apart by their first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Elf,
    Pe,
    MachO,
    Fat,
}

fn detect_format<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<Format> {
    let ident = reader.read_up_to(0, 16, "file identification")?;
    if ident.len() < 16 {
        return Err(Problem::NotExecutable);
    }
    match ident[..4] {
        [0x7f, b'E', b'L', b'F'] => Ok(Format::Elf),
        [b'M', b'Z', _, _] => Ok(Format::Pe),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf] | [0xce | 0xcf, 0xfa, 0xed, 0xfe] => Ok(Format::MachO),
        [0xca, 0xfe, 0xba, 0xbe | 0xbf] => Ok(Format::Fat),
        _ => Err(Problem::NotExecutable),
    }
}

fn read_raw_build_info<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<(String, String)> {
    let (data_range, space) = match detect_format(reader)? {
        Format::Elf => {
            let file = ElfFile::parse(reader)?;
            (file.data_start(reader)?, file.address_space())
        }
        Format::Pe => {
            let file = PeFile::parse(reader)?;
            (file.data_start(), file.address_space())
        }
        Format::MachO => {
            let file = MachOFile::parse(reader, 0)?;
            (file.data_start(), file.address_space())
        }
        Format::Fat => {
            let file = MachOFile::parse_fat(reader)?;
            (file.data_start(), file.address_space())
        }
    };
    blob::read_raw_build_info(reader, data_range, &space)
}
