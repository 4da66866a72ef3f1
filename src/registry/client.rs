//! The registry HTTP client: one connection pool and one token cache per run. It pings each
//! registry once (HTTPS, falling back to plain HTTP only for loopback names or
//! `--insecure-registry`), answers `Basic` and `Bearer` challenges with the keychain's
//! credentials, and retries 408/429/5xx and dropped connections with backoff, honouring
//! `Retry-After`. Authentication failures are never retried.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{RequestBuilder, Response, StatusCode, header};
use tokio::sync::{Mutex, OnceCell};

use super::auth::{Credential, Keychain};
use super::error::{RegistryCodes, RegistryError};

/// How hard to retry transient failures.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 4, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// `--insecure-registry`: plain HTTP and unverified TLS for every registry.
    pub insecure: bool,
    /// Trust the system's CA bundle (the first of [`SYSTEM_BUNDLES`] that exists).
    pub system_roots: bool,
    /// More PEM files of trusted roots (`SSL_CERT_FILE`). All roots are read when the client is
    /// created (in the background, see `SharedClient`).
    pub root_files: Vec<PathBuf>,
    /// `SSL_CERT_DIR`: every file in them is read too.
    pub root_directories: Vec<PathBuf>,
    pub keychain: Keychain,
    pub retry: RetryPolicy,
}

/// A permission on a repository, for token scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub repository: String,
    pub push: bool,
}

impl Scope {
    pub fn pull(repository: &str) -> Scope {
        Scope { repository: repository.to_owned(), push: false }
    }

    pub fn push(repository: &str) -> Scope {
        Scope { repository: repository.to_owned(), push: true }
    }

    fn text(&self) -> String {
        format!("repository:{}:{}", self.repository, if self.push { "pull,push" } else { "pull" })
    }
}

#[derive(Clone, Debug)]
enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: Option<String> },
}

#[derive(Clone, Debug)]
struct Host {
    base: String,
    challenge: Challenge,
}

pub struct Client {
    http: reqwest::Client,
    options: ClientOptions,
    hosts: Mutex<HashMap<String, Arc<OnceCell<Host>>>>,
    /// Per registry, looked up once (a credential helper runs once per run, not per request).
    credentials: Mutex<HashMap<String, Arc<OnceCell<Credential>>>>,
    /// One token per (registry, scopes), fetched once even by concurrent requests.
    tokens: Mutex<HashMap<String, Arc<OnceCell<String>>>>,
}

fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.ends_with(".localhost") || host == "::1" || host.starts_with("127.")
}

/// Whether a transport error is worth another attempt (dropped or timed-out connections).
fn transient(error: &reqwest::Error) -> bool {
    error.is_timeout() || error.is_request() || error.is_body() || error.is_connect()
}

/// The root cause of a transport error (`Connection refused (os error 111)`), without URLs.
fn describe(error: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = error;
    while let Some(inner) = root.source() {
        root = inner;
    }
    let message = root.to_string();
    if error.is_timeout() { format!("timed out ({message})") } else { message }
}

/// Where Linux distributions keep the system's CA bundle (the list Go's crypto/x509 uses).
pub const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The certificates of the system bundle, the root files and directories, each once.
fn trusted_roots(options: &ClientOptions) -> Result<Vec<reqwest::Certificate>, RegistryError> {
    let system = SYSTEM_BUNDLES.iter().map(PathBuf::from).filter(|path| options.system_roots && path.is_file());
    let mut files: Vec<PathBuf> = system.take(1).collect();
    files.extend(options.root_files.iter().cloned());
    for directory in &options.root_directories {
        let entries = std::fs::read_dir(directory).map_err(|error| RegistryError::Certificate {
            path: directory.display().to_string(),
            message: format!("cannot read SSL_CERT_DIR: {error}"),
        })?;
        let mut listed: Vec<PathBuf> =
            entries.flatten().map(|entry| entry.path()).filter(|path| path.is_file()).collect();
        listed.sort();
        files.extend(listed);
    }
    let mut seen_files = HashSet::new();
    let mut seen_certificates = HashSet::new();
    let mut roots = Vec::new();
    for path in files {
        if !seen_files.insert(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone())) {
            continue;
        }
        let certificate_error =
            |message: String| RegistryError::Certificate { path: path.display().to_string(), message };
        let pem = std::fs::read_to_string(&path).map_err(|error| certificate_error(error.to_string()))?;
        let fresh: String = pem_blocks(&pem)
            .filter(|block| seen_certificates.insert(block.split_whitespace().collect::<String>()))
            .collect::<Vec<_>>()
            .join("\n");
        if !fresh.is_empty() {
            roots.extend(
                reqwest::Certificate::from_pem_bundle(fresh.as_bytes())
                    .map_err(|error| certificate_error(error.to_string()))?,
            );
        }
    }
    Ok(roots)
}

/// The `CERTIFICATE` blocks of a PEM text, markers included.
fn pem_blocks(pem: &str) -> impl Iterator<Item = &str> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = pem;
    std::iter::from_fn(move || {
        let start = rest.find(BEGIN)?;
        let length = rest[start..].find(END)? + END.len();
        let block = &rest[start..start + length];
        rest = &rest[start + length..];
        Some(block)
    })
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("rko/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(30));
        // The roots are loaded from files rko names, each certificate once (the native-certs
        // loader would also parse every file of /etc/ssl/certs: hundreds of duplicates).
        builder = builder.tls_built_in_root_certs(false);
        for certificate in trusted_roots(&options)? {
            builder = builder.add_root_certificate(certificate);
        }
        if options.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|error| RegistryError::Certificate {
            path: "TLS configuration".into(),
            message: error.to_string(),
        })?;
        Ok(Client {
            http,
            options,
            hosts: Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    async fn host(&self, registry: &str) -> Result<Host, RegistryError> {
        let cell = self.hosts.lock().await.entry(registry.to_owned()).or_default().clone();
        cell.get_or_try_init(|| self.ping(registry)).await.cloned()
    }

    async fn ping(&self, registry: &str) -> Result<Host, RegistryError> {
        let plain_allowed = self.options.insecure || is_loopback(registry);
        let mut schemes = vec!["https"];
        if plain_allowed {
            schemes.push("http");
        }
        let mut first_error = None;
        for scheme in schemes {
            let base = format!("{scheme}://{registry}");
            match self.http.get(format!("{base}/v2/")).send().await {
                // Plain HTTP only counts when it answers like a registry: a TLS port answers 400.
                Ok(response) if scheme == "http" && !matches!(response.status().as_u16(), 200 | 401) => {}
                Ok(response) => {
                    let challenge = match response.status() {
                        StatusCode::UNAUTHORIZED => parse_challenge(
                            response
                                .headers()
                                .get(header::WWW_AUTHENTICATE)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or(""),
                        ),
                        _ => Challenge::None,
                    };
                    return Ok(Host { base, challenge });
                }
                Err(error) => {
                    first_error.get_or_insert_with(|| describe(&error));
                }
            }
        }
        let last_error = first_error.unwrap_or_else(|| "no answer".into());
        let hint = if last_error.contains("certificate") {
            "; if the registry uses a private CA, point SSL_CERT_FILE at its certificate (or pass --insecure-registry)"
        } else if plain_allowed {
            ""
        } else {
            " (plain HTTP is only tried for loopback names or with --insecure-registry)"
        };
        Err(RegistryError::Unreachable { registry: registry.to_owned(), message: format!("{last_error}{hint}") })
    }

    async fn credential(&self, registry: &str) -> Result<Credential, RegistryError> {
        let cell = self.credentials.lock().await.entry(registry.to_owned()).or_default().clone();
        cell.get_or_try_init(|| async {
            let keychain = self.options.keychain.clone();
            let name = registry.to_owned();
            tokio::task::spawn_blocking(move || keychain.resolve(&name))
                .await
                .map_err(|error| RegistryError::Config { path: "docker config".into(), message: error.to_string() })?
        })
        .await
        .cloned()
    }

    /// The `Authorization` header value for `scopes`, fetching a token when needed.
    async fn authorization(
        &self,
        registry: &str,
        host: &Host,
        scopes: &[Scope],
        refresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        // A registry that asks for no authentication never needs the credential (or its helper).
        match &host.challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(match self.credential(registry).await? {
                Credential::Basic { username, password } => {
                    Some(format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))))
                }
                Credential::RegistryToken(token) => Some(format!("Bearer {token}")),
                _ => None,
            }),
            Challenge::Bearer { realm, service } => {
                let mut scope_texts: Vec<String> = scopes.iter().map(Scope::text).collect();
                scope_texts.sort();
                let key = format!("{registry} {}", scope_texts.join(" "));
                let cell = {
                    let mut tokens = self.tokens.lock().await;
                    if refresh {
                        tokens.insert(key.clone(), Arc::default());
                    }
                    tokens.entry(key).or_default().clone()
                };
                let token = cell
                    .get_or_try_init(|| async {
                        let credential = self.credential(registry).await?;
                        self.fetch_token(registry, realm, service.as_deref(), &scope_texts, &credential).await
                    })
                    .await?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    async fn fetch_token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        credential: &Credential,
    ) -> Result<String, RegistryError> {
        let failure =
            |message: String| RegistryError::Token { registry: registry.to_owned(), realm: realm.to_owned(), message };
        let request = match credential {
            Credential::RegistryToken(token) => return Ok(token.clone()),
            Credential::IdentityToken(refresh) => {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("client_id", "rko".to_owned()),
                    ("refresh_token", refresh.clone()),
                ];
                if let Some(service) = service {
                    form.push(("service", service.to_owned()));
                }
                form.push(("scope", scopes.join(" ")));
                self.http.post(realm).form(&form)
            }
            Credential::Basic { username, password } => {
                self.token_get(realm, service, scopes).basic_auth(username, Some(password))
            }
            Credential::Anonymous => self.token_get(realm, service, scopes),
        };
        let response = request.send().await.map_err(|error| failure(describe(&error)))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let codes = RegistryCodes::parse(&response.bytes().await.unwrap_or_default());
            let repository =
                scopes.first().map_or(String::new(), |scope| scope.split(':').nth(1).unwrap_or("").to_owned());
            return Err(RegistryError::Unauthorized {
                registry: registry.to_owned(),
                repository,
                action: "access to".into(),
                status: status.as_u16(),
                codes,
            });
        }
        if !status.is_success() {
            return Err(failure(format!("HTTP {status}")));
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let body = response.bytes().await.map_err(|error| failure(describe(&error)))?;
        let reply: TokenReply =
            serde_json::from_slice(&body).map_err(|error| failure(format!("unreadable reply: {error}")))?;
        let token = if reply.token.is_empty() { reply.access_token } else { reply.token };
        if token.is_empty() {
            return Err(failure("the reply holds no token".into()));
        }
        Ok(token)
    }

    fn token_get(&self, realm: &str, service: Option<&str>, scopes: &[String]) -> RequestBuilder {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = service {
            query.push(("service", service));
        }
        for scope in scopes {
            query.push(("scope", scope));
        }
        self.http.get(realm).query(&query)
    }

    /// Ping `registry` and get the credentials and token for `scopes` ahead of time (while
    /// `go build` runs); failures are left for the real requests to report.
    pub async fn warm_up(&self, registry: &str, scopes: &[Scope]) {
        if let Ok(host) = self.host(registry).await {
            let _ = self.authorization(registry, &host, scopes, false).await;
        }
    }

    /// Check `username`/`password` against `registry` (as `docker login` does) without using or
    /// changing the keychain.
    pub async fn verify_credentials(
        &self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<(), RegistryError> {
        let host = self.host(registry).await?;
        let credential = Credential::Basic { username: username.to_owned(), password: password.to_owned() };
        let rejected = |status: u16, codes| RegistryError::LoginRejected {
            registry: registry.to_owned(),
            username: username.to_owned(),
            status,
            codes,
        };
        match &host.challenge {
            Challenge::None => Ok(()),
            Challenge::Bearer { realm, service } => {
                match self.fetch_token(registry, realm, service.as_deref(), &[], &credential).await {
                    Err(RegistryError::Unauthorized { status, codes, .. }) => Err(rejected(status, codes)),
                    other => other.map(|_| ()),
                }
            }
            Challenge::Basic => {
                let response = self
                    .http
                    .get(format!("{}/v2/", host.base))
                    .basic_auth(username, Some(password))
                    .send()
                    .await
                    .map_err(|error| RegistryError::Unreachable {
                        registry: registry.to_owned(),
                        message: describe(&error),
                    })?;
                match response.status() {
                    status if status.is_success() => Ok(()),
                    status => Err(rejected(
                        status.as_u16(),
                        RegistryCodes::parse(&response.bytes().await.unwrap_or_default()),
                    )),
                }
            }
        }
    }

    /// Send a request built by `make` (from the client and the registry's base URL, e.g.
    /// `https://ghcr.io`), authorized for `scopes`, retrying transient failures. The response
    /// may still be an error status; see [`Client::check`].
    pub async fn send(
        &self,
        registry: &str,
        scopes: &[Scope],
        make: impl Fn(&reqwest::Client, &str) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Response, RegistryError> {
        let host = self.host(registry).await?;
        let policy = &self.options.retry;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            let authorization = self.authorization(registry, &host, scopes, refreshed).await?;
            let mut request = make(&self.http, &host.base)?;
            if let Some(value) = &authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            let delay = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let bearer = matches!(host.challenge, Challenge::Bearer { .. });
                    if status == StatusCode::UNAUTHORIZED && bearer && !refreshed {
                        refreshed = true;
                        continue;
                    }
                    let retryable = matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
                    if !retryable || attempt + 1 >= policy.attempts {
                        return Ok(response);
                    }
                    retry_after(&response).unwrap_or_else(|| backoff(policy, attempt))
                }
                Err(error) => {
                    if !transient(&error) || attempt + 1 >= policy.attempts {
                        return Err(RegistryError::Unreachable {
                            registry: registry.to_owned(),
                            message: describe(&error),
                        });
                    }
                    backoff(policy, attempt)
                }
            };
            tokio::time::sleep(delay.min(policy.max_delay)).await;
            attempt += 1;
        }
    }
}

fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    policy.base_delay * 2u32.saturating_pow(attempt)
}

fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Parse `WWW-Authenticate: Bearer realm="…",service="…"` or `Basic realm="…"`.
fn parse_challenge(value: &str) -> Challenge {
    let (scheme, parameters) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Challenge::Basic;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::None;
    }
    let mut realm = None;
    let mut service = None;
    let mut rest = parameters;
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match key.as_str() {
            "realm" => realm = Some(value.to_owned()),
            "service" => service = Some(value.to_owned()),
            _ => {}
        }
        rest = remainder;
    }
    match realm {
        Some(realm) => Challenge::Bearer { realm, service },
        None => Challenge::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_root_once_and_names_a_bad_file() {
        let directory = tempfile::tempdir().unwrap();
        let bundle =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/base/ca-certificates.crt")).unwrap();
        let first = pem_blocks(&bundle).next().unwrap().to_owned();
        let bundle_path = directory.path().join("bundle.crt");
        std::fs::write(&bundle_path, &bundle).unwrap();
        let certs = directory.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        // The same certificate again, reformatted, and a symlink to the bundle.
        std::fs::write(certs.join("one.pem"), format!("comment\n{}\n", first.replace('\n', "\r\n"))).unwrap();
        std::os::unix::fs::symlink(&bundle_path, certs.join("link.0")).unwrap();
        let options = |files: Vec<PathBuf>, directories: Vec<PathBuf>| ClientOptions {
            root_files: files,
            root_directories: directories,
            ..ClientOptions::default()
        };
        let roots = trusted_roots(&options(vec![bundle_path.clone()], vec![certs.clone()])).unwrap();
        assert_eq!(roots.len(), pem_blocks(&bundle).count());
        assert!(roots.len() > 100);

        std::fs::write(certs.join("zz-bad.pem"), "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .unwrap();
        let error = trusted_roots(&options(vec![bundle_path], vec![certs.clone()])).unwrap_err().to_string();
        assert!(error.contains("zz-bad.pem"), "{error}");
        let error =
            trusted_roots(&options(Vec::new(), vec![directory.path().join("missing")])).unwrap_err().to_string();
        assert!(error.contains("SSL_CERT_DIR") && error.contains("missing"), "{error}");
    }

    #[test]
    fn parses_challenges() {
        let challenge = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#,
        );
        assert!(matches!(challenge, Challenge::Bearer { ref realm, ref service }
            if realm == "https://auth.example/token" && service.as_deref() == Some("registry.example")));
        assert!(matches!(parse_challenge(r#"Basic realm="rko-test""#), Challenge::Basic));
        assert!(matches!(parse_challenge(""), Challenge::None));
    }

    #[test]
    fn loopback_names() {
        for name in ["localhost:5000", "127.0.0.1:15000", "[::1]:5000", "registry.localhost"] {
            assert!(is_loopback(name), "{name}");
        }
        for name in ["ghcr.io", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!is_loopback(name), "{name}");
        }
    }
}
