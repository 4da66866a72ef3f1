//! Base images behind the build's `BaseSource` seam: the built-in static base, `scratch`, and
//! (through `registry`) any registry image or index, chosen per import path.

pub mod builtin;
pub mod zip;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::build::{Base, BaseSource, ImportPath, PlatformRequest};
use crate::image::Platform;
use builtin::{BUILTIN_NAME, SCRATCH_NAME, SyntheticBase};

/// Fetches bases that name a registry image (implemented in `registry`).
#[async_trait]
pub trait RegistryBases: Send + Sync {
    async fn base(&self, reference: &str) -> Result<Base, String>;
}

/// Picks each import path's base: `baseImageOverrides`, else the default; `builtin` and
/// `scratch` are made locally, anything else comes from a registry.
pub struct Selector {
    pub default: String,
    /// What the run builds: the synthetic bases provide exactly these platforms.
    pub platforms: PlatformRequest,
    /// Lowercased import path → base.
    pub overrides: BTreeMap<String, String>,
    pub blobs: PathBuf,
    pub registry: Option<Arc<dyn RegistryBases>>,
    builtin: OnceCell<Arc<SyntheticBase>>,
    scratch: OnceCell<Arc<SyntheticBase>>,
}

impl Selector {
    pub fn new(
        default: String,
        overrides: BTreeMap<String, String>,
        platforms: PlatformRequest,
        blobs: PathBuf,
        registry: Option<Arc<dyn RegistryBases>>,
    ) -> Selector {
        Selector { default, overrides, platforms, blobs, registry, builtin: OnceCell::new(), scratch: OnceCell::new() }
    }

    /// The platforms a synthetic base provides: the requested ones, or its standard list for
    /// `all`; the built-in base is Linux only.
    fn synthetic_platforms(&self, name: &str) -> Result<Vec<Platform>, String> {
        let platforms = match &self.platforms {
            PlatformRequest::All => builtin::platforms(),
            PlatformRequest::List(list) => {
                let mut unique: Vec<Platform> = Vec::new();
                for platform in list {
                    if !unique.contains(platform) {
                        unique.push(platform.clone());
                    }
                }
                unique
            }
        };
        if name == BUILTIN_NAME
            && let Some(platform) = platforms.iter().find(|platform| platform.os != "linux")
        {
            return Err(format!(
                "the built-in base image is for Linux, not `{platform}`; set KO_DEFAULTBASEIMAGE (or defaultBaseImage) to a base for that OS"
            ));
        }
        Ok(platforms)
    }

    /// The base name for an import path.
    pub fn name_for(&self, import_path: &ImportPath) -> &str {
        self.overrides.get(&import_path.as_str().to_lowercase()).unwrap_or(&self.default)
    }
}

#[async_trait]
impl BaseSource for Selector {
    async fn base(&self, import_path: &ImportPath) -> Result<Base, String> {
        let name = self.name_for(import_path).to_owned();
        match name.as_str() {
            BUILTIN_NAME => {
                let blobs = self.blobs.clone();
                let platforms = self.synthetic_platforms(BUILTIN_NAME)?;
                let base = self
                    .builtin
                    .get_or_try_init(|| async move {
                        tokio::task::spawn_blocking(move || SyntheticBase::builtin(&blobs, platforms).map(Arc::new))
                            .await
                            .map_err(|error| error.to_string())?
                            .map_err(|error| format!("cannot write the built-in base into the cache: {error}"))
                    })
                    .await?;
                Ok(base.base())
            }
            SCRATCH_NAME => {
                let platforms = self.synthetic_platforms(SCRATCH_NAME)?;
                Ok(self.scratch.get_or_init(|| async { Arc::new(SyntheticBase::scratch(platforms)) }).await.base())
            }
            reference => match &self.registry {
                Some(registry) => registry.base(reference).await,
                None => Err(format!("base image `{reference}` needs a registry, and no registry client is configured")),
            },
        }
    }
}
