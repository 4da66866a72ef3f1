//! Integration tests: the real `rko` binary against real peers (a Go toolchain, registries,
//! podman, skopeo, umoci, crane, ...). Run through `scripts/test`, which installs and starts
//! them.

mod action;
mod build_local;
mod cache;
mod ci;
mod cli;
mod daemon_base;
mod names;
mod outputs;
mod platforms;
mod proxy;
mod registry;
mod registry_errors;
mod resolve;
mod sbom;
mod scale;
mod sign;
mod support;
