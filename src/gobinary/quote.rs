//! Go string literal quoting and unquoting, as Go's `strconv.Quote`,
//! `strconv.Unquote` and `strconv.QuotedPrefix` do it for double-quoted and
//! back-quoted strings: build settings in Go build info and the Go build ID
//! are written with them. Quoting is [`crate::goquote`]'s, the one exact
//! implementation. Part of the `gobinary` module.

pub(crate) use crate::goquote::quote;

/// Decodes one Go string literal (`"..."` or `` `...` ``) that must make up
/// all of `text`. Bytes that a `\x` or octal escape produces and that are not
/// valid UTF-8 become U+FFFD. `None` when `text` is not exactly one literal.
pub(crate) fn unquote(text: &str) -> Option<String> {
    let (value, length) = parse_literal(text.as_bytes())?;
    (length == text.len()).then(|| String::from_utf8_lossy(&value).into_owned())
}

/// The Go string literal at the start of `text`, quotes included.
pub(crate) fn quoted_prefix(text: &str) -> Option<&str> {
    let (_, length) = parse_literal(text.as_bytes())?;
    text.get(..length)
}

/// Parses the literal at the start of `input`, giving its value and the
/// number of bytes it takes.
fn parse_literal(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let quote = *input.first()?;
    match quote {
        b'`' => {
            let end = input[1..].iter().position(|&byte| byte == b'`')? + 1;
            let value = input[1..end].iter().copied().filter(|&byte| byte != b'\r').collect();
            Some((value, end + 1))
        }
        b'"' => parse_interpreted(input),
        _ => None,
    }
}

fn parse_interpreted(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut value = Vec::new();
    let mut at = 1;
    loop {
        let byte = *input.get(at)?;
        match byte {
            b'"' => return Some((value, at + 1)),
            b'\n' => return None,
            b'\\' => at = parse_escape(input, at + 1, &mut value)?,
            _ => {
                value.push(byte);
                at += 1;
            }
        }
    }
}

/// Decodes the escape whose letter is at `at`, appending its value; gives
/// the index after it.
fn parse_escape(input: &[u8], at: usize, value: &mut Vec<u8>) -> Option<usize> {
    let letter = *input.get(at)?;
    let simple = match letter {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        _ => None,
    };
    if let Some(byte) = simple {
        value.push(byte);
        return Some(at + 1);
    }
    match letter {
        b'x' | b'u' | b'U' => {
            let digits = match letter {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let hex = input.get(at + 1..at + 1 + digits)?;
            let mut number: u32 = 0;
            for &digit in hex {
                number = number << 4 | char::from(digit).to_digit(16)?;
            }
            if letter == b'x' {
                value.push(number as u8);
            } else {
                let character = char::from_u32(number)?;
                value.extend_from_slice(character.encode_utf8(&mut [0; 4]).as_bytes());
            }
            Some(at + 1 + digits)
        }
        b'0'..=b'7' => {
            let octal = input.get(at..at + 3)?;
            let mut number: u32 = 0;
            for &digit in octal {
                if !(b'0'..=b'7').contains(&digit) {
                    return None;
                }
                number = number << 3 | u32::from(digit - b'0');
            }
            value.push(u8::try_from(number).ok()?);
            Some(at + 3)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_like_go() {
        assert_eq!(unquote(r#""-X main.v=1""#).as_deref(), Some("-X main.v=1"));
        assert_eq!(unquote(r#""a\tb\"c\\\x41\101\u00e9\U0001F600""#).as_deref(), Some("a\tb\"c\\AAé😀"));
        assert_eq!(unquote("`raw \\n\r`").as_deref(), Some("raw \\n"));
        assert_eq!(unquote(r#""\xff""#).as_deref(), Some("\u{fffd}"));
        for bad in [r#""open"#, r#""a"b"#, "\"new\nline\"", r#""\q""#, r#""\400""#, r#""\ud800""#, "'c'", "", "\""] {
            assert_eq!(unquote(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn finds_quoted_prefixes() {
        assert_eq!(quoted_prefix(r#""key=x"=value"#), Some(r#""key=x""#));
        assert_eq!(quoted_prefix("`a`b"), Some("`a`"));
        assert_eq!(quoted_prefix(r#""\"=""#), Some(r#""\"=""#));
        assert_eq!(quoted_prefix("plain"), None);
    }

    #[test]
    fn unquotes_what_go_quoting_gives() {
        assert_eq!(quote("tab\tquote\"back\\bell\u{7}del\u{7f}"), r#""tab\tquote\"back\\bell\adel\x7f""#);
        for text in ["", "a b", "x\u{1}y", "é\u{a0}\u{200b}😀\u{e000}\u{378}", "\u{10ffff}"] {
            assert_eq!(unquote(&quote(text)).as_deref(), Some(text));
        }
    }
}
