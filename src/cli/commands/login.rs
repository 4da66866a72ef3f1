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
    let host = server.trim_start_matches("https://").trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or("");
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
        (Some(password), false) => password,
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
