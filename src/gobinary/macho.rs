//! Mach-O support for the `gobinary` module: segments as an address map, the
//! `__go_buildinfo` section (or the first read-write segment) and the
//! `__text` section. 32- and 64-bit, both byte orders, and universal ("fat")
//! files, of which the first architecture is read like Go does. Depends on
//! nothing else in rko.

use std::io::{Read, Seek};

use super::reader::{AddressSpace, ByteOrder, Decoder, FileReader, Mapping, Outcome, Problem};

const COMMAND_SEGMENT_32: u32 = 0x1;
const COMMAND_SEGMENT_64: u32 = 0x19;
const PROTECTION_READ_WRITE: u32 = 3;
const FAT_MAGIC_32: u32 = 0xcafe_babe;
const FAT_MAGIC_64: u32 = 0xcafe_babf;

#[derive(Clone, Debug)]
struct Segment {
    name: Vec<u8>,
    address: u64,
    memory_size: u64,
    file_offset: u64,
    file_size: u64,
    maximum_protection: u32,
    initial_protection: u32,
}

#[derive(Clone, Debug)]
struct Section {
    name: Vec<u8>,
    address: u64,
    size: u64,
    file_offset: u64,
}

/// The parts of a Mach-O file that the module uses; every file offset is
/// absolute (the start of the architecture in a fat file is added in).
#[derive(Debug)]
pub(crate) struct MachOFile {
    segments: Vec<Segment>,
    sections: Vec<Section>,
}

impl MachOFile {
    /// Reads the Mach-O header and load commands starting at `base`.
    pub(crate) fn parse<R: Read + Seek>(reader: &mut FileReader<R>, base: u64) -> Outcome<MachOFile> {
        let mut magic = [0; 4];
        reader.read_exact_at(base, &mut magic, "Mach-O header")?;
        let (order, wide) = match magic {
            [0xfe, 0xed, 0xfa, 0xce] => (ByteOrder::Big, false),
            [0xfe, 0xed, 0xfa, 0xcf] => (ByteOrder::Big, true),
            [0xce, 0xfa, 0xed, 0xfe] => (ByteOrder::Little, false),
            [0xcf, 0xfa, 0xed, 0xfe] => (ByteOrder::Little, true),
            _ => return Err(Problem::NotExecutable),
        };
        let header_size = if wide { 32 } else { 28 };
        let header = reader.read_vec(base, header_size, "Mach-O header")?;
        let header = Decoder::new(&header, order);
        let command_count = header.u32(16)?;
        let commands_size = u64::from(header.u32(20)?);
        let commands = reader.read_vec(base + header_size, commands_size, "load commands")?;
        let commands = Decoder::new(&commands, order);

        let mut file = MachOFile { segments: Vec::new(), sections: Vec::new() };
        let mut at = 0usize;
        for _ in 0..command_count {
            let kind = commands.u32(at)?;
            let size = commands.u32(at + 4)? as usize;
            if size < 8 || at.checked_add(size).is_none_or(|end| end > commands.bytes.len()) {
                return Err(Problem::corrupt(format!("load command of bad size {size}")));
            }
            let command = Decoder::new(&commands.bytes[at..at + size], order);
            match kind {
                COMMAND_SEGMENT_32 => file.add_segment(&command, base, false)?,
                COMMAND_SEGMENT_64 => file.add_segment(&command, base, true)?,
                _ => {}
            }
            at += size;
        }
        Ok(file)
    }

    /// Reads the first architecture of a universal binary.
    pub(crate) fn parse_fat<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<MachOFile> {
        let header = reader.read_vec(0, 8, "fat header")?;
        let header = Decoder::new(&header, ByteOrder::Big);
        let wide = match header.u32(0)? {
            FAT_MAGIC_32 => false,
            FAT_MAGIC_64 => true,
            _ => return Err(Problem::NotExecutable),
        };
        if header.u32(4)? == 0 {
            return Err(Problem::corrupt("fat file with no architectures"));
        }
        let entry = reader.read_vec(8, if wide { 32 } else { 20 }, "fat architecture")?;
        let entry = Decoder::new(&entry, ByteOrder::Big);
        let offset = entry.word(8, wide)?;
        MachOFile::parse(reader, offset)
    }

    fn add_segment(&mut self, command: &Decoder<'_>, base: u64, wide: bool) -> Outcome<()> {
        let name = command.name(8, 16)?.to_vec();
        let (address, memory_size, file_offset, file_size, next) = if wide {
            (command.u64(24)?, command.u64(32)?, command.u64(40)?, command.u64(48)?, 56)
        } else {
            let field = |at| command.u32(at).map(u64::from);
            (field(24)?, field(28)?, field(32)?, field(36)?, 40)
        };
        let maximum_protection = command.u32(next)?;
        let initial_protection = command.u32(next + 4)?;
        let section_count = command.u32(next + 8)? as usize;
        let mut at = next + 16;
        let section_size = if wide { 80 } else { 68 };
        if section_count > command.bytes.len() / section_size {
            return Err(Problem::corrupt("segment claims more sections than it holds"));
        }
        for _ in 0..section_count {
            let (address, size, offset_at) = if wide {
                (command.u64(at + 32)?, command.u64(at + 40)?, at + 48)
            } else {
                let field = |at| command.u32(at).map(u64::from);
                (field(at + 32)?, field(at + 36)?, at + 40)
            };
            self.sections.push(Section {
                name: command.name(at, 16)?.to_vec(),
                address,
                size,
                file_offset: base.saturating_add(u64::from(command.u32(offset_at)?)),
            });
            at += section_size;
        }
        self.segments.push(Segment {
            name,
            address,
            memory_size,
            file_offset: base.saturating_add(file_offset),
            file_size,
            maximum_protection,
            initial_protection,
        });
        Ok(())
    }

    /// The `__go_buildinfo` section, or else the first non-empty read-write
    /// segment (where older Go linkers put the blob).
    pub(crate) fn data_start(&self) -> Option<(u64, u64)> {
        if let Some(section) = self.section(b"__go_buildinfo") {
            return Some((section.address, section.size));
        }
        self.segments
            .iter()
            .find(|segment| {
                segment.address != 0
                    && segment.file_size != 0
                    && segment.initial_protection == PROTECTION_READ_WRITE
                    && segment.maximum_protection == PROTECTION_READ_WRITE
            })
            .map(|segment| (segment.address, segment.memory_size))
    }

    /// Every segment but `__PAGEZERO`, in load command order.
    pub(crate) fn address_space(&self) -> AddressSpace {
        AddressSpace {
            mappings: self
                .segments
                .iter()
                .filter(|segment| segment.name != b"__PAGEZERO")
                .map(|segment| Mapping {
                    address: segment.address,
                    size: segment.file_size,
                    file_offset: segment.file_offset,
                })
                .collect(),
        }
    }

    /// File offset and size of the `__text` section, which starts with the
    /// Go build ID.
    pub(crate) fn text_range(&self) -> Option<(u64, u64)> {
        self.section(b"__text").map(|section| (section.file_offset, section.size))
    }

    fn section(&self, name: &[u8]) -> Option<&Section> {
        self.sections.iter().find(|section| section.name == name)
    }
}
