//! How an index of rko's images is laid out on its base index: each child's descriptor takes
//! the base child's platform, URLs, annotations and media type; the index keeps the base's
//! media type and annotations, adds the base's name and digest, then the user's annotations.
//! Shared by [`super::GoBuilder`] (one run, every platform) and `rko index create` (images
//! built by separate runs), so both give the same bytes. Depends on `image` only.

use std::collections::BTreeMap;

use crate::image::manifest::{BASE_DIGEST_ANNOTATION, BASE_NAME_ANNOTATION};
use crate::image::{Descriptor, Image, IndexManifest, media_type};

/// The annotations that name the base an image or index was built on.
pub fn base_annotations(name: &str, digest: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (BASE_DIGEST_ANNOTATION.to_owned(), digest.to_owned()),
        (BASE_NAME_ANNOTATION.to_owned(), name.to_owned()),
    ])
}

/// The index entry for `image`, built on the base child `base_child` of `base`.
pub fn entry(base: &IndexManifest, base_child: &Descriptor, image: &Image) -> Descriptor {
    let mut entry = Descriptor { platform: base_child.platform.clone(), ..image.descriptor() };
    entry.urls = base_child.urls.clone();
    entry.annotations = base_child.annotations.clone();
    entry.media_type = base_child.media_type.clone();
    if base.media_type != media_type::DOCKER_MANIFEST_LIST {
        entry.artifact_type = image.manifest().config.media_type.clone();
    }
    entry
}

/// The index's media type and annotations, on the base index `base` (named `name`, with
/// digest `digest`), with the user's `annotations` last.
pub fn header<'a>(
    base: &'a IndexManifest,
    name: &str,
    digest: &str,
    annotations: &BTreeMap<String, String>,
) -> (&'a str, BTreeMap<String, String>) {
    let mut all = base.annotations.clone();
    all.extend(base_annotations(name, digest));
    all.extend(annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
    let media_type = if base.media_type.is_empty() { media_type::OCI_INDEX } else { &base.media_type };
    (media_type, all)
}
