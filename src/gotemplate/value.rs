//! The data a template reads: Go-like values with Go's truth, type names
//! and zero values.

use std::collections::BTreeMap;

/// Data a template is executed against, mirroring the Go values ko builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    String(String),
    Bool(bool),
    Int(i64),
    Map(BTreeMap<String, Value>),
    /// Go's nil interface: what `index` yields for a missing key of a map
    /// whose values are of mixed kinds. Printed as `<no value>`.
    Nil,
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_string())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(value: BTreeMap<String, Value>) -> Self {
        Value::Map(value)
    }
}

impl<Key: Into<String>, Item: Into<Value>> FromIterator<(Key, Item)> for Value {
    fn from_iter<Iterator: IntoIterator<Item = (Key, Item)>>(entries: Iterator) -> Self {
        let map = entries.into_iter().map(|(key, item)| (key.into(), item.into())).collect();
        Value::Map(map)
    }
}

impl Value {
    /// Go's truth: `false`, `0`, `""`, an empty map and nil are false.
    pub(crate) fn is_true(&self) -> bool {
        match self {
            Value::String(text) => !text.is_empty(),
            Value::Bool(value) => *value,
            Value::Int(value) => *value != 0,
            Value::Map(map) => !map.is_empty(),
            Value::Nil => false,
        }
    }

    /// The Go type ko's data would have: maps whose values all share one
    /// type are typed (`map[string]string`), others are
    /// `map[string]interface {}`.
    pub(crate) fn type_name(&self) -> String {
        match self {
            Value::String(_) => "string".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_) => "int".to_string(),
            Value::Nil => "<nil>".to_string(),
            Value::Map(map) => {
                let element =
                    uniform_element(map).map_or_else(|| "interface {}".to_string(), |(_, element_type)| element_type);
                format!("map[string]{element}")
            }
        }
    }
}

/// The value a Go map of this map's element type yields for a missing key:
/// `""` for a map of strings, nil for a map of mixed values.
pub(crate) fn zero_element(map: &BTreeMap<String, Value>) -> Value {
    match uniform_element(map) {
        Some((Value::String(_), _)) => Value::String(String::new()),
        Some((Value::Bool(_), _)) => Value::Bool(false),
        Some((Value::Int(_), _)) => Value::Int(0),
        Some((Value::Map(_), _)) => Value::Map(BTreeMap::new()),
        Some((Value::Nil, _)) | None => Value::Nil,
    }
}

/// The first element and its type when all elements share a type; an empty
/// map, or one holding nil, counts as mixed.
fn uniform_element(map: &BTreeMap<String, Value>) -> Option<(&Value, String)> {
    let mut elements = map.values();
    let first = elements.next()?;
    if matches!(first, Value::Nil) {
        return None;
    }
    let first_type = first.type_name();
    elements.all(|element| element.type_name() == first_type).then_some((first, first_type))
}
