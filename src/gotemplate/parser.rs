//! Builds the syntax tree from tokens, with the grammar and checks of Go's
//! `text/template/parse`: control structures and their `{{end}}`, `else
//! if`/`else with` chains, declarations, pipelines, commands and operands,
//! variable scopes, and known function names.

use super::SyntaxError;
use super::functions::{self, Builtin, Lookup};
use super::lexer::{Keyword, Token, TokenKind};

/// Deepest nesting of control structures and parentheses accepted, so that
/// parsing and execution cannot exhaust the stack.
const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    Control(Box<Control>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlKind {
    If,
    With,
    Range,
}

impl ControlKind {
    fn name(self) -> &'static str {
        match self {
            ControlKind::If => "if",
            ControlKind::With => "with",
            ControlKind::Range => "range",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Control {
    pub kind: ControlKind,
    pub pipeline: Pipeline,
    pub body: Vec<Node>,
    pub else_body: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`) by the pipeline.
    pub declarations: Vec<String>,
    pub is_assignment: bool,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub arguments: Vec<Expression>,
}

#[derive(Debug, Clone)]
pub(crate) enum Expression {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    String(String),
    Variable(String),
    Function(Builtin),
    Pipeline(Box<Pipeline>),
    Chain(Box<Chain>),
}

/// Fields looked up in turn on a receiver: `.A.B`, `$x.A`, `(pipeline).A`.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub receiver: Receiver,
    pub fields: Vec<String>,
    /// The receiver as written (empty for the dot), for error messages.
    pub receiver_text: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Receiver {
    Dot,
    Variable(String),
    Pipeline(Pipeline),
}

enum ListEnd {
    EndOfSource,
    End(usize),
    /// `{{else}}`, or `{{else if`/`{{else with` with that keyword pending.
    Else(usize, Option<Keyword>),
}

enum ActionItem {
    Node(Node),
    End(usize),
    Else(usize, Option<Keyword>),
}

pub(crate) fn parse(source: &str, tokens: &[Token]) -> Result<Vec<Node>, SyntaxError> {
    let mut parser = Parser { source, tokens, index: 0, variables: vec!["$".to_string()], depth: 0 };
    let (nodes, ending) = parser.parse_list()?;
    match ending {
        ListEnd::EndOfSource => Ok(nodes),
        ListEnd::End(offset) => Err(SyntaxError::message(offset, "unexpected `{{end}}`")),
        ListEnd::Else(offset, _) => Err(SyntaxError::message(offset, "unexpected `{{else}}`")),
    }
}

struct Parser<'a> {
    source: &'a str,
    tokens: &'a [Token],
    index: usize,
    /// Variables in scope, innermost last.
    variables: Vec<String>,
    depth: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.index).cloned();
        self.index += 1;
        token
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek_kind(), Some(TokenKind::Space)) {
            self.index += 1;
        }
    }

    fn peek_kind(&self) -> Option<&TokenKind> {
        self.tokens.get(self.index).map(|token| &token.kind)
    }

    fn peek_non_space(&mut self) -> Option<&TokenKind> {
        self.skip_spaces();
        self.peek_kind()
    }

    /// The next non-space token; running out inside an action cannot happen
    /// after lexing, but is reported rather than assumed.
    fn next_non_space(&mut self) -> Result<Token, SyntaxError> {
        self.skip_spaces();
        self.next().ok_or_else(|| SyntaxError::message(self.source.len(), "unclosed action"))
    }

    fn text_of(&self, token: &Token) -> String {
        let text = self.source.get(token.start..token.end).unwrap_or("");
        format!("`{text}`")
    }

    fn unexpected(&self, token: &Token, context: &str) -> SyntaxError {
        let message = format!("unexpected {} in {context}", self.text_of(token));
        SyntaxError::message(token.start, message)
    }

    fn enter(&mut self, offset: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let message = format!("nesting deeper than {MAX_DEPTH} levels");
            return Err(SyntaxError::message(offset, message));
        }
        Ok(())
    }

    fn parse_list(&mut self) -> Result<(Vec<Node>, ListEnd), SyntaxError> {
        let mut nodes = Vec::new();
        while let Some(token) = self.next() {
            let item = match token.kind {
                TokenKind::Text(text) => ActionItem::Node(Node::Text(text)),
                TokenKind::LeftDelimiter => self.action(token.start)?,
                _ => return Err(self.unexpected(&token, "text")),
            };
            match item {
                ActionItem::Node(node) => nodes.push(node),
                ActionItem::End(offset) => return Ok((nodes, ListEnd::End(offset))),
                ActionItem::Else(offset, keyword) => {
                    return Ok((nodes, ListEnd::Else(offset, keyword)));
                }
            }
        }
        Ok((nodes, ListEnd::EndOfSource))
    }

    fn action(&mut self, start: usize) -> Result<ActionItem, SyntaxError> {
        let Some(TokenKind::Keyword(keyword)) = self.peek_non_space().cloned() else {
            let pipeline = self.pipeline("command", &TokenKind::RightDelimiter)?;
            return Ok(ActionItem::Node(Node::Action(pipeline)));
        };
        self.index += 1;
        let kind = match keyword {
            Keyword::Else => return self.else_action(start),
            Keyword::End => {
                self.expect_right_delimiter("`{{end}}`")?;
                return Ok(ActionItem::End(start));
            }
            Keyword::If => ControlKind::If,
            Keyword::With => ControlKind::With,
            Keyword::Range => ControlKind::Range,
            Keyword::Block | Keyword::Define | Keyword::Template => {
                let construct = format!("`{{{{{}}}}}`", keyword_name(keyword));
                return Err(SyntaxError::unsupported(start, construct));
            }
            Keyword::Break | Keyword::Continue => {
                let construct = format!("`{{{{{}}}}}`", keyword_name(keyword));
                return Err(SyntaxError::unsupported(start, construct));
            }
        };
        Ok(ActionItem::Node(self.control(kind, start)?))
    }

    fn expect_right_delimiter(&mut self, context: &str) -> Result<(), SyntaxError> {
        let token = self.next_non_space()?;
        if token.kind != TokenKind::RightDelimiter {
            return Err(self.unexpected(&token, context));
        }
        Ok(())
    }

    fn else_action(&mut self, start: usize) -> Result<ActionItem, SyntaxError> {
        if let Some(TokenKind::Keyword(keyword @ (Keyword::If | Keyword::With))) = self.peek_non_space() {
            return Ok(ActionItem::Else(start, Some(*keyword)));
        }
        self.expect_right_delimiter("`{{else}}`")?;
        Ok(ActionItem::Else(start, None))
    }

    fn control(&mut self, kind: ControlKind, offset: usize) -> Result<Node, SyntaxError> {
        self.enter(offset)?;
        let scope = self.variables.len();
        let pipeline = self.pipeline(kind.name(), &TokenKind::RightDelimiter)?;
        let (body, ending) = self.parse_list()?;
        let else_body = match ending {
            ListEnd::End(_) => None,
            ListEnd::EndOfSource => return Err(self.missing_end(kind)),
            ListEnd::Else(else_offset, Some(keyword)) => {
                Some(vec![self.chained_control(kind, keyword, else_offset)?])
            }
            ListEnd::Else(_, None) => match self.parse_list()? {
                (list, ListEnd::End(_)) => Some(list),
                (_, ListEnd::Else(else_offset, _)) => {
                    let message = "expected `{{end}}`; found a second `{{else}}`";
                    return Err(SyntaxError::message(else_offset, message));
                }
                (_, ListEnd::EndOfSource) => return Err(self.missing_end(kind)),
            },
        };
        self.variables.truncate(scope);
        self.depth -= 1;
        let control = Control { kind, pipeline, body, else_body };
        Ok(Node::Control(Box::new(control)))
    }

    /// `{{else if ...}}` inside an `if`, or `{{else with ...}}` inside a
    /// `with`: a nested control that shares the outer `{{end}}`.
    fn chained_control(&mut self, kind: ControlKind, keyword: Keyword, offset: usize) -> Result<Node, SyntaxError> {
        let token = self.next_non_space()?;
        match (kind, keyword) {
            (ControlKind::If, Keyword::If) | (ControlKind::With, Keyword::With) => self.control(kind, offset),
            _ => Err(self.unexpected(&token, &format!("`{{{{else}}}}` of `{}`", kind.name()))),
        }
    }

    fn missing_end(&self, kind: ControlKind) -> SyntaxError {
        let message = format!("unexpected end of template: missing `{{{{end}}}}` for `{{{{{}}}}}`", kind.name());
        SyntaxError::message(self.source.len(), message)
    }

    fn pipeline(&mut self, context: &str, terminator: &TokenKind) -> Result<Pipeline, SyntaxError> {
        let start = self.tokens.get(self.index).map_or(self.source.len(), |token| token.start);
        let (declarations, is_assignment) = self.declarations(context)?;
        // Like Go, the variables are in scope from here on, even in their own
        // pipeline and when assigned without a declaration; execution then
        // reports a variable that has no value.
        self.variables.extend(declarations.iter().cloned());
        let mut commands = Vec::new();
        loop {
            let token = self.next_non_space()?;
            if &token.kind == terminator {
                break;
            }
            if !starts_operand(&token.kind) {
                return Err(self.unexpected(&token, context));
            }
            self.index -= 1;
            commands.push(self.command()?);
        }
        check_commands(&commands, context, start)?;
        Ok(Pipeline { declarations, is_assignment, commands })
    }

    /// Reads `$x :=`, `$x =` or, in a `range`, `$k, $v :=`.
    fn declarations(&mut self, context: &str) -> Result<(Vec<String>, bool), SyntaxError> {
        let mut declarations = Vec::new();
        loop {
            let before = self.index;
            let Some(TokenKind::Variable(name)) = self.peek_non_space().cloned() else {
                self.index = before;
                return Ok((declarations, false));
            };
            self.index += 1;
            let Some(next) = self.peek_non_space().cloned() else {
                self.index = before;
                return Ok((declarations, false));
            };
            match next {
                TokenKind::Declare | TokenKind::Assign => {
                    self.index += 1;
                    declarations.push(name);
                    return Ok((declarations, next == TokenKind::Assign));
                }
                TokenKind::Character(',') => {
                    self.index += 1;
                    declarations.push(name);
                    self.check_second_declaration(context, declarations.len())?;
                }
                _ => {
                    self.index = before;
                    return Ok((declarations, false));
                }
            }
        }
    }

    fn check_second_declaration(&mut self, context: &str, count: usize) -> Result<(), SyntaxError> {
        let offset = self.tokens.get(self.index).map_or(self.source.len(), |token| token.start);
        if context != "range" || count >= 2 {
            let message = format!("too many declarations in `{context}`");
            return Err(SyntaxError::message(offset, message));
        }
        match self.peek_non_space() {
            Some(TokenKind::Variable(_) | TokenKind::RightDelimiter | TokenKind::RightParenthesis) => Ok(()),
            _ => Err(SyntaxError::message(offset, "`range` can only initialize variables")),
        }
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let start = self.tokens.get(self.index).map_or(self.source.len(), |token| token.start);
        let mut arguments = Vec::new();
        loop {
            self.skip_spaces();
            if let Some(operand) = self.operand()? {
                arguments.push(operand);
            }
            let token = self.next_non_space_or_space()?;
            match token.kind {
                TokenKind::Space => continue,
                TokenKind::RightDelimiter | TokenKind::RightParenthesis => {
                    self.index -= 1;
                    break;
                }
                TokenKind::Pipe => break,
                _ => return Err(self.unexpected(&token, "operand")),
            }
        }
        if arguments.is_empty() {
            return Err(SyntaxError::message(start, "empty command"));
        }
        Ok(Command { arguments })
    }

    fn next_non_space_or_space(&mut self) -> Result<Token, SyntaxError> {
        self.next().ok_or_else(|| SyntaxError::message(self.source.len(), "unclosed action"))
    }

    /// A term, followed by any field chain: `.A.B`, `$x.A`, `(...).A`.
    fn operand(&mut self) -> Result<Option<Expression>, SyntaxError> {
        let first = self.index;
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek_kind(), Some(TokenKind::Field(_))) {
            return Ok(Some(term));
        }
        let receiver_text = self.source_between(first, self.index);
        let mut fields = Vec::new();
        while let Some(TokenKind::Field(name)) = self.peek_kind() {
            fields.push(name.clone());
            self.index += 1;
        }
        let chain = match term {
            Expression::Chain(mut chain) => {
                chain.fields.extend(fields);
                chain
            }
            Expression::Variable(name) => Box::new(Chain { receiver: Receiver::Variable(name), fields, receiver_text }),
            Expression::Pipeline(pipeline) => {
                Box::new(Chain { receiver: Receiver::Pipeline(*pipeline), fields, receiver_text })
            }
            Expression::Function(builtin) => {
                Box::new(Chain { receiver: Receiver::Pipeline(call_without_arguments(builtin)), fields, receiver_text })
            }
            Expression::Dot | Expression::Nil | Expression::Bool(_) | Expression::Int(_) | Expression::String(_) => {
                let offset = self.tokens.get(first).map_or(0, |token| token.start);
                let message = format!("unexpected `.` after term `{receiver_text}`");
                return Err(SyntaxError::message(offset, message));
            }
        };
        Ok(Some(Expression::Chain(chain)))
    }

    fn source_between(&self, first: usize, after_last: usize) -> String {
        let start = self.tokens.get(first).map_or(0, |token| token.start);
        let end = after_last.checked_sub(1).and_then(|last| self.tokens.get(last)).map_or(start, |token| token.end);
        self.source.get(start..end).unwrap_or("").to_string()
    }

    fn term(&mut self) -> Result<Option<Expression>, SyntaxError> {
        let token = self.next_non_space()?;
        let expression = match token.kind {
            TokenKind::Identifier(name) => Expression::Function(resolve_function(&name, token.start)?),
            TokenKind::Dot => Expression::Dot,
            TokenKind::Nil => Expression::Nil,
            TokenKind::Bool(value) => Expression::Bool(value),
            TokenKind::Number(value) => Expression::Int(value),
            TokenKind::String(value) => Expression::String(value),
            TokenKind::Variable(name) => {
                if !self.variables.contains(&name) {
                    let message = format!("undefined variable `{name}`");
                    return Err(SyntaxError::message(token.start, message));
                }
                Expression::Variable(name)
            }
            TokenKind::Field(name) => Expression::Chain(Box::new(Chain {
                receiver: Receiver::Dot,
                fields: vec![name],
                receiver_text: String::new(),
            })),
            TokenKind::LeftParenthesis => {
                self.enter(token.start)?;
                let pipeline = self.pipeline("parenthesized pipeline", &TokenKind::RightParenthesis)?;
                self.depth -= 1;
                Expression::Pipeline(Box::new(pipeline))
            }
            _ => {
                self.index -= 1;
                return Ok(None);
            }
        };
        Ok(Some(expression))
    }
}

fn keyword_name(keyword: Keyword) -> &'static str {
    match keyword {
        Keyword::Block => "block",
        Keyword::Break => "break",
        Keyword::Continue => "continue",
        Keyword::Define => "define",
        Keyword::Else => "else",
        Keyword::End => "end",
        Keyword::If => "if",
        Keyword::Range => "range",
        Keyword::Template => "template",
        Keyword::With => "with",
    }
}

fn starts_operand(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Bool(_)
            | TokenKind::Number(_)
            | TokenKind::Dot
            | TokenKind::Field(_)
            | TokenKind::Identifier(_)
            | TokenKind::Nil
            | TokenKind::String(_)
            | TokenKind::Variable(_)
            | TokenKind::LeftParenthesis
    )
}

fn resolve_function(name: &str, offset: usize) -> Result<Builtin, SyntaxError> {
    match functions::lookup(name) {
        Lookup::Supported(builtin) => Ok(builtin),
        Lookup::Unsupported => Err(SyntaxError::unsupported(offset, format!("function `{name}`"))),
        Lookup::Unknown => {
            let message = format!("function `{name}` is not defined");
            Err(SyntaxError::message(offset, message))
        }
    }
}

fn call_without_arguments(builtin: Builtin) -> Pipeline {
    Pipeline {
        declarations: Vec::new(),
        is_assignment: false,
        commands: vec![Command { arguments: vec![Expression::Function(builtin)] }],
    }
}

/// A pipeline needs a command, and only the first may start with a value
/// that cannot take the previous result as an argument.
fn check_commands(commands: &[Command], context: &str, offset: usize) -> Result<(), SyntaxError> {
    if commands.is_empty() {
        let message = format!("missing value for {context}");
        return Err(SyntaxError::message(offset, message));
    }
    for (index, command) in commands.iter().enumerate().skip(1) {
        if let Some(
            Expression::Bool(_) | Expression::Dot | Expression::Nil | Expression::Int(_) | Expression::String(_),
        ) = command.arguments.first()
        {
            let message = format!("non executable command in pipeline stage {}", index + 1);
            return Err(SyntaxError::message(offset, message));
        }
    }
    Ok(())
}
