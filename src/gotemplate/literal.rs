//! Decodes Go literals found inside actions: integers (with `0x`, `0o`,
//! `0b`, leading-`0` octal and `_` separators), interpreted and raw strings,
//! and character constants, with Go's escape sequences.

use super::SyntaxErrorKind;

/// Parses an integer literal as Go's `strconv.ParseInt(text, 0, 64)` does.
/// Floating-point and complex literals are reported as unsupported.
pub(crate) fn parse_integer(text: &str) -> Result<i64, SyntaxErrorKind> {
    let illegal = || SyntaxErrorKind::Message(format!("illegal number syntax `{text}`"));
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if let Some(kind) = non_integer_kind(unsigned) {
        return Err(if is_well_formed_float(unsigned) {
            SyntaxErrorKind::Unsupported(format!("{kind} constant `{text}`"))
        } else {
            illegal()
        });
    }
    let (radix, digits) = split_radix(unsigned);
    if digits.is_empty() || !underscores_are_valid(unsigned) {
        return Err(illegal());
    }
    let cleaned: String = digits.chars().filter(|&character| character != '_').collect();
    if cleaned.is_empty() {
        return Err(illegal());
    }
    let magnitude = u64::from_str_radix(&cleaned, radix).map_err(|error| {
        if matches!(error.kind(), std::num::IntErrorKind::PosOverflow) {
            SyntaxErrorKind::Message(format!("integer overflow `{text}`"))
        } else {
            illegal()
        }
    })?;
    apply_sign(magnitude, negative).ok_or_else(|| SyntaxErrorKind::Message(format!("integer overflow `{text}`")))
}

fn non_integer_kind(unsigned: &str) -> Option<&'static str> {
    if unsigned.ends_with('i') {
        return Some("complex");
    }
    let hexadecimal = unsigned.starts_with("0x") || unsigned.starts_with("0X");
    let float_markers: &[char] = if hexadecimal { &['.', 'p', 'P'] } else { &['.', 'e', 'E'] };
    unsigned.contains(float_markers).then_some("floating-point")
}

/// A float needs a digit in its mantissa and, when it has an exponent, in
/// the exponent too.
fn is_well_formed_float(unsigned: &str) -> bool {
    let body = unsigned.trim_end_matches('i');
    let body = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")).unwrap_or(body);
    let mut parts = body.splitn(2, ['e', 'E', 'p', 'P']);
    let mantissa = parts.next().unwrap_or("");
    let mantissa_ok = mantissa.chars().any(|character| character.is_ascii_hexdigit());
    let exponent_ok = parts.next().is_none_or(|exponent| {
        let digits = exponent.trim_start_matches(['+', '-']);
        !digits.is_empty() && digits.chars().all(|character| character.is_ascii_digit() || character == '_')
    });
    mantissa_ok && exponent_ok
}

fn split_radix(unsigned: &str) -> (u32, &str) {
    let lower = unsigned.get(..2).map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("0x") => (16, &unsigned[2..]),
        Some("0o") => (8, &unsigned[2..]),
        Some("0b") => (2, &unsigned[2..]),
        _ if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..]),
        _ => (10, unsigned),
    }
}

/// Go allows `_` only between digits, or between a base prefix and a digit.
fn underscores_are_valid(unsigned: &str) -> bool {
    let mut body = unsigned;
    let mut previous = '_';
    if let Some(lower) = unsigned.get(..2).map(str::to_ascii_lowercase)
        && matches!(lower.as_str(), "0x" | "0o" | "0b")
    {
        body = &unsigned[2..];
        previous = '0';
    }
    for character in body.chars() {
        if character == '_' && previous == '_' {
            return false;
        }
        previous = character;
    }
    previous != '_'
}

fn apply_sign(magnitude: u64, negative: bool) -> Option<i64> {
    if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// One decoded unit of a quoted literal: a raw byte (`\x41`, `\101`) or a
/// character.
enum Decoded {
    Byte(u8),
    Character(char),
}

/// Decodes the body of a `"..."` string.
pub(crate) fn unquote_interpreted(body: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(body.len());
    let mut characters = body.chars();
    while let Some(character) = characters.next() {
        let decoded =
            if character == '\\' { decode_escape(&mut characters, '"')? } else { Decoded::Character(character) };
        match decoded {
            Decoded::Byte(byte) => bytes.push(byte),
            Decoded::Character(character) => {
                let mut buffer = [0; 4];
                bytes.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
    String::from_utf8(bytes).map_err(|_| format!("string literal `\"{body}\"` is not valid UTF-8"))
}

/// Decodes the body of a `'...'` character constant to its code point.
pub(crate) fn unquote_character(body: &str) -> Result<i64, String> {
    let malformed = || format!("malformed character constant `'{body}'`");
    let mut characters = body.chars();
    let decoded = match characters.next() {
        Some('\\') => decode_escape(&mut characters, '\'').map_err(|_| malformed())?,
        Some(character) => Decoded::Character(character),
        None => return Err(malformed()),
    };
    if characters.next().is_some() {
        return Err(malformed());
    }
    Ok(match decoded {
        Decoded::Byte(byte) => i64::from(byte),
        Decoded::Character(character) => i64::from(u32::from(character)),
    })
}

/// Go drops carriage returns from raw strings.
pub(crate) fn unquote_raw(body: &str) -> String {
    body.replace('\r', "")
}

fn decode_escape(characters: &mut std::str::Chars<'_>, quote: char) -> Result<Decoded, String> {
    let escape = characters.next().unwrap_or('\0');
    let simple = match escape {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' => Some(b'\\'),
        _ if escape == quote => Some(escape as u8),
        _ => None,
    };
    if let Some(byte) = simple {
        return Ok(Decoded::Byte(byte));
    }
    let invalid = || format!("invalid escape sequence `\\{escape}`");
    match escape {
        'x' => read_digits(characters, 2, 16)
            .and_then(|value| u8::try_from(value).ok())
            .map(Decoded::Byte)
            .ok_or_else(invalid),
        '0'..='7' => {
            let rest = read_digits(characters, 2, 8).ok_or_else(invalid)?;
            let value = escape.to_digit(8).unwrap_or(0) * 64 + rest;
            u8::try_from(value).map(Decoded::Byte).map_err(|_| invalid())
        }
        'u' | 'U' => {
            let count = if escape == 'u' { 4 } else { 8 };
            read_digits(characters, count, 16).and_then(char::from_u32).map(Decoded::Character).ok_or_else(invalid)
        }
        _ => Err(invalid()),
    }
}

fn read_digits(characters: &mut std::str::Chars<'_>, count: usize, radix: u32) -> Option<u32> {
    let mut value: u32 = 0;
    for _ in 0..count {
        let digit = characters.next()?.to_digit(radix)?;
        value = value.checked_mul(radix)?.checked_add(digit)?;
    }
    Some(value)
}
