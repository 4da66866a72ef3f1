//! `rko build --skaffold`: Skaffold's custom-builder contract, with no wrapper script. Skaffold
//! runs the `buildCommand` with `IMAGE` (the `registry/name:tag` to produce), `PUSH_IMAGE`
//! (`true`: push it; `false`: load it into the Docker daemon), `BUILD_CONTEXT` (the artifact's
//! directory) and `PLATFORMS` (comma-separated), and expects exactly `$IMAGE` to exist
//! afterwards. The contract is translated into the ordinary settings — `KO_DOCKER_REPO` is
//! `$IMAGE`'s repository, named `--bare`, tagged with `$IMAGE`'s tag — and the ordinary
//! session builds and publishes; the daemon case loads the built image under `$IMAGE`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use crate::cache::Cache;
use crate::cli::args::BuildCommand;
use crate::cli::outputs::Outputs;
use crate::cli::printer::Printer;
use crate::cli::session::Session;
use crate::cli::{settings, wiring};
use crate::daemon::DockerApi;
use crate::env::{self, Environment};
use crate::publish::Publisher;
use crate::publish::blobs::{BlobFiles, RemoteBlobs};
use crate::publish::daemon::DaemonPublisher;
use crate::registry::reference::Reference;
use crate::registry::shared::SharedClient;

/// What Skaffold asked for.
struct Contract {
    repository: String,
    tag: String,
    push: bool,
}

fn contract(environment: &Environment) -> Result<Contract> {
    let image = environment.non_empty(env::IMAGE).ok_or_else(|| {
        anyhow!("--skaffold needs `IMAGE` (Skaffold's custom builder sets it): run under Skaffold, or set IMAGE=registry/name:tag")
    })?;
    let reference = Reference::parse(image).with_context(|| format!("IMAGE=`{image}` is not an image name"))?;
    if reference.digest.is_some() {
        bail!(
            "IMAGE=`{image}` names a digest: Skaffold passes `registry/name:tag`, and the digest is what rko computes"
        );
    }
    let push = match environment.get(env::PUSH_IMAGE).map(str::trim) {
        None | Some("") | Some("true") => true,
        Some("false") => false,
        Some(other) => bail!("PUSH_IMAGE=`{other}` is neither `true` nor `false`"),
    };
    Ok(Contract {
        repository: reference.repository.to_string(),
        tag: reference.tag.unwrap_or_else(|| "latest".to_owned()),
        push,
    })
}

pub async fn run(mut command: BuildCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let contract = contract(environment)?;
    if let Some(context) = environment.non_empty(env::BUILD_CONTEXT) {
        std::env::set_current_dir(Path::new(context))
            .with_context(|| format!("BUILD_CONTEXT=`{context}` is not a directory rko can enter"))?;
    }
    let reference = match command.import_paths.as_slice() {
        [] => ".".to_owned(),
        [one] => one.clone(),
        more => bail!(
            "--skaffold builds one image (`$IMAGE`) from one import path, got {}: give one, or none for `BUILD_CONTEXT`",
            more.len()
        ),
    };
    if command.build.platform.is_empty()
        && let Some(platforms) = environment.non_empty(env::PLATFORMS)
    {
        command.build.platform =
            platforms.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    }
    if environment.non_empty(env::SKAFFOLD_GO_GCFLAGS).is_some_and(|flags| flags.contains("-N")) {
        command.build.disable_optimizations = true;
    }
    let publish = &mut command.publish;
    (publish.bare, publish.preserve_import_paths, publish.base_import_paths) = (true, false, false);
    (publish.local, publish.push, publish.tag_only, publish.push_by_digest) = (false, contract.push, false, false);
    publish.tags = vec![contract.tag.clone()];
    let environment = environment.with(env::KO_DOCKER_REPO, &contract.repository);

    let session = Session::open(&command.build, &command.publish, &environment, printer)?;
    let import_path = session.qualify(&reference)?;
    let run = session.publish_all(std::slice::from_ref(&import_path), &|_| String::new()).await;
    let mut report = session.report(&run);
    let outputs =
        Outputs { report: command.report.clone(), image_refs: command.publish.image_refs.clone(), dotenv: None };
    let run = match run.into_result(printer) {
        Ok(run) => run,
        Err(error) => {
            outputs.write(&mut report, printer)?;
            return Err(error);
        }
    };
    let Some((built, published)) = run.published().next() else { bail!("`{import_path}` was not built") };
    let reference = if contract.push {
        published.reference.clone()
    } else {
        // Skaffold runs what it built locally by `$IMAGE`: load it under exactly that name.
        let api = DockerApi::from_host(environment.get(env::DOCKER_HOST))?;
        let cache = Cache::open(&settings::cache_directory(&environment), crate::cache::DEFAULT_MAX_SIZE)?;
        let registries = Arc::new(SharedClient::new(wiring::client_options(&environment, false)?));
        let remote: Arc<dyn RemoteBlobs> = Arc::new(registries);
        let blobs = BlobFiles { remote: Some(remote), download_directory: Some(cache.blobs().to_owned()) };
        let daemon = DaemonPublisher::new(api, vec![contract.tag.clone()], blobs);
        let loaded = daemon.publish(built, &contract.repository).await?;
        printer.status("Loaded", &format!("{}:{}", contract.repository, contract.tag));
        report.images[0].action = "loaded".to_owned();
        report.images[0].tags = loaded.tags;
        format!("{}:{}", contract.repository, contract.tag)
    };
    outputs.write(&mut report, printer)?;
    if command.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        printer.data(&reference);
    }
    Ok(())
}
