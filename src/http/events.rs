//! Polling for clients without websockets: the same events, the same `seq`, the same visibility.

use crate::http::extract::Query;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    actors::hub::EventsSince,
    app::AppState,
    auth::CurrentAgent,
    error::{AppError, AppResult},
    http::openapi::{BadRequest, Unauthorized, Unavailable, Unprocessable},
    protocol::ServerEvent,
};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The last `seq` seen; older than the backlog (or ahead of the latest): `reload`.
    #[param(value_type = crate::http::openapi::Seq)]
    since: u64,
}

/// What [`poll`] answers. The handler splices the hub's encoded events into this shape
/// rather than serializing it; the type documents it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventsPage {
    /// `since` is older than the backlog: refetch what you show, then poll from `latest`.
    reload: bool,
    /// The latest `seq`.
    latest: u64,
    /// The events after `since` that this agent may see, in order (empty with `reload`).
    events: Vec<ServerEvent>,
}

/// `GET /api/events?since=N`: `{"latest", "events": […]}`, or `{"reload": true, "latest"}` when
/// `since` is older than the backlog. The events are the hub's encoded bytes, spliced as is.
#[utoipa::path(
    operation_id = "poll_events",
    get,
    path = "/api/events",
    tag = "realtime",
    summary = "Poll events after a seq (same events and visibility as the websocket)",
    params(EventsQuery),
    responses(
        (status = 200, description = "Events, or reload", body = EventsPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn poll(
    state: web::Data<AppState>,
    me: CurrentAgent,
    q: Query<EventsQuery>,
) -> AppResult<HttpResponse> {
    let viewer = state.app.viewer(&me);
    let answer = state
        .app
        .hub
        .send(EventsSince {
            since: q.since,
            viewer,
        })
        .await
        .map_err(AppError::from)?;
    let page = |events: &mut dyn Iterator<Item = &str>, latest: u64| {
        let mut body = format!(r#"{{"reload":false,"latest":{latest},"events":["#);
        for (i, json) in events.enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(json);
        }
        body.push_str("]}");
        body
    };
    let reload = |latest: u64| format!(r#"{{"reload":true,"latest":{latest},"events":[]}}"#);
    let body = match (answer, &state.app.cluster) {
        (Ok((events, latest)), _) => page(&mut events.iter().map(|e| &*e.json), latest),
        (Err(too_old), None) => reload(too_old.latest),
        // Cluster mode: the cluster's log may reach back further than this node's backlog
        // (or this node may not have caught up with a cursor another node gave out).
        (Err(too_old), Some(cluster)) => match cluster.events.since(q.since).await {
            Ok(Ok(logged)) => {
                let latest = logged
                    .last()
                    .map_or(too_old.latest, |e| e.seq.max(too_old.latest));
                let numbered: Vec<String> = logged
                    .iter()
                    .filter_map(|e| e.replayed_to(&viewer))
                    .collect();
                page(&mut numbered.iter().map(String::as_str), latest)
            }
            Ok(Err(gone)) => reload(gone.latest.max(too_old.latest)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the event log; the client reloads");
                reload(too_old.latest)
            }
        },
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
