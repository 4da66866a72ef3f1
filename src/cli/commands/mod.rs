//! One file per command, plus the checks several commands share.

pub mod action;
pub mod build;
pub mod index;
pub mod kubectl;
pub mod login;
pub mod resolve;
pub mod sign;
pub mod verify;

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::build::ImportPath;
use crate::cli::args::PublishFlags;
use crate::cli::session::Session;

/// Refuse, before anything is built, two import paths that would be published under one image
/// name (`--bare` names every image `KO_DOCKER_REPO`; `-B` names it by the last path element):
/// the second would silently replace the first's tags. ko publishes both to the same tag.
pub fn refuse_shared_names(session: &Session, import_paths: &[ImportPath], flags: &PublishFlags) -> Result<()> {
    let mut names: BTreeMap<String, &ImportPath> = BTreeMap::new();
    for import_path in import_paths {
        let name = session.name(import_path);
        if let Some(first) = names.insert(name.clone(), import_path) {
            let (why, fix) = if flags.bare && !flags.base_import_paths {
                (
                    "--bare names every image `KO_DOCKER_REPO` itself",
                    "build them in separate runs with a different KO_DOCKER_REPO each, or drop --bare",
                )
            } else {
                (
                    "-B names images by the last element of their import path",
                    "drop -B, or use -P to keep the full import paths",
                )
            };
            let shown = if name.is_empty() { "the same name".to_owned() } else { format!("`{name}`") };
            bail!("`{first}` and `{import_path}` would both be published as {shown} ({why}): {fix}");
        }
    }
    Ok(())
}
