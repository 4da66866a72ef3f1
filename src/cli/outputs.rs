//! Every machine output of a run, rendered from the one [`Report`]: `--json` on stdout,
//! `--report FILE`, `--image-refs FILE` (and, as they come, the CI renderers). Written whether
//! or not the run succeeded, so what did get built is always on record.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::report::{Report, Resources};

/// Where a command writes its machine outputs.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    /// `--report FILE`: the report as JSON.
    pub report: Option<PathBuf>,
    /// `--image-refs FILE`: the references, one per line.
    pub image_refs: Option<PathBuf>,
}

impl Outputs {
    /// Fill in what only the process knows (its resources), then write every file asked for.
    pub fn write(&self, report: &mut Report) -> Result<()> {
        report.resources = resources();
        if let Some(path) = &self.report {
            let bytes = serde_json::to_vec_pretty(report)?;
            write(path, &bytes, "the report")?;
        }
        if let Some(path) = &self.image_refs {
            write(path, image_refs(report).as_bytes(), "the image references")?;
        }
        Ok(())
    }
}

fn write(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {what} to `{}`", path.display()))
}

/// `--image-refs`: every printed reference, one per line, and for an index one
/// `name@sha256:…` line per platform image, in argument order.
pub fn image_refs(report: &Report) -> String {
    let mut lines = Vec::new();
    for image in &report.images {
        lines.push(image.reference.clone());
        if crate::image::media_type::is_index(&image.media_type) {
            lines.extend(image.platforms.iter().map(|platform| format!("{}@{}", image.name, platform.digest)));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// This process's own resource use so far (peak resident set size; Linux reports KiB).
pub fn resources() -> Resources {
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
