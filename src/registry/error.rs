//! Registry errors: typed, with the registry and repository named, the registry's own error code
//! when it sent one, and a hint where the user can act. Credentials never appear here.

use std::fmt;

/// An error code and message from a registry's JSON error body (`{"errors":[...]}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryCodes(pub Vec<(String, String)>);

impl RegistryCodes {
    /// The `errors` of a JSON body, else the first line of a short text body (`404 page not
    /// found`), else nothing.
    pub fn parse(body: &[u8]) -> RegistryCodes {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            errors: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(body) => RegistryCodes(body.errors.into_iter().map(|e| (e.code, e.message)).collect()),
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let line = text.trim().lines().next().unwrap_or("").trim();
                let printable = line.chars().all(|c| !c.is_control());
                if line.is_empty() || line.starts_with(['<', '{', '[']) || !printable {
                    RegistryCodes(Vec::new())
                } else {
                    RegistryCodes(vec![(line.chars().take(200).collect(), String::new())])
                }
            }
        }
    }
}

impl fmt::Display for RegistryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (code, message)) in self.0.iter().enumerate() {
            let separator = if index == 0 { "" } else { "; " };
            if message.is_empty() {
                write!(f, "{separator}{code}")?
            } else {
                write!(f, "{separator}{code}: {message}")?
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry `{registry}`: {message}")]
    Unreachable { registry: String, message: String },
    #[error("registry `{registry}` rejected the credentials for {action} `{repository}` ({status}{}); check the user and password, or run `rko login {registry}` (credentials come from DOCKER_CONFIG)", codes_suffix(.codes))]
    Unauthorized { registry: String, repository: String, action: String, status: u16, codes: RegistryCodes },
    #[error("registry `{registry}` rejected the password of user `{username}` ({status}{}); check the user name and password", codes_suffix(.codes))]
    LoginRejected { registry: String, username: String, status: u16, codes: RegistryCodes },
    #[error("registry `{registry}` denied {action} `{repository}` ({status}{}); the credentials lack permission (on GitHub Actions: `permissions: packages: write`)", codes_suffix(.codes))]
    Denied { registry: String, repository: String, action: String, status: u16, codes: RegistryCodes },
    #[error("`{reference}` was not found in registry `{registry}` ({status}{})", codes_suffix(.codes))]
    NotFound { registry: String, reference: String, status: u16, codes: RegistryCodes },
    #[error("registry `{registry}` refused {what} ({status}{})", codes_suffix(.codes))]
    Refused { registry: String, what: String, status: u16, codes: RegistryCodes },
    #[error("registry `{registry}` sent an invalid response for {what}: {message}")]
    Protocol { registry: String, what: String, message: String },
    #[error("cannot get a token for `{registry}` from `{realm}`: {message}")]
    Token { registry: String, realm: String, message: String },
    #[error("credential helper `docker-credential-{helper}` failed for `{registry}`: {message}")]
    Helper { helper: String, registry: String, message: String },
    #[error("cannot read docker config `{path}`: {message}")]
    Config { path: String, message: String },
    #[error("cannot read `{path}`: {message}")]
    Io { path: String, message: String },
    #[error("invalid TLS certificate in `{path}`: {message}")]
    Certificate { path: String, message: String },
    #[error("registry `{registry}` asks for credentials for {action} `{repository}` ({status}{}), and rko found no credentials for it: {searched}; run `rko login {registry} -u USER --password-stdin`, point DOCKER_CONFIG at a directory whose config.json has them, or set a credential helper (`credHelpers` in config.json)", codes_suffix(.codes))]
    NoCredentials {
        registry: String,
        repository: String,
        action: String,
        status: u16,
        codes: RegistryCodes,
        /// Where rko looked (`/home/me/.docker/config.json has no entry for ...`).
        searched: String,
    },
    #[error("registry `{registry}` answered `{request}` with {status}{} on all {attempts} attempts; the registry is down, overloaded or rate-limiting: retry later", codes_suffix(.codes))]
    Unavailable { registry: String, request: String, status: u16, codes: RegistryCodes, attempts: u32 },
    #[error("registry `{registry}` answered `GET {url}` with {status}{}: there is no registry API there; check the registry host in the image name", codes_suffix(.codes))]
    NoApi { registry: String, url: String, status: u16, codes: RegistryCodes },
    #[error("registry `{registry}` stopped sending {what}: {message}")]
    Interrupted { registry: String, what: String, message: String },
}

/// What kind of failure an error is, so callers (exit codes, CI annotations, retries) can react
/// without reading messages. Errors that wrap a registry error pass its kind on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Credentials are missing, rejected or cannot be obtained (401, token and helper failures).
    Auth,
    /// The credentials work but lack permission (403).
    Denied,
    /// What was asked for does not exist (404, an image missing from the daemon).
    NotFound,
    /// Worth retrying later: unreachable hosts, dropped connections, 408, 429 and 5xx.
    Transient,
    /// Bad input or a bad answer: a malformed reference, manifest, archive or response.
    Invalid,
    /// A failure on this machine: files, the cache, certificates, docker config.
    Local,
}

impl ErrorKind {
    /// The kind an HTTP status means, when it is an error.
    pub fn of_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Auth,
            403 => ErrorKind::Denied,
            404 => ErrorKind::NotFound,
            408 | 429 | 500..=599 => ErrorKind::Transient,
            _ => ErrorKind::Invalid,
        }
    }
}

impl RegistryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Unreachable { .. }
            | RegistryError::Unavailable { .. }
            | RegistryError::Interrupted { .. } => ErrorKind::Transient,
            RegistryError::Unauthorized { .. }
            | RegistryError::LoginRejected { .. }
            | RegistryError::NoCredentials { .. }
            | RegistryError::Token { .. }
            | RegistryError::Helper { .. } => ErrorKind::Auth,
            RegistryError::Denied { .. } => ErrorKind::Denied,
            RegistryError::NotFound { .. } => ErrorKind::NotFound,
            RegistryError::Refused { status, .. } => ErrorKind::of_status(*status),
            RegistryError::Protocol { .. } | RegistryError::NoApi { .. } => ErrorKind::Invalid,
            RegistryError::Config { .. } | RegistryError::Io { .. } | RegistryError::Certificate { .. } => {
                ErrorKind::Local
            }
        }
    }
}

fn codes_suffix(codes: &RegistryCodes) -> String {
    if codes.0.is_empty() { String::new() } else { format!(" {codes}") }
}
