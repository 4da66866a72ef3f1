//! SBOMs for every image and index a build produces, in SPDX 2.3 and/or CycloneDX 1.6, from
//! the binaries' own Go build information (no `go version -m`). [`SbomBuilder`] wraps any
//! `Builder` and attaches the documents as OCI 1.1 referrers (plus cosign's legacy `.sbom`
//! image), and writes them into `--sbom-dir` with ko's file names.

pub mod cyclonedx;
pub mod facts;
pub mod spdx;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::build::{BuildError, Builder, Built, ImportPath, Progress, go};
use crate::image::referrer::{Attachment, AttachmentKind, LegacyAttachment, Referrer};
use crate::image::{Artifact, Descriptor, Image, Index};
use facts::ImageFacts;

/// A document format `--sbom` can ask for.
pub use crate::image::referrer::SbomFormat;

/// ko's `--sbom-dir` file name ending for a format.
fn extension(format: SbomFormat) -> &'static str {
    match format {
        SbomFormat::Spdx => "spdx.json",
        SbomFormat::CycloneDx => "cdx.json",
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown --sbom value `{0}`: use `spdx`, `cyclonedx`, `spdx,cyclonedx` or `none`")]
pub struct UnknownFormat(pub String);

/// Parse `--sbom` (`spdx`, `cyclonedx`, both comma-separated, or `none`).
pub fn parse_formats(text: &str) -> Result<Vec<SbomFormat>, UnknownFormat> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut formats = Vec::new();
    for part in text.split(',').map(str::trim) {
        let format = match part {
            "spdx" => SbomFormat::Spdx,
            "cyclonedx" => SbomFormat::CycloneDx,
            _ => return Err(UnknownFormat(text.to_owned())),
        };
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    Ok(formats)
}

/// Attaches SBOMs to what `inner` builds.
pub struct SbomBuilder {
    pub inner: Arc<dyn Builder>,
    pub formats: Vec<SbomFormat>,
    pub directory: Option<PathBuf>,
    pub progress: Arc<dyn Progress>,
}

/// One SBOM document about `subject`, as a referrer and (for one format of `formats`) cosign's
/// legacy `.sbom` image.
fn attachment(
    formats: &[SbomFormat],
    subject: Descriptor,
    format: SbomFormat,
    document: Vec<u8>,
    created: crate::image::gotime::Time,
) -> Attachment {
    let document = Arc::new(document);
    let referrer = Referrer::new(subject.clone(), format.media_type(), format.media_type(), document.clone(), created);
    // cosign keeps one `.sbom` image per subject: SPDX when asked for, else CycloneDX.
    let legacy = (format == SbomFormat::Spdx || !formats.contains(&SbomFormat::Spdx))
        .then(|| LegacyAttachment::new(&subject.digest, "sbom", format.legacy_media_type(), document));
    Attachment { kind: AttachmentKind::Sbom(format), referrer, legacy }
}

/// The SBOMs of an index, in each of `formats` (the same documents a build attaches to the
/// index it assembles; `rko index create` uses them for indexes of separately built images).
pub fn index_attachments(formats: &[SbomFormat], index: &Index) -> Vec<Attachment> {
    let created = facts::index_created(index);
    formats
        .iter()
        .map(|format| {
            let document = match format {
                SbomFormat::Spdx => spdx::index_document(index),
                SbomFormat::CycloneDx => cyclonedx::index_document(index),
            };
            attachment(formats, index.descriptor(), *format, document, created)
        })
        .collect()
}

impl SbomBuilder {
    fn attach(
        &self,
        subject: Descriptor,
        format: SbomFormat,
        document: Vec<u8>,
        created: crate::image::gotime::Time,
    ) -> Attachment {
        attachment(&self.formats, subject, format, document, created)
    }

    /// Write one document into `--sbom-dir`, atomically: a failed write leaves no file.
    fn write_file(&self, name: &str, format: SbomFormat, document: &[u8]) -> Result<(), BuildError> {
        let Some(directory) = &self.directory else { return Ok(()) };
        let path = directory.join(format!("{name}.{}", extension(format)));
        let error = |path: &std::path::Path, error: std::io::Error| BuildError::Output {
            path: path.to_owned(),
            message: format!("{error} (writing an SBOM into --sbom-dir)"),
        };
        std::fs::create_dir_all(directory).map_err(|e| error(directory, e))?;
        let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(|e| error(directory, e))?;
        std::io::Write::write_all(&mut temporary, document).map_err(|e| error(&path, e))?;
        crate::image::layer::set_readable(temporary.path()).map_err(|e| error(&path, e))?;
        temporary.persist(&path).map_err(|e| error(&path, e.error))?;
        Ok(())
    }

    fn image_documents(
        &self,
        built: &Built,
        image: &Image,
        app: &str,
        attachments: &mut Vec<Attachment>,
    ) -> Result<(), BuildError> {
        let record = built.platforms.iter().find(|record| &record.image == image.digest());
        let build_info = match record.map(|record| &record.build_info) {
            Some(Ok(info)) => Some(info.clone()),
            Some(Err(message)) => {
                self.progress.warning(&format!(
                    "the `{}` binary of `{}` has no readable Go build information ({message}); its SBOM lists only the image and its base",
                    image.platform(),
                    built.import_path
                ));
                None
            }
            None => None,
        };
        let facts = ImageFacts { image, build_info: build_info.as_deref() };
        let file_name = format!("{app}-{}", image.platform().to_string().replace(['/', ':'], "-"));
        for format in &self.formats {
            let document = match format {
                SbomFormat::Spdx => spdx::image_document(&facts),
                SbomFormat::CycloneDx => cyclonedx::image_document(&facts),
            };
            self.write_file(&file_name, *format, &document)?;
            attachments.push(self.attach(image.descriptor(), *format, document, image.config().created));
        }
        Ok(())
    }

    fn index_documents(&self, index: &Index, app: &str, attachments: &mut Vec<Attachment>) -> Result<(), BuildError> {
        let created = facts::index_created(index);
        for format in &self.formats {
            let document = match format {
                SbomFormat::Spdx => spdx::index_document(index),
                SbomFormat::CycloneDx => cyclonedx::index_document(index),
            };
            self.write_file(&format!("{app}-index"), *format, &document)?;
            attachments.push(self.attach(index.descriptor(), *format, document, created));
        }
        Ok(())
    }
}

#[async_trait]
impl Builder for SbomBuilder {
    fn qualify(&self, reference: &str) -> Result<ImportPath, BuildError> {
        self.inner.qualify(reference)
    }

    async fn build(&self, import_path: &ImportPath) -> Result<Arc<Built>, BuildError> {
        let built = self.inner.build(import_path).await?;
        if self.formats.is_empty() {
            return Ok(built);
        }
        let gopath = built
            .platforms
            .iter()
            .filter_map(|record| record.build_info.as_ref().ok())
            .any(|info| facts::go_components(info).gopath);
        if gopath {
            self.progress.warning(&format!(
                "`{import_path}` was built in GOPATH mode (GO111MODULE=off): its SBOM names the package but cannot list its dependencies; build it as a Go module for a complete SBOM"
            ));
        }
        let app = go::app_name(import_path.as_str());
        let mut attachments = built.attachments.clone();
        for image in built.artifact.images() {
            self.image_documents(&built, &image, &app, &mut attachments)?;
        }
        if let Artifact::Index(index) = &built.artifact {
            self.index_documents(index, &app, &mut attachments)?;
        }
        Ok(Arc::new(Built { attachments, ..(*built).clone() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_strictly() {
        assert_eq!(parse_formats("spdx").unwrap(), [SbomFormat::Spdx]);
        assert_eq!(parse_formats("cyclonedx,spdx").unwrap(), [SbomFormat::CycloneDx, SbomFormat::Spdx]);
        assert_eq!(parse_formats("none").unwrap(), []);
        assert_eq!(parse_formats("cyclone"), Err(UnknownFormat("cyclone".into())));
        assert!(parse_formats("spdx,").is_err());
    }
}
