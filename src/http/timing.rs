//! `Server-Timing` on every response: how long the server took to produce it, in milliseconds
//! (`app;dur=1.234`). Browsers show it in their network panel, and the load generator reads
//! it to report server-side latency apart from the client's and the network's share. Also
//! the per-address rate limits of the public surface (see [`crate::rate_limit`]), checked
//! before a request's body is read; and the deadline of requests that write.

use std::time::{Duration, Instant};

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
        let limiter = state
            .app
            .rate_limits
            .for_path(req.path())
            // A forwarded request was counted on the node that took it.
            .filter(|_| super::forward::forwarded(&state, req.request()).is_none());
        if let Some(limiter) = limiter {
            let addr = super::auth::client_address(&state, req.request());
            if let Err(retry_after_secs) = limiter.check(addr, Instant::now()) {
                let err = crate::error::AppError::TooManyRequests { retry_after_secs };
                return Ok(req.error_response(err));
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// What a writing request may take beyond `[server] db_deadline_ms` before it is answered
/// 503: the database's own deadline comes first; this is for a database that hangs
/// mid-transaction (a frozen server, a cut network), which no connection timeout notices.
pub const WRITE_GRACE: Duration = Duration::from_secs(1);

/// Whether `method path` is a request that writes and must be answered in time: the webhooks
/// and the API's changes. Not uploads, whose bodies may take long on a slow link; not a
/// broadcast's start, which snapshots its whole audience in one transaction; not reads (a
/// report over a large inbox may take long) nor websocket upgrades.
pub fn has_deadline(method: &actix_web::http::Method, path: &str) -> bool {
    use actix_web::http::Method;
    let writes = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let long = path.ends_with("/attachments")
        || path.ends_with("/files")
        || (path.starts_with("/api/broadcasts/") && path.ends_with("/start"));
    writes && !long && (path.starts_with("/api/") || path.starts_with("/webhooks/"))
}

/// Answers a writing request 503 with `Retry-After` when it has not finished within the
/// database deadline plus [`WRITE_GRACE`]. What it asked of a conversation still happens in
/// order when the database is back (the actor keeps the message); a provider that retries
/// meanwhile is recognised as a duplicate, so nothing is stored twice.
pub async fn answer_in_time(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    let deadline = req
        .app_data::<actix_web::web::Data<crate::app::AppState>>()
        .filter(|_| has_deadline(req.method(), req.path()))
        .map(|s| Duration::from_millis(s.app.settings.server.db_deadline_ms) + WRITE_GRACE);
    let Some(deadline) = deadline else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // No clone of the request is kept across the call: the inner services need it unshared.
    let path = req.path().to_owned();
    match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(res) => Ok(res?.map_into_boxed_body()),
        Err(_) => {
            tracing::warn!(%path, "a write did not finish in time; answered 503");
            // An error, which actix answers with its response (503, Retry-After).
            Err(crate::error::AppError::Unavailable(
                "the database did not answer in time; retry".to_owned(),
            )
            .into())
        }
    }
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
    use super::{has_deadline, parse_micros};
    use actix_web::http::Method;

    #[test]
    fn writes_to_the_api_and_webhooks_have_a_deadline_uploads_and_reads_do_not() {
        let cases = [
            (Method::POST, "/webhooks/whatsapp/wa", true),
            (Method::POST, "/api/conversations/x/messages", true),
            (Method::PATCH, "/api/agents/me", true),
            (Method::DELETE, "/api/memories/x", true),
            (Method::POST, "/api/conversations/x/attachments", false),
            (Method::POST, "/api/contacts/x/files", false),
            (Method::POST, "/api/broadcasts/x/start", false),
            (Method::POST, "/api/broadcasts/x/pause", true),
            (Method::GET, "/api/reports/summary", false),
            (Method::GET, "/webhooks/meta/m", false),
            (Method::POST, "/widget/w/session", false),
        ];
        for (method, path, expected) in cases {
            assert_eq!(has_deadline(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn reads_the_duration() {
        assert_eq!(parse_micros("app;dur=1.234"), Some(1234));
        assert_eq!(parse_micros("app; dur=0.5"), Some(500));
        assert_eq!(parse_micros("app"), None);
        assert_eq!(parse_micros("app;dur=-1"), None);
    }
}
