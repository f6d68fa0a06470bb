//! Query strings: parsed like axum's `Query`, but a value of the wrong shape (`limit=abc`) is a 422 problem
//! naming the parameter, not a plain-text 400.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::error::FieldError;

/// The query string deserialised into `T`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_string();
                let field = detail
                    .split_once(':')
                    .map_or("query", |(f, _)| f)
                    .trim()
                    .to_string();
                ApiError::from(vec![FieldError::new(field, detail)])
            })
    }
}
