//! The one description of a run. `--json`, `--image-refs` and (later) CI outputs are renderers
//! of this type; nothing else describes what rko built and published.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::build::Built;
use crate::image::Artifact;
use crate::publish::Published;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub images: Vec<ImageReport>,
    /// What pushing cost, when images went to a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushReport>,
    /// `resolve`: each `ko://` reference and what it was replaced with.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resolved: BTreeMap<String, String>,
    /// What rko itself used.
    pub resources: Resources,
}

/// rko's own resource use (not its `go build` children's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Resources {
    pub peak_rss_bytes: u64,
}

impl Resources {
    /// This process's peak resident set size so far.
    pub fn now() -> Resources {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage only writes the rusage it is given.
        let result = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
        if result != 0 {
            return Resources::default();
        }
        // SAFETY: getrusage succeeded and initialised the struct.
        let usage = unsafe { usage.assume_init() };
        Resources { peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024 }
    }
}

/// Blobs uploaded (and their bytes), mounted from another repository, or already present.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PushReport {
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    pub mounted: u64,
    pub existing: u64,
    pub referrers: u64,
}

impl From<&crate::registry::pusher::PushStats> for PushReport {
    fn from(stats: &crate::registry::pusher::PushStats) -> PushReport {
        use std::sync::atomic::Ordering::Relaxed;
        PushReport {
            uploaded: stats.uploaded.load(Relaxed),
            uploaded_bytes: stats.uploaded_bytes.load(Relaxed),
            mounted: stats.mounted.load(Relaxed),
            existing: stats.existing.load(Relaxed),
            referrers: stats.referrers.load(Relaxed),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageReport {
    pub import_path: String,
    /// The reference rko printed for this import path.
    pub reference: String,
    pub name: String,
    pub digest: String,
    pub media_type: String,
    pub tags: Vec<String>,
    pub platforms: Vec<PlatformReport>,
    /// SBOMs attached (as OCI referrers) to the image, its platform images and its index.
    pub sboms: Vec<SbomReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SbomReport {
    pub format: String,
    /// The image or index the SBOM describes.
    pub subject: String,
    /// The referrer manifest holding it.
    pub digest: String,
    /// cosign's legacy tag for it (`sha256-<hex>.sbom`), when one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_tag: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlatformReport {
    pub platform: String,
    pub digest: String,
    /// When this platform's build started and finished (seconds since the Unix epoch).
    pub build_started: f64,
    pub build_finished: f64,
    /// Whether `go build` wrote a new binary (false when it was up to date).
    pub relinked: bool,
    /// Whether the layers came from the layer cache (not tarred or compressed).
    pub layers_cached: bool,
}

fn seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |duration| duration.as_secs_f64())
}

impl ImageReport {
    pub fn new(built: &Built, published: &Published) -> ImageReport {
        let media_type = match &built.artifact {
            Artifact::Image(image) => image.media_type().to_owned(),
            Artifact::Index(index) => index.media_type().to_owned(),
        };
        ImageReport {
            import_path: built.import_path.to_string(),
            reference: published.reference.clone(),
            name: published.name.clone(),
            digest: built.artifact.digest().to_string(),
            media_type,
            tags: published.tags.clone(),
            platforms: built
                .platforms
                .iter()
                .map(|platform| PlatformReport {
                    platform: platform.platform.to_string(),
                    digest: platform.image.to_string(),
                    build_started: seconds(platform.started),
                    build_finished: seconds(platform.finished),
                    relinked: platform.relinked,
                    layers_cached: platform.layers_cached,
                })
                .collect(),
            sboms: built
                .attachments
                .iter()
                .map(|attachment| SbomReport {
                    format: attachment.format.clone(),
                    subject: attachment.referrer.subject.digest.to_string(),
                    digest: attachment.referrer.digest().to_string(),
                    legacy_tag: attachment.legacy.as_ref().map(|legacy| legacy.tag.clone()),
                })
                .collect(),
        }
    }
}
