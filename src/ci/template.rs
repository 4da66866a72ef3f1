//! The small part of Handlebars that docker/metadata-action's tag rules use: text with
//! `{{name}}` and `{{name 'argument' key='value'}}` expressions, rendered by a resolver the
//! caller gives. Also moment.js-style date formatting (`YYYYMMDD`, `HH:mm`, `[literal]`) in UTC
//! or a fixed offset, and ISO 8601 timestamps, for `{{date}}` and `{{commit_date}}`. Pure.

use std::fmt::Write;

/// A template that cannot be parsed or rendered; the message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// One `{{...}}` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    pub name: String,
    /// Positional arguments (`'YYYYMMDD'`).
    pub arguments: Vec<String>,
    /// `key=value` arguments (`tz='Asia/Tokyo'`), in order.
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Expression(Expression),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// The template of no text.
    pub fn empty() -> Template {
        Template { segments: Vec::new() }
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                segments.push(Segment::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError(format!("`{{{{` without `}}}}` in `{text}`")))?;
            segments.push(Segment::Expression(parse_expression(&after[..end], text)?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(Template { segments })
    }

    /// The expressions, in order.
    pub fn expressions(&self) -> impl Iterator<Item = &Expression> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Expression(expression) => Some(expression),
            Segment::Text(_) => None,
        })
    }

    /// Whether the template is exactly one `{{name}}`.
    pub fn is_only(&self, name: &str) -> bool {
        matches!(self.segments.as_slice(), [Segment::Expression(expression)] if expression.name == name)
    }

    pub fn render(
        &self,
        mut resolve: impl FnMut(&Expression) -> Result<String, TemplateError>,
    ) -> Result<String, TemplateError> {
        let mut output = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => output.push_str(text),
                Segment::Expression(expression) => output.push_str(&resolve(expression)?),
            }
        }
        Ok(output)
    }
}

fn parse_expression(inner: &str, template: &str) -> Result<Expression, TemplateError> {
    let invalid = |why: &str| TemplateError(format!("{why} in `{{{{{inner}}}}}` of `{template}`"));
    // Each token: an optional `key=` (an `=` outside quotes), its text, and whether it was quoted.
    let mut tokens: Vec<(Option<String>, String, bool)> = Vec::new();
    let mut characters = inner.trim().chars().peekable();
    while let Some(&character) = characters.peek() {
        if character.is_whitespace() {
            characters.next();
            continue;
        }
        let (mut key, mut text, mut quoted) = (None, String::new(), false);
        while let Some(&character) = characters.peek() {
            if character.is_whitespace() {
                break;
            }
            characters.next();
            if character == '\'' || character == '"' {
                quoted = true;
                let mut closed = false;
                for next in characters.by_ref() {
                    if next == character {
                        closed = true;
                        break;
                    }
                    text.push(next);
                }
                if !closed {
                    return Err(invalid("an unclosed quote"));
                }
            } else if character == '=' && key.is_none() && !quoted {
                key = Some(std::mem::take(&mut text));
            } else {
                text.push(character);
            }
        }
        tokens.push((key, text, quoted));
    }
    let mut tokens = tokens.into_iter();
    let name = match tokens.next() {
        Some((None, name, false)) if !name.is_empty() => name,
        _ => return Err(invalid("no expression name")),
    };
    let mut expression = Expression { name, arguments: Vec::new(), options: Vec::new() };
    for (key, text, quoted) in tokens {
        match key {
            Some(key) if !key.is_empty() => expression.options.push((key, text)),
            None if quoted => expression.arguments.push(text),
            _ => return Err(invalid(&format!("`{text}` is neither a quoted string nor `key=value`"))),
        }
    }
    Ok(expression)
}

/// A fixed offset east of UTC, in seconds, for a `tz=` option: `UTC` (and its aliases) or
/// `+09:00` / `-0530` style offsets. Named zones need a zone database, which rko does not carry.
pub fn utc_offset(zone: &str) -> Result<i64, TemplateError> {
    if matches!(zone, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Z" | "Zulu" | "Universal") {
        return Ok(0);
    }
    let unsupported =
        || TemplateError(format!("time zone `{zone}` is not supported; use `UTC` or a fixed offset such as `+09:00`"));
    let (sign, digits) = match zone.strip_prefix('+') {
        Some(rest) => (1, rest),
        None => (-1, zone.strip_prefix('-').ok_or_else(unsupported)?),
    };
    let digits: String = digits.chars().filter(|character| *character != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(unsupported());
    }
    let hours: i64 = digits[..2].parse().map_err(|_| unsupported())?;
    let minutes: i64 = digits[2..].parse().map_err(|_| unsupported())?;
    if hours > 14 || minutes > 59 {
        return Err(unsupported());
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

/// (year, month, day) of a day counted from 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a (year, month, day).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Unix seconds of an ISO 8601 / RFC 3339 timestamp (`2024-03-26T10:20:30Z`,
/// `2024-03-26T10:20:30.123+02:00`, `2024-03-26 10:20:30 +0200`).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let separators = (text.get(4..5)?, text.get(7..8)?, text.get(13..14)?, text.get(16..17)?);
    if separators != ("-", "-", ":", ":") || !matches!(text.get(10..11)?, "T" | "t" | " ") {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|character: char| character.is_ascii_digit());
    }
    let offset = match rest.trim_start() {
        "" | "Z" | "z" => 0,
        zone => utc_offset(zone).ok()?,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Letters moment.js reads as tokens that rko does not implement: refused rather than printed.
const UNSUPPORTED_TOKENS: &str = "QdEeWwGgAakSZzNno";

/// Format `unix_seconds` (shifted by `offset_seconds`) with a moment.js format string.
pub fn format_date(unix_seconds: i64, offset_seconds: i64, format: &str) -> Result<String, TemplateError> {
    let local = unix_seconds + offset_seconds;
    let days = local.div_euclid(86_400);
    let second_of_day = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let day_of_year = days - days_from_civil(year, 1, 1) + 1;
    let (hour, minute, second) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    let twelve_hour = if hour % 12 == 0 { 12 } else { hour % 12 };
    let month_name = MONTHS[(month - 1) as usize];

    let characters: Vec<char> = format.chars().collect();
    let mut output = String::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        if character == '[' {
            let end = characters[index..].iter().position(|c| *c == ']').map(|offset| index + offset);
            let end = end.ok_or_else(|| TemplateError(format!("`[` without `]` in date format `{format}`")))?;
            output.extend(&characters[index + 1..end]);
            index = end + 1;
            continue;
        }
        let run = characters[index..].iter().take_while(|c| **c == character).count();
        let token: String = characters[index..index + run].iter().collect();
        let unsupported = || TemplateError(format!("date format token `{token}` is not supported in `{format}`"));
        match (character, run) {
            ('Y', 4) => write!(output, "{year:04}"),
            ('Y', 2) => write!(output, "{:02}", year.rem_euclid(100)),
            ('Y', 1) => write!(output, "{year}"),
            ('M', 1) => write!(output, "{month}"),
            ('M', 2) => write!(output, "{month:02}"),
            ('M', 3) => write!(output, "{}", &month_name[..3]),
            ('M', 4) => write!(output, "{month_name}"),
            ('D', 1) => write!(output, "{day}"),
            ('D', 2) => write!(output, "{day:02}"),
            ('D', 3) => write!(output, "{day_of_year}"),
            ('D', 4) => write!(output, "{day_of_year:03}"),
            ('H', 1) => write!(output, "{hour}"),
            ('H', 2) => write!(output, "{hour:02}"),
            ('h', 1) => write!(output, "{twelve_hour}"),
            ('h', 2) => write!(output, "{twelve_hour:02}"),
            ('m', 1) => write!(output, "{minute}"),
            ('m', 2) => write!(output, "{minute:02}"),
            ('s', 1) => write!(output, "{second}"),
            ('s', 2) => write!(output, "{second:02}"),
            ('X', 1) => write!(output, "{unix_seconds}"),
            ('x', 1) => write!(output, "{}", unix_seconds * 1000),
            ('Y' | 'M' | 'D' | 'H' | 'h' | 'm' | 's' | 'X' | 'x', _) => return Err(unsupported()),
            (letter, _) if UNSUPPORTED_TOKENS.contains(letter) => return Err(unsupported()),
            _ => {
                output.push_str(&token);
                Ok(())
            }
        }
        .map_err(|_| TemplateError("formatting failed".to_owned()))?;
        index += run;
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> Result<String, TemplateError> {
        Template::parse(text)?
            .render(|expression| Ok(format!("<{}{:?}{:?}>", expression.name, expression.arguments, expression.options)))
    }

    #[test]
    fn parses_text_and_expressions() {
        assert_eq!(render("plain").unwrap(), "plain");
        assert_eq!(render("v{{major}}.{{ minor }}").unwrap(), "v<major[][]>.<minor[][]>");
        assert_eq!(
            render("{{date 'YYYYMMDD' tz=\"Asia/Tokyo\"}}").unwrap(),
            "<date[\"YYYYMMDD\"][(\"tz\", \"Asia/Tokyo\")]>"
        );
        assert_eq!(render("a}}b").unwrap(), "a}}b");
        assert!(Template::parse("{{version}}").unwrap().is_only("version"));
        assert!(!Template::parse("v{{version}}").unwrap().is_only("version"));
    }

    #[test]
    fn refuses_broken_expressions() {
        assert_eq!(render("{{date 'a=b'}}").unwrap(), "<date[\"a=b\"][]>");
        for text in ["{{version", "{{}}", "{{date 'YYYY}}", "{{date YYYY}}", "{{'date'}}", "{{date =x}}"] {
            assert!(Template::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for (days, date) in [(0, (1970, 1, 1)), (19_808, (2024, 3, 26)), (-1, (1969, 12, 31)), (11_016, (2000, 2, 29))]
        {
            assert_eq!(civil_from_days(days), date);
            assert_eq!(days_from_civil(date.0, date.1, date.2), days);
        }
    }

    #[test]
    fn formats_moment_tokens() {
        // 2021-03-26T07:05:09Z, the README's `{{date 'YYYYMMDD'}}` example day.
        let time = days_from_civil(2021, 3, 26) * 86_400 + 7 * 3600 + 5 * 60 + 9;
        assert_eq!(format_date(time, 0, "YYYYMMDD").unwrap(), "20210326");
        assert_eq!(format_date(time, 0, "YYYY-MM-DD[T]HH:mm:ss").unwrap(), "2021-03-26T07:05:09");
        assert_eq!(format_date(time, 0, "YY M D H m s h").unwrap(), "21 3 26 7 5 9 7");
        assert_eq!(format_date(time, 0, "MMM MMMM DDD DDDD").unwrap(), "Mar March 85 085");
        assert_eq!(format_date(time, 0, "X").unwrap(), time.to_string());
        assert_eq!(format_date(time, utc_offset("+09:00").unwrap(), "YYYYMMDD-HH").unwrap(), "20210326-16");
        assert_eq!(format_date(time, utc_offset("-0800").unwrap(), "YYYYMMDD-HH").unwrap(), "20210325-23");
        for format in ["Q", "YYY", "dddd", "A"] {
            assert!(format_date(time, 0, format).is_err(), "{format}");
        }
    }

    #[test]
    fn time_zones_are_utc_or_fixed_offsets() {
        assert_eq!(utc_offset("UTC"), Ok(0));
        assert_eq!(utc_offset("+05:30"), Ok(19_800));
        assert_eq!(utc_offset("-1000"), Ok(-36_000));
        let error = utc_offset("Asia/Tokyo").unwrap_err();
        assert!(error.0.contains("`Asia/Tokyo`") && error.0.contains("+09:00"), "{error}");
        assert!(utc_offset("+25:00").is_err());
    }

    #[test]
    fn parses_iso_timestamps() {
        let base = days_from_civil(2024, 3, 26) * 86_400 + 10 * 3600 + 20 * 60 + 30;
        assert_eq!(parse_timestamp("2024-03-26T10:20:30Z"), Some(base));
        assert_eq!(parse_timestamp("2024-03-26T12:20:30.250+02:00"), Some(base));
        assert_eq!(parse_timestamp("2024-03-26 10:20:30 +0000"), Some(base));
        assert_eq!(parse_timestamp("2024-03-26"), None);
        assert_eq!(parse_timestamp("2024-13-26T10:20:30Z"), None);
    }
}
