//! Executes a parsed template against data with Go's semantics: the dot and
//! `$`, variable scopes that end with their control structure, pipelines
//! passing their value as the last argument, Go truth for `if`/`with`,
//! sorted-key `range` over maps, and `missingkey=error` for fields.

use super::format;
use super::functions::{self, Builtin};
use super::parser::{Chain, Command, Control, ControlKind, Expression, Node, Pipeline, Receiver};
use super::{TemplateError, Value};

/// The longest output, or printed value, a template may produce; far beyond
/// any command-line argument.
const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// The most `range` iterations one execution may run, so that a loop over a
/// huge integer ends.
const MAX_RANGE_ITERATIONS: usize = 1_000_000;

pub(crate) fn execute(nodes: &[Node], data: &Value, source: &str) -> Result<String, TemplateError> {
    let mut state =
        State { source, variables: vec![("$".to_string(), data.clone())], output: String::new(), range_iterations: 0 };
    state.walk(nodes, data)?;
    Ok(state.output)
}

/// Why a field lookup failed.
enum FieldError {
    Missing(String),
    Other(String),
}

struct State<'a> {
    source: &'a str,
    /// Variables in scope, innermost last; `$` is first.
    variables: Vec<(String, Value)>,
    output: String,
    range_iterations: usize,
}

impl State<'_> {
    fn fail(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Execute { template: self.source.to_string(), message: message.into() }
    }

    fn write(&mut self, text: &str) -> Result<(), TemplateError> {
        if self.output.len() + text.len() > MAX_OUTPUT_BYTES {
            let message = format!("output longer than {MAX_OUTPUT_BYTES} bytes");
            return Err(self.fail(message));
        }
        self.output.push_str(text);
        Ok(())
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        for node in nodes {
            match node {
                Node::Text(text) => self.write(text)?,
                Node::Action(pipeline) => {
                    let value = self.evaluate_pipeline(dot, pipeline)?;
                    if pipeline.declarations.is_empty() {
                        self.write(&format::print_action_value(&value))?;
                    }
                }
                Node::Control(control) => self.walk_control(control, dot)?,
            }
        }
        Ok(())
    }

    fn walk_control(&mut self, control: &Control, dot: &Value) -> Result<(), TemplateError> {
        let scope = self.variables.len();
        let value = self.evaluate_pipeline(dot, &control.pipeline)?;
        let result = match control.kind {
            ControlKind::If if value.is_true() => self.walk(&control.body, dot),
            ControlKind::With if value.is_true() => self.walk(&control.body, &value),
            ControlKind::If | ControlKind::With => self.walk_else(control, dot),
            ControlKind::Range => self.walk_range(control, dot, &value),
        };
        self.variables.truncate(scope);
        result
    }

    fn walk_else(&mut self, control: &Control, dot: &Value) -> Result<(), TemplateError> {
        match &control.else_body {
            Some(nodes) => self.walk(nodes, dot),
            None => Ok(()),
        }
    }

    fn walk_range(&mut self, control: &Control, dot: &Value, value: &Value) -> Result<(), TemplateError> {
        let elements: Vec<(Value, Value)> = match value {
            Value::Map(map) => map.iter().map(|(key, element)| (Value::String(key.clone()), element.clone())).collect(),
            Value::Int(count) => self.integer_range(*count, &control.pipeline)?,
            Value::Nil => Vec::new(),
            other => {
                let shown = format::print_action_value(other);
                return Err(self.fail(format!("range can't iterate over `{shown}`")));
            }
        };
        if elements.is_empty() {
            return self.walk_else(control, dot);
        }
        let scope = self.variables.len();
        for (key, element) in elements {
            self.count_iteration()?;
            self.bind_range_variables(&control.pipeline, key, &element)?;
            self.walk(&control.body, &element)?;
            self.variables.truncate(scope);
        }
        Ok(())
    }

    /// Go 1.22's `range` over an integer: 0 up to the integer, excluded,
    /// with at most one variable.
    fn integer_range(&self, count: i64, pipeline: &Pipeline) -> Result<Vec<(Value, Value)>, TemplateError> {
        if pipeline.declarations.len() > 1 {
            let message = format!("can't use `{count}` to iterate over more than one variable");
            return Err(self.fail(message));
        }
        if usize::try_from(count).is_ok_and(|count| count > MAX_RANGE_ITERATIONS) {
            return Err(self.too_many_iterations());
        }
        Ok((0..count.max(0)).map(|index| (Value::Nil, Value::Int(index))).collect())
    }

    fn count_iteration(&mut self) -> Result<(), TemplateError> {
        self.range_iterations += 1;
        if self.range_iterations > MAX_RANGE_ITERATIONS {
            return Err(self.too_many_iterations());
        }
        Ok(())
    }

    fn too_many_iterations(&self) -> TemplateError {
        self.fail(format!("more than {MAX_RANGE_ITERATIONS} `range` iterations"))
    }

    /// Go sets the declared variables to the key and element of each
    /// iteration: with one variable, the element; with two, key then element.
    fn bind_range_variables(&mut self, pipeline: &Pipeline, key: Value, element: &Value) -> Result<(), TemplateError> {
        match (pipeline.declarations.as_slice(), pipeline.is_assignment) {
            ([], _) => {}
            ([single], true) => self.set_variable(single, element.clone())?,
            ([first, second, ..], true) => {
                self.set_variable(first, key)?;
                self.set_variable(second, element.clone())?;
            }
            (declarations, false) => {
                let count = self.variables.len();
                if let Some(slot) = count.checked_sub(1).and_then(|top| self.variables.get_mut(top)) {
                    slot.1 = element.clone();
                }
                if declarations.len() > 1
                    && let Some(slot) = count.checked_sub(2).and_then(|below| self.variables.get_mut(below))
                {
                    slot.1 = key;
                }
            }
        }
        Ok(())
    }

    fn variable(&self, name: &str) -> Result<&Value, TemplateError> {
        self.variables
            .iter()
            .rev()
            .find(|(declared, _)| declared == name)
            .map(|(_, value)| value)
            .ok_or_else(|| self.fail(format!("undefined variable `{name}`")))
    }

    fn set_variable(&mut self, name: &str, value: Value) -> Result<(), TemplateError> {
        match self.variables.iter_mut().rev().find(|(declared, _)| declared == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.fail(format!("undefined variable `{name}`"))),
        }
    }

    fn evaluate_pipeline(&mut self, dot: &Value, pipeline: &Pipeline) -> Result<Value, TemplateError> {
        let mut value = None;
        for command in &pipeline.commands {
            value = Some(self.evaluate_command(dot, command, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipeline.declarations {
            if pipeline.is_assignment {
                self.set_variable(name, value.clone())?;
            } else {
                self.variables.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    /// Evaluates one command; `piped` is the previous command's value, given
    /// as the last argument.
    fn evaluate_command(
        &mut self,
        dot: &Value,
        command: &Command,
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let Some((first, arguments)) = command.arguments.split_first() else {
            return Err(self.fail("empty command"));
        };
        let has_arguments = !arguments.is_empty() || piped.is_some();
        match first {
            Expression::Function(builtin) => self.call(*builtin, dot, arguments, piped),
            Expression::Chain(chain) => self.evaluate_chain(dot, chain, has_arguments),
            Expression::Nil => Err(self.fail("`nil` is not a command")),
            other if has_arguments => {
                let message = format!("can't give argument to non-function `{}`", describe(other));
                Err(self.fail(message))
            }
            other => self.evaluate_argument(dot, other),
        }
    }

    fn evaluate_argument(&mut self, dot: &Value, expression: &Expression) -> Result<Value, TemplateError> {
        Ok(match expression {
            Expression::Dot => dot.clone(),
            Expression::Nil => Value::Nil,
            Expression::Bool(value) => Value::Bool(*value),
            Expression::Int(value) => Value::Int(*value),
            Expression::String(value) => Value::String(value.clone()),
            Expression::Variable(name) => self.variable(name)?.clone(),
            Expression::Function(builtin) => self.call(*builtin, dot, &[], None)?,
            Expression::Pipeline(pipeline) => self.evaluate_pipeline(dot, pipeline)?,
            Expression::Chain(chain) => self.evaluate_chain(dot, chain, false)?,
        })
    }

    fn call(
        &mut self,
        builtin: Builtin,
        dot: &Value,
        arguments: &[Expression],
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let count = arguments.len() + usize::from(piped.is_some());
        builtin.check_arity(count).map_err(|message| self.fail(message))?;
        if matches!(builtin, Builtin::And | Builtin::Or) {
            return self.short_circuit(builtin, dot, arguments, piped);
        }
        let mut values = Vec::with_capacity(count);
        for argument in arguments {
            values.push(self.evaluate_argument(dot, argument)?);
        }
        values.extend(piped);
        let result = functions::call(builtin, &values, MAX_OUTPUT_BYTES)
            .map_err(|message| self.fail(format!("error calling `{}`: {message}", builtin.name())))?;
        if matches!(&result, Value::String(text) if text.len() > MAX_OUTPUT_BYTES) {
            let message = format!("`{}` result longer than {MAX_OUTPUT_BYTES} bytes", builtin.name());
            return Err(self.fail(message));
        }
        Ok(result)
    }

    /// `and` stops at the first false argument, `or` at the first true one;
    /// later arguments are not evaluated.
    fn short_circuit(
        &mut self,
        builtin: Builtin,
        dot: &Value,
        arguments: &[Expression],
        piped: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let deciding = builtin == Builtin::Or;
        let mut last = Value::Nil;
        for argument in arguments {
            let value = self.evaluate_argument(dot, argument)?;
            if value.is_true() == deciding {
                return Ok(value);
            }
            last = value;
        }
        Ok(piped.unwrap_or(last))
    }

    fn evaluate_chain(&mut self, dot: &Value, chain: &Chain, has_arguments: bool) -> Result<Value, TemplateError> {
        let found = match &chain.receiver {
            Receiver::Dot => lookup_fields(dot, chain, has_arguments).cloned(),
            Receiver::Variable(name) => {
                let receiver = self.variable(name)?;
                lookup_fields(receiver, chain, has_arguments).cloned()
            }
            Receiver::Pipeline(pipeline) => {
                let receiver = self.evaluate_pipeline(dot, pipeline)?;
                lookup_fields(&receiver, chain, has_arguments).cloned()
            }
        };
        found.map_err(|error| match error {
            FieldError::Missing(path) => TemplateError::MissingKey { template: self.source.to_string(), path },
            FieldError::Other(message) => self.fail(message),
        })
    }
}

/// Looks the chain's fields up in turn; with `missingkey=error` a missing
/// key is an error, and so is giving arguments to the last field.
fn lookup_fields<'v>(receiver: &'v Value, chain: &Chain, has_arguments: bool) -> Result<&'v Value, FieldError> {
    let mut current = receiver;
    for (position, field) in chain.fields.iter().enumerate() {
        let is_last = position + 1 == chain.fields.len();
        current = match current {
            Value::Map(map) => {
                if is_last && has_arguments {
                    let message = format!("field `{field}` is not a method but has arguments");
                    return Err(FieldError::Other(message));
                }
                map.get(field).ok_or_else(|| FieldError::Missing(field_path(chain, position)))?
            }
            Value::Nil => {
                let path = field_path(chain, position);
                return Err(FieldError::Other(format!("nil value evaluating `{path}`")));
            }
            other => {
                let message = format!("can't evaluate field `{field}` in type `{}`", other.type_name());
                return Err(FieldError::Other(message));
            }
        };
    }
    Ok(current)
}

/// The chain as written up to field `last`, such as `.Env.NOPE`.
fn field_path(chain: &Chain, last: usize) -> String {
    let mut path = chain.receiver_text.clone();
    for field in chain.fields.iter().take(last + 1) {
        path.push('.');
        path.push_str(field);
    }
    path
}

fn describe(expression: &Expression) -> String {
    match expression {
        Expression::Dot => ".".to_string(),
        Expression::Nil => "nil".to_string(),
        Expression::Bool(value) => value.to_string(),
        Expression::Int(value) => value.to_string(),
        Expression::String(value) => format!("{value:?}"),
        Expression::Variable(name) => name.clone(),
        Expression::Function(builtin) => builtin.name().to_string(),
        Expression::Pipeline(_) => "(...)".to_string(),
        Expression::Chain(chain) => field_path(chain, chain.fields.len().saturating_sub(1)),
    }
}
