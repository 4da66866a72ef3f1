//! GitHub Actions' runner protocol: file commands (append `name=value` or heredoc entries to
//! `GITHUB_OUTPUT` and `GITHUB_ENV`, Markdown to `GITHUB_STEP_SUMMARY` within its 1 MiB limit),
//! a parser of the same format as the runner reads it, and workflow commands (`::add-mask::`,
//! `::group::`, `::error file=...::`, `::stop-commands::`) returned as lines for the caller to
//! print, escaped as `@actions/core` escapes them. The only I/O is appending to the named files.

use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Variables;
use super::vars::{GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY};

/// A file command that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("`{0}` cannot be a file command name; use a non-empty name without `=`, `<<` or line breaks")]
    InvalidName(String),
    #[error("the value of `{0}` contains its heredoc delimiter; refusing to write it")]
    DelimiterInValue(String),
    #[error("`{0}` cannot be set through `GITHUB_ENV`: the runner refuses it")]
    ProtectedVariable(String),
    #[error("cannot append to `{variable}` (`{path}`): {source}")]
    Write {
        variable: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("file command line {line}: {message}")]
    Malformed { line: usize, message: String },
}

/// The runner rejects a step summary over this size.
pub const STEP_SUMMARY_LIMIT: u64 = 1024 * 1024;
/// rko writes at most this much to one step's summary, leaving room below the limit.
pub const STEP_SUMMARY_BUDGET: u64 = 768 * 1024;
/// What ends a summary that had to be cut.
pub const TRUNCATION_NOTE: &str =
    "\n\n> **Note:** the rest of this summary was left out to stay under GitHub's 1 MiB step summary limit.\n";

/// 128 unpredictable bits: SipHash under the standard library's randomly keyed `RandomState`
/// (seeded from the operating system), over a counter and the time.
fn random_bits() -> u128 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_nanos());
    let mut bits = 0u128;
    for round in 0..2u8 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(round);
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(nanos);
        bits = bits << 64 | u128::from(hasher.finish());
    }
    bits
}

/// A random version-4 UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
pub fn random_uuid() -> String {
    let bits = random_bits() & !(0xf_u128 << 76) | (0x4_u128 << 76);
    let bits = bits & !(0x3_u128 << 62) | (0x2_u128 << 62);
    let hex = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// A heredoc delimiter as `@actions/core` makes them: `ghadelimiter_<uuid>`.
pub fn new_delimiter() -> String {
    format!("ghadelimiter_{}", random_uuid())
}

fn check_name(name: &str) -> Result<(), GithubError> {
    if name.is_empty() || name.contains(['=', '\n', '\r']) || name.contains("<<") {
        return Err(GithubError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// One file command entry: `name=value\n` for a single-line value, otherwise
/// `name<<delimiter\nvalue\ndelimiter\n`, refusing a value that holds the delimiter.
pub fn entry(name: &str, value: &str, delimiter: &str) -> Result<String, GithubError> {
    check_name(name)?;
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{name}={value}\n"));
    }
    if value.contains(delimiter) {
        return Err(GithubError::DelimiterInValue(name.to_owned()));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Parse a file command file as the runner does (on Linux: lines end at `\n`): `name=value`
/// lines, and `name<<delimiter` blocks whose value is every line up to the delimiter line.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, GithubError> {
    let mut entries = Vec::new();
    let mut lines = text.split_inclusive('\n').map(|line| line.strip_suffix('\n').unwrap_or(line)).enumerate();
    while let Some((index, line)) = lines.next() {
        let malformed = |message: String| GithubError::Malformed { line: index + 1, message };
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(equals), heredoc) if heredoc.is_none_or(|heredoc| equals < heredoc) => {
                let (name, value) = (&line[..equals], &line[equals + 1..]);
                if name.is_empty() {
                    return Err(malformed(format!("`{line}` has an empty name")));
                }
                entries.push((name.to_owned(), value.to_owned()));
            }
            (_, Some(heredoc)) => {
                let (name, delimiter) = (&line[..heredoc], &line[heredoc + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(malformed(format!("`{line}` needs a name and a delimiter")));
                }
                let mut value: Vec<&str> = Vec::new();
                loop {
                    match lines.next() {
                        Some((_, line)) if line == delimiter => break,
                        Some((_, line)) => value.push(line),
                        None => return Err(malformed(format!("no line `{delimiter}` ends `{name}`"))),
                    }
                }
                entries.push((name.to_owned(), value.join("\n")));
            }
            _ => return Err(malformed(format!("`{line}` is neither `name=value` nor `name<<delimiter`"))),
        }
    }
    Ok(entries)
}

/// A summary cut to fit the step's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FittedSummary {
    /// What to append (empty when nothing fits any more).
    pub text: String,
    pub truncated: bool,
}

/// Fit `markdown` into what is left of [`STEP_SUMMARY_BUDGET`] after `existing` bytes: whole,
/// or cut at a line end with [`TRUNCATION_NOTE`], or nothing at all.
pub fn fit_summary(existing: u64, markdown: &str) -> FittedSummary {
    let left = STEP_SUMMARY_BUDGET.saturating_sub(existing);
    if markdown.len() as u64 <= left {
        return FittedSummary { text: markdown.to_owned(), truncated: false };
    }
    let room = usize::try_from(left).unwrap_or(usize::MAX).saturating_sub(TRUNCATION_NOTE.len());
    if room == 0 {
        return FittedSummary { text: String::new(), truncated: true };
    }
    let cut = markdown[..markdown.floor_char_boundary(room)].rfind('\n').map_or(0, |end| end + 1);
    FittedSummary { text: format!("{}{TRUNCATION_NOTE}", &markdown[..cut]), truncated: true }
}

/// The step's file commands, as the runner names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCommands {
    pub output: Option<PathBuf>,
    pub env: Option<PathBuf>,
    pub summary: Option<PathBuf>,
}

fn append(variable: &'static str, path: &Path, text: &str) -> Result<(), GithubError> {
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(text.as_bytes())?;
        file.flush()
    };
    write().map_err(|source| GithubError::Write { variable, path: path.to_owned(), source })
}

impl FileCommands {
    /// The files `GITHUB_OUTPUT`, `GITHUB_ENV` and `GITHUB_STEP_SUMMARY` name.
    pub fn from_variables(variables: &impl Variables) -> FileCommands {
        let path = |name| variables.non_empty(name).map(PathBuf::from);
        FileCommands { output: path(GITHUB_OUTPUT), env: path(GITHUB_ENV), summary: path(GITHUB_STEP_SUMMARY) }
    }

    /// Append step outputs; `false` when there is no `GITHUB_OUTPUT`.
    pub fn set_outputs(&self, outputs: &[(String, String)]) -> Result<bool, GithubError> {
        let Some(path) = &self.output else { return Ok(false) };
        let delimiter = new_delimiter();
        let text = outputs.iter().map(|(name, value)| entry(name, value, &delimiter)).collect::<Result<String, _>>()?;
        append(GITHUB_OUTPUT, path, &text)?;
        Ok(true)
    }

    /// Export a variable to later steps; `false` when there is no `GITHUB_ENV`.
    pub fn export_variable(&self, name: &str, value: &str) -> Result<bool, GithubError> {
        if name.eq_ignore_ascii_case("NODE_OPTIONS") {
            return Err(GithubError::ProtectedVariable(name.to_owned()));
        }
        let Some(path) = &self.env else { return Ok(false) };
        append(GITHUB_ENV, path, &entry(name, value, &new_delimiter())?)?;
        Ok(true)
    }

    /// Append Markdown to the step summary within [`STEP_SUMMARY_BUDGET`]; `None` when there
    /// is no `GITHUB_STEP_SUMMARY`.
    pub fn append_summary(&self, markdown: &str) -> Result<Option<FittedSummary>, GithubError> {
        let Some(path) = &self.summary else { return Ok(None) };
        let existing = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
        let fitted = fit_summary(existing, markdown);
        if !fitted.text.is_empty() {
            append(GITHUB_STEP_SUMMARY, path, &fitted.text)?;
        }
        Ok(Some(fitted))
    }
}

/// Escape a workflow command's message: `%`, `\r`, `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a workflow command's property value: also `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::add-mask::<value>`, so the runner hides the value in every later log line; `None` for
/// an empty value (nothing to hide).
pub fn add_mask(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| format!("::add-mask::{}", escape_data(value)))
}

/// `::group::<title>`: the following lines fold under the title.
pub fn group(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub fn end_group() -> &'static str {
    "::endgroup::"
}

/// A random token for [`stop_commands`].
pub fn new_stop_token() -> String {
    format!("rko-{:032x}", random_bits())
}

/// `::stop-commands::<token>`: the runner ignores workflow commands in the lines that follow
/// (for output that is not ours, such as `go build`'s) until [`resume_commands`].
pub fn stop_commands(token: &str) -> String {
    format!("::stop-commands::{token}")
}

pub fn resume_commands(token: &str) -> String {
    format!("::{token}::")
}

/// How an annotation shows on the run page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnotationLevel {
    Error,
    Warning,
    Notice,
}

/// An error, warning or notice attached to a file and position on the run page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub level: AnnotationLevel,
    pub message: String,
    pub title: Option<String>,
    /// Relative to the workspace, `/`-separated.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub end_line: Option<u32>,
    pub column: Option<u32>,
    pub end_column: Option<u32>,
}

impl Annotation {
    pub fn new(level: AnnotationLevel, message: impl Into<String>) -> Annotation {
        Annotation {
            level,
            message: message.into(),
            title: None,
            file: None,
            line: None,
            end_line: None,
            column: None,
            end_column: None,
        }
    }

    /// The workflow command: `::error title=...,file=...,line=...,col=...::message`.
    pub fn command(&self) -> String {
        let name = match self.level {
            AnnotationLevel::Error => "error",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Notice => "notice",
        };
        let number = |value: Option<u32>| value.map(|value| value.to_string());
        let properties: Vec<String> = [
            ("title", self.title.clone()),
            ("file", self.file.clone()),
            ("line", number(self.line)),
            ("endLine", number(self.end_line)),
            ("col", number(self.column)),
            ("endColumn", number(self.end_column)),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some(format!("{key}={}", escape_property(&value?))))
        .collect();
        let properties = if properties.is_empty() { String::new() } else { format!(" {}", properties.join(",")) };
        format!("::{name}{properties}::{}", escape_data(&self.message))
    }
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;
