//! Requests to Fulcio and Rekor: JSON bodies, retried on 408/429/5xx and dropped
//! connections with exponential backoff (honouring `Retry-After`) until a deadline, then one
//! error naming the service, its URL and the last failure.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, header};

use super::error::SignError;

/// One answer: status, headers we read, body.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// The root cause of a transport error, without the URL.
pub fn describe(error: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = error;
    while let Some(inner) = root.source() {
        root = inner;
    }
    let message = root.to_string();
    if error.is_timeout() { format!("timed out ({message})") } else { message }
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Send what `make` builds until it gets a non-retryable answer or `timeout` has passed.
pub async fn send(
    service: &'static str,
    url: &str,
    timeout: Duration,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Answer, SignError> {
    let started = Instant::now();
    let mut attempts = 0u32;
    let mut delay = Duration::from_millis(250);
    loop {
        attempts += 1;
        let remaining = timeout.saturating_sub(started.elapsed());
        let (last, wait) = match make().timeout(remaining.max(Duration::from_millis(100))).send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let location =
                    response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
                let body = match response.bytes().await {
                    Ok(bytes) => Some(bytes.to_vec()),
                    Err(_) if retryable(status) => None,
                    Err(error) => {
                        return Err(SignError::Protocol { service, url: url.to_owned(), message: describe(&error) });
                    }
                };
                match body {
                    Some(body) if !retryable(status) => return Ok(Answer { status, location, body }),
                    _ => (format!("HTTP {status}"), retry_after),
                }
            }
            Err(error) if error.is_builder() => {
                return Err(SignError::Protocol { service, url: url.to_owned(), message: describe(&error) });
            }
            Err(error) => (describe(&error), None),
        };
        let wait = wait.unwrap_or(delay);
        if started.elapsed() + wait >= timeout {
            return Err(SignError::Unavailable {
                service,
                url: url.to_owned(),
                seconds: timeout.as_secs().max(1),
                attempts,
                message: last,
            });
        }
        tokio::time::sleep(wait).await;
        delay = (delay * 2).min(Duration::from_secs(20));
    }
}

/// An answer's body as text for an error message (short, one line).
pub fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 { format!("{}…", line.chars().take(200).collect::<String>()) } else { line }
}
