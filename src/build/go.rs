//! Running `go build` exactly as ko does: the same arguments (`flags`, `-trimpath`, optional
//! `-gcflags all=-N -l`, `-ldflags=…`, `-o OUT IMPORTPATH`), the same environment
//! (`CGO_ENABLED=0`, then the process environment, then the build's `env`, last one winning),
//! except that the platform's `GOOS`/`GOARCH`/`GOARM`/`GOAMD64` always win (ko lets the
//! environment override them and mislabels the image), `-toolexec` refused, and the compiler
//! output shown only on failure. Depends on `image` (platforms) only.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Stdio;

use crate::image::Platform;

#[derive(Debug, thiserror::Error)]
pub enum GoError {
    #[error("`{0}` is not allowed in build flags: rko, like ko, refuses to run an arbitrary tool around the compiler")]
    Toolexec(String),
    #[error("GOFLAGS sets `{0}`, which rko, like ko, refuses: unset it for rko")]
    ToolexecInGoflags(String),
    #[error("invalid platform variant `{variant}` for `{platform}`: expected `v` and a number, like `v7`")]
    Variant { platform: String, variant: String },
    #[error("invalid build `env` entry `{0}`: expected `KEY=VALUE`")]
    EnvEntry(String),
    #[error(
        "{place} sets `{setting}`, but this build is for `{platform}`: remove it from `env` and choose platforms with --platform or defaultPlatforms"
    )]
    PlatformVariable { place: String, setting: String, platform: String },
    #[error("cannot run `{go}`: {message}; install Go or set KO_GO_PATH to the go binary")]
    Spawn { go: String, message: String },
    #[error("`go build` failed for `{import_path}` ({platform}):\n{output}")]
    Failed { import_path: String, platform: String, output: String },
}

/// The environment `go build` runs with, in order (later entries win, as for `os/exec`):
/// `CGO_ENABLED=0`, the process environment, the build's `env` (`place` names it in errors),
/// and last the platform's `GOOS`/`GOARCH`/`GOARM`/`GOAMD64`, so that nothing can build a
/// binary for another platform than the image says. A build `env` that sets one of those to
/// another value is refused.
pub fn build_environment(
    platform: &Platform,
    process: &[(OsString, OsString)],
    build_env: &[String],
    place: &str,
) -> Result<Vec<(OsString, OsString)>, GoError> {
    let platform_variables = platform_variables(platform)?;
    let mut environment: Vec<(OsString, OsString)> = vec![("CGO_ENABLED".into(), "0".into())];
    environment.extend(process.iter().cloned());
    for entry in build_env {
        let (key, value) = entry.split_once('=').ok_or_else(|| GoError::EnvEntry(entry.clone()))?;
        if let Some((_, wanted)) = platform_variables.iter().find(|(name, _)| *name == key)
            && !same_setting(key, value, wanted)
        {
            return Err(GoError::PlatformVariable {
                place: place.to_owned(),
                setting: entry.clone(),
                platform: platform.to_string(),
            });
        }
        environment.push((key.into(), value.into()));
    }
    for (key, value) in platform_variables {
        // A `GOARM` naming the same version may add the float ABI (`7,softfloat`): keep it.
        let inherited = environment.iter().rev().find(|(name, _)| os_str_eq(name, key)).and_then(|(_, v)| v.to_str());
        let value = match inherited {
            Some(inherited) if key == "GOARM" && same_setting(key, inherited, &value) => inherited.to_owned(),
            _ => value,
        };
        environment.push((key.into(), value.into()));
    }
    let goflags = environment.iter().rev().find(|(key, _)| key == "GOFLAGS").map(|(_, value)| value.to_string_lossy());
    if let Some(goflags) = goflags
        && let Some(flag) = goflags.split_whitespace().find(|flag| is_toolexec(flag))
    {
        return Err(GoError::ToolexecInGoflags(flag.to_owned()));
    }
    Ok(environment)
}

/// The variables that make Go build for `platform`: `GOOS`, `GOARCH`, and for arm `GOARM`
/// (ko's rule for the variant; 7, what `linux/arm` means, without one), for amd64 `GOAMD64`
/// (the variant, `v1` without one).
pub fn platform_variables(platform: &Platform) -> Result<Vec<(&'static str, String)>, GoError> {
    let mut variables = vec![("GOOS", platform.os.clone())];
    if !platform.architecture.is_empty() {
        variables.push(("GOARCH", platform.architecture.clone()));
    }
    match (platform.architecture.as_str(), platform.variant.as_str()) {
        ("arm", "") => variables.push(("GOARM", "7".into())),
        ("arm", _) => variables.extend(goarm(platform)?.map(|goarm| ("GOARM", goarm))),
        ("amd64", "") => variables.push(("GOAMD64", "v1".into())),
        ("amd64", variant) => variables.push(("GOAMD64", variant.to_owned())),
        _ => {}
    }
    Ok(variables)
}

/// Whether `value` of the platform variable `key` builds what `wanted` builds.
pub fn same_setting(key: &str, value: &str, wanted: &str) -> bool {
    match key {
        "GOARM" => value.split(',').next() == Some(wanted),
        _ => value == wanted,
    }
}

/// The last value of each variable, as the child process will see it.
pub fn effective(environment: &[(OsString, OsString)]) -> BTreeMap<String, String> {
    environment.iter().filter_map(|(key, value)| Some((key.to_str()?.to_owned(), value.to_str()?.to_owned()))).collect()
}

/// ko's `getGoarm`: `vN` → `N` for 5 ≤ N ≤ 7, 7 above that, nothing below 5.
fn goarm(platform: &Platform) -> Result<Option<String>, GoError> {
    let invalid = || GoError::Variant { platform: platform.to_string(), variant: platform.variant.clone() };
    let number: u32 = platform.variant.strip_prefix('v').ok_or_else(invalid)?.parse().map_err(|_| invalid())?;
    Ok(match number {
        0..=4 => None,
        5..=7 => Some(number.to_string()),
        _ => Some("7".into()),
    })
}

fn is_toolexec(flag: &str) -> bool {
    ["-toolexec", "--toolexec"].iter().any(|prefix| flag == *prefix || flag.starts_with(&format!("{prefix}=")))
}

/// `go build` arguments after `build`, in ko's order.
pub fn build_arguments(
    flags: &[String],
    ldflags: &[String],
    disable_optimizations: bool,
    output: &Path,
    import_path: &str,
) -> Result<Vec<OsString>, GoError> {
    let mut arguments: Vec<String> = flags.to_vec();
    arguments.push("-trimpath".into());
    if disable_optimizations {
        arguments.extend(["-gcflags".into(), "all=-N -l".into()]);
    }
    if !ldflags.is_empty() {
        arguments.push(format!("-ldflags={}", ldflags.join(" ")));
    }
    if let Some(flag) = arguments.iter().find(|flag| is_toolexec(flag)) {
        return Err(GoError::Toolexec(flag.clone()));
    }
    let mut result: Vec<OsString> = vec!["build".into()];
    result.extend(arguments.into_iter().map(OsString::from));
    result.extend(["-o".into(), output.as_os_str().to_owned(), import_path.into()]);
    Ok(result)
}

/// Run `go` with `arguments` in `directory`; the combined output is returned only on failure.
pub async fn run(
    go: &Path,
    directory: &Path,
    arguments: &[OsString],
    environment: &[(OsString, OsString)],
    import_path: &str,
    platform: &Platform,
) -> Result<(), GoError> {
    let mut command = tokio::process::Command::new(go);
    command.args(arguments).current_dir(directory).env_clear().stdin(Stdio::null()).kill_on_drop(true);
    for (key, value) in environment {
        command.env(key, value);
    }
    let output = command.output().await.map_err(|error| GoError::Spawn {
        go: go.display().to_string(),
        message: if error.kind() == std::io::ErrorKind::NotFound { "not found".into() } else { error.to_string() },
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(GoError::Failed {
        import_path: import_path.to_owned(),
        platform: platform.to_string(),
        output: text.trim_end().lines().map(|line| format!("    {line}")).collect::<Vec<_>>().join("\n"),
    })
}

/// `go env` as a map, run once per process when a template asks for `.GoEnv`.
pub async fn go_env(
    go: &Path,
    directory: &Path,
    environment: &[(OsString, OsString)],
) -> Result<BTreeMap<String, String>, GoError> {
    let mut command = tokio::process::Command::new(go);
    command.args(["env", "-json"]).current_dir(directory).env_clear().stdin(Stdio::null());
    for (key, value) in environment {
        command.env(key, value);
    }
    let spawn = |message: String| GoError::Spawn { go: go.display().to_string(), message };
    let output = command.output().await.map_err(|error| spawn(error.to_string()))?;
    if !output.status.success() {
        return Err(spawn(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| spawn(format!("unreadable `go env -json` output: {error}")))
}

/// ko's app file name: the import path's last element, `ko-app` when there is none.
pub fn app_name(import_path: &str) -> String {
    match import_path.rsplit('/').next() {
        Some("") | Some(".") | None => "ko-app".into(),
        Some(name) => name.into(),
    }
}

pub fn os_str_eq(left: &OsStr, right: &str) -> bool {
    left.to_str() == Some(right)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(platform: &str, process: &[(&str, &str)], build: &[&str]) -> Result<BTreeMap<String, String>, GoError> {
        let process: Vec<(OsString, OsString)> = process.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        let build: Vec<String> = build.iter().map(|s| (*s).to_owned()).collect();
        build_environment(&Platform::parse(platform).unwrap(), &process, &build, "`defaultEnv`")
            .map(|env| effective(&env))
    }

    #[test]
    fn environment_follows_ko() {
        let env = env_of("linux/arm/v8", &[("HOME", "/h")], &[]).unwrap();
        assert_eq!(env["GOARM"], "7");
        assert_eq!(env["CGO_ENABLED"], "0");
        assert_eq!(env_of("linux/arm/v6", &[], &[]).unwrap()["GOARM"], "6");
        assert!(!env_of("linux/arm/v4", &[], &[]).unwrap().contains_key("GOARM"));
        assert_eq!(env_of("linux/amd64/v3", &[], &[]).unwrap()["GOAMD64"], "v3");
        assert!(!env_of("linux/arm64/v8", &[], &[]).unwrap().contains_key("GOARM"));
        let env = env_of("linux/amd64", &[("CGO_ENABLED", "1")], &["GOARCH=amd64", "X=a=b"]).unwrap();
        assert_eq!((env["CGO_ENABLED"].as_str(), env["GOARCH"].as_str(), env["X"].as_str()), ("1", "amd64", "a=b"));
        assert!(matches!(env_of("linux/arm/7", &[], &[]), Err(GoError::Variant { .. })));
        assert!(matches!(env_of("linux/amd64", &[], &["NOEQUALS"]), Err(GoError::EnvEntry(_))));
    }

    #[test]
    fn the_platform_always_wins() {
        let inherited = [("GOOS", "windows"), ("GOARCH", "arm64"), ("GOARM", "5"), ("GOAMD64", "v3")];
        let env = env_of("linux/amd64", &inherited, &[]).unwrap();
        assert_eq!((env["GOOS"].as_str(), env["GOARCH"].as_str(), env["GOAMD64"].as_str()), ("linux", "amd64", "v1"));
        let env = env_of("linux/arm", &inherited, &[]).unwrap();
        assert_eq!((env["GOARCH"].as_str(), env["GOARM"].as_str()), ("arm", "7"));
        assert_eq!(env_of("linux/arm/v7", &[("GOARM", "7,softfloat")], &[]).unwrap()["GOARM"], "7,softfloat");
        assert_eq!(env_of("linux/arm/v6", &[("GOARM", "7,softfloat")], &[]).unwrap()["GOARM"], "6");
        for (platform, setting) in [
            ("linux/amd64", "GOARCH=arm64"),
            ("linux/amd64", "GOOS=windows"),
            ("linux/arm/v7", "GOARM=6"),
            ("linux/amd64", "GOAMD64=v3"),
        ] {
            match env_of(platform, &[], &[setting]) {
                Err(GoError::PlatformVariable { place, setting: refused, .. }) => {
                    assert_eq!((place.as_str(), refused.as_str()), ("`defaultEnv`", setting))
                }
                other => panic!("{platform} with {setting}: {other:?}"),
            }
        }
        // Settings that agree with the platform, or do not concern it, are fine.
        for (platform, setting) in
            [("linux/arm64", "GOARM=6"), ("linux/arm/v7", "GOARM=7,hardfloat"), ("linux/amd64", "GOAMD64=v1")]
        {
            assert!(env_of(platform, &[], &[setting]).is_ok(), "{platform} with {setting}");
        }
    }

    #[test]
    fn toolexec_is_refused_everywhere() {
        for flag in ["-toolexec", "--toolexec", "-toolexec=x", "--toolexec=y"] {
            assert!(matches!(
                build_arguments(&[flag.into()], &[], false, Path::new("o"), "x"),
                Err(GoError::Toolexec(_))
            ));
        }
        assert!(build_arguments(&["-toolexecx".into()], &[], false, Path::new("o"), "x").is_ok());
        assert!(matches!(
            env_of("linux/amd64", &[("GOFLAGS", "-mod=mod -toolexec=x")], &[]),
            Err(GoError::ToolexecInGoflags(_))
        ));
    }

    #[test]
    fn arguments_in_ko_order() {
        let arguments = build_arguments(
            &["-v".into()],
            &["-s".into(), "-X main.v=1".into()],
            true,
            Path::new("/o/app"),
            "example.com/x",
        )
        .unwrap();
        let arguments: Vec<_> = arguments.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            arguments,
            [
                "build",
                "-v",
                "-trimpath",
                "-gcflags",
                "all=-N -l",
                "-ldflags=-s -X main.v=1",
                "-o",
                "/o/app",
                "example.com/x"
            ]
        );
    }

    #[test]
    fn app_names() {
        assert_eq!(app_name("example.com/app/cmd/hello"), "hello");
        assert_eq!(app_name("example.com/app/v2"), "v2");
        assert_eq!(app_name("."), "ko-app");
    }
}
