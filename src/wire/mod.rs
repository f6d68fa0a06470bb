//! The JSON shapes of the API and their conversion to and from the domain. Core types never derive serde;
//! these do. The importer and the CLI read the same shapes, so a line of `workers.ndjson` is exactly a
//! `POST /v1/workers` body.

pub mod forecast;
pub mod order;
pub mod pay;
pub mod series;
pub mod sla;
pub mod standby_pool;
pub mod views;
pub mod webhooks;
pub mod worker;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Why a JSON document could not be read into a wire shape.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// Not JSON at all.
    Malformed(String),
    /// JSON of the wrong shape: the field path and what is wrong there.
    Invalid(Vec<FieldError>),
}

/// Reads an optional nested object as `T`, refusing any other JSON value: serde would also read a struct from an
/// array of its fields in order, and for a struct whose fields are all optional `[null, null]` would be taken for
/// an empty object. `null` reads as absent. Use with `#[serde(default, deserialize_with = "crate::wire::object")]`.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct Visit<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(Visit(std::marker::PhantomData))
}

/// Parses JSON bytes into `T`: a syntax error is `Malformed`; a wrong type, a missing or an unknown field is
/// `Invalid` with the field's path (`roles[0].headcount`).
///
/// A text containing NUL (`\u0000`) is `Invalid` at its path, whatever the field: PostgreSQL cannot store it, and
/// no name, reference or note needs it.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => match nul_in(bytes) {
            Some(field) => Err(ParseError::Invalid(vec![FieldError::new(
                field,
                "must not contain the NUL character (\\u0000)",
            )])),
            None => Ok(v),
        },
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Syntax | Category::Eof | Category::Io => Err(ParseError::Malformed(
                    format!("the body is not valid JSON: {inner}"),
                )),
                Category::Data => {
                    let field = if path == "." { String::new() } else { path };
                    let message = strip_position(&inner.to_string());
                    Err(ParseError::Invalid(vec![FieldError::new(field, message)]))
                }
            }
        }
    }
}

/// The path of the first string (or key) holding a NUL, if the document has one. JSON can only carry NUL as
/// the escape `\u0000`, so documents without that escape are not walked at all.
fn nul_in(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    fn walk(v: &serde_json::Value, path: &str) -> Option<String> {
        match v {
            serde_json::Value::String(s) => s.contains('\0').then(|| path.to_string()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, &format!("{path}[{i}]"))),
            serde_json::Value::Object(m) => m.iter().find_map(|(k, x)| {
                let at = crate::error::join_path(path, k);
                if k.contains('\0') {
                    Some(at)
                } else {
                    walk(x, &at)
                }
            }),
            _ => None,
        }
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&v, "")
}

/// serde_json appends " at line 1 column 42"; the field path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A point, `{"lat": .., "lon": ..}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
}

impl From<crate::domain::LatLon> for Point {
    fn from(p: crate::domain::LatLon) -> Self {
        Point {
            lat: p.lat(),
            lon: p.lon(),
        }
    }
}

/// A period of two instants with offsets.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// RFC 3339 with an offset.
    pub start: String,
    /// RFC 3339 with an offset.
    pub end: String,
}

impl From<&crate::domain::Interval> for Period {
    fn from(iv: &crate::domain::Interval) -> Self {
        Period {
            start: crate::domain::time::format_instant(iv.start()),
            end: crate::domain::time::format_instant(iv.end()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        match parse::<T>(json.as_bytes()) {
            Err(ParseError::Invalid(es)) => es[0].field.clone(),
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn a_nested_object_given_as_an_array_of_its_fields_is_refused_at_its_path() {
        assert_eq!(
            field_of::<pay::SettingsBody>(r#"{"overtime": [null, null]}"#),
            "overtime"
        );
        assert_eq!(
            field_of::<pay::SettingsBody>(r#"{"late_cancellation": []}"#),
            "late_cancellation"
        );
        // Objects still read, with their inner paths; null is absent.
        assert_eq!(
            field_of::<pay::SettingsBody>(r#"{"overtime": {"multiplier": "x"}}"#),
            "overtime.multiplier"
        );
        let s: pay::SettingsBody =
            parse(br#"{"overtime": null, "late_cancellation": {}}"#).unwrap();
        assert!(s.overtime.is_none() && s.late_cancellation.is_some());
    }
}
