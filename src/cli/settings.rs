//! Settings are resolved once, here: flags over environment over `.ko.yaml` over defaults, into
//! validated values the wiring hands to the library. Every rule of precedence ko has lives in
//! this file, and every bad input fails here with one clear line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::args::{BuildFlags, PublishFlags};
use crate::base::builtin::{BUILTIN_NAME, SCRATCH_NAME};
use crate::build::go;
use crate::build::gobuilder::BuildSpec;
use crate::build::package::{self, GoPackage};
use crate::build::{ImportPath, PlatformRequest};
use crate::config::KoConfig;
use crate::env::{self, Environment};
use crate::image::Platform;
use crate::image::gotime::Time;
use crate::image::layer::Compression;
use crate::image::reference::{Reference, ReferenceError, Repository, valid_tag};
use crate::publish::{Namer, NamingStyle};
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
    /// `RKO_CACHE_MAX_SIZE` in bytes.
    pub cache_max_size: u64,
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

/// `RKO_CACHE_MAX_SIZE`: bytes, or a number with a unit (`KB`, `MB`, `GB`, `TB` in powers of
/// 1000, `KiB` … `TiB` in powers of 1024; the `B` is optional, case is ignored).
fn cache_max_size(environment: &Environment) -> Result<u64> {
    let Some(text) = environment.non_empty(env::RKO_CACHE_MAX_SIZE) else {
        return Ok(crate::cache::DEFAULT_MAX_SIZE);
    };
    let lower = text.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let multiplier: f64 = match unit.trim().trim_end_matches('b') {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "ki" => 1024.0,
        "mi" => 1024.0 * 1024.0,
        "gi" => 1024.0 * 1024.0 * 1024.0,
        "ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(number) if multiplier.is_finite() && number >= 0.0 => Ok((number * multiplier) as u64),
        _ => bail!(
            "{}=`{text}` is not a size: write bytes or a number with a unit, like `5GB` or `500MiB`",
            env::RKO_CACHE_MAX_SIZE
        ),
    }
}

/// The platforms to build: `--platform`, else `KO_DEFAULTPLATFORMS`/`defaultPlatforms`, else
/// the platform `GOOS`/`GOARCH`/`GOARM`/`GOAMD64` describe, else `linux/amd64`. `go build`
/// always gets the platform's variables, so a list overrides those in the environment: with
/// `--platform` that is said in a warning; with the defaults it is refused for
/// `GOOS`/`GOARCH`/`GOARM`, as ko refuses it.
fn platforms(
    flags: &BuildFlags,
    config: &KoConfig,
    environment: &Environment,
    warnings: &mut Warnings,
) -> Result<PlatformRequest> {
    let from_flag = !flags.platform.iter().all(|p| p.trim().is_empty());
    let explicit: Vec<String> = if from_flag {
        flags.platform.clone()
    } else if let Some(value) = environment.non_empty(env::KO_DEFAULTPLATFORMS) {
        value.split(',').map(|s| s.trim().to_owned()).collect()
    } else {
        config.default_platforms.clone().unwrap_or_default()
    };
    let explicit: Vec<String> = explicit.into_iter().filter(|s| !s.is_empty()).collect();
    if explicit.is_empty() {
        return Ok(PlatformRequest::List(vec![environment_platform(environment)?]));
    }
    let request = if explicit.iter().any(|p| p == "all") {
        if explicit.len() > 1 {
            bail!("--platform `all` cannot be combined with other platforms (`{}`)", explicit.join(","));
        }
        PlatformRequest::All
    } else {
        PlatformRequest::List(explicit.iter().map(|text| Platform::parse_buildable(text)).collect::<Result<_, _>>()?)
    };
    let overridden = overridden_variables(environment, &request)?;
    if from_flag {
        if !overridden.is_empty() {
            warnings.push(format!(
                "ignoring {} from the environment: --platform chooses what `go build` targets",
                overridden.join(", ")
            ));
        }
    } else {
        for name in [env::GOOS, env::GOARCH, env::GOARM] {
            if let Some(value) = environment.get(name) {
                bail!(
                    "cannot combine a platform list (KO_DEFAULTPLATFORMS or defaultPlatforms) with {name}=`{value}`; unset {name}, drop the list, or pass --platform"
                );
            }
        }
        if !overridden.is_empty() {
            warnings.push(format!(
                "ignoring {} from the environment: the platform list chooses what `go build` targets (e.g. `linux/amd64/v3`)",
                overridden.join(", ")
            ));
        }
    }
    Ok(request)
}

/// The platform `GOOS`/`GOARCH` (defaulting to `linux`/`amd64` each) and `GOARM` (for arm) or
/// `GOAMD64` (for amd64) describe.
fn environment_platform(environment: &Environment) -> Result<Platform> {
    let os = environment.non_empty(env::GOOS).unwrap_or("linux");
    let architecture = environment.non_empty(env::GOARCH).unwrap_or("amd64");
    let variant = match (architecture, environment.non_empty(env::GOARM), environment.non_empty(env::GOAMD64)) {
        ("arm", Some(goarm), _) => match goarm.split(',').next() {
            Some(version @ ("5" | "6" | "7")) => format!("v{version}"),
            _ => bail!("GOARM=`{goarm}` is not an ARM version Go builds for: use 5, 6 or 7"),
        },
        ("amd64", _, Some(level)) => match level {
            "v1" => String::new(),
            "v2" | "v3" | "v4" => level.to_owned(),
            _ => bail!("GOAMD64=`{level}` is not an amd64 level Go builds for: use v1, v2, v3 or v4"),
        },
        _ => String::new(),
    };
    let text =
        [os, architecture, &variant].iter().filter(|part| !part.is_empty()).copied().collect::<Vec<_>>().join("/");
    Platform::parse_buildable(&text).with_context(|| format!("the platform from GOOS/GOARCH is `{text}`"))
}

/// `NAME=`value`` for each of `GOOS`/`GOARCH`/`GOARM`/`GOAMD64` in the environment that some
/// platform of `request` sets otherwise.
fn overridden_variables(environment: &Environment, request: &PlatformRequest) -> Result<Vec<String>> {
    let mut overridden = Vec::new();
    for name in [env::GOOS, env::GOARCH, env::GOARM, env::GOAMD64] {
        let Some(value) = environment.non_empty(name) else { continue };
        let differs = match request {
            PlatformRequest::All => true,
            PlatformRequest::List(list) => {
                let mut differs = false;
                for platform in list {
                    // Without an architecture, the base's children decide them all.
                    let variables = go::platform_variables(platform)?;
                    differs |= (platform.architecture.is_empty() && name != env::GOOS)
                        || variables.iter().any(|(key, wanted)| *key == name && !go::same_setting(key, value, wanted));
                }
                differs
            }
        };
        if differs {
            overridden.push(format!("{name}=`{value}`"));
        }
    }
    Ok(overridden)
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
    let platforms = platforms(flags, config, environment, &mut warnings)?;
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
        cache_max_size: cache_max_size(environment)?,
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
    let latest = ["latest".to_owned()];
    let requested = if flags.tags.is_empty() { &latest[..] } else { &flags.tags[..] };
    for tag in requested {
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
