//! rko's cache directory: content-addressed layer blobs and one persistent `go build` output
//! per (import path, platform, build directory), so an unchanged program is not relinked.
//! Writers use temporary files and atomic renames; a per-output lock keeps concurrent runs
//! from building into the same file at once. Depends on `image` only.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
        for directory in [&blobs, &root.join("bin"), &root.join("layers")] {
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

    /// The layer cache (entries under `<root>/layers`).
    pub fn layers(&self) -> super::layer_cache::LayerCache {
        super::layer_cache::LayerCache::at(&self.root.join("layers"), &self.blobs)
    }

    /// Where layer blobs live, named by their hex digest.
    pub fn blobs(&self) -> &Path {
        &self.blobs
    }

    /// The directory holding the `go build` output for one import path and platform.
    pub fn binary_directory(&self, import_path: &str, platform: &Platform, run_directory: &Path) -> PathBuf {
        let key = key(&[import_path, &platform.to_string(), &run_directory.to_string_lossy()]);
        let key = &key[..24];
        let name = import_path.rsplit('/').next().unwrap_or("app");
        self.root.join("bin").join(format!("{name}-{}-{key}", platform.to_string().replace(['/', ':'], "-")))
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
pub(super) fn age(path: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()?;
    SystemTime::now().duration_since(modified).ok()
}

/// How long unused cache content is kept.
const KEEP_UNUSED: Duration = Duration::from_secs(14 * 24 * 3600);
/// How old a temporary file must be to count as left behind by a crash.
const ABANDONED: Duration = Duration::from_secs(3600);
/// How often garbage is collected.
const COLLECT_EVERY: Duration = Duration::from_secs(24 * 3600);

impl Cache {
    /// Once a day: delete temporary files crashes left behind, and what went unused for two
    /// weeks: build outputs, layer entries, and blobs no entry refers to. Best effort; errors
    /// are ignored.
    pub fn collect_garbage(&self) {
        let stamp = self.root.join("gc-stamp");
        if age(&stamp).is_some_and(|age| age < COLLECT_EVERY) {
            return;
        }
        let _ = std::fs::write(&stamp, b"");
        let referenced = self.layers().collect_garbage(KEEP_UNUSED, ABANDONED);
        // `go build` touches its output on every run, even when it does not relink.
        for entry in std::fs::read_dir(self.root.join("bin")).into_iter().flatten().flatten() {
            let directory = entry.path();
            let newest = std::fs::read_dir(&directory)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|file| file.file_name() != ".lock")
                .filter_map(|file| age(&file.path()))
                .min();
            if newest.is_none_or(|age| age > KEEP_UNUSED)
                && age(&directory).is_some_and(|age| age > ABANDONED)
                && let Ok(_lock) = FileLock::try_acquire(&directory.join(".lock"))
            {
                let _ = std::fs::remove_dir_all(&directory);
            }
        }
        for entry in std::fs::read_dir(&self.blobs).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let temporary = name.starts_with('.');
            let limit = if temporary { ABANDONED } else { KEEP_UNUSED };
            if age(&path).is_some_and(|age| age > limit) && !referenced.contains(&name) && !name.starts_with("builtin-")
            {
                let _ = std::fs::remove_file(&path);
            }
        }
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
    use crate::image::layer::WrittenLayer;

    fn age_by(path: &Path, days: u64) {
        let when = SystemTime::now() - Duration::from_secs(days * 24 * 3600);
        File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
    }

    #[test]
    fn garbage_collection_keeps_what_was_used_lately() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::open(root.path()).unwrap();
        let blobs = cache.blobs().to_owned();
        let write = |path: PathBuf, contents: &str, days: u64| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            age_by(&path, days);
            path
        };
        // A blob and the layer entry naming it, both last used `days` ago.
        let layer = |contents: &str, days: u64| {
            let digest = crate::image::Digest::of(contents.as_bytes());
            let blob = write(blobs.join(digest.hex()), contents, days);
            let layer = WrittenLayer { digest: digest.clone(), size: 1, diff_id: digest, uncompressed_size: 1 };
            cache.layers().put(contents, &layer).unwrap();
            let entry = root.path().join("layers").join(format!("{contents}.json"));
            age_by(&entry, days);
            (entry, blob)
        };
        let (fresh_entry, referenced) = layer("a", 1);
        age_by(&referenced, 30);
        let (stale_entry, unreferenced) = layer("b", 30);
        let torn_entry = write(root.path().join("layers/.entry-x"), "{", 1);
        let recent = write(blobs.join("cc"), "c", 1);
        let partial = write(blobs.join(".layer-y"), "", 1);
        let builtin = write(blobs.join("builtin-base-v1-x.json"), "{}", 30);
        let used_binary = write(root.path().join("bin/app-linux-amd64-1/app"), "bin", 1);
        let old_binary = write(root.path().join("bin/old-linux-amd64-2/old"), "bin", 30);
        write(old_binary.with_file_name(".lock"), "", 0);
        std::fs::File::open(old_binary.parent().unwrap())
            .unwrap()
            .set_modified(SystemTime::now() - KEEP_UNUSED * 2)
            .unwrap();

        cache.collect_garbage();
        for kept in [&fresh_entry, &referenced, &recent, &builtin, &used_binary] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        for removed in [&stale_entry, &torn_entry, &unreferenced, &partial, &old_binary] {
            assert!(!removed.exists(), "{} was kept", removed.display());
        }
        assert!(!old_binary.parent().unwrap().exists());

        // Collected at most once a day.
        let again = write(blobs.join("dd"), "d", 30);
        cache.collect_garbage();
        assert!(again.exists());
    }
}
