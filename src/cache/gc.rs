//! Keeping the cache clean and bounded. At start-up, partial files whose writer is gone are
//! removed (a partial layer is locked by the process writing it, so a live run's files are
//! never touched). After each run, what went unused for two weeks is removed (checked once a
//! day), and the cache is brought back under its size bound by removing the least recently used
//! build outputs and blobs (with the layer entries naming them). Content used within the last
//! hour is never removed, so a concurrent run keeps what it is using. Best effort throughout:
//! errors are ignored.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Cache, FileLock, age};
use crate::image::layer::PARTIAL_PREFIX;

/// How long unused cache content is kept.
const KEEP_UNUSED: Duration = Duration::from_secs(14 * 24 * 3600);
/// How old an unlocked temporary file must be to count as left behind by a crash.
const ABANDONED: Duration = Duration::from_secs(3600);
/// How recently used content must be to be safe from the size bound.
const RECENT: Duration = ABANDONED;
/// How long a new partial layer may stay unlocked (between its creation and its lock).
const PARTIAL_GRACE: Duration = Duration::from_secs(5);
/// How often the two-week rule is applied.
const COLLECT_EVERY: Duration = Duration::from_secs(24 * 3600);

impl Cache {
    /// Remove partial files whose writers are gone: partial layers nobody holds locked, other
    /// temporary files untouched for an hour.
    pub(super) fn remove_abandoned_partials(&self) {
        for entry in std::fs::read_dir(&self.blobs).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && abandoned(&entry.path(), &name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        self.layers().remove_abandoned(ABANDONED);
    }

    /// After a run: once a day, delete what went unused for two weeks; then evict the least
    /// recently used content until the cache is under its size bound. A temporary cache is
    /// left alone (it goes away with the run).
    pub fn collect_garbage(&self) {
        if self.is_temporary() {
            return;
        }
        self.remove_abandoned_partials();
        let stamp = self.root.join("gc-stamp");
        if age(&stamp).is_none_or(|age| age >= COLLECT_EVERY) {
            let _ = std::fs::write(&stamp, b"");
            self.remove_unused();
        }
        self.enforce_size_bound();
    }

    /// The two-week rule: build outputs, layer entries, and blobs no entry refers to.
    fn remove_unused(&self) {
        let referenced = self.layers().collect_garbage(KEEP_UNUSED, ABANDONED);
        for output in self.binary_outputs() {
            // `go build` touches its output on every run, even when it does not relink.
            let unused = SystemTime::now().duration_since(output.used).is_ok_and(|age| age > KEEP_UNUSED);
            if unused && age(&output.directory).is_some_and(|age| age > ABANDONED) {
                remove_output(&output.directory);
            }
        }
        for entry in std::fs::read_dir(&self.blobs).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with(PINNED_PREFIX) || referenced.contains(&name) {
                continue;
            }
            if age(&entry.path()).is_some_and(|age| age > KEEP_UNUSED) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Evict least recently used build outputs and blobs until the cache fits its bound.
    fn enforce_size_bound(&self) {
        let outputs = self.binary_outputs();
        let blobs: Vec<(PathBuf, String, u64, SystemTime)> = std::fs::read_dir(&self.blobs)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let metadata = entry.metadata().ok().filter(|metadata| metadata.is_file())?;
                Some((entry.path(), name, metadata.len(), metadata.modified().ok()?))
            })
            .collect();
        let mut total: u64 = outputs.iter().map(|output| output.size).sum::<u64>()
            + blobs.iter().map(|(_, _, size, _)| size).sum::<u64>();
        if total <= self.max_size {
            return;
        }
        // A blob was last used when it was written or when an entry naming it was last hit.
        let entries = self.layers().uses();
        let mut entry_use: HashMap<&str, SystemTime> = HashMap::new();
        let mut entry_files: HashMap<&str, Vec<&Path>> = HashMap::new();
        for entry in &entries {
            let used = entry_use.entry(&entry.blob).or_insert(entry.used);
            *used = (*used).max(entry.used);
            entry_files.entry(&entry.blob).or_default().push(&entry.path);
        }
        let pinned = self.pinned_blobs();
        let mut candidates: Vec<Candidate<'_>> = Vec::new();
        for output in &outputs {
            candidates.push(Candidate { used: output.used, size: output.size, item: Item::Output(&output.directory) });
        }
        for (path, name, size, modified) in &blobs {
            if name.starts_with('.') || name.starts_with(PINNED_PREFIX) || pinned.contains(name) {
                continue;
            }
            let used = entry_use.get(name.as_str()).map_or(*modified, |used| (*used).max(*modified));
            let entries = entry_files.get(name.as_str()).cloned().unwrap_or_default();
            candidates.push(Candidate { used, size: *size, item: Item::Blob { path, entries } });
        }
        candidates.sort_by_key(|candidate| candidate.used);
        let now = SystemTime::now();
        for candidate in candidates {
            if total <= self.max_size {
                break;
            }
            if now.duration_since(candidate.used).map_or(true, |age| age < RECENT) {
                // Everything after this one is more recent still.
                break;
            }
            let removed = match candidate.item {
                Item::Output(directory) => remove_output(directory),
                Item::Blob { path, entries } => {
                    for entry in entries {
                        let _ = std::fs::remove_file(entry);
                    }
                    std::fs::remove_file(path).is_ok()
                }
            };
            if removed {
                total = total.saturating_sub(candidate.size);
            }
        }
    }

    /// Every build output directory: its size and when it was last used.
    fn binary_outputs(&self) -> Vec<Output> {
        std::fs::read_dir(self.root.join("bin"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let directory = entry.path();
                let (mut size, mut used) = (0, None);
                for file in std::fs::read_dir(&directory).into_iter().flatten().flatten() {
                    let Ok(metadata) = file.metadata() else { continue };
                    size += metadata.len();
                    if file.file_name() != ".lock"
                        && let Ok(modified) = metadata.modified()
                    {
                        used = used.max(Some(modified));
                    }
                }
                // An output never built into was used when its directory was made.
                let used = match used {
                    Some(used) => used,
                    None => std::fs::metadata(&directory).and_then(|metadata| metadata.modified()).ok()?,
                };
                Some(Output { directory, size, used })
            })
            .collect()
    }

    /// The blobs the built-in base's records (`builtin-*.json`) name: small, and needed on
    /// every run that uses the built-in base.
    fn pinned_blobs(&self) -> HashSet<String> {
        std::fs::read_dir(&self.blobs)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(PINNED_PREFIX))
            .filter_map(|entry| {
                let record: serde_json::Value = serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
                let digest = record.get("digest")?.as_str()?;
                Some(digest.strip_prefix("sha256:").unwrap_or(digest).to_owned())
            })
            .collect()
    }
}

/// The built-in base's records in the blob directory.
const PINNED_PREFIX: &str = "builtin-";

struct Output {
    directory: PathBuf,
    size: u64,
    used: SystemTime,
}

struct Candidate<'a> {
    used: SystemTime,
    size: u64,
    item: Item<'a>,
}

enum Item<'a> {
    Output(&'a Path),
    Blob { path: &'a Path, entries: Vec<&'a Path> },
}

/// Remove a build output directory unless a run holds its lock.
fn remove_output(directory: &Path) -> bool {
    match FileLock::try_acquire(&directory.join(".lock")) {
        Ok(_lock) => std::fs::remove_dir_all(directory).is_ok(),
        Err(_) => false,
    }
}

/// Whether the temporary file `path` (named `name`) was left by a writer that is gone.
fn abandoned(path: &Path, name: &str) -> bool {
    if !name.starts_with(PARTIAL_PREFIX) {
        return age(path).is_some_and(|age| age > ABANDONED);
    }
    if age(path).is_none_or(|age| age <= PARTIAL_GRACE) {
        return false;
    }
    File::open(path).is_ok_and(|file| file.try_lock().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layer::WrittenLayer;

    fn age_by(path: &Path, seconds: u64) {
        let when = SystemTime::now() - Duration::from_secs(seconds);
        File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
    }

    const DAY: u64 = 24 * 3600;

    fn write(path: PathBuf, contents: &str, seconds: u64) -> PathBuf {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        age_by(&path, seconds);
        path
    }

    /// A blob and the layer entry naming it, both last used `seconds` ago.
    fn layer(cache: &Cache, contents: &str, seconds: u64) -> (PathBuf, PathBuf) {
        let digest = crate::image::Digest::of(contents.as_bytes());
        let blob = write(cache.blobs().join(digest.hex()), contents, seconds);
        let layer = WrittenLayer {
            digest: digest.clone(),
            size: contents.len() as u64,
            diff_id: digest.clone(),
            uncompressed_size: 1,
        };
        let key = &digest.hex()[..8];
        cache.layers().put(key, &layer).unwrap();
        let entry = cache.root().join("layers").join(format!("{key}.json"));
        age_by(&entry, seconds);
        (entry, blob)
    }

    #[test]
    fn garbage_collection_keeps_what_was_used_lately() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::open(root.path(), super::super::DEFAULT_MAX_SIZE).unwrap();
        let blobs = cache.blobs().to_owned();
        let (fresh_entry, referenced) = layer(&cache, "a", DAY);
        age_by(&referenced, 30 * DAY);
        let (stale_entry, unreferenced) = layer(&cache, "b", 30 * DAY);
        let torn_entry = write(root.path().join("layers/.entry-x"), "{", DAY);
        let recent = write(blobs.join("cc"), "c", DAY);
        let partial = write(blobs.join(".layer-y"), "", DAY);
        let download = write(blobs.join(".download-z"), "", DAY);
        let builtin = write(blobs.join("builtin-base-v1-x.json"), "{}", 30 * DAY);
        let used_binary = write(root.path().join("bin/app-linux-amd64-1/app"), "bin", DAY);
        let old_binary = write(root.path().join("bin/old-linux-amd64-2/old"), "bin", 30 * DAY);
        write(old_binary.with_file_name(".lock"), "", 0);
        File::open(old_binary.parent().unwrap()).unwrap().set_modified(SystemTime::now() - KEEP_UNUSED * 2).unwrap();

        cache.collect_garbage();
        for kept in [&fresh_entry, &referenced, &recent, &builtin, &used_binary] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        for removed in [&stale_entry, &torn_entry, &unreferenced, &partial, &download, &old_binary] {
            assert!(!removed.exists(), "{} was kept", removed.display());
        }
        assert!(!old_binary.parent().unwrap().exists());

        // The two-week rule runs at most once a day.
        let again = write(blobs.join("dd"), "d", 30 * DAY);
        cache.collect_garbage();
        assert!(again.exists());
    }

    #[test]
    fn partial_layers_are_removed_only_when_their_writer_is_gone() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::open(root.path(), super::super::DEFAULT_MAX_SIZE).unwrap();
        let dead = write(cache.blobs().join(format!("{PARTIAL_PREFIX}dead")), "x", 60);
        let live = write(cache.blobs().join(format!("{PARTIAL_PREFIX}live")), "x", 2 * 3600);
        let writer = File::open(&live).unwrap();
        writer.lock().unwrap();
        let new = write(cache.blobs().join(format!("{PARTIAL_PREFIX}new")), "x", 0);
        let download = write(cache.blobs().join(".download-recent"), "x", 60);

        let reopened = Cache::open(root.path(), super::super::DEFAULT_MAX_SIZE).unwrap();
        assert!(!dead.exists(), "a partial layer nobody writes was kept");
        for kept in [&live, &new, &download] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        drop(writer);
        reopened.collect_garbage();
        assert!(!live.exists(), "the partial layer outlived its writer");
    }

    #[test]
    fn the_size_bound_evicts_the_least_recently_used() {
        let root = tempfile::tempdir().unwrap();
        let kilobyte = "k".repeat(1000);
        let cache = Cache::open(root.path(), 3500).unwrap();
        // Written long ago, but its entry was hit yesterday: used after `oldest`.
        let (hit_entry, hit_blob) = layer(&cache, &format!("{kilobyte}1"), 10 * DAY);
        age_by(&hit_entry, DAY);
        let (oldest_entry, oldest_blob) = layer(&cache, &format!("{kilobyte}2"), 5 * DAY);
        let old_binary = write(root.path().join("bin/old-linux-amd64-1/old"), &kilobyte, 3 * DAY);
        let (_, recent_blob) = layer(&cache, &format!("{kilobyte}3"), 60);
        let builtin_blob = write(cache.blobs().join("ee"), &kilobyte, 20 * DAY);
        write(cache.blobs().join("builtin-base-v1-y.json"), "{\"digest\":\"sha256:ee\"}", 20 * DAY);
        std::fs::write(root.path().join("gc-stamp"), "").unwrap();

        cache.collect_garbage();
        for removed in [&oldest_blob, &oldest_entry, &old_binary] {
            assert!(!removed.exists(), "{} was kept", removed.display());
        }
        for kept in [&hit_blob, &hit_entry, &recent_blob, &builtin_blob] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }

        // Content used within the hour stays, even above the bound.
        let tight = Cache::open(root.path(), 0).unwrap();
        tight.collect_garbage();
        assert!(recent_blob.exists() && !hit_blob.exists());
    }
}
