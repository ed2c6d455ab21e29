//! Reading a raw body with a size limit, for webhooks whose signature covers the exact bytes.

use actix_web::web;
use futures_util::StreamExt;

use crate::error::{AppError, AppResult};

/// The whole body, or 413 as soon as it passes `limit` bytes (nothing more is read).
pub async fn read_limited(mut payload: web::Payload, limit: usize) -> AppResult<web::Bytes> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| AppError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
