//! A reader for the one zip archive rko embeds (Go's `zoneinfo.zip`): stored (uncompressed)
//! entries only, located through the central directory. Depends on nothing else in rko.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("embedded zip archive is malformed: {0}")]
pub struct ZipError(&'static str);

/// One stored entry: its name and its bytes (borrowed from the archive).
pub struct Entry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
}

fn u16_at(bytes: &[u8], offset: usize) -> Result<usize, ZipError> {
    bytes.get(offset..offset + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]]))).ok_or(ZipError("truncated"))
}

fn u32_at(bytes: &[u8], offset: usize) -> Result<usize, ZipError> {
    bytes
        .get(offset..offset + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(ZipError("truncated"))
}

/// Every entry of a zip whose entries are all stored uncompressed.
pub fn entries(archive: &[u8]) -> Result<Vec<Entry<'_>>, ZipError> {
    let end = (0..archive.len().saturating_sub(21))
        .rev()
        .find(|&offset| archive[offset..].starts_with(b"PK\x05\x06"))
        .ok_or(ZipError("no end of central directory"))?;
    let count = u16_at(archive, end + 10)?;
    let mut offset = u32_at(archive, end + 16)?;
    let mut result = Vec::with_capacity(count);
    for _ in 0..count {
        if !archive.get(offset..).is_some_and(|rest| rest.starts_with(b"PK\x01\x02")) {
            return Err(ZipError("bad central directory entry"));
        }
        let method = u16_at(archive, offset + 10)?;
        let size = u32_at(archive, offset + 20)?;
        let name_length = u16_at(archive, offset + 28)?;
        let extra_length = u16_at(archive, offset + 30)?;
        let comment_length = u16_at(archive, offset + 32)?;
        let local = u32_at(archive, offset + 42)?;
        let name = archive.get(offset + 46..offset + 46 + name_length).ok_or(ZipError("truncated name"))?;
        let name = std::str::from_utf8(name).map_err(|_| ZipError("name is not UTF-8"))?;
        if method != 0 {
            return Err(ZipError("compressed entry"));
        }
        if !archive.get(local..).is_some_and(|rest| rest.starts_with(b"PK\x03\x04")) {
            return Err(ZipError("bad local header"));
        }
        let data_start = local + 30 + u16_at(archive, local + 26)? + u16_at(archive, local + 28)?;
        let data = archive.get(data_start..data_start + size).ok_or(ZipError("truncated data"))?;
        result.push(Entry { name, data });
        offset += 46 + name_length + extra_length + comment_length;
    }
    Ok(result)
}
