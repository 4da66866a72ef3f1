//! The build information of a Go binary as data, parsed from and printed to
//! the text format of Go's `runtime/debug.BuildInfo` (`ParseBuildInfo` and
//! `String`). Part of the `gobinary` module; depends on nothing else in rko.

use std::fmt;

use super::quote::{quote, quoted_prefix, unquote};

/// The build information embedded in a Go binary, as Go's
/// `runtime/debug.BuildInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// Version of the Go toolchain that built the binary, e.g. `go1.27.3`.
    pub go_version: String,
    /// Package path of the main package, e.g. `example.com/cmd/app`.
    pub path: String,
    /// The module holding the main package.
    pub main: Module,
    /// Every module, direct or indirect, that contributed packages.
    pub deps: Vec<Module>,
    /// Build settings (`-ldflags`, `GOOS`, `vcs.revision`, ...) in order.
    pub settings: Vec<(String, String)>,
}

/// One module of a build, as Go's `runtime/debug.Module`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Module version, `(devel)` for the main module of a local build.
    pub version: String,
    /// Checksum (`h1:...`), empty when unknown.
    pub sum: String,
    /// The module this one was replaced by, if any.
    pub replace: Option<Box<Module>>,
}

/// Why the text form of build information could not be parsed; the line
/// number counts from 1 like Go's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ModinfoError {
    /// The line that could not be parsed.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Which module the next `=>` line replaces.
#[derive(Clone, Copy)]
enum LastModule {
    None,
    Main,
    Dependency(usize),
}

impl BuildInfo {
    /// Parses the text written by Go's `BuildInfo.String` (the modinfo
    /// string stored in binaries, sentinels already removed), exactly as
    /// Go's `debug.ParseBuildInfo`: unknown lines are ignored, a last line
    /// without a newline is ignored, and `go_version` is left empty.
    pub fn parse(modinfo: &str) -> Result<BuildInfo, ModinfoError> {
        let mut info = BuildInfo::default();
        let mut last = LastModule::None;
        let mut rest = modinfo;
        let mut line_number = 1;
        while let Some((line, after)) = rest.split_once('\n') {
            rest = after;
            let fail = |reason: String| ModinfoError { line: line_number, reason };
            if let Some(path) = line.strip_prefix("path\t") {
                info.path = path.to_string();
            } else if let Some(columns) = line.strip_prefix("mod\t") {
                info.main = parse_module(columns).map_err(fail)?;
                last = LastModule::Main;
            } else if let Some(columns) = line.strip_prefix("dep\t") {
                info.deps.push(parse_module(columns).map_err(fail)?);
                last = LastModule::Dependency(info.deps.len() - 1);
            } else if let Some(columns) = line.strip_prefix("=>\t") {
                let elements: Vec<&str> = columns.split('\t').collect();
                let [path, version, sum] = elements[..] else {
                    return Err(fail(format!("expected 3 columns for replacement; got {}", elements.len())));
                };
                let replacement = Some(Box::new(Module {
                    path: path.to_string(),
                    version: version.to_string(),
                    sum: sum.to_string(),
                    replace: None,
                }));
                match last {
                    LastModule::None => {
                        return Err(fail("replacement with no module on previous line".into()));
                    }
                    LastModule::Main => info.main.replace = replacement,
                    LastModule::Dependency(index) => info.deps[index].replace = replacement,
                }
                last = LastModule::None;
            } else if let Some(setting) = line.strip_prefix("build\t") {
                info.settings.push(parse_setting(setting).map_err(fail)?);
            }
            line_number += 1;
        }
        Ok(info)
    }

    /// The value of the build setting `key` (the last one, if repeated).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }
}

fn parse_module(columns: &str) -> Result<Module, String> {
    let elements: Vec<&str> = columns.split('\t').collect();
    match elements[..] {
        [path, version] | [path, version, _] => Ok(Module {
            path: path.to_string(),
            version: version.to_string(),
            sum: elements.get(2).copied().unwrap_or_default().to_string(),
            replace: None,
        }),
        _ => Err(format!("expected 2 or 3 columns; got {}", elements.len())),
    }
}

fn parse_setting(setting: &str) -> Result<(String, String), String> {
    let (key, raw_value) = match setting.as_bytes().first() {
        None => return Err("build line missing '='".into()),
        Some(b'=') => return Err("build line with missing key".into()),
        Some(b'`' | b'"') => {
            let raw_key = quoted_prefix(setting).ok_or("invalid quoted key in build line")?;
            let after = &setting[raw_key.len()..];
            match after.chars().next() {
                None => return Err("build line missing '=' after quoted key".into()),
                Some('=') => {}
                Some(other) => {
                    return Err(format!("unexpected character after quoted key: {}", quote_character(other)));
                }
            }
            let key = unquote(raw_key).ok_or("invalid quoted key in build line")?;
            (key, &after[1..])
        }
        Some(_) => {
            let (key, value) = setting.split_once('=').ok_or("build line missing '=' after key")?;
            if needs_quoted_key(key) {
                return Err(format!("unquoted key {} must be quoted", quote(key)));
            }
            (key.to_string(), value)
        }
    };
    let value = match raw_value.as_bytes().first() {
        None => String::new(),
        Some(b'`' | b'"') => unquote(raw_value).ok_or("invalid quoted value in build line")?,
        Some(_) => {
            if needs_quoted_value(raw_value) {
                return Err(format!("unquoted value {} must be quoted", quote(raw_value)));
            }
            raw_value.to_string()
        }
    };
    Ok((key, value))
}

/// Go's `%q` of a byte: the character in single quotes.
fn quote_character(character: char) -> String {
    let quoted = quote(&character.to_string());
    match character {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        _ => format!("'{}'", &quoted[1..quoted.len() - 1]),
    }
}

fn needs_quoted_key(key: &str) -> bool {
    key.is_empty() || key.contains(['=', ' ', '\t', '\r', '\n', '"', '`'])
}

fn needs_quoted_value(value: &str) -> bool {
    value.contains([' ', '\t', '\r', '\n', '"', '`'])
}

impl fmt::Display for BuildInfo {
    /// Writes the text form of Go's `BuildInfo.String`, byte for byte
    /// (including the empty line Go writes after a replacement).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.go_version.is_empty() {
            writeln!(formatter, "go\t{}", self.go_version)?;
        }
        if !self.path.is_empty() {
            writeln!(formatter, "path\t{}", self.path)?;
        }
        if self.main != Module::default() {
            write_module(formatter, "mod", &self.main)?;
        }
        for dependency in &self.deps {
            write_module(formatter, "dep", dependency)?;
        }
        for (key, value) in &self.settings {
            let key = if needs_quoted_key(key) { quote(key) } else { key.clone() };
            let value = if needs_quoted_value(value) { quote(value) } else { value.clone() };
            writeln!(formatter, "build\t{key}={value}")?;
        }
        Ok(())
    }
}

fn write_module(formatter: &mut fmt::Formatter<'_>, word: &str, module: &Module) -> fmt::Result {
    write!(formatter, "{word}\t{}\t{}", module.path, module.version)?;
    match &module.replace {
        None => write!(formatter, "\t{}", module.sum)?,
        Some(replacement) => {
            writeln!(formatter)?;
            write_module(formatter, "=>", replacement)?;
        }
    }
    writeln!(formatter)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "path\texample.com/app\n\
        mod\texample.com/app\t(devel)\t\n\
        dep\texample.com/dep\tv1.2.3\n\
        =>\t../dep\t(devel)\t\n\
        \n\
        dep\tgolang.org/x/text\tv0.3.0\th1:abc=\n\
        build\t-buildmode=exe\n\
        build\t-ldflags=\"-X main.v=1 -s\"\n\
        build\t\"odd key\"=`raw value`\n\
        build\tempty=\n\
        build\tvcs.modified=true\n";

    #[test]
    fn parses_every_kind_of_line() {
        let info = BuildInfo::parse(SAMPLE).unwrap();
        assert_eq!(info.path, "example.com/app");
        assert_eq!(info.main.version, "(devel)");
        assert_eq!(info.deps.len(), 2);
        let replacement = info.deps[0].replace.as_deref().unwrap();
        assert_eq!((replacement.path.as_str(), replacement.version.as_str()), ("../dep", "(devel)"));
        assert_eq!(info.deps[1].sum, "h1:abc=");
        assert_eq!(info.setting("-ldflags"), Some("-X main.v=1 -s"));
        assert_eq!(info.setting("odd key"), Some("raw value"));
        assert_eq!(info.setting("empty"), Some(""));
        assert_eq!(info.settings.len(), 5);
    }

    #[test]
    fn prints_what_it_parsed() {
        let info = BuildInfo::parse(SAMPLE).unwrap();
        let printed = info.to_string();
        assert_eq!(printed.replace("`raw value`", "\"raw value\""), printed);
        assert_eq!(BuildInfo::parse(&printed).unwrap(), info);
        assert!(printed.contains("=>\t../dep\t(devel)\t\n\n"));
        assert!(printed.contains("build\t\"odd key\"=\"raw value\"\n"));
    }

    #[test]
    fn ignores_a_last_line_without_newline_and_unknown_lines() {
        let info = BuildInfo::parse("path\ta\nweird line\nbuild\tx=y").unwrap();
        assert_eq!(info.path, "a");
        assert!(info.settings.is_empty());
    }

    #[test]
    fn reports_errors_with_go_messages_and_line_numbers() {
        let cases = [
            ("mod\ta\n", 1, "expected 2 or 3 columns; got 1"),
            ("path\tp\ndep\ta\tb\tc\td\n", 2, "expected 2 or 3 columns; got 4"),
            ("=>\ta\tb\tc\n", 1, "replacement with no module on previous line"),
            ("dep\ta\tb\n=>\ta\tb\n", 2, "expected 3 columns for replacement; got 2"),
            ("build\t\n", 1, "build line missing '='"),
            ("build\t=x\n", 1, "build line with missing key"),
            ("build\t\"k\n", 1, "invalid quoted key in build line"),
            ("build\t\"k\"\n", 1, "build line missing '=' after quoted key"),
            ("build\t\"k\"x\n", 1, "unexpected character after quoted key: 'x'"),
            ("build\tnoequals\n", 1, "build line missing '=' after key"),
            ("build\ta b=c\n", 1, "unquoted key \"a b\" must be quoted"),
            ("build\tk=\"v\n", 1, "invalid quoted value in build line"),
            ("build\tk=a b\n", 1, "unquoted value \"a b\" must be quoted"),
        ];
        for (text, line, reason) in cases {
            let error = BuildInfo::parse(text).unwrap_err();
            assert_eq!((error.line, error.reason.as_str()), (line, reason), "{text:?}");
        }
    }
}
