//! Finding and decoding the build info blob that Go's linker leaves in the
//! data of every Go binary, as Go's `debug/buildinfo` does: a 16-byte aligned
//! `\xff Go buildinf:` header followed either by two varint-prefixed strings
//! (Go 1.18 and later) or by two pointers to Go strings (older Go). Part of
//! the `gobinary` module; depends on nothing else in rko.

use std::io::{Read, Seek};

use super::reader::{AddressSpace, ByteOrder, Decoder, FileReader, MAXIMUM_READ, Outcome, Problem};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const ALIGN: u64 = 16;
const HEADER_SIZE: u64 = 32;
const SEARCH_CHUNK: u64 = 1 << 20;
const POINTER_SIZE_OFFSET: usize = 14;
const FLAGS_OFFSET: usize = 15;
const VERSION_POINTER_OFFSET: usize = 16;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE_STRINGS: u8 = 0x2;

/// The Go version and the modinfo text (sentinels removed, empty for a
/// binary built without modules) of the blob in `data_range`.
pub(crate) fn read_raw_build_info<R: Read + Seek>(
    reader: &mut FileReader<R>,
    data_range: Option<(u64, u64)>,
    space: &AddressSpace,
) -> Outcome<(String, String)> {
    let (start, size) = data_range
        .filter(|&(_, size)| size != 0)
        .ok_or_else(|| not_go("no data section to hold Go build information"))?;
    let address = search_magic(reader, space, start, size)?;
    let header = space.read(reader, address, HEADER_SIZE)?.unwrap_or_default();
    if header.len() < HEADER_SIZE as usize {
        return Err(not_go("the build information header is cut short"));
    }
    let flags = header[FLAGS_OFFSET];
    let (version, modinfo) = if flags & FLAG_INLINE_STRINGS != 0 {
        let (version, next) = decode_string(reader, space, address + HEADER_SIZE)?;
        let (modinfo, _) = decode_string(reader, space, next)?;
        (version, modinfo)
    } else {
        let order = if flags & FLAG_BIG_ENDIAN != 0 { ByteOrder::Big } else { ByteOrder::Little };
        let wide = match header[POINTER_SIZE_OFFSET] {
            4 => false,
            8 => true,
            size => return Err(not_go(&format!("unknown pointer size {size}"))),
        };
        let width = if wide { 8 } else { 4 };
        let pointers = Decoder::new(&header, order);
        let version_address = pointers.word(VERSION_POINTER_OFFSET, wide)?;
        let modinfo_address = pointers.word(VERSION_POINTER_OFFSET + width, wide)?;
        (
            read_pointed_string(reader, space, version_address, order, wide)?,
            read_pointed_string(reader, space, modinfo_address, order, wide)?,
        )
    };
    if version.is_empty() {
        return Err(not_go("the build information holds no Go version"));
    }
    let version = String::from_utf8_lossy(&version).into_owned();
    let length = modinfo.len();
    let modinfo = if length >= 33 && modinfo[length - 17] == b'\n' {
        String::from_utf8_lossy(&modinfo[16..length - 16]).into_owned()
    } else {
        String::new()
    };
    Ok((version, modinfo))
}

fn not_go(reason: &str) -> Problem {
    Problem::NoBuildInfo(reason.to_string())
}

/// The address of the first 16-byte aligned magic in `[start, start+size)`,
/// read a megabyte at a time.
fn search_magic<R: Read + Seek>(
    reader: &mut FileReader<R>,
    space: &AddressSpace,
    start: u64,
    size: u64,
) -> Outcome<u64> {
    let end = start.checked_add(size).ok_or_else(|| Problem::corrupt("data section range overflows"))?;
    let Some(mut chunk_start) = start.checked_add(ALIGN - 1).map(|sum| sum & !(ALIGN - 1)) else {
        return Err(Problem::corrupt("data section range overflows"));
    };
    let not_found = || not_go("no Go build information magic in the data section");
    while chunk_start < end {
        let remaining = end - chunk_start;
        let chunk = space
            .read(reader, chunk_start, remaining.min(SEARCH_CHUNK))?
            .filter(|chunk| !chunk.is_empty())
            .ok_or_else(not_found)?;
        for at in (0..chunk.len()).step_by(ALIGN as usize) {
            if chunk[at..].starts_with(MAGIC) {
                if remaining - (at as u64) < HEADER_SIZE {
                    return Err(not_go("the build information header is cut short"));
                }
                return Ok(chunk_start + at as u64);
            }
        }
        chunk_start = chunk_start.saturating_add(SEARCH_CHUNK);
    }
    Err(not_found())
}

/// A varint length followed by that many bytes, and the address after them.
fn decode_string<R: Read + Seek>(
    reader: &mut FileReader<R>,
    space: &AddressSpace,
    address: u64,
) -> Outcome<(Vec<u8>, u64)> {
    let prefix =
        space.read(reader, address, 10)?.ok_or_else(|| not_go("a build information string lies outside the file"))?;
    let (length, prefix_size) =
        decode_uvarint(&prefix).ok_or_else(|| not_go("bad length of a build information string"))?;
    if length > MAXIMUM_READ {
        return Err(Problem::corrupt(format!("build information string of {length} bytes is too long")));
    }
    let start = address.saturating_add(prefix_size);
    let bytes = space.read(reader, start, length)?.unwrap_or_default();
    if (bytes.len() as u64) < length {
        return Err(Problem::corrupt("a build information string is cut short"));
    }
    Ok((bytes, start.saturating_add(length)))
}

/// Go's `binary.Uvarint`: the value and the bytes it took, or `None` when
/// the buffer ends first or the value overflows 64 bits.
fn decode_uvarint(bytes: &[u8]) -> Option<(u64, u64)> {
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        if byte < 0x80 {
            if index == 9 && byte > 1 {
                return None;
            }
            return Some((value | u64::from(byte) << (7 * index), index as u64 + 1));
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
    }
    None
}

/// A Go string (data pointer and length) at `address`, as the pre-1.18
/// format stores it; empty when any part of it is missing, like Go.
fn read_pointed_string<R: Read + Seek>(
    reader: &mut FileReader<R>,
    space: &AddressSpace,
    address: u64,
    order: ByteOrder,
    wide: bool,
) -> Outcome<Vec<u8>> {
    let width: u64 = if wide { 8 } else { 4 };
    let Some(header) = space.read(reader, address, 2 * width)? else {
        return Ok(Vec::new());
    };
    if header.len() < 2 * width as usize {
        return Ok(Vec::new());
    }
    let decoder = Decoder::new(&header, order);
    let data_address = decoder.word(0, wide)?;
    let length = decoder.word(width as usize, wide)?;
    if length > MAXIMUM_READ {
        return Ok(Vec::new());
    }
    match space.read(reader, data_address, length)? {
        Some(data) if data.len() as u64 == length => Ok(data),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::decode_uvarint;

    #[test]
    fn decodes_varints_like_go() {
        assert_eq!(decode_uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(decode_uvarint(&[0xac, 0x02]), Some((300, 2)));
        assert_eq!(decode_uvarint(&[0x80]), None);
        assert_eq!(decode_uvarint(&[]), None);
        let largest = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode_uvarint(&largest), Some((u64::MAX, 10)));
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(decode_uvarint(&overflow), None);
    }
}
