//! A small Docker Engine API client (the calls rko needs: version, image inspect, save, load)
//! over a unix socket (`DOCKER_HOST=unix://…`, the default `/var/run/docker.sock`) or TCP
//! (`tcp://host:port`). Works with dockerd and with podman's Docker-compatible service. Large
//! bodies stream between the socket and files.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::DaemonError;
use super::ssh::SshTarget;

/// Where dockerd listens when `DOCKER_HOST` is unset.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

#[derive(Clone, Debug)]
enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
    Ssh(SshTarget),
}

#[derive(Clone, Debug)]
pub struct DockerApi {
    endpoint: Endpoint,
    host: String,
}

/// What `GET /images/{name}/json` says about an image (the fields rko reads).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ImageInspect {
    /// The image ID: its config digest (dockerd's classic store) or its manifest digest.
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "RootFS", default)]
    pub rootfs: InspectRootFs,
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct InspectRootFs {
    /// The layers' diffIDs, base first.
    #[serde(rename = "Layers", default)]
    pub layers: Vec<String>,
}

type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

impl DockerApi {
    /// From `DOCKER_HOST` (unset or empty means the default unix socket).
    pub fn from_host(docker_host: Option<&str>) -> Result<DockerApi, DaemonError> {
        let host = docker_host.filter(|h| !h.is_empty()).unwrap_or(DEFAULT_HOST).to_owned();
        let endpoint = if let Some(path) = host.strip_prefix("unix://") {
            Endpoint::Unix(PathBuf::from(path))
        } else if let Some(address) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
            Endpoint::Tcp(address.to_owned())
        } else if let Some(address) = host.strip_prefix("ssh://") {
            Endpoint::Ssh(SshTarget::parse(address).map_err(DaemonError::SshHost)?)
        } else {
            return Err(DaemonError::Host { host });
        };
        Ok(DockerApi { endpoint, host })
    }

    /// The `DOCKER_HOST` value this client talks to, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Send a request; `purpose` says what for in errors (`to read `ko.local/app``).
    async fn send(
        &self,
        purpose: &str,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: BoxBody,
    ) -> Result<hyper::Response<Incoming>, DaemonError> {
        let unreachable = |message: String| DaemonError::Unreachable {
            host: self.host.clone(),
            purpose: purpose.to_owned(),
            message,
        };
        let mut request =
            hyper::Request::builder().method(method).uri(format!("/v1.41{path}")).header("Host", "docker");
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let request = request.body(body).map_err(|error| unreachable(error.to_string()))?;
        let response = match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| unreachable(e.to_string()))?;
                send(TokioIo::new(stream), request).await
            }
            Endpoint::Tcp(address) => {
                let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| unreachable(e.to_string()))?;
                send(TokioIo::new(stream), request).await
            }
            Endpoint::Ssh(target) => {
                let (stream, errors) = target.connect().map_err(&unreachable)?;
                match send(TokioIo::new(Box::new(stream)), request).await {
                    Ok(response) => Ok(response),
                    // ssh's own words (host unknown, permission denied) explain a failure best.
                    Err(error) => match errors.last_line().await {
                        Some(said) => Err(format!("{error}; ssh said: {said}")),
                        None => Err(error),
                    },
                }
            }
        };
        response.map_err(unreachable)
    }

    /// A request whose (small) reply is read whole.
    async fn call(
        &self,
        purpose: &str,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: BoxBody,
    ) -> Result<(u16, Vec<u8>), DaemonError> {
        let response = self.send(purpose, method, path, content_type, body).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|error| DaemonError::Unreachable {
            host: self.host.clone(),
            purpose: purpose.to_owned(),
            message: error.to_string(),
        })?;
        Ok((status, body.to_bytes().to_vec()))
    }

    fn refused(&self, what: &str, status: u16, body: &[u8]) -> DaemonError {
        DaemonError::Refused { host: self.host.clone(), what: what.to_owned(), status, message: message_of(body) }
    }

    /// The daemon's platform (`linux`, `amd64`).
    pub async fn platform(&self) -> Result<(String, String), DaemonError> {
        let (status, body) = self.call("to ask its platform", "GET", "/version", None, empty()).await?;
        if status != 200 {
            return Err(self.refused("/version", status, &body));
        }
        let version: serde_json::Value = serde_json::from_slice(&body).map_err(|error| DaemonError::Protocol {
            host: self.host.clone(),
            what: "/version".into(),
            message: error.to_string(),
        })?;
        let text = |key: &str| version.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        Ok((text("Os"), text("Arch")))
    }

    /// `docker image inspect NAME`.
    pub async fn inspect(&self, name: &str) -> Result<ImageInspect, DaemonError> {
        let (status, body) =
            self.call(&format!("to read `{name}`"), "GET", &format!("/images/{name}/json"), None, empty()).await?;
        match status {
            200 => serde_json::from_slice(&body).map_err(|error| DaemonError::Protocol {
                host: self.host.clone(),
                what: format!("the inspection of `{name}`"),
                message: error.to_string(),
            }),
            404 => Err(DaemonError::NotFound { image: name.to_owned(), host: self.host.clone() }),
            _ => Err(self.refused(&format!("the inspection of `{name}`"), status, &body)),
        }
    }

    /// `docker save NAME > destination`, streamed to the file.
    pub async fn save(&self, name: &str, destination: &Path) -> Result<(), DaemonError> {
        let response =
            self.send(&format!("to read `{name}`"), "GET", &format!("/images/{name}/get"), None, empty()).await?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
            return Err(match status {
                404 => DaemonError::NotFound { image: name.to_owned(), host: self.host.clone() },
                _ => self.refused(&format!("saving `{name}`"), status, &body),
            });
        }
        let io = |error: std::io::Error| DaemonError::Io { path: destination.to_owned(), source: error };
        let mut file = tokio::fs::File::create(destination).await.map_err(io)?;
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| DaemonError::Unreachable {
                host: self.host.clone(),
                purpose: format!("to read `{name}`"),
                message: format!("the archive was cut short: {error}"),
            })?;
            if let Ok(data) = frame.into_data() {
                file.write_all(&data).await.map_err(io)?;
            }
        }
        file.flush().await.map_err(io)
    }

    /// `docker load` of a `docker save`-style archive.
    pub async fn load(&self, archive: &Path) -> Result<(), DaemonError> {
        let file = tokio::fs::File::open(archive)
            .await
            .map_err(|error| DaemonError::Io { path: archive.to_owned(), source: error })?;
        let stream = ReaderStream::with_capacity(file, 1 << 20).map_ok(Frame::data);
        let body = BodyExt::boxed(StreamBody::new(stream));
        let (status, reply) =
            self.call("to load the image", "POST", "/images/load?quiet=1", Some("application/x-tar"), body).await?;
        let text = String::from_utf8_lossy(&reply);
        if status != 200 || text.contains("\"errorDetail\"") || text.contains("\"error\"") {
            return Err(DaemonError::Refused {
                host: self.host.clone(),
                what: "the image".into(),
                status,
                message: text.trim().to_owned(),
            });
        }
        Ok(())
    }
}

/// The `message` of a Docker API error body, or the body itself.
fn message_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned())
}

fn empty() -> BoxBody {
    BodyExt::boxed(Empty::<Bytes>::new().map_err(|never| match never {}))
}

async fn send<T>(io: T, request: hyper::Request<BoxBody>) -> Result<hyper::Response<Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await.map_err(|e| e.to_string())
}
