//! ELF support for the `gobinary` module: the program headers (for the
//! address map and the build ID note), the section named `.go.buildinfo`
//! and the fallback to the first writable `PT_LOAD` segment. 32- and 64-bit,
//! little- and big-endian. Depends on nothing else in rko.

use std::io::{Read, Seek};

use super::reader::{AddressSpace, ByteOrder, Decoder, FileReader, Mapping, Outcome, Problem};

const PROGRAM_TYPE_LOAD: u32 = 1;
const PROGRAM_TYPE_NOTE: u32 = 4;
const PROGRAM_FLAG_EXECUTE: u32 = 1;
const PROGRAM_FLAG_WRITE: u32 = 2;
/// `e_phnum` value saying the real count is in section 0's `sh_info`.
const PROGRAM_COUNT_EXTENDED: u16 = 0xffff;
/// `e_shstrndx` value saying the real index is in section 0's `sh_link`.
const SECTION_INDEX_EXTENDED: u16 = 0xffff;
/// Most section headers read; real executables have a few dozen.
const MAXIMUM_SECTIONS: u64 = 1 << 16;
/// Most bytes of one note segment examined for the build ID.
const MAXIMUM_NOTE_BYTES: u64 = 1 << 20;
const GO_NOTE_NAME: &[u8] = b"Go\0\0";
const GO_BUILD_ID_NOTE_TYPE: u32 = 4;

#[derive(Clone, Copy, Debug)]
struct ProgramHeader {
    kind: u32,
    flags: u32,
    offset: u64,
    address: u64,
    file_size: u64,
    memory_size: u64,
    align: u64,
}

/// Where the section header table lies, read only when a section is needed.
#[derive(Clone, Copy, Debug)]
struct SectionTable {
    offset: u64,
    count: u64,
    entry_size: u64,
    names_index: u64,
}

/// The parts of an ELF file that the module uses.
#[derive(Debug)]
pub(crate) struct ElfFile {
    order: ByteOrder,
    wide: bool,
    program_headers: Vec<ProgramHeader>,
    sections: Option<SectionTable>,
}

#[derive(Clone, Copy, Debug)]
struct SectionHeader {
    name: u32,
    address: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
}

impl ElfFile {
    /// Reads the ELF header and the program header table.
    pub(crate) fn parse<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<ElfFile> {
        let header = reader.read_up_to(0, 64, "ELF header")?;
        let wide = match header.get(4) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(Problem::corrupt("unknown ELF class")),
        };
        let order = match header.get(5) {
            Some(1) => ByteOrder::Little,
            Some(2) => ByteOrder::Big,
            _ => return Err(Problem::corrupt("unknown ELF byte order")),
        };
        if header.len() < if wide { 64 } else { 52 } {
            return Err(Problem::corrupt("ELF header is cut short"));
        }
        let decoder = Decoder::new(&header, order);
        let (program_offset, section_offset, counts_at) = if wide {
            (decoder.u64(32)?, decoder.u64(40)?, 54)
        } else {
            (u64::from(decoder.u32(28)?), u64::from(decoder.u32(32)?), 42)
        };
        let program_entry_size = u64::from(decoder.u16(counts_at)?);
        let program_count = decoder.u16(counts_at + 2)?;
        let section_entry_size = u64::from(decoder.u16(counts_at + 4)?);
        let section_count = decoder.u16(counts_at + 6)?;
        let names_index = decoder.u16(counts_at + 8)?;

        let mut file = ElfFile { order, wide, program_headers: Vec::new(), sections: None };
        let needs_section_zero = program_count == PROGRAM_COUNT_EXTENDED
            || (section_count == 0 && section_offset != 0)
            || names_index == SECTION_INDEX_EXTENDED;
        let section_zero = if needs_section_zero && section_offset != 0 {
            let table =
                SectionTable { offset: section_offset, count: 1, entry_size: section_entry_size, names_index: 0 };
            Some(file.section_header(reader, &table, 0)?)
        } else {
            None
        };
        let program_count = match (program_count, section_zero) {
            (PROGRAM_COUNT_EXTENDED, Some(zero)) => u64::from(zero.info),
            (PROGRAM_COUNT_EXTENDED, None) => {
                return Err(Problem::corrupt("extended program header count without sections"));
            }
            (count, _) => u64::from(count),
        };
        if section_offset != 0 {
            let count = match (section_count, section_zero) {
                (0, Some(zero)) => zero.size,
                (count, _) => u64::from(count),
            };
            let names_index = match (names_index, section_zero) {
                (SECTION_INDEX_EXTENDED, Some(zero)) => u64::from(zero.link),
                (index, _) => u64::from(index),
            };
            if count > 0 {
                file.sections =
                    Some(SectionTable { offset: section_offset, count, entry_size: section_entry_size, names_index });
            }
        }
        file.program_headers = file.read_program_headers(reader, program_offset, program_count, program_entry_size)?;
        Ok(file)
    }

    fn read_program_headers<R: Read + Seek>(
        &self,
        reader: &mut FileReader<R>,
        offset: u64,
        count: u64,
        entry_size: u64,
    ) -> Outcome<Vec<ProgramHeader>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let minimum_size = if self.wide { 56 } else { 32 };
        if entry_size < minimum_size || entry_size > 1024 {
            return Err(Problem::corrupt(format!("bad program header size {entry_size}")));
        }
        // The count came from 16 or 32 bits, so this product cannot overflow.
        let table = reader.read_vec(offset, count * entry_size, "program header table")?;
        let decoder = Decoder::new(&table, self.order);
        let mut headers = Vec::with_capacity(count as usize);
        for index in 0..count as usize {
            let at = index * entry_size as usize;
            let header = if self.wide {
                ProgramHeader {
                    kind: decoder.u32(at)?,
                    flags: decoder.u32(at + 4)?,
                    offset: decoder.u64(at + 8)?,
                    address: decoder.u64(at + 16)?,
                    file_size: decoder.u64(at + 32)?,
                    memory_size: decoder.u64(at + 40)?,
                    align: decoder.u64(at + 48)?,
                }
            } else {
                ProgramHeader {
                    kind: decoder.u32(at)?,
                    offset: u64::from(decoder.u32(at + 4)?),
                    address: u64::from(decoder.u32(at + 8)?),
                    file_size: u64::from(decoder.u32(at + 16)?),
                    memory_size: u64::from(decoder.u32(at + 20)?),
                    flags: decoder.u32(at + 24)?,
                    align: u64::from(decoder.u32(at + 28)?),
                }
            };
            headers.push(header);
        }
        Ok(headers)
    }

    fn section_header<R: Read + Seek>(
        &self,
        reader: &mut FileReader<R>,
        table: &SectionTable,
        index: u64,
    ) -> Outcome<SectionHeader> {
        let minimum_size = if self.wide { 64 } else { 40 };
        if table.entry_size < minimum_size || table.entry_size > 1024 {
            return Err(Problem::corrupt(format!("bad section header size {}", table.entry_size)));
        }
        let offset = index
            .checked_mul(table.entry_size)
            .and_then(|relative| relative.checked_add(table.offset))
            .ok_or_else(|| Problem::corrupt("section header offset overflows"))?;
        let bytes = reader.read_vec(offset, minimum_size, "section header")?;
        parse_section_header(&Decoder::new(&bytes, self.order), 0, self.wide)
    }

    /// Address and size of the section called `wanted`, if there is one.
    pub(crate) fn section_range<R: Read + Seek>(
        &self,
        reader: &mut FileReader<R>,
        wanted: &[u8],
    ) -> Outcome<Option<(u64, u64)>> {
        let Some(table) = self.sections else {
            return Ok(None);
        };
        let minimum_size = if self.wide { 64 } else { 40 };
        if table.count > MAXIMUM_SECTIONS {
            return Err(Problem::corrupt(format!("{} sections is too many", table.count)));
        }
        if table.entry_size < minimum_size || table.entry_size > 1024 {
            return Err(Problem::corrupt(format!("bad section header size {}", table.entry_size)));
        }
        if table.names_index >= table.count {
            return Err(Problem::corrupt("section name table index out of range"));
        }
        let bytes = reader.read_vec(table.offset, table.count * table.entry_size, "section header table")?;
        let decoder = Decoder::new(&bytes, self.order);
        let header_at = |index: u64| (index * table.entry_size) as usize;
        let names_header = parse_section_header(&decoder, header_at(table.names_index), self.wide)?;
        let names = reader.read_vec(names_header.offset, names_header.size, "section name table")?;
        for index in 0..table.count {
            let header = parse_section_header(&decoder, header_at(index), self.wide)?;
            let name = names
                .get(header.name as usize..)
                .map(|rest| &rest[..rest.iter().position(|&byte| byte == 0).unwrap_or(rest.len())]);
            if name == Some(wanted) {
                return Ok(Some((header.address, header.size)));
            }
        }
        Ok(None)
    }

    /// Where Go's linker put the build info blob: the `.go.buildinfo`
    /// section, or else (for binaries whose section headers were stripped)
    /// the first writable, non-executable `PT_LOAD` segment.
    pub(crate) fn data_start<R: Read + Seek>(&self, reader: &mut FileReader<R>) -> Outcome<Option<(u64, u64)>> {
        if let Some(range) = self.section_range(reader, b".go.buildinfo")? {
            return Ok(Some(range));
        }
        Ok(self
            .program_headers
            .iter()
            .find(|header| {
                header.kind == PROGRAM_TYPE_LOAD
                    && header.flags & (PROGRAM_FLAG_EXECUTE | PROGRAM_FLAG_WRITE) == PROGRAM_FLAG_WRITE
            })
            .map(|header| (header.address, header.memory_size)))
    }

    /// The file-backed part of every segment, in program header order.
    pub(crate) fn address_space(&self) -> AddressSpace {
        AddressSpace {
            mappings: self
                .program_headers
                .iter()
                .map(|header| Mapping { address: header.address, size: header.file_size, file_offset: header.offset })
                .collect(),
        }
    }

    /// The Go build ID from the `Go` note of type 4 in a `PT_NOTE` segment,
    /// walked exactly as `cmd/internal/buildid` does.
    pub(crate) fn build_id<R: Read + Seek>(&self, reader: &mut FileReader<R>) -> Outcome<Option<String>> {
        for header in &self.program_headers {
            if header.kind != PROGRAM_TYPE_NOTE || header.file_size < 16 {
                continue;
            }
            let size = header.file_size.min(MAXIMUM_NOTE_BYTES);
            let notes = reader.read_vec(header.offset, size, "note segment")?;
            if let Some(id) = find_go_note(&notes, header, self.order)? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

fn parse_section_header(decoder: &Decoder<'_>, at: usize, wide: bool) -> Outcome<SectionHeader> {
    Ok(if wide {
        SectionHeader {
            name: decoder.u32(at)?,
            address: decoder.u64(at + 16)?,
            offset: decoder.u64(at + 24)?,
            size: decoder.u64(at + 32)?,
            link: decoder.u32(at + 40)?,
            info: decoder.u32(at + 44)?,
        }
    } else {
        SectionHeader {
            name: decoder.u32(at)?,
            address: u64::from(decoder.u32(at + 12)?),
            offset: u64::from(decoder.u32(at + 16)?),
            size: u64::from(decoder.u32(at + 20)?),
            link: decoder.u32(at + 24)?,
            info: decoder.u32(at + 28)?,
        }
    })
}

/// Walks the notes of one segment, following `readELF` in Go's
/// `cmd/internal/buildid/note.go`, including its alignment of each note to
/// the segment's alignment.
fn find_go_note(notes: &[u8], header: &ProgramHeader, order: ByteOrder) -> Outcome<Option<String>> {
    let decoder = Decoder::new(notes, order);
    let mut position: u64 = 0;
    let mut remaining = header.file_size;
    let mut offset = header.offset;
    while remaining >= 16 && (notes.len() as u64).saturating_sub(position) >= 16 {
        let at = position as usize;
        let name_size = u64::from(decoder.u32(at)?);
        let value_size = u64::from(decoder.u32(at + 4)?);
        let tag = decoder.u32(at + 8)?;
        let available = notes.len() as u64 - position;
        if name_size == 4
            && 16 + value_size <= available
            && tag == GO_BUILD_ID_NOTE_TYPE
            && &notes[at + 12..at + 16] == GO_NOTE_NAME
        {
            let value = &notes[at + 16..at + 16 + value_size as usize];
            return Ok(Some(String::from_utf8_lossy(value).into_owned()));
        }
        let mut note_size = 12 + align4(name_size) + align4(value_size);
        if remaining <= note_size {
            break;
        }
        offset = offset.saturating_add(note_size);
        let align = header.align;
        if align.is_power_of_two() {
            let Some(aligned) = offset.checked_add(align - 1).map(|sum| sum & !(align - 1)) else {
                break;
            };
            note_size += aligned - offset;
            offset = aligned;
        }
        let Some(left) = remaining.checked_sub(note_size) else {
            break;
        };
        remaining = left;
        position += note_size;
    }
    Ok(None)
}

fn align4(size: u64) -> u64 {
    (size + 3) & !3
}
