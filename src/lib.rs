//! rko builds Go programs into OCI images without Docker, as a drop-in replacement for ko.
//!
//! Architecture, lowest layer first. A module imports only modules listed before it (a test
//! checks every `crate::` path against this order):
//! - [`image`]: the OCI model (digests, references, layers, images, lazily fetched indexes) and
//!   the byte-exact encoders. Knows nothing of the network or Go.
//! - [`config`]: `.ko.yaml` (model, discovery, parsing). Pure data and parsing.
//! - [`goquote`]: Go's `strconv` quoting and `unicode.IsPrint`, exact (tables generated from
//!   Go by `scripts/gocheck`). Pure.
//! - [`gotemplate`]: Go's `text/template`, as ko's `flags`/`ldflags` templates use it (`build`
//!   applies them). Pure.
//! - [`gobinary`]: build info and build IDs read straight from Go executables. Pure parsing.
//! - [`env`]: every environment variable rko reads, declared once, and the snapshot type that
//!   only `cli` captures.
//! - [`registry`]: auth, the HTTP client, reading images and indexes, the pusher, and the
//!   [`registry::ErrorKind`] every module's errors report. Depends only on `image`.
//! - [`daemon`]: the Docker Engine API: loading images, reading them from `docker save`.
//! - [`cache`]: the cache directory: build outputs, layer blobs and the layer cache, their
//!   locks, clean-up and size bound. Depends on `image` only.
//! - [`build`]: the `Builder` seam: `go build`, kodata, layers, image assembly. Never talks to
//!   a registry or a daemon: base images come in through its [`build::BaseSource`] seam (it
//!   knows their error types, to pass their kinds on). Keeps what it builds in the [`cache`].
//! - [`base`]: the `BaseSource` implementation: built-in, `scratch`, `ko.local/...` from the
//!   daemon, and registry bases.
//! - [`sbom`]: a `Builder` wrapper that describes each image in SPDX or CycloneDX.
//! - [`sign`]: keyless (Fulcio, Rekor) and key-based signing, attestations, SLSA provenance,
//!   cosign's legacy formats and offline verification. Depends on `image`; never talks to a
//!   registry (publishers push what it returns) and never reads the environment.
//! - [`publish`]: the `Publisher` seam: registry, OCI layout, tarball, archive, daemon, kind.
//! - [`resolve`]: `ko://` references in YAML, rewritten byte for byte; label selectors. Pure.
//! - [`ci`]: the CI front end's pure parts: detection, inputs, tag rules, GitHub file commands,
//!   annotations, summary, dotenv. Reads a variables map, never the environment itself.
//! - [`report`]: the one description of a run that every machine output renders.
//! - [`cli`]: argument parsing, settings resolution, wiring and printing. The only module that
//!   prints, captures the environment (through [`env`]) or uses `anyhow`.

pub mod base;
pub mod build;
pub mod cache;
pub mod ci;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod env;
pub mod gobinary;
pub mod goquote;
pub mod gotemplate;
pub mod image;
pub mod publish;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod sbom;
pub mod sign;

#[cfg(test)]
mod dependency_rules;
