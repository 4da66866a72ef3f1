//! rko's cache directory: content-addressed layer blobs, the layer cache ([`layers`]) and one
//! persistent `go build` output per (import path, platform, build directory), so an unchanged
//! program is not relinked. Writers use temporary files and atomic renames; a per-output lock
//! keeps concurrent runs from building into the same file at once. A cache that cannot be
//! written never fails a build: a run falls back to a temporary cache, and an entry that does
//! not fit (a full disk) is kept for the run only, in an overflow directory. [`gc`] removes
//! what crashes left behind and keeps the cache under its size bound. Depends on `image` only.

pub mod gc;
pub mod layers;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};

use crate::image::Platform;
pub use layers::LayerCache;

/// The size bound when none is configured: 5 GB.
pub const DEFAULT_MAX_SIZE: u64 = 5_000_000_000;

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache directory `{}` cannot be used: {reason}", root.display())]
    Unusable { root: PathBuf, reason: String },
    #[error(
        "cannot create a temporary cache in `{}`: {error}; set RKO_CACHE_DIR (or TMPDIR) to a writable directory",
        directory.display()
    )]
    Temporary { directory: PathBuf, error: io::Error },
}

/// Layout of the cache root.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    blobs: PathBuf,
    max_size: u64,
    /// Set for a temporary cache: the directory is removed when the last clone is dropped.
    temporary: Option<Arc<tempfile::TempDir>>,
    /// Where entries go that the cache could not hold, created on first need.
    overflow: Arc<Mutex<Option<Arc<tempfile::TempDir>>>>,
}

/// Where one `go build` writes its output.
pub struct BinaryOutput {
    pub directory: PathBuf,
    /// Held while the output is built and read; `None` in the run's private overflow.
    pub lock: Option<FileLock>,
}

impl Cache {
    /// Open (creating) the cache at `root`, checking that every part of it can be written, and
    /// remove the partial files runs that are gone left behind.
    pub fn open(root: &Path, max_size: u64) -> Result<Cache, CacheError> {
        let cache = Cache::at(root, max_size, None);
        cache.prepare()?;
        cache.remove_abandoned_partials();
        Ok(cache)
    }

    /// A cache in the system's temporary directory, removed at the end of the run.
    pub fn temporary() -> Result<Cache, CacheError> {
        let directory = temporary_directory("rko-cache-")?;
        let root = directory.path().to_owned();
        let cache = Cache::at(&root, u64::MAX, Some(directory));
        cache.prepare().map_err(|error| match error {
            CacheError::Unusable { reason, .. } => {
                CacheError::Temporary { directory: std::env::temp_dir(), error: io::Error::other(reason) }
            }
            error => error,
        })?;
        Ok(cache)
    }

    /// [`Cache::open`], or, if `root` cannot be used, a temporary cache and the reason.
    pub fn open_or_temporary(root: &Path, max_size: u64) -> Result<(Cache, Option<CacheError>), CacheError> {
        match Cache::open(root, max_size) {
            Ok(cache) => Ok((cache, None)),
            Err(error) => Ok((Cache::temporary()?, Some(error))),
        }
    }

    fn at(root: &Path, max_size: u64, temporary: Option<tempfile::TempDir>) -> Cache {
        Cache {
            root: root.to_owned(),
            blobs: root.join("blobs").join("sha256"),
            max_size,
            temporary: temporary.map(Arc::new),
            overflow: Arc::default(),
        }
    }

    /// Create the directories and prove each can be written.
    fn prepare(&self) -> Result<(), CacheError> {
        for directory in [&self.blobs, &self.root.join("bin"), &self.root.join("layers")] {
            let unusable = |action: &str, error: io::Error| CacheError::Unusable {
                root: self.root.clone(),
                reason: format!("cannot {action} `{}`: {error}", directory.display()),
            };
            std::fs::create_dir_all(directory).map_err(|error| unusable("create", error))?;
            tempfile::Builder::new()
                .prefix(".probe-")
                .tempfile_in(directory)
                .map_err(|error| unusable("write into", error))?;
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is a temporary cache for one run.
    pub fn is_temporary(&self) -> bool {
        self.temporary.is_some()
    }

    /// The layer cache (entries under `<root>/layers`).
    pub fn layers(&self) -> LayerCache {
        LayerCache::at(&self.root.join("layers"), &self.blobs)
    }

    /// Where layer blobs live, named by their hex digest.
    pub fn blobs(&self) -> &Path {
        &self.blobs
    }

    /// The directory holding the `go build` output for one import path and platform.
    pub fn binary_directory(&self, import_path: &str, platform: &Platform, run_directory: &Path) -> PathBuf {
        self.root.join("bin").join(binary_name(import_path, platform, run_directory))
    }

    /// Where to build one import path for one platform, locked against concurrent runs. If
    /// the cache cannot hold it, a directory of the run's overflow (the reason is returned so
    /// the caller can say it once).
    pub fn binary_output(
        &self,
        import_path: &str,
        platform: &Platform,
        run_directory: &Path,
    ) -> Result<(BinaryOutput, Option<io::Error>), CacheError> {
        let directory = self.binary_directory(import_path, platform, run_directory);
        let locked = std::fs::create_dir_all(&directory).and_then(|()| FileLock::acquire(&directory.join(".lock")));
        match locked {
            Ok(lock) => Ok((BinaryOutput { directory, lock: Some(lock) }, None)),
            Err(error) => Ok((self.overflow_binary_output(import_path, platform, run_directory)?, Some(error))),
        }
    }

    /// A directory for one build output in the run's overflow.
    pub fn overflow_binary_output(
        &self,
        import_path: &str,
        platform: &Platform,
        run_directory: &Path,
    ) -> Result<BinaryOutput, CacheError> {
        let directory = self.overflow()?.join("bin").join(binary_name(import_path, platform, run_directory));
        std::fs::create_dir_all(&directory)
            .map_err(|error| CacheError::Temporary { directory: directory.clone(), error })?;
        Ok(BinaryOutput { directory, lock: None })
    }

    /// The blob directory of the run's overflow, for layers the cache had no room for.
    pub fn overflow_blobs(&self) -> Result<PathBuf, CacheError> {
        let directory = self.overflow()?.join("blobs");
        std::fs::create_dir_all(&directory)
            .map_err(|error| CacheError::Temporary { directory: directory.clone(), error })?;
        Ok(directory)
    }

    /// Whether anything went to the overflow so far.
    pub fn overflowed(&self) -> bool {
        self.overflow.lock().is_ok_and(|overflow| overflow.is_some())
    }

    fn overflow(&self) -> Result<PathBuf, CacheError> {
        let mut overflow = self.overflow.lock().map_err(|_| CacheError::Temporary {
            directory: std::env::temp_dir(),
            error: io::Error::other("a thread panicked while holding the overflow"),
        })?;
        if let Some(directory) = overflow.as_ref() {
            return Ok(directory.path().to_owned());
        }
        let directory = Arc::new(temporary_directory("rko-overflow-")?);
        let path = directory.path().to_owned();
        *overflow = Some(directory);
        Ok(path)
    }

    /// The configured size bound in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }
}

fn binary_name(import_path: &str, platform: &Platform, run_directory: &Path) -> String {
    let key = key(&[import_path, &platform.to_string(), &run_directory.to_string_lossy()]);
    let key = &key[..24];
    let name = import_path.rsplit('/').next().unwrap_or("app");
    format!("{name}-{}-{key}", platform.to_string().replace(['/', ':'], "-"))
}

/// Temporary directories of this process, removed by [`remove_temporary_files`].
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temporary_directory(prefix: &str) -> Result<tempfile::TempDir, CacheError> {
    let directory = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|error| CacheError::Temporary { directory: std::env::temp_dir(), error })?;
    if let Ok(mut temporary) = TEMPORARY.lock() {
        temporary.push(directory.path().to_owned());
    }
    Ok(directory)
}

/// For an interrupted run, just before it exits (destructors will not run): remove the
/// partial layer files it was writing and its temporary caches.
pub fn remove_temporary_files() {
    crate::image::layer::remove_partial_layers();
    if let Ok(temporary) = TEMPORARY.lock() {
        for directory in temporary.iter() {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

/// A cache key: the hex SHA-256 of `parts`, each ended by a NUL.
pub fn key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// How long ago `path` was modified (`None` if it is gone or in the future).
pub(crate) fn age(path: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()?;
    SystemTime::now().duration_since(modified).ok()
}

/// An exclusive advisory lock on a file, released on drop.
#[derive(Debug)]
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

    /// Lock `path` if nobody holds it.
    pub fn try_acquire(path: &Path) -> io::Result<FileLock> {
        let file = File::options().create(true).truncate(false).write(true).open(path)?;
        file.try_lock().map_err(|error| match error {
            std::fs::TryLockError::Error(error) => error,
            std::fs::TryLockError::WouldBlock => io::Error::from(io::ErrorKind::WouldBlock),
        })?;
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_directory_falls_back_to_a_temporary_cache() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("file");
        std::fs::write(&file, "not a directory").unwrap();
        let (cache, reason) = Cache::open_or_temporary(&file, DEFAULT_MAX_SIZE).unwrap();
        let reason = reason.expect("the file is refused").to_string();
        assert!(reason.contains("cannot create") && reason.contains("file"), "{reason}");
        assert!(cache.is_temporary() && cache.blobs().is_dir());
        let root = cache.root().to_owned();
        drop(cache);
        assert!(!root.exists(), "the temporary cache outlived the run");

        let (cache, reason) = Cache::open_or_temporary(&directory.path().join("cache"), DEFAULT_MAX_SIZE).unwrap();
        assert!(reason.is_none() && !cache.is_temporary());
    }

    #[test]
    fn overflow_holds_what_the_cache_cannot() {
        let directory = tempfile::tempdir().unwrap();
        let cache = Cache::open(directory.path(), DEFAULT_MAX_SIZE).unwrap();
        assert!(!cache.overflowed());
        let platform = Platform::new("linux", "amd64", "");
        let output = cache.overflow_binary_output("example.com/app", &platform, directory.path()).unwrap();
        assert!(output.directory.is_dir() && !output.directory.starts_with(directory.path()));
        assert!(output.lock.is_none());
        let blobs = cache.overflow_blobs().unwrap();
        assert!(blobs.starts_with(output.directory.parent().unwrap().parent().unwrap()));
        assert!(cache.overflowed());
        let overflow = blobs.parent().unwrap().to_owned();
        drop(cache);
        assert!(!overflow.exists(), "the overflow outlived the run");
    }
}
