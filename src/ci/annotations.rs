//! Annotations from build output: `go build` / `go vet` error lines (`./main.go:12:5: undefined:
//! x`, `# example.com/app` package headers, `vet: ` prefixes, indented continuation lines) and
//! rko's `.ko.yaml` errors (`` `file`:line:column: message ``), with file names made relative to
//! the workspace (`GITHUB_WORKSPACE`) so the run page links them. Pure text processing.

use std::path::{Component, Path, PathBuf};

use super::github::{Annotation, AnnotationLevel};
use crate::config::ConfigError;

/// Where relative file names in compiler output start, and what annotations are relative to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    /// The directory `go build` ran in.
    pub build_directory: PathBuf,
    /// The checkout (`GITHUB_WORKSPACE`); files outside it keep their absolute name.
    pub workspace: Option<PathBuf>,
}

/// Resolve `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !normalized.pop() {
                    normalized.push("..");
                }
            }
            other => normalized.push(other),
        }
    }
    normalized
}

impl Paths {
    /// `file` as the run page wants it: relative to the workspace with `/`, when inside it.
    pub fn relative(&self, file: &str) -> String {
        let path = Path::new(file);
        let absolute = normalize(&if path.is_absolute() { path.to_owned() } else { self.build_directory.join(path) });
        let relative = self.workspace.as_ref().and_then(|workspace| absolute.strip_prefix(normalize(workspace)).ok());
        let shown = relative.unwrap_or(&absolute);
        shown.to_string_lossy().replace('\\', "/")
    }
}

/// A `file:line[:column]: message` position, if `line` is one.
fn position(line: &str) -> Option<(&str, u32, Option<u32>, &str)> {
    // Skip a Windows drive (`C:\...`) so its colon is not the separator.
    let drive = usize::from(line.as_bytes().get(1) == Some(&b':') && line.as_bytes().get(2) == Some(&b'\\')) * 2;
    let first = drive + line[drive..].find(':')?;
    let file = &line[..first];
    if file.is_empty() || file.starts_with(char::is_whitespace) || file.contains(": ") {
        return None;
    }
    let rest = &line[first + 1..];
    let (line_number, rest) = rest.split_once(':')?;
    let line_number = line_number.parse().ok()?;
    match rest.split_once(':') {
        Some((column, message)) if !column.is_empty() && column.bytes().all(|byte| byte.is_ascii_digit()) => {
            Some((file, line_number, column.parse().ok(), message.trim_start()))
        }
        _ if rest.starts_with(' ') => Some((file, line_number, None, rest.trim_start())),
        _ => None,
    }
}

/// Annotations for `go build` (or `go vet`) output: one per positioned error, titled with the
/// package from the preceding `# package` header; indented lines continue the last message.
pub fn go_output(output: &str, paths: &Paths) -> Vec<Annotation> {
    let mut annotations: Vec<Annotation> = Vec::new();
    let mut package: Option<&str> = None;
    let mut continuing = false;
    for line in output.lines() {
        if let Some(header) = line.strip_prefix("# ") {
            package = Some(header.trim());
            continuing = false;
            continue;
        }
        if line.starts_with(['\t', ' ']) {
            if continuing && let Some(last) = annotations.last_mut() {
                last.message.push('\n');
                last.message.push_str(line.trim());
            }
            continue;
        }
        let (tool, text) = match line.strip_prefix("vet: ") {
            Some(text) => ("go vet", text),
            None => ("go build", line),
        };
        continuing = false;
        let Some((file, line_number, column, message)) = position(text) else { continue };
        let mut annotation = Annotation::new(AnnotationLevel::Error, message);
        annotation.title = Some(package.map_or_else(|| tool.to_owned(), |package| format!("{tool}: {package}")));
        annotation.file = Some(paths.relative(file));
        annotation.line = Some(line_number);
        annotation.column = column;
        annotations.push(annotation);
        continuing = true;
    }
    annotations
}

/// An annotation for one line of rko's error output when it has the `.ko.yaml` error form
/// `` `file`:line:column: message `` (after any `error: ` or context prefix).
pub fn located_error(line: &str, paths: &Paths) -> Option<Annotation> {
    let start = line.find('`')?;
    let rest = &line[start + 1..];
    let end = rest.find("`:")?;
    let (file, after) = (&rest[..end], &rest[end + 2..]);
    let (line_number, after) = after.split_once(':')?;
    let (column, message) = after.split_once(": ")?;
    let mut annotation = Annotation::new(AnnotationLevel::Error, message.trim());
    annotation.title = Some("rko".to_owned());
    annotation.file = Some(paths.relative(file));
    annotation.line = Some(line_number.parse().ok()?);
    annotation.column = Some(column.parse().ok()?);
    Some(annotation)
}

/// The annotation for a `.ko.yaml` error, when it has a position.
pub fn config_error(error: &ConfigError, paths: &Paths) -> Option<Annotation> {
    let ConfigError::Invalid { path, line, column, message } = error else { return None };
    let mut annotation = Annotation::new(AnnotationLevel::Error, message.clone());
    annotation.title = Some("rko: invalid config".to_owned());
    annotation.file = Some(paths.relative(&path.to_string_lossy()));
    annotation.line = u32::try_from(*line).ok();
    annotation.column = u32::try_from(*column).ok();
    Some(annotation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            build_directory: PathBuf::from("/home/runner/work/app/app/cmd/server"),
            workspace: Some(PathBuf::from("/home/runner/work/app/app/")),
        }
    }

    #[test]
    fn paths_become_relative_to_the_workspace() {
        let paths = paths();
        assert_eq!(paths.relative("./main.go"), "cmd/server/main.go");
        assert_eq!(paths.relative("../../internal/x.go"), "internal/x.go");
        assert_eq!(paths.relative("/home/runner/work/app/app/go.mod"), "go.mod");
        assert_eq!(paths.relative("/usr/lib/go/src/fmt/print.go"), "/usr/lib/go/src/fmt/print.go");
        let no_workspace = Paths { build_directory: PathBuf::from("/src"), workspace: None };
        assert_eq!(no_workspace.relative("a/../b.go"), "/src/b.go");
    }

    #[test]
    fn go_build_errors_become_annotations() {
        let output = "\
# example.com/app/cmd/server
./main.go:12:5: undefined: x
./main.go:20:2: cannot use y (variable of type int) as string value in argument to f
\thave (int)
\twant (string)
../../internal/db.go:3:2: \"os\" imported and not used
main.go:7: too many arguments
too many errors
";
        let annotations = go_output(output, &paths());
        assert_eq!(annotations.len(), 4);
        let first = &annotations[0];
        assert_eq!(
            first.command(),
            "::error title=go build%3A example.com/app/cmd/server,file=cmd/server/main.go,line=12,col=5::undefined: x"
        );
        assert_eq!(
            annotations[1].message,
            "cannot use y (variable of type int) as string value in argument to f\nhave (int)\nwant (string)"
        );
        assert_eq!(annotations[2].file.as_deref(), Some("internal/db.go"));
        assert_eq!(annotations[2].message, "\"os\" imported and not used");
        assert_eq!((annotations[3].line, annotations[3].column), (Some(7), None));
    }

    #[test]
    fn vet_lines_and_windows_paths() {
        let annotations =
            go_output("vet: ./main.go:5:2: unreachable code\nC:\\src\\main.go:1:2: bad", &Paths::default());
        assert_eq!(annotations[0].title.as_deref(), Some("go vet"));
        assert_eq!((annotations[0].line, annotations[0].column), (Some(5), Some(2)));
        assert_eq!(annotations[0].message, "unreachable code");
        assert_eq!(annotations[1].line, Some(1));
        assert_eq!(annotations[1].message, "bad");
    }

    #[test]
    fn other_lines_are_not_annotations() {
        let output =
            "go: downloading example.com/x v1.0.0\nnote: module requires Go 1.22\nhttp://example.com:80: x\n\tstray";
        assert!(go_output(output, &paths()).is_empty());
    }

    #[test]
    fn config_errors_name_file_line_and_column() {
        let line = "error: `/home/runner/work/app/app/.ko.yaml`:3:5: invalid type: expected a sequence";
        let annotation = located_error(line, &paths()).unwrap();
        assert_eq!(
            annotation.command(),
            "::error title=rko,file=.ko.yaml,line=3,col=5::invalid type: expected a sequence"
        );
        assert_eq!(located_error("error: `KO_DOCKER_REPO` is not set", &paths()), None);

        let error = ConfigError::Invalid {
            path: PathBuf::from("/home/runner/work/app/app/.ko.yaml"),
            line: 3,
            column: 5,
            message: "unknown".to_owned(),
        };
        let annotation = config_error(&error, &paths()).unwrap();
        assert_eq!(
            (annotation.file.as_deref(), annotation.line, annotation.column),
            (Some(".ko.yaml"), Some(3), Some(5))
        );
        assert_eq!(config_error(&ConfigError::IsDirectory(PathBuf::from("/x")), &paths()), None);
    }
}
