//! A tiny registry for unit tests: real HTTP on 127.0.0.1, every request answered with the
//! status its repository's first path component names (`/v2/denied/...` → 403,
//! `/v2/busy/...` → 503, `/v2/private/...` → 401, `/v2/missing/...` → 404), `/v2/` with 200.
//! It counts requests per path, so tests can see retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::client::{ClientOptions, RetryPolicy};

pub struct TestRegistry {
    /// `127.0.0.1:<port>`.
    pub address: String,
    requests: Arc<Mutex<HashMap<String, usize>>>,
}

impl TestRegistry {
    pub async fn start() -> TestRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let counts = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counts = counts.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(count) => head.extend_from_slice(&buffer[..count]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    *counts.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    let (status, code) = match path.split('/').nth(2) {
                        _ if path == "/v2/" => ("200 OK", ""),
                        Some("denied") => ("403 Forbidden", "DENIED"),
                        Some("busy") => ("503 Service Unavailable", "UNAVAILABLE"),
                        Some("private") => ("401 Unauthorized", "UNAUTHORIZED"),
                        _ => ("404 Not Found", "MANIFEST_UNKNOWN"),
                    };
                    let body = if code.is_empty() {
                        "{}".to_owned()
                    } else {
                        format!(r#"{{"errors":[{{"code":"{code}","message":"test"}}]}}"#)
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        TestRegistry { address, requests }
    }

    /// How many requests `path` got.
    pub fn requests(&self, path: &str) -> usize {
        self.requests.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// Client options for tests: no system roots, two quick attempts.
pub fn options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    }
}
