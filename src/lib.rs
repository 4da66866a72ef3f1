//! rko builds Go programs into OCI images without Docker, as a drop-in replacement for ko.
//!
//! Architecture, and the rules between modules:
//! - [`image`]: the OCI model and byte-exact encoders. Knows nothing of the network or Go.
//! - [`config`]: `.ko.yaml`. Pure data and parsing.
//! - [`gotemplate`]: Go's `text/template`, as ko's `flags`/`ldflags` templates use it. Pure;
//!   depends only on `goquote`.
//! - [`goquote`]: Go's `strconv` quoting and `unicode.IsPrint`, exact (tables generated from
//!   Go by `scripts/gocheck`). Pure; depends on nothing else in rko.
//! - [`gobinary`]: build info and build IDs read straight from Go executables. Pure parsing;
//!   depends only on `goquote`.
//! - [`build`]: the `Builder` seam: `go build`, kodata, layers, image assembly. Never talks to
//!   a registry: base images come in through the [`base::BaseSource`] seam.
//! - [`base`]: base images (built-in, `scratch`, registry) behind `BaseSource`.
//! - [`registry`]: references, auth, the HTTP client and the pusher. Depends on `image`.
//! - [`publish`]: the `Publisher` seam: registry, OCI layout, tarball, archive, daemon.
//! - [`resolve`]: `ko://` references in YAML, rewritten byte for byte; label selectors. Pure.
//! - [`ci`]: the CI front end's pure parts: detection, inputs, tag rules, GitHub file commands,
//!   annotations, summary, dotenv. Reads a variables map, never the environment itself.
//! - [`report`]: the one description of a run that every machine output renders.
//! - [`cli`]: argument parsing, settings resolution, wiring and printing. The only module that
//!   prints, reads the environment (through [`env`]) or uses `anyhow`.

pub mod base;
pub mod build;
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
