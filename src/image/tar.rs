//! A tar writer that emits the same bytes as Go's `archive/tar` for the entries ko writes
//! (directories and regular files with fixed modes): USTAR headers with Go's field
//! formatting, the USTAR prefix split for long names, PAX extended headers when USTAR cannot
//! hold a value or PAX records are given, and no padding after the end-of-archive blocks.
//! Matching Go byte for byte is what makes rko's layer diffIDs equal ko's.
//! Depends on nothing else in rko.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

const BLOCK: usize = 512;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;
/// Largest value an 11-digit octal field holds (`size`, `mtime`).
const MAX_OCTAL_11: u64 = 0o777_7777_7777;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    Regular,
}

impl EntryKind {
    fn flag(self) -> u8 {
        match self {
            EntryKind::Directory => b'5',
            EntryKind::Regular => b'0',
        }
    }
}

/// One tar entry header; names are written as given and owner names are left empty.
#[derive(Clone, Debug)]
pub struct Header {
    pub name: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    pub uid: u32,
    pub gid: u32,
    /// Extra PAX records (values may be binary, e.g. capability xattrs).
    pub pax_records: BTreeMap<String, Vec<u8>>,
}

impl Header {
    pub fn directory(name: &str, mode: u32, mtime: i64) -> Header {
        Header {
            name: name.into(),
            kind: EntryKind::Directory,
            mode,
            size: 0,
            mtime,
            uid: 0,
            gid: 0,
            pax_records: BTreeMap::new(),
        }
    }

    pub fn file(name: &str, mode: u32, mtime: i64, size: u64) -> Header {
        Header {
            name: name.into(),
            kind: EntryKind::Regular,
            mode,
            size,
            mtime,
            uid: 0,
            gid: 0,
            pax_records: BTreeMap::new(),
        }
    }
}

/// Writes a tar stream into `W`, one entry at a time.
pub struct TarWriter<W: Write> {
    inner: W,
}

impl<W: Write> TarWriter<W> {
    pub fn new(inner: W) -> Self {
        TarWriter { inner }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Append an entry whose content (exactly `header.size` bytes) comes from `content`.
    pub fn append(&mut self, header: &Header, content: impl Read) -> io::Result<()> {
        self.write_header(header)?;
        let copied = io::copy(&mut content.take(header.size), &mut self.inner)?;
        if copied != header.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "`{}` changed while it was being archived: expected {} bytes, read {copied}",
                    header.name, header.size
                ),
            ));
        }
        self.pad(header.size)
    }

    /// Append an entry without content (directories).
    pub fn append_empty(&mut self, header: &Header) -> io::Result<()> {
        self.write_header(header)
    }

    /// Write the two zero blocks that end the archive and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&[0u8; BLOCK * 2])?;
        Ok(self.inner)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let remainder = (size % BLOCK as u64) as usize;
        if remainder != 0 {
            self.inner.write_all(&[0u8; BLOCK][..BLOCK - remainder])?;
        }
        Ok(())
    }

    fn write_header(&mut self, header: &Header) -> io::Result<()> {
        if header.name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tar entry name `{}` contains NUL", header.name),
            ));
        }
        if header.mtime < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tar entry `{}` has a negative mtime", header.name),
            ));
        }
        let mut pax = BTreeMap::new();
        let mut ustar_ok = header.pax_records.is_empty();
        let name_fits = header.name.is_ascii() && header.name.len() <= NAME_SIZE;
        if !name_fits {
            if split_ustar_path(&header.name).is_none() {
                ustar_ok = false;
            }
            pax.insert("path".to_owned(), header.name.clone().into_bytes());
        }
        if header.size > MAX_OCTAL_11 {
            ustar_ok = false;
            pax.insert("size".to_owned(), header.size.to_string().into_bytes());
        }
        if header.mtime as u64 > MAX_OCTAL_11 {
            ustar_ok = false;
            pax.insert("mtime".to_owned(), header.mtime.to_string().into_bytes());
        }
        if ustar_ok {
            return self.write_ustar(header);
        }
        for (key, value) in &header.pax_records {
            pax.entry(key.clone()).or_insert_with(|| value.clone());
        }
        self.write_pax(header, &pax)
    }

    fn write_ustar(&mut self, header: &Header) -> io::Result<()> {
        let (prefix, name) = split_ustar_path(&header.name).unwrap_or(("", header.name.as_str()));
        let mut block = main_block(header, name);
        format_string(&mut block[345..500], prefix);
        finish_block(&mut block);
        self.inner.write_all(&block)
    }

    fn write_pax(&mut self, header: &Header, records: &BTreeMap<String, Vec<u8>>) -> io::Result<()> {
        let mut data = Vec::new();
        for (key, value) in records {
            data.extend(pax_record(key, value));
        }
        let (directory, file) = match header.name.rfind('/') {
            Some(index) => header.name.split_at(index + 1),
            None => ("", header.name.as_str()),
        };
        let pax_name = path_join(&[directory, "PaxHeaders.0", file]);
        let mut pax_name: String = pax_name.chars().filter(char::is_ascii).collect();
        pax_name.truncate(NAME_SIZE);
        let pax_name = pax_name.trim_end_matches('/');

        let mut block = [0u8; BLOCK];
        block[156] = b'x';
        format_string(&mut block[0..100], pax_name);
        format_octal(&mut block[100..108], 0);
        format_octal(&mut block[108..116], 0);
        format_octal(&mut block[116..124], 0);
        format_octal(&mut block[124..136], data.len() as u64);
        format_octal(&mut block[136..148], 0);
        finish_block(&mut block);
        self.inner.write_all(&block)?;
        self.inner.write_all(&data)?;
        self.pad(data.len() as u64)?;

        let ascii_name: String = header.name.chars().filter(char::is_ascii).collect();
        let mut block = main_block(header, &ascii_name);
        finish_block(&mut block);
        self.inner.write_all(&block)
    }
}

/// The v7 + USTAR fields Go's `templateV7Plus` fills (values too large become 0, as in Go).
fn main_block(header: &Header, name: &str) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    block[156] = header.kind.flag();
    format_string(&mut block[0..100], name);
    format_octal(&mut block[100..108], u64::from(header.mode));
    format_octal(&mut block[108..116], u64::from(header.uid));
    format_octal(&mut block[116..124], u64::from(header.gid));
    format_octal(&mut block[124..136], if header.size > MAX_OCTAL_11 { 0 } else { header.size });
    let mtime = header.mtime as u64;
    format_octal(&mut block[136..148], if mtime > MAX_OCTAL_11 { 0 } else { mtime });
    format_octal(&mut block[329..337], 0);
    format_octal(&mut block[337..345], 0);
    block
}

/// Set the USTAR magic and version, then the checksum (six octal digits, NUL, space).
fn finish_block(block: &mut [u8; BLOCK]) {
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    let checksum: u64 = block
        .iter()
        .enumerate()
        .map(|(index, byte)| if (148..156).contains(&index) { u64::from(b' ') } else { u64::from(*byte) })
        .sum();
    format_octal(&mut block[148..155], checksum);
    block[155] = b' ';
}

/// Go's `formatter.formatString`: copy, NUL-terminate when shorter, and never leave a
/// truncated name ending in `/`.
fn format_string(field: &mut [u8], value: &str) {
    let bytes = value.as_bytes();
    let count = bytes.len().min(field.len());
    field[..count].copy_from_slice(&bytes[..count]);
    if bytes.len() < field.len() {
        field[bytes.len()] = 0;
    } else if bytes.len() > field.len() && field[field.len() - 1] == b'/' {
        let kept = value[..field.len() - 1].trim_end_matches('/').len();
        field[kept] = 0;
    }
}

/// Go's `formatter.formatOctal`: zero-padded octal leaving room for a trailing NUL.
fn format_octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:o}");
    let width = field.len() - 1;
    let padded = if digits.len() < width { format!("{digits:0>width$}") } else { digits };
    format_string(field, &padded);
}

/// Go's `splitUSTARPath`: split a long ASCII name at a `/` into prefix (≤155) and name (≤100).
fn split_ustar_path(name: &str) -> Option<(&str, &str)> {
    let length = name.len();
    if length <= NAME_SIZE || !name.is_ascii() {
        return None;
    }
    let mut limit = length;
    if limit > PREFIX_SIZE + 1 {
        limit = PREFIX_SIZE + 1;
    } else if name.as_bytes()[limit - 1] == b'/' {
        limit -= 1;
    }
    let index = name[..limit].rfind('/')?;
    let suffix_length = length - index - 1;
    if index == 0 || suffix_length > NAME_SIZE || suffix_length == 0 || index > PREFIX_SIZE {
        return None;
    }
    Some((&name[..index], &name[index + 1..]))
}

/// Go's `formatPAXRecord`: `"<length> <key>=<value>\n"`, the length counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_length = key.len() + value.len() + 3;
    let mut size = body_length + body_length.to_string().len();
    if (size.to_string().len() + body_length) != size {
        size = size.to_string().len() + body_length;
    }
    let mut record = format!("{size} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// Go's `path.Join` for the pieces of a PAX header name.
fn path_join(parts: &[&str]) -> String {
    let joined = parts.iter().filter(|part| !part.is_empty()).copied().collect::<Vec<_>>().join("/");
    let absolute = joined.starts_with('/');
    let mut cleaned: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                cleaned.pop();
            }
            _ => cleaned.push(part),
        }
    }
    let body = cleaned.join("/");
    if absolute { format!("/{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(Header, &[u8])]) -> Vec<u8> {
        let mut writer = TarWriter::new(Vec::new());
        for (header, content) in entries {
            writer.append(header, *content).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn directory_header_matches_go_byte_for_byte() {
        let bytes = archive(&[(Header::directory("/var", 0o555, 0), b"")]);
        assert_eq!(bytes.len(), 1536);
        assert_eq!(&bytes[0..5], b"/var\0");
        assert_eq!(&bytes[100..108], b"0000555\0");
        assert_eq!(&bytes[124..136], b"00000000000\0");
        assert_eq!(&bytes[148..156], b"007773\0 ");
        assert_eq!(bytes[156], b'5');
        assert_eq!(&bytes[257..265], b"ustar\x0000");
        assert_eq!(&bytes[329..345], b"0000000\x000000000\0");
    }

    #[test]
    fn long_names_use_the_ustar_prefix_or_pax() {
        let split = format!("/var/run/ko/{}/file.txt", "d".repeat(95));
        let bytes = archive(&[(Header::file(&split, 0o555, 0, 1), b"x")]);
        assert_eq!(&bytes[0..9], b"file.txt\0");
        assert_eq!(&bytes[345..357], b"/var/run/ko/");
        let unsplittable = format!("/var/run/ko/{}", "f".repeat(120));
        let bytes = archive(&[(Header::file(&unsplittable, 0o555, 0, 1), b"x")]);
        assert_eq!(bytes[156], b'x');
        assert!(bytes[0..100].starts_with(b"/var/run/ko/PaxHeaders.0/fff"));
        assert_eq!(unsplittable.len(), 132);
        let record = format!("142 path={unsplittable}\n");
        assert_eq!(&bytes[512..512 + record.len()], record.as_bytes());
        assert_eq!(bytes[1024 + 156], b'0');
    }

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record("path", b"a"), b"9 path=a\n");
        assert_eq!(pax_record("k", "v".repeat(94).as_bytes()), format!("101 k={}\n", "v".repeat(94)).into_bytes());
        assert_eq!(pax_record("k", "v".repeat(95).as_bytes()), format!("102 k={}\n", "v".repeat(95)).into_bytes());
    }

    #[test]
    fn content_shorter_than_declared_is_an_error() {
        let mut writer = TarWriter::new(Vec::new());
        assert!(writer.append(&Header::file("a", 0o555, 0, 10), &b"short"[..]).is_err());
    }
}
