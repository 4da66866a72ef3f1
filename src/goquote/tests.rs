//! Tests: quoting agrees with Go's `strconv` on the generated cases of `go_cases.rs`, and the
//! generated table of printable code points is well formed.

use super::go_cases::{QUOTES, RUNES};
use super::printable::PRINTABLE;
use super::{can_backquote, in_printable_table, is_print, quote, quote_rune, quote_rune_to_ascii, quote_to_ascii};

/// `(text, Quote, QuoteToASCII, CanBackquote)` as Go answers them.
pub(super) type GoQuote = (&'static str, &'static str, &'static str, bool);

/// `(character, QuoteRune, QuoteRuneToASCII)` as Go answers them.
pub(super) type GoQuoteRune = (char, &'static str, &'static str);

#[test]
fn quotes_strings_like_go() {
    let mut mismatches = Vec::new();
    for &(text, go_quote, go_ascii, go_backquote) in QUOTES {
        let actual = (quote(text), quote_to_ascii(text), can_backquote(text));
        if actual != (go_quote.to_string(), go_ascii.to_string(), go_backquote) {
            mismatches.push(format!("{text:?}\n    go:  {go_quote} {go_ascii} {go_backquote}\n    rko: {actual:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn quotes_characters_like_go() {
    let mut mismatches = Vec::new();
    for &(character, go_quote, go_ascii) in RUNES {
        let actual = (quote_rune(character), quote_rune_to_ascii(character));
        if actual != (go_quote.to_string(), go_ascii.to_string()) {
            mismatches.push(format!("{character:?}: go {go_quote} {go_ascii}, rko {actual:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn printable_table_is_sorted_disjoint_and_within_unicode() {
    for &(first, last) in PRINTABLE {
        assert!(first <= last && char::from_u32(first).is_some() && char::from_u32(last).is_some(), "{first:x}");
    }
    for pair in PRINTABLE.windows(2) {
        assert!(pair[0].1 + 1 < pair[1].0, "{:x?} and {:x?} overlap or touch", pair[0], pair[1]);
    }
}

#[test]
fn ascii_shortcut_agrees_with_the_table() {
    for character in (0..=0x7f_u8).map(char::from) {
        assert_eq!(is_print(character), in_printable_table(u32::from(character)), "{character:?}");
    }
}

#[test]
fn printable_edges() {
    assert!(is_print(' ') && is_print('é') && is_print('😀') && is_print('\u{fffd}') && is_print('\u{301}'));
    for character in ['\u{a0}', '\u{ad}', '\u{378}', '\u{2028}', '\u{3000}', '\u{feff}', '\u{e000}', '\u{10ffff}'] {
        assert!(!is_print(character), "{character:?}");
    }
}
