//! Under the registry client: one HTTP exchange with a stall timeout, answer bodies read with
//! the same timeout per chunk, and what a transport failure means (retry it? did the server
//! speak TLS? what to tell the user). A stall is "no progress for the timeout": no request body
//! taken and no answer, or no answer bytes, so a long upload that keeps moving never times out.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use hyper::body::{Frame, SizeHint};
use reqwest::Response;

/// Why an exchange failed before an answer arrived, or while its body was read.
#[derive(Debug)]
pub enum Failure {
    /// Nothing moved for the timeout.
    Stalled,
    Transport(reqwest::Error),
}

/// What a failed HTTPS attempt says about the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// The server speaks TLS and rustls refused it (a certificate, an alert, a protocol error).
    Refused { certificate: bool },
    /// The server did not speak TLS (it answered bytes that are not TLS, or closed).
    Plain,
    /// Nothing is known (a refused connection, a timeout).
    Unknown,
}

impl Failure {
    /// Whether another attempt may succeed: stalls, timeouts, refused, reset or dropped
    /// connections; not a TLS refusal or a name that does not resolve.
    pub fn transient(&self) -> bool {
        match self {
            Failure::Stalled => true,
            Failure::Transport(error) => {
                let cause = self.describe(Duration::ZERO);
                let unknown_name = cause.contains("failed to lookup address") && !cause.contains("Temporary failure");
                !unknown_name
                    && !matches!(self.tls(), Tls::Refused { .. })
                    && (error.is_timeout()
                        || error.is_connect()
                        || error.is_request()
                        || error.is_body()
                        || error.is_decode())
            }
        }
    }

    pub fn tls(&self) -> Tls {
        let Failure::Transport(error) = self else { return Tls::Unknown };
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(error) = current {
            if let Some(tls) = rustls_error(error) {
                let certificate =
                    matches!(tls, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented);
                return if matches!(tls, rustls::Error::InvalidMessage(_)) {
                    Tls::Plain
                } else {
                    Tls::Refused { certificate }
                };
            }
            if let Some(io) = error.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::UnexpectedEof
                && io.to_string().contains("tls handshake")
            {
                return Tls::Plain;
            }
            current = error.source();
        }
        Tls::Unknown
    }

    /// The root cause, without URLs (`Connection refused (os error 111)`, `timed out after 5 s`).
    pub fn describe(&self, timeout: Duration) -> String {
        match self {
            Failure::Stalled => format!("timed out after {}", seconds(timeout)),
            Failure::Transport(error) if error.is_timeout() => format!("timed out after {}", seconds(timeout)),
            Failure::Transport(error) => {
                let mut root: &dyn std::error::Error = error;
                while let Some(inner) = root.source() {
                    root = inner;
                }
                root.to_string()
            }
        }
    }

    pub fn timed_out(&self) -> bool {
        match self {
            Failure::Stalled => true,
            Failure::Transport(error) => error.is_timeout(),
        }
    }
}

/// A rustls error at this link of an error chain (rustls errors travel inside `io::Error`s,
/// whose `source` skips them).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        current = inner.map(|inner| inner as &(dyn std::error::Error + 'static));
    }
    None
}

/// `1 s`, `2.5 s`.
pub fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value.fract() == 0.0 { format!("{value:.0} s") } else { format!("{value:.1} s") }
}

/// What follows a message about a failure after `attempts`: the count, and for a timeout, how
/// to change it.
pub fn suffix(timed_out: bool, attempts: u32) -> String {
    let count = if attempts > 1 { format!("{attempts} attempts") } else { String::new() };
    let hint = if timed_out { "RKO_REGISTRY_TIMEOUT sets the time limit" } else { "" };
    match (count.is_empty(), hint.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" ({count})"),
        (true, false) => format!(" ({hint})"),
        (false, false) => format!(" ({count}; {hint})"),
    }
}

/// When something last moved, for the stall timeout.
struct Progress {
    started: Instant,
    /// Milliseconds after `started`.
    last: AtomicU64,
}

impl Progress {
    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    fn touch(&self) {
        self.last.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// A request body that records each chunk the connection takes.
struct Watched {
    inner: reqwest::Body,
    progress: Arc<Progress>,
}

impl hyper::body::Body for Watched {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if matches!(polled, Poll::Ready(Some(Ok(_)))) {
            self.progress.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Send `request` and wait for the answer's head, failing with [`Failure::Stalled`] when
/// neither the request body nor the answer moves for `timeout`.
pub async fn send(
    http: &reqwest::Client,
    mut request: reqwest::Request,
    timeout: Duration,
) -> Result<Response, Failure> {
    let progress = Arc::new(Progress { started: Instant::now(), last: AtomicU64::new(0) });
    if let Some(body) = request.body_mut().take() {
        // A body in memory goes at once; a streamed one is watched.
        let body = if body.as_bytes().is_some() {
            body
        } else {
            reqwest::Body::wrap(Watched { inner: body, progress: progress.clone() })
        };
        *request.body_mut() = Some(body);
    }
    let pending = http.execute(request);
    tokio::pin!(pending);
    loop {
        let idle = progress.idle();
        if idle >= timeout {
            return Err(Failure::Stalled);
        }
        tokio::select! {
            result = &mut pending => return result.map_err(Failure::Transport),
            () = tokio::time::sleep(timeout - idle) => {}
        }
    }
}

/// The chunks of an answer's body, each awaited at most `timeout`; the stream ends after the
/// first failure.
pub fn chunks(response: Response, timeout: Duration) -> impl Stream<Item = Result<Bytes, Failure>> + Send + 'static {
    let stream = response.bytes_stream().boxed();
    futures::stream::unfold(Some(stream), move |state| async move {
        let mut stream = state?;
        match tokio::time::timeout(timeout, stream.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(stream))),
            Ok(Some(Err(error))) => Some((Err(Failure::Transport(error)), None)),
            Ok(None) => None,
            Err(_) => Some((Err(Failure::Stalled), None)),
        }
    })
}

/// An answer's whole body, each chunk awaited at most `timeout`; `Err(None)` when it is longer
/// than `limit` bytes.
pub async fn read(response: Response, timeout: Duration, limit: usize) -> Result<Vec<u8>, Option<Failure>> {
    let mut body = Vec::new();
    let mut stream = std::pin::pin!(chunks(response, timeout));
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.map_err(Some)?);
        if body.len() > limit {
            return Err(None);
        }
    }
    Ok(body)
}

/// Up to 64 KiB of an error answer's body (whatever arrived, on a failure).
pub async fn error_body(response: Response, timeout: Duration) -> Vec<u8> {
    const LIMIT: usize = 64 << 10;
    let mut body = Vec::new();
    let mut stream = std::pin::pin!(chunks(response, timeout));
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= LIMIT {
            body.truncate(LIMIT);
            break;
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seconds_and_suffixes() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(suffix(true, 4), " (4 attempts; RKO_REGISTRY_TIMEOUT sets the time limit)");
        assert_eq!(suffix(true, 1), " (RKO_REGISTRY_TIMEOUT sets the time limit)");
        assert_eq!(suffix(false, 1), "");
    }
}
