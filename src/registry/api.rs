//! The registry API calls rko makes, on top of [`Client::send`]: manifests (get, exists, put), blobs
//! (exists, download, cross-repository mount, streaming upload, chunked when the registry asks
//! for it). Every blob is streamed from a file or from another registry, never buffered whole.
//! An answer whose body stops (a stall, a dropped connection) is asked for again.

use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use reqwest::{Body, Response, StatusCode, Url, header};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::client::{Client, Delivery, Scope, backoff};
use super::error::{RegistryCodes, RegistryError};
use super::reference::Repository;
use super::transport::{self, Failure};
use crate::image::{Digest, media_type};

/// Largest manifest or config rko accepts from a registry.
const MAX_DOCUMENT: u64 = 8 << 20;
/// Streaming chunk size: small enough that buffers stay on the heap and are reused.
const STREAM_BUFFER: usize = 256 << 10;

/// Where an upload's bytes come from.
#[derive(Clone, Debug)]
pub enum BlobBody {
    File(std::path::PathBuf),
    Bytes(bytes::Bytes),
    /// Another repository (possibly on another registry) that holds the blob.
    Remote(Repository),
}

/// What a mount request achieved.
pub enum Mount {
    Mounted,
    /// The registry refused to mount but opened an upload session at this location.
    Session(String),
}

/// Turn a non-success response into the matching typed error. `what` follows the repository
/// for pulls (`:latest`, `@sha256:…`) and describes the request for pushes.
pub async fn check(
    response: Response,
    repository: &Repository,
    what: &str,
    push: bool,
) -> Result<Response, RegistryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let delivery = response.extensions().get::<Delivery>().cloned();
    let timeout = timeout_of(&response);
    let codes = RegistryCodes::parse(&transport::error_body(response, timeout).await);
    let registry = repository.registry().to_owned();
    let action = if push { "push to" } else { "pull from" }.to_owned();
    let path = repository.path().to_owned();
    if let Some(searched) = delivery.as_ref().and_then(|delivery| delivery.anonymous.clone())
        && matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    {
        let status = status.as_u16();
        return Err(RegistryError::NoCredentials { registry, repository: path, action, status, codes, searched });
    }
    Err(match status {
        StatusCode::UNAUTHORIZED => {
            RegistryError::Unauthorized { registry, repository: path, action, status: 401, codes }
        }
        StatusCode::FORBIDDEN => RegistryError::Denied { registry, repository: path, action, status: 403, codes },
        StatusCode::NOT_FOUND if !push => {
            RegistryError::NotFound { registry, reference: format!("{repository}{what}"), status: 404, codes }
        }
        status
            if super::client::retryable(status)
                && let Some(Delivery { request, attempts, .. }) = delivery =>
        {
            RegistryError::Unavailable { registry, request, status: status.as_u16(), codes, attempts }
        }
        _ => RegistryError::Refused {
            registry,
            what: if push { format!("{what} of `{path}`") } else { format!("`{repository}{what}`") },
            status: status.as_u16(),
            codes,
        },
    })
}

/// Why reading an answer failed: for good, or because its body stopped (worth asking again).
enum Read {
    Failed(RegistryError),
    Interrupted(Failure),
}

impl From<RegistryError> for Read {
    fn from(error: RegistryError) -> Read {
        Read::Failed(error)
    }
}

fn resolve_location(registry: &str, base: &str, location: &str) -> Result<Url, RegistryError> {
    let absolute = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{base}{}{location}", if location.starts_with('/') { "" } else { "/" })
    };
    Url::parse(&absolute).map_err(|error| RegistryError::Protocol {
        registry: registry.to_owned(),
        what: "a blob upload".into(),
        message: format!("bad upload location `{location}`: {error}"),
    })
}

fn location_of(response: &Response, registry: &str, what: &str) -> Result<String, RegistryError> {
    response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned).ok_or_else(|| {
        RegistryError::Protocol {
            registry: registry.to_owned(),
            what: what.to_owned(),
            message: "no Location header".into(),
        }
    })
}

/// The stall timeout [`Client::send`] recorded on an answer.
fn timeout_of(response: &Response) -> std::time::Duration {
    response.extensions().get::<Delivery>().map_or(super::client::DEFAULT_TIMEOUT, |delivery| delivery.timeout)
}

/// A document's bytes (at most [`MAX_DOCUMENT`]), each chunk awaited at most the timeout.
async fn read_limited(response: Response, registry: &str, what: &str) -> Result<Vec<u8>, Read> {
    let too_large = || {
        Read::Failed(RegistryError::Protocol {
            registry: registry.to_owned(),
            what: what.to_owned(),
            message: format!("larger than {MAX_DOCUMENT} bytes"),
        })
    };
    if response.content_length().is_some_and(|length| length > MAX_DOCUMENT) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let timeout = timeout_of(&response);
    let mut chunks = std::pin::pin!(transport::chunks(response, timeout));
    while let Some(chunk) = chunks.next().await {
        bytes.extend_from_slice(&chunk.map_err(Read::Interrupted)?);
        if bytes.len() as u64 > MAX_DOCUMENT {
            return Err(too_large());
        }
    }
    Ok(bytes)
}

impl Client {
    /// Fetch a manifest by tag or digest: its bytes, media type and digest (verified when the
    /// request named a digest).
    pub async fn get_manifest(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<(Vec<u8>, String, Digest), RegistryError> {
        self.get_manifest_scoped(repository, reference, Scope::pull(repository.path())).await
    }

    /// The same, authorized for `scope` (pushers read with their push token).
    async fn get_manifest_scoped(
        &self,
        repository: &Repository,
        reference: &str,
        scope: Scope,
    ) -> Result<(Vec<u8>, String, Digest), RegistryError> {
        let registry = repository.registry();
        let path = format!("/v2/{}/manifests/{reference}", repository.path());
        let separator = if reference.starts_with("sha256:") { "@" } else { ":" };
        let what = format!("manifest `{repository}{separator}{reference}`");
        let (path, scope) = (&path, &scope);
        let (bytes, content_type) = self
            .reading(registry, &what, move || async move {
                let response = self
                    .send(registry, std::slice::from_ref(scope), |http, base| {
                        let accept = media_type::MANIFEST_TYPES.join(", ");
                        Ok(http.get(format!("{base}{path}")).header(header::ACCEPT, accept))
                    })
                    .await?;
                let response = check(response, repository, &format!("{separator}{reference}"), false).await?;
                let content_type =
                    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                Ok((read_limited(response, registry, "a manifest").await?, content_type))
            })
            .await?;
        let digest = Digest::of(&bytes);
        if reference.starts_with("sha256:") && digest.as_str() != reference {
            return Err(RegistryError::Protocol {
                registry: registry.to_owned(),
                what: format!("manifest `{reference}`"),
                message: format!("its bytes have digest `{digest}`"),
            });
        }
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|value| value.get("mediaType").and_then(|m| m.as_str()).map(str::to_owned))
            .filter(|m| !m.is_empty())
            .unwrap_or(content_type.split(';').next().unwrap_or("").trim().to_owned());
        Ok((bytes, media_type, digest))
    }

    /// Fetch a small blob (a config) and verify its digest.
    pub async fn get_small_blob(&self, repository: &Repository, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let bytes = self
            .reading(repository.registry(), &format!("blob `{digest}`"), move || async move {
                let response = self.blob_response(repository, digest).await?;
                read_limited(response, repository.registry(), "a config").await
            })
            .await?;
        if &Digest::of(&bytes) != digest {
            return Err(RegistryError::Protocol {
                registry: repository.registry().to_owned(),
                what: format!("blob `{digest}`"),
                message: "its bytes do not match its digest".into(),
            });
        }
        Ok(bytes)
    }

    async fn blob_response(&self, repository: &Repository, digest: &Digest) -> Result<Response, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repository.path());
        let response = self
            .send(repository.registry(), &[Scope::pull(repository.path())], |http, base| {
                Ok(http.get(format!("{base}{path}")))
            })
            .await?;
        check(response, repository, &format!("@{digest}"), false).await
    }

    /// Stream a blob into a new file at `destination`.
    pub async fn download_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        destination: &Path,
    ) -> Result<(), RegistryError> {
        let io = |error: std::io::Error| RegistryError::Io {
            path: destination.display().to_string(),
            message: error.to_string(),
        };
        let io = &io;
        self.reading(repository.registry(), &format!("blob `{digest}`"), move || async move {
            let response = self.blob_response(repository, digest).await?;
            let timeout = timeout_of(&response);
            let mut file = tokio::fs::File::create(destination).await.map_err(io)?;
            let mut chunks = std::pin::pin!(transport::chunks(response, timeout));
            while let Some(chunk) = chunks.next().await {
                file.write_all(&chunk.map_err(Read::Interrupted)?).await.map_err(io)?;
            }
            file.flush().await.map_err(io)?;
            Ok(())
        })
        .await
    }

    /// Run `operation` (a request and the reading of its answer) again, up to the retry
    /// policy's attempts, when the answer's body stopped.
    async fn reading<T, Operation, Attempt>(
        &self,
        registry: &str,
        what: &str,
        operation: Operation,
    ) -> Result<T, RegistryError>
    where
        Operation: Fn() -> Attempt,
        Attempt: std::future::Future<Output = Result<T, Read>>,
    {
        let policy = &self.options.retry;
        let mut attempt = 0;
        loop {
            match operation().await {
                Ok(value) => return Ok(value),
                Err(Read::Failed(error)) => return Err(error),
                Err(Read::Interrupted(failure)) if attempt + 1 >= policy.attempts || !failure.transient() => {
                    let suffix = transport::suffix(failure.timed_out(), attempt + 1);
                    return Err(RegistryError::Interrupted {
                        registry: registry.to_owned(),
                        what: what.to_owned(),
                        message: format!("{}{suffix}", failure.describe(policy.timeout)),
                    });
                }
                Err(Read::Interrupted(_)) => tokio::time::sleep(backoff(policy, attempt).min(policy.max_delay)).await,
            }
            attempt += 1;
        }
    }

    pub async fn blob_exists(&self, repository: &Repository, digest: &Digest) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repository.path());
        let response = self
            .send(repository.registry(), &[Scope::push(repository.path())], |http, base| {
                Ok(http.head(format!("{base}{path}")))
            })
            .await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => check(response, repository, &format!("blob `{digest}`"), true).await.map(|_| false),
        }
    }

    /// Ask the registry to mount `digest` from `source` (same registry) into `repository`.
    pub async fn mount_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        source: &Repository,
    ) -> Result<Mount, RegistryError> {
        let path = format!("/v2/{}/blobs/uploads/", repository.path());
        let query = [("mount", digest.to_string()), ("from", source.path().to_owned())];
        let scopes = [Scope::push(repository.path()), Scope::pull(source.path())];
        let response = self
            .send(repository.registry(), &scopes, |http, base| Ok(http.post(format!("{base}{path}")).query(&query)))
            .await?;
        if response.status() == StatusCode::CREATED {
            return Ok(Mount::Mounted);
        }
        let response = check(response, repository, &format!("mounting blob `{digest}`"), true).await?;
        Ok(Mount::Session(location_of(&response, repository.registry(), "a blob upload")?))
    }

    /// Upload one blob of known `size` (monolithic, or chunked when the registry sets
    /// `OCI-Chunk-Min-Length`), streaming it from `body`. `session` is an open upload location.
    pub async fn upload_blob(
        self: &Arc<Self>,
        repository: &Repository,
        digest: &Digest,
        size: u64,
        body: &BlobBody,
        session: Option<String>,
    ) -> Result<(), RegistryError> {
        let registry = repository.registry();
        let scopes = [Scope::push(repository.path())];
        let (location, chunk) = match session {
            Some(location) => (location, None),
            None => {
                let path = format!("/v2/{}/blobs/uploads/", repository.path());
                let response = self
                    .send(registry, &scopes, |http, base| {
                        Ok(http.post(format!("{base}{path}")).header(header::CONTENT_LENGTH, 0))
                    })
                    .await?;
                let response =
                    check(response, repository, &format!("starting the upload of blob `{digest}`"), true).await?;
                let chunk = response
                    .headers()
                    .get("OCI-Chunk-Min-Length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|minimum| *minimum > 0 && *minimum < size);
                (location_of(&response, registry, "a blob upload")?, chunk)
            }
        };
        let location = match chunk {
            Some(minimum) => self.upload_chunks(repository, digest, size, body, location, minimum.max(8 << 20)).await?,
            None => location,
        };
        let stream_body = if chunk.is_some() { None } else { Some(body) };
        let response = self
            .send(registry, &scopes, |http, base| {
                let mut url = resolve_location(registry, base, &location)?;
                url.query_pairs_mut().append_pair("digest", digest.as_str());
                let request = http.put(url).header(header::CONTENT_TYPE, "application/octet-stream");
                match stream_body {
                    None => Ok(request.header(header::CONTENT_LENGTH, 0)),
                    Some(body) => {
                        Ok(request.header(header::CONTENT_LENGTH, size).body(self.body(body, digest, 0, size)?))
                    }
                }
            })
            .await?;
        check(response, repository, &format!("blob `{digest}`"), true).await.map(|_| ())
    }

    async fn upload_chunks(
        self: &Arc<Self>,
        repository: &Repository,
        digest: &Digest,
        size: u64,
        body: &BlobBody,
        mut location: String,
        chunk: u64,
    ) -> Result<String, RegistryError> {
        let registry = repository.registry();
        let mut start = 0;
        while start < size {
            let length = chunk.min(size - start);
            let current = location.clone();
            let response = self
                .send(registry, &[Scope::push(repository.path())], |http, base| {
                    let url = resolve_location(registry, base, &current)?;
                    Ok(http
                        .patch(url)
                        .header(header::CONTENT_TYPE, "application/octet-stream")
                        .header(header::CONTENT_RANGE, format!("{start}-{}", start + length - 1))
                        .header(header::CONTENT_LENGTH, length)
                        .body(self.body(body, digest, start, length)?))
                })
                .await?;
            let response = check(response, repository, &format!("a chunk of blob `{digest}`"), true).await?;
            location = location_of(&response, registry, "a chunked upload")?;
            start += length;
        }
        Ok(location)
    }

    /// A request body streaming `length` bytes from `start` of the blob.
    fn body(
        self: &Arc<Self>,
        body: &BlobBody,
        digest: &Digest,
        start: u64,
        length: u64,
    ) -> Result<Body, RegistryError> {
        match body {
            BlobBody::Bytes(bytes) => Ok(Body::from(bytes.slice(start as usize..(start + length) as usize))),
            BlobBody::File(path) => {
                use std::io::{Seek, SeekFrom};
                let io = |error: std::io::Error| RegistryError::Io {
                    path: path.display().to_string(),
                    message: error.to_string(),
                };
                let mut file = std::fs::File::open(path).map_err(io)?;
                file.seek(SeekFrom::Start(start)).map_err(io)?;
                let reader = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), length);
                Ok(Body::wrap_stream(ReaderStream::with_capacity(reader, STREAM_BUFFER)))
            }
            BlobBody::Remote(source) => {
                let client = self.clone();
                let source = source.clone();
                let digest = digest.clone();
                let stream =
                    futures::stream::once(async move { client.remote_stream(&source, &digest, start, length).await })
                        .try_flatten();
                Ok(Body::wrap_stream(stream))
            }
        }
    }

    /// The bytes `start..start+length` of a blob in another repository, as a stream.
    async fn remote_stream(
        &self,
        source: &Repository,
        digest: &Digest,
        start: u64,
        length: u64,
    ) -> Result<futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>, std::io::Error> {
        let path = format!("/v2/{}/blobs/{digest}", source.path());
        let response = self
            .send(source.registry(), &[Scope::pull(source.path())], |http, base| {
                let request = http.get(format!("{base}{path}"));
                Ok(if start > 0 {
                    request.header(header::RANGE, format!("bytes={start}-{}", start + length - 1))
                } else {
                    request
                })
            })
            .await
            .map_err(std::io::Error::other)?;
        let response = check(response, source, &format!("@{digest}"), false).await.map_err(std::io::Error::other)?;
        let timeout = timeout_of(&response);
        let stream = transport::chunks(response, timeout)
            .map_err(move |failure| std::io::Error::other(format!("reading the blob: {}", failure.describe(timeout))));
        Ok(Box::pin(stream))
    }

    /// Put a manifest under a tag or its digest. Returns whether the registry acknowledged a
    /// `subject` (the `OCI-Subject` header of registries with the referrers API).
    pub async fn put_manifest(
        &self,
        repository: &Repository,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/manifests/{reference}", repository.path());
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        let response = self
            .send(repository.registry(), &[Scope::push(repository.path())], |http, base| {
                Ok(http.put(format!("{base}{path}")).header(header::CONTENT_TYPE, media_type).body(bytes.clone()))
            })
            .await?;
        let separator = if reference.starts_with("sha256:") { "@" } else { ":" };
        let response =
            check(response, repository, &format!("manifest `{}{separator}{reference}`", repository.path()), true)
                .await?;
        Ok(response.headers().contains_key("OCI-Subject"))
    }

    /// Whether `repository` already holds exactly `digest` under `reference` (a tag or that
    /// digest), asked with one `HEAD` before a manifest `PUT` so an unchanged push writes
    /// nothing. A tag counts only when the registry names its digest (`Docker-Content-Digest`);
    /// an answer that says nothing certain (no such manifest, no header, a registry that does not
    /// answer `HEAD` for manifests) is `false`, and the manifest is put.
    pub async fn manifest_present(
        &self,
        repository: &Repository,
        reference: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/manifests/{reference}", repository.path());
        let response = self
            .send(repository.registry(), &[Scope::push(repository.path())], |http, base| {
                Ok(http.head(format!("{base}{path}")).header(header::ACCEPT, media_type::MANIFEST_TYPES.join(", ")))
            })
            .await?;
        let status = response.status();
        if status.is_success() {
            let named = response.headers().get("Docker-Content-Digest").and_then(|value| value.to_str().ok());
            return Ok(match named {
                Some(named) => named.trim() == digest.as_str(),
                None => reference == digest.as_str(),
            });
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) || super::client::retryable(status) {
            let separator = if reference.starts_with("sha256:") { "@" } else { ":" };
            let what = format!("manifest `{}{separator}{reference}`", repository.path());
            return check(response, repository, &what, true).await.map(|_| false);
        }
        Ok(false)
    }

    /// Whether `repository` answers the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`);
    /// asked while pushing, so with the push token.
    pub async fn referrers_supported(&self, repository: &Repository, subject: &Digest) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/referrers/{subject}", repository.path());
        let response = self
            .send(repository.registry(), &[Scope::push(repository.path())], |http, base| {
                Ok(http.get(format!("{base}{path}")).header(header::ACCEPT, media_type::OCI_INDEX))
            })
            .await?;
        if response.status() != StatusCode::OK {
            return Ok(false);
        }
        match read_limited(response, repository.registry(), "a referrers index").await {
            Ok(body) => Ok(serde_json::from_slice::<crate::image::IndexManifest>(&body).is_ok()),
            Err(Read::Failed(error)) => Err(error),
            // Asked again later, when the referrer is pushed.
            Err(Read::Interrupted(_)) => Ok(false),
        }
    }

    /// A manifest by tag, or `None` when the tag does not exist (read while pushing).
    pub async fn get_manifest_if_exists(
        &self,
        repository: &Repository,
        tag: &str,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        match self.get_manifest_scoped(repository, tag, Scope::push(repository.path())).await {
            Ok((bytes, _, _)) => Ok(Some(bytes)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}
