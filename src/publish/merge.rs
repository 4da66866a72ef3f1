//! Scale-out's second half (`rko index create`): one index from per-platform images that
//! separate runs pushed by digest. Each image says what it is — its import path in its
//! `ko build ko://…` history, its base in the `org.opencontainers.image.base.*` annotations —
//! so the index is laid out on that same base exactly as one multi-platform build lays it out
//! ([`crate::build::index`]): same child order, descriptors and annotations, hence the same
//! bytes. Only manifests and configs are read; layers stay in the registry and are mounted (or
//! found) when the index is pushed. Depends on `image`, `build`, `base` and `registry`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::base::{RegistryBases, Selector, builtin};
use crate::build::{BaseRoot, BaseSource, ImportPath, PlatformRequest, index};
use crate::image::manifest::{BASE_DIGEST_ANNOTATION, BASE_NAME_ANNOTATION};
use crate::image::{BlobSource, Image, Index, Platform, media_type};
use crate::registry::Client;
use crate::registry::reference::{Reference, Repository};

/// One platform's image, as pushed by `rko build --push-by-digest`.
#[derive(Clone, Debug)]
pub struct Child {
    /// The reference as given (`repo@sha256:…`), for messages.
    pub reference: String,
    pub image: Arc<Image>,
}

/// Why the images cannot make one index. Each names the reference at fault and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("`{0}` is not an image by digest: pass `REPO@sha256:…`, as `rko build --push-by-digest` prints it")]
    NotByDigest(String),
    #[error("cannot read `{reference}`: {message}")]
    Fetch { reference: String, message: String },
    /// The registry's own error, which names the reference.
    #[error("{0}")]
    Registry(String),
    #[error(
        "`{reference}` is a `{media_type}`, not one platform's image: pass the per-platform digests `rko build --push-by-digest` printed"
    )]
    NotAnImage { reference: String, media_type: String },
    #[error("no images to merge: pass one `REPO@sha256:…` per platform")]
    Empty,
    #[error("`{0}` has no `ko build ko://…` history, so it was not built by rko or ko and its import path is unknown")]
    NoImportPath(String),
    #[error(
        "`{first}` is `{first_path}` but `{other}` is `{other_path}`: an index holds one import path; merge each import path's images separately"
    )]
    ImportPaths { first: String, first_path: String, other: String, other_path: String },
    #[error(
        "`{first}` and `{other}` are both `{platform}`: an index holds one image per platform; pass one digest per platform"
    )]
    DuplicatePlatform { first: String, other: String, platform: String },
    #[error(
        "`{0}` has no `{BASE_NAME_ANNOTATION}`/`{BASE_DIGEST_ANNOTATION}` annotations, so its base index is unknown; build it with rko"
    )]
    NoBase(String),
    #[error(
        "`{first}` is built on `{first_base}` but `{other}` on `{other_base}`: build every platform on the same base"
    )]
    Bases { first: String, first_base: String, other: String, other_base: String },
    #[error("base image `{base}`: {message}")]
    Base { base: String, message: String },
    #[error("base image `{0}` is one image, not an index, so its builds have one platform and nothing to merge")]
    BaseNotIndex(String),
    #[error(
        "base image `{base}` no longer lists `{digest}`, which `{reference}` was built on: the base changed since; build every platform on one base (pin it by digest)"
    )]
    BaseMoved { base: String, digest: String, reference: String },
}

/// Read one per-platform image (manifest and config only) from `reference`.
pub async fn fetch(client: &Client, reference: &str) -> Result<Child, MergeError> {
    let parsed = Reference::parse(reference).map_err(|_| MergeError::NotByDigest(reference.to_owned()))?;
    let Some(digest) = &parsed.digest else { return Err(MergeError::NotByDigest(reference.to_owned())) };
    let fetch_error = |message: String| MergeError::Fetch { reference: reference.to_owned(), message };
    let (bytes, manifest_type, _) = client
        .get_manifest(&parsed.repository, digest.as_str())
        .await
        .map_err(|error| fetch_error(error.to_string()))?;
    if !media_type::is_image_manifest(&manifest_type) {
        return Err(MergeError::NotAnImage { reference: reference.to_owned(), media_type: manifest_type });
    }
    let manifest: crate::image::Manifest =
        serde_json::from_slice(&bytes).map_err(|error| fetch_error(format!("invalid manifest: {error}")))?;
    let config = client
        .get_small_blob(&parsed.repository, &manifest.config.digest)
        .await
        .map_err(|error| fetch_error(error.to_string()))?;
    let source = parsed.repository.to_string();
    let image = Image::from_parts(bytes, config, |_| BlobSource::Registry { repository: source.clone() })
        .map_err(|error| fetch_error(error.to_string()))?;
    Ok(Child { reference: reference.to_owned(), image: Arc::new(image) })
}

/// The import path ko's history records (`ko build ko://<import path>`).
fn import_path_of(image: &Image) -> Option<String> {
    image
        .config()
        .history
        .iter()
        .rev()
        .find_map(|history| history.created_by.strip_prefix("ko build ko://").map(str::to_owned))
}

/// The base name and base child digest an image was built on.
fn base_of(child: &Child) -> Result<(String, String), MergeError> {
    let annotations = &child.image.manifest().annotations;
    match (annotations.get(BASE_NAME_ANNOTATION), annotations.get(BASE_DIGEST_ANNOTATION)) {
        (Some(name), Some(digest)) => Ok((name.clone(), digest.clone())),
        _ => Err(MergeError::NoBase(child.reference.clone())),
    }
}

/// Where a platform sits in the built-in base's `all` order (exact match first, then os/arch).
fn builtin_position(platform: &Platform) -> usize {
    let all = builtin::platforms();
    all.iter()
        .position(|candidate| candidate == platform)
        .or_else(|| {
            all.iter()
                .position(|candidate| candidate.os == platform.os && candidate.architecture == platform.architecture)
        })
        .unwrap_or(all.len())
}

/// Check that `children` are one import path's images, one per platform, on one base.
fn check(children: &[Child]) -> Result<(ImportPath, String), MergeError> {
    let Some(first) = children.first() else { return Err(MergeError::Empty) };
    let first_path = import_path_of(&first.image).ok_or_else(|| MergeError::NoImportPath(first.reference.clone()))?;
    let (first_base, _) = base_of(first)?;
    for (position, child) in children.iter().enumerate() {
        let path = import_path_of(&child.image).ok_or_else(|| MergeError::NoImportPath(child.reference.clone()))?;
        if path != first_path {
            return Err(MergeError::ImportPaths {
                first: first.reference.clone(),
                first_path,
                other: child.reference.clone(),
                other_path: path,
            });
        }
        let (base, _) = base_of(child)?;
        if base != first_base {
            return Err(MergeError::Bases {
                first: first.reference.clone(),
                first_base,
                other: child.reference.clone(),
                other_base: base,
            });
        }
        let platform = child.image.platform();
        if let Some(earlier) = children[..position].iter().find(|earlier| earlier.image.platform() == platform) {
            return Err(MergeError::DuplicatePlatform {
                first: earlier.reference.clone(),
                other: child.reference.clone(),
                platform: platform.to_string(),
            });
        }
    }
    Ok((ImportPath::new(first_path), first_base))
}

/// Assemble the index of `children` on the base they were built on. `blobs` is where the
/// built-in base is written; `registry` fetches registry bases.
pub async fn assemble(
    children: &[Child],
    blobs: PathBuf,
    registry: Option<Arc<dyn RegistryBases>>,
) -> Result<(ImportPath, Index), MergeError> {
    let (import_path, base_name) = check(children)?;
    let mut platforms: Vec<Platform> = children.iter().map(|child| child.image.platform()).collect();
    platforms.sort_by_key(builtin_position);
    let selector =
        Selector::new(base_name.clone(), BTreeMap::new(), PlatformRequest::List(platforms), blobs, registry, None);
    let base_error =
        |error: crate::build::BaseError| MergeError::Base { base: base_name.clone(), message: error.to_string() };
    let base = selector.base(&import_path).await.map_err(base_error)?;
    let BaseRoot::Index(base_index) = &base.root else {
        return Err(MergeError::BaseNotIndex(base_name));
    };
    let (manifest, digest) = (&base_index.manifest, &base_index.digest);
    let mut placed = Vec::new();
    let mut user_annotations: Option<BTreeMap<String, String>> = None;
    for child in children {
        let (_, child_base) = base_of(child)?;
        let Some(position) = manifest.manifests.iter().position(|descriptor| descriptor.digest.as_str() == child_base)
        else {
            return Err(MergeError::BaseMoved {
                base: base_name,
                digest: child_base,
                reference: child.reference.clone(),
            });
        };
        let base_child = &manifest.manifests[position];
        let base_image = base_index.image(base_child).await.map_err(base_error)?;
        // The user's `--image-annotation`s: what the image adds to its base child's annotations.
        let added: BTreeMap<String, String> = child
            .image
            .manifest()
            .annotations
            .iter()
            .filter(|(key, value)| {
                key.as_str() != BASE_NAME_ANNOTATION
                    && key.as_str() != BASE_DIGEST_ANNOTATION
                    && base_image.manifest().annotations.get(key.as_str()) != Some(value)
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        user_annotations = Some(match user_annotations {
            None => added,
            Some(common) => common.into_iter().filter(|(key, value)| added.get(key) == Some(value)).collect(),
        });
        placed.push((position, index::entry(manifest, base_child, &child.image), child.image.clone()));
    }
    placed.sort_by_key(|(position, _, _)| *position);
    let (media_type, annotations) =
        index::header(manifest, &base.name, digest.as_str(), &user_annotations.unwrap_or_default());
    let index =
        Index::assemble(media_type, annotations, placed.into_iter().map(|(_, entry, image)| (entry, image)).collect());
    Ok((import_path, index))
}

/// The repository a target reference names, refusing digests (an index's digest is computed).
pub fn target(text: &str) -> Result<(Repository, Option<String>), String> {
    let reference = Reference::parse(text).map_err(|error| format!("invalid target `{text}`: {error}"))?;
    if reference.digest.is_some() {
        return Err(format!("the target `{text}` names a digest: pass `REPO:TAG` (the index's digest is computed)"));
    }
    Ok((reference.repository, reference.tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_order_puts_amd64_before_arm64() {
        let mut platforms = [Platform::new("linux", "arm64", ""), Platform::new("linux", "amd64", "")];
        platforms.sort_by_key(builtin_position);
        assert_eq!(platforms[0].architecture, "amd64");
        assert_eq!(builtin_position(&Platform::new("linux", "arm", "v7")), 2);
        assert_eq!(builtin_position(&Platform::new("plan9", "amd64", "")), builtin::platforms().len());
    }
}
