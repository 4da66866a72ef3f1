//! What a reference points at when only part of it has been fetched: an image, or an index
//! whose manifest is known and whose child images are fetched when asked for (ggcr's
//! `ImageIndex.Image(hash)`). Where the children come from (a registry, the cache, memory) is
//! the [`ChildImages`] implementation's business, and so is its error type. Depends only on the
//! rest of `image`.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;

use super::artifact::Image;
use super::digest::Digest;
use super::manifest::{Descriptor, IndexManifest};

/// Fetches the images an index refers to.
#[async_trait]
pub trait ChildImages: Send + Sync {
    type Error: Send;

    /// The image `descriptor` (an entry of the index) points at.
    async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, Self::Error>;
}

/// An index whose children are fetched on demand.
pub struct LazyIndex<E> {
    pub manifest: Box<IndexManifest>,
    pub digest: Digest,
    children: Arc<dyn ChildImages<Error = E>>,
}

impl<E> Clone for LazyIndex<E> {
    fn clone(&self) -> Self {
        LazyIndex { manifest: self.manifest.clone(), digest: self.digest.clone(), children: self.children.clone() }
    }
}

impl<E: Send + 'static> LazyIndex<E> {
    pub fn new(manifest: IndexManifest, digest: Digest, children: Arc<dyn ChildImages<Error = E>>) -> LazyIndex<E> {
        LazyIndex { manifest: Box::new(manifest), digest, children }
    }

    /// The child image `descriptor` points at.
    pub async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, E> {
        self.children.image(descriptor).await
    }

    /// The same index, its children's errors converted into `F`.
    pub fn map_error<F: From<E> + Send + 'static>(self) -> LazyIndex<F> {
        let children: Arc<dyn ChildImages<Error = F>> = Arc::new(MapError { inner: self.children, into: PhantomData });
        LazyIndex { manifest: self.manifest, digest: self.digest, children }
    }
}

/// An image, or an index of images.
pub enum ImageOrIndex<E> {
    Image(Arc<Image>),
    Index(LazyIndex<E>),
}

impl<E> Clone for ImageOrIndex<E> {
    fn clone(&self) -> Self {
        match self {
            ImageOrIndex::Image(image) => ImageOrIndex::Image(image.clone()),
            ImageOrIndex::Index(index) => ImageOrIndex::Index(index.clone()),
        }
    }
}

impl<E: Send + 'static> ImageOrIndex<E> {
    /// The same value, its children's errors converted into `F`.
    pub fn map_error<F: From<E> + Send + 'static>(self) -> ImageOrIndex<F> {
        match self {
            ImageOrIndex::Image(image) => ImageOrIndex::Image(image),
            ImageOrIndex::Index(index) => ImageOrIndex::Index(index.map_error()),
        }
    }
}

struct MapError<E, F> {
    inner: Arc<dyn ChildImages<Error = E>>,
    into: PhantomData<fn() -> F>,
}

#[async_trait]
impl<E: Send + 'static, F: From<E> + Send + 'static> ChildImages for MapError<E, F> {
    type Error = F;

    async fn image(&self, descriptor: &Descriptor) -> Result<Arc<Image>, F> {
        self.inner.image(descriptor).await.map_err(F::from)
    }
}
