//! Splits a template source into tokens, following Go's `text/template/parse`
//! lexer: text outside actions, `{{`/`}}` with their `-` trim markers,
//! comments (dropped here), and the words, literals and punctuation inside
//! actions. String, character and number literals are decoded here.

use super::SyntaxError;
use super::literal::{parse_integer, unquote_character, unquote_interpreted, unquote_raw};

const LEFT_DELIMITER: &str = "{{";
const RIGHT_DELIMITER: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
/// A trim marker is a `-` plus the space that separates it from the action.
const TRIM_MARKER_LENGTH: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        Some(match word {
            "block" => Keyword::Block,
            "break" => Keyword::Break,
            "continue" => Keyword::Continue,
            "define" => Keyword::Define,
            "else" => Keyword::Else,
            "end" => Keyword::End,
            "if" => Keyword::If,
            "range" => Keyword::Range,
            "template" => Keyword::Template,
            "with" => Keyword::With,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    Text(String),
    LeftDelimiter,
    RightDelimiter,
    Space,
    Pipe,
    LeftParenthesis,
    RightParenthesis,
    Declare,
    Assign,
    /// Any other printable ASCII character, such as the `,` of `range $k, $v`.
    Character(char),
    Dot,
    /// A field name, without its leading `.`.
    Field(String),
    /// A variable name, with its leading `$` (`$` alone is the root).
    Variable(String),
    Identifier(String),
    Keyword(Keyword),
    Bool(bool),
    Nil,
    String(String),
    Number(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// Byte offsets of the token in the source.
    pub start: usize,
    pub end: usize,
}

/// Tokenizes the whole source, or reports the first lexical error.
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut lexer = Lexer { source, position: 0, tokens: Vec::new(), parenthesis_depth: 0 };
    while lexer.position < source.len() {
        lexer.lex_text()?;
    }
    Ok(lexer.tokens)
}

fn is_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(character: char) -> bool {
    character == '_' || character.is_alphanumeric()
}

fn has_left_trim_marker(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    bytes.len() >= 2 && bytes[0] == b'-' && is_space(char::from(bytes[1]))
}

fn has_right_trim_marker(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    bytes.len() >= 2 && is_space(char::from(bytes[0])) && bytes[1] == b'-'
}

struct Lexer<'a> {
    source: &'a str,
    position: usize,
    tokens: Vec<Token>,
    parenthesis_depth: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.source.get(self.position..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next_character(&mut self) -> Option<char> {
        let character = self.peek()?;
        self.position += character.len_utf8();
        Some(character)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        let end = self.position;
        self.tokens.push(Token { kind, start, end });
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError::message(offset, message)
    }

    /// Emits the text up to the next action (trimmed if that action starts
    /// with `{{- `), then lexes the action.
    fn lex_text(&mut self) -> Result<(), SyntaxError> {
        let start = self.position;
        let rest = self.rest();
        let Some(offset) = rest.find(LEFT_DELIMITER) else {
            let text = rest.to_string();
            self.position = self.source.len();
            self.push(TokenKind::Text(text), start);
            return Ok(());
        };
        let mut text = &rest[..offset];
        if has_left_trim_marker(&rest[offset + LEFT_DELIMITER.len()..]) {
            text = text.trim_end_matches(is_space);
        }
        if !text.is_empty() {
            let kind = TokenKind::Text(text.to_string());
            self.tokens.push(Token { kind, start, end: start + text.len() });
        }
        self.position = start + offset;
        self.lex_action()
    }

    fn lex_action(&mut self) -> Result<(), SyntaxError> {
        let start = self.position;
        self.position += LEFT_DELIMITER.len();
        if has_left_trim_marker(self.rest()) {
            self.position += TRIM_MARKER_LENGTH;
        }
        if self.rest().starts_with(LEFT_COMMENT) {
            return self.lex_comment(start);
        }
        self.push(TokenKind::LeftDelimiter, start);
        self.parenthesis_depth = 0;
        loop {
            if self.at_right_delimiter().is_some() {
                if self.parenthesis_depth > 0 {
                    return Err(self.error(self.position, "unclosed left parenthesis"));
                }
                self.lex_right_delimiter();
                return Ok(());
            }
            self.lex_inside_action(start)?;
        }
    }

    /// Returns whether the right delimiter is here, and whether it carries
    /// a trim marker (` -}}`).
    fn at_right_delimiter(&self) -> Option<bool> {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LENGTH..].starts_with(RIGHT_DELIMITER) {
            return Some(true);
        }
        rest.starts_with(RIGHT_DELIMITER).then_some(false)
    }

    fn lex_right_delimiter(&mut self) {
        let trim = self.at_right_delimiter() == Some(true);
        if trim {
            self.position += TRIM_MARKER_LENGTH;
        }
        let start = self.position;
        self.position += RIGHT_DELIMITER.len();
        self.push(TokenKind::RightDelimiter, start);
        if trim {
            self.skip_leading_spaces();
        }
    }

    fn skip_leading_spaces(&mut self) {
        let rest = self.rest();
        self.position += rest.len() - rest.trim_start_matches(is_space).len();
    }

    fn lex_comment(&mut self, action_start: usize) -> Result<(), SyntaxError> {
        self.position += LEFT_COMMENT.len();
        let Some(offset) = self.rest().find(RIGHT_COMMENT) else {
            return Err(self.error(action_start, "unclosed comment"));
        };
        self.position += offset + RIGHT_COMMENT.len();
        let Some(trim) = self.at_right_delimiter() else {
            return Err(self.error(self.position, "comment ends before closing delimiter"));
        };
        if trim {
            self.position += TRIM_MARKER_LENGTH;
        }
        self.position += RIGHT_DELIMITER.len();
        if trim {
            self.skip_leading_spaces();
        }
        Ok(())
    }

    fn lex_inside_action(&mut self, action_start: usize) -> Result<(), SyntaxError> {
        let start = self.position;
        let Some(character) = self.next_character() else {
            return Err(self.error(action_start, "unclosed action"));
        };
        match character {
            _ if is_space(character) => self.lex_space(start),
            '=' => self.push(TokenKind::Assign, start),
            ':' => {
                if self.next_character() != Some('=') {
                    return Err(self.error(start, "expected `:=`"));
                }
                self.push(TokenKind::Declare, start);
            }
            '|' => self.push(TokenKind::Pipe, start),
            '"' => self.lex_quote(start)?,
            '`' => self.lex_raw_quote(start)?,
            '\'' => self.lex_character_constant(start)?,
            '$' => self.lex_field_or_variable(start, true)?,
            '.' if self.peek().is_some_and(|next| !next.is_ascii_digit()) => {
                self.lex_field_or_variable(start, false)?
            }
            '.' | '+' | '-' | '0'..='9' => self.lex_number(start)?,
            _ if is_alphanumeric(character) => self.lex_identifier(start)?,
            '(' => {
                self.parenthesis_depth += 1;
                self.push(TokenKind::LeftParenthesis, start);
            }
            ')' => {
                if self.parenthesis_depth == 0 {
                    return Err(self.error(start, "unexpected right parenthesis"));
                }
                self.parenthesis_depth -= 1;
                self.push(TokenKind::RightParenthesis, start);
            }
            _ if character.is_ascii_graphic() => self.push(TokenKind::Character(character), start),
            _ => {
                let message = format!("unrecognized character in action: U+{:04X}", u32::from(character));
                return Err(self.error(start, message));
            }
        }
        Ok(())
    }

    /// Lexes a run of spaces, leaving the last one in place when it starts a
    /// trim-marked right delimiter (` -}}`).
    fn lex_space(&mut self, start: usize) {
        while self.peek().is_some_and(is_space) {
            self.position += 1;
        }
        let last_space = self.position - 1;
        let tail = &self.source[last_space..];
        if has_right_trim_marker(tail) && tail[TRIM_MARKER_LENGTH..].starts_with(RIGHT_DELIMITER) {
            self.position = last_space;
        }
        if self.position > start {
            self.push(TokenKind::Space, start);
        }
    }

    fn lex_quote(&mut self, start: usize) -> Result<(), SyntaxError> {
        self.scan_quoted(start, '"', "unterminated quoted string")?;
        let body = &self.source[start + 1..self.position - 1];
        let value = unquote_interpreted(body).map_err(|message| self.error(start, message))?;
        self.push(TokenKind::String(value), start);
        Ok(())
    }

    fn lex_character_constant(&mut self, start: usize) -> Result<(), SyntaxError> {
        self.scan_quoted(start, '\'', "unterminated character constant")?;
        let body = &self.source[start + 1..self.position - 1];
        let value = unquote_character(body).map_err(|message| self.error(start, message))?;
        self.push(TokenKind::Number(value), start);
        Ok(())
    }

    /// Scans to the closing quote, skipping backslash escapes; a newline or
    /// the end of the source is an error.
    fn scan_quoted(&mut self, start: usize, quote: char, message: &str) -> Result<(), SyntaxError> {
        loop {
            match self.next_character() {
                Some('\\') => {
                    if matches!(self.next_character(), None | Some('\n')) {
                        return Err(self.error(start, message));
                    }
                }
                None | Some('\n') => return Err(self.error(start, message)),
                Some(character) if character == quote => return Ok(()),
                Some(_) => {}
            }
        }
    }

    fn lex_raw_quote(&mut self, start: usize) -> Result<(), SyntaxError> {
        let Some(length) = self.rest().find('`') else {
            return Err(self.error(start, "unterminated raw quoted string"));
        };
        let value = unquote_raw(&self.rest()[..length]);
        self.position += length + 1;
        self.push(TokenKind::String(value), start);
        Ok(())
    }

    /// Lexes `.name`, `$name`, or a bare `.` or `$`.
    fn lex_field_or_variable(&mut self, start: usize, variable: bool) -> Result<(), SyntaxError> {
        while self.peek().is_some_and(is_alphanumeric) {
            self.next_character();
        }
        self.check_terminator()?;
        let name = &self.source[start + 1..self.position];
        let kind = match (variable, name.is_empty()) {
            (true, _) => TokenKind::Variable(format!("${name}")),
            (false, true) => TokenKind::Dot,
            (false, false) => TokenKind::Field(name.to_string()),
        };
        self.push(kind, start);
        Ok(())
    }

    fn lex_identifier(&mut self, start: usize) -> Result<(), SyntaxError> {
        while self.peek().is_some_and(is_alphanumeric) {
            self.next_character();
        }
        self.check_terminator()?;
        let word = &self.source[start..self.position];
        let kind = match word {
            "true" => TokenKind::Bool(true),
            "false" => TokenKind::Bool(false),
            "nil" => TokenKind::Nil,
            _ => match Keyword::from_word(word) {
                Some(keyword) => TokenKind::Keyword(keyword),
                None => TokenKind::Identifier(word.to_string()),
            },
        };
        self.push(kind, start);
        Ok(())
    }

    /// Words must be followed by a space, punctuation or the delimiter.
    fn check_terminator(&self) -> Result<(), SyntaxError> {
        match self.peek() {
            None => Ok(()),
            Some(character) if is_space(character) || ".,|:()".contains(character) => Ok(()),
            Some(_) if self.rest().starts_with(RIGHT_DELIMITER) => Ok(()),
            Some(character) => {
                Err(self.error(self.position, format!("bad character `{character}` (U+{:04X})", u32::from(character))))
            }
        }
    }

    /// Scans a number the way Go does (so that `1.5` or `3x` are seen
    /// whole), then decodes it as an integer.
    fn lex_number(&mut self, start: usize) -> Result<(), SyntaxError> {
        self.position = start;
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        let exponent = match digits.len() {
            11 => "eE",
            23 => "pP",
            _ => "",
        };
        if self.accept(exponent) {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        let text = &self.source[start..self.position];
        if self.peek().is_some_and(is_alphanumeric) {
            self.next_character();
            let text = &self.source[start..self.position];
            return Err(self.error(start, format!("bad number syntax `{text}`")));
        }
        let value = parse_integer(text).map_err(|error| error.at(start))?;
        self.push(TokenKind::Number(value), start);
        Ok(())
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(character) if valid.contains(character) => {
                self.position += character.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }
}
