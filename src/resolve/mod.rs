//! The YAML side of `ko resolve`: finds every `ko://` string scalar in a (multi-document) YAML
//! or JSON text, optionally keeps only the documents and list items a Kubernetes label
//! selector picks, and rewrites the text with each reference replaced while every other byte
//! (comments, quoting, indentation, anchors, separators, line endings, byte order mark) stays
//! as it was. Pure: no I/O, no async. It depends on nothing else in rko.
//!
//! Rules, following `ko` (which walks `yaml.v3` nodes and replaces every `!!str` scalar whose
//! value starts with `ko://`):
//! - Any string scalar counts, mapping keys included; the import path is the value after
//!   `ko://` with trailing whitespace trimmed. `--flag=ko://x`, aliases, and scalars with a
//!   custom tag or a non-string core tag (`!!binary`) are left alone; `!!str` and `!` count.
//! - A plain scalar stays plain when the replacement is safe as plain text, else it becomes
//!   double-quoted; quoted scalars keep their quotes (single falls back to double when the
//!   value cannot be written single-quoted); anchors and tags stay.
//! - In a block scalar (`|`, `>`) the content lines are replaced and the header line and the
//!   trailing line breaks stay, so the value keeps its chomping (`|` yields the reference plus
//!   a line break, where `ko` writes the bare reference); a replacement that cannot be block
//!   content (empty, multi-line, edge blanks) turns the scalar into a double-quoted one.
//! - With a selector (see [`scan`]): like `ko`, plus any kind ending in `List` that has an
//!   `items` sequence is filtered like `kind: List` (`ko` treats only `List` so). A dropped
//!   document goes with its `---` line; a dropped block item goes with its lines and the
//!   comment lines right above it; a dropped flow item goes with its comma.
//! - Document indexes are 0-based and count every document of the input, dropped or not.

mod labels;
mod quoting;
mod selector;
mod text;
mod yaml;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::ops::Range;

use saphyr_parser::ScalarStyle;

pub use selector::{Selector, SelectorError};

/// What kind of problem a [`YamlError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not valid YAML.
    Syntax,
    /// A selector was given but a document (or list item) is not a Kubernetes object.
    NotKubernetesObject,
    /// Valid YAML laid out in a way this module cannot edit without reformatting it.
    Unsupported,
}

/// A problem with the YAML text; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
    pub kind: YamlErrorKind,
}

/// One `ko://` reference found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KoReference {
    /// The text after `ko://`, trailing whitespace trimmed.
    pub import_path: String,
    /// 0-based index of the document in the input stream.
    pub document: usize,
    /// 1-based line where the scalar's text starts (for a block scalar: its first content line).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Bytes of the input that are rewritten: the scalar with its quotes, or a block scalar's
    /// content lines without trailing line breaks.
    pub span: Range<usize>,
}

/// A scanned and filtered YAML text, ready to be rendered with replacements.
#[derive(Debug, Clone)]
pub struct Scanned {
    text: String,
    sites: Vec<yaml::Site>,
    /// Sorted, disjoint byte ranges removed by the selector.
    removals: Vec<Range<usize>>,
}

/// Parses `text` (YAML or JSON, one or more documents), applies `selector` if given, and finds
/// the `ko://` references that remain.
///
/// With a selector, empty documents are dropped, every other document must be a Kubernetes
/// object (a mapping with string `apiVersion` and `kind`), documents whose
/// `metadata.labels` do not match are dropped, and in a `kind: List` document (or a kind ending
/// in `List` that has an `items` sequence) the non-matching items are dropped instead, the
/// whole document when none match. Like `ko`, callers should pass `None` for an empty selector
/// string.
///
/// # Errors
/// Returns [`YamlError`] for invalid YAML, for a document a selector cannot apply to, and for
/// a layout the module cannot edit in place.
pub fn scan(text: &str, selector: Option<&Selector>) -> Result<Scanned, YamlError> {
    let stream = yaml::parse(text)?;
    let removals = match selector {
        Some(selector) => labels::filter(text, &stream, selector)?,
        None => Vec::new(),
    };
    let sites = stream
        .sites
        .into_iter()
        .filter(|site| {
            !removals.iter().any(|removed| removed.start <= site.range.start && site.range.start < removed.end)
        })
        .collect();
    Ok(Scanned { text: text.to_string(), sites, removals })
}

impl Scanned {
    /// The references, in the order they appear in the text (repeats included).
    #[must_use]
    pub fn references(&self) -> Vec<KoReference> {
        self.sites
            .iter()
            .map(|site| KoReference {
                import_path: site.import_path.clone(),
                document: site.document,
                line: site.line,
                column: site.column,
                span: site.range.clone(),
            })
            .collect()
    }

    /// Returns the text with the selector's removals applied and each reference replaced by
    /// `replacements(import_path)`; a reference for which it returns `None` is left as it is.
    #[must_use]
    pub fn render(&self, replacements: &dyn Fn(&str) -> Option<String>) -> String {
        let mut edits: Vec<(Range<usize>, Cow<'_, str>)> =
            self.removals.iter().map(|range| (range.clone(), Cow::Borrowed(""))).collect();
        for site in &self.sites {
            if let Some(replacement) = replacements(&site.import_path) {
                edits.push(rewrite(site, &replacement));
            }
        }
        edits.sort_by_key(|(range, _)| range.start);
        let mut output = String::with_capacity(self.text.len());
        let mut cursor = 0;
        for (range, replacement) in edits {
            if range.start < cursor || range.end < range.start {
                continue;
            }
            output.push_str(self.text.get(cursor..range.start).unwrap_or(""));
            output.push_str(&replacement);
            cursor = range.end;
        }
        output.push_str(self.text.get(cursor..).unwrap_or(""));
        output
    }
}

/// The byte range to replace and its new text for one reference.
fn rewrite(site: &yaml::Site, replacement: &str) -> (Range<usize>, Cow<'static, str>) {
    let text = match site.style {
        ScalarStyle::Plain if quoting::plain_is_safe(replacement) => replacement.to_string(),
        ScalarStyle::SingleQuoted => {
            quoting::single_quoted(replacement).unwrap_or_else(|| quoting::double_quoted(replacement))
        }
        ScalarStyle::Literal | ScalarStyle::Folded if quoting::block_content_is_safe(replacement) => {
            replacement.to_string()
        }
        ScalarStyle::Literal | ScalarStyle::Folded => {
            let start = site.block_header.unwrap_or(site.range.start);
            return (start..site.range.end, Cow::Owned(quoting::double_quoted(replacement)));
        }
        ScalarStyle::Plain | ScalarStyle::DoubleQuoted => quoting::double_quoted(replacement),
    };
    (site.range.clone(), Cow::Owned(text))
}
