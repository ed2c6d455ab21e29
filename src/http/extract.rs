//! The extractors of the API's JSON bodies and query strings. They parse as actix-web's do
//! (same limits, same errors) and then refuse text no database may store: a NUL character
//! anywhere is a 422 naming the field (see [`crate::domain::text`]). Every handler that reads
//! a body or a query uses these, so no route can forget the check.

use std::{future::Future, ops::Deref, pin::Pin};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    domain::text,
    error::{AppError, AppResult},
};

/// Refuses a field holding U+0000.
pub fn check_field(field: &str, value: &str) -> AppResult<()> {
    text::refuse_nul(field, value).map_err(AppError::Validation)
}

fn nul_error(field: &str) -> AppError {
    AppError::Validation(text::nul_message(field))
}

/// The path of the first string (or key) in `v` holding U+0000, e.g. `tags[2]`.
fn nul_in(v: &Value, path: &str) -> Option<String> {
    let here = || Some(if path.is_empty() { "body" } else { path }.to_owned());
    match v {
        Value::String(s) if text::has_nul(s) => here(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let field = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if text::has_nul(k) {
                Some(field.replace('\0', "\\u0000"))
            } else {
                nul_in(item, &field)
            }
        }),
        _ => None,
    }
}

/// A JSON body: `Content-Type: application/json`, within the size limit, a JSON object (every
/// body the API takes is one, and serde would otherwise read a struct from an array: `[true]`
/// as `{"archived": true}`), every string storable, then deserialized into `T`.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // actix-web's own extractor reads the body: the configured limit and error handler
        // (400 for bad JSON or Content-Type, 413 for size) stay in force.
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            if !value.is_object() {
                return Err(not_an_object().into());
            }
            if let Some(field) = nul_in(&value, "") {
                return Err(nul_error(&field).into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| AppError::BadRequest(format!("invalid JSON: {e}")).into())
        })
    }
}

fn not_an_object() -> AppError {
    AppError::BadRequest("invalid JSON: the body must be a JSON object".to_owned())
}

/// A query string: every value storable, then deserialized into `T` (400 if it does not fit).
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map_err(Into::into))
    }
}

fn parse_query<T: DeserializeOwned>(raw: &str) -> AppResult<Query<T>> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(raw)
        .map_err(|e| AppError::BadRequest(format!("invalid query: {e}")))?;
    for (key, value) in pairs.iter() {
        check_field(&key.replace('\0', "\\u0000"), key)?;
        check_field(key, value)?;
    }
    web::Query::<T>::from_query(raw)
        .map(|q| Query(q.into_inner()))
        .map_err(|e| AppError::BadRequest(format!("invalid query: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nul_is_found_and_named_wherever_it_is() {
        for (v, want) in [
            (json!({"text": "a\u{0}b"}), Some("text")),
            (json!({"tags": ["ok", "b\u{0}"]}), Some("tags[1]")),
            (json!({"contact": {"name": "\u{0}"}}), Some("contact.name")),
            (json!("\u{0}"), Some("body")),
            (json!({"k\u{0}": 1}), Some("k\\u0000")),
            (json!({"text": "fine", "n": 0, "list": [null, true]}), None),
        ] {
            assert_eq!(nul_in(&v, "").as_deref(), want, "{v}");
        }
    }

    #[derive(serde::Deserialize, Debug)]
    struct Q {
        #[allow(dead_code)]
        q: Option<String>,
    }

    #[test]
    fn a_query_with_a_nul_is_422_naming_the_parameter() {
        let err = parse_query::<Q>("q=a%00b").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("`q` must not contain the NUL character (U+0000)")
        );
        assert!(parse_query::<Q>("q=ab").is_ok());
    }
}
