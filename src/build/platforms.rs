//! Which platforms of a base to build, by ko's rules: a single-image base is built for its own
//! platform (linux/amd64 when its config names none), which must match the request; an index
//! base gives every child matching the request, in the index's order, skipping the
//! `unknown/unknown` entries build tools add for attestations. Depends on `image`.

use super::{Base, BaseRoot, BuildError};
use crate::image::{Descriptor, Platform, media_type};

/// Which platforms to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformRequest {
    /// Every platform of the base (`--platform=all`).
    All,
    List(Vec<Platform>),
}

impl PlatformRequest {
    pub fn matches(&self, platform: &Platform) -> bool {
        match self {
            PlatformRequest::All => true,
            PlatformRequest::List(list) => list.iter().any(|wanted| wanted.matches(platform)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            PlatformRequest::All => "all".into(),
            PlatformRequest::List(list) => list.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        }
    }
}

/// One platform to build, and the base index's entry for it (`None` for a single-image base).
#[derive(Clone, Debug, PartialEq)]
pub struct Selected {
    pub platform: Platform,
    pub entry: Option<Descriptor>,
}

/// The platforms of `base` to build for `request`, in the base's order; at least one.
pub fn select(base: &Base, request: &PlatformRequest) -> Result<Vec<Selected>, BuildError> {
    match &base.root {
        BaseRoot::Image(image) => {
            let platform = image.platform();
            let platform = if platform.os.is_empty() { Platform::new("linux", "amd64", "") } else { platform };
            if !request.matches(&platform) {
                return Err(BuildError::PlatformMismatch {
                    base: base.name.clone(),
                    base_platform: platform.to_string(),
                    requested: request.describe(),
                });
            }
            Ok(vec![Selected { platform, entry: None }])
        }
        BaseRoot::Index(index) => {
            let manifest = &index.manifest;
            let mut selected = Vec::new();
            for descriptor in &manifest.manifests {
                if !media_type::is_image_manifest(&descriptor.media_type) {
                    return Err(BuildError::NestedIndex {
                        base: base.name.clone(),
                        digest: descriptor.digest.clone(),
                        media_type: descriptor.media_type.clone(),
                    });
                }
                let platform = descriptor.platform.clone().unwrap_or_default();
                if platform.os == "unknown" || platform.architecture == "unknown" {
                    continue;
                }
                // `all` takes even entries without a platform; a list needs one to match.
                let wanted = match request {
                    PlatformRequest::All => true,
                    request => descriptor.platform.is_some() && request.matches(&platform),
                };
                if wanted {
                    selected.push(Selected { platform, entry: Some(descriptor.clone()) });
                }
            }
            if selected.is_empty() {
                let available: Vec<String> = manifest
                    .manifests
                    .iter()
                    .filter_map(|descriptor| descriptor.platform.as_ref())
                    .filter(|platform| !platform.is_unknown())
                    .map(ToString::to_string)
                    .collect();
                return Err(BuildError::NoMatchingPlatform {
                    base: base.name.clone(),
                    requested: request.describe(),
                    available: if available.is_empty() { "none".into() } else { available.join(", ") },
                });
            }
            Ok(selected)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::build::BaseError;
    use crate::image::lazy_index::{ChildImages, LazyIndex};
    use crate::image::{Digest, Image, IndexManifest};

    struct NoChildren;

    #[async_trait]
    impl ChildImages for NoChildren {
        type Error = BaseError;
        async fn image(&self, _: &Descriptor) -> Result<Arc<Image>, BaseError> {
            Err(BaseError::Task("not needed".into()))
        }
    }

    fn index(entries: &[(&str, Option<&str>)]) -> Base {
        let manifests = entries
            .iter()
            .enumerate()
            .map(|(number, (media_type, platform))| Descriptor {
                platform: platform.map(|platform| Platform::parse(platform).unwrap()),
                ..Descriptor::new(media_type, 1, Digest::of(number.to_string().as_bytes()))
            })
            .collect();
        Base {
            name: "base".into(),
            root: BaseRoot::Index(LazyIndex::new(
                IndexManifest::new(media_type::OCI_INDEX, manifests),
                Digest::of(b"index"),
                Arc::new(NoChildren),
            )),
        }
    }

    fn list(platforms: &[&str]) -> PlatformRequest {
        PlatformRequest::List(platforms.iter().map(|platform| Platform::parse(platform).unwrap()).collect())
    }

    fn names(selected: &[Selected]) -> Vec<String> {
        selected.iter().map(|selected| selected.platform.to_string()).collect()
    }

    #[test]
    fn index_children_are_chosen_in_the_base_order() {
        let image = media_type::OCI_MANIFEST;
        let base = index(&[
            (image, Some("linux/arm64")),
            (image, Some("unknown/unknown")),
            (image, Some("linux/amd64")),
            (image, None),
            (image, Some("linux/arm/v7")),
        ]);
        assert_eq!(
            names(&select(&base, &PlatformRequest::All).unwrap()),
            ["linux/arm64", "linux/amd64", "", "linux/arm/v7"]
        );
        let chosen = select(&base, &list(&["linux/arm/v7", "linux/arm64"])).unwrap();
        assert_eq!(names(&chosen), ["linux/arm64", "linux/arm/v7"]);
        assert!(chosen.iter().all(|selected| selected.entry.is_some()));
        assert_eq!(names(&select(&base, &list(&["linux"])).unwrap()), ["linux/arm64", "linux/amd64", "linux/arm/v7"]);
        match select(&base, &list(&["linux/s390x"])) {
            Err(BuildError::NoMatchingPlatform { available, .. }) => {
                assert_eq!(available, "linux/arm64, linux/amd64, linux/arm/v7")
            }
            other => panic!("{other:?}"),
        }
        let nested = index(&[(image, Some("linux/amd64")), (media_type::OCI_INDEX, Some("linux/arm64"))]);
        assert!(matches!(select(&nested, &PlatformRequest::All), Err(BuildError::NestedIndex { .. })));
    }
}
