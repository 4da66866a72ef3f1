//! `.ko.yaml`: the model, its discovery (`KO_CONFIG_PATH`, the working directory), parsing with
//! ko's leniency (case-insensitive keys, strings where lists are expected) and rko's strictness
//! (unknown keys warn, type errors name file, line and column), and the templating of
//! `flags`/`ldflags`. Pure data and parsing: no environment, no printing, no network.

mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use parse::parse;

/// Everything `.ko.yaml` can say, as ko reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KoConfig {
    /// The file this came from, if any.
    pub path: Option<PathBuf>,
    pub default_base_image: Option<String>,
    /// Import path (lowercased, like ko's viper keys) → base image reference.
    pub base_image_overrides: BTreeMap<String, String>,
    pub default_platforms: Option<Vec<String>>,
    pub default_env: Option<Vec<String>>,
    pub default_flags: Option<Vec<String>>,
    pub default_ldflags: Option<Vec<String>>,
    pub builds: Vec<BuildConfig>,
    /// Non-fatal findings (unknown keys), one line each, for the caller to print.
    pub warnings: Vec<String>,
}

/// One `builds[]` entry (GoReleaser-style).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildConfig {
    /// `id`, or `#<index>` when absent.
    pub id: String,
    /// Where `go build` runs, relative to the config's working directory (default `.`).
    pub dir: String,
    /// The main package as a local path relative to `dir` (default `.`; a `.go` file means its
    /// directory).
    pub main: String,
    pub env: Vec<String>,
    pub flags: Vec<String>,
    pub ldflags: Vec<String>,
    pub linux_capabilities: Vec<String>,
}

/// A `.ko.yaml` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("`{path}`:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, message: String },
    #[error("`{path}`: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("KO_CONFIG_PATH `{0}` does not exist; point it at a `.ko.yaml` file or the directory holding one")]
    MissingConfigPath(PathBuf),
    #[error("`{0}` is a directory, not a config file; remove it or set KO_CONFIG_PATH to a file")]
    IsDirectory(PathBuf),
}

/// The names ko (viper) accepts for the config file, in the order they are tried.
const CONFIG_NAMES: [&str; 3] = [".ko.yaml", ".ko.yml", ".ko.json"];

/// Find and load the config: `config_path` (from `KO_CONFIG_PATH`) names a file or a
/// directory; otherwise `.ko.yaml` in `working_directory`. No file is not an error.
pub fn load(working_directory: &Path, config_path: Option<&Path>) -> Result<KoConfig, ConfigError> {
    let path = match config_path {
        Some(path) => {
            let path = working_directory.join(path);
            if !path.exists() {
                return Err(ConfigError::MissingConfigPath(path));
            }
            if path.is_dir() { find_in(&path) } else { Some(path) }
        }
        None => find_in(working_directory),
    };
    let Some(path) = path else {
        return Ok(KoConfig::default());
    };
    if path.is_dir() {
        return Err(ConfigError::IsDirectory(path));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|error| ConfigError::Unreadable { path: path.clone(), message: error.to_string() })?;
    let mut config = parse(&text, &path)?;
    config.path = Some(path);
    Ok(config)
}

fn find_in(directory: &Path) -> Option<PathBuf> {
    CONFIG_NAMES.iter().map(|name| directory.join(name)).find(|path| path.exists())
}
