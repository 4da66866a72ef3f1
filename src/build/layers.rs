//! The two layers ko adds to every image, written exactly as ko writes them: the kodata layer
//! (`/var/run/ko`, symlinks followed inside the allowed root) and the binary layer
//! (`/ko-app/<name>`), with Windows' `Files/` and `Hives/` layout. Each is streamed once
//! through [`LayerWriter`]. Depends on `image` only.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::image::layer::{LayerWriter, WrittenLayer};
use crate::image::tar::{Header, TarWriter};

/// Where kodata lives in the image.
pub const KODATA_ROOT: &str = "/var/run/ko";
/// Where the binary lives in the image.
pub const APP_DIRECTORY: &str = "/ko-app";
/// Owner BUILTIN/Users, group BUILTIN/Users: Windows needs this security descriptor on files.
const WINDOWS_RAW_SD: &str = "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA==";
const MODE: u32 = 0o555;
/// Deepest directory nesting followed through kodata symlinks before giving up.
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("kodata symlink `{}` points outside `{}` (to `{}`); move the target inside or set KO_DATA_PATH_ALLOWED_ROOT", link.display(), root.display(), target.display())]
    SymlinkEscapes { link: PathBuf, root: PathBuf, target: PathBuf },
    #[error("kodata symlink `{}` is broken or loops", .0.display())]
    BrokenSymlink(PathBuf),
    #[error("kodata entry `{}` is neither a file nor a directory", .0.display())]
    UnsupportedEntry(PathBuf),
    #[error("kodata under `{}` nests deeper than {MAX_DEPTH} directories (a symlink loop?)", .0.display())]
    TooDeep(PathBuf),
    #[error("cannot read `{}`", .0.display())]
    Read(PathBuf, #[source] io::Error),
    #[error("cannot write a layer into `{}`", .0.display())]
    Write(PathBuf, #[source] io::Error),
}

/// How to lay out the kodata layer.
#[derive(Clone, Debug)]
pub struct KodataLayer<'a> {
    /// `<package dir>/kodata` (may not exist: the layer then holds only the directories).
    pub source: &'a Path,
    /// Symlink targets must resolve inside this directory (default: `source`).
    pub allowed_root: Option<&'a Path>,
    pub mtime: i64,
    pub windows: bool,
}

/// The binary layer's parameters.
#[derive(Clone, Debug)]
pub struct BinaryLayer<'a> {
    pub binary: &'a Path,
    pub app_name: &'a str,
    pub windows: bool,
    /// `security.capability` xattr bytes for Linux capabilities, if any.
    pub capabilities: Option<Vec<u8>>,
}

/// Write the kodata layer into `blobs` (gzip `level`).
pub fn write_kodata(layer: &KodataLayer<'_>, blobs: &Path, level: u32) -> Result<WrittenLayer, LayerError> {
    let mut writer = LayerWriter::create(blobs, level).map_err(|error| LayerError::Write(blobs.to_owned(), error))?;
    let write = |error| LayerError::Write(blobs.to_owned(), error);
    let (prefix, chroot) = if layer.windows {
        (&["Hives", "Files", "Files/var", "Files/var/run", "Files/var/run/ko"][..], format!("Files{KODATA_ROOT}"))
    } else {
        (&["/var", "/var/run", "/var/run/ko"][..], KODATA_ROOT.to_owned())
    };
    for directory in prefix {
        writer.tar().append_empty(&Header::directory(directory, MODE, layer.mtime)).map_err(write)?;
    }
    if layer.source.is_dir() {
        let root = canonical(layer.source)?;
        let allowed = match layer.allowed_root {
            Some(path) => canonical(path)?,
            None => root.clone(),
        };
        let mut walk = Walk { tar: writer.tar(), allowed: &allowed, mtime: layer.mtime, windows: layer.windows, blobs };
        walk.directory(&root, &chroot, 0)?;
    }
    let (written, _) = writer.finish(blobs).map_err(write)?;
    Ok(written)
}

/// Write the binary layer into `blobs` (gzip `level`).
pub fn write_binary(layer: &BinaryLayer<'_>, blobs: &Path, level: u32) -> Result<WrittenLayer, LayerError> {
    let write = |error| LayerError::Write(blobs.to_owned(), error);
    let mut writer = LayerWriter::create(blobs, level).map_err(write)?;
    let mut name = format!("{APP_DIRECTORY}/{}", layer.app_name);
    let directories: &[&str] = if layer.windows {
        name = format!("Files{name}");
        &["Hives", "Files", "Files/ko-app"]
    } else {
        &["ko-app"]
    };
    for directory in directories {
        writer.tar().append_empty(&Header::directory(directory, MODE, 0)).map_err(write)?;
    }
    let file = File::open(layer.binary).map_err(|error| LayerError::Read(layer.binary.to_owned(), error))?;
    let size = file.metadata().map_err(|error| LayerError::Read(layer.binary.to_owned(), error))?.len();
    let mut header = Header::file(&name, MODE, 0, size);
    if layer.windows {
        header.pax_records.insert("MSWINDOWS.rawsd".into(), WINDOWS_RAW_SD.as_bytes().to_vec());
    } else if let Some(capabilities) = &layer.capabilities {
        header.pax_records.insert("SCHILY.xattr.security.capability".into(), capabilities.clone());
    }
    writer.tar().append(&header, io::BufReader::with_capacity(1 << 16, file)).map_err(write)?;
    let (written, _) = writer.finish(blobs).map_err(write)?;
    Ok(written)
}

fn canonical(path: &Path) -> Result<PathBuf, LayerError> {
    path.canonicalize().map_err(|error| LayerError::Read(path.to_owned(), error))
}

struct Walk<'a, W: io::Write> {
    tar: &'a mut TarWriter<W>,
    allowed: &'a Path,
    mtime: i64,
    windows: bool,
    blobs: &'a Path,
}

impl<W: io::Write> Walk<'_, W> {
    /// Add the entries of `host` (a real directory) under `chroot`, in lexical order like Go's
    /// `filepath.Walk`, following symlinks that stay inside the allowed root.
    fn directory(&mut self, host: &Path, chroot: &str, depth: usize) -> Result<(), LayerError> {
        if depth > MAX_DEPTH {
            return Err(LayerError::TooDeep(host.to_owned()));
        }
        let mut names: Vec<_> = std::fs::read_dir(host)
            .map_err(|error| LayerError::Read(host.to_owned(), error))?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|error| LayerError::Read(host.to_owned(), error))?;
        names.sort();
        for name in names {
            let path = host.join(&name);
            let image_path = format!("{chroot}/{}", name.to_string_lossy());
            let metadata = path.symlink_metadata().map_err(|error| LayerError::Read(path.clone(), error))?;
            let (target, metadata) = if metadata.file_type().is_symlink() {
                if self.windows {
                    continue;
                }
                let target = path.canonicalize().map_err(|_| LayerError::BrokenSymlink(path.clone()))?;
                if !target.starts_with(self.allowed) {
                    return Err(LayerError::SymlinkEscapes { link: path, root: self.allowed.to_owned(), target });
                }
                let metadata = target.metadata().map_err(|error| LayerError::Read(target.clone(), error))?;
                (target, metadata)
            } else {
                (path, metadata)
            };
            if metadata.is_dir() {
                if host.starts_with(&target) {
                    return Err(LayerError::BrokenSymlink(target));
                }
                self.tar
                    .append_empty(&Header::directory(&image_path, MODE, self.mtime))
                    .map_err(|e| self.write_error(e))?;
                self.directory(&target, &image_path, depth + 1)?;
            } else if metadata.is_file() {
                self.file(&target, &image_path, metadata.len())?;
            } else {
                return Err(LayerError::UnsupportedEntry(target));
            }
        }
        Ok(())
    }

    fn file(&mut self, host: &Path, image_path: &str, size: u64) -> Result<(), LayerError> {
        let file = File::open(host).map_err(|error| LayerError::Read(host.to_owned(), error))?;
        let mut header = Header::file(image_path, MODE, self.mtime, size);
        if self.windows {
            header.pax_records = BTreeMap::from([("MSWINDOWS.rawsd".to_owned(), WINDOWS_RAW_SD.as_bytes().to_vec())]);
        }
        self.tar.append(&header, io::BufReader::new(file)).map_err(|error| self.write_error(error))
    }

    fn write_error(&self, error: io::Error) -> LayerError {
        LayerError::Write(self.blobs.to_owned(), error)
    }
}
