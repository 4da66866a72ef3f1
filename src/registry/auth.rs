//! Finding credentials for a registry the way docker and ko do: `config.json` (under
//! `DOCKER_CONFIG` or `~/.docker`) with `auths`, `credHelpers` and `credsStore` (running
//! `docker-credential-<helper> get`), then `GITHUB_TOKEN` for ghcr.io. Also writes the config
//! for `rko login` (mode 0600). Secrets stay in [`Credential`] and never reach messages.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::error::RegistryError;
use super::reference::DOCKER_HUB;

/// What to authenticate with.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credential {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken(String),
    /// A bearer token to send as is (`registrytoken`).
    RegistryToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::Anonymous => "Anonymous",
            Credential::Basic { .. } => "Basic(***)",
            Credential::IdentityToken(_) => "IdentityToken(***)",
            Credential::RegistryToken(_) => "RegistryToken(***)",
        })
    }
}

/// A credential and, when there is none, where rko looked (for messages).
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    pub credential: Credential,
    pub searched: String,
}

/// The parsed `config.json`.
type ConfigFile = Map<String, Value>;

/// Where credentials come from; resolved once per registry per run.
#[derive(Clone, Debug, Default)]
pub struct Keychain {
    /// The docker config directory (`DOCKER_CONFIG`, else `~/.docker`).
    pub config_directory: Option<PathBuf>,
    /// `GITHUB_TOKEN` and `GITHUB_ACTOR`, used for ghcr.io.
    pub github_token: Option<String>,
    pub github_actor: Option<String>,
    /// Credentials held in process (a CI job's registry login), consulted before the docker
    /// config: `(host[:port], credential)`. Never written anywhere.
    pub credentials: Vec<(String, Credential)>,
}

/// The key docker uses for a registry in `config.json`.
fn config_key(registry: &str) -> String {
    if registry == DOCKER_HUB { "https://index.docker.io/v1/".to_owned() } else { registry.to_owned() }
}

/// Normalize a `config.json` key or a `docker login` server (`https://host/v1/` → `host`,
/// Docker Hub's names → one) for comparison.
pub(crate) fn normalize_key(key: &str) -> String {
    let host = key.trim_start_matches("https://").trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_owned(),
    }
}

impl Keychain {
    fn config_path(&self) -> Option<PathBuf> {
        self.config_directory.as_ref().map(|directory| directory.join("config.json"))
    }

    fn read_config(&self) -> Result<Option<(PathBuf, ConfigFile)>, RegistryError> {
        let Some(path) = self.config_path() else { return Ok(None) };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(RegistryError::Config { path: path.display().to_string(), message: error.to_string() });
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(Some((path, map))),
            Ok(_) | Err(_) => Err(RegistryError::Config {
                path: path.display().to_string(),
                message: "not a JSON object; fix or remove it".into(),
            }),
        }
    }

    /// The credential for `registry` (`host[:port]`).
    pub fn resolve(&self, registry: &str) -> Result<Credential, RegistryError> {
        Ok(self.lookup(registry)?.credential)
    }

    /// The credential for `registry`, and where rko looked when there is none.
    pub fn lookup(&self, registry: &str) -> Result<Lookup, RegistryError> {
        if let Some((_, credential)) = self.credentials.iter().find(|(key, _)| normalize_key(key) == registry) {
            return Ok(Lookup { credential: credential.clone(), searched: String::new() });
        }
        let mut searched = Vec::new();
        match (self.config_path(), self.read_config()?) {
            (None, _) => searched.push("there is no docker config (neither DOCKER_CONFIG nor HOME is set)".to_owned()),
            (Some(path), None) => searched.push(format!("`{}` does not exist", path.display())),
            (_, Some((path, config))) => {
                let helpers = config.get("credHelpers").and_then(Value::as_object);
                let helper = helpers
                    .and_then(|helpers| helpers.iter().find(|(key, _)| normalize_key(key) == registry))
                    .and_then(|(_, helper)| helper.as_str())
                    .or_else(|| config.get("credsStore").and_then(Value::as_str))
                    .filter(|helper| !helper.is_empty());
                if let Some(helper) = helper {
                    let credential = run_helper(helper, registry)?;
                    if credential != Credential::Anonymous {
                        return Ok(Lookup { credential, searched: String::new() });
                    }
                    searched.push(format!("`docker-credential-{helper}` has none for it"));
                }
                let entry = config
                    .get("auths")
                    .and_then(Value::as_object)
                    .and_then(|auths| auths.iter().find(|(key, _)| normalize_key(key) == registry))
                    .map(|(_, entry)| entry);
                match entry {
                    Some(entry) => {
                        let credential = parse_auth_entry(entry)
                            .map_err(|message| RegistryError::Config { path: path.display().to_string(), message })?;
                        if credential != Credential::Anonymous {
                            return Ok(Lookup { credential, searched: String::new() });
                        }
                        searched.push(format!("its entry in `{}` holds no credentials", path.display()));
                    }
                    None => searched.push(format!("`{}` has no entry for `{registry}`", path.display())),
                }
            }
        }
        if registry == "ghcr.io" {
            if let Some(token) = self.github_token.as_ref().filter(|token| !token.is_empty()) {
                let username =
                    self.github_actor.clone().filter(|actor| !actor.is_empty()).unwrap_or_else(|| "unset".into());
                let credential = Credential::Basic { username, password: token.clone() };
                return Ok(Lookup { credential, searched: String::new() });
            }
            searched.push("GITHUB_TOKEN is unset".to_owned());
        }
        Ok(Lookup { credential: Credential::Anonymous, searched: searched.join(", ") })
    }

    /// Store `username`/`password` for `registry` in `config.json` (created 0600), keeping
    /// every other setting.
    pub fn store(&self, registry: &str, username: &str, password: &str) -> Result<PathBuf, RegistryError> {
        let path = self.config_path().ok_or_else(|| RegistryError::Config {
            path: "~/.docker/config.json".into(),
            message: "neither DOCKER_CONFIG nor HOME is set".into(),
        })?;
        let mut config = self.read_config()?.map(|(_, config)| config).unwrap_or_default();
        let key = config_key(registry);
        let auths = config.entry("auths").or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(auths) = auths else {
            return Err(RegistryError::Config {
                path: path.display().to_string(),
                message: "`auths` is not an object".into(),
            });
        };
        auths.retain(|existing, _| normalize_key(existing) != registry);
        let encoded = STANDARD.encode(format!("{username}:{password}"));
        auths.insert(key, Value::Object(Map::from_iter([("auth".to_owned(), Value::String(encoded))])));
        write_private(&path, &serde_json::to_vec_pretty(&Value::Object(config)).unwrap_or_default())?;
        Ok(path)
    }
}

fn parse_auth_entry(entry: &Value) -> Result<Credential, String> {
    let field = |name: &str| entry.get(name).and_then(Value::as_str).filter(|value| !value.is_empty());
    if let Some(token) = field("registrytoken") {
        return Ok(Credential::RegistryToken(token.to_owned()));
    }
    if let Some(token) = field("identitytoken") {
        return Ok(Credential::IdentityToken(token.to_owned()));
    }
    if let Some(auth) = field("auth") {
        let decoded = STANDARD.decode(auth.trim()).map_err(|_| "an `auth` entry is not valid base64".to_owned())?;
        let decoded = String::from_utf8(decoded).map_err(|_| "an `auth` entry is not UTF-8".to_owned())?;
        let (username, password) = decoded.split_once(':').ok_or("an `auth` entry is not `user:password`")?;
        return Ok(Credential::Basic { username: username.to_owned(), password: password.to_owned() });
    }
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => {
            Ok(Credential::Basic { username: username.into(), password: password.into() })
        }
        _ => Ok(Credential::Anonymous),
    }
}

/// Run `docker-credential-<helper> get` (the docker credential-helper protocol).
fn run_helper(helper: &str, registry: &str) -> Result<Credential, RegistryError> {
    let program = format!("docker-credential-{helper}");
    let failure =
        |message: String| RegistryError::Helper { helper: helper.to_owned(), registry: registry.to_owned(), message };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            failure(format!("cannot run `{program}`: {error}; install it or remove it from config.json"))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(config_key(registry).as_bytes());
    }
    let output = child.wait_with_output().map_err(|error| failure(error.to_string()))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        if text.contains("credentials not found") {
            return Ok(Credential::Anonymous);
        }
        return Err(failure(text.lines().next().unwrap_or("failed").to_owned()));
    }
    let reply: BTreeMap<String, Value> =
        serde_json::from_slice(&output.stdout).map_err(|_| failure("its output is not JSON".into()))?;
    let text = |key: &str| reply.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let (username, secret) = (text("Username"), text("Secret"));
    Ok(match (username.as_str(), secret.is_empty()) {
        (_, true) => Credential::Anonymous,
        ("<token>", false) => Credential::IdentityToken(secret),
        _ => Credential::Basic { username, password: secret },
    })
}

/// Write `bytes` to `path` readable only by the owner, atomically.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    use std::os::unix::fs::PermissionsExt;
    let error = |message: String| RegistryError::Config { path: path.display().to_string(), message };
    let directory = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(|e| error(e.to_string()))?;
    let mut file = tempfile::NamedTempFile::new_in(directory).map_err(|e| error(e.to_string()))?;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).map_err(|e| error(e.to_string()))?;
    file.write_all(bytes).map_err(|e| error(e.to_string()))?;
    file.persist(path).map_err(|e| error(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keychain(config: &str) -> (tempfile::TempDir, Keychain) {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("config.json"), config).unwrap();
        let keychain = Keychain { config_directory: Some(directory.path().to_owned()), ..Keychain::default() };
        (directory, keychain)
    }

    #[test]
    fn reads_auths_in_every_form() {
        let (_dir, keychain) = keychain(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"reg.io":{"username":"u","password":"p"},
                "tok.io":{"identitytoken":"refresh"},"http://old.io/v2/":{"auth":"YTpi"}}}"#,
        );
        assert_eq!(
            keychain.resolve(DOCKER_HUB).unwrap(),
            Credential::Basic { username: "user".into(), password: "pass".into() }
        );
        assert_eq!(
            keychain.resolve("reg.io").unwrap(),
            Credential::Basic { username: "u".into(), password: "p".into() }
        );
        assert_eq!(keychain.resolve("tok.io").unwrap(), Credential::IdentityToken("refresh".into()));
        assert_eq!(
            keychain.resolve("old.io").unwrap(),
            Credential::Basic { username: "a".into(), password: "b".into() }
        );
        assert_eq!(keychain.resolve("other.io").unwrap(), Credential::Anonymous);
        let searched = keychain.lookup("other.io").unwrap().searched;
        assert!(searched.contains("config.json` has no entry for `other.io`"), "{searched}");
    }

    #[test]
    fn says_where_it_looked_when_there_are_no_credentials() {
        let missing = Keychain { config_directory: Some("/nonexistent/rko".into()), ..Keychain::default() };
        assert_eq!(missing.lookup("reg.io").unwrap().searched, "`/nonexistent/rko/config.json` does not exist");
        let none = Keychain::default();
        assert!(none.lookup("ghcr.io").unwrap().searched.ends_with(", GITHUB_TOKEN is unset"));
        let (_dir, empty_entry) = keychain(r#"{"auths":{"reg.io":{}}}"#);
        assert!(empty_entry.lookup("reg.io").unwrap().searched.starts_with("its entry in `"));
    }

    #[test]
    fn credentials_held_in_process_come_before_the_docker_config() {
        let (_dir, mut keychain) = keychain(r#"{"auths":{"reg.io":{"username":"file","password":"p"}}}"#);
        let job = Credential::Basic { username: "gitlab-ci-token".into(), password: "job".into() };
        keychain.credentials.push(("reg.io".into(), job.clone()));
        assert_eq!(keychain.resolve("reg.io").unwrap(), job);
        assert_eq!(keychain.resolve("other.io").unwrap(), Credential::Anonymous);
    }

    #[test]
    fn github_token_is_used_for_ghcr_only() {
        let keychain = Keychain { github_token: Some("ghs_x".into()), ..Keychain::default() };
        assert_eq!(
            keychain.resolve("ghcr.io").unwrap(),
            Credential::Basic { username: "unset".into(), password: "ghs_x".into() }
        );
        assert_eq!(keychain.resolve("docker.io").unwrap(), Credential::Anonymous);
    }

    #[test]
    fn missing_helper_is_a_clear_error_and_secrets_are_not_debug_printed() {
        let (_dir, keychain) = keychain(r#"{"credHelpers":{"reg.io":"rko-test-nonexistent"}}"#);
        let error = keychain.resolve("reg.io").unwrap_err().to_string();
        assert!(error.contains("docker-credential-rko-test-nonexistent"), "{error}");
        assert_eq!(
            format!("{:?}", Credential::Basic { username: "u".into(), password: "secret".into() }),
            "Basic(***)"
        );
    }

    #[test]
    fn store_keeps_other_settings_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (directory, keychain) =
            keychain(r#"{"credsStore":"","auths":{"other.io":{"auth":"YTpi"}},"psFormat":"x"}"#);
        keychain.store("localhost:5443", "user", "pw").unwrap();
        let path = directory.path().join("config.json");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("psFormat") && text.contains("other.io"), "{text}");
        assert_eq!(
            keychain.resolve("localhost:5443").unwrap(),
            Credential::Basic { username: "user".into(), password: "pw".into() }
        );
    }
}
