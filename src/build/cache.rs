//! rko's cache directory: content-addressed layer blobs and one persistent `go build` output
//! per (import path, platform, build directory), so an unchanged program is not relinked.
//! Writers use temporary files and atomic renames; a per-output lock keeps concurrent runs
//! from building into the same file at once. Depends on `image` only.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::BuildError;
use crate::image::Platform;

/// Layout of the cache root.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    blobs: PathBuf,
}

impl Cache {
    /// Open (creating) the cache at `root`.
    pub fn open(root: &Path) -> Result<Cache, BuildError> {
        let blobs = root.join("blobs").join("sha256");
        for directory in [&blobs, &root.join("bin")] {
            std::fs::create_dir_all(directory).map_err(|error| BuildError::Cache {
                path: directory.clone(),
                message: format!("cannot create it: {error}; set RKO_CACHE_DIR to a writable directory"),
            })?;
        }
        Ok(Cache { root: root.to_owned(), blobs })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where layer blobs live, named by their hex digest.
    pub fn blobs(&self) -> &Path {
        &self.blobs
    }

    /// The directory holding the `go build` output for one import path and platform.
    pub fn binary_directory(&self, import_path: &str, platform: &Platform, run_directory: &Path) -> PathBuf {
        let mut hasher = Sha256::new();
        for part in [import_path, &platform.to_string(), &run_directory.to_string_lossy()] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let key = hex::encode(&hasher.finalize()[..12]);
        let name = import_path.rsplit('/').next().unwrap_or("app");
        self.root.join("bin").join(format!("{name}-{}-{key}", platform.to_string().replace(['/', ':'], "-")))
    }
}

/// An exclusive advisory lock on a file, released on drop.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Block until `path` (created if missing) is locked by this process.
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        let file = File::options().create(true).truncate(false).write(true).open(path)?;
        file.lock()?;
        Ok(FileLock { _file: file })
    }
}
