//! Go's `fmt` printing for template values: `print`, `println`, `printf`
//! (flags, width, precision, `*`, `[n]` argument indexes, and the
//! `%!verb(...)` markers for bad verbs, missing and extra arguments), and
//! the way an action prints its value.

use std::collections::BTreeMap;

use super::value::Value;
use crate::goquote::{can_backquote, is_print, quote, quote_rune, quote_rune_to_ascii, quote_to_ascii};

/// Go rejects widths and precisions beyond a million.
const LARGEST_WIDTH: usize = 1_000_000;

/// How an action prints its result: Go's `fmt.Fprint`, except that a nil
/// value is `<no value>`.
pub(crate) fn print_action_value(value: &Value) -> String {
    match value {
        Value::Nil => "<no value>".to_string(),
        other => sprint(std::slice::from_ref(other)),
    }
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
pub(crate) fn sprint(values: &[Value]) -> String {
    let mut printer = Printer::default();
    let mut previous_was_string = false;
    for (position, value) in values.iter().enumerate() {
        let is_string = matches!(value, Value::String(_));
        if position > 0 && !is_string && !previous_was_string {
            printer.buffer.push(' ');
        }
        printer.print_argument(value, 'v');
        previous_was_string = is_string;
    }
    printer.buffer
}

/// Go's `fmt.Sprintln`: spaces between all operands and a final newline.
pub(crate) fn sprintln(values: &[Value]) -> String {
    let mut printer = Printer::default();
    for (position, value) in values.iter().enumerate() {
        if position > 0 {
            printer.buffer.push(' ');
        }
        printer.print_argument(value, 'v');
    }
    printer.buffer.push('\n');
    printer.buffer
}

/// Go's `fmt.Sprintf`; fails only for `%p` of a map (an address) and for
/// results longer than `limit` bytes.
pub(crate) fn sprintf(format: &str, arguments: &[Value], limit: usize) -> Result<String, String> {
    let mut state = FormatState {
        format,
        bytes: format.as_bytes(),
        arguments,
        printer: Printer::default(),
        argument_number: 0,
        reordered: false,
        good_argument_number: true,
    };
    state.run(limit)?;
    Ok(state.printer.buffer)
}

#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    sharp: bool,
    zero: bool,
    plus: bool,
    minus: bool,
    space: bool,
    sharp_v: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buffer: String,
    flags: Flags,
}

impl Printer {
    fn print_argument(&mut self, value: &Value, verb: char) {
        if verb == 'T' {
            self.format_text(&value.type_name());
            return;
        }
        match value {
            Value::Nil if verb == 'v' => self.pad("<nil>"),
            Value::Nil => self.bad_verb(value, verb),
            _ => self.print_value(value, verb),
        }
    }

    /// Prints a value that may sit inside a map (Go's `printValue`).
    fn print_value(&mut self, value: &Value, verb: char) {
        match value {
            Value::Nil if self.flags.sharp_v => self.buffer.push_str("interface {}(nil)"),
            Value::Nil => self.buffer.push_str("<nil>"),
            Value::Bool(boolean) => match verb {
                't' | 'v' => self.pad(if *boolean { "true" } else { "false" }),
                _ => self.bad_verb(value, verb),
            },
            Value::Int(integer) => self.format_integer_verb(*integer, verb, value),
            Value::String(text) => self.format_string_verb(text, verb, value),
            Value::Map(map) => self.format_map(map, verb, value),
        }
    }

    fn bad_verb(&mut self, value: &Value, verb: char) {
        self.buffer.push_str("%!");
        self.buffer.push(verb);
        self.buffer.push('(');
        if matches!(value, Value::Nil) {
            self.buffer.push_str("<nil>");
        } else {
            self.buffer.push_str(&value.type_name());
            self.buffer.push('=');
            self.print_argument(value, 'v');
        }
        self.buffer.push(')');
    }

    fn format_map(&mut self, map: &BTreeMap<String, Value>, verb: char, value: &Value) {
        let sharp_v = self.flags.sharp_v;
        if sharp_v {
            self.buffer.push_str(&value.type_name());
            self.buffer.push('{');
        } else {
            self.buffer.push_str("map[");
        }
        for (position, (key, element)) in map.iter().enumerate() {
            if position > 0 {
                self.buffer.push_str(if sharp_v { ", " } else { " " });
            }
            self.print_value(&Value::String(key.clone()), verb);
            self.buffer.push(':');
            self.print_value(element, verb);
        }
        self.buffer.push(if sharp_v { '}' } else { ']' });
    }

    fn format_string_verb(&mut self, text: &str, verb: char, value: &Value) {
        match verb {
            'v' if self.flags.sharp_v => self.format_quoted(text),
            'v' | 's' => self.format_text(text),
            'x' => self.format_hexadecimal_bytes(text, false),
            'X' => self.format_hexadecimal_bytes(text, true),
            'q' => self.format_quoted(text),
            _ => self.bad_verb(value, verb),
        }
    }

    fn truncate<'t>(&self, text: &'t str) -> &'t str {
        match self.flags.precision {
            Some(precision) => text.char_indices().nth(precision).map_or(text, |(end, _)| &text[..end]),
            None => text,
        }
    }

    fn format_text(&mut self, text: &str) {
        let text = self.truncate(text);
        self.pad(text);
    }

    fn format_quoted(&mut self, text: &str) {
        let text = self.truncate(text);
        if self.flags.sharp && can_backquote(text) {
            self.pad(&format!("`{text}`"));
        } else {
            let quoted = if self.flags.plus { quote_to_ascii(text) } else { quote(text) };
            self.pad(&quoted);
        }
    }

    fn format_hexadecimal_bytes(&mut self, text: &str, upper: bool) {
        let flags = self.flags;
        let bytes = text.as_bytes();
        let length = flags.precision.map_or(bytes.len(), |precision| precision.min(bytes.len()));
        let mut encoded = String::new();
        let prefix = if upper { "0X" } else { "0x" };
        if length > 0 && flags.sharp {
            encoded.push_str(prefix);
        }
        for (position, byte) in bytes[..length].iter().enumerate() {
            if flags.space && position > 0 {
                encoded.push(' ');
                if flags.sharp {
                    encoded.push_str(prefix);
                }
            }
            if upper {
                encoded.push_str(&format!("{byte:02X}"));
            } else {
                encoded.push_str(&format!("{byte:02x}"));
            }
        }
        self.pad(&encoded);
    }

    fn format_integer_verb(&mut self, integer: i64, verb: char, value: &Value) {
        match verb {
            'v' | 'd' => self.format_integer(integer, 10, verb, false),
            'b' => self.format_integer(integer, 2, verb, false),
            'o' | 'O' => self.format_integer(integer, 8, verb, false),
            'x' => self.format_integer(integer, 16, verb, false),
            'X' => self.format_integer(integer, 16, verb, true),
            'c' => self.pad(&rune_of(integer).to_string()),
            'q' => {
                let character = rune_of(integer);
                let quoted = if self.flags.plus { quote_rune_to_ascii(character) } else { quote_rune(character) };
                self.pad(&quoted);
            }
            'U' => self.format_unicode(integer),
            _ => self.bad_verb(value, verb),
        }
    }

    /// Go's `fmt.fmtInteger`: precision or zero flag for leading zeros, then
    /// the `#` prefix, then the sign.
    fn format_integer(&mut self, integer: i64, base: u32, verb: char, upper: bool) {
        let flags = self.flags;
        let negative = integer < 0;
        let magnitude = integer.unsigned_abs();
        let mut precision = 0;
        if let Some(explicit) = flags.precision {
            precision = explicit;
            if explicit == 0 && magnitude == 0 {
                self.write_padding(flags.width.unwrap_or(0), ' ');
                return;
            }
        } else if let (true, false, Some(width)) = (flags.zero, flags.minus, flags.width) {
            precision = width;
            if negative || flags.plus || flags.space {
                precision = precision.saturating_sub(1);
            }
        }
        let digits = digits_in_base(magnitude, base, upper);
        let zeros = "0".repeat(precision.saturating_sub(digits.len()));
        let body = format!("{zeros}{digits}");
        let mut prefix = String::new();
        if negative {
            prefix.push('-');
        } else if flags.plus {
            prefix.push('+');
        } else if flags.space {
            prefix.push(' ');
        }
        if verb == 'O' {
            prefix.push_str("0o");
        }
        if flags.sharp {
            prefix.push_str(match base {
                2 => "0b",
                8 if !body.starts_with('0') => "0",
                16 if upper => "0X",
                16 => "0x",
                _ => "",
            });
        }
        self.pad_with(&format!("{prefix}{body}"), ' ');
    }

    /// Go's `%U`: `U+0041`, and with `#` also the quoted character.
    fn format_unicode(&mut self, integer: i64) {
        let code = integer as u64;
        let precision = self.flags.precision.unwrap_or(4).max(4);
        let mut text = format!("U+{code:0precision$X}");
        if self.flags.sharp
            && let Some(character) = u32::try_from(code).ok().and_then(char::from_u32)
            && is_print(character)
        {
            text.push_str(&format!(" '{character}'"));
        }
        self.pad_with(&text, ' ');
    }

    fn pad(&mut self, text: &str) {
        let fill = if self.flags.zero && !self.flags.minus { '0' } else { ' ' };
        self.pad_with(text, fill);
    }

    fn pad_with(&mut self, text: &str, fill: char) {
        let width = self.flags.width.unwrap_or(0);
        let missing = width.saturating_sub(text.chars().count());
        if self.flags.minus {
            self.buffer.push_str(text);
            self.write_padding(missing, ' ');
        } else {
            self.write_padding(missing, fill);
            self.buffer.push_str(text);
        }
    }

    fn write_padding(&mut self, count: usize, fill: char) {
        self.buffer.extend(std::iter::repeat_n(fill, count));
    }
}

/// The character `%c` prints: invalid code points become U+FFFD.
fn rune_of(integer: i64) -> char {
    u32::try_from(integer).ok().and_then(char::from_u32).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn digits_in_base(magnitude: u64, base: u32, upper: bool) -> String {
    match (base, upper) {
        (2, _) => format!("{magnitude:b}"),
        (8, _) => format!("{magnitude:o}"),
        (16, false) => format!("{magnitude:x}"),
        (16, true) => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    }
}

/// Go's `parsenum`: digits from `start`; an absurdly large number consumes
/// the rest of the format.
fn parse_number(bytes: &[u8], start: usize) -> (Option<usize>, usize) {
    let mut number: usize = 0;
    let mut index = start;
    let mut found = false;
    while let Some(digit) = bytes.get(index).filter(|byte| byte.is_ascii_digit()) {
        if number > LARGEST_WIDTH {
            return (None, bytes.len());
        }
        number = number * 10 + usize::from(digit - b'0');
        found = true;
        index += 1;
    }
    (found.then_some(number), index)
}

/// Go's `parseArgNumber` on text starting with `[`: the 1-based number if
/// well formed, and how many bytes the bracket took.
fn parse_argument_number(rest: &[u8]) -> (Option<usize>, usize) {
    if rest.len() < 3 {
        return (None, 1);
    }
    let Some(close) = rest.iter().skip(1).position(|&byte| byte == b']') else {
        return (None, 1);
    };
    let close = close + 1;
    match parse_number(&rest[..close], 1) {
        (Some(number), end) if end == close => (Some(number), close + 1),
        _ => (None, close + 1),
    }
}

struct FormatState<'a> {
    format: &'a str,
    bytes: &'a [u8],
    arguments: &'a [Value],
    printer: Printer,
    argument_number: usize,
    reordered: bool,
    good_argument_number: bool,
}

impl FormatState<'_> {
    fn run(&mut self, limit: usize) -> Result<(), String> {
        let mut index = 0;
        while index < self.bytes.len() {
            let text_start = index;
            while index < self.bytes.len() && self.bytes[index] != b'%' {
                index += 1;
            }
            self.printer.buffer.push_str(&self.format[text_start..index]);
            if index >= self.bytes.len() {
                break;
            }
            index = self.directive(index + 1)?;
            if self.printer.buffer.len() > limit {
                return Err(format!("result longer than {limit} bytes"));
            }
        }
        self.extra_arguments();
        Ok(())
    }

    /// Handles one `%` directive starting after the `%`; returns the index
    /// after it.
    fn directive(&mut self, start: usize) -> Result<usize, String> {
        self.good_argument_number = true;
        self.printer.flags = Flags::default();
        let mut index = self.flags(start);
        let mut after_index;
        (index, after_index) = self.argument_index(index);
        (index, after_index) = self.width(index, after_index);
        (index, after_index) = self.precision(index, after_index);
        if !after_index {
            (index, _) = self.argument_index(index);
        }
        let Some(verb) = self.format.get(index..).and_then(|rest| rest.chars().next()) else {
            self.printer.buffer.push_str("%!(NOVERB)");
            return Ok(self.bytes.len());
        };
        self.verb(verb)?;
        Ok(index + verb.len_utf8())
    }

    fn flags(&mut self, mut index: usize) -> usize {
        let flags = &mut self.printer.flags;
        while let Some(byte) = self.bytes.get(index) {
            match byte {
                b'#' => flags.sharp = true,
                b'0' => flags.zero = !flags.minus,
                b'+' => flags.plus = true,
                b'-' => {
                    flags.minus = true;
                    flags.zero = false;
                }
                b' ' => flags.space = true,
                _ => break,
            }
            index += 1;
        }
        index
    }

    /// Go's `argNumber`: an optional `[n]` choosing the next argument;
    /// returns the index after it and whether it was well formed.
    fn argument_index(&mut self, index: usize) -> (usize, bool) {
        if self.bytes.get(index) != Some(&b'[') {
            return (index, false);
        }
        self.reordered = true;
        let (number, length) = parse_argument_number(&self.bytes[index..]);
        match number {
            Some(number) if number >= 1 && number <= self.arguments.len() => {
                self.argument_number = number - 1;
                (index + length, true)
            }
            Some(_) => {
                self.good_argument_number = false;
                (index + length, true)
            }
            None => {
                self.good_argument_number = false;
                (index + length, false)
            }
        }
    }

    fn width(&mut self, mut index: usize, after_index: bool) -> (usize, bool) {
        if self.bytes.get(index) == Some(&b'*') {
            let width = self.integer_argument();
            let flags = &mut self.printer.flags;
            match width {
                Some((width, true)) => {
                    flags.width = Some(width);
                    flags.minus = true;
                    flags.zero = false;
                }
                Some((width, false)) => flags.width = Some(width),
                None => self.printer.buffer.push_str("%!(BADWIDTH)"),
            }
            return (index + 1, false);
        }
        let (width, end) = parse_number(self.bytes, index);
        self.printer.flags.width = width;
        index = end;
        if after_index && width.is_some() {
            self.good_argument_number = false;
        }
        (index, after_index)
    }

    fn precision(&mut self, index: usize, mut after_index: bool) -> (usize, bool) {
        if !(index + 1 < self.bytes.len() && self.bytes[index] == b'.') {
            return (index, after_index);
        }
        if after_index {
            self.good_argument_number = false;
        }
        let (mut index, found) = self.argument_index(index + 1);
        after_index = found;
        if self.bytes.get(index) == Some(&b'*') {
            let precision = self.integer_argument().and_then(|(precision, negative)| (!negative).then_some(precision));
            self.printer.flags.precision = precision;
            if precision.is_none() {
                self.printer.buffer.push_str("%!(BADPREC)");
            }
            return (index + 1, false);
        }
        let (precision, end) = parse_number(self.bytes, index);
        self.printer.flags.precision = Some(precision.unwrap_or(0));
        index = end;
        (index, after_index)
    }

    /// Go's `intFromArg`, for `*` widths and precisions: the magnitude and
    /// whether it is negative.
    fn integer_argument(&mut self) -> Option<(usize, bool)> {
        let argument = self.arguments.get(self.argument_number)?;
        self.argument_number += 1;
        let Value::Int(integer) = argument else {
            return None;
        };
        let magnitude = usize::try_from(integer.unsigned_abs()).ok()?;
        (magnitude <= LARGEST_WIDTH).then_some((magnitude, *integer < 0))
    }

    fn verb(&mut self, verb: char) -> Result<(), String> {
        if verb == '%' {
            self.printer.buffer.push('%');
            return Ok(());
        }
        if !self.good_argument_number {
            self.printer.buffer.push_str(&format!("%!{verb}(BADINDEX)"));
            return Ok(());
        }
        let Some(argument) = self.arguments.get(self.argument_number) else {
            self.printer.buffer.push_str(&format!("%!{verb}(MISSING)"));
            return Ok(());
        };
        if verb == 'p' && matches!(argument, Value::Map(_)) {
            return Err("verb `%p` (a map's address) is not supported".to_string());
        }
        if verb == 'v' {
            let flags = &mut self.printer.flags;
            flags.sharp_v = flags.sharp;
            flags.sharp = false;
            flags.plus = false;
        }
        self.printer.print_argument(argument, verb);
        self.argument_number += 1;
        Ok(())
    }

    fn extra_arguments(&mut self) {
        let unused = self.arguments.get(self.argument_number..).unwrap_or(&[]);
        if self.reordered || unused.is_empty() {
            return;
        }
        self.printer.flags = Flags::default();
        self.printer.buffer.push_str("%!(EXTRA ");
        for (position, argument) in unused.iter().enumerate() {
            if position > 0 {
                self.printer.buffer.push_str(", ");
            }
            if matches!(argument, Value::Nil) {
                self.printer.buffer.push_str("<nil>");
            } else {
                self.printer.buffer.push_str(&argument.type_name());
                self.printer.buffer.push('=');
                self.printer.print_argument(argument, 'v');
            }
        }
        self.printer.buffer.push(')');
    }
}
