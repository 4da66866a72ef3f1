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
    /// Print YAML with every `ko://` reference replaced by the image built from it
    Resolve(Box<ResolveCommand>),
    /// Resolve, then `kubectl apply -f -` (kubectl arguments after `--`)
    Apply(Box<ApplyCommand>),
    /// Resolve, then `kubectl create -f -` (kubectl arguments after `--`)
    Create(Box<ApplyCommand>),
    /// `kubectl delete` with these arguments
    #[command(disable_help_flag = true)]
    Delete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        arguments: Vec<String>,
    },
    /// Build an import path, then `kubectl run` it (kubectl arguments after `--`)
    Run(Box<RunCommand>),
    /// The GitHub Action's step: read `INPUT_*`, build, write the step outputs and summary
    Action {
        /// The post step (after the job): nothing to do yet, as no cache is saved
        #[arg(long)]
        post: bool,
    },
    /// Work with image indexes: `rko index create` merges per-platform images pushed by digest
    Index(crate::cli::commands::index::IndexCommand),
    /// Log in to a registry (writes the docker config, `DOCKER_CONFIG/config.json`)
    Login(LoginCommand),
    /// Sign an image in a registry (keyless or with --key) and attach attestations
    Sign(Box<super::commands::sign::SignCommand>),
    /// Verify an image's signatures or attestations (cosign's and rko's) against a trusted root
    Verify(Box<super::commands::verify::VerifyCommand>),
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
    /// Password (insecure: arguments are visible to other processes; prefer --password-stdin)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
}

/// `resolve` (and the resolving half of `apply` and `create`).
#[derive(Debug, Args)]
pub struct ResolveCommand {
    /// YAML or JSON files, directories (`.yaml`, `.yml`, `.json`), or `-` for stdin
    #[arg(short = 'f', long = "filename", value_delimiter = ',', action = ArgAction::Append, required = true)]
    pub filenames: Vec<String>,
    /// Also read directories' sub-directories
    #[arg(short = 'R', long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub recursive: bool,
    /// Keep only objects matching this Kubernetes label selector (`app=web,tier in (a,b)`)
    #[arg(short = 'l', long, default_value = "")]
    pub selector: String,
    #[command(flatten)]
    pub build: BuildFlags,
    #[command(flatten)]
    pub publish: PublishFlags,
    /// Also write the run's report as JSON into this file
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// `apply` and `create`: resolve, then hand the result to kubectl.
#[derive(Debug, Args)]
pub struct ApplyCommand {
    #[command(flatten)]
    pub resolve: ResolveCommand,
    /// Arguments for kubectl, after `--`
    #[arg(last = true)]
    pub kubectl_arguments: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunCommand {
    /// The import path to build and run
    pub import_path: String,
    #[command(flatten)]
    pub build: BuildFlags,
    #[command(flatten)]
    pub publish: PublishFlags,
    /// Arguments for `kubectl run`, after `--` (a second `--` passes arguments to the program)
    #[arg(last = true)]
    pub kubectl_arguments: Vec<String>,
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
    /// Also write the run's report as JSON into this file
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Act as Skaffold's custom builder: build `BUILD_CONTEXT` into exactly `$IMAGE`, pushed
    /// (`PUSH_IMAGE=true`) or loaded into the Docker daemon, for `PLATFORMS`
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub skaffold: bool,
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
    /// Layer compression: `gzip` (default, level 1), `gzip:<level>`, `zstd` or `zstd:<level>`
    #[arg(long, default_value = "gzip")]
    pub compression: String,
}

/// ko's publish options (`pkg/commands/options/publish.go`).
#[derive(Debug, Args, Clone)]
pub struct PublishFlags {
    /// Tags to publish (repeatable, comma-separated; default `latest`)
    #[arg(short, long, value_delimiter = ',', action = ArgAction::Append)]
    pub tags: Vec<String>,
    /// Tags from git refs in CI, with docker/metadata-action's rules (`type=semver,pattern=…`,
    /// one per line), or `@FILE`; replaces --tags (also `RKO_TAG_RULES`)
    #[arg(long)]
    pub tag_rules: Option<String>,
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
    /// Write `RKO_DIGEST`, `RKO_IMAGE`, `RKO_TAGS`, `RKO_IMAGES_JSON`, ... into this file, as
    /// GitLab's `artifacts:reports:dotenv` reads them (written even when the run fails)
    #[arg(long)]
    pub dotenv: Option<PathBuf>,
    /// Also list SBOM referrers in the `index.json` of OCI layouts and archives (for `oras
    /// discover --oci-layout`; tools reading `oci:DIR` then need the image named)
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub oci_referrers: bool,
    /// Name images `KO_DOCKER_REPO/<full import path>`
    #[arg(short = 'P', long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub preserve_import_paths: bool,
    /// Name images `KO_DOCKER_REPO/<import path basename>`
    #[arg(short = 'B', long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub base_import_paths: bool,
    /// Name images `KO_DOCKER_REPO` itself
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub bare: bool,
    /// Push by digest only, moving no tag (one platform per runner; `rko index create` merges them)
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true, action = ArgAction::Set)]
    pub push_by_digest: bool,
}
