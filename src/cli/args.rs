//! The command line, as ko spells it: same commands, flags and pflag conventions (`--push=false`,
//! comma-separated lists), plus rko's additions (`--base-image`, `--oci-archive`, `--json`).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "rko",
    version,
    about = "Build Go programs into OCI images, without Docker: a fast, drop-in replacement for ko"
)]
pub struct Cli {
    /// Log more detail to stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and publish container images from the given import paths
    #[command(visible_alias = "publish")]
    Build(Box<BuildCommand>),
    /// Log in to a registry (writes the docker config, `DOCKER_CONFIG/config.json`)
    Login(LoginCommand),
    /// Print rko's version
    Version,
    /// Print a shell completion script
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct LoginCommand {
    /// The registry, e.g. `ghcr.io` or `localhost:5443`
    pub server: String,
    /// User name
    #[arg(short, long)]
    pub username: String,
    /// Password (prefer --password-stdin: arguments are visible to other processes)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct BuildCommand {
    /// Import paths or local paths of Go main packages (default `.`)
    pub import_paths: Vec<String>,
    #[command(flatten)]
    pub build: BuildFlags,
    #[command(flatten)]
    pub publish: PublishFlags,
    /// Print the run's report as JSON on stdout instead of the references
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub json: bool,
}

/// ko's build options (`pkg/commands/options/build.go`).
#[derive(Debug, Args, Clone)]
pub struct BuildFlags {
    /// Maximum number of concurrent builds (default: number of CPUs)
    #[arg(short, long, default_value_t = 0)]
    pub jobs: usize,
    /// Disable optimizations when building Go code (`-gcflags all=-N -l`)
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub disable_optimizations: bool,
    /// Linker flags, replacing `.ko.yaml`'s (repeatable, comma-separated)
    #[arg(long, value_delimiter = ',', action = ArgAction::Append, allow_hyphen_values = true)]
    pub ldflags: Vec<String>,
    /// SBOM format to attach: `spdx`, `cyclonedx`, `spdx,cyclonedx` or `none`
    #[arg(long, default_value = "spdx")]
    pub sbom: String,
    /// Also write SBOM files into this directory
    #[arg(long)]
    pub sbom_dir: Option<PathBuf>,
    /// Platforms to build: `all`, or `os/arch[/variant][:osversion]` (comma-separated)
    #[arg(long, value_delimiter = ',', action = ArgAction::Append)]
    pub platform: Vec<String>,
    /// Image config labels `key=value` (repeatable, comma-separated)
    #[arg(long, value_delimiter = ',', action = ArgAction::Append)]
    pub image_label: Vec<String>,
    /// Manifest annotations `key=value` (repeatable, comma-separated)
    #[arg(long, value_delimiter = ',', action = ArgAction::Append)]
    pub image_annotation: Vec<String>,
    /// The user the image runs as
    #[arg(long)]
    pub image_user: Option<String>,
    /// Include a debugger in the image (not supported by rko)
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub debug: bool,
    /// Base image for every import path (`builtin`, `scratch` or a registry reference)
    #[arg(long)]
    pub base_image: Option<String>,
}

/// ko's publish options (`pkg/commands/options/publish.go`).
#[derive(Debug, Args, Clone)]
pub struct PublishFlags {
    /// Tags to publish (repeatable, comma-separated)
    #[arg(short, long, value_delimiter = ',', action = ArgAction::Append, default_value = "latest")]
    pub tags: Vec<String>,
    /// Print `name:tag` without the digest (needs exactly one tag, not `latest`)
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub tag_only: bool,
    /// Push images to KO_DOCKER_REPO
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub push: bool,
    /// Load images into the local Docker daemon
    #[arg(short = 'L', long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub local: bool,
    /// Allow plain HTTP and unverified TLS for registries
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub insecure_registry: bool,
    /// Write the images into this OCI layout directory
    #[arg(long)]
    pub oci_layout_path: Option<PathBuf>,
    /// Write the images into one tar file of an OCI layout
    #[arg(long)]
    pub oci_archive: Option<PathBuf>,
    /// Write a `docker load`-able tarball
    #[arg(long)]
    pub tarball: Option<PathBuf>,
    /// Write the published references into this file, one per line
    #[arg(long)]
    pub image_refs: Option<PathBuf>,
    /// Name images `KO_DOCKER_REPO/<full import path>`
    #[arg(short = 'P', long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub preserve_import_paths: bool,
    /// Name images `KO_DOCKER_REPO/<import path basename>`
    #[arg(short = 'B', long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub base_import_paths: bool,
    /// Name images `KO_DOCKER_REPO` itself
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub bare: bool,
}
