//! `GET /metrics` (Prometheus text format) and the middleware that counts every HTTP request
//! by method, route pattern and status, with its latency.
//!
//! Readable straight from the address ranges of `[server] metrics_allow` (the scraper's
//! network; this machine by default), never through a proxy, or with an admin's token: the
//! numbers name inboxes, assistants and providers, which is not for anyone on the internet.

use std::time::{Duration, Instant};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, Error, HttpRequest, HttpResponse,
};

use crate::{
    actors::hub::GetStats,
    app::AppState,
    auth::CurrentAgent,
    db::queries,
    domain::{broadcast::BroadcastStatus, types::Role},
    error::{AppError, AppResult},
    metrics::{address_allowed, HttpLabels, KindLabels, ProviderLabels, RouteLabels},
};

/// The OpenMetrics content type Prometheus asks for (it reads the classic text format too).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A level read from the database at scrape time gets this long: during an outage the rest
/// of the page (which shows the outage) is what matters.
const SCRAPE_READ_DEADLINE: Duration = Duration::from_millis(500);

/// Counts the request once its response is ready. Outermost, so refusals by the other
/// middleware (429s) are counted too. The route is the pattern that matched, never the path:
/// ids would make a series per conversation.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.app.metrics.clone());
    let method = req.method().as_str().to_owned();
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            // Answered by an error of a middleware (a write past its deadline): counted
            // without its route, which is only known to the response.
            if let Some(metrics) = metrics {
                let status = e.as_response_error().status_code().as_u16();
                let route = "(middleware)".to_owned();
                metrics
                    .http_requests
                    .get_or_create(&HttpLabels {
                        method,
                        route,
                        status,
                    })
                    .inc();
            }
            return Err(e);
        }
    };
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics
            .http_seconds
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        metrics
            .http_requests
            .get_or_create(&HttpLabels {
                method,
                route,
                status: res.status().as_u16(),
            })
            .inc();
    }
    Ok(res)
}

/// Metrics.
#[utoipa::path(
    operation_id = "metrics",
    get,
    path = "/metrics",
    tag = "health",
    summary = "Prometheus metrics (from `server.metrics_allow` addresses, or an admin's token)",
    description = "The OpenMetrics text format. Straight from an address in \
        `[server] metrics_allow` (this machine by default) no credentials are needed; through \
        a proxy (`Forwarded`, `X-Forwarded-For` or `X-Real-IP` present) or from anywhere \
        else, an admin's bearer token.",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The metrics", content_type = "application/openmetrics-text",
            body = String),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 403, response = crate::http::openapi::Forbidden),
    ),
)]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let app = &state.app;
    if !scraper_allowed(&app.settings.server.metrics_allow, &req) {
        let me = CurrentAgent::from_request_headers(app, &req).await?;
        if me.role != Role::Admin {
            return Err(AppError::Forbidden(
                "metrics are for admins, or for the addresses of server.metrics_allow",
            ));
        }
    }
    refresh_levels(&state).await;
    let text = app
        .metrics
        .encode()
        .map_err(|e| AppError::internal(format!("cannot encode the metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(text))
}

/// Whether the request comes straight from an allowed address: its TCP peer is in the ranges
/// and it did not come through a proxy. A reverse proxy on this machine connects from
/// 127.0.0.1, so anything it forwards from the internet would otherwise pass as local; and a
/// forwarded-for header can be written by the client. Through a proxy, a token is needed.
fn scraper_allowed(allow: &[ipnet::IpNet], req: &HttpRequest) -> bool {
    let headers = req.headers();
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    !forwarded
        && req
            .peer_addr()
            .is_some_and(|peer| address_allowed(allow, peer.ip()))
}

/// Reads the levels that live elsewhere (queues, actors, sessions, the outbox) into their
/// gauges. What cannot be read now keeps its last value.
async fn refresh_levels(state: &AppState) {
    let app = &state.app;
    let m = &app.metrics;
    m.writer_queue
        .set(i64::try_from(app.store.queue_depth()).unwrap_or(i64::MAX));
    m.database_up.set(i64::from(app.store.is_up()));
    if let Ok(n) = state.registry.count_live().await {
        m.conversation_actors
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    if let Ok(stats) = app.hub.send(GetStats).await {
        for (kind, n) in [("agent", stats.agents), ("visitor", stats.visitors)] {
            m.websockets
                .get_or_create(&KindLabels { kind })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    let reads = async {
        let backlog = app.store.read(queries::outbox_backlog).await?;
        let running = app
            .store
            .read(|c| queries::broadcasts_in(c, &[BroadcastStatus::Running]))
            .await?;
        AppResult::Ok((backlog, running.len()))
    };
    let Ok(Ok((backlog, running))) = tokio::time::timeout(SCRAPE_READ_DEADLINE, reads).await else {
        return;
    };
    m.broadcasts_in_progress
        .set(i64::try_from(running).unwrap_or(i64::MAX));
    // Every provider in use shows, at 0 when nothing waits, so a drained queue reads 0
    // rather than its last non-zero value.
    let mut by_provider: std::collections::BTreeMap<&'static str, (i64, f64)> = app
        .inboxes
        .all()
        .iter()
        .map(|i| (i.channel.as_str(), (0, 0.0)))
        .collect();
    let now = crate::clock::now();
    for (inbox, n, oldest) in backlog {
        let provider = app
            .inboxes
            .get(&inbox)
            .map_or("unconfigured", |i| i.channel.as_str());
        let age = (now - oldest).num_milliseconds().max(0) as f64 / 1000.0;
        let entry = by_provider.entry(provider).or_insert((0, 0.0));
        entry.0 += n;
        entry.1 = entry.1.max(age);
    }
    for (provider, (n, age)) in by_provider {
        let labels = ProviderLabels {
            provider: provider.to_owned(),
        };
        m.outbox_pending.get_or_create(&labels).set(n);
        m.outbox_oldest_seconds.get_or_create(&labels).set(age);
    }
}
