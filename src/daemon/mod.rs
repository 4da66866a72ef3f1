//! The Docker daemon (dockerd, or podman's Docker-compatible service) as ggcr's `daemon`
//! package sees it: a small Engine API client, images loaded into it (`--local`) and images
//! read from it (`ko.local/...` bases). Depends on `image` (and on `registry` for nothing but
//! [`ErrorKind`]).

pub mod api;
pub mod archive;
pub mod image;
pub mod ssh;

use std::path::PathBuf;

pub use api::DockerApi;

use crate::registry::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(
        "DOCKER_HOST `{host}` is not supported: use `unix:///path/to.sock`, `tcp://host:port` or `ssh://[user@]host[:port]`"
    )]
    Host { host: String },
    /// A `DOCKER_HOST=ssh://…` that cannot be used (the message never repeats a password).
    #[error("{0}")]
    SshHost(String),
    #[error("cannot reach the Docker daemon at `{host}` {purpose}: {message}; is it running? (DOCKER_HOST)")]
    Unreachable { host: String, purpose: String, message: String },
    #[error("the Docker daemon at `{host}` refused {what} ({status}): {message}")]
    Refused { host: String, what: String, status: u16, message: String },
    #[error(
        "image `{image}` is not in the Docker daemon at `{host}`; pull or load it there first (e.g. `rko build --local`), or point DOCKER_HOST at the daemon that has it"
    )]
    NotFound { image: String, host: String },
    #[error("the Docker daemon at `{host}` sent an invalid reply to {what}: {message}")]
    Protocol { host: String, what: String, message: String },
    #[error("the archive the Docker daemon saved for `{image}` is invalid: {message}")]
    Archive { image: String, message: String },
    #[error("cannot read or write `{}`", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl DaemonError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DaemonError::Host { .. }
            | DaemonError::SshHost(_)
            | DaemonError::Protocol { .. }
            | DaemonError::Archive { .. } => ErrorKind::Invalid,
            DaemonError::Unreachable { .. } => ErrorKind::Transient,
            DaemonError::Refused { status, .. } => ErrorKind::of_status(*status),
            DaemonError::NotFound { .. } => ErrorKind::NotFound,
            DaemonError::Io { .. } => ErrorKind::Local,
        }
    }
}
