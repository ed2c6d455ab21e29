//! `POST /api/sms/segments`: how a text splits into SMS parts, for the composer's counter
//! (the same count is stored on every outbound SMS).

use crate::http::extract::Json;
use actix_web::HttpResponse;
use serde::Deserialize;

use crate::{
    auth::CurrentAgent,
    channels::sms,
    error::{AppError, AppResult},
};

/// Longest text counted (Twilio sends at most 1,600 characters; a little more is counted so
/// the composer can say by how much a text is over).
const MAX_CHARS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentsRequest {
    text: String,
}

/// `{"encoding": "GSM-7"|"UCS-2", "segments", "units", "per_segment"}`.
pub async fn segments(_me: CurrentAgent, body: Json<SegmentsRequest>) -> AppResult<HttpResponse> {
    if body.text.chars().count() > MAX_CHARS {
        return Err(AppError::Validation(format!(
            "`text` must be at most {MAX_CHARS} characters"
        )));
    }
    Ok(HttpResponse::Ok().json(sms::segments(&body.text)))
}
