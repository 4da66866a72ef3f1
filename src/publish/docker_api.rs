//! A small Docker Engine API client (the calls `--local` needs: version, image load, tag) over
//! a unix socket (`DOCKER_HOST=unix://…`, the default `/var/run/docker.sock`), TCP
//! (`tcp://host:port`) or ssh (`ssh://[user@]host[:port]`, see [`super::docker_ssh`]). Works
//! with dockerd and with podman's Docker-compatible service.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio_util::io::ReaderStream;

use super::docker_ssh::{SshStream, SshTarget};

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

type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

impl DockerApi {
    /// From `DOCKER_HOST` (unset means the default unix socket).
    pub fn from_host(docker_host: Option<&str>) -> Result<DockerApi, String> {
        let host = docker_host.filter(|h| !h.is_empty()).unwrap_or("unix:///var/run/docker.sock").to_owned();
        let endpoint = if let Some(path) = host.strip_prefix("unix://") {
            Endpoint::Unix(PathBuf::from(path))
        } else if let Some(address) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
            Endpoint::Tcp(address.to_owned())
        } else if let Some(address) = host.strip_prefix("ssh://") {
            Endpoint::Ssh(SshTarget::parse(address)?)
        } else {
            return Err(format!(
                "DOCKER_HOST `{host}` is not supported: use `unix:///path/to.sock`, `tcp://host:port` or `ssh://[user@]host[:port]`"
            ));
        };
        Ok(DockerApi { endpoint, host })
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: BoxBody,
    ) -> Result<(u16, Vec<u8>), String> {
        let unreachable = |error: String| {
            format!("cannot reach the Docker daemon at `{}`: {error}; is it running? (DOCKER_HOST)", self.host)
        };
        let mut request =
            hyper::Request::builder().method(method).uri(format!("/v1.41{path}")).header("Host", "docker");
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let request = request.body(body).map_err(|error| error.to_string())?;
        let mut ssh_errors = None;
        let io = match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| unreachable(e.to_string()))?;
                Connection::Unix(TokioIo::new(stream))
            }
            Endpoint::Tcp(address) => {
                let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| unreachable(e.to_string()))?;
                Connection::Tcp(TokioIo::new(stream))
            }
            Endpoint::Ssh(target) => {
                let (stream, errors) = target.connect().map_err(&unreachable)?;
                ssh_errors = Some(errors);
                Connection::Ssh(TokioIo::new(Box::new(stream)))
            }
        };
        let response = match io {
            Connection::Unix(io) => send(io, request).await,
            Connection::Tcp(io) => send(io, request).await,
            Connection::Ssh(io) => send(io, request).await,
        };
        match (response, ssh_errors) {
            (Ok(response), _) => Ok(response),
            (Err(error), Some(errors)) => match errors.last_line().await {
                Some(said) => Err(unreachable(format!("{error}; ssh said: {said}"))),
                None => Err(unreachable(error)),
            },
            (Err(error), None) => Err(unreachable(error)),
        }
    }

    /// The daemon's platform (`linux/amd64`).
    pub async fn platform(&self) -> Result<(String, String), String> {
        let (status, body) = self.request("GET", "/version", None, empty()).await?;
        if status != 200 {
            return Err(format!("the Docker daemon answered {status} to /version"));
        }
        let version: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("unreadable /version reply: {e}"))?;
        let text = |key: &str| version.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        Ok((text("Os"), text("Arch")))
    }

    /// `docker load` of a `docker save`-style archive.
    pub async fn load(&self, archive: &Path) -> Result<(), String> {
        let file =
            tokio::fs::File::open(archive).await.map_err(|e| format!("cannot read `{}`: {e}", archive.display()))?;
        let stream = ReaderStream::with_capacity(file, 1 << 20).map_ok(Frame::data);
        let body = BodyExt::boxed(StreamBody::new(stream));
        let (status, reply) = self.request("POST", "/images/load?quiet=1", Some("application/x-tar"), body).await?;
        let text = String::from_utf8_lossy(&reply);
        if status != 200 || text.contains("\"errorDetail\"") || text.contains("\"error\"") {
            return Err(format!("the Docker daemon refused the image ({status}): {}", text.trim()));
        }
        Ok(())
    }
}

enum Connection {
    Unix(TokioIo<tokio::net::UnixStream>),
    Tcp(TokioIo<tokio::net::TcpStream>),
    Ssh(TokioIo<Box<SshStream>>),
}

fn empty() -> BoxBody {
    BodyExt::boxed(Empty::<Bytes>::new().map_err(|never| match never {}))
}

async fn send<T>(io: T, request: hyper::Request<BoxBody>) -> Result<(u16, Vec<u8>), String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, body.to_vec()))
}
