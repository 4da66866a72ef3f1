//! Integration tests: the real `rko` binary against real peers (a Go toolchain, registries,
//! podman, skopeo, umoci, crane, ...). Run through `scripts/test`, which installs and starts
//! them.

mod build_local;
mod cache;
mod cli;
mod names;
mod outputs;
mod platforms;
mod proxy;
mod registry;
mod registry_errors;
mod resolve;
mod sbom;
mod support;
