//! `rko build` (alias `publish`): qualify every import path, build them all at once, publish
//! each as it is ready, and print the references in argument order.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use futures::future::try_join_all;

use crate::build::cache::Cache;
use crate::build::{ImportPath, package};
use crate::cli::args::BuildCommand;
use crate::cli::printer::Printer;
use crate::cli::{settings, wiring};
use crate::config;
use crate::env::{self, Environment};
use crate::registry::shared::SharedClient;
use crate::report::{ImageReport, PushReport, Report};

pub async fn run(command: BuildCommand, environment: &Environment, printer: Printer) -> Result<()> {
    let working_directory = std::env::current_dir().context("cannot read the working directory")?;
    let config_path = environment.non_empty(env::KO_CONFIG_PATH).map(Path::new);
    let config = config::load(&working_directory, config_path)?;
    for warning in &config.warnings {
        printer.warning(warning);
    }
    let (build_settings, warnings) =
        settings::build_settings(&command.build, &config, environment, &working_directory)?;
    let (publish_settings, more) = settings::publish_settings(&command.publish, environment, build_settings.jobs)?;
    for warning in warnings.iter().chain(&more) {
        printer.warning(warning);
    }
    let cache = Cache::open(&build_settings.cache_directory)?;
    let registries =
        Arc::new(SharedClient::new(wiring::client_options(environment, publish_settings.insecure_registry)?));
    let builder = wiring::make_builder(&build_settings, environment, &cache, registries.clone(), printer);
    let publishing =
        wiring::make_publisher(&publish_settings, &build_settings.platforms, &cache, &registries, environment)?;
    let publisher = publishing.publisher;

    let references = if command.import_paths.is_empty() { vec![".".to_owned()] } else { command.import_paths.clone() };
    let mut import_paths: Vec<ImportPath> = Vec::new();
    for reference in &references {
        let expanded = if reference.ends_with("...") {
            package::expand_pattern(&working_directory, reference, &build_settings.go)?
        } else {
            vec![reference.clone()]
        };
        for reference in expanded {
            let import_path = builder.qualify(&reference)?;
            if !import_paths.contains(&import_path) {
                import_paths.push(import_path);
            }
        }
    }
    let publisher = &publisher;
    let builder = &builder;
    let results = try_join_all(import_paths.iter().map(|import_path| async move {
        let built = builder.build(import_path).await?;
        let published = publisher.publish(&built).await?;
        for note in &published.notes {
            printer.note(note);
        }
        printer.status("Published", &published.reference);
        Ok::<_, anyhow::Error>((built, published))
    }))
    .await?;
    publisher.close().await?;

    let report = Report {
        images: results.iter().map(|(built, published)| ImageReport::new(built, published)).collect(),
        push: publishing.pusher.as_ref().map(|pusher| PushReport::from(&pusher.stats)),
    };
    if command.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        for (_, published) in &results {
            printer.data(&published.reference);
        }
    }
    Ok(())
}
