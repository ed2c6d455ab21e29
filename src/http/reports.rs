//! Reports over many conversations: `GET /api/reports/csat`, the satisfaction ratings'
//! average, count and 1–5 distribution. Supervisors and admins count every conversation;
//! an agent restricted by visibility counts those they may see (theirs and unassigned), as
//! the conversation list shows them.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    app::AppState,
    auth::CurrentAgent,
    db::queries::{self, CsatFilter},
    domain::{
        csat::{report_from_counts, CsatReport, CsatScore},
        AgentId, InboxId,
    },
    error::AppResult,
    http::{conversations::parse_time, extract::Query},
};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CsatReportQuery {
    /// Rated at or after: RFC 3339 or YYYY-MM-DD (start of that day, UTC).
    from: Option<String>,
    /// Rated at or before: RFC 3339 or YYYY-MM-DD (end of that day, UTC).
    to: Option<String>,
    /// Conversations assigned to this agent.
    agent: Option<AgentId>,
    /// Conversations of this inbox.
    inbox: Option<InboxId>,
}

/// `GET /api/reports/csat`.
#[utoipa::path(
    operation_id = "csat_report",
    get,
    path = "/api/reports/csat",
    tag = "reports",
    summary = "Satisfaction ratings: average, count and distribution (filters combine)",
    params(CsatReportQuery),
    responses(
        (status = 200, description = "The report", body = CsatReport),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 422, response = crate::http::openapi::Unprocessable),
        (status = 503, response = crate::http::openapi::Unavailable),
    ),
)]
pub async fn csat(
    state: web::Data<AppState>,
    me: CurrentAgent,
    q: Query<CsatReportQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let filter = CsatFilter {
        from: q
            .from
            .as_deref()
            .map(|f| parse_time("from", f, false))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .map(|t| parse_time("to", t, true))
            .transpose()?,
        agent: q.agent,
        inbox: q.inbox,
        viewer: state.app.viewer(&me),
    };
    let counts = state
        .app
        .store
        .read(move |c| queries::csat_counts(c, &filter))
        .await?;
    // A stored score outside 1-5 (written by hand into the database) is not a rating.
    let counts = counts.into_iter().filter_map(|(score, n)| {
        let score = CsatScore::try_from(u8::try_from(score).ok()?).ok()?;
        Some((score, u64::try_from(n).ok()?))
    });
    let report: CsatReport = report_from_counts(counts);
    Ok(HttpResponse::Ok().json(report))
}
