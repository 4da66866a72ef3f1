//! `rko login SERVER -u USER (--password-stdin | -p PASSWORD)`: check the credentials against
//! the registry, then store them in the docker config (mode 0600) for later runs.

use std::io::Read;

use anyhow::{Context, Result, bail};

use crate::cli::args::LoginCommand;
use crate::cli::printer::Printer;
use crate::cli::wiring;
use crate::env::Environment;
use crate::registry::Client;
use crate::registry::reference::Repository;

/// `https://index.docker.io/v1/`, `docker.io`, `ghcr.io/` → the registry host rko uses.
fn registry_of(server: &str) -> Result<String> {
    let host = crate::registry::auth::normalize_key(server);
    if host.is_empty() {
        bail!("`{server}` is not a registry: pass a host such as `ghcr.io` or `localhost:5443`");
    }
    let repository =
        Repository::parse(&format!("{host}/x")).with_context(|| format!("`{server}` is not a registry"))?;
    Ok(repository.registry().to_owned())
}

pub async fn run(command: LoginCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let registry = registry_of(&command.server)?;
    let password = match (command.password, command.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin cannot both be given"),
        (Some(password), false) => {
            printer.warning(
                "passing the password with -p/--password is insecure: other users' processes and the shell history can read it; use --password-stdin",
            );
            password
        }
        (None, true) => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("cannot read the password from stdin")?;
            password.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, false) => bail!("no password: pass it on stdin with --password-stdin (or with -p)"),
    };
    if password.is_empty() {
        bail!("the password for `{registry}` is empty");
    }
    let options = wiring::client_options(environment, false)?;
    let keychain = options.keychain.clone();
    let client = Client::new(options)?;
    client.verify_credentials(&registry, &command.username, &password).await?;
    let path = tokio::task::spawn_blocking(move || keychain.store(&registry, &command.username, &password)).await??;
    printer.status("Logged in", &format!("credentials stored in `{}`", path.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::registry_of;

    #[test]
    fn servers_name_the_registry_the_keychain_uses() {
        for hub in ["docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"] {
            assert_eq!(registry_of(hub).unwrap(), "index.docker.io", "{hub}");
        }
        assert_eq!(registry_of("ghcr.io/").unwrap(), "ghcr.io");
        assert_eq!(registry_of("http://localhost:5443").unwrap(), "localhost:5443");
        assert!(registry_of("https://").unwrap_err().to_string().contains("is not a registry"));
    }
}
