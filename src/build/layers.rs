//! The two layers ko adds to every image, written exactly as ko writes them: the kodata layer
//! (`/var/run/ko`, symlinks followed inside the allowed root) and the binary layer
//! (`/ko-app/<name>`), with Windows' `Files/` and `Hives/` layout. kodata is first planned (the
//! walk, the symlink checks), so the plan can be fingerprinted for the layer cache and written
//! only on a miss. Each layer is streamed once through [`LayerWriter`]. Depends on `image`.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::image::layer::{Compression, LayerWriter, WrittenLayer};
use crate::image::tar::Header;

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
    #[error("kodata symlink `{}` loops: it points to `{}`, which contains it; remove the link or point it elsewhere", link.display(), target.display())]
    SymlinkLoop { link: PathBuf, target: PathBuf },
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

/// One entry of the kodata layer: a directory, or a file read from `source`.
#[derive(Clone, Debug)]
struct PlannedEntry {
    name: String,
    source: Option<(PathBuf, std::fs::Metadata)>,
}

/// The kodata layer's entries, in order, before anything is written.
pub struct KodataPlan {
    entries: Vec<PlannedEntry>,
    mtime: i64,
    windows: bool,
}

/// Walk kodata (following symlinks inside the allowed root) and list the layer's entries.
pub fn plan_kodata(layer: &KodataLayer<'_>) -> Result<KodataPlan, LayerError> {
    let (prefix, chroot) = if layer.windows {
        (&["Hives", "Files", "Files/var", "Files/var/run", "Files/var/run/ko"][..], format!("Files{KODATA_ROOT}"))
    } else {
        (&["/var", "/var/run", "/var/run/ko"][..], KODATA_ROOT.to_owned())
    };
    let mut entries: Vec<PlannedEntry> =
        prefix.iter().map(|name| PlannedEntry { name: (*name).to_owned(), source: None }).collect();
    if layer.source.is_dir() {
        let root = canonical(layer.source)?;
        let allowed = match layer.allowed_root {
            Some(path) => canonical(path)?,
            None => root.clone(),
        };
        walk(&root, &chroot, &allowed, layer.windows, &mut vec![root.clone()], &mut entries)?;
    }
    Ok(KodataPlan { entries, mtime: layer.mtime, windows: layer.windows })
}

impl KodataPlan {
    /// A fingerprint of everything the layer's bytes depend on: entry names, and each file's
    /// size, modification and change times and inode (a change to a file changes its ctime).
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("kodata-v1 {} {}\n", self.mtime, self.windows));
        for entry in &self.entries {
            hasher.update(entry.name.as_bytes());
            if let Some((path, metadata)) = &entry.source {
                hasher.update(format!(
                    "\0{}\0{}\0{}.{}\0{}.{}\0{}\0{}",
                    path.display(),
                    metadata.len(),
                    metadata.mtime(),
                    metadata.mtime_nsec(),
                    metadata.ctime(),
                    metadata.ctime_nsec(),
                    metadata.ino(),
                    metadata.dev()
                ));
            }
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }

    /// Write the planned layer into `blobs`.
    pub fn write(&self, blobs: &Path, compression: Compression) -> Result<WrittenLayer, LayerError> {
        let write_error = |error| LayerError::Write(blobs.to_owned(), error);
        let mut writer = LayerWriter::create(blobs, compression).map_err(write_error)?;
        for entry in &self.entries {
            match &entry.source {
                None => {
                    writer.tar().append_empty(&Header::directory(&entry.name, MODE, self.mtime)).map_err(write_error)?
                }
                Some((path, metadata)) => {
                    let file = File::open(path).map_err(|error| LayerError::Read(path.clone(), error))?;
                    let mut header = Header::file(&entry.name, MODE, self.mtime, metadata.len());
                    if self.windows {
                        header.pax_records.insert("MSWINDOWS.rawsd".to_owned(), WINDOWS_RAW_SD.as_bytes().to_vec());
                    }
                    writer.tar().append(&header, io::BufReader::new(file)).map_err(write_error)?;
                }
            }
        }
        let (written, _) = writer.finish(blobs).map_err(write_error)?;
        Ok(written)
    }
}

/// Add the entries of `host` (a real directory, the last of `walking`, the real directories
/// being walked) under `chroot`, in lexical order like Go's `filepath.Walk`, following
/// symlinks that stay inside `allowed`.
fn walk(
    host: &Path,
    chroot: &str,
    allowed: &Path,
    windows: bool,
    walking: &mut Vec<PathBuf>,
    entries: &mut Vec<PlannedEntry>,
) -> Result<(), LayerError> {
    if walking.len() > MAX_DEPTH {
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
        let link = metadata.file_type().is_symlink();
        let (target, metadata) = if link {
            if windows {
                continue;
            }
            let target = path.canonicalize().map_err(|_| LayerError::BrokenSymlink(path.clone()))?;
            if !target.starts_with(allowed) {
                return Err(LayerError::SymlinkEscapes { link: path, root: allowed.to_owned(), target });
            }
            let metadata = target.metadata().map_err(|error| LayerError::Read(target.clone(), error))?;
            (target, metadata)
        } else {
            (path, metadata)
        };
        if metadata.is_dir() {
            // Following it would walk a directory being walked, or one holding this one: a
            // loop, however many links long.
            if link && (walking.contains(&target) || host.starts_with(&target)) {
                return Err(LayerError::SymlinkLoop { link: host.join(&name), target });
            }
            entries.push(PlannedEntry { name: image_path.clone(), source: None });
            walking.push(target.clone());
            walk(&target, &image_path, allowed, windows, walking, entries)?;
            walking.pop();
        } else if metadata.is_file() {
            entries.push(PlannedEntry { name: image_path, source: Some((target, metadata)) });
        } else {
            return Err(LayerError::UnsupportedEntry(target));
        }
    }
    Ok(())
}

/// Write the binary layer into `blobs`.
pub fn write_binary(
    layer: &BinaryLayer<'_>,
    blobs: &Path,
    compression: Compression,
) -> Result<WrittenLayer, LayerError> {
    let write = |error| LayerError::Write(blobs.to_owned(), error);
    let mut writer = LayerWriter::create(blobs, compression).map_err(write)?;
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn plan(source: &Path, allowed_root: Option<&Path>) -> Result<KodataPlan, LayerError> {
        plan_kodata(&KodataLayer { source, allowed_root, mtime: 0, windows: false })
    }

    #[test]
    fn symlink_loops_name_the_link() {
        let package = tempfile::tempdir().unwrap();
        let kodata = package.path().join("kodata");
        std::fs::create_dir_all(kodata.join("a")).unwrap();
        std::fs::create_dir_all(kodata.join("c")).unwrap();
        std::fs::write(kodata.join("c/file.txt"), "x").unwrap();
        let kodata = kodata.canonicalize().unwrap();
        // A link to a sibling directory is no loop.
        symlink(kodata.join("c"), kodata.join("a/to-c")).unwrap();
        let names: Vec<String> = plan(&kodata, None).unwrap().entries.into_iter().map(|entry| entry.name).collect();
        assert!(names.contains(&"/var/run/ko/a/to-c/file.txt".to_owned()), "{names:?}");

        let loops = |link: PathBuf, target: &Path, allowed: Option<&Path>| {
            symlink(target, &link).unwrap();
            match plan(&kodata, allowed) {
                Err(LayerError::SymlinkLoop { link: named, .. }) => assert_eq!(named, link),
                other => panic!("{}: {:?}", link.display(), other.map(|_| ())),
            }
            std::fs::remove_file(&link).unwrap();
        };
        loops(kodata.join("self"), Path::new("."), None);
        loops(kodata.join("a/up"), Path::new(".."), None);
        // Two links, each harmless alone.
        symlink(kodata.join("a"), kodata.join("c/to-a")).unwrap();
        match plan(&kodata, None) {
            Err(LayerError::SymlinkLoop { link, .. }) => assert!(link.ends_with("to-a") || link.ends_with("to-c")),
            other => panic!("{:?}", other.map(|_| ())),
        }
        std::fs::remove_file(kodata.join("c/to-a")).unwrap();
        // Above kodata, when the allowed root lets the link out.
        loops(kodata.join("package"), Path::new(".."), Some(package.path()));
        let message = LayerError::SymlinkLoop { link: kodata.join("self"), target: kodata.clone() }.to_string();
        assert!(message.starts_with(&format!("kodata symlink `{}` loops", kodata.join("self").display())), "{message}");
    }
}
