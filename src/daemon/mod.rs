//! The Docker daemon (dockerd, or podman's Docker-compatible service) as ggcr's `daemon`
//! package sees it: a small Engine API client, images loaded into it (`--local`) and images
//! read from it (`ko.local/...` bases). Depends only on `image`.

pub mod api;

pub use api::DockerApi;
