//! `Server-Timing` on every response: how long the server took to produce it, in milliseconds
//! (`app;dur=1.234`). Browsers show it in their network panel, and the load generator reads
//! it to report server-side latency apart from the client's and the network's share. Also
//! the per-address rate limits of the public surface (see [`crate::rate_limit`]), checked
//! before a request's body is read.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    Error,
};

pub const HEADER: &str = "server-timing";

/// A webhook or widget request over its address's limit gets a 429 with `Retry-After`.
pub async fn limit_public(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    let state = req
        .app_data::<actix_web::web::Data<crate::app::AppState>>()
        .cloned();
    if let Some(state) = state {
        if let Some(limiter) = state.app.rate_limits.for_path(req.path()) {
            let addr = super::auth::client_address(&state, req.request());
            if let Err(retry_after_secs) = limiter.check(addr, Instant::now()) {
                let err = crate::error::AppError::TooManyRequests { retry_after_secs };
                return Ok(req.error_response(err));
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

pub async fn server_timing(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let mut res = next.call(req).await?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
        res.headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(res)
}

/// The duration in a `Server-Timing: app;dur=…` value, in microseconds.
pub fn parse_micros(value: &str) -> Option<u64> {
    let ms: f64 = value
        .split(';')
        .find_map(|p| p.trim().strip_prefix("dur="))?
        .parse()
        .ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| (ms * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_micros;

    #[test]
    fn reads_the_duration() {
        assert_eq!(parse_micros("app;dur=1.234"), Some(1234));
        assert_eq!(parse_micros("app; dur=0.5"), Some(500));
        assert_eq!(parse_micros("app"), None);
        assert_eq!(parse_micros("app;dur=-1"), None);
    }
}
