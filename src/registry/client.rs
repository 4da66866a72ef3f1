//! The registry HTTP client: one connection pool and one token cache per run. It pings each
//! registry once (see `ping`), answers `Basic` and `Bearer` challenges with the keychain's
//! credentials, and retries 408/429/5xx, dropped connections and stalls with backoff,
//! honouring `Retry-After`. Authentication failures are never retried.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{RequestBuilder, Response, StatusCode, header};
use tokio::sync::{Mutex, OnceCell};

use super::auth::{Credential, Keychain, Lookup};
use super::error::{RegistryCodes, RegistryError};
use super::tls::{self, Roots};
use super::transport::{self, Failure};

/// How hard to retry transient failures, and how long a stalled exchange may wait.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A request fails when nothing moves for this long: no request body taken and no answer,
    /// or no answer bytes (`RKO_REGISTRY_TIMEOUT`).
    pub timeout: Duration,
}

/// The stall timeout when `RKO_REGISTRY_TIMEOUT` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// `--insecure-registry`: plain HTTP and unverified TLS for every registry.
    pub insecure: bool,
    /// Trust the system's CA bundle (the first of [`tls::SYSTEM_BUNDLES`] that exists).
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
pub(super) enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: Option<String> },
}

/// A registry as its ping found it. The challenge may change when a later request asks for
/// authentication the ping did not (shared by every clone).
#[derive(Clone, Debug)]
pub(super) struct Host {
    pub base: String,
    challenge: Arc<std::sync::Mutex<Challenge>>,
}

impl Host {
    pub fn new(base: String, challenge: Challenge) -> Host {
        Host { base, challenge: Arc::new(std::sync::Mutex::new(challenge)) }
    }

    fn challenge(&self) -> Challenge {
        self.challenge.lock().map_or(Challenge::None, |challenge| challenge.clone())
    }

    fn adopt(&self, challenge: Challenge) {
        if let Ok(mut current) = self.challenge.lock() {
            *current = challenge;
        }
    }
}

/// What [`Client::send`] attaches to the answer it returns, for [`super::api::check`].
#[derive(Clone, Debug)]
pub(super) struct Delivery {
    /// `PUT /v2/app/manifests/latest`.
    pub request: String,
    pub attempts: u32,
    /// Where credentials were looked for, when the request carried none and was refused.
    pub anonymous: Option<String>,
    pub timeout: Duration,
}

/// The outcome of pinging a registry.
pub(super) type Ping = Result<Host, RegistryError>;

pub struct Client {
    pub(super) http: reqwest::Client,
    pub(super) options: ClientOptions,
    /// Each registry's ping, once per run (a failure too: every request would repeat it).
    pub(super) hosts: Mutex<HashMap<String, Arc<OnceCell<Ping>>>>,
    /// Per registry, looked up once (a credential helper runs once per run, not per request).
    credentials: Mutex<HashMap<String, Arc<OnceCell<Lookup>>>>,
    /// One token per (registry, scopes), fetched once even by concurrent requests.
    tokens: Mutex<HashMap<String, Arc<OnceCell<String>>>>,
}

/// Whether an answer with `status` is worth another attempt.
pub(super) fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, RegistryError> {
        // The roots are loaded from files rko names, each certificate once (the native-certs
        // loader would also parse every file of /etc/ssl/certs: hundreds of duplicates).
        let roots = Roots {
            system: options.system_roots,
            files: options.root_files.clone(),
            directories: options.root_directories.clone(),
        };
        let timeout = options.retry.timeout;
        let http = reqwest::Client::builder()
            .user_agent(concat!("rko/", env!("CARGO_PKG_VERSION")))
            .use_preconfigured_tls(tls::client_config(&roots, options.insecure)?)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| RegistryError::Certificate {
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

    async fn credential(&self, registry: &str) -> Result<Lookup, RegistryError> {
        let cell = self.credentials.lock().await.entry(registry.to_owned()).or_default().clone();
        cell.get_or_try_init(|| async {
            let keychain = self.options.keychain.clone();
            let name = registry.to_owned();
            tokio::task::spawn_blocking(move || keychain.lookup(&name))
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
        challenge: &Challenge,
        scopes: &[Scope],
        refresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        // A registry that asks for no authentication never needs the credential (or its helper).
        match challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(match self.credential(registry).await?.credential {
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
                        let lookup = self.credential(registry).await?;
                        self.fetch_token(registry, realm, service.as_deref(), &scope_texts, &lookup).await
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
        lookup: &Lookup,
    ) -> Result<String, RegistryError> {
        let failure =
            |message: String| RegistryError::Token { registry: registry.to_owned(), realm: realm.to_owned(), message };
        let request = match &lookup.credential {
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
        let (response, attempts, _) = self
            .exchange(registry, || {
                request.try_clone().ok_or_else(|| failure("the token request cannot be repeated".into()))
            })
            .await
            .map_err(|(error, attempts)| match error {
                Exchange::Failed(failed) => failure(format!(
                    "{}{}",
                    failed.describe(self.options.retry.timeout),
                    transport::suffix(failed.timed_out(), attempts)
                )),
                Exchange::Invalid(error) => error,
            })?;
        let status = response.status();
        if !status.is_success() {
            let codes = RegistryCodes::parse(&transport::error_body(response, self.options.retry.timeout).await);
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                let repository =
                    scopes.first().map_or(String::new(), |scope| scope.split(':').nth(1).unwrap_or("").to_owned());
                let (registry, action, status) = (registry.to_owned(), "access to".to_owned(), status.as_u16());
                return Err(if lookup.credential == Credential::Anonymous {
                    RegistryError::NoCredentials {
                        registry,
                        repository,
                        action,
                        status,
                        codes,
                        searched: lookup.searched.clone(),
                    }
                } else {
                    RegistryError::Unauthorized { registry, repository, action, status, codes }
                });
            }
            let codes = if codes.0.is_empty() { String::new() } else { format!(" {codes}") };
            let retried = if attempts > 1 { format!(" on all {attempts} attempts") } else { String::new() };
            return Err(failure(format!("it answered {}{codes}{retried}", status.as_u16())));
        }
        #[derive(serde::Deserialize)]
        struct TokenReply {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let timeout = self.options.retry.timeout;
        let body = transport::read(response, timeout, 1 << 20)
            .await
            .map_err(|error| failure(error.map_or("the reply is larger than 1 MiB".into(), |f| f.describe(timeout))))?;
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
            let _ = self.authorization(registry, &host.challenge(), scopes, false).await;
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
        match host.challenge() {
            Challenge::None => Ok(()),
            Challenge::Bearer { realm, service } => {
                let lookup = Lookup { credential, searched: String::new() };
                match self.fetch_token(registry, &realm, service.as_deref(), &[], &lookup).await {
                    Err(RegistryError::Unauthorized { status, codes, .. }) => Err(rejected(status, codes)),
                    other => other.map(|_| ()),
                }
            }
            Challenge::Basic => {
                let request = self.http.get(format!("{}/v2/", host.base)).basic_auth(username, Some(password));
                let (response, _, _) = self
                    .exchange(registry, || request.try_clone().ok_or_else(|| unrepeatable(registry)))
                    .await
                    .map_err(|(error, attempts)| self.exchange_error(registry, error, attempts))?;
                match response.status() {
                    status if status.is_success() => Ok(()),
                    status => Err(rejected(
                        status.as_u16(),
                        RegistryCodes::parse(&transport::error_body(response, self.options.retry.timeout).await),
                    )),
                }
            }
        }
    }

    /// Send the request `make` gives (once per attempt), retrying transport failures, stalls
    /// and 408/429/5xx answers. Returns the last answer, the number of attempts and the request
    /// line (`PUT /v2/app/manifests/latest`).
    async fn exchange(
        &self,
        registry: &str,
        make: impl Fn() -> Result<RequestBuilder, RegistryError>,
    ) -> Result<(Response, u32, String), (Exchange, u32)> {
        let policy = &self.options.retry;
        let mut attempt = 0;
        loop {
            let request = make()
                .and_then(|builder| {
                    builder.build().map_err(|error| RegistryError::Protocol {
                        registry: registry.to_owned(),
                        what: "a request".into(),
                        message: error.to_string(),
                    })
                })
                .map_err(|error| (Exchange::Invalid(error), attempt + 1))?;
            let line = format!("{} {}", request.method(), request.url().path());
            let last = attempt + 1 >= policy.attempts;
            let delay = match transport::send(&self.http, request, policy.timeout).await {
                Ok(response) if last || !retryable(response.status()) => return Ok((response, attempt + 1, line)),
                Ok(response) => retry_after(&response).unwrap_or_else(|| backoff(policy, attempt)),
                Err(failure) if last || !failure.transient() => return Err((Exchange::Failed(failure), attempt + 1)),
                Err(_) => backoff(policy, attempt),
            };
            tokio::time::sleep(delay.min(policy.max_delay)).await;
            attempt += 1;
        }
    }

    fn exchange_error(&self, registry: &str, error: Exchange, attempts: u32) -> RegistryError {
        match error {
            Exchange::Failed(failure) => RegistryError::Unreachable {
                registry: registry.to_owned(),
                message: format!(
                    "{}{}",
                    failure.describe(self.options.retry.timeout),
                    transport::suffix(failure.timed_out(), attempts)
                ),
            },
            Exchange::Invalid(error) => error,
        }
    }

    /// Send a request built by `make` (from the client and the registry's base URL, e.g.
    /// `https://ghcr.io`), authorized for `scopes`, retrying transient failures. The response
    /// may still be an error status; see [`super::api::check`].
    pub async fn send(
        &self,
        registry: &str,
        scopes: &[Scope],
        make: impl Fn(&reqwest::Client, &str) -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Response, RegistryError> {
        let host = self.host(registry).await?;
        let (mut refreshed, mut adopted) = (false, false);
        loop {
            let challenge = host.challenge();
            let authorization = self.authorization(registry, &challenge, scopes, refreshed).await?;
            let (mut response, attempts, request) = self
                .exchange(registry, || {
                    let mut request = make(&self.http, &host.base)?;
                    if let Some(value) = &authorization {
                        request = request.header(header::AUTHORIZATION, value);
                    }
                    Ok(request)
                })
                .await
                .map_err(|(error, attempts)| self.exchange_error(registry, error, attempts))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                // A registry may ask for authentication only here (its ping needed none), or
                // a token may have expired.
                let offered = response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|value| value.to_str().ok())
                    .map(super::ping::parse_challenge);
                if let Some(offered) = offered
                    && !adopted
                    && std::mem::discriminant(&offered) != std::mem::discriminant(&challenge)
                    && !matches!(offered, Challenge::None)
                {
                    host.adopt(offered);
                    adopted = true;
                    continue;
                }
                if matches!(challenge, Challenge::Bearer { .. }) && !refreshed {
                    refreshed = true;
                    continue;
                }
            }
            // Refused without credentials by a registry that asks for them (a 403 from one that
            // asks for none is its policy, not a missing login).
            let asks = status == StatusCode::UNAUTHORIZED || !matches!(host.challenge(), Challenge::None);
            let anonymous = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if asks => {
                    let lookup = self.credential(registry).await?;
                    (lookup.credential == Credential::Anonymous).then_some(lookup.searched)
                }
                _ => None,
            };
            response.extensions_mut().insert(Delivery {
                request,
                attempts,
                anonymous,
                timeout: self.options.retry.timeout,
            });
            return Ok(response);
        }
    }
}

/// Why [`Client::exchange`] gave up.
enum Exchange {
    Failed(Failure),
    /// The request could not be built.
    Invalid(RegistryError),
}

fn unrepeatable(registry: &str) -> RegistryError {
    RegistryError::Protocol {
        registry: registry.to_owned(),
        what: "a request".into(),
        message: "its body cannot be sent twice".into(),
    }
}

pub(super) fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    policy.base_delay * 2u32.saturating_pow(attempt)
}

pub(super) fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
