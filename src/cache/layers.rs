//! The layer cache: a layer's digest, size and diffID, keyed by what its bytes depend on (for
//! the binary layer the Go build ID, app name, platform layout, capabilities and compression;
//! for kodata a fingerprint of its files). A hit means the layer is neither re-tarred nor
//! re-compressed — and if the registry has the blob, never read. Entries are written with an
//! atomic rename and record the blob file's identity (size, times, inode), so a torn or stale
//! entry, or a blob changed behind the cache's back, is detected and the layer rebuilt.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::age;
use crate::image::layer::WrittenLayer;

#[derive(Clone, Debug)]
pub struct LayerCache {
    entries: PathBuf,
    blobs: PathBuf,
}

/// What identifies the blob file an entry was written for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct BlobIdentity {
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
    inode: u64,
}

impl BlobIdentity {
    fn of(path: &Path) -> Option<BlobIdentity> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(BlobIdentity {
            size: metadata.len(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
            inode: metadata.ino(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    layer: WrittenLayer,
    blob: BlobIdentity,
}

impl LayerCache {
    /// Entries in `entries` (an existing directory), for blobs in `blobs`.
    pub fn at(entries: &Path, blobs: &Path) -> LayerCache {
        LayerCache { entries: entries.to_owned(), blobs: blobs.to_owned() }
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.entries.join(format!("{key}.json"))
    }

    /// The cached layer for `key`, if its entry is whole and its blob is the file it recorded.
    pub fn get(&self, key: &str) -> Option<WrittenLayer> {
        let path = self.entry_path(key);
        let entry: Entry = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        let blob = self.blobs.join(entry.layer.digest.hex());
        if BlobIdentity::of(&blob)? != entry.blob || entry.blob.size != entry.layer.size {
            return None;
        }
        // Record the use, so garbage collection keeps what is still needed.
        if let Ok(file) = std::fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(entry.layer)
    }

    /// Remember `layer` (whose blob is already in place) under `key`.
    pub fn put(&self, key: &str, layer: &WrittenLayer) -> std::io::Result<()> {
        let blob = BlobIdentity::of(&self.blobs.join(layer.digest.hex()))
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the layer's blob is missing"))?;
        let bytes = serde_json::to_vec(&Entry { layer: layer.clone(), blob }).map_err(std::io::Error::other)?;
        let mut temporary = tempfile::Builder::new().prefix(TEMPORARY_PREFIX).tempfile_in(&self.entries)?;
        std::io::Write::write_all(&mut temporary, &bytes)?;
        temporary.persist(self.entry_path(key)).map_err(|error| error.error)?;
        Ok(())
    }

    /// Delete entries unused for `keep` and temporary files older than `abandoned` (left by a
    /// crash); return the hex digests of the blobs the remaining entries refer to.
    pub fn collect_garbage(&self, keep: Duration, abandoned: Duration) -> HashSet<String> {
        let mut referenced = HashSet::new();
        for file in std::fs::read_dir(&self.entries).into_iter().flatten().flatten() {
            let path = file.path();
            let temporary = file.file_name().to_string_lossy().starts_with(TEMPORARY_PREFIX);
            if age(&path).is_some_and(|age| age > if temporary { abandoned } else { keep }) {
                let _ = std::fs::remove_file(&path);
            } else if let Some(entry) = read_entry(&path) {
                referenced.insert(entry.layer.digest.hex().to_owned());
            }
        }
        referenced
    }

    /// Every whole entry: its file, when it was last used, and the hex digest of its blob.
    pub fn uses(&self) -> Vec<EntryUse> {
        std::fs::read_dir(&self.entries)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|file| !file.file_name().to_string_lossy().starts_with(TEMPORARY_PREFIX))
            .filter_map(|file| {
                let path = file.path();
                let used = std::fs::metadata(&path).and_then(|metadata| metadata.modified()).ok()?;
                let blob = read_entry(&path)?.layer.digest.hex().to_owned();
                Some(EntryUse { path, used, blob })
            })
            .collect()
    }

    /// Delete temporary entry files older than `abandoned`.
    pub fn remove_abandoned(&self, abandoned: Duration) {
        for file in std::fs::read_dir(&self.entries).into_iter().flatten().flatten() {
            if file.file_name().to_string_lossy().starts_with(TEMPORARY_PREFIX)
                && age(&file.path()).is_some_and(|age| age > abandoned)
            {
                let _ = std::fs::remove_file(file.path());
            }
        }
    }
}

/// How entries being written are named.
const TEMPORARY_PREFIX: &str = ".entry-";

/// One layer entry, for the size bound.
#[derive(Clone, Debug)]
pub struct EntryUse {
    pub path: PathBuf,
    pub used: SystemTime,
    pub blob: String,
}

fn read_entry(path: &Path) -> Option<Entry> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}
