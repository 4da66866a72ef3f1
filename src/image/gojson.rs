//! JSON bytes exactly as Go's `encoding/json` writes them, so configs and manifests rko
//! produces have the digests ko's would. Go differs from serde_json only in escaping `<`, `>`,
//! `&`, U+2028 and U+2029 inside strings; struct field order and sorted map keys are the
//! callers' job (declaration order and `BTreeMap`). Depends on nothing else in rko.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (index, character) in fragment.char_indices() {
            let escape = match character {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escape.as_bytes())?;
            start = index + character.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serialize `value` compactly, with Go's escaping.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(512);
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, GoFormatter);
    // Serializing plain data structures into memory cannot fail: every map key is a string.
    if value.serialize(&mut serializer).is_err() {
        bytes.clear();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    #[test]
    fn escapes_html_characters_like_go() {
        let mut map = BTreeMap::new();
        map.insert("b", "<a href=\"x\">&</a>\u{2028}");
        map.insert("a", "tab\there\u{1}");
        assert_eq!(
            String::from_utf8(super::to_vec(&map)).unwrap(),
            r#"{"a":"tab\there\u0001","b":"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e\u2028"}"#
        );
    }
}
