//! A subset of Go's `text/template`, enough for the `flags` and `ldflags`
//! entries of `.ko.yaml` (`-X main.version={{.Env.VERSION}}`), executed with
//! Go's semantics and `missingkey=error`. It parses a template once,
//! executes it against a tree of [`Value`]s, and tells which top-level keys
//! a template can reach so that callers only compute costly data (`go env`,
//! `git`) when needed. It depends on nothing else in rko but [`crate::goquote`]
//! (`printf`'s `%q`).
//!
//! Supported: text, actions with `{{- `/` -}}` trim markers, comments,
//! field chains, `$` and `.`, variables (`:=`, `=`), pipelines, parentheses,
//! string, raw string, character, integer and boolean literals, `if`/`else
//! if`/`else`, `with`/`else with`/`else`, `range` over maps (sorted keys) and
//! integers, and the functions `and`, `or`, `not`, `len`, `index`, `slice`,
//! `print`, `printf` (Go's `fmt` verbs, flags, widths, `*` and `[n]`),
//! `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`. What else Go accepts
//! (`template`, `define`, `block`, `break`, `continue`, floating-point and
//! complex constants, `html`, `js`, `urlquery`, `call`, `printf`'s `%p` of
//! a map) is rejected with [`TemplateError::Unsupported`], never rendered
//! differently. Integers are all typed `int`, so `%T` and `%!d(...)` markers
//! show `int` where Go may show `int64` or `uint8`.

mod exec;
mod format;
mod functions;
#[cfg(test)]
mod go_cases;
mod lexer;
mod literal;
mod parser;
mod roots;
#[cfg(test)]
mod tests;
mod value;

pub use value::Value;

use std::collections::BTreeSet;
use std::fmt;

/// A 1-based place in a template source; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn at_offset(source: &str, offset: usize) -> Position {
        let before = source.get(..offset).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        Position { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 1 {
            write!(formatter, "column {}", self.column)
        } else {
            write!(formatter, "line {}, column {}", self.line, self.column)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template `{template}`: {position}: {message}")]
    Parse { template: String, position: Position, message: String },
    #[error("template `{template}`: {position}: {construct} is not supported")]
    Unsupported { template: String, position: Position, construct: String },
    #[error("template `{template}`: unknown key `{path}`")]
    MissingKey { template: String, path: String },
    #[error("template `{template}`: {message}")]
    Execute { template: String, message: String },
}

/// A lexical or grammatical error, located by byte offset until the
/// source is at hand to turn it into a [`TemplateError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub kind: SyntaxErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyntaxErrorKind {
    Message(String),
    Unsupported(String),
}

impl SyntaxErrorKind {
    pub(crate) fn at(self, offset: usize) -> SyntaxError {
        SyntaxError { offset, kind: self }
    }
}

impl SyntaxError {
    pub(crate) fn message(offset: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxErrorKind::Message(message.into()).at(offset)
    }

    pub(crate) fn unsupported(offset: usize, construct: impl Into<String>) -> SyntaxError {
        SyntaxErrorKind::Unsupported(construct.into()).at(offset)
    }

    fn into_template_error(self, source: &str) -> TemplateError {
        let template = source.to_string();
        let position = Position::at_offset(source, self.offset);
        match self.kind {
            SyntaxErrorKind::Message(message) => TemplateError::Parse { template, position, message },
            SyntaxErrorKind::Unsupported(construct) => TemplateError::Unsupported { template, position, construct },
        }
    }
}

/// A parsed template, ready to be executed any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    nodes: Vec<parser::Node>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let nodes = lexer::tokenize(source)
            .and_then(|tokens| parser::parse(source, &tokens))
            .map_err(|error| error.into_template_error(source))?;
        Ok(Template { source: source.to_string(), nodes })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the template; a missing map key is an error, as with Go's
    /// `missingkey=error`.
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        exec::execute(&self.nodes, data, &self.source)
    }

    /// The top-level keys the template names explicitly (`.Env.X` and
    /// `$.Env.X` give `Env`). When [`Template::references_whole_data`] is
    /// true the template can reach keys not listed here; prefer
    /// [`Template::may_reference`].
    pub fn referenced_roots(&self) -> BTreeSet<String> {
        roots::collect(&self.nodes).roots
    }

    /// Whether the template uses the whole data (a bare `$`, or `.` where the
    /// dot is the data), and so may reach any top-level key.
    pub fn references_whole_data(&self) -> bool {
        roots::collect(&self.nodes).whole_data
    }

    /// Whether executing the template may read the top-level key `root`.
    pub fn may_reference(&self, root: &str) -> bool {
        let references = roots::collect(&self.nodes);
        references.whole_data || references.roots.contains(root)
    }
}

/// Whether `source` contains an action at all; a string without `{{` renders
/// as itself, so callers can skip parsing it.
pub fn is_template(source: &str) -> bool {
    source.contains("{{")
}

/// Parses and executes `source` in one step, returning plain strings as they
/// are.
pub fn render(source: &str, data: &Value) -> Result<String, TemplateError> {
    if !is_template(source) {
        return Ok(source.to_string());
    }
    Template::parse(source)?.execute(data)
}
