//! The first request to each registry, once per run: `GET /v2/` over HTTPS, then over plain
//! HTTP for loopback names or `--insecure-registry` when the HTTPS attempt found no TLS server.
//! Its answer tells the scheme and the authentication challenge; any other answer is reported
//! as the registry gave it (status and error body), 408/429/5xx and transport failures after
//! retries. A server that speaks TLS but is refused (a certificate) is never retried in plain
//! HTTP, so its certificate error is what the user sees.

use std::time::Duration;

use reqwest::{StatusCode, header};

use super::client::{Challenge, Client, Host, backoff, retry_after, retryable};
use super::error::{RegistryCodes, RegistryError};
use super::transport::{self, Failure, Tls};

/// A registry's answer to `GET /v2/`.
struct Answer {
    base: String,
    status: StatusCode,
    challenge: Challenge,
    retry_after: Option<Duration>,
    /// The body of an error answer.
    body: Vec<u8>,
}

enum Probe {
    Answer(Answer),
    Failed { message: String, transient: bool, timed_out: bool },
}

pub(super) fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.ends_with(".localhost") || host == "::1" || host.starts_with("127.")
}

impl Client {
    pub(super) async fn host(&self, registry: &str) -> Result<Host, RegistryError> {
        let cell = self.hosts.lock().await.entry(registry.to_owned()).or_default().clone();
        cell.get_or_init(|| self.ping(registry)).await.clone()
    }

    async fn ping(&self, registry: &str) -> Result<Host, RegistryError> {
        let plain_allowed = self.options.insecure || is_loopback(registry);
        let policy = &self.options.retry;
        let mut attempt = 0;
        loop {
            let attempts = attempt + 1;
            let (error, delay) = match self.probe(registry, plain_allowed).await {
                Probe::Answer(answer) => {
                    let codes = RegistryCodes::parse(&answer.body);
                    let url = format!("{}/v2/", answer.base);
                    let registry = registry.to_owned();
                    match answer.status {
                        StatusCode::UNAUTHORIZED => return Ok(Host::new(answer.base, answer.challenge)),
                        status if status.is_success() => return Ok(Host::new(answer.base, Challenge::None)),
                        status if retryable(status) => {
                            let request = format!("GET {url}");
                            let error = RegistryError::Unavailable {
                                registry,
                                request,
                                status: status.as_u16(),
                                codes,
                                attempts,
                            };
                            (error, answer.retry_after.unwrap_or_else(|| backoff(policy, attempt)))
                        }
                        StatusCode::NOT_FOUND => {
                            return Err(RegistryError::NoApi { registry, url, status: 404, codes });
                        }
                        status => {
                            let what = format!("`GET {url}`");
                            return Err(RegistryError::Refused { registry, what, status: status.as_u16(), codes });
                        }
                    }
                }
                Probe::Failed { message, transient, timed_out } => {
                    let suffix = transport::suffix(timed_out, attempts);
                    let error =
                        RegistryError::Unreachable { registry: registry.to_owned(), message: message + &suffix };
                    if !transient {
                        return Err(error);
                    }
                    (error, backoff(policy, attempt))
                }
            };
            if attempts >= policy.attempts {
                return Err(error);
            }
            tokio::time::sleep(delay.min(policy.max_delay)).await;
            attempt += 1;
        }
    }

    async fn probe(&self, registry: &str, plain_allowed: bool) -> Probe {
        let timeout = self.options.retry.timeout;
        let secure = match self.root(&format!("https://{registry}")).await {
            Ok(answer) => return Probe::Answer(answer),
            Err(failure) => failure,
        };
        let tls = secure.tls();
        let failed = |failure: &Failure, hint: &str| Probe::Failed {
            message: format!("{}{hint}", failure.describe(timeout)),
            transient: failure.transient(),
            timed_out: failure.timed_out(),
        };
        if !plain_allowed || matches!(tls, Tls::Refused { .. }) {
            let hint = match tls {
                Tls::Refused { certificate: true } => {
                    "; if the registry uses a private CA or a self-signed certificate, point SSL_CERT_FILE at it (or pass --insecure-registry)"
                }
                _ if !plain_allowed => " (plain HTTP is only tried for loopback names or with --insecure-registry)",
                _ => "",
            };
            return failed(&secure, hint);
        }
        match self.root(&format!("http://{registry}")).await {
            // A TLS port says so to a plain HTTP client: the HTTPS failure is the one to report.
            Ok(answer)
                if answer.status == StatusCode::BAD_REQUEST
                    && String::from_utf8_lossy(&answer.body).contains("HTTPS server") =>
            {
                failed(&secure, "")
            }
            Ok(answer) => Probe::Answer(answer),
            Err(plain) => {
                let (over_https, over_http) = (secure.describe(timeout), plain.describe(timeout));
                // A server that answered HTTPS with something else than TLS is a plain one.
                let message = if over_https == over_http || tls == Tls::Plain {
                    over_http
                } else {
                    format!("over HTTPS: {over_https}; over HTTP: {over_http}")
                };
                Probe::Failed { message, transient: plain.transient(), timed_out: plain.timed_out() }
            }
        }
    }

    /// `GET <base>/v2/`, with the body of an error answer.
    async fn root(&self, base: &str) -> Result<Answer, Failure> {
        let timeout = self.options.retry.timeout;
        let request = self.http.get(format!("{base}/v2/")).build().map_err(Failure::Transport)?;
        let response = transport::send(&self.http, request, timeout).await?;
        let status = response.status();
        let challenge = match status {
            StatusCode::UNAUTHORIZED => parse_challenge(
                response.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or(""),
            ),
            _ => Challenge::None,
        };
        let retry_after = retry_after(&response);
        let body = if status.is_success() { Vec::new() } else { transport::error_body(response, timeout).await };
        Ok(Answer { base: base.to_owned(), status, challenge, retry_after, body })
    }
}

/// Parse `WWW-Authenticate: Bearer realm="…",service="…"` or `Basic realm="…"`.
pub(super) fn parse_challenge(value: &str) -> Challenge {
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
