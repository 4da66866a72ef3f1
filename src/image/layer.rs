//! Layers as immutable values (descriptor + diffID + where the bytes live) and the one-pass
//! writer that produces them: tar entries → diffID hash → compression (gzip, or zstd) → digest
//! hash → file, never holding the layer in memory. Depends only on the rest of `image`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flate2::write::GzEncoder;

use super::digest::{Digest, HashingWriter};
use super::manifest::Descriptor;
use super::media_type;
use super::pgzip::ParallelGzEncoder;
use super::tar::TarWriter;

/// Where a blob's bytes can be read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobSource {
    /// A local file holding exactly the blob's bytes.
    File(PathBuf),
    /// A registry repository (`registry/name`) that holds the blob by digest.
    Registry { repository: String },
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

/// How layers are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip at a level 0–9 (ko uses 1, `BestSpeed`), deflated in 1 MiB chunks on every core.
    Gzip(u32),
    /// gzip as one deflate stream on one thread (the built-in base's layers, pinned bytes).
    GzipStream(u32),
    /// zstd at a level 1–19, for registries and runtimes that take `tar+zstd` layers.
    Zstd(i32),
}

impl Compression {
    /// The layer media type for this compression in a manifest of `manifest_type`, if the
    /// family has one (Docker's has no zstd layers).
    pub fn layer_media_type(self, manifest_type: &str) -> Option<&'static str> {
        match self {
            Compression::Gzip(_) | Compression::GzipStream(_) => Some(media_type::gzip_layer_for(manifest_type)),
            Compression::Zstd(_) if manifest_type == media_type::DOCKER_MANIFEST => None,
            Compression::Zstd(_) => Some(media_type::OCI_LAYER_ZSTD),
        }
    }

    /// A stable name (`gzip-1`, `zstd-3`) for cache keys.
    pub fn name(self) -> String {
        match self {
            Compression::Gzip(level) => format!("gzip-{level}"),
            Compression::GzipStream(level) => format!("gzip-stream-{level}"),
            Compression::Zstd(level) => format!("zstd-{level}"),
        }
    }
}

/// The result of writing a layer: its compressed digest and size, and its diffID.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrittenLayer {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
    pub uncompressed_size: u64,
}

type Sink = HashingWriter<BufWriter<File>>;

/// A compression stage that can be finished to get its sink back.
trait Encoder: Write + Send {
    fn finish_stream(self: Box<Self>) -> io::Result<Sink>;
}

impl Encoder for ParallelGzEncoder<Sink> {
    fn finish_stream(self: Box<Self>) -> io::Result<Sink> {
        (*self).finish()
    }
}

impl Encoder for GzEncoder<Sink> {
    fn finish_stream(self: Box<Self>) -> io::Result<Sink> {
        (*self).finish()
    }
}

impl Encoder for zstd::stream::write::Encoder<'static, Sink> {
    fn finish_stream(self: Box<Self>) -> io::Result<Sink> {
        (*self).finish()
    }
}

/// How partial layer files are named (`<directory>/.layer-XXXXXX`).
pub const PARTIAL_PREFIX: &str = ".layer-";

/// The partial layer files this process is writing, for [`remove_partial_layers`]; `None`
/// once they were removed (the process is exiting).
static PARTIAL_LAYERS: Mutex<Option<BTreeSet<PathBuf>>> = Mutex::new(Some(BTreeSet::new()));

/// Remove the partial layer files this process is writing, and refuse to start new ones: for
/// a run that is interrupted and about to exit without running destructors.
pub fn remove_partial_layers() {
    let mut partial = PARTIAL_LAYERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for path in partial.take().unwrap_or_default() {
        let _ = std::fs::remove_file(path);
    }
}

/// A partial layer file: locked while it is written (so other processes cleaning up leave it
/// alone) and listed in [`PARTIAL_LAYERS`] until it is renamed or deleted.
struct Partial {
    path: PathBuf,
    temporary: Option<tempfile::TempPath>,
    _lock: File,
}

impl Partial {
    fn create(directory: &Path) -> io::Result<(File, Partial)> {
        let mut listed = PARTIAL_LAYERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(listed) = listed.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "rko is exiting"));
        };
        let (file, temporary) = tempfile::Builder::new().prefix(PARTIAL_PREFIX).tempfile_in(directory)?.into_parts();
        let lock = file.try_clone()?;
        lock.try_lock().map_err(|error| match error {
            std::fs::TryLockError::Error(error) => error,
            std::fs::TryLockError::WouldBlock => io::Error::from(io::ErrorKind::WouldBlock),
        })?;
        let path = temporary.to_path_buf();
        listed.insert(path.clone());
        Ok((file, Partial { path, temporary: Some(temporary), _lock: lock }))
    }

    /// Move the finished file to `destination`.
    fn persist(mut self, destination: &Path) -> io::Result<()> {
        match self.temporary.take() {
            Some(temporary) => temporary.persist(destination).map_err(|error| error.error),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        // The temporary file (if not persisted) is deleted first, then unlisted.
        drop(self.temporary.take());
        unlist(&self.path);
    }
}

fn unlist(path: &Path) {
    let mut listed = PARTIAL_LAYERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(listed) = listed.as_mut() {
        listed.remove(path);
    }
}

/// Streams tar entries through both hashes and the compressor into a temporary file in
/// `directory`.
pub struct LayerWriter {
    tar: TarWriter<Uncompressed>,
    temporary: Partial,
}

impl LayerWriter {
    /// Start a layer in `directory` (which must exist).
    pub fn create(directory: &Path, compression: Compression) -> io::Result<LayerWriter> {
        let (uncompressed, temporary) = open(directory, compression)?;
        Ok(LayerWriter { tar: TarWriter::new(uncompressed), temporary })
    }

    pub fn tar(&mut self) -> &mut TarWriter<impl Write> {
        &mut self.tar
    }

    /// Close the archive and move the blob to `<blobs>/<hex digest>` (atomic rename; an
    /// existing blob with that digest is identical by construction).
    pub fn finish(self, blobs: &Path) -> io::Result<(WrittenLayer, PathBuf)> {
        close(self.tar.finish()?, self.temporary, blobs)
    }
}

/// Compress an existing uncompressed layer (a tar stream, e.g. from `docker save`) into
/// `<blobs>/<hex digest>`, hashing both sides in the same pass.
pub fn compress(
    mut uncompressed: impl Read,
    blobs: &Path,
    compression: Compression,
) -> io::Result<(WrittenLayer, PathBuf)> {
    let (mut writer, temporary) = open(blobs, compression)?;
    io::copy(&mut uncompressed, &mut writer)?;
    close(writer, temporary, blobs)
}

type Uncompressed = HashingWriter<Box<dyn Encoder>>;

/// The diffID hash in front of the compressor in front of the digest hash and a temporary file.
fn open(directory: &Path, compression: Compression) -> io::Result<(Uncompressed, Partial)> {
    let (file, temporary) = Partial::create(directory)?;
    let sink = HashingWriter::new(BufWriter::with_capacity(1 << 16, file));
    let encoder: Box<dyn Encoder> = match compression {
        Compression::Gzip(level) => Box::new(ParallelGzEncoder::new(sink, level)?),
        Compression::GzipStream(level) => Box::new(GzEncoder::new(sink, flate2::Compression::new(level))),
        Compression::Zstd(level) => Box::new(zstd::stream::write::Encoder::new(sink, level)?),
    };
    Ok((HashingWriter::new(encoder), temporary))
}

fn close(uncompressed: Uncompressed, temporary: Partial, blobs: &Path) -> io::Result<(WrittenLayer, PathBuf)> {
    let (diff_id, uncompressed_size, encoder) = uncompressed.finish();
    let compressed = encoder.finish_stream()?;
    let (digest, size, buffered) = compressed.finish();
    let file = buffered.into_inner().map_err(io::IntoInnerError::into_error)?;
    drop(file);
    set_readable(&temporary.path)?;
    let path = blobs.join(digest.hex());
    temporary.persist(&path)?;
    Ok((WrittenLayer { digest, size, diff_id, uncompressed_size }, path))
}

/// Blobs are shared content: readable by everyone, like files `docker save` or `crane` write.
pub fn set_readable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::tar::Header;

    fn write(compression: Compression) -> (WrittenLayer, Vec<u8>, tempfile::TempDir) {
        let directory = tempfile::tempdir().unwrap();
        let mut writer = LayerWriter::create(directory.path(), compression).unwrap();
        writer.tar().append(&Header::file("/a", 0o555, 0, 5), &b"hello"[..]).unwrap();
        let (layer, path) = writer.finish(directory.path()).unwrap();
        assert_eq!(path.file_name().unwrap().to_str().unwrap(), layer.digest.hex());
        (layer, std::fs::read(&path).unwrap(), directory)
    }

    #[test]
    fn gzip_layer_hashes_match_its_bytes() {
        let (layer, compressed, _directory) = write(Compression::Gzip(1));
        assert_eq!(Digest::of(&compressed), layer.digest);
        assert_eq!(compressed.len() as u64, layer.size);
        let mut uncompressed = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut uncompressed).unwrap();
        assert_eq!(Digest::of(&uncompressed), layer.diff_id);
        assert_eq!(uncompressed.len(), 2048);
    }

    #[test]
    fn partial_layers_are_locked_and_listed_until_finished() {
        let directory = tempfile::tempdir().unwrap();
        let writer = LayerWriter::create(directory.path(), Compression::Gzip(1)).unwrap();
        let partial = writer.temporary.path.clone();
        assert!(partial.file_name().unwrap().to_string_lossy().starts_with(PARTIAL_PREFIX));
        assert!(File::open(&partial).unwrap().try_lock().is_err(), "the partial layer is not locked");
        assert!(PARTIAL_LAYERS.lock().unwrap().as_ref().unwrap().contains(&partial));
        writer.finish(directory.path()).unwrap();
        assert!(!partial.exists());
        assert!(!PARTIAL_LAYERS.lock().unwrap().as_ref().unwrap().contains(&partial));
    }

    #[test]
    fn compressing_an_existing_tar_gives_the_writer_s_bytes() {
        let (written, compressed, directory) = write(Compression::Gzip(1));
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut tar).unwrap();
        let (again, path) = compress(&tar[..], directory.path(), Compression::Gzip(1)).unwrap();
        assert_eq!(again, written);
        assert_eq!(std::fs::read(path).unwrap(), compressed);
    }

    #[test]
    fn zstd_layer_hashes_match_its_bytes() {
        let (layer, compressed, _directory) = write(Compression::Zstd(3));
        assert_eq!(Digest::of(&compressed), layer.digest);
        let uncompressed = zstd::stream::decode_all(&compressed[..]).unwrap();
        assert_eq!(Digest::of(&uncompressed), layer.diff_id);
        assert_eq!(Compression::Zstd(3).layer_media_type(media_type::DOCKER_MANIFEST), None);
    }
}
