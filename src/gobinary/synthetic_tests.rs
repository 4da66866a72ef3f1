//! Unit tests of the `gobinary` module on small executables built byte by
//! byte: the layouts that the Go toolchain at hand no longer produces (the
//! pointer-based blob of Go before 1.18, 32-bit big-endian Mach-O, ELF files
//! without section headers) and edge cases of the note walk and the blob
//! search. Depends on nothing else in rko.

use std::io::Cursor;
use std::path::Path;

use super::reader::ByteOrder;
use super::{GoBinaryError, read_build_id_from, read_build_info_from};

const START_SENTINEL: &[u8] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
const END_SENTINEL: &[u8] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";
const MODINFO: &str = "path\texample.com/synthetic\nmod\texample.com/synthetic\tv0.1.0\th1:x=\nbuild\tGOOS=linux\n";
const DATA_OFFSET: u64 = 0x1000;
const DATA_ADDRESS: u64 = 0x40_1000;

/// A growable byte image with writes in one byte order.
struct Image {
    bytes: Vec<u8>,
    order: ByteOrder,
}

impl Image {
    fn new(order: ByteOrder) -> Image {
        Image { bytes: Vec::new(), order }
    }

    fn put(&mut self, at: u64, bytes: &[u8]) {
        let at = at as usize;
        if self.bytes.len() < at + bytes.len() {
            self.bytes.resize(at + bytes.len(), 0);
        }
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn number(&mut self, at: u64, value: u64, size: usize) {
        let bytes = match self.order {
            ByteOrder::Little => value.to_le_bytes()[..size].to_vec(),
            ByteOrder::Big => value.to_be_bytes()[8 - size..].to_vec(),
        };
        self.put(at, &bytes);
    }
}

fn framed_modinfo() -> Vec<u8> {
    [START_SENTINEL, MODINFO.as_bytes(), END_SENTINEL].concat()
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    while value >= 0x80 {
        bytes.push(value as u8 | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
    bytes
}

/// The Go 1.18+ blob: header, then both strings inline.
fn inline_blob(version: &str, modinfo: &[u8]) -> Vec<u8> {
    let mut blob = b"\xff Go buildinf:".to_vec();
    blob.extend_from_slice(&[8, 2]);
    blob.resize(32, 0);
    blob.extend(varint(version.len() as u64));
    blob.extend_from_slice(version.as_bytes());
    blob.extend(varint(modinfo.len() as u64));
    blob.extend_from_slice(modinfo);
    blob
}

/// The pre-1.18 blob at `address`: header with two pointers to Go string
/// headers, which point to the bytes that follow.
fn pointer_blob(order: ByteOrder, pointer_size: usize, address: u64) -> Vec<u8> {
    let mut image = Image::new(order);
    image.put(0, b"\xff Go buildinf:");
    let endian_flag = u8::from(order == ByteOrder::Big);
    image.put(14, &[pointer_size as u8, endian_flag]);
    let headers = 32;
    let width = pointer_size as u64;
    let version_bytes = headers + 4 * width;
    let version = b"go1.16.15";
    let modinfo = framed_modinfo();
    let modinfo_bytes = version_bytes + version.len() as u64;
    image.number(16, address + headers, pointer_size);
    image.number(16 + width, address + headers + 2 * width, pointer_size);
    image.number(headers, address + version_bytes, pointer_size);
    image.number(headers + width, version.len() as u64, pointer_size);
    image.number(headers + 2 * width, address + modinfo_bytes, pointer_size);
    image.number(headers + 3 * width, modinfo.len() as u64, pointer_size);
    image.put(version_bytes, version);
    image.put(modinfo_bytes, &modinfo);
    image.bytes
}

fn note(order: ByteOrder, name: &[u8], kind: u32, description: &[u8]) -> Vec<u8> {
    let mut image = Image::new(order);
    image.number(0, name.len() as u64, 4);
    image.number(4, description.len() as u64, 4);
    image.number(8, u64::from(kind), 4);
    let name_end = 12 + name.len().div_ceil(4) * 4;
    image.put(12, name);
    image.put(name_end as u64, description);
    image.bytes.resize(name_end + description.len().div_ceil(4) * 4, 0);
    image.bytes
}

/// An ELF file with a `PT_NOTE` segment holding `notes` (aligned to
/// `note_align`) and one writable `PT_LOAD` segment holding `data`, without
/// section headers.
fn elf(wide: bool, order: ByteOrder, data: &[u8], notes: &[u8], note_align: u64) -> Vec<u8> {
    let mut image = Image::new(order);
    let word = if wide { 8 } else { 4 };
    image.put(0, &[0x7f, b'E', b'L', b'F', if wide { 2 } else { 1 }]);
    image.put(5, &[if order == ByteOrder::Little { 1 } else { 2 }, 1]);
    let (header_size, entry_size): (u64, u64) = if wide { (64, 56) } else { (52, 32) };
    let counts_at = if wide { 54 } else { 42 };
    image.number(if wide { 32 } else { 28 }, header_size, word);
    image.number(counts_at, entry_size, 2);
    image.number(counts_at + 2, 2, 2);
    let note_offset = 0x200;
    let segments = [
        (4, 4, note_offset, note_offset, notes.len() as u64, note_align),
        (1, 6, DATA_OFFSET, DATA_ADDRESS, data.len() as u64, 0x1000),
    ];
    for (index, (kind, flags, offset, address, size, align)) in segments.into_iter().enumerate() {
        let at = header_size + index as u64 * entry_size;
        image.number(at, kind, 4);
        if wide {
            let fields =
                [(4, flags, 4), (8, offset, 8), (16, address, 8), (32, size, 8), (40, size, 8), (48, align, 8)];
            for (field, value, size) in fields {
                image.number(at + field, value, size);
            }
        } else {
            let fields = [(4, offset), (8, address), (16, size), (20, size), (24, flags), (28, align)];
            for (field, value) in fields {
                image.number(at + field, value, 4);
            }
        }
    }
    image.put(note_offset, notes);
    image.put(DATA_OFFSET, data);
    image.bytes
}

fn info_of(bytes: Vec<u8>) -> Result<super::BuildInfo, GoBinaryError> {
    read_build_info_from(Cursor::new(bytes), Path::new("synthetic"))
}

fn id_of(bytes: Vec<u8>) -> Result<String, GoBinaryError> {
    read_build_id_from(Cursor::new(bytes), Path::new("synthetic"))
}

const LAYOUTS: [(bool, ByteOrder); 4] =
    [(true, ByteOrder::Little), (true, ByteOrder::Big), (false, ByteOrder::Little), (false, ByteOrder::Big)];

#[test]
fn reads_inline_blobs_and_notes_of_every_elf_layout() {
    for (wide, order) in LAYOUTS {
        let notes = note(order, b"Go\0\0", 4, b"abc/def");
        let file = elf(wide, order, &inline_blob("go1.22.0", &framed_modinfo()), &notes, 4);
        let info = info_of(file.clone()).unwrap();
        assert_eq!((info.go_version.as_str(), info.path.as_str()), ("go1.22.0", "example.com/synthetic"));
        assert_eq!(info.main.sum, "h1:x=");
        assert_eq!(id_of(file).unwrap(), "abc/def", "{wide} {order:?}");
    }
}

#[test]
fn reads_pointer_blobs_of_go_before_1_18() {
    for (wide, order) in LAYOUTS {
        let blob = pointer_blob(order, if wide { 8 } else { 4 }, DATA_ADDRESS);
        let info = info_of(elf(wide, order, &blob, &[], 4)).unwrap();
        assert_eq!(info.go_version, "go1.16.15", "{wide} {order:?}");
        assert_eq!(info.setting("GOOS"), Some("linux"));
    }
}

#[test]
fn searches_for_the_aligned_magic_only() {
    let mut data = vec![0; 0x40];
    data[5..19].copy_from_slice(b"\xff Go buildinf:");
    data.extend(inline_blob("go1.21.0", &framed_modinfo()));
    let info = info_of(elf(true, ByteOrder::Little, &data, &[], 4)).unwrap();
    assert_eq!(info.go_version, "go1.21.0");

    let error = info_of(elf(true, ByteOrder::Little, &data[..0x40], &[], 4)).unwrap_err();
    assert!(matches!(error, GoBinaryError::NoBuildInfo { .. }), "{error}");
}

#[test]
fn keeps_the_version_when_modinfo_is_missing_and_rejects_an_empty_version() {
    let info = info_of(elf(true, ByteOrder::Little, &inline_blob("go1.20", b"short"), &[], 4)).unwrap();
    assert_eq!((info.go_version.as_str(), info.path.as_str()), ("go1.20", ""));

    let error = info_of(elf(true, ByteOrder::Little, &inline_blob("", b""), &[], 4)).unwrap_err();
    assert!(matches!(error, GoBinaryError::NoBuildInfo { .. }), "{error}");
}

#[test]
fn refuses_huge_string_lengths_without_allocating() {
    let mut blob = inline_blob("go1.22.0", b"");
    blob.truncate(32);
    blob.extend(varint(u64::MAX >> 1));
    let error = info_of(elf(true, ByteOrder::Little, &blob, &[], 4)).unwrap_err();
    assert!(matches!(error, GoBinaryError::Corrupt { .. }), "{error}");
    assert!(error.to_string().starts_with("`synthetic` is truncated or corrupt: "), "{error}");
}

#[test]
fn walks_aligned_notes_past_other_notes() {
    let order = ByteOrder::Little;
    let mut notes = note(order, b"GNU\0", 3, &[7; 20]);
    notes.resize(40, 0);
    notes.extend(note(order, b"Go\0\0", 4, b"the/id"));
    assert_eq!(id_of(elf(true, order, &[], &notes, 8)).unwrap(), "the/id");

    let only_gnu = note(order, b"GNU\0", 3, &[7; 20]);
    let error = id_of(elf(true, order, &[], &only_gnu, 4)).unwrap_err();
    assert!(matches!(error, GoBinaryError::NoBuildId { .. }), "{error}");
}

/// A 32-bit big-endian Mach-O file with a `__DATA` segment holding
/// `__go_buildinfo` and a `__TEXT` segment whose `__text` section, beyond
/// the first 32 KB, starts with the build ID.
fn macho_32_big_endian() -> Vec<u8> {
    let order = ByteOrder::Big;
    let mut image = Image::new(order);
    let (data_offset, data_address) = (0x1000, 0x2000);
    let (text_offset, text_address) = (0x9000, 0x10000);
    let blob = inline_blob("go1.14", &framed_modinfo());
    let text = b"\xff Go build ID: \"mach/o\"\n \xff rest of text".to_vec();
    image.put(0, &[0xfe, 0xed, 0xfa, 0xce]);
    image.number(16, 2, 4);
    image.number(20, 2 * (56 + 68), 4);
    let segments = [
        (b"__DATA".as_slice(), b"__go_buildinfo".as_slice(), data_offset, data_address, blob.len() as u64),
        (b"__TEXT".as_slice(), b"__text".as_slice(), text_offset, text_address, text.len() as u64),
    ];
    for (index, (segment, section, offset, address, size)) in segments.into_iter().enumerate() {
        let at = 28 + index as u64 * (56 + 68);
        image.number(at, 1, 4);
        image.number(at + 4, 56 + 68, 4);
        image.put(at + 8, segment);
        for (field, value) in [(24, address), (28, size), (32, offset), (36, size), (40, 3), (44, 3), (48, 1)] {
            image.number(at + field, value, 4);
        }
        let section_at = at + 56;
        image.put(section_at, section);
        image.put(section_at + 16, segment);
        for (field, value) in [(32, address), (36, size), (40, offset)] {
            image.number(section_at + field, value, 4);
        }
    }
    image.put(data_offset, &blob);
    image.put(text_offset, &text);
    image.bytes
}

#[test]
fn reads_32_bit_big_endian_macho() {
    let file = macho_32_big_endian();
    assert_eq!(info_of(file.clone()).unwrap().go_version, "go1.14");
    assert_eq!(id_of(file).unwrap(), "mach/o");
}

#[test]
fn reports_unparsable_modinfo_with_the_file_and_line() {
    let modinfo = [START_SENTINEL, b"path\tp\nmod\tonly-path\n", END_SENTINEL].concat();
    let error = info_of(elf(true, ByteOrder::Little, &inline_blob("go1.22.0", &modinfo), &[], 4)).unwrap_err();
    assert!(matches!(error, GoBinaryError::Parse { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "cannot parse the Go build information of `synthetic`: line 2: expected 2 or 3 columns; got 1"
    );
}
