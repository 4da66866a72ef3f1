//! Go's `strconv` quoting, as used by `printf`'s `%q`: `"..."` strings and
//! `'x'` characters with Go escapes.

/// Go's `strconv.Quote`, or `QuoteToASCII` when `ascii_only`.
pub(crate) fn quote_string(text: &str, ascii_only: bool) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        push_escaped(&mut quoted, character, '"', ascii_only);
    }
    quoted.push('"');
    quoted
}

/// Go's `strconv.QuoteRune`, or `QuoteRuneToASCII` when `ascii_only`.
pub(crate) fn quote_character(character: char, ascii_only: bool) -> String {
    let mut quoted = String::from("'");
    push_escaped(&mut quoted, character, '\'', ascii_only);
    quoted.push('\'');
    quoted
}

/// Go's `strconv.CanBackquote`: whether `text` fits in a raw string.
pub(crate) fn can_backquote(text: &str) -> bool {
    text.chars().all(|character| {
        character != '`' && character != '\u{7f}' && character != '\u{feff}' && (character >= ' ' || character == '\t')
    })
}

fn push_escaped(quoted: &mut String, character: char, quote: char, ascii_only: bool) {
    if character == quote || character == '\\' {
        quoted.push('\\');
        quoted.push(character);
        return;
    }
    let printable = if ascii_only { character.is_ascii() && is_print(character) } else { is_print(character) };
    if printable {
        quoted.push(character);
        return;
    }
    let escape = match character {
        '\u{07}' => "\\a",
        '\u{08}' => "\\b",
        '\u{0c}' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{0b}' => "\\v",
        _ => "",
    };
    if !escape.is_empty() {
        quoted.push_str(escape);
        return;
    }
    let code = u32::from(character);
    let hexadecimal = if character < ' ' || character == '\u{7f}' {
        format!("\\x{code:02x}")
    } else if code < 0x10000 {
        format!("\\u{code:04x}")
    } else {
        format!("\\U{code:08x}")
    };
    quoted.push_str(&hexadecimal);
}

/// An approximation of Go's `strconv.IsPrint` (letters, marks, numbers,
/// punctuation, symbols and the ASCII space): controls, other spaces,
/// format characters, private-use and noncharacters are not printable.
pub(crate) fn is_print(character: char) -> bool {
    if character == ' ' {
        return true;
    }
    let code = u32::from(character);
    let format_character = matches!(
        code,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
            | 0x202a..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb
            | 0x110bd | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a | 0xe0001..=0xe007f
    );
    let private_or_noncharacter = matches!(
        code,
        0xe000..=0xf8ff | 0xf0000.. | 0xfdd0..=0xfdef
    ) || code & 0xfffe == 0xfffe;
    !(character.is_control() || character.is_whitespace() || format_character || private_or_noncharacter)
}
