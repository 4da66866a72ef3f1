//! OIDC identity tokens for keyless signing: where one comes from (a flag, GitHub Actions'
//! token service, GitLab's `SIGSTORE_ID_TOKEN`, Buildkite's agent, CircleCI's variable), and
//! its claims, read without verifying the JWT (Fulcio does that). The environment arrives as a
//! map from the CLI; this module never reads the process environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::error::SignError;
use crate::env;
use crate::image::gotime::Time;

/// The audience Fulcio expects.
pub const AUDIENCE: &str = "sigstore";

/// Where the token comes from: decided once per run, fetched when signing starts.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--identity-token TOKEN|FILE` (the file read when the source is made).
    Given { token: String, origin: String },
    /// GitHub Actions: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore` with the bearer.
    GitHub { url: String, bearer: String },
    /// GitLab CI `id_tokens:` → `SIGSTORE_ID_TOKEN`, CircleCI `CIRCLE_OIDC_TOKEN_V2`.
    Variable { name: &'static str, token: String },
    /// Buildkite: `buildkite-agent oidc request-token --audience sigstore`.
    Buildkite,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.origin())
    }
}

impl TokenSource {
    /// The source a run uses: the flag's value (a file path or the JWT itself), else the CI's
    /// ambient token. `environment` is the process environment as the CLI captured it.
    pub fn discover(flag: Option<&str>, environment: &BTreeMap<String, String>) -> Result<TokenSource, SignError> {
        let get = |name: &str| environment.get(name).map(String::as_str).filter(|value| !value.is_empty());
        if let Some(value) = flag.map(str::trim).filter(|value| !value.is_empty()) {
            let path = Path::new(value);
            if value.split('.').count() == 3 && !path.exists() {
                return Ok(TokenSource::Given {
                    token: value.to_owned(),
                    origin: "given with --identity-token".into(),
                });
            }
            let text = std::fs::read_to_string(path).map_err(|error| SignError::File {
                path: value.to_owned(),
                what: "identity token file",
                message: error.to_string(),
            })?;
            return Ok(TokenSource::Given {
                token: text.trim().to_owned(),
                origin: format!("in `{value}` (--identity-token)"),
            });
        }
        if let (Some(url), Some(bearer)) =
            (get(env::ACTIONS_ID_TOKEN_REQUEST_URL), get(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN))
        {
            return Ok(TokenSource::GitHub { url: url.to_owned(), bearer: bearer.to_owned() });
        }
        for name in [env::SIGSTORE_ID_TOKEN, env::CIRCLE_OIDC_TOKEN_V2] {
            if let Some(token) = get(name) {
                return Ok(TokenSource::Variable { name, token: token.trim().to_owned() });
            }
        }
        if get(env::BUILDKITE).is_some() && get(env::BUILDKITE_AGENT_ACCESS_TOKEN).is_some() {
            return Ok(TokenSource::Buildkite);
        }
        let hint = if get(env::GITHUB_ACTIONS) == Some("true") {
            "this GitHub Actions job cannot request one: add `permissions: id-token: write` to the job (pull requests from forks never get it), or sign with --key"
        } else if get(env::GITLAB_CI).is_some() {
            "add `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` to the GitLab job, or sign with --key"
        } else if get(env::CIRCLECI).is_some() {
            "CircleCI sets `CIRCLE_OIDC_TOKEN_V2` only in jobs with a context; or sign with --key"
        } else {
            "pass --identity-token TOKEN|FILE, run in CI with OIDC enabled (GitHub: `permissions: id-token: write`; GitLab: `id_tokens: SIGSTORE_ID_TOKEN`), or sign with --key"
        };
        Err(SignError::NoToken { hint: hint.into() })
    }

    /// Where the token comes from, for messages.
    pub fn origin(&self) -> String {
        match self {
            TokenSource::Given { origin, .. } => origin.clone(),
            TokenSource::GitHub { .. } => "from GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL)".into(),
            TokenSource::Variable { name, .. } => format!("in `{name}`"),
            TokenSource::Buildkite => "from `buildkite-agent oidc request-token`".into(),
        }
    }

    /// Get the token (asking the CI's service when needed) and check that it has not expired.
    pub async fn fetch(&self, http: &reqwest::Client) -> Result<IdentityToken, SignError> {
        let origin = self.origin();
        let failure = |message: String| SignError::TokenRequest { origin: origin.clone(), message };
        let jwt = match self {
            TokenSource::Given { token, .. } | TokenSource::Variable { token, .. } => token.clone(),
            TokenSource::GitHub { url, bearer } => {
                let separator = if url.contains('?') { '&' } else { '?' };
                let mut last = String::new();
                let mut answer = None;
                for attempt in 0..3u32 {
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                    }
                    let request = http.get(format!("{url}{separator}audience={AUDIENCE}")).bearer_auth(bearer);
                    match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            answer = Some(response.bytes().await.map_err(|error| failure(error.to_string()))?);
                            break;
                        }
                        Ok(response) if response.status().is_server_error() => {
                            last = format!("HTTP {}", response.status());
                        }
                        Ok(response) => {
                            return Err(failure(format!(
                                "HTTP {} (does the job have `permissions: id-token: write`?)",
                                response.status()
                            )));
                        }
                        Err(error) => last = super::http::describe(&error),
                    }
                }
                let body = answer.ok_or_else(|| failure(last))?;
                #[derive(Deserialize)]
                struct Reply {
                    value: String,
                }
                serde_json::from_slice::<Reply>(&body)
                    .map_err(|error| failure(format!("unreadable answer: {error}")))?
                    .value
            }
            TokenSource::Buildkite => {
                let output = tokio::process::Command::new("buildkite-agent")
                    .args(["oidc", "request-token", "--audience", AUDIENCE])
                    .output()
                    .await
                    .map_err(|error| failure(error.to_string()))?;
                if !output.status.success() {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    return Err(failure(stderr.lines().last().unwrap_or("failed").to_owned()));
                }
                String::from_utf8_lossy(&output.stdout).trim().to_owned()
            }
        };
        let token = IdentityToken::parse(&jwt, &origin)?;
        token.check_fresh(&origin, now())?;
        Ok(token)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// A JWT and the claims signing needs.
#[derive(Clone)]
pub struct IdentityToken {
    pub jwt: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub expires: i64,
}

impl std::fmt::Debug for IdentityToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "IdentityToken({} {})", self.issuer, self.subject)
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    aud: serde_json::Value,
}

impl IdentityToken {
    pub fn parse(jwt: &str, origin: &str) -> Result<IdentityToken, SignError> {
        let bad = |message: &str| SignError::BadToken { origin: origin.to_owned(), message: message.to_owned() };
        let jwt = jwt.trim();
        let mut parts = jwt.split('.');
        let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad("it is not a JWT (three base64url parts separated by dots)"));
        };
        let bytes =
            URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| bad("its claims are not base64url"))?;
        let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| bad("its claims are not JSON"))?;
        if claims.iss.is_empty() {
            return Err(bad("it has no `iss` claim"));
        }
        if claims.sub.is_empty() && claims.email.is_none() {
            return Err(bad("it has neither a `sub` nor an `email` claim"));
        }
        let audience_ok = match &claims.aud {
            serde_json::Value::String(audience) => audience == AUDIENCE,
            serde_json::Value::Array(list) => list.iter().any(|value| value.as_str() == Some(AUDIENCE)),
            _ => false,
        };
        if !audience_ok {
            return Err(bad(&format!("its audience is {} (Fulcio needs `{AUDIENCE}`)", claims.aud)));
        }
        Ok(IdentityToken {
            jwt: jwt.to_owned(),
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email,
            expires: claims.exp.ok_or_else(|| bad("it has no `exp` claim"))?,
        })
    }

    /// Refuse a token that has expired (or expires within the next few seconds).
    pub fn check_fresh(&self, origin: &str, now: i64) -> Result<(), SignError> {
        if self.expires <= now + 5 {
            return Err(SignError::ExpiredToken {
                origin: origin.to_owned(),
                exp: self.expires,
                expired: Time::from_unix(self.expires).to_string(),
                now,
            });
        }
        Ok(())
    }

    /// What proof of possession signs: the e-mail for e-mail identities, else `sub`.
    pub fn challenge(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!("eyJhbGciOiJFUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn claims_and_expiry() {
        let token = IdentityToken::parse(
            &jwt(r#"{"iss":"https://issuer","sub":"repo:a/b","aud":["sigstore"],"exp":100}"#),
            "in a test",
        )
        .unwrap();
        assert_eq!(token.challenge(), "repo:a/b");
        assert!(token.check_fresh("in a test", 50).is_ok());
        let error = token.check_fresh("in a test", 100).unwrap_err().to_string();
        assert!(error.contains("`exp` 100") && error.contains("1970-01-01T00:01:40Z"), "{error}");
        let error = IdentityToken::parse(&jwt(r#"{"iss":"i","sub":"s","aud":"other","exp":1}"#), "x").unwrap_err();
        assert!(error.to_string().contains("audience"), "{error}");
        assert!(IdentityToken::parse("not-a-jwt", "x").is_err());
    }

    #[test]
    fn discovery_order_and_hints() {
        let environment = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
        };
        let github = environment(&[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://x/token?a=b"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "secret"),
            ("SIGSTORE_ID_TOKEN", "a.b.c"),
        ]);
        assert!(matches!(TokenSource::discover(None, &github).unwrap(), TokenSource::GitHub { .. }));
        assert!(matches!(TokenSource::discover(Some("a.b.c"), &github).unwrap(), TokenSource::Given { .. }));
        let gitlab = environment(&[("SIGSTORE_ID_TOKEN", "a.b.c")]);
        assert!(matches!(
            TokenSource::discover(None, &gitlab).unwrap(),
            TokenSource::Variable { name: "SIGSTORE_ID_TOKEN", .. }
        ));
        let circle = environment(&[("CIRCLECI", "true"), ("CIRCLE_OIDC_TOKEN_V2", "a.b.c")]);
        assert!(matches!(
            TokenSource::discover(None, &circle).unwrap(),
            TokenSource::Variable { name: "CIRCLE_OIDC_TOKEN_V2", .. }
        ));
        let buildkite = environment(&[("BUILDKITE", "true"), ("BUILDKITE_AGENT_ACCESS_TOKEN", "t")]);
        assert_eq!(TokenSource::discover(None, &buildkite).unwrap(), TokenSource::Buildkite);
        let error = TokenSource::discover(None, &environment(&[("GITLAB_CI", "true")])).unwrap_err();
        assert!(error.to_string().contains("id_tokens"), "{error}");
        let error = TokenSource::discover(None, &environment(&[("GITHUB_ACTIONS", "true")])).unwrap_err();
        assert!(error.to_string().contains("permissions: id-token: write"), "{error}");
        assert!(!format!("{:?}", TokenSource::discover(None, &github).unwrap()).contains("secret"));
    }
}
