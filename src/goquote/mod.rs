//! Go's string quoting, exactly as Go's `strconv` does it: `Quote`, `QuoteToASCII`,
//! `QuoteRune`, `QuoteRuneToASCII`, `CanBackquote` and `IsPrint`, the last from a table of
//! the code points Go's `unicode.IsPrint` accepts (`printable.rs`, generated from Go by
//! `scripts/gocheck/generate.sh`, like the cases the tests compare against). Shared by
//! [`crate::gotemplate`] (`printf`'s `%q`, `%#U`) and [`crate::gobinary`] (build info lines).
//! Pure; depends on nothing else in rko.

#[cfg(test)]
mod go_cases;
mod printable;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

/// Go's `strconv.Quote`: `text` in double quotes, with Go escapes for the quote, the backslash
/// and every character [`is_print`] rejects.
pub fn quote(text: &str) -> String {
    quote_with(text, false)
}

/// Go's `strconv.QuoteToASCII`: like [`quote`], and every character beyond ASCII escaped too.
pub fn quote_to_ascii(text: &str) -> String {
    quote_with(text, true)
}

/// Go's `strconv.QuoteRune`: `character` in single quotes, escaped as [`quote`] does.
pub fn quote_rune(character: char) -> String {
    quote_rune_with(character, false)
}

/// Go's `strconv.QuoteRuneToASCII`: like [`quote_rune`], escaping characters beyond ASCII.
pub fn quote_rune_to_ascii(character: char) -> String {
    quote_rune_with(character, true)
}

/// Go's `strconv.CanBackquote`: whether `text` can be written as a raw (back-quoted) string
/// unchanged.
pub fn can_backquote(text: &str) -> bool {
    text.chars().all(|character| {
        character != '`' && character != '\u{7f}' && character != '\u{feff}' && (character >= ' ' || character == '\t')
    })
}

/// Go's `strconv.IsPrint` (the same as `unicode.IsPrint`): letters, marks, numbers,
/// punctuation, symbols and the ASCII space.
pub fn is_print(character: char) -> bool {
    if character.is_ascii() {
        return (' '..='~').contains(&character);
    }
    in_printable_table(u32::from(character))
}

/// Whether `code` is in one of the ranges of [`printable::PRINTABLE`].
fn in_printable_table(code: u32) -> bool {
    printable::PRINTABLE
        .binary_search_by(|&(first, last)| {
            if last < code {
                Ordering::Less
            } else if first > code {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

fn quote_with(text: &str, ascii_only: bool) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        push_escaped(&mut quoted, character, '"', ascii_only);
    }
    quoted.push('"');
    quoted
}

fn quote_rune_with(character: char, ascii_only: bool) -> String {
    let mut quoted = String::from("'");
    push_escaped(&mut quoted, character, '\'', ascii_only);
    quoted.push('\'');
    quoted
}

/// Go's `appendEscapedRune`.
fn push_escaped(quoted: &mut String, character: char, quote: char, ascii_only: bool) {
    if character == quote || character == '\\' {
        quoted.push('\\');
        quoted.push(character);
        return;
    }
    if is_print(character) && (character.is_ascii() || !ascii_only) {
        quoted.push(character);
        return;
    }
    let code = u32::from(character);
    match character {
        '\u{07}' => quoted.push_str("\\a"),
        '\u{08}' => quoted.push_str("\\b"),
        '\u{0c}' => quoted.push_str("\\f"),
        '\n' => quoted.push_str("\\n"),
        '\r' => quoted.push_str("\\r"),
        '\t' => quoted.push_str("\\t"),
        '\u{0b}' => quoted.push_str("\\v"),
        _ if character < ' ' || character == '\u{7f}' => quoted.push_str(&format!("\\x{code:02x}")),
        _ if code < 0x10000 => quoted.push_str(&format!("\\u{code:04x}")),
        _ => quoted.push_str(&format!("\\U{code:08x}")),
    }
}
