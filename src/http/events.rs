//! Polling for clients without websockets: the same events, the same `seq`, the same visibility.

use crate::http::extract::Query;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::{
    actors::hub::EventsSince,
    app::AppState,
    auth::CurrentAgent,
    error::{AppError, AppResult},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    since: u64,
}

/// `GET /api/events?since=N`: `{"latest", "events": […]}`, or `{"reload": true, "latest"}` when
/// `since` is older than the backlog. The events are the hub's encoded bytes, spliced as is.
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
    let body = match answer {
        Ok((events, latest)) => {
            let mut body = format!(r#"{{"reload":false,"latest":{latest},"events":["#);
            for (i, e) in events.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&e.json);
            }
            body.push_str("]}");
            body
        }
        Err(too_old) => format!(
            r#"{{"reload":true,"latest":{},"events":[]}}"#,
            too_old.latest
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
