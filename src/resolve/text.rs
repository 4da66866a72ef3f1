//! Byte-level helpers over the YAML source text for the `resolve` module: converting the
//! parser's character indexes to byte offsets, computing lines and columns, and skipping the
//! separation and node properties that sit between YAML tokens. It depends on nothing else in
//! rko.

use std::ops::Range;

/// Converts character indexes (as reported by `saphyr-parser` markers) into byte offsets.
///
/// The parser reports positions roughly in increasing order, so a moving cursor makes the
/// conversion linear overall without a table of every character.
pub(crate) struct ByteOffsets<'text> {
    text: &'text str,
    ascii: bool,
    character: usize,
    byte: usize,
}

impl<'text> ByteOffsets<'text> {
    pub(crate) fn new(text: &'text str) -> Self {
        Self { text, ascii: text.is_ascii(), character: 0, byte: 0 }
    }

    /// Returns the byte offset of the character at `index`, clamped to the end of the text.
    pub(crate) fn byte(&mut self, index: usize) -> usize {
        if self.ascii {
            return index.min(self.text.len());
        }
        while self.character < index {
            match self.text.get(self.byte..).and_then(|rest| rest.chars().next()) {
                Some(character) => {
                    self.byte += character.len_utf8();
                    self.character += 1;
                }
                None => break,
            }
        }
        while self.character > index {
            match self.text.get(..self.byte).and_then(|before| before.chars().next_back()) {
                Some(character) => {
                    self.byte -= character.len_utf8();
                    self.character -= 1;
                }
                None => break,
            }
        }
        self.byte
    }
}

/// Line starts of a text, for 1-based line and column numbers.
///
/// `\r\n`, `\n` and a lone `\r` each end a line, as in YAML.
#[derive(Debug)]
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut position = 0;
        while position < bytes.len() {
            match bytes[position] {
                b'\n' => starts.push(position + 1),
                b'\r' if bytes.get(position + 1) != Some(&b'\n') => starts.push(position + 1),
                _ => {}
            }
            position += 1;
        }
        Self { starts }
    }

    /// Returns the 1-based line and 1-based character column of the byte `position`.
    ///
    /// A byte order mark at the very start of the text does not count as a column.
    pub(crate) fn locate(&self, text: &str, position: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|start| *start <= position).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let before = text.get(start..position).unwrap_or("");
        let mut column = before.chars().count() + 1;
        if start == 0 && before.starts_with('\u{feff}') {
            column -= 1;
        }
        (line, column)
    }
}

/// Returns the byte offset where the line containing `position` starts.
pub(crate) fn line_start(text: &str, position: usize) -> usize {
    let bytes = text.as_bytes();
    let mut start = position.min(bytes.len());
    while start > 0 && !matches!(bytes[start - 1], b'\n' | b'\r') {
        start -= 1;
    }
    start
}

/// Returns the byte offset just after the line break that ends the line containing
/// `position`, or the end of the text when that line is the last one.
pub(crate) fn next_line_start(text: &str, position: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = position.min(bytes.len());
    while end < bytes.len() {
        match bytes[end] {
            b'\n' => return end + 1,
            b'\r' => {
                return if bytes.get(end + 1) == Some(&b'\n') { end + 2 } else { end + 1 };
            }
            _ => end += 1,
        }
    }
    end
}

/// Returns true when only spaces and tabs precede `position` on its line.
pub(crate) fn starts_line(text: &str, position: usize) -> bool {
    let start = line_start(text, position);
    text.as_bytes().get(start..position).is_some_and(|before| before.iter().all(|byte| matches!(byte, b' ' | b'\t')))
}

fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_flow_indicator(byte: u8) -> bool {
    matches!(byte, b',' | b'[' | b']' | b'{' | b'}')
}

/// Skips separation (blanks, line breaks, comments, byte order marks) and node properties (`&anchor`, tags)
/// from `position`, stopping before `limit`; returns the position of the first other byte.
///
/// Only meaningful between tokens, where a `#` always starts a comment.
pub(crate) fn skip_properties(text: &str, mut position: usize, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let limit = limit.min(bytes.len());
    while position < limit {
        let byte = bytes[position];
        if is_blank(byte) {
            position += 1;
        } else if bytes[position..].starts_with("\u{feff}".as_bytes()) {
            position += "\u{feff}".len();
        } else if byte == b'#' {
            while position < limit && !matches!(bytes[position], b'\n' | b'\r') {
                position += 1;
            }
        } else if byte == b'!' && bytes.get(position + 1) == Some(&b'<') {
            while position < limit && bytes[position] != b'>' {
                position += 1;
            }
            position = (position + 1).min(limit);
        } else if byte == b'&' || byte == b'!' {
            while position < limit && !is_blank(bytes[position]) && !is_flow_indicator(bytes[position]) {
                position += 1;
            }
        } else {
            return position;
        }
    }
    limit
}

/// Finds the `|` or `>` header of a block scalar between `from` and `limit`, skipping
/// separation, properties and the `:`, `-`, `?` indicators that may precede it.
pub(crate) fn find_block_header(text: &str, from: usize, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut position = from;
    loop {
        position = skip_properties(text, position, limit);
        match bytes.get(position) {
            Some(b'|' | b'>') if position < limit => return Some(position),
            Some(b':' | b'-' | b'?') if position < limit => position += 1,
            _ => return None,
        }
    }
}

/// Returns the start of the line before the line that starts at `start`.
pub(crate) fn previous_line_start(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = start.min(bytes.len());
    if end > 0 && bytes[end - 1] == b'\n' {
        end -= 1;
    }
    if end > 0 && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    line_start(text, end)
}

/// Finds the `-` indicator of the block sequence entry whose node starts at `node_start`.
///
/// The indicator is either earlier on the node's own line (`- value`, `- - value`) or on an
/// earlier line followed only by blanks and a comment, with blank and comment-only lines in
/// between.
pub(crate) fn find_entry_indicator(text: &str, node_start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut position = node_start.min(bytes.len());
    while position > 0 && matches!(bytes[position - 1], b' ' | b'\t') {
        position -= 1;
    }
    if position > 0 && bytes[position - 1] == b'-' {
        return Some(position - 1);
    }
    if position > 0 && !matches!(bytes[position - 1], b'\n' | b'\r') {
        return None;
    }
    let mut end = position;
    while end > 0 {
        let start = previous_line_start(text, end);
        let line = trim_line_end(bytes.get(start..end).unwrap_or_default());
        let content = strip_comment(line);
        let content_end = content.iter().rposition(|byte| !matches!(byte, b' ' | b'\t')).map_or(0, |last| last + 1);
        if content_end == 0 {
            end = start;
            continue;
        }
        return (content[content_end - 1] == b'-').then_some(start + content_end - 1);
    }
    None
}

/// Returns the start of the run of comment-only lines directly above the line starting at
/// `start`, not going above `floor` (or `start` itself when there is none).
pub(crate) fn comment_lines_above(text: &str, start: usize, floor: usize) -> usize {
    let mut start = start;
    while start > floor {
        let previous = previous_line_start(text, start);
        let is_comment =
            text.get(previous..start).is_some_and(|line| line.trim_start_matches([' ', '\t']).starts_with('#'));
        if previous < floor || previous == start || !is_comment {
            break;
        }
        start = previous;
    }
    start
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// Cuts a comment (a `#` at the start or after a blank) off a line made only of indicators.
fn strip_comment(line: &[u8]) -> &[u8] {
    let mut previous_blank = true;
    for (index, byte) in line.iter().enumerate() {
        if *byte == b'#' && previous_blank {
            return &line[..index];
        }
        previous_blank = matches!(byte, b' ' | b'\t');
    }
    line
}

/// Returns the range with trailing blanks and line breaks removed from its end.
pub(crate) fn trim_range_end(text: &str, range: Range<usize>) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut end = range.end.min(bytes.len());
    while end > range.start && is_blank(bytes[end - 1]) {
        end -= 1;
    }
    range.start..end
}

/// Returns the byte just after the closing quote of the quoted scalar whose opening quote is
/// at `start`, looking no further than `limit`.
///
/// The parser's span of a quoted scalar also covers blanks and a comment after it.
pub(crate) fn quoted_end(text: &str, start: usize, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let limit = limit.min(bytes.len());
    let quote = *bytes.get(start).filter(|byte| matches!(byte, b'\'' | b'"'))?;
    let mut position = start + 1;
    while position < limit {
        match bytes[position] {
            b'\\' if quote == b'"' => position += 2,
            b'\'' if quote == b'\'' && bytes.get(position + 1) == Some(&b'\'') => position += 2,
            byte if byte == quote => return Some(position + 1),
            _ => position += 1,
        }
    }
    None
}
