//! Every machine output of a run, rendered from the one [`Report`]: `--json` on stdout,
//! `--report FILE`, `--image-refs FILE`, `--dotenv FILE` (GitLab's dotenv report) and the CI
//! outputs (GitHub step outputs and job summary, through [`ci_images`]). Written whether or
//! not the run succeeded, so what did get built is always on record; every file is checked
//! for writability before anything is built ([`Outputs::check`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::printer::Printer;
use crate::ci::dotenv::Dotenv;
use crate::ci::summary::{SummaryAttestation, SummaryImage, SummaryPlatform, SummarySignature};
use crate::report::{Report, Resources};

/// Where a command writes its machine outputs.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    /// `--report FILE`: the report as JSON.
    pub report: Option<PathBuf>,
    /// `--image-refs FILE`: the references, one per line.
    pub image_refs: Option<PathBuf>,
    /// `--dotenv FILE`: `RKO_DIGEST`, `RKO_IMAGE`, ... as GitLab's dotenv report reads them.
    pub dotenv: Option<PathBuf>,
}

impl Outputs {
    /// The files a command's `--report` and publish flags ask for.
    pub fn from_flags(report: Option<PathBuf>, publish: &super::args::PublishFlags) -> Outputs {
        Outputs { report, image_refs: publish.image_refs.clone(), dotenv: publish.dotenv.clone() }
    }

    fn files(&self) -> impl Iterator<Item = (&PathBuf, &'static str, &'static str)> {
        let report = self.report.iter().map(|path| (path, "the report", "--report"));
        let image_refs = self.image_refs.iter().map(|path| (path, "the image references", "--image-refs"));
        let dotenv = self.dotenv.iter().map(|path| (path, "the dotenv report", "--dotenv"));
        report.chain(image_refs).chain(dotenv)
    }

    /// Fail, before anything is built, when a file asked for cannot be written: its directory
    /// is missing or it cannot be opened for writing. Leaves no file behind.
    pub fn check(&self) -> Result<()> {
        for (path, what, flag) in self.files() {
            if path.is_dir() {
                bail!("cannot write {what} to `{}`: it is a directory; pass a file path to {flag}", path.display());
            }
            let existed = path.exists();
            let opened = std::fs::OpenOptions::new().append(true).create(true).open(path);
            if let Err(error) = opened {
                bail!("cannot write {what} to `{}`: {error}; pass a writable path to {flag}", path.display());
            }
            if !existed {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }

    /// Fill in what only the process knows (its resources), then write every file asked for.
    pub fn write(&self, report: &mut Report, printer: Printer) -> Result<()> {
        report.resources = resources();
        if let Some(path) = &self.report {
            let bytes = serde_json::to_vec_pretty(report)?;
            write(path, &bytes, "the report")?;
        }
        if let Some(path) = &self.image_refs {
            write(path, image_refs(report).as_bytes(), "the image references")?;
        }
        if let Some(path) = &self.dotenv {
            let outputs = crate::ci::outputs::Outputs::new(&ci_images(report), None);
            let (dotenv, skipped) = Dotenv::from_outputs(&outputs);
            for error in skipped {
                printer.warning(&error.to_string());
            }
            write(path, dotenv.render().as_bytes(), "the dotenv report")?;
        }
        Ok(())
    }
}

/// The report's images as the CI renderers (outputs, summary, dotenv) take them.
pub fn ci_images(report: &Report) -> Vec<SummaryImage> {
    report
        .images
        .iter()
        .map(|image| {
            let started = image.platforms.iter().map(|platform| platform.build_started).reduce(f64::min);
            let finished = image.platforms.iter().map(|platform| platform.build_finished).reduce(f64::max);
            let mut sboms: Vec<String> = Vec::new();
            for sbom in &image.sboms {
                if !sboms.contains(&sbom.format) {
                    sboms.push(sbom.format.clone());
                }
            }
            let reference_of =
                |digest: &str, legacy: &Option<String>| legacy.clone().unwrap_or_else(|| digest.to_owned());
            SummaryImage {
                import_path: image.import_path.clone(),
                reference: image.reference.clone(),
                name: image.name.clone(),
                digest: image.digest.clone(),
                tags: image.tags.clone(),
                platforms: image
                    .platforms
                    .iter()
                    .map(|platform| SummaryPlatform {
                        platform: platform.platform.clone(),
                        digest: platform.digest.clone(),
                        size: 0,
                        cached: platform.layers_cached,
                    })
                    .collect(),
                sboms,
                signatures: image
                    .attachments
                    .iter()
                    .filter(|attachment| attachment.kind == "signature")
                    .map(|attachment| SummarySignature {
                        reference: reference_of(&attachment.digest, &attachment.legacy_tag),
                        ..SummarySignature::default()
                    })
                    .collect(),
                attestations: image
                    .attachments
                    .iter()
                    .filter(|attachment| attachment.kind != "signature")
                    .map(|attachment| SummaryAttestation {
                        predicate_type: attachment.kind.clone(),
                        reference: attachment.digest.clone(),
                    })
                    .collect(),
                build_seconds: match (started, finished) {
                    (Some(started), Some(finished)) => (finished - started).max(0.0),
                    _ => 0.0,
                },
                push_seconds: None,
            }
        })
        .collect()
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
