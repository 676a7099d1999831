//! Small helpers to read a `serde_json::Value` leniently while keeping the field path for errors.

use super::ParseError;
use crate::model::{AlertStatus, Labels};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

pub(crate) fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Object, ParseError> {
    value.as_object().ok_or_else(|| {
        ParseError::shape(path, format!("expected an object, found {}", kind(value)))
    })
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// A scalar as text: strings as they are, numbers in their exact JSON spelling (so a groupKey
/// beyond u64 keeps every digit), booleans as `true`/`false`. Null and empty strings are absent.
pub(crate) fn scalar_text(
    obj: &Object,
    field: &str,
    parent: &str,
) -> Result<Option<String>, ParseError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(ParseError::shape(
            join(parent, field),
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

/// A `name → value` map such as labels or annotations. Scalar values are turned into text; nested
/// objects or arrays are refused because no sender produces them and no matcher could use them.
pub(crate) fn string_map(obj: &Object, field: &str, parent: &str) -> Result<Labels, ParseError> {
    let path = join(parent, field);
    let map = match obj.get(field) {
        None | Some(Value::Null) => return Ok(Labels::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ParseError::shape(
                path,
                format!("expected an object of strings, found {}", kind(other)),
            ));
        }
    };
    let mut out = Labels::new();
    for (name, value) in map {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(ParseError::shape(
                    join(&path, name),
                    format!("expected a string, found {}", kind(other)),
                ));
            }
        };
        out.insert(name.clone(), text);
    }
    Ok(out)
}

pub(crate) fn timestamp(
    obj: &Object,
    field: &str,
    parent: &str,
) -> Result<Option<DateTime<Utc>>, ParseError> {
    let path = join(parent, field);
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => super::time::parse_lenient(s)
            .map_err(|()| ParseError::shape(path, format!("invalid timestamp {s:?}"))),
        Some(Value::Number(n)) => super::time::from_epoch_number(n)
            .map(Some)
            .ok_or_else(|| ParseError::shape(path, format!("invalid epoch timestamp {n}"))),
        Some(other) => Err(ParseError::shape(
            path,
            format!("expected a timestamp string, found {}", kind(other)),
        )),
    }
}

pub(crate) fn status(
    obj: &Object,
    field: &str,
    parent: &str,
) -> Result<Option<AlertStatus>, ParseError> {
    match scalar_text(obj, field, parent)? {
        None => Ok(None),
        Some(text) => text.to_ascii_lowercase().parse().map(Some).map_err(|_| {
            ParseError::shape(
                join(parent, field),
                format!("expected \"firing\" or \"resolved\", found {text:?}"),
            )
        }),
    }
}

pub(crate) fn unsigned(obj: &Object, field: &str, parent: &str) -> Result<u64, ParseError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            ParseError::shape(join(parent, field), format!("expected a count, found {n}"))
        }),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| {
            ParseError::shape(
                join(parent, field),
                format!("expected a count, found {s:?}"),
            )
        }),
        Some(other) => Err(ParseError::shape(
            join(parent, field),
            format!("expected a count, found {}", kind(other)),
        )),
    }
}

/// The fields of `obj` that are not in `known`, kept verbatim.
pub(crate) fn extras(obj: &Object, known: &[&str]) -> Object {
    obj.iter()
        .filter(|(name, _)| !known.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}
