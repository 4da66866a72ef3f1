//! Reading the Go build ID, as Go's `cmd/internal/buildid` does: from the
//! `Go` ELF note, or for other formats from the `\xff Go build ID: "..."`
//! string that the linker writes at the start of the text segment. Part of
//! the `gobinary` module; depends on nothing else in rko.

use std::io::{Read, Seek};

use super::elf::ElfFile;
use super::macho::MachOFile;
use super::quote::unquote;
use super::reader::{FileReader, Outcome, Problem};
use super::{Format, detect_format};

/// How much of the file (or of the Mach-O `__text` section) Go searches for
/// the build ID string.
const RAW_SEARCH_SIZE: u64 = 32 * 1024;
const RAW_PREFIX: &[u8] = b"\xff Go build ID: \"";
const RAW_END: &[u8] = b"\"\n \xff";

/// The Go build ID of the executable read by `reader`.
pub(crate) fn read_build_id<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<String> {
    let id = match detect_format(reader)? {
        Format::Elf => ElfFile::parse(reader)?.build_id(reader)?,
        Format::Pe => find_raw(&reader.read_up_to(0, RAW_SEARCH_SIZE, "file start")?)?,
        Format::MachO | Format::Fat => {
            let start = reader.read_up_to(0, RAW_SEARCH_SIZE, "file start")?;
            match find_raw(&start)? {
                Some(id) => Some(id),
                None => read_macho_text(reader)?,
            }
        }
    };
    match id {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(Problem::NoBuildId),
    }
}

fn read_macho_text<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<Option<String>> {
    let file = match detect_format(reader)? {
        Format::Fat => MachOFile::parse_fat(reader)?,
        _ => MachOFile::parse(reader, 0)?,
    };
    let (offset, size) = file.text_range().ok_or_else(|| Problem::corrupt("cannot find __text section"))?;
    let text = reader.read_vec(offset, size.min(RAW_SEARCH_SIZE), "__text section")?;
    find_raw(&text)
}

/// The build ID in `data`, found by its framing: `None` when absent, an
/// error when the framing is broken.
pub(crate) fn find_raw(data: &[u8]) -> Outcome<Option<String>> {
    let Some(start) = find(data, RAW_PREFIX) else {
        return Ok(None);
    };
    let after = start + RAW_PREFIX.len();
    let malformed = || Problem::corrupt("malformed Go build ID");
    let length = find(&data[after..], RAW_END).ok_or_else(malformed)?;
    let quoted = String::from_utf8_lossy(&data[after - 1..after + length + 1]);
    unquote(&quoted).map(Some).ok_or_else(malformed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::find_raw;

    #[test]
    fn finds_the_framed_build_id() {
        let data = b"junk\xff Go build ID: \"abc/def\"\n \xffmore";
        assert_eq!(find_raw(data).unwrap().as_deref(), Some("abc/def"));
        assert_eq!(find_raw(b"no id here").unwrap(), None);
        assert!(find_raw(b"\xff Go build ID: \"abc").is_err());
        assert!(find_raw(b"\xff Go build ID: \"a\nb\"\n \xff").is_err());
    }
}
