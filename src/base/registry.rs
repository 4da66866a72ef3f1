//! Registry bases behind the build's seam: the adapter from the run's shared registry client
//! (or any other [`RegistryBases`]) to a [`Base`], its index children fetched on demand.

use std::sync::Arc;

use async_trait::async_trait;

use crate::build::{Base, BaseError};
use crate::image::ImageOrIndex;
use crate::image::reference::Reference;
use crate::registry::shared::SharedClient;
use crate::registry::{RegistryError, pull};

/// Reads images and indexes from registries.
#[async_trait]
pub trait RegistryBases: Send + Sync {
    async fn get(&self, reference: &Reference) -> Result<ImageOrIndex<RegistryError>, RegistryError>;
}

#[async_trait]
impl RegistryBases for Arc<SharedClient> {
    async fn get(&self, reference: &Reference) -> Result<ImageOrIndex<RegistryError>, RegistryError> {
        pull::get(&self.client().await?, reference).await
    }
}

/// The base `reference` names, from `registry`.
pub async fn base(registry: &dyn RegistryBases, reference: &Reference) -> Result<Base, BaseError> {
    let root = registry.get(reference).await?.map_error();
    Ok(Base { name: reference.to_string(), root })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::base::Selector;
    use crate::build::{BaseSource, BuildError, ImportPath, PlatformRequest};
    use crate::registry::ErrorKind;
    use crate::registry::test_server::{TestRegistry, options};

    #[tokio::test]
    async fn base_errors_keep_the_registry_s_kind() {
        let registry = TestRegistry::start().await;
        let client: Arc<dyn RegistryBases> = Arc::new(Arc::new(SharedClient::new(options())));
        let blobs = tempfile::tempdir().unwrap();
        let import_path = ImportPath::new("example.com/app".into());
        for (repository, kind) in [
            ("denied/app", ErrorKind::Denied),
            ("busy/app", ErrorKind::Transient),
            ("private/app", ErrorKind::Auth),
            ("missing/app", ErrorKind::NotFound),
        ] {
            let name = format!("{}/{repository}:v1", registry.address);
            let selector = Selector::new(
                name,
                BTreeMap::new(),
                PlatformRequest::All,
                blobs.path().to_owned(),
                Some(client.clone()),
                None,
            );
            let Err(error) = selector.base(&import_path).await else { panic!("{repository} gave a base") };
            assert_eq!(error.kind(), kind, "{repository}: {error}");
            let error = BuildError::Base { import_path: import_path.to_string(), source: Box::new(error) };
            assert_eq!(error.kind(), kind, "{repository}: {error}");
        }
        assert_eq!(registry.requests("/v2/busy/app/manifests/v1"), 2, "a 503 is retried");
        assert_eq!(registry.requests("/v2/denied/app/manifests/v1"), 1, "a 403 is not");
    }

    #[tokio::test]
    async fn a_bad_reference_is_invalid_and_needs_no_registry() {
        let selector = Selector::new(
            "Upper/Case".into(),
            BTreeMap::new(),
            PlatformRequest::All,
            "/nonexistent".into(),
            None,
            None,
        );
        let Err(error) = selector.base(&ImportPath::new("example.com/app".into())).await else { panic!() };
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
    }
}
