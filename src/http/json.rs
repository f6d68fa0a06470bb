//! Request bodies: JSON only, size-limited, unknown fields refused. Broken JSON is a 400; JSON of the wrong
//! shape (a missing or unknown field, a string where a number belongs) is a 422 naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::BodyDeadline;
use super::error::ApiError;

/// Reads a whole body, at most `limit` bytes, by the request's body deadline: a body that does not arrive in
/// time is a 408, a larger one a 413.
pub async fn read_body(
    body: axum::body::Body,
    limit: usize,
    deadline: Option<BodyDeadline>,
) -> Result<Bytes, ApiError> {
    let read = axum::body::to_bytes(body, limit);
    let r = match deadline {
        Some(BodyDeadline(at)) => tokio::time::timeout_at(at.into(), read)
            .await
            .map_err(|_| ApiError::BodyTimeout)?,
        None => read.await,
    };
    r.map_err(|e| {
        // `to_bytes` says "length limit exceeded" through its error's source chain.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return ApiError::TooLarge;
            }
            source = s.source();
        }
        ApiError::Malformed(format!("the body could not be read: {e}"))
    })
}

/// A JSON body deserialised into `T`.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                ct == "application/json"
                    || (ct.starts_with("application/") && ct.ends_with("+json"))
            })
            .unwrap_or(false);
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let _ = state;
        let limit = super::body_limit(req.uri().path());
        let deadline = req.extensions().get::<BodyDeadline>().copied();
        let bytes = read_body(req.into_body(), limit, deadline).await?;
        require_object(&bytes)?;
        parse(&bytes).map(Body)
    }
}

/// Every body of the API is a JSON object. serde would also read a struct from an array of its fields in order
/// (`[]` for a struct whose fields are all optional), so any other JSON value is refused here, with a 422;
/// text that is not JSON at all is left to [`parse`] (a 400).
fn require_object(bytes: &[u8]) -> Result<(), ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
        return Ok(());
    }
    Err(ApiError::from(vec![crate::error::FieldError::new(
        "",
        "the body must be a JSON object",
    )]))
}

/// Parses JSON bytes into `T` with the API's error rules (see [`crate::wire::parse`]).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::wire::parse(bytes).map_err(|e| match e {
        crate::wire::ParseError::Malformed(m) => ApiError::Malformed(m),
        crate::wire::ParseError::Invalid(es) => ApiError::from(es),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Role {
        headcount: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        roles: Vec<Role>,
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        match parse::<Order>(br#"{"roles":[{"headcount":"x"}]}"#) {
            Err(ApiError::Lib(crate::Error::Invalid(e))) => {
                assert_eq!(e[0].field, "roles[0].headcount")
            }
            other => panic!("{other:?}"),
        }
        match parse::<Order>(br#"{"roles":[],"extra":1}"#) {
            Err(ApiError::Lib(crate::Error::Invalid(e))) => {
                assert!(e[0].message.contains("unknown field"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse::<Order>(b"{not json"),
            Err(ApiError::Malformed(_))
        ));
    }

    #[test]
    fn a_body_must_be_an_object_not_an_array_of_its_fields() {
        for other in [&b"[]"[..], b" [1, 2]", b"\"text\"", b"7", b"null"] {
            match require_object(other) {
                Err(ApiError::Lib(crate::Error::Invalid(e))) => {
                    assert_eq!(e[0].message, "the body must be a JSON object")
                }
                r => panic!("{:?}: {r:?}", String::from_utf8_lossy(other)),
            }
        }
        assert!(require_object(b" {\"a\": 1}").is_ok());
        // Not JSON at all: left to the parser's 400.
        assert!(require_object(b"[not json").is_ok());
    }
}
