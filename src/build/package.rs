//! Resolving what the user asked to build (`./cmd/app`, `.`, `ko://example.com/app/cmd/x`, a
//! full import path) into an import path, its source directory and the directory `go build`
//! must run in, and checking it is a `package main` — by reading `go.mod` and the package
//! clauses directly, so the common case starts no `go list` subprocess. Paths outside the main
//! module fall back to `go list`. Depends on nothing else in rko but [`super::ImportPath`].

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::ImportPath;

/// The `ko://` scheme that marks import paths in YAML and on the command line.
pub const KO_SCHEME: &str = "ko://";

/// A Go package rko can build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoPackage {
    pub import_path: ImportPath,
    /// The package's source directory (where `kodata/` lives).
    pub directory: PathBuf,
    /// The root of the module that holds it, if it is in a local module.
    pub module_root: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackageError {
    #[error("`{reference}` does not exist: no directory `{}`; pass the path of a Go main package, like `./cmd/app`", directory.display())]
    NotFound { reference: String, directory: PathBuf },
    #[error("`{reference}` has no Go source files in `{}`; pass the directory of a `package main`", directory.display())]
    NoGoFiles { reference: String, directory: PathBuf },
    #[error("`{reference}` is `package {name}`, not `package main`: rko builds commands only")]
    NotMain { reference: String, name: String },
    #[error("`{reference}` is not inside a Go module: no `go.mod` in `{}` or above", directory.display())]
    NoModule { reference: String, directory: PathBuf },
    #[error("cannot find package `{reference}`: {message}")]
    GoList { reference: String, message: String },
    #[error("`{reference}` is not a Go package: {reason}")]
    NotAPackage { reference: String, reason: String },
    #[error("invalid import path `{0}`")]
    Invalid(String),
    #[error("`{0}` matches no `package main` below it")]
    NoMainPackages(String),
}

/// Is this a filesystem path (`.`, `./x`, `../x`, `/abs`) rather than an import path?
pub fn is_local(reference: &str) -> bool {
    reference == "."
        || reference == ".."
        || reference.starts_with("./")
        || reference.starts_with("../")
        || reference.starts_with('/')
}

/// Resolve `reference` relative to `base_directory`, using `go` only when the package lies
/// outside every local module.
pub fn resolve(base_directory: &Path, reference: &str, go: &Path) -> Result<GoPackage, PackageError> {
    let path = reference.strip_prefix(KO_SCHEME).unwrap_or(reference);
    if path.is_empty() || path.contains(['\\', '\0', ' ']) {
        return Err(PackageError::Invalid(reference.to_owned()));
    }
    let package = if is_local(path) {
        let directory = normalize(&base_directory.join(path));
        if !directory.is_dir() {
            return Err(PackageError::NotFound { reference: reference.to_owned(), directory });
        }
        let Some((module_root, module_path)) = find_module(&directory) else {
            // GOPATH mode (`GO111MODULE=off`): only `go list` knows the import path.
            return go_list(&directory, reference, ".", go)
                .map_err(|_| PackageError::NoModule { reference: reference.to_owned(), directory });
        };
        let relative = directory.strip_prefix(&module_root).unwrap_or(Path::new(""));
        let import_path = join_import_path(&module_path, relative);
        GoPackage { import_path: ImportPath::new(import_path), directory, module_root: Some(module_root) }
    } else {
        match find_module(base_directory) {
            Some((root, module_path)) if path == module_path || path.starts_with(&format!("{module_path}/")) => {
                let directory = root.join(path[module_path.len()..].trim_start_matches('/'));
                if !directory.is_dir() {
                    return Err(PackageError::NotFound { reference: reference.to_owned(), directory });
                }
                GoPackage { import_path: ImportPath::new(path.to_owned()), directory, module_root: Some(root) }
            }
            _ => return go_list(base_directory, reference, path, go),
        }
    };
    check_main(reference, &package.directory)?;
    Ok(package)
}

fn join_import_path(module_path: &str, relative: &Path) -> String {
    let mut import_path = module_path.to_owned();
    for component in relative.components() {
        if let Component::Normal(part) = component {
            import_path.push('/');
            import_path.push_str(&part.to_string_lossy());
        }
    }
    import_path
}

/// Lexically clean a path (`a/./b/../c` → `a/c`) without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !result.pop() {
                    result.push("..");
                }
            }
            other => result.push(other),
        }
    }
    result
}

/// The nearest `go.mod` at or above `directory`: its directory and module path.
pub fn find_module(directory: &Path) -> Option<(PathBuf, String)> {
    let mut current = Some(directory);
    while let Some(dir) = current {
        let go_mod = dir.join("go.mod");
        if let Ok(text) = std::fs::read_to_string(&go_mod) {
            return module_path(&text).map(|path| (dir.to_owned(), path));
        }
        current = dir.parent();
    }
    None
}

/// The `module` directive of a `go.mod` file (quoted or bare, comments ignored).
pub fn module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or("").trim();
        let rest = line.strip_prefix("module")?;
        if !rest.starts_with([' ', '\t', '"']) {
            return None;
        }
        let rest = rest.trim();
        let path = rest.trim_matches(|c| c == '"' || c == '`');
        (!path.is_empty()).then(|| path.to_owned())
    })
}

/// Fail unless the Go files in `directory` declare `package main`. Files excluded by a build
/// constraint only decide when no unconstrained file exists.
fn check_main(reference: &str, directory: &Path) -> Result<(), PackageError> {
    let mut unconstrained = Vec::new();
    let mut constrained = Vec::new();
    let entries = std::fs::read_dir(directory)
        .map_err(|_| PackageError::NotFound { reference: reference.to_owned(), directory: directory.to_owned() })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".go") || name.ends_with("_test.go") || name.starts_with(['_', '.']) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        let Some(clause) = package_clause(&text) else { continue };
        if clause.constrained || has_platform_suffix(&name) {
            constrained.push(clause.name);
        } else {
            unconstrained.push(clause.name);
        }
    }
    let names = if unconstrained.is_empty() { constrained } else { unconstrained };
    if names.is_empty() {
        return Err(PackageError::NoGoFiles { reference: reference.to_owned(), directory: directory.to_owned() });
    }
    match names.iter().find(|name| *name != "main") {
        None => Ok(()),
        Some(name) => Err(PackageError::NotMain { reference: reference.to_owned(), name: name.clone() }),
    }
}

struct PackageClause {
    name: String,
    constrained: bool,
}

/// Read the `package` clause after leading comments, noting a `//go:build` line.
fn package_clause(text: &str) -> Option<PackageClause> {
    let mut rest = text.trim_start_matches('\u{feff}');
    let mut constrained = false;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("//") {
            let (line, after) = comment.split_once('\n').unwrap_or((comment, ""));
            if line.starts_with("go:build") || line.trim_start().starts_with("+build") {
                constrained = true;
            }
            rest = after;
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/")?.1;
        } else {
            break;
        }
    }
    let rest = rest.strip_prefix("package")?;
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let name: String = rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(PackageClause { name, constrained })
}

/// `foo_linux.go`, `foo_arm64.go`, `foo_windows_amd64.go`: constrained by their name.
fn has_platform_suffix(file_name: &str) -> bool {
    const KNOWN: &[&str] = &[
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "illumos",
        "ios",
        "js",
        "linux",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "wasip1",
        "windows",
        "386",
        "amd64",
        "arm",
        "arm64",
        "loong64",
        "mips",
        "mips64",
        "mips64le",
        "mipsle",
        "ppc64",
        "ppc64le",
        "riscv64",
        "s390x",
        "wasm",
    ];
    let stem = file_name.trim_end_matches(".go");
    let parts: Vec<&str> = stem.split('_').collect();
    parts.len() > 1 && parts[1..].iter().any(|part| KNOWN.contains(part))
}

/// Expand a `...` pattern (`./...`, `./cmd/...`, `example.com/app/...`) into the import paths
/// of the main packages it matches, with Go's own rules (build constraints, nested modules,
/// `testdata`, `vendor`).
pub fn expand_pattern(base_directory: &Path, pattern: &str, go: &Path) -> Result<Vec<String>, PackageError> {
    let pattern = pattern.strip_prefix(KO_SCHEME).unwrap_or(pattern);
    let output = Command::new(go)
        .args(["list", "-e", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "--", pattern])
        .current_dir(base_directory)
        .output()
        .map_err(|error| PackageError::GoList {
            reference: pattern.to_owned(),
            message: format!("cannot run `{}`: {error}; install Go or set KO_GO_PATH", go.display()),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(PackageError::GoList {
            reference: pattern.to_owned(),
            message: stderr.lines().next().unwrap_or("failed").to_owned(),
        });
    }
    let matches: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if matches.is_empty() {
        return Err(PackageError::NoMainPackages(pattern.to_owned()));
    }
    Ok(matches)
}

/// What `go list -json` says about one package (the fields rko asks for).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Listed {
    import_path: String,
    name: String,
    dir: String,
    module: Option<ListedModule>,
    error: Option<ListedError>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ListedModule {
    dir: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ListedError {
    err: String,
}

/// Ask `go list` about a package outside the main module (a dependency, a workspace module or
/// a command of the standard library).
fn go_list(base_directory: &Path, reference: &str, path: &str, go: &Path) -> Result<GoPackage, PackageError> {
    let output = Command::new(go)
        .args(["list", "-find", "-e", "-json=ImportPath,Name,Dir,Module,Error", "--", path])
        .current_dir(base_directory)
        .output()
        .map_err(|error| PackageError::GoList {
            reference: reference.to_owned(),
            message: format!("cannot run `{}`: {error}; install Go or set KO_GO_PATH", go.display()),
        })?;
    let listed: Option<Listed> = serde_json::from_slice(&output.stdout).ok();
    let Some(listed) = listed.filter(|_| output.status.success()) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.lines().rev().map(str::trim).find(|line| !line.is_empty()).unwrap_or("`go list` failed");
        return Err(PackageError::GoList { reference: reference.to_owned(), message: message.to_owned() });
    };
    if let Some(error) = listed.error.as_ref().filter(|error| !error.err.is_empty()) {
        return Err(not_a_package(base_directory, reference, path, &error.err));
    }
    if listed.dir.is_empty() {
        return Err(not_a_package(base_directory, reference, path, "no such package"));
    }
    if listed.name != "main" {
        return Err(PackageError::NotMain { reference: reference.to_owned(), name: listed.name });
    }
    let module_root = listed.module.map(|module| module.dir).filter(|dir| !dir.is_empty()).map(PathBuf::from);
    Ok(GoPackage {
        import_path: ImportPath::new(listed.import_path),
        directory: PathBuf::from(listed.dir),
        module_root,
    })
}

/// Why `go list` could not place `path`, said in terms of what the user can change.
fn not_a_package(base_directory: &Path, reference: &str, path: &str, go_error: &str) -> PackageError {
    let first = go_error.lines().next().unwrap_or(go_error).trim();
    let standard = !path.split('/').next().unwrap_or(path).contains('.');
    let reason = if first.contains("is not in std") || (standard && first.contains("cannot find")) {
        format!(
            "it is not a directory path (those start with `./` or `/`), and as an import path it names the standard library, which has no package `{path}`"
        )
    } else if first.contains("cannot find module providing package") || first.contains("no required module provides") {
        match find_module(base_directory) {
            Some((_, module)) => format!(
                "it is not in the main module `{module}` or in any module it requires; check the import path, or add its module with `go get`"
            ),
            None => {
                format!("there is no `go.mod` in `{}` or above, and no module provides it", base_directory.display())
            }
        }
    } else {
        first.to_owned()
    };
    let hint = if base_directory.join(path).is_dir() && !path.contains("..") {
        format!("; did you mean `./{path}`?")
    } else if !path.contains(['/', '.']) && is_flag_value(path) {
        format!("; if it is a flag's value, write `--flag={path}` (after a space it counts as an import path)")
    } else {
        String::new()
    };
    PackageError::NotAPackage { reference: reference.to_owned(), reason: format!("{reason}{hint}") }
}

/// A word that is more likely a flag's value than a package (`--push false`).
fn is_flag_value(word: &str) -> bool {
    matches!(word.to_ascii_lowercase().as_str(), "true" | "false" | "t" | "f" | "0" | "1" | "yes" | "no" | "on" | "off")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(files: &[(&str, &str)]) -> tempfile::TempDir {
        let directory = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = directory.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        directory
    }

    #[test]
    fn local_paths_resolve_through_go_mod() {
        let dir = module(&[
            ("go.mod", "// comment\nmodule example.com/app // trailing\n\ngo 1.22\n"),
            ("cmd/hello/main.go", "// Copyright\n\n/* block */\npackage main\n\nfunc main() {}\n"),
            ("cmd/hello/main_test.go", "package main_test\n"),
            ("main.go", "package main\n"),
        ]);
        let go = Path::new("go-not-needed");
        let package = resolve(dir.path(), "./cmd/hello", go).unwrap();
        assert_eq!(package.import_path.as_str(), "example.com/app/cmd/hello");
        assert_eq!(package.directory, dir.path().join("cmd/hello"));
        assert_eq!(resolve(dir.path(), ".", go).unwrap().import_path.as_str(), "example.com/app");
        assert_eq!(
            resolve(&dir.path().join("cmd"), "../cmd/hello/", go).unwrap().import_path.as_str(),
            "example.com/app/cmd/hello"
        );
        let full = resolve(dir.path(), "ko://example.com/app/cmd/hello", go).unwrap();
        assert_eq!(full.directory, dir.path().join("cmd/hello"));
    }

    #[test]
    fn rejects_missing_and_non_main_packages() {
        let dir = module(&[
            ("go.mod", "module example.com/app\n"),
            ("lib/lib.go", "package lib\n"),
            ("gen/gen.go", "//go:build ignore\n\npackage main\n"),
            ("gen/lib.go", "package gen\n"),
            ("empty/README", "x"),
        ]);
        let go = Path::new("go-not-needed");
        assert!(matches!(resolve(dir.path(), "./nope", go), Err(PackageError::NotFound { .. })));
        assert_eq!(
            resolve(dir.path(), "./lib", go).unwrap_err(),
            PackageError::NotMain { reference: "./lib".into(), name: "lib".into() }
        );
        assert!(matches!(resolve(dir.path(), "./gen", go), Err(PackageError::NotMain { .. })));
        assert!(matches!(resolve(dir.path(), "./empty", go), Err(PackageError::NoGoFiles { .. })));
        assert!(matches!(resolve(dir.path(), "example.com/app/nope", go), Err(PackageError::NotFound { .. })));
    }

    #[test]
    fn reads_module_directive_forms() {
        assert_eq!(module_path("module \"example.com/q\"\n").as_deref(), Some("example.com/q"));
        assert_eq!(module_path("modules x\nmodule\texample.com/t\n").as_deref(), Some("example.com/t"));
        assert_eq!(module_path("go 1.22\n"), None);
    }
}
