//! Settings are resolved once, here: flags over environment over `.ko.yaml` over defaults, into
//! validated values the wiring hands to the library. Every rule of precedence ko has lives in
//! this file, and every bad input fails here with one clear line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::args::{BuildFlags, PublishFlags};
use crate::base::builtin::{BUILTIN_NAME, SCRATCH_NAME};
use crate::build::gobuilder::BuildSpec;
use crate::build::package::{self, GoPackage};
use crate::build::{ImportPath, PlatformRequest};
use crate::config::KoConfig;
use crate::env::{self, Environment};
use crate::image::Platform;
use crate::image::gotime::Time;
use crate::image::layer::Compression;
use crate::publish::{Namer, NamingStyle};
use crate::registry::reference::{Reference, ReferenceError, Repository, valid_tag};
use crate::sbom::{self, SbomFormat};

/// Everything a build needs to know.
#[derive(Clone, Debug)]
pub struct BuildSettings {
    pub working_directory: PathBuf,
    pub go: PathBuf,
    pub platforms: PlatformRequest,
    /// The base for import paths without an override (`builtin`, `scratch` or a reference).
    pub default_base: String,
    /// Lowercased import path → base reference.
    pub base_overrides: BTreeMap<String, String>,
    pub builds: Vec<BuildSpec>,
    pub default_env: Vec<String>,
    pub default_flags: Vec<String>,
    pub default_ldflags: Vec<String>,
    pub ldflags_override: Option<Vec<String>>,
    pub disable_optimizations: bool,
    pub creation_time: Option<Time>,
    pub kodata_time: Option<Time>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub user: Option<String>,
    pub kodata_allowed_root: Option<PathBuf>,
    pub jobs: usize,
    pub cache_directory: PathBuf,
    /// `--sbom`: the formats to attach (empty for `none`).
    pub sbom_formats: Vec<SbomFormat>,
    /// `--sbom-dir`: also write the documents here.
    pub sbom_directory: Option<PathBuf>,
    /// `--compression`: how rko's own layers are compressed.
    pub compression: Compression,
}

/// Where images go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `KO_DOCKER_REPO` names a registry repository.
    Registry(String),
    /// `ko.local` or `--local`: the Docker daemon.
    Daemon(String),
    /// `kind.local`: the nodes of a kind cluster.
    Kind(String),
    /// `--push=false`: nowhere (unless a layout, tarball or archive is asked for).
    None,
}

#[derive(Clone, Debug)]
pub struct PublishSettings {
    /// The repository prefix images are named under (may be empty with `--push=false`).
    pub repository: String,
    pub target: Target,
    pub naming: NamingStyle,
    pub tags: Vec<String>,
    pub tag_only: bool,
    pub insecure_registry: bool,
    pub oci_layout_path: Option<PathBuf>,
    pub oci_archive: Option<PathBuf>,
    pub tarball: Option<PathBuf>,
    /// `--oci-referrers`: list SBOM referrers in OCI layouts' and archives' `index.json`.
    pub oci_referrers: bool,
    pub jobs: usize,
}

/// Warnings found while resolving, for the caller to print.
pub type Warnings = Vec<String>;

fn list_from_env(environment: &Environment, name: &str) -> Option<Vec<String>> {
    environment.non_empty(name).map(|value| value.split_whitespace().map(str::to_owned).collect())
}

fn epoch(environment: &Environment, name: &str) -> Result<Option<Time>> {
    match environment.non_empty(name) {
        None => Ok(None),
        Some(text) => {
            let seconds: i64 = text.trim().parse().ok().filter(|s: &i64| *s >= 0).with_context(|| {
                format!("{name}=`{text}` is not a number of seconds since 1970-01-01 00:00 UTC; set it to e.g. `$(git log -1 --format=%ct)`")
            })?;
            Ok(Some(Time::from_unix(seconds)))
        }
    }
}

fn key_values(entries: &[String], flag: &str) -> Result<BTreeMap<String, String>> {
    entries
        .iter()
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => bail!("{flag} `{entry}` must be `key=value`"),
        })
        .collect()
}

/// `--compression`: `gzip` (level 1, as ko: the fastest standard layers, the default),
/// `gzip:<level>`, `zstd` (level 3) or `zstd:<level>`.
fn compression(text: &str) -> Result<Compression> {
    let (name, level) = text.split_once(':').unwrap_or((text, ""));
    let invalid =
        || anyhow::anyhow!("invalid --compression `{text}`: use `gzip`, `gzip:<0-9>`, `zstd` or `zstd:<1-19>`");
    match (name, level) {
        ("gzip", "") => Ok(Compression::Gzip(1)),
        ("gzip", level) => level.parse().ok().filter(|l| *l <= 9).map(Compression::Gzip).ok_or_else(invalid),
        ("zstd", "") => Ok(Compression::Zstd(3)),
        ("zstd", level) => {
            level.parse().ok().filter(|l| (1..=19).contains(l)).map(Compression::Zstd).ok_or_else(invalid)
        }
        _ => Err(invalid()),
    }
}

/// The default cache directory: `RKO_CACHE_DIR`, `KOCACHE`, `$XDG_CACHE_HOME/rko`, `~/.cache/rko`.
pub fn cache_directory(environment: &Environment) -> PathBuf {
    if let Some(path) = environment.non_empty(env::RKO_CACHE_DIR).or(environment.non_empty(env::KOCACHE)) {
        return PathBuf::from(path);
    }
    if let Some(path) = environment.non_empty(env::XDG_CACHE_HOME) {
        return Path::new(path).join("rko");
    }
    match environment.non_empty(env::HOME) {
        Some(home) => Path::new(home).join(".cache").join("rko"),
        None => std::env::temp_dir().join("rko-cache"),
    }
}

/// The platforms to build: `--platform`, else `KO_DEFAULTPLATFORMS`/`defaultPlatforms`, else
/// `GOOS`/`GOARCH`[/`GOARM`], else `linux/amd64`.
fn platforms(flags: &BuildFlags, config: &KoConfig, environment: &Environment) -> Result<PlatformRequest> {
    let explicit: Vec<String> = if !flags.platform.is_empty() {
        flags.platform.clone()
    } else if let Some(value) = environment.non_empty(env::KO_DEFAULTPLATFORMS) {
        value.split(',').map(|s| s.trim().to_owned()).collect()
    } else {
        config.default_platforms.clone().unwrap_or_default()
    };
    let explicit: Vec<String> = explicit.into_iter().filter(|s| !s.is_empty()).collect();
    if explicit.is_empty() {
        let (os, architecture) = (environment.non_empty(env::GOOS), environment.non_empty(env::GOARCH));
        let mut platform = match (os, architecture) {
            (Some(os), Some(architecture)) => format!("{os}/{architecture}"),
            _ => "linux/amd64".to_owned(),
        };
        if architecture.is_some_and(|a| a.contains("arm"))
            && let Some(goarm) = environment.non_empty(env::GOARM)
        {
            platform = format!("{platform}/v{goarm}");
        }
        let platform = Platform::parse_buildable(&platform).context("from GOOS/GOARCH/GOARM")?;
        return Ok(PlatformRequest::List(vec![platform]));
    }
    for name in [env::GOOS, env::GOARCH, env::GOARM] {
        if let Some(value) = environment.get(name) {
            bail!(
                "cannot combine a platform list (--platform, KO_DEFAULTPLATFORMS or defaultPlatforms) with {name}=`{value}`; unset {name} or drop the list"
            );
        }
    }
    if explicit.iter().any(|p| p == "all") {
        if explicit.len() > 1 {
            bail!("--platform `all` cannot be combined with other platforms (`{}`)", explicit.join(","));
        }
        return Ok(PlatformRequest::All);
    }
    let list = explicit.iter().map(|text| Platform::parse_buildable(text)).collect::<Result<Vec<_>, _>>()?;
    Ok(PlatformRequest::List(list))
}

/// Resolve `builds[]` entries to import paths and directories.
fn build_specs(config: &KoConfig, working_directory: &Path, go: &Path) -> Result<Vec<BuildSpec>> {
    let file = config.path.as_ref().map_or(".ko.yaml".to_owned(), |p| p.display().to_string());
    config
        .builds
        .iter()
        .enumerate()
        .map(|(index, build)| {
            let origin = format!("`{file}` builds[{index}] (id `{}`)", build.id);
            let directory = package::normalize(&working_directory.join(&build.dir));
            // `main` is a path relative to `dir` (a `.go` file stands for its directory).
            let main = if build.main.ends_with(".go") {
                Path::new(&build.main).parent().unwrap_or(Path::new("."))
            } else {
                Path::new(&build.main)
            };
            let main_directory = package::normalize(&directory.join(main));
            spec(build, &origin, &directory, &main_directory.to_string_lossy(), go)
        })
        .collect()
}

fn spec(
    build: &crate::config::BuildConfig,
    origin: &str,
    directory: &Path,
    main: &str,
    go: &Path,
) -> Result<BuildSpec> {
    let GoPackage { import_path, .. } = package::resolve(directory, main, go).with_context(|| origin.to_owned())?;
    let non_empty = |list: &Vec<String>| (!list.is_empty()).then(|| list.clone());
    Ok(BuildSpec {
        import_path,
        directory: directory.to_owned(),
        origin: origin.to_owned(),
        env: non_empty(&build.env),
        flags: non_empty(&build.flags),
        ldflags: non_empty(&build.ldflags),
        linux_capabilities: build.linux_capabilities.clone(),
    })
}

pub fn build_settings(
    flags: &BuildFlags,
    config: &KoConfig,
    environment: &Environment,
    working_directory: &Path,
) -> Result<(BuildSettings, Warnings)> {
    let mut warnings = Vec::new();
    if flags.debug {
        bail!(
            "--debug is not supported by rko: it would clone and build Delve from the network at build time; add Delve to your base image instead"
        );
    }
    let go = PathBuf::from(environment.non_empty(env::KO_GO_PATH).unwrap_or("go"));
    let platforms = platforms(flags, config, environment)?;
    let default_base = flags
        .base_image
        .clone()
        .or_else(|| environment.non_empty(env::KO_DEFAULTBASEIMAGE).map(str::to_owned))
        .or_else(|| config.default_base_image.clone())
        .unwrap_or_else(|| BUILTIN_NAME.to_owned());
    check_bases(flags, config, environment)?;
    let labels = key_values(&flags.image_label, "--image-label")?;
    let annotations = key_values(&flags.image_annotation, "--image-annotation")?;
    let ldflags_override = (!flags.ldflags.is_empty()).then(|| flags.ldflags.clone());
    let jobs = if flags.jobs == 0 { std::thread::available_parallelism().map_or(1, usize::from) } else { flags.jobs };
    let kodata_allowed_root = environment.non_empty(env::KO_DATA_PATH_ALLOWED_ROOT).map(|p| working_directory.join(p));
    if config.builds.iter().any(|b| !b.linux_capabilities.is_empty())
        && matches!(platforms, PlatformRequest::List(ref l) if l.iter().any(|p| p.os == "windows"))
    {
        warnings.push("`linux_capabilities` are ignored for windows images".to_owned());
    }
    let settings = BuildSettings {
        working_directory: working_directory.to_owned(),
        builds: build_specs(config, working_directory, &go)?,
        go,
        platforms,
        default_base,
        base_overrides: config.base_image_overrides.clone(),
        default_env: list_from_env(environment, env::KO_DEFAULTENV).or(config.default_env.clone()).unwrap_or_default(),
        default_flags: list_from_env(environment, env::KO_DEFAULTFLAGS)
            .or(config.default_flags.clone())
            .unwrap_or_default(),
        default_ldflags: list_from_env(environment, env::KO_DEFAULTLDFLAGS)
            .or(config.default_ldflags.clone())
            .unwrap_or_default(),
        ldflags_override,
        disable_optimizations: flags.disable_optimizations,
        creation_time: epoch(environment, env::SOURCE_DATE_EPOCH)?,
        kodata_time: epoch(environment, env::KO_DATA_DATE_EPOCH)?,
        labels,
        annotations,
        user: flags.image_user.clone().filter(|u| !u.is_empty()),
        kodata_allowed_root,
        jobs,
        cache_directory: cache_directory(environment),
        sbom_formats: sbom::parse_formats(&flags.sbom)?,
        sbom_directory: flags.sbom_dir.as_ref().map(|path| working_directory.join(path)),
        compression: compression(&flags.compression)?,
    };
    Ok((settings, warnings))
}

pub fn publish_settings(
    flags: &PublishFlags,
    environment: &Environment,
    jobs: usize,
) -> Result<(PublishSettings, Warnings)> {
    let mut warnings = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    for tag in &flags.tags {
        if !valid_tag(tag) {
            bail!("invalid tag `{tag}`: tags are 1–128 of `A-Za-z0-9_.-` and cannot start with `.` or `-`");
        }
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    if flags.push_by_digest {
        if flags.tag_only {
            bail!("--push-by-digest moves no tag, so it cannot be combined with --tag-only");
        }
        // The digest is the whole point: tags move later, with `rko index create`.
        if tags != ["latest"] {
            warnings.push(format!(
                "--push-by-digest moves no tag, so `-t {}` is ignored: give the tags to `rko index create`",
                tags.join(",")
            ));
        }
        tags.clear();
    }
    if flags.tag_only {
        if tags.len() != 1 {
            bail!("--tag-only needs exactly one tag, got {} (`{}`)", tags.len(), tags.join(","));
        }
        if tags[0] == "latest" {
            bail!("--tag-only needs a tag other than `latest`: pass one with -t");
        }
    }
    let naming = match (flags.preserve_import_paths, flags.base_import_paths, flags.bare) {
        (true, true, _) | (true, _, true) => {
            bail!("-P/--preserve-import-paths cannot be combined with -B/--base-import-paths or --bare")
        }
        (_, true, true) => {
            warnings.push("-B/--base-import-paths and --bare were both given; using -B".to_owned());
            NamingStyle::BaseImportPaths
        }
        (true, false, false) => NamingStyle::PreserveImportPaths,
        (false, true, false) => NamingStyle::BaseImportPaths,
        (false, false, true) => NamingStyle::Bare,
        (false, false, false) => NamingStyle::Md5,
    };
    // ko drops a trailing `/` (`KO_DOCKER_REPO=ghcr.io/acme/`).
    let repository = environment.get(env::KO_DOCKER_REPO).unwrap_or("").trim().trim_end_matches('/').to_owned();
    check_repository(&repository, naming)?;
    let target = if flags.local || repository.starts_with("ko.local") {
        let repository = if repository.is_empty() || !repository.starts_with("ko.local") {
            "ko.local".to_owned()
        } else {
            repository.clone()
        };
        Target::Daemon(repository)
    } else if repository.starts_with("kind.local") {
        Target::Kind(repository.clone())
    } else if flags.push {
        if repository.is_empty() {
            bail!(
                "KO_DOCKER_REPO is unset: set it to the repository to push to (e.g. `ghcr.io/acme`), or pass --push=false to build without pushing"
            );
        }
        Target::Registry(repository.clone())
    } else {
        Target::None
    };
    if flags.push_by_digest && !matches!(target, Target::Registry(_)) {
        bail!(
            "--push-by-digest pushes to a registry: set KO_DOCKER_REPO to one (not `ko.local`/`kind.local`) and keep --push"
        );
    }
    let repository = match &target {
        Target::Daemon(name) | Target::Kind(name) => name.clone(),
        _ => repository,
    };
    Ok((
        PublishSettings {
            repository,
            target,
            naming,
            tags,
            tag_only: flags.tag_only,
            insecure_registry: flags.insecure_registry,
            oci_layout_path: flags.oci_layout_path.clone(),
            oci_archive: flags.oci_archive.clone(),
            tarball: flags.tarball.clone(),
            oci_referrers: flags.oci_referrers,
            jobs,
        },
        warnings,
    ))
}

/// The base references from every source, each checked where it was given.
fn check_bases(flags: &BuildFlags, config: &KoConfig, environment: &Environment) -> Result<()> {
    let file = config.path.as_ref().map_or(".ko.yaml".to_owned(), |path| path.display().to_string());
    let mut bases: Vec<(String, &str)> = Vec::new();
    if let Some(base) = &flags.base_image {
        bases.push(("--base-image".into(), base));
    }
    if let Some(base) = environment.non_empty(env::KO_DEFAULTBASEIMAGE) {
        bases.push((env::KO_DEFAULTBASEIMAGE.into(), base));
    }
    if let Some(base) = &config.default_base_image {
        bases.push((format!("`{file}` defaultBaseImage"), base));
    }
    for (import_path, base) in &config.base_image_overrides {
        bases.push((format!("`{file}` baseImageOverrides[`{import_path}`]"), base));
    }
    for (origin, base) in bases {
        if base != BUILTIN_NAME && base != SCRATCH_NAME {
            Reference::parse(base).map_err(|error| anyhow!("{origin}: {error}"))?;
        }
    }
    Ok(())
}

/// `KO_DOCKER_REPO` (trailing `/` already dropped): empty, a registry alone (`host:port`, images
/// go right under it, as in ko, except with `--bare`), or a repository.
fn check_repository(repository: &str, naming: NamingStyle) -> Result<()> {
    let variable = env::KO_DOCKER_REPO;
    if repository.is_empty() {
        return Ok(());
    }
    let registry_only = !repository.contains('/')
        && (repository.contains(['.', ':']) || repository == "localhost")
        && !repository.contains("://");
    if registry_only {
        if naming == NamingStyle::Bare {
            bail!(
                "--bare names images `{variable}` itself, and {variable}=`{repository}` is only a registry: add a repository (e.g. `{repository}/app`)"
            );
        }
        return match Repository::parse(&format!("{repository}/app")) {
            Ok(_) => Ok(()),
            Err(ReferenceError::Invalid { reason, .. }) => {
                bail!("{variable}=`{repository}` is not a registry: {reason}")
            }
        };
    }
    let Err(ReferenceError::Invalid { reason, .. }) = Repository::parse(repository) else { return Ok(()) };
    let mut hint = String::new();
    if let Some(fixed) = suggestion(repository) {
        hint = format!("; set {variable} to `{fixed}`");
    }
    if repository.rsplit('/').next().is_some_and(|last| last.contains(':')) {
        hint.push_str(" and pass tags with -t/--tags");
    }
    bail!("{variable}=`{repository}` is not a valid repository: {reason}{hint}")
}

/// A repository like `text` that parses: lowercased, without scheme, tag, digest or empty
/// components.
fn suggestion(text: &str) -> Option<String> {
    let text = text.split_once("://").map_or(text, |(_, rest)| rest);
    let text = text.split_once('@').map_or(text, |(before, _)| before);
    let text = match text.rsplit_once('/') {
        Some((before, last)) => format!("{before}/{}", last.split_once(':').map_or(last, |(name, _)| name)),
        None => text.to_owned(),
    };
    let mut components = text.split('/').filter(|component| !component.is_empty());
    let registry = components.next()?.to_owned();
    let path: Vec<String> = components.map(str::to_ascii_lowercase).collect();
    let fixed = if path.is_empty() { registry } else { format!("{registry}/{}", path.join("/")) };
    Repository::parse(&fixed).ok().map(|_| fixed)
}

/// The image name of an import path, checked before anything is built (names come from
/// `KO_DOCKER_REPO`, `-P`/`-B`/`--bare` and the import path). Without `KO_DOCKER_REPO` (with
/// `--push=false`) names are never used as references and are not checked.
pub fn check_image_name(namer: &Namer, import_path: &ImportPath) -> Result<()> {
    if namer.repository.is_empty() {
        return Ok(());
    }
    let name = namer.name(import_path.as_str());
    if let Err(ReferenceError::Invalid { reason, .. }) = Repository::parse(&name) {
        bail!(
            "`{import_path}` would be named `{name}`, which is not a valid repository: {reason}; name it another way (-B, -P or --bare), shorten KO_DOCKER_REPO, or rename the package directory"
        );
    }
    Ok(())
}

/// An import path's base: `baseImageOverrides` (case-insensitive), else the default.
pub fn base_for(settings: &BuildSettings, import_path: &ImportPath) -> String {
    settings
        .base_overrides
        .get(&import_path.as_str().to_lowercase())
        .cloned()
        .unwrap_or_else(|| settings.default_base.clone())
}
