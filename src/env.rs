//! Every environment variable rko reads, declared once with what it does. Only `cli` reads the
//! environment, and only through [`Environment`]; library modules receive resolved values.

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Target repository (`registry/repo`), or `ko.local` / `kind.local` for local loading.
pub const KO_DOCKER_REPO: &str = "KO_DOCKER_REPO";
/// `.ko.yaml` file, or a directory holding one.
pub const KO_CONFIG_PATH: &str = "KO_CONFIG_PATH";
/// Overrides `defaultBaseImage`.
pub const KO_DEFAULTBASEIMAGE: &str = "KO_DEFAULTBASEIMAGE";
/// Overrides `defaultPlatforms` (comma-separated).
pub const KO_DEFAULTPLATFORMS: &str = "KO_DEFAULTPLATFORMS";
/// Override `defaultEnv`, `defaultFlags`, `defaultLdflags` (whitespace-separated), as ko's viper does.
pub const KO_DEFAULTENV: &str = "KO_DEFAULTENV";
pub const KO_DEFAULTFLAGS: &str = "KO_DEFAULTFLAGS";
pub const KO_DEFAULTLDFLAGS: &str = "KO_DEFAULTLDFLAGS";
/// The `go` binary to run (default `go` on `PATH`).
pub const KO_GO_PATH: &str = "KO_GO_PATH";
/// Config `created` time and binary-layer history time (Unix seconds).
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// kodata file mtimes and kodata history time (Unix seconds).
pub const KO_DATA_DATE_EPOCH: &str = "KO_DATA_DATE_EPOCH";
/// A directory kodata symlinks may point into (default: the kodata directory itself).
pub const KO_DATA_PATH_ALLOWED_ROOT: &str = "KO_DATA_PATH_ALLOWED_ROOT";
/// Skaffold's custom-builder contract (`rko build --skaffold`): the image to produce
/// (`registry/name:tag`), whether to push it (`true`) or load it into the Docker daemon
/// (`false`), the artifact's context directory, and the platforms (comma-separated).
pub const IMAGE: &str = "IMAGE";
pub const PUSH_IMAGE: &str = "PUSH_IMAGE";
pub const BUILD_CONTEXT: &str = "BUILD_CONTEXT";
pub const PLATFORMS: &str = "PLATFORMS";
/// Set by `skaffold debug` (`all=-N -l`): build without optimizations.
pub const SKAFFOLD_GO_GCFLAGS: &str = "SKAFFOLD_GO_GCFLAGS";
/// rko's cache directory (build outputs, layers, the built-in base).
pub const RKO_CACHE_DIR: &str = "RKO_CACHE_DIR";
/// ko's cache directory; rko uses it when `RKO_CACHE_DIR` is unset.
pub const KOCACHE: &str = "KOCACHE";
/// The size the cache is brought back under after each run, least recently used content first
/// (bytes, or with `KB`/`MB`/`GB`/`TB` or `KiB`/`MiB`/`GiB`/`TiB`; default `5GB`).
pub const RKO_CACHE_MAX_SIZE: &str = "RKO_CACHE_MAX_SIZE";
/// The default platform when neither flags nor config set one (`GOOS` defaults to `linux`,
/// `GOARCH` to `amd64`; `GOARM` gives arm's variant, `GOAMD64` amd64's). A platform list
/// overrides them for `go build`.
pub const GOOS: &str = "GOOS";
pub const GOARCH: &str = "GOARCH";
pub const GOARM: &str = "GOARM";
pub const GOAMD64: &str = "GOAMD64";
/// Checked for `-toolexec`, which rko (like ko) refuses.
pub const GOFLAGS: &str = "GOFLAGS";
/// Disables colour on stderr.
pub const NO_COLOR: &str = "NO_COLOR";
/// Home and XDG cache base, for the default cache directory and docker config.
pub const HOME: &str = "HOME";
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// Docker client configuration directory (`config.json`).
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// Docker daemon for `--local` / `ko.local`.
pub const DOCKER_HOST: &str = "DOCKER_HOST";
/// Seconds a registry request may go without progress (nothing sent, nothing received) before
/// it fails and is retried (default 60).
pub const RKO_REGISTRY_TIMEOUT: &str = "RKO_REGISTRY_TIMEOUT";
/// Extra CA certificates for registries.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// Where `kubectl` is looked for.
pub const PATH: &str = "PATH";
/// Credentials for ghcr.io.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
/// `--tag-rules`: tag rules (docker/metadata-action syntax), or `@FILE`.
pub const RKO_TAG_RULES: &str = "RKO_TAG_RULES";
/// kind cluster for `kind.local`.
pub const KIND_CLUSTER_NAME: &str = "KIND_CLUSTER_NAME";
/// The password of a cosign-encrypted signing key (`--key`).
pub const COSIGN_PASSWORD: &str = "COSIGN_PASSWORD";
/// OIDC identity tokens for keyless signing: GitHub Actions' token service (set with
/// `permissions: id-token: write`), GitLab's `id_tokens:`, CircleCI, Buildkite's agent.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
pub const SIGSTORE_ID_TOKEN: &str = "SIGSTORE_ID_TOKEN";
pub const CIRCLE_OIDC_TOKEN_V2: &str = "CIRCLE_OIDC_TOKEN_V2";
pub const BUILDKITE_AGENT_ACCESS_TOKEN: &str = "BUILDKITE_AGENT_ACCESS_TOKEN";
/// CI detection, for the hint when no token is available.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
pub const GITLAB_CI: &str = "GITLAB_CI";
pub const CIRCLECI: &str = "CIRCLECI";
pub const BUILDKITE: &str = "BUILDKITE";

/// A snapshot of the process environment, taken once at start-up.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    variables: BTreeMap<String, String>,
    /// The whole environment in its original order, for child processes (`go build`).
    ordered: Vec<(OsString, OsString)>,
}

impl Environment {
    pub fn capture() -> Environment {
        let ordered: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let variables = ordered
            .iter()
            .filter_map(|(key, value)| Some((key.to_str()?.to_owned(), value.to_str()?.to_owned())))
            .collect();
        Environment { variables, ordered }
    }

    /// An environment made of the given pairs (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Environment {
        let ordered: Vec<(OsString, OsString)> = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let variables = ordered
            .iter()
            .filter_map(|(key, value)| Some((key.to_str()?.to_owned(), value.to_str()?.to_owned())))
            .collect();
        Environment { variables, ordered }
    }

    /// A copy with `name` set to `value` (for child processes too).
    pub fn with(&self, name: &str, value: &str) -> Environment {
        let mut ordered: Vec<(OsString, OsString)> =
            self.ordered.iter().filter(|(key, _)| key.to_str() != Some(name)).cloned().collect();
        ordered.push((name.into(), value.into()));
        let mut variables = self.variables.clone();
        variables.insert(name.to_owned(), value.to_owned());
        Environment { variables, ordered }
    }

    /// The value of `name`, if set and valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    /// The value of `name` if set to something non-empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// Every variable, in the order the process received them.
    pub fn ordered(&self) -> &[(OsString, OsString)] {
        &self.ordered
    }

    /// This environment with `name` set to `value` for rko itself (a CI's zero-config
    /// default); child processes still get the original environment.
    pub fn overlay(&self, name: &str, value: &str) -> Environment {
        let mut environment = self.clone();
        environment.variables.insert(name.to_owned(), value.to_owned());
        environment
    }

    /// Every UTF-8 variable as a sorted map.
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }
}
