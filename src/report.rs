//! The one description of a run, successful or not. `--json`, `--report`, `--image-refs` and
//! the CI outputs are renderers of this type (in `cli::outputs`); nothing else describes what
//! rko built and published. Pure data: measuring the process is the caller's business.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::build::Built;
use crate::image::Artifact;
use crate::image::referrer::AttachmentKind;
use crate::publish::Published;

/// The report's shape; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// The rko that made the report (`CARGO_PKG_VERSION`).
    pub rko_version: String,
    /// Every import path that was built (and published, when asked), in argument order.
    pub images: Vec<ImageReport>,
    /// Every import path that failed, and run-level failures (an archive that could not be
    /// written), with the error as printed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureReport>,
    /// What pushing cost, when images went to a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushReport>,
    /// `resolve`: each `ko://` reference and what it was replaced with.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resolved: BTreeMap<String, String>,
    /// What rko itself used.
    pub resources: Resources,
}

impl Report {
    /// A report of `images` and `failures`, with no push figures or resources yet.
    pub fn new(images: Vec<ImageReport>, failures: Vec<FailureReport>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            rko_version: env!("CARGO_PKG_VERSION").to_owned(),
            images,
            failures,
            push: None,
            resolved: BTreeMap::new(),
            resources: Resources::default(),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What went wrong for one import path (or for the run, without one).
#[derive(Clone, Debug, Serialize)]
pub struct FailureReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_path: Option<String>,
    /// `build`, `publish` or `write` (an output written when the run closes).
    pub stage: &'static str,
    /// The error as printed.
    pub error: String,
}

/// rko's own resource use (not its `go build` children's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Resources {
    pub peak_rss_bytes: u64,
}

/// Blobs uploaded (and their bytes), mounted from another repository, or already present;
/// referrers pushed; manifests and tags not put because the registry already held them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PushReport {
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    pub mounted: u64,
    pub existing: u64,
    pub referrers: u64,
    pub manifests_existing: u64,
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
            manifests_existing: stats.manifests_existing.load(Relaxed),
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
    /// What was done with it: `published` (to a registry), `wrote` (an OCI layout), `loaded`
    /// (a Docker daemon or kind) or `built` (nothing written, or a file written at the end).
    pub action: String,
    pub tags: Vec<String>,
    pub platforms: Vec<PlatformReport>,
    /// SBOMs attached (as OCI referrers) to the image, its platform images and its index.
    pub sboms: Vec<SbomReport>,
    /// Signatures and attestations attached while publishing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentReport>,
}

/// A signature or attestation.
#[derive(Clone, Debug, Serialize)]
pub struct AttachmentReport {
    /// `signature`, or the attestation's predicate type.
    pub kind: String,
    pub subject: String,
    /// The referrer manifest holding it.
    pub digest: String,
    /// cosign's legacy tag it was added to (`sha256-<hex>.sig`, `.att`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_tag: Option<String>,
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
            action: published.action.verb().to_lowercase(),
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
                .chain(&published.attachments)
                .filter(|attachment| matches!(attachment.kind, AttachmentKind::Sbom(_)))
                .map(|attachment| SbomReport {
                    format: attachment.kind.name().to_owned(),
                    subject: attachment.referrer.subject.digest.to_string(),
                    digest: attachment.referrer.digest().to_string(),
                    legacy_tag: attachment.legacy.as_ref().map(|legacy| legacy.tag.clone()),
                })
                .collect(),
            attachments: built
                .attachments
                .iter()
                .chain(&published.attachments)
                .filter(|attachment| !matches!(attachment.kind, AttachmentKind::Sbom(_)))
                .map(|attachment| AttachmentReport {
                    kind: attachment.kind.name().to_owned(),
                    subject: attachment.referrer.subject.digest.to_string(),
                    digest: attachment.referrer.digest().to_string(),
                    legacy_tag: attachment.legacy.as_ref().map(|legacy| legacy.tag.clone()),
                })
                .collect(),
        }
    }
}
