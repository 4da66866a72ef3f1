//! Positional, bounded reads from a binary file, and the mapping of virtual
//! addresses to file offsets that the executable formats share. Part of the
//! `gobinary` module; depends on nothing else in rko.
//!
//! Every read goes through [`FileReader`], which seeks and reads only the
//! bytes asked for and checks every range against the end of the file (and
//! a fixed cap) before allocating, so that no length taken from the file can
//! cause a huge allocation.

use std::io::{self, Read, Seek, SeekFrom};

/// Largest single read the module ever performs: headers, tables, strings
/// and note segments are all far smaller in real binaries.
pub(crate) const MAXIMUM_READ: u64 = 16 << 20;

/// Why reading or decoding failed, before the file name is attached.
#[derive(Debug)]
pub(crate) enum Problem {
    /// The operating system refused a seek or read.
    Input(io::Error),
    /// The file is not in a format this module knows.
    NotExecutable,
    /// The file is a valid executable without Go build information.
    NoBuildInfo(String),
    /// The file holds no Go build ID.
    NoBuildId,
    /// A header or table is cut short or inconsistent.
    Corrupt(String),
}

impl Problem {
    pub(crate) fn corrupt(reason: impl Into<String>) -> Problem {
        Problem::Corrupt(reason.into())
    }
}

pub(crate) type Outcome<T> = Result<T, Problem>;

/// A seekable source with a known length, read only where asked.
pub(crate) struct FileReader<R> {
    inner: R,
    length: u64,
}

impl<R: Read + Seek> FileReader<R> {
    pub(crate) fn new(mut inner: R) -> Outcome<Self> {
        let length = inner.seek(SeekFrom::End(0)).map_err(Problem::Input)?;
        Ok(FileReader { inner, length })
    }

    fn check_range(&self, offset: u64, size: u64, what: &str) -> Outcome<()> {
        if offset.checked_add(size).is_none_or(|end| end > self.length) {
            return Err(Problem::Corrupt(format!(
                "{what} at offset {offset:#x} ({size} bytes) lies past the end of the file ({} bytes)",
                self.length
            )));
        }
        Ok(())
    }

    /// Reads exactly `buffer.len()` bytes at `offset`; a range that ends past
    /// the end of the file is reported as corrupt with `what` in the reason.
    pub(crate) fn read_exact_at(&mut self, offset: u64, buffer: &mut [u8], what: &str) -> Outcome<()> {
        self.check_range(offset, buffer.len() as u64, what)?;
        self.inner.seek(SeekFrom::Start(offset)).map_err(Problem::Input)?;
        self.inner.read_exact(buffer).map_err(|error| {
            if error.kind() == io::ErrorKind::UnexpectedEof {
                Problem::Corrupt(format!("{what} at offset {offset:#x} is cut short"))
            } else {
                Problem::Input(error)
            }
        })?;
        Ok(())
    }

    /// Reads exactly `size` bytes at `offset` into a new vector, refusing
    /// sizes above [`MAXIMUM_READ`].
    pub(crate) fn read_vec(&mut self, offset: u64, size: u64, what: &str) -> Outcome<Vec<u8>> {
        if size > MAXIMUM_READ {
            return Err(Problem::Corrupt(format!("{what} claims {size} bytes, more than the {MAXIMUM_READ} allowed")));
        }
        self.check_range(offset, size, what)?;
        let mut buffer = vec![0; size as usize];
        self.read_exact_at(offset, &mut buffer, what)?;
        Ok(buffer)
    }

    /// Reads at most `size` bytes at `offset`, stopping early at the end of
    /// the file (and at [`MAXIMUM_READ`]).
    pub(crate) fn read_up_to(&mut self, offset: u64, size: u64, what: &str) -> Outcome<Vec<u8>> {
        let available = self.length.saturating_sub(offset);
        self.read_vec(offset, size.min(available).min(MAXIMUM_READ), what)
    }
}

/// Byte order of the numbers in a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

/// Decodes fixed-size numbers from a header already read into memory;
/// an offset outside the buffer is reported as corrupt, never a panic.
#[derive(Clone, Copy)]
pub(crate) struct Decoder<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) order: ByteOrder,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8], order: ByteOrder) -> Self {
        Decoder { bytes, order }
    }

    fn array<const N: usize>(&self, at: usize) -> Outcome<[u8; N]> {
        at.checked_add(N)
            .and_then(|end| self.bytes.get(at..end))
            .and_then(|slice| slice.try_into().ok())
            .ok_or_else(|| Problem::corrupt(format!("header field at {at} is cut short")))
    }

    pub(crate) fn u16(&self, at: usize) -> Outcome<u16> {
        let bytes = self.array::<2>(at)?;
        Ok(match self.order {
            ByteOrder::Little => u16::from_le_bytes(bytes),
            ByteOrder::Big => u16::from_be_bytes(bytes),
        })
    }

    pub(crate) fn u32(&self, at: usize) -> Outcome<u32> {
        let bytes = self.array::<4>(at)?;
        Ok(match self.order {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        })
    }

    pub(crate) fn u64(&self, at: usize) -> Outcome<u64> {
        let bytes = self.array::<8>(at)?;
        Ok(match self.order {
            ByteOrder::Little => u64::from_le_bytes(bytes),
            ByteOrder::Big => u64::from_be_bytes(bytes),
        })
    }

    /// A 4-byte or 8-byte unsigned number, chosen by `wide`.
    pub(crate) fn word(&self, at: usize, wide: bool) -> Outcome<u64> {
        if wide { self.u64(at) } else { self.u32(at).map(u64::from) }
    }

    /// A fixed-size, NUL-padded name such as a Mach-O segment name.
    pub(crate) fn name(&self, at: usize, size: usize) -> Outcome<&'a [u8]> {
        let field = at
            .checked_add(size)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| Problem::corrupt(format!("name at {at} is cut short")))?;
        let length = field.iter().position(|&byte| byte == 0).unwrap_or(size);
        Ok(&field[..length])
    }
}

/// One stretch of the address space backed by file bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mapping {
    pub(crate) address: u64,
    pub(crate) size: u64,
    pub(crate) file_offset: u64,
}

/// Translates virtual addresses to file offsets, like the `DataReader` of
/// Go's `debug/buildinfo`: the first mapping holding an address wins, and a
/// read never goes past the end of that mapping.
#[derive(Debug, Default)]
pub(crate) struct AddressSpace {
    pub(crate) mappings: Vec<Mapping>,
}

impl AddressSpace {
    /// File offset of `address` and how many file bytes follow it in its
    /// mapping, or `None` when no mapping holds it.
    pub(crate) fn locate(&self, address: u64) -> Option<(u64, u64)> {
        self.mappings.iter().find_map(|mapping| {
            let offset_in_mapping = address.checked_sub(mapping.address)?;
            if mapping.size == 0 || offset_in_mapping >= mapping.size {
                return None;
            }
            let file_offset = mapping.file_offset.checked_add(offset_in_mapping)?;
            Some((file_offset, mapping.size - offset_in_mapping))
        })
    }

    /// Reads up to `size` bytes at `address`, fewer when the mapping or the
    /// file ends first; `None` when the address is not mapped.
    pub(crate) fn read<R: Read + Seek>(
        &self,
        reader: &mut FileReader<R>,
        address: u64,
        size: u64,
    ) -> Outcome<Option<Vec<u8>>> {
        match self.locate(address) {
            None => Ok(None),
            Some((file_offset, remaining)) => {
                reader.read_up_to(file_offset, size.min(remaining), "mapped data").map(Some)
            }
        }
    }
}
