//! Writes a replacement value as YAML scalar text in the style of the scalar it replaces:
//! plain when that is safe, else double-quoted; single-quoted and block content when the value
//! can be written that way. Double-quoted output is also valid JSON. It depends on nothing
//! else in rko.

/// Returns true when `value` can be written as a plain scalar that reads back as the same
/// string, in block or flow context, as a key or a value.
///
/// Deliberately conservative: only characters that image references use, no leading
/// indicator, nothing that could resolve to another type (`null`, `yes`, numbers, dates).
pub(crate) fn plain_is_safe(value: &str) -> bool {
    const MAXIMUM_LENGTH: usize = 1024;
    let Some(first) = value.chars().next() else {
        return false;
    };
    if value.len() > MAXIMUM_LENGTH || !first.is_ascii_alphanumeric() || value.ends_with(':') {
        return false;
    }
    let allowed = |character: char| character.is_ascii_alphanumeric() || "-._/:@+".contains(character);
    if !value.chars().all(allowed) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if matches!(lower.as_str(), "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n") {
        return false;
    }
    // Anything starting with a digit and without `/` or `@` might be a number, a date or a
    // sexagesimal value in some YAML version: quote it.
    !first.is_ascii_digit() || value.contains(['/', '@'])
}

/// Returns true when `character` must be escaped in a double-quoted scalar (not YAML
/// printable, a line break, or a character some parsers treat as one).
fn needs_escape(character: char) -> bool {
    match character {
        '\t' | ' '..='~' => false,
        '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => true,
        '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}' => false,
        _ => true,
    }
}

/// Writes `value` as a double-quoted scalar; the escapes used are valid JSON too.
pub(crate) fn double_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for character in value.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            _ if needs_escape(character) => {
                quoted.push_str(&format!("\\u{:04x}", u32::from(character)));
            }
            _ => quoted.push(character),
        }
    }
    quoted.push('"');
    quoted
}

/// Writes `value` as a single-quoted scalar, or returns `None` when it holds characters a
/// single-quoted scalar cannot carry on one line.
pub(crate) fn single_quoted(value: &str) -> Option<String> {
    if value.chars().any(|character| character == '\t' || needs_escape(character)) {
        return None;
    }
    Some(format!("'{}'", value.replace('\'', "''")))
}

/// Returns true when `value` can replace the content of a block scalar in place: one
/// non-empty line of printable characters without blanks at either end (a leading blank
/// would change the detected indentation).
pub(crate) fn block_content_is_safe(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && !value.chars().any(|character| character == '\t' || needs_escape(character))
}
