//! PE (Windows Portable Executable) support for the `gobinary` module: the
//! image base, the section table as an address map, and the first writable
//! data section where Go's linker puts the build info blob. PE32 and PE32+.
//! Depends on nothing else in rko.

use std::io::{Read, Seek};

use super::reader::{AddressSpace, ByteOrder, Decoder, FileReader, Mapping, Outcome, Problem};

const OPTIONAL_HEADER_MAGIC_32: u16 = 0x10b;
const OPTIONAL_HEADER_MAGIC_64: u16 = 0x20b;
const SECTION_INITIALIZED_DATA: u32 = 0x0000_0040;
const SECTION_MEMORY_READ: u32 = 0x4000_0000;
const SECTION_MEMORY_WRITE: u32 = 0x8000_0000;
const SECTION_ALIGN_32_BYTES: u32 = 0x0060_0000;
const SECTION_HEADER_SIZE: u64 = 40;

#[derive(Clone, Copy, Debug)]
struct Section {
    virtual_size: u64,
    virtual_address: u64,
    raw_size: u64,
    raw_offset: u64,
    characteristics: u32,
}

/// The parts of a PE file that the module uses.
#[derive(Debug)]
pub(crate) struct PeFile {
    image_base: u64,
    sections: Vec<Section>,
}

impl PeFile {
    /// Reads the DOS stub pointer, the COFF and optional headers and the
    /// section table.
    pub(crate) fn parse<R: Read + Seek>(reader: &mut FileReader<R>) -> Outcome<PeFile> {
        let stub = reader.read_vec(0, 0x40, "DOS header")?;
        let signature_offset = u64::from(Decoder::new(&stub, ByteOrder::Little).u32(0x3c)?);
        let mut signature = [0; 4];
        reader.read_exact_at(signature_offset, &mut signature, "PE signature")?;
        if &signature != b"PE\0\0" {
            return Err(Problem::NotExecutable);
        }
        let coff_offset = signature_offset + 4;
        let coff = reader.read_vec(coff_offset, 20, "COFF header")?;
        let coff = Decoder::new(&coff, ByteOrder::Little);
        let section_count = u64::from(coff.u16(2)?);
        let optional_size = u64::from(coff.u16(16)?);
        let optional_offset = coff_offset + 20;

        let image_base = if optional_size >= 2 {
            let optional = reader.read_vec(optional_offset, optional_size.min(32), "optional header")?;
            let optional = Decoder::new(&optional, ByteOrder::Little);
            match optional.u16(0)? {
                OPTIONAL_HEADER_MAGIC_32 => u64::from(optional.u32(28)?),
                OPTIONAL_HEADER_MAGIC_64 => optional.u64(24)?,
                magic => {
                    return Err(Problem::corrupt(format!("unknown optional header magic {magic:#x}")));
                }
            }
        } else {
            0
        };

        let table =
            reader.read_vec(optional_offset + optional_size, section_count * SECTION_HEADER_SIZE, "section table")?;
        let table = Decoder::new(&table, ByteOrder::Little);
        let mut sections = Vec::with_capacity(section_count as usize);
        for index in 0..section_count as usize {
            let at = index * SECTION_HEADER_SIZE as usize;
            sections.push(Section {
                virtual_size: u64::from(table.u32(at + 8)?),
                virtual_address: u64::from(table.u32(at + 12)?),
                raw_size: u64::from(table.u32(at + 16)?),
                raw_offset: u64::from(table.u32(at + 20)?),
                characteristics: table.u32(at + 36)?,
            });
        }
        Ok(PeFile { image_base, sections })
    }

    /// The first initialized, readable and writable section, as Go's
    /// `debug/buildinfo` looks for it.
    pub(crate) fn data_start(&self) -> Option<(u64, u64)> {
        const WANTED: u32 = SECTION_INITIALIZED_DATA | SECTION_MEMORY_READ | SECTION_MEMORY_WRITE;
        self.sections
            .iter()
            .find(|section| {
                section.virtual_address != 0
                    && section.raw_size != 0
                    && section.characteristics & !SECTION_ALIGN_32_BYTES == WANTED
            })
            .map(|section| (section.virtual_address.wrapping_add(self.image_base), section.virtual_size))
    }

    /// Every section's raw data, at its address in the loaded image.
    pub(crate) fn address_space(&self) -> AddressSpace {
        AddressSpace {
            mappings: self
                .sections
                .iter()
                .map(|section| Mapping {
                    address: section.virtual_address.wrapping_add(self.image_base),
                    size: section.raw_size,
                    file_offset: section.raw_offset,
                })
                .collect(),
        }
    }
}
