//! `POST /api/sms/segments`: how a text splits into SMS parts, for the composer's counter
//! (the same count is stored on every outbound SMS).

use crate::http::extract::Json;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::{
    app::AppState,
    auth::CurrentAgent,
    error::{AppError, AppResult},
    providers::sms,
};

/// Longest text counted (Twilio sends at most 1,600 characters; a little more is counted so
/// the composer can say by how much a text is over).
const MAX_CHARS: usize = 10_000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsRequest {
    #[schema(max_length = 10000)]
    text: String,
    /// The inbox the text goes out through: with `smart_encoding` on, the text is counted as
    /// it will be sent.
    inbox: Option<String>,
}

/// `{"encoding": "GSM-7"|"UCS-2", "segments", "units", "per_segment"}`.
#[utoipa::path(
    operation_id = "sms_segments",
    post,
    path = "/api/sms/segments",
    tag = "messages",
    summary = "How a text splits into SMS parts (GSM-7 or UCS-2), as Twilio counts and bills them",
    request_body = SegmentsRequest,
    responses(
        (status = 200, description = "The count", body = sms::SegmentInfo,
            example = json!({"encoding": "GSM-7", "segments": 1, "units": 5, "per_segment": [5]})),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, response = crate::http::openapi::Unprocessable),
        (status = 503, response = crate::http::openapi::Unavailable),
    ),
)]
pub async fn segments(
    state: web::Data<AppState>,
    _me: CurrentAgent,
    body: Json<SegmentsRequest>,
) -> AppResult<HttpResponse> {
    if body.text.chars().count() > MAX_CHARS {
        return Err(AppError::Validation(format!(
            "`text` must be at most {MAX_CHARS} characters"
        )));
    }
    let smart = body
        .inbox
        .as_deref()
        .and_then(|id| state.app.inboxes.get(id))
        .is_some_and(|i| i.settings.smart_encoding());
    let text = match smart {
        true => sms::smart_encode(&body.text),
        false => std::borrow::Cow::Borrowed(body.text.as_str()),
    };
    Ok(HttpResponse::Ok().json(sms::segments(&text)))
}
