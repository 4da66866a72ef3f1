//! Parses a YAML stream with `saphyr-parser` into a flat node arena with byte positions, and
//! finds the `ko://` string scalars that `ko resolve` would replace, with the exact byte range
//! of each one's text. It depends on nothing else in rko.

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::text::{self, ByteOffsets, Lines};
use super::{YamlError, YamlErrorKind};

/// The scheme that marks a build reference.
pub(crate) const SCHEME: &str = "ko://";

/// How a scalar resolves, as far as `ko` cares (it follows `gopkg.in/yaml.v3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarClass {
    /// `!!str`: quoted, block, plain text that is not another type, or tagged `!!str` or `!`.
    String,
    /// `!!null`: empty, `~`, `null` and its capitalisations, or tagged `!!null`.
    Null,
    /// Anything else: booleans, numbers, timestamps, custom tags, `!!binary`.
    Other,
}

#[derive(Debug)]
pub(crate) enum NodeKind {
    Scalar { value: String, class: ScalarClass },
    Sequence { flow: bool, children: Vec<usize> },
    Mapping { children: Vec<usize> },
    Alias { anchor: usize },
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// Byte where the node starts, properties included (for an empty scalar: where the
    /// parser placed it).
    pub(crate) start: usize,
    /// Byte just after the node's last character, if the node has any text.
    pub(crate) end: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) root: Option<usize>,
    /// Byte of the document's first token (its `---` when explicit).
    pub(crate) start: usize,
    pub(crate) explicit_start: bool,
    /// Byte of the `...` marker that ends the document, if any.
    pub(crate) end_marker: Option<usize>,
}

/// A `ko://` string scalar and how to rewrite it.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) document: usize,
    pub(crate) import_path: String,
    pub(crate) style: ScalarStyle,
    /// Bytes replaced: the whole scalar text (quotes included) or, for a block scalar, its
    /// content lines without the trailing line breaks.
    pub(crate) range: Range<usize>,
    /// For a block scalar: the byte of its `|` or `>` header.
    pub(crate) block_header: Option<usize>,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) nodes: Vec<Node>,
    /// Anchor id (from 1) to the anchored node.
    pub(crate) anchors: Vec<Option<usize>>,
    pub(crate) documents: Vec<Document>,
    pub(crate) sites: Vec<Site>,
    pub(crate) lines: Lines,
}

impl Stream {
    /// What node `index` is, if it exists.
    pub(crate) fn kind(&self, index: usize) -> Option<&NodeKind> {
        self.nodes.get(index).map(|node| &node.kind)
    }
}

struct Frame {
    node: usize,
    flow: bool,
}

/// Parses `text` into a [`Stream`].
pub(crate) fn parse(text: &str) -> Result<Stream, YamlError> {
    let mut builder = Builder {
        text,
        offsets: ByteOffsets::new(text),
        stream: Stream {
            nodes: Vec::new(),
            anchors: Vec::new(),
            documents: Vec::new(),
            sites: Vec::new(),
            lines: Lines::new(text),
        },
        stack: Vec::new(),
        last_token_end: 0,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(result) = parser.next_event() {
        let (event, span) = result.map_err(|error| YamlError {
            line: error.marker().line(),
            column: error.marker().col() + 1,
            message: error.info().to_string(),
            kind: YamlErrorKind::Syntax,
        })?;
        builder.event(event, span)?;
    }
    Ok(builder.stream)
}

struct Builder<'text> {
    text: &'text str,
    offsets: ByteOffsets<'text>,
    stream: Stream,
    stack: Vec<Frame>,
    last_token_end: usize,
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index());
        // An implicit document start spans the document's first token without consuming it.
        let consumes = !matches!(event, Event::DocumentStart(false));
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(explicit) => {
                self.stack.clear();
                self.stream.documents.push(Document { root: None, start, explicit_start: explicit, end_marker: None });
            }
            Event::DocumentEnd => {
                if self.text.get(start..end) == Some("...")
                    && let Some(document) = self.stream.documents.last_mut()
                {
                    document.end_marker = Some(start);
                }
            }
            Event::Alias(anchor) => {
                let node = Node { kind: NodeKind::Alias { anchor }, start, end: (end > start).then_some(end) };
                self.attach(node, 0);
            }
            Event::Scalar(value, style, anchor, tag) => {
                let class = classify(&value, style, tag.as_deref());
                let has_text = end > start;
                let content_end = match style {
                    _ if !has_text => end,
                    ScalarStyle::Literal | ScalarStyle::Folded => text::trim_range_end(self.text, start..end).end,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        let token = text::skip_properties(self.text, start, end);
                        text::quoted_end(self.text, token, end).unwrap_or(end)
                    }
                    ScalarStyle::Plain => end,
                };
                if class == ScalarClass::String && value.starts_with(SCHEME) {
                    let site = self.site(&value, style, start, end)?;
                    self.stream.sites.push(site);
                }
                let node = Node {
                    kind: NodeKind::Scalar { value: value.into_owned(), class },
                    start,
                    end: has_text.then_some(content_end),
                };
                self.attach(node, anchor);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let mapping = matches!(event, Event::MappingStart(..));
                let flow = matches!(self.text.as_bytes().get(end.wrapping_sub(1)), Some(b'[' | b'{')) && end > start;
                let kind = if mapping {
                    NodeKind::Mapping { children: Vec::new() }
                } else {
                    NodeKind::Sequence { flow, children: Vec::new() }
                };
                let index = self.attach(Node { kind, start, end: None }, anchor);
                self.stack.push(Frame { node: index, flow });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    if frame.flow
                        && let Some(node) = self.stream.nodes.get_mut(frame.node)
                    {
                        node.end = Some(end);
                    }
                    let child_end = self.stream.nodes.get(frame.node).and_then(|node| node.end);
                    self.extend_parent(child_end);
                }
            }
        }
        if consumes && end > start {
            self.last_token_end = self.last_token_end.max(end);
        }
        Ok(())
    }

    /// Adds `node` to the current collection (or as the document root) and returns its index.
    fn attach(&mut self, node: Node, anchor: usize) -> usize {
        let index = self.stream.nodes.len();
        let end = node.end;
        self.stream.nodes.push(node);
        if anchor > 0 {
            if self.stream.anchors.len() <= anchor {
                self.stream.anchors.resize(anchor + 1, None);
            }
            self.stream.anchors[anchor] = Some(index);
        }
        match self.stack.last() {
            Some(frame) => {
                if let Some(parent) = self.stream.nodes.get_mut(frame.node) {
                    match &mut parent.kind {
                        NodeKind::Sequence { children, .. } | NodeKind::Mapping { children } => {
                            children.push(index);
                        }
                        NodeKind::Scalar { .. } | NodeKind::Alias { .. } => {}
                    }
                }
            }
            None => {
                if let Some(document) = self.stream.documents.last_mut() {
                    document.root.get_or_insert(index);
                }
            }
        }
        self.extend_parent(end);
        index
    }

    /// Records that the current collection's content reaches `end`.
    fn extend_parent(&mut self, end: Option<usize>) {
        let (Some(end), Some(frame)) = (end, self.stack.last()) else {
            return;
        };
        if frame.flow {
            return;
        }
        if let Some(parent) = self.stream.nodes.get_mut(frame.node) {
            parent.end = Some(parent.end.map_or(end, |current| current.max(end)));
        }
    }

    /// Locates the text of a `ko://` scalar whose event spans bytes `start..end`.
    fn site(&self, value: &str, style: ScalarStyle, start: usize, end: usize) -> Result<Site, YamlError> {
        let unsupported = |position: usize, what: &str| {
            let (line, column) = self.stream.lines.locate(self.text, position);
            YamlError {
                line,
                column,
                message: format!("cannot locate the {what} of the `{SCHEME}` scalar `{value}`"),
                kind: YamlErrorKind::Unsupported,
            }
        };
        let bytes = self.text.as_bytes();
        let (range, block_header) = match style {
            ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let token = text::skip_properties(self.text, start, end);
                let token_end = match style {
                    ScalarStyle::Plain => Some(end),
                    _ => text::quoted_end(self.text, token, end),
                };
                let raw = token_end.and_then(|token_end| self.text.get(token..token_end));
                let located = match style {
                    ScalarStyle::Plain => raw.is_some_and(|raw| raw.starts_with(SCHEME)),
                    _ => raw.is_some(),
                };
                let (true, Some(token_end)) = (located, token_end) else {
                    return Err(unsupported(start, "text"));
                };
                (token..token_end, None)
            }
            ScalarStyle::Literal | ScalarStyle::Folded => {
                let has_properties = matches!(bytes.get(start), Some(b'&' | b'!'));
                // Without properties the span starts at the content, and the header ends the
                // line before it (a leading empty line would make the value not start with
                // the scheme).
                let from = if has_properties {
                    start
                } else {
                    let header_line = text::previous_line_start(self.text, text::line_start(self.text, start));
                    header_line.max(self.last_token_end.min(start))
                };
                let header =
                    text::find_block_header(self.text, from, end).ok_or_else(|| unsupported(start, "header"))?;
                let mut content = text::next_line_start(self.text, header);
                while bytes.get(content) == Some(&b' ') {
                    content += 1;
                }
                let located = self.text.get(content..end).is_some_and(|raw| raw.starts_with(SCHEME))
                    && (has_properties || content == start);
                if !located {
                    return Err(unsupported(start, "content"));
                }
                (text::trim_range_end(self.text, content..end), Some(header))
            }
        };
        let (line, column) = self.stream.lines.locate(self.text, range.start);
        let import_path = value.trim_end().get(SCHEME.len()..).unwrap_or("").to_string();
        Ok(Site {
            document: self.stream.documents.len().saturating_sub(1),
            import_path,
            style,
            range,
            block_header,
            line,
            column,
        })
    }
}

/// Classifies a scalar the way `gopkg.in/yaml.v3` tags it.
pub(crate) fn classify(value: &str, style: ScalarStyle, tag: Option<&Tag>) -> ScalarClass {
    const CORE: &str = "tag:yaml.org,2002:";
    let Some(tag) = tag else {
        return if style == ScalarStyle::Plain { resolve_plain(value) } else { ScalarClass::String };
    };
    let full = if tag.handle == "!" { format!("!{}", tag.suffix) } else { format!("{}{}", tag.handle, tag.suffix) };
    match full.as_str() {
        "!" => ScalarClass::String,
        _ if full == format!("{CORE}str") => ScalarClass::String,
        _ if full == format!("{CORE}null") => ScalarClass::Null,
        _ => ScalarClass::Other,
    }
}

/// Resolves an untagged plain scalar: null, another non-string type, or a string.
fn resolve_plain(value: &str) -> ScalarClass {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarClass::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf"
        | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | "<<" => {
            return ScalarClass::Other;
        }
        _ => {}
    }
    let starts_like_number =
        value.bytes().next().is_some_and(|first| first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.'));
    if starts_like_number && (is_integer(value) || is_float(value) || is_timestamp(value)) {
        ScalarClass::Other
    } else {
        ScalarClass::String
    }
}

fn is_integer(value: &str) -> bool {
    let digits: String = value.chars().filter(|character| *character != '_').collect();
    let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(&digits);
    let (body, radix) = if let Some(hex) = unsigned.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(octal) = unsigned.strip_prefix("0o") {
        (octal, 8)
    } else if let Some(binary) = unsigned.strip_prefix("0b") {
        (binary, 2)
    } else {
        (unsigned, 10)
    };
    !body.is_empty() && body.chars().all(|character| character.is_digit(radix))
}

/// Matches `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` (underscores removed).
fn is_float(value: &str) -> bool {
    let digits: String = value.chars().filter(|character| *character != '_').collect();
    let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(&digits);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(index) => (&unsigned[..index], Some(&unsigned[index + 1..])),
        None => (unsigned, None),
    };
    let all_digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => !fraction.is_empty() && all_digits(fraction),
        Some((whole, fraction)) => all_digits(whole) && all_digits(fraction),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !exponent.is_empty() && all_digits(exponent)
    });
    mantissa_ok && exponent_ok
}

/// Matches a date prefix `YYYY-M-D`, which `yaml.v3` reads as a timestamp.
fn is_timestamp(value: &str) -> bool {
    let mut parts = value.splitn(3, '-');
    let (Some(year), Some(month), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let day: String = rest.chars().take_while(char::is_ascii_digit).collect();
    year.len() == 4
        && year.bytes().all(|byte| byte.is_ascii_digit())
        && (1..=2).contains(&month.len())
        && month.bytes().all(|byte| byte.is_ascii_digit())
        && (1..=2).contains(&day.len())
}
