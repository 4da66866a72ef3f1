//! The blocking work of one build, run off the async threads: the kodata layer and the binary
//! layer, each taken from the layer cache when it has them, else written into the cache's blob
//! directory — or, when the cache cannot take the file (a full or read-only disk), into the
//! run's overflow, so a cache that cannot be written never fails a build. Depends on `cache`
//! and `image`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::BuildError;
use super::layers::{BinaryLayer, KodataLayer, LayerError, plan_kodata, write_binary};
use crate::cache::Cache;
use crate::image::layer::{Compression, WrittenLayer};

/// A layer ready to append: what was written, where its bytes are, and how it was obtained.
#[derive(Clone, Debug)]
pub struct MadeLayer {
    pub written: WrittenLayer,
    pub path: PathBuf,
    /// It came from the layer cache (neither tarred nor compressed).
    pub cached: bool,
    /// Why the cache could not hold it, if it went to the overflow.
    pub overflowed: Option<Arc<io::Error>>,
}

/// Everything needed to produce one platform's binary layer, run while the output lock is
/// held (a concurrent run may rebuild the binary once it is released).
pub struct BinaryJob {
    pub binary: PathBuf,
    pub app: String,
    pub windows: bool,
    pub capabilities: Option<Vec<u8>>,
    pub compression: Compression,
    pub cache: Cache,
}

pub struct ProducedBinary {
    pub layer: MadeLayer,
    pub build_info: Result<Arc<crate::gobinary::BuildInfo>, String>,
    pub build_id: Option<String>,
}

impl BinaryJob {
    pub fn run(self) -> Result<ProducedBinary, BuildError> {
        let build_info =
            crate::gobinary::read_build_info(&self.binary).map(Arc::new).map_err(|error| error.to_string());
        // The binary layer depends on the binary (its Go build ID) and how it is laid out.
        let build_id = crate::gobinary::read_build_id(&self.binary).ok();
        let key = build_id.as_ref().map(|build_id| {
            let capabilities = self.capabilities.as_deref().map(hex::encode).unwrap_or_default();
            crate::cache::key(&[
                "binary-v1",
                build_id,
                &self.app,
                &self.windows.to_string(),
                &capabilities,
                &self.compression.name(),
            ])
        });
        let layer = BinaryLayer {
            binary: &self.binary,
            app_name: &self.app,
            windows: self.windows,
            capabilities: self.capabilities.clone(),
        };
        let layer = cached_or_written(&self.cache, key, |blobs| write_binary(&layer, blobs, self.compression))?;
        Ok(ProducedBinary { layer, build_info, build_id })
    }
}

/// Everything needed to produce a package's kodata layer (once per build, for all platforms).
pub struct KodataJob {
    pub source: PathBuf,
    pub allowed_root: Option<PathBuf>,
    pub time: i64,
    pub windows: bool,
    pub compression: Compression,
    pub cache: Cache,
}

impl KodataJob {
    /// The layer; the layer cache is keyed by the kodata files' metadata.
    pub fn run(self) -> Result<MadeLayer, BuildError> {
        let plan = plan_kodata(&KodataLayer {
            source: &self.source,
            allowed_root: self.allowed_root.as_deref(),
            mtime: self.time,
            windows: self.windows,
        })?;
        let key = crate::cache::key(&["kodata-v1", &plan.fingerprint(), &self.compression.name()]);
        cached_or_written(&self.cache, Some(key), |blobs| plan.write(blobs, self.compression))
    }
}

/// The cached layer for `key`, or a fresh one from `write` (then cached). `write` is given the
/// blob directory to write into; if the cache's refuses the file, it is tried once more in the
/// run's overflow.
fn cached_or_written(
    cache: &Cache,
    key: Option<String>,
    write: impl Fn(&Path) -> Result<WrittenLayer, LayerError>,
) -> Result<MadeLayer, BuildError> {
    let layers = cache.layers();
    if let Some(written) = key.as_deref().and_then(|key| layers.get(key)) {
        let path = cache.blobs().join(written.digest.hex());
        return Ok(MadeLayer { written, path, cached: true, overflowed: None });
    }
    match write(cache.blobs()) {
        Ok(written) => {
            if let Some(key) = key {
                // A failure to remember only costs the next run a rebuild.
                let _ = layers.put(&key, &written);
            }
            let path = cache.blobs().join(written.digest.hex());
            Ok(MadeLayer { written, path, cached: false, overflowed: None })
        }
        Err(LayerError::Write(_, error)) => {
            let overflow = cache.overflow_blobs()?;
            let written = write(&overflow)?;
            let path = overflow.join(written.digest.hex());
            Ok(MadeLayer { written, path, cached: false, overflowed: Some(Arc::new(error)) })
        }
        Err(error) => Err(error.into()),
    }
}
