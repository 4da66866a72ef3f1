//! Reading a `docker save` archive in place: one pass over the tar headers records where each
//! entry's bytes are, then entries are read straight from the file (links followed inside the
//! archive). Nothing is extracted and no entry is held in memory, except the small documents
//! asked for with [`Archive::read_small`]. Understands ustar, GNU long names and PAX paths.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

const BLOCK: u64 = 512;
/// Largest long name or PAX header accepted.
const MAX_METADATA: u64 = 1 << 20;
/// How many links a name may go through.
const MAX_LINKS: usize = 16;

#[derive(Clone, Debug)]
enum Entry {
    File {
        offset: u64,
        size: u64,
    },
    /// A symbolic link (relative to the link's directory, or absolute from the archive root).
    Symlink(String),
    /// A hard link (a name from the archive root).
    Hardlink(String),
}

pub struct Archive {
    file: File,
    entries: HashMap<String, Entry>,
}

impl Archive {
    pub fn open(path: &Path) -> io::Result<Archive> {
        let mut file = File::open(path)?;
        let entries = index(&mut file)?;
        Ok(Archive { file, entries })
    }

    /// The bytes of `name` (following links), or `None` when the archive has no such file.
    pub fn reader(&self, name: &str) -> io::Result<Option<io::Take<File>>> {
        let Some((offset, size)) = self.resolve(name) else { return Ok(None) };
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Some(file.take(size)))
    }

    /// A small document (`manifest.json`, a config), at most `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let Some((_, size)) = self.resolve(name) else { return Ok(None) };
        if size > limit {
            return Err(invalid(format!("`{name}` is larger than {limit} bytes")));
        }
        let mut bytes = Vec::new();
        if let Some(mut reader) = self.reader(name)? {
            reader.read_to_end(&mut bytes)?;
        }
        Ok(Some(bytes))
    }

    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalize(name);
        for _ in 0..MAX_LINKS {
            match self.entries.get(&name)? {
                Entry::File { offset, size } => return Some((*offset, *size)),
                Entry::Hardlink(target) => name = normalize(target),
                Entry::Symlink(target) if target.starts_with('/') => name = normalize(target),
                Entry::Symlink(target) => {
                    let directory = name.rsplit_once('/').map_or("", |(directory, _)| directory);
                    name = normalize(&format!("{directory}/{target}"));
                }
            }
        }
        None
    }
}

/// Every entry's name and where its bytes are.
fn index(file: &mut File) -> io::Result<HashMap<String, Entry>> {
    let length = file.metadata()?.len();
    let mut entries = HashMap::new();
    let mut position = 0u64;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax: HashMap<String, String> = HashMap::new();
    let mut header = [0u8; BLOCK as usize];
    loop {
        file.seek(SeekFrom::Start(position))?;
        if position + BLOCK > length {
            return Err(invalid("the archive ends inside a header".into()));
        }
        file.read_exact(&mut header)?;
        if header.iter().all(|&byte| byte == 0) {
            return Ok(entries);
        }
        let mut size = number(&header[124..136])?;
        if let Some(value) = pax.get("size") {
            size = value.parse().map_err(|_| invalid(format!("bad PAX size `{value}`")))?;
        }
        let offset = position + BLOCK;
        if offset.checked_add(size).is_none_or(|end| end > length) {
            return Err(invalid("an entry runs past the end of the archive".into()));
        }
        position = offset + size.div_ceil(BLOCK) * BLOCK;
        let kind = header[156];
        if matches!(kind, b'L' | b'K' | b'x') {
            let text = String::from_utf8_lossy(&metadata(file, offset, size)?).into_owned();
            match kind {
                b'L' => long_name = Some(text.trim_end_matches('\0').to_owned()),
                b'K' => long_link = Some(text.trim_end_matches('\0').to_owned()),
                _ => pax = pax_records(&text),
            }
            continue;
        }
        let name = pax.remove("path").or(long_name.take()).unwrap_or_else(|| ustar_name(&header));
        let link = pax.remove("linkpath").or(long_link.take()).unwrap_or_else(|| text(&header[157..257]));
        pax.clear();
        let entry = match kind {
            b'0' | b'\0' | b'7' => Entry::File { offset, size },
            b'1' => Entry::Hardlink(link),
            b'2' => Entry::Symlink(link),
            // Directories, global PAX headers and special files hold nothing rko reads.
            _ => continue,
        };
        entries.insert(normalize(&name), entry);
    }
}

fn metadata(file: &mut File, offset: u64, size: u64) -> io::Result<Vec<u8>> {
    if size > MAX_METADATA {
        return Err(invalid(format!("a tar metadata entry of {size} bytes")));
    }
    let mut bytes = vec![0; size as usize];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// `<length> <key>=<value>\n` records.
fn pax_records(text: &str) -> HashMap<String, String> {
    let mut records = HashMap::new();
    let mut rest = text;
    while let Some((length, _)) = rest.split_once(' ') {
        let Ok(length) = length.parse::<usize>() else { break };
        let Some(record) = rest.get(..length) else { break };
        if let Some((key, value)) = record.split_once(' ').and_then(|(_, pair)| pair.split_once('=')) {
            records.insert(key.to_owned(), value.trim_end_matches('\n').to_owned());
        }
        rest = &rest[length..];
    }
    records
}

fn ustar_name(header: &[u8]) -> String {
    let name = text(&header[0..100]);
    let prefix = if &header[257..262] == b"ustar" { text(&header[345..500]) } else { String::new() };
    if prefix.is_empty() { name } else { format!("{prefix}/{name}") }
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&byte| byte == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal field, or a base-256 one (high bit set) for large values.
fn number(field: &[u8]) -> io::Result<u64> {
    if field[0] & 0x80 != 0 {
        return Ok(field[1..].iter().fold(u64::from(field[0] & 0x7f), |value, &byte| (value << 8) | u64::from(byte)));
    }
    let digits = text(field);
    let digits = digits.trim_matches([' ', '\0']);
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8).map_err(|_| invalid(format!("bad tar number `{digits}`")))
}

/// `./a//b/../c` → `a/c`.
fn normalize(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::image::tar::{Header, TarWriter};

    fn symlink(name: &str, target: &str) -> Vec<u8> {
        // A ustar symlink header, as `docker save` writes for repeated layers.
        let mut block = [0u8; 512];
        block[..name.len()].copy_from_slice(name.as_bytes());
        block[100..107].copy_from_slice(b"0000777");
        block[124..135].copy_from_slice(b"00000000000");
        block[156] = b'2';
        block[157..157 + target.len()].copy_from_slice(target.as_bytes());
        block[257..263].copy_from_slice(b"ustar\0");
        block[263..265].copy_from_slice(b"00");
        block[148..156].copy_from_slice(b"        ");
        let sum: u32 = block.iter().map(|&byte| u32::from(byte)).sum();
        block[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        block.to_vec()
    }

    #[test]
    fn finds_files_through_links_and_long_names() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("save.tar");
        let blob = format!("blobs/sha256/{}", "a".repeat(64));
        // Too long for ustar's name field: one goes in the prefix field, one in a PAX header.
        let prefixed = format!("{}/{}", "d".repeat(90), "f".repeat(60));
        let pax = "p".repeat(120);
        let mut bytes = Vec::new();
        {
            let mut tar = TarWriter::new(&mut bytes);
            tar.append(&Header::file("manifest.json", 0o644, 0, 2), &b"[]"[..]).unwrap();
            tar.append(&Header::file(&blob, 0o644, 0, 5), &b"layer"[..]).unwrap();
            tar.get_mut().write_all(&symlink("abc/layer.tar", &format!("../{blob}"))).unwrap();
            tar.append(&Header::file(&prefixed, 0o644, 0, 8), &b"prefixed"[..]).unwrap();
            tar.append(&Header::file(&pax, 0o644, 0, 3), &b"pax"[..]).unwrap();
            tar.finish().unwrap();
        }
        std::fs::write(&path, &bytes).unwrap();
        let archive = Archive::open(&path).unwrap();
        assert_eq!(archive.read_small("./manifest.json", 10).unwrap().unwrap(), b"[]");
        assert_eq!(archive.read_small("abc/layer.tar", 10).unwrap().unwrap(), b"layer");
        assert_eq!(archive.read_small(&prefixed, 10).unwrap().unwrap(), b"prefixed");
        assert_eq!(archive.read_small(&pax, 10).unwrap().unwrap(), b"pax");
        assert!(archive.read_small("manifest.json", 1).is_err());
        assert!(archive.reader("missing").unwrap().is_none());
    }

    #[test]
    fn a_truncated_archive_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("save.tar");
        let mut bytes = Vec::new();
        TarWriter::new(&mut bytes).append(&Header::file("config.json", 0o644, 0, 600), &[b'x'; 600][..]).unwrap();
        bytes.truncate(700);
        std::fs::write(&path, &bytes).unwrap();
        assert!(Archive::open(&path).is_err());
    }
}
