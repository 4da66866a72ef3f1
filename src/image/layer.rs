//! Layers as immutable values (descriptor + diffID + where the bytes live) and the one-pass
//! writer that produces them: tar entries → diffID hash → gzip → digest hash → file, never
//! holding the layer in memory. Depends only on the rest of `image`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::digest::{Digest, HashingWriter};
use super::manifest::Descriptor;
use super::tar::TarWriter;

/// Where a blob's bytes can be read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobSource {
    /// A local file holding exactly the blob's bytes.
    File(PathBuf),
    /// A registry repository (`registry/name`) that holds the blob by digest.
    Registry { repository: String, insecure: bool },
    /// Bytes nobody may redistribute (foreign layers): only the descriptor travels.
    Foreign,
}

/// One layer of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
    pub source: BlobSource,
}

/// The result of writing a layer: its compressed digest and size, and its diffID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenLayer {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
}

type Pipeline = TarWriter<HashingWriter<GzEncoder<HashingWriter<BufWriter<File>>>>>;

/// Streams tar entries through both hashes and gzip into a temporary file in `directory`.
pub struct LayerWriter {
    tar: Pipeline,
    temporary: tempfile::TempPath,
}

impl LayerWriter {
    /// Start a layer in `directory` (which must exist) with gzip `level` (0–9).
    pub fn create(directory: &Path, level: u32) -> io::Result<LayerWriter> {
        let (file, temporary) = tempfile::Builder::new().prefix(".layer-").tempfile_in(directory)?.into_parts();
        let compressed = HashingWriter::new(BufWriter::with_capacity(1 << 16, file));
        let gzip = GzEncoder::new(compressed, Compression::new(level));
        let tar = TarWriter::new(HashingWriter::new(gzip));
        Ok(LayerWriter { tar, temporary })
    }

    pub fn tar(&mut self) -> &mut TarWriter<impl Write> {
        &mut self.tar
    }

    /// Close the archive and move the blob to `<blobs>/<hex digest>` (atomic rename; an
    /// existing blob with that digest is identical by construction).
    pub fn finish(self, blobs: &Path) -> io::Result<(WrittenLayer, PathBuf)> {
        let uncompressed = self.tar.finish()?;
        let (diff_id, uncompressed_size, gzip) = uncompressed.finish();
        let compressed = gzip.finish()?;
        let (digest, size, buffered) = compressed.finish();
        let file = buffered.into_inner().map_err(io::IntoInnerError::into_error)?;
        drop(file);
        set_readable(&self.temporary)?;
        let path = blobs.join(digest.hex());
        self.temporary.persist(&path).map_err(|error| error.error)?;
        Ok((WrittenLayer { digest, size, diff_id, uncompressed_size }, path))
    }
}

/// Blobs are shared content: readable by everyone, like files `docker save` or `crane` write.
pub fn set_readable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::image::tar::Header;

    #[test]
    fn written_layer_hashes_match_its_bytes() {
        let directory = tempfile::tempdir().unwrap();
        let mut writer = LayerWriter::create(directory.path(), 1).unwrap();
        writer.tar().append(&Header::file("/a", 0o555, 0, 5), &b"hello"[..]).unwrap();
        let (layer, path) = writer.finish(directory.path()).unwrap();
        let compressed = std::fs::read(&path).unwrap();
        assert_eq!(Digest::of(&compressed), layer.digest);
        assert_eq!(compressed.len() as u64, layer.size);
        let mut uncompressed = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut uncompressed).unwrap();
        assert_eq!(Digest::of(&uncompressed), layer.diff_id);
        assert_eq!(uncompressed.len(), 2048);
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), layer.digest.hex());
    }
}
