//! `PUT /api/conversations/{id}/csat`: an agent sets, corrects or clears a conversation's
//! satisfaction score. Like every change, it goes through the conversation's actor, which
//! notes it in the thread and pushes `conversation.updated`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{
    app::AppState,
    auth::CurrentAgent,
    domain::{conversation::Event, csat::CsatScore},
    error::{AppError, AppResult},
    http::{conversations::apply, extract::Json, openapi::CheckedChangeRefusals},
    views::ConversationView,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsatRequest {
    /// 1 (bad) to 5 (excellent); `null` clears the score.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CsatScore>, required = true)]
    score: Option<Value>,
}

/// A field that is there, `null` included (`Some(Value::Null)`), apart from one left out
/// (`None`): leaving `score` out is a mistake, `null` clears it.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The score a request asks for: `Ok(None)` clears it; anything but 1-5 or `null` is 422.
fn requested(score: Option<Value>) -> AppResult<Option<CsatScore>> {
    let invalid = || AppError::Validation("`score` must be 1-5, or null to clear it".to_owned());
    match score {
        None => Err(invalid()),
        Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .and_then(|n| CsatScore::try_from(n).ok())
            .map(Some)
            .ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

/// `PUT /api/conversations/{id}/csat`.
#[utoipa::path(
    operation_id = "set_csat",
    put,
    path = "/api/conversations/{id}/csat",
    tag = "conversations",
    summary = "Set, correct or clear (null) the satisfaction score",
    params(("id" = crate::domain::ConversationId, Path, description = "The conversation")),
    request_body = CsatRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        CheckedChangeRefusals,
    ),
)]
pub async fn set_csat(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<CsatRequest>,
) -> AppResult<HttpResponse> {
    let score = requested(body.into_inner().score)?;
    let event = Event::CsatSet { score, by: me.id };
    apply(&state, &me, &id, event).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scores_one_to_five_or_null_and_nothing_else() {
        let parse = |body: Value| {
            serde_json::from_value::<CsatRequest>(body)
                .map_err(|_| ())
                .map(|r| requested(r.score).map_err(|_| ()))
        };
        for n in 1..=5_u8 {
            assert_eq!(
                parse(json!({ "score": n })),
                Ok(Ok(Some(CsatScore::try_from(n).unwrap())))
            );
        }
        assert_eq!(parse(json!({ "score": null })), Ok(Ok(None)));
        for bad in [
            json!({ "score": 0 }),
            json!({ "score": 6 }),
            json!({ "score": -1 }),
            json!({ "score": 4.5 }),
            json!({ "score": "4" }),
            json!({ "score": 256 }),
            json!({ "score": [4] }),
            json!({}),
        ] {
            assert_eq!(parse(bad.clone()), Ok(Err(())), "{bad}");
        }
        assert_eq!(parse(json!({ "score": 4, "extra": 1 })), Err(()));
    }
}
