//! A fault-injecting HTTP proxy in front of a real registry, for what no real registry does on
//! demand: answer 429 with `Retry-After`, refuse a blob, drop a connection, stall before or in
//! the middle of an answer. Everything else is forwarded byte for byte (one request per
//! connection), and every request line is logged.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How long a stalled connection stays open: far longer than any timeout the tests set.
const STALL: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Clone)]
pub enum Action {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Drop,
    /// Read the request head and never answer (the connection stays open).
    Stall,
    /// Forward, but send only the first `keep` bytes of the response body, then stall.
    Truncate {
        keep: usize,
    },
    /// Forward, adding a header to the response.
    AddHeader(String, String),
}

struct Rule {
    method: String,
    path_contains: String,
    remaining: usize,
    action: Action,
}

pub struct FaultProxy {
    pub address: String,
    log: Arc<Mutex<Vec<String>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
}

/// Bearer-token auth in front of the registry, like Docker Hub or GHCR: `/v2/` answers 401
/// with a `Bearer` challenge, `/token` hands out tokens (push scopes need `testuser:testpass`),
/// and registry requests pass only with a token whose scopes cover them.
#[derive(Clone)]
struct TokenAuth {
    realm: String,
}

impl FaultProxy {
    /// Listen on 127.0.0.1 and forward to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::launch(upstream, false)
    }

    /// The same, with bearer-token authentication in front.
    pub fn start_with_token_auth(upstream: &str) -> FaultProxy {
        FaultProxy::launch(upstream, true)
    }

    fn launch(upstream: &str, token_auth: bool) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::new(Mutex::new(Vec::new()));
        let auth = token_auth.then(|| TokenAuth { realm: format!("http://{address}/token") });
        let (thread_log, thread_rules, upstream) = (log.clone(), rules.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, rules, upstream, auth) =
                    (thread_log.clone(), thread_rules.clone(), upstream.clone(), auth.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &upstream, &log, &rules, auth.as_ref());
                });
            }
        });
        FaultProxy { address, log, rules }
    }

    /// Apply `action` to the next `times` requests with `method` whose path contains `path`.
    pub fn inject(&self, method: &str, path: &str, times: usize, action: Action) {
        self.rules.lock().unwrap().push(Rule {
            method: method.into(),
            path_contains: path.into(),
            remaining: times,
            action,
        });
    }

    /// Every request seen, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn respond(client: &mut TcpStream, status: u16, headers: &[(String, String)], body: &str) -> std::io::Result<()> {
    let mut response = format!("HTTP/1.1 {status} Injected\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    client.write_all(response.as_bytes())
}

/// A response the proxy writes itself: status, headers, body.
type Reply = (u16, Vec<(String, String)>, String);

/// Token auth: `Some(response)` when the proxy answers itself, `None` to forward.
fn token_check(auth: &TokenAuth, method: &str, path: &str, authorization: &str) -> Option<Reply> {
    if let Some(query) = path.strip_prefix("/token?") {
        let scopes: Vec<String> = query
            .split('&')
            .filter_map(|pair| pair.strip_prefix("scope="))
            .map(|scope| scope.replace("%3A", ":").replace("%2C", ",").replace("%2F", "/"))
            .collect();
        let logged_in = authorization == "Basic dGVzdHVzZXI6dGVzdHBhc3M=";
        if !authorization.is_empty() && !logged_in {
            return Some((401, vec![], r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#.into()));
        }
        let granted: Vec<String> =
            scopes.iter().map(|scope| if logged_in { scope.clone() } else { scope.replace(",push", "") }).collect();
        return Some((200, vec![], format!(r#"{{"token":"tok {}"}}"#, granted.join(" "))));
    }
    let repository = path.strip_prefix("/v2/").and_then(|rest| {
        ["/blobs/", "/manifests/"].iter().find_map(|marker| rest.find(marker).map(|index| rest[..index].to_owned()))
    });
    let needed = match &repository {
        Some(repository) if matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") => {
            Some(format!("repository:{repository}:pull,push"))
        }
        Some(repository) => Some(format!("repository:{repository}:pull")),
        None => None,
    };
    let token = authorization.strip_prefix("Bearer tok ").unwrap_or("");
    let allowed = match &needed {
        Some(scope) => token
            .split(' ')
            .any(|granted| granted == scope || (scope.ends_with(":pull") && granted == format!("{scope},push"))),
        None => authorization.starts_with("Bearer tok"),
    };
    if allowed {
        return None;
    }
    let scope = needed.map_or(String::new(), |scope| format!(",scope=\"{scope}\""));
    let challenge = format!(r#"Bearer realm="{}",service="rko-proxy"{scope}"#, auth.realm);
    Some((
        401,
        vec![("WWW-Authenticate".into(), challenge)],
        r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.into(),
    ))
}

fn handle(
    client: TcpStream,
    upstream: &str,
    log: &Mutex<Vec<String>>,
    rules: &Mutex<Vec<Rule>>,
    auth: Option<&TokenAuth>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0u64;
    let mut authorization = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            authorization = line["authorization:".len()..].trim().to_owned();
            continue;
        }
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let request_line = head.first().cloned().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    log.lock().unwrap().push(format!("{method} {path}"));
    let action = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|rule| rule.remaining > 0 && rule.method == method && path.contains(&rule.path_contains))
            .map(|rule| {
                rule.remaining -= 1;
                rule.action.clone()
            })
    };
    let mut client = client;
    // Injected answers come first, even before token auth (so a token endpoint can fail too).
    let mut extra_header = None;
    let mut keep = None;
    match action {
        Some(Action::Drop) => {
            client.shutdown(Shutdown::Both)?;
            return Ok(());
        }
        Some(Action::Respond { status, headers, body }) => {
            std::io::copy(&mut (&mut reader).take(content_length), &mut std::io::sink())?;
            return respond(&mut client, status, &headers, &body);
        }
        Some(Action::Stall) => {
            std::thread::sleep(STALL);
            return Ok(());
        }
        Some(Action::Truncate { keep: bytes }) => keep = Some(bytes),
        Some(Action::AddHeader(name, value)) => extra_header = Some(format!("{name}: {value}\r\n")),
        None => {}
    }
    if let Some(auth) = auth
        && let Some((status, headers, body)) = token_check(auth, &method, &path, &authorization)
    {
        std::io::copy(&mut (&mut reader).take(content_length), &mut std::io::sink())?;
        return respond(&mut client, status, &headers, &body);
    }
    let mut server = TcpStream::connect(upstream)?;
    for line in &head {
        server.write_all(line.as_bytes())?;
    }
    server.write_all(b"Connection: close\r\n\r\n")?;
    std::io::copy(&mut (&mut reader).take(content_length), &mut server)?;
    if let Some(keep) = keep {
        // The head as it is, then `keep` bytes of the body, then nothing.
        let mut upstream_reader = BufReader::new(server);
        loop {
            let mut line = String::new();
            if upstream_reader.read_line(&mut line)? == 0 {
                break;
            }
            client.write_all(line.as_bytes())?;
            if line == "\r\n" {
                break;
            }
        }
        std::io::copy(&mut (&mut upstream_reader).take(keep as u64), &mut client)?;
        client.flush()?;
        std::thread::sleep(STALL);
        return Ok(());
    }
    if let Some(header) = extra_header {
        let mut upstream_reader = BufReader::new(server);
        let mut status_line = String::new();
        upstream_reader.read_line(&mut status_line)?;
        client.write_all(status_line.as_bytes())?;
        client.write_all(header.as_bytes())?;
        std::io::copy(&mut upstream_reader, &mut client)?;
    } else {
        std::io::copy(&mut server, &mut client)?;
    }
    client.shutdown(Shutdown::Both)
}
