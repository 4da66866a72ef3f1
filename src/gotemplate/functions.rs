//! The predefined functions of Go templates that rko supports, with Go's
//! argument counts, comparison rules and error cases. `and` and `or`
//! short-circuit, so the executor evaluates them itself.

use super::format;
use super::value::{Value, zero_element};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

pub(crate) enum Lookup {
    Supported(Builtin),
    /// A function Go predefines that rko does not implement.
    Unsupported,
    Unknown,
}

pub(crate) fn lookup(name: &str) -> Lookup {
    let builtin = match name {
        "and" => Builtin::And,
        "or" => Builtin::Or,
        "not" => Builtin::Not,
        "len" => Builtin::Len,
        "index" => Builtin::Index,
        "slice" => Builtin::Slice,
        "print" => Builtin::Print,
        "printf" => Builtin::Printf,
        "println" => Builtin::Println,
        "eq" => Builtin::Equal,
        "ne" => Builtin::NotEqual,
        "lt" => Builtin::Less,
        "le" => Builtin::LessOrEqual,
        "gt" => Builtin::Greater,
        "ge" => Builtin::GreaterOrEqual,
        "call" | "html" | "js" | "urlquery" => return Lookup::Unsupported,
        _ => return Lookup::Unknown,
    };
    Lookup::Supported(builtin)
}

impl Builtin {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::And => "and",
            Builtin::Or => "or",
            Builtin::Not => "not",
            Builtin::Len => "len",
            Builtin::Index => "index",
            Builtin::Slice => "slice",
            Builtin::Print => "print",
            Builtin::Printf => "printf",
            Builtin::Println => "println",
            Builtin::Equal => "eq",
            Builtin::NotEqual => "ne",
            Builtin::Less => "lt",
            Builtin::LessOrEqual => "le",
            Builtin::Greater => "gt",
            Builtin::GreaterOrEqual => "ge",
        }
    }

    /// The least number of arguments, and whether that is also the most.
    fn arity(self) -> (usize, bool) {
        match self {
            Builtin::Print | Builtin::Println => (0, false),
            Builtin::And | Builtin::Or | Builtin::Index | Builtin::Slice | Builtin::Printf | Builtin::Equal => {
                (1, false)
            }
            Builtin::Not | Builtin::Len => (1, true),
            Builtin::NotEqual | Builtin::Less | Builtin::LessOrEqual | Builtin::Greater | Builtin::GreaterOrEqual => {
                (2, true)
            }
        }
    }

    pub(crate) fn check_arity(self, count: usize) -> Result<(), String> {
        let (least, exact) = self.arity();
        let name = self.name();
        if exact && count != least {
            return Err(format!("wrong number of arguments for `{name}`: want {least}, got {count}"));
        }
        if count < least {
            return Err(format!("wrong number of arguments for `{name}`: want at least {least}, got {count}"));
        }
        Ok(())
    }
}

/// Calls any function but `and` and `or` on evaluated arguments, whose
/// count has been checked. `limit` bounds the length of printed results.
pub(crate) fn call(builtin: Builtin, arguments: &[Value], limit: usize) -> Result<Value, String> {
    let first = arguments.first().unwrap_or(&Value::Nil);
    let second = arguments.get(1).unwrap_or(&Value::Nil);
    let rest = arguments.get(1..).unwrap_or(&[]);
    match builtin {
        Builtin::And | Builtin::Or => Ok(short_circuit_fallback(builtin, arguments)),
        Builtin::Not => Ok(Value::Bool(!first.is_true())),
        Builtin::Len => length(first),
        Builtin::Index => index(first, rest),
        Builtin::Slice => slice(first, rest),
        Builtin::Print => Ok(Value::String(format::sprint(arguments))),
        Builtin::Println => Ok(Value::String(format::sprintln(arguments))),
        Builtin::Printf => printf(first, rest, limit),
        Builtin::Equal => equal(first, rest).map(Value::Bool),
        Builtin::NotEqual => equal(first, std::slice::from_ref(second)).map(|equal| Value::Bool(!equal)),
        Builtin::Less => less(first, second).map(Value::Bool),
        Builtin::LessOrEqual => less_or_equal(first, second).map(Value::Bool),
        Builtin::Greater => less_or_equal(first, second).map(|result| Value::Bool(!result)),
        Builtin::GreaterOrEqual => less(first, second).map(|result| Value::Bool(!result)),
    }
}

/// `and`/`or` on already evaluated arguments: the first deciding value, or
/// the last one.
fn short_circuit_fallback(builtin: Builtin, arguments: &[Value]) -> Value {
    let deciding = builtin == Builtin::Or;
    arguments.iter().find(|argument| argument.is_true() == deciding).or(arguments.last()).cloned().unwrap_or(Value::Nil)
}

fn length(item: &Value) -> Result<Value, String> {
    let length = match item {
        Value::String(text) => text.len(),
        Value::Map(map) => map.len(),
        Value::Nil => return Err("len of nil value".to_string()),
        other => return Err(format!("len of type `{}`", other.type_name())),
    };
    i64::try_from(length).map(Value::Int).map_err(|_| "length too large".to_string())
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".to_string());
    }
    let mut current = item.clone();
    for key in indexes {
        current = index_once(&current, key)?;
    }
    Ok(current)
}

fn index_once(item: &Value, key: &Value) -> Result<Value, String> {
    match (item, key) {
        (Value::Map(map), Value::String(name)) => Ok(map.get(name).cloned().unwrap_or_else(|| zero_element(map))),
        (Value::Map(_), other) => Err(format!("value has type `{}`; should be `string`", other.type_name())),
        (Value::String(text), _) => {
            let position = position_argument(key, text.len(), false)?;
            Ok(Value::Int(i64::from(text.as_bytes()[position])))
        }
        (Value::Nil, _) => Err("index of untyped nil".to_string()),
        (other, _) => Err(format!("can't index item of type `{}`", other.type_name())),
    }
}

/// Checks an index into a string of `length` bytes; slices may also point
/// just past the end.
fn position_argument(key: &Value, length: usize, for_slice: bool) -> Result<usize, String> {
    let Value::Int(position) = key else {
        return Err(format!("cannot index string with type `{}`", key.type_name()));
    };
    let out_of_range = || format!("index out of range: {position}");
    let position = usize::try_from(*position).map_err(|_| out_of_range())?;
    let in_range = if for_slice { position <= length } else { position < length };
    if !in_range {
        return Err(out_of_range());
    }
    Ok(position)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let text = match item {
        Value::String(text) => text,
        Value::Nil => return Err("slice of untyped nil".to_string()),
        other => return Err(format!("can't slice item of type `{}`", other.type_name())),
    };
    if indexes.len() > 2 {
        return Err("cannot 3-index slice a string".to_string());
    }
    let mut bounds = [0, text.len()];
    for (bound, key) in bounds.iter_mut().zip(indexes) {
        *bound = position_argument(key, text.len(), true)?;
    }
    let [start, end] = bounds;
    if start > end {
        return Err(format!("invalid slice index: {start} > {end}"));
    }
    text.get(start..end)
        .map(|part| Value::String(part.to_string()))
        .ok_or_else(|| format!("slice [{start}:{end}] of `{text}` splits a UTF-8 character (unsupported)"))
}

fn printf(format: &Value, arguments: &[Value], limit: usize) -> Result<Value, String> {
    let Value::String(format) = format else {
        return Err(format!(
            "wrong type for format: expected string, found `{}`",
            format::sprint(std::slice::from_ref(format))
        ));
    };
    format::sprintf(format, arguments, limit).map(Value::String)
}

/// Go's `eq`: whether `first` equals any of `others`.
fn equal(first: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".to_string());
    }
    for other in others {
        if equal_pair(first, other)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn equal_pair(first: &Value, second: &Value) -> Result<bool, String> {
    match (first, second) {
        (Value::String(left), Value::String(right)) => Ok(left == right),
        (Value::Int(left), Value::Int(right)) => Ok(left == right),
        (Value::Bool(left), Value::Bool(right)) => Ok(left == right),
        (Value::Nil, Value::Nil) => Ok(true),
        (Value::Nil, _) | (_, Value::Nil) => Ok(false),
        (Value::Map(_), Value::Map(_)) => Err(format!("non-comparable type `{}`", first.type_name())),
        _ => Err(incompatible(first, second)),
    }
}

fn incompatible(first: &Value, second: &Value) -> String {
    format!("incompatible types for comparison: `{}` and `{}`", first.type_name(), second.type_name())
}

fn less(first: &Value, second: &Value) -> Result<bool, String> {
    let invalid = || "invalid type for comparison".to_string();
    for value in [first, second] {
        if matches!(value, Value::Map(_) | Value::Nil) {
            return Err(invalid());
        }
    }
    match (first, second) {
        (Value::Int(left), Value::Int(right)) => Ok(left < right),
        (Value::String(left), Value::String(right)) => Ok(left < right),
        (Value::Bool(_), Value::Bool(_)) => Err(invalid()),
        _ => Err(incompatible(first, second)),
    }
}

fn less_or_equal(first: &Value, second: &Value) -> Result<bool, String> {
    Ok(less(first, second)? || equal_pair(first, second)?)
}
