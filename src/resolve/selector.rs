//! Kubernetes label selectors (the syntax of `k8s.io/apimachinery` `labels.Parse`, as taken by
//! `ko resolve --selector`): parsing with the same validation of keys and values, and matching
//! against a set of labels. It depends on nothing else in rko.

use std::collections::BTreeMap;

/// A selector string that is not a valid Kubernetes label selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector `{selector}`: {reason}")]
pub struct SelectorError {
    /// The whole selector as given.
    pub selector: String,
    /// What is wrong, naming the offending text in backticks.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    /// Sorted and deduplicated, as Kubernetes keeps them.
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let label = labels.get(&self.key);
        let has_value = |value: &String| self.values.binary_search(value).is_ok();
        match self.operator {
            Operator::Equals | Operator::In => label.is_some_and(has_value),
            Operator::NotEquals | Operator::NotIn => !label.is_some_and(has_value),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(label), [bound]) = (label, self.values.as_slice()) else {
                    return false;
                };
                let (Ok(label), Ok(bound)) = (label.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { label > bound } else { label < bound }
            }
        }
    }
}

/// A parsed Kubernetes label selector: requirements that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Parses a selector such as `app=web,tier in (front,back),!legacy`.
    ///
    /// Accepts `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1` and
    /// `k<1`, separated by commas; an empty selector matches everything.
    ///
    /// # Errors
    /// Returns [`SelectorError`] for a syntax error, an invalid label key or value, or a
    /// non-integer bound of `>` or `<`.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let error = |reason: String| SelectorError { selector: selector.to_string(), reason };
        let tokens = lex(selector).map_err(error)?;
        let mut parser = TokenParser { tokens, position: 0 };
        let mut requirements = parser.requirements().map_err(error)?;
        requirements.sort_by(|left, right| left.key.cmp(&right.key));
        Ok(Self { requirements })
    }

    /// Returns true when the selector has no requirements (it matches everything).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Returns true when `labels` satisfy every requirement. `!=` and `notin` hold when the
    /// label is absent, as in Kubernetes.
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|requirement| requirement.matches(labels))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedParenthesis,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier(String),
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenParenthesis,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::EndOfString => "end of string".to_string(),
            Token::ClosedParenthesis => "`)`".to_string(),
            Token::Comma => "`,`".to_string(),
            Token::DoesNotExist => "`!`".to_string(),
            Token::DoubleEquals => "`==`".to_string(),
            Token::Equals => "`=`".to_string(),
            Token::GreaterThan => "`>`".to_string(),
            Token::Identifier(text) => format!("`{text}`"),
            Token::In => "`in`".to_string(),
            Token::LessThan => "`<`".to_string(),
            Token::NotEquals => "`!=`".to_string(),
            Token::NotIn => "`notin`".to_string(),
            Token::OpenParenthesis => "`(`".to_string(),
        }
    }

    /// In value position `in` and `notin` are plain identifiers.
    fn as_value(&self) -> Token {
        match self {
            Token::In => Token::Identifier("in".to_string()),
            Token::NotIn => Token::Identifier("notin".to_string()),
            other => other.clone(),
        }
    }
}

fn is_special(character: char) -> bool {
    matches!(character, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn is_whitespace(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\r' | '\n')
}

/// Splits a selector into tokens like the Kubernetes lexer (a NUL character ends the input).
fn lex(selector: &str) -> Result<Vec<Token>, String> {
    let characters: Vec<char> = selector.chars().take_while(|character| *character != '\0').collect();
    let mut tokens = Vec::new();
    let mut position = 0;
    loop {
        while characters.get(position).is_some_and(|character| is_whitespace(*character)) {
            position += 1;
        }
        let Some(&character) = characters.get(position) else {
            tokens.push(Token::EndOfString);
            return Ok(tokens);
        };
        if is_special(character) {
            let next = characters.get(position + 1).copied();
            let (token, length) = match (character, next) {
                ('!', Some('=')) => (Token::NotEquals, 2),
                ('=', Some('=')) => (Token::DoubleEquals, 2),
                ('!', _) => (Token::DoesNotExist, 1),
                ('=', _) => (Token::Equals, 1),
                ('(', _) => (Token::OpenParenthesis, 1),
                (')', _) => (Token::ClosedParenthesis, 1),
                (',', _) => (Token::Comma, 1),
                ('>', _) => (Token::GreaterThan, 1),
                ('<', _) => (Token::LessThan, 1),
                _ => return Err(format!("unexpected character `{character}`")),
            };
            tokens.push(token);
            position += length;
        } else {
            let start = position;
            while characters
                .get(position)
                .is_some_and(|character| !is_whitespace(*character) && !is_special(*character))
            {
                position += 1;
            }
            let word: String = characters[start..position].iter().collect();
            tokens.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Identifier(word),
            });
        }
    }
}

struct TokenParser {
    tokens: Vec<Token>,
    position: usize,
}

impl TokenParser {
    /// The next token, with `in`/`notin` read as identifiers (the lexer's value context).
    fn lookahead(&self) -> Token {
        self.tokens.get(self.position).map_or(Token::EndOfString, Token::as_value)
    }

    fn consume_value(&mut self) -> Token {
        let token = self.lookahead();
        self.position += 1;
        token
    }

    /// The next token with `in`/`notin` as keywords (the lexer's operator context).
    fn consume_operator(&mut self) -> Token {
        let token = self.tokens.get(self.position).cloned().unwrap_or(Token::EndOfString);
        self.position += 1;
        token
    }

    fn requirements(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            match self.lookahead() {
                Token::Identifier(_) | Token::DoesNotExist => {
                    requirements.push(self.requirement()?);
                    match self.consume_value() {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let next = self.lookahead();
                            if !matches!(next, Token::Identifier(_) | Token::DoesNotExist) {
                                return Err(format!("found {}, expected an identifier after `,`", next.text()));
                            }
                        }
                        other => {
                            return Err(format!("found {}, expected `,` or end of string", other.text()));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                other => {
                    return Err(format!("found {}, expected `!`, an identifier, or end of string", other.text()));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut operator = None;
        let mut token = self.consume_value();
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            token = self.consume_value();
        }
        let Token::Identifier(key) = token else {
            return Err(format!("found {}, expected an identifier", token.text()));
        };
        validate_key(&key)?;
        if matches!(self.lookahead(), Token::EndOfString | Token::Comma) {
            let operator = operator.unwrap_or(Operator::Exists);
            return Ok(Requirement { key, operator, values: Vec::new() });
        }
        if operator.is_some() {
            return Err(format!("found {} after `!{key}`, expected `,` or end of string", self.lookahead().text()));
        }
        let operator = match self.consume_operator() {
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            Token::Equals | Token::DoubleEquals => Operator::Equals,
            Token::NotEquals => Operator::NotEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            other => {
                return Err(format!(
                    "found {}, expected one of `in`, `notin`, `=`, `==`, `!=`, `>`, `<`",
                    other.text()
                ));
            }
        };
        let mut values = match operator {
            Operator::In | Operator::NotIn => self.values()?,
            _ => vec![self.exact_value()?],
        };
        values.sort();
        values.dedup();
        for value in &values {
            validate_value(&key, value)?;
        }
        if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for value in &values {
                if value.parse::<i64>().is_err() {
                    return Err(format!("value `{value}` of `{key}` must be an integer for the `>` and `<` operators"));
                }
            }
        }
        Ok(Requirement { key, operator, values })
    }

    fn values(&mut self) -> Result<Vec<String>, String> {
        let token = self.consume_value();
        if token != Token::OpenParenthesis {
            return Err(format!("found {}, expected `(`", token.text()));
        }
        match self.lookahead() {
            Token::Identifier(_) | Token::Comma => {
                let values = self.identifiers()?;
                let token = self.consume_value();
                if token != Token::ClosedParenthesis {
                    return Err(format!("found {}, expected `)`", token.text()));
                }
                Ok(values)
            }
            Token::ClosedParenthesis => {
                self.consume_value();
                Ok(vec![String::new()])
            }
            other => Err(format!("found {}, expected `,`, `)` or an identifier", other.text())),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut values = Vec::new();
        loop {
            match self.consume_value() {
                Token::Identifier(value) => {
                    values.push(value);
                    match self.lookahead() {
                        Token::Comma => {}
                        Token::ClosedParenthesis => return Ok(values),
                        other => {
                            return Err(format!("found {}, expected `,` or `)`", other.text()));
                        }
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.lookahead() {
                        Token::ClosedParenthesis => {
                            values.push(String::new());
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.consume_value();
                            values.push(String::new());
                        }
                        _ => {}
                    }
                }
                other => {
                    return Err(format!("found {}, expected `,` or an identifier", other.text()));
                }
            }
        }
    }

    fn exact_value(&mut self) -> Result<String, String> {
        if matches!(self.lookahead(), Token::EndOfString | Token::Comma) {
            return Ok(String::new());
        }
        match self.consume_value() {
            Token::Identifier(value) => Ok(value),
            other => Err(format!("found {}, expected an identifier", other.text())),
        }
    }
}

/// Matches `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` (without the length limit).
fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Matches a DNS-1123 subdomain: at most 253 characters of dot-separated lowercase labels.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|label| {
            let bytes = label.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    (first.is_ascii_lowercase() || first.is_ascii_digit())
                        && (last.is_ascii_lowercase() || last.is_ascii_digit())
                        && bytes.iter().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
                }
                _ => false,
            }
        })
}

/// Validates a label key like Kubernetes `IsQualifiedName`: `[prefix/]name`.
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err(format!("key `{key}` has an empty prefix before `/`"));
        }
        if name.contains('/') {
            return Err(format!("key `{key}` has more than one `/`"));
        }
        if !is_dns_subdomain(prefix) {
            return Err(format!(
                "prefix `{prefix}` of key `{key}` must be a DNS subdomain: lowercase alphanumeric \
                 labels separated by `.`, at most 253 characters"
            ));
        }
    }
    if name.is_empty() || name.len() > 63 || !is_name(name) {
        return Err(format!(
            "key `{key}` must have a name of at most 63 alphanumeric characters, `-`, `_` or `.`, \
             starting and ending with an alphanumeric character"
        ));
    }
    Ok(())
}

/// Validates a label value like Kubernetes `IsValidLabelValue`: empty, or a name of at most
/// 63 characters.
fn validate_value(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || (value.len() <= 63 && is_name(value)) {
        Ok(())
    } else {
        Err(format!(
            "value `{value}` of `{key}` must be empty or at most 63 alphanumeric characters, `-`, \
             `_` or `.`, starting and ending with an alphanumeric character"
        ))
    }
}
