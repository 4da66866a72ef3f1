//! The `ssh://` transport of the Docker API client, as the docker CLI does it: `DOCKER_HOST=
//! ssh://[user@]host[:port]` runs `ssh [-l user] [-p port] -- host docker system dial-stdio`
//! and speaks HTTP over the child's stdin and stdout. Authentication, host keys and
//! `~/.ssh/config` are ssh's own business. Depends only on tokio.

use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

/// Where `DOCKER_HOST=ssh://…` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parse the part after `ssh://`, with the docker CLI's rules: a user and a port may be
    /// given, a password, a path, a query or a fragment may not.
    pub fn parse(address: &str) -> Result<SshTarget, String> {
        // Never repeat a password given in the URL.
        let shown = match address.rsplit_once('@') {
            Some((user, rest)) if user.contains(':') => {
                format!("{}:***@{rest}", user.split(':').next().unwrap_or_default())
            }
            _ => address.to_owned(),
        };
        let invalid = |why: &str| format!("DOCKER_HOST `ssh://{shown}` {why}: use `ssh://[user@]host[:port]`");
        if address.contains(['/', '?', '#']) {
            return Err(invalid("has a path, query or fragment after the host"));
        }
        let (user, host_port) = match address.rsplit_once('@') {
            Some((user, _)) if user.contains(':') => return Err(invalid("has a password, which ssh cannot take")),
            Some(("", _)) => return Err(invalid("has an empty user name")),
            Some((user, rest)) => (Some(user.to_owned()), rest),
            None => (None, address),
        };
        let (host, port) = match host_port.strip_prefix('[') {
            // An IPv6 literal: `[::1]:2222`.
            Some(rest) => {
                let (host, after) = rest.split_once(']').ok_or_else(|| invalid("has an unclosed `[`"))?;
                (host, after.strip_prefix(':'))
            }
            None => match host_port.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            },
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(invalid("names no host"));
        }
        let port = port.map(|port| port.parse::<u16>().map_err(|_| invalid("has an invalid port"))).transpose()?;
        Ok(SshTarget { user, host: host.to_owned(), port })
    }

    /// The arguments of `ssh`: `[-l user] [-p port] -- host docker system dial-stdio`.
    pub fn arguments(&self) -> Vec<String> {
        let mut arguments = Vec::new();
        if let Some(user) = &self.user {
            arguments.extend(["-l".to_owned(), user.clone()]);
        }
        if let Some(port) = self.port {
            arguments.extend(["-p".to_owned(), port.to_string()]);
        }
        arguments.extend(["--", &self.host, "docker", "system", "dial-stdio"].map(str::to_owned));
        arguments
    }

    /// Start `ssh` (from `PATH`): the stream to the remote daemon, and ssh's stderr.
    pub fn connect(&self) -> Result<(SshStream, SshErrors), String> {
        let mut child = Command::new("ssh")
            .args(self.arguments())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot run `ssh`: {error}; install an OpenSSH client"))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err("cannot talk to `ssh`: its standard streams are missing".to_owned());
        };
        Ok((SshStream { _child: child, stdin, stdout }, SshErrors(stderr)))
    }
}

/// ssh's stderr, read only to explain a failed request.
pub struct SshErrors(ChildStderr);

impl SshErrors {
    /// The last line ssh wrote (waiting at most two seconds for it to finish), if any.
    pub async fn last_line(mut self) -> Option<String> {
        let mut text = String::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.0.read_to_string(&mut text)).await;
        text.lines().rev().map(str::trim).find(|line| !line.is_empty()).map(str::to_owned)
    }
}

/// HTTP to the daemon through a running `ssh … docker system dial-stdio`; dropping it ends ssh.
pub struct SshStream {
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(context, buffer)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(mut self: Pin<&mut Self>, context: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(context, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_the_docker_cli() {
        let target = SshTarget::parse("deploy@build.example.com:2222").unwrap();
        assert_eq!(
            target.arguments(),
            ["-l", "deploy", "-p", "2222", "--", "build.example.com", "docker", "system", "dial-stdio"]
        );
        assert_eq!(SshTarget::parse("host").unwrap().arguments(), ["--", "host", "docker", "system", "dial-stdio"]);
        assert_eq!(SshTarget::parse("[::1]:22").unwrap(), SshTarget { user: None, host: "::1".into(), port: Some(22) });
        for bad in ["user:secret@host", "host/path", "", "host:port", "-oProxyCommand=x", "@host"] {
            let error = SshTarget::parse(bad).unwrap_err();
            assert!(error.contains("use `ssh://[user@]host[:port]`") && !error.contains("secret"), "{bad}: {error}");
        }
    }
}
