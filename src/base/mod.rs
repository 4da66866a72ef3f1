//! Base images behind the build's `BaseSource` seam (which `build` defines): the built-in
//! static base, `scratch`, `ko.local/...` images from the Docker daemon and, through a
//! [`RegistryBases`], any registry image or index, chosen per import path. Each base is fetched
//! once per run, however many import paths use it.

pub mod builtin;
pub mod daemon;
pub mod registry;
pub mod zip;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::build::{Base, BaseError, BaseSource, ImportPath, PlatformRequest};
use crate::image::Platform;
use crate::image::reference::Reference;
use builtin::{BUILTIN_NAME, SCRATCH_NAME, SyntheticBase};
pub use registry::RegistryBases;

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
    /// `DOCKER_HOST`, for `ko.local/...` bases.
    pub docker_host: Option<String>,
    builtin: OnceCell<Arc<SyntheticBase>>,
    scratch: OnceCell<Arc<SyntheticBase>>,
    /// Registry and daemon bases by the name the user gave.
    fetched: Mutex<HashMap<String, Arc<OnceCell<Base>>>>,
}

impl Selector {
    pub fn new(
        default: String,
        overrides: BTreeMap<String, String>,
        platforms: PlatformRequest,
        blobs: PathBuf,
        registry: Option<Arc<dyn RegistryBases>>,
        docker_host: Option<String>,
    ) -> Selector {
        Selector {
            default,
            overrides,
            platforms,
            blobs,
            registry,
            docker_host,
            builtin: OnceCell::new(),
            scratch: OnceCell::new(),
            fetched: Mutex::new(HashMap::new()),
        }
    }

    /// The platforms a synthetic base provides: the requested ones, or its standard list for
    /// `all`; the built-in base is Linux only.
    fn synthetic_platforms(&self, name: &str) -> Result<Vec<Platform>, BaseError> {
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
            return Err(BaseError::BuiltinPlatform { platform: platform.to_string() });
        }
        Ok(platforms)
    }

    /// A base named by reference: from the daemon for `ko.local/...`, else from a registry.
    async fn fetch(&self, reference: &Reference) -> Result<Base, BaseError> {
        if reference.repository.registry() == daemon::LOCAL_DOMAIN {
            return daemon::base(self.docker_host.as_deref(), reference, &self.blobs).await;
        }
        match &self.registry {
            Some(registry) => registry::base(registry.as_ref(), reference).await,
            None => Err(BaseError::NoRegistry { base: reference.to_string() }),
        }
    }

    /// The base name for an import path.
    pub fn name_for(&self, import_path: &ImportPath) -> &str {
        self.overrides.get(&import_path.as_str().to_lowercase()).unwrap_or(&self.default)
    }
}

#[async_trait]
impl BaseSource for Selector {
    async fn base(&self, import_path: &ImportPath) -> Result<Base, BaseError> {
        let name = self.name_for(import_path).to_owned();
        match name.as_str() {
            BUILTIN_NAME => {
                let blobs = self.blobs.clone();
                let platforms = self.synthetic_platforms(BUILTIN_NAME)?;
                let base = self
                    .builtin
                    .get_or_try_init(|| async move {
                        let path = blobs.display().to_string();
                        tokio::task::spawn_blocking(move || SyntheticBase::builtin(&blobs, platforms).map(Arc::new))
                            .await
                            .map_err(|error| BaseError::Task(error.to_string()))?
                            .map_err(|source| BaseError::Cache { path, source })
                    })
                    .await?;
                Ok(base.base())
            }
            SCRATCH_NAME => {
                let platforms = self.synthetic_platforms(SCRATCH_NAME)?;
                Ok(self.scratch.get_or_init(|| async { Arc::new(SyntheticBase::scratch(platforms)) }).await.base())
            }
            text => {
                let reference = Reference::parse(text)?;
                let cell = match self.fetched.lock() {
                    Ok(mut fetched) => fetched.entry(name.clone()).or_default().clone(),
                    Err(_) => Arc::default(),
                };
                cell.get_or_try_init(|| self.fetch(&reference)).await.cloned()
            }
        }
    }
}
