//! Reports over many conversations: `GET /api/reports/csat`, the satisfaction ratings'
//! average, count and 1–5 distribution, and `GET /api/reports/summary`, conversations opened
//! and resolved, response and resolution times, handoff and assistant resolution rates (the
//! definitions are in [`crate::domain::reports`]). Supervisors and admins count every
//! conversation; an agent restricted by visibility counts those they may see (theirs and
//! unassigned), as the conversation list shows them.

use actix_web::{http::header, web, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::queries::{self, CsatFilter, ReportScope},
    domain::{
        csat::{report_from_counts, CsatReport, CsatScore},
        reports::{self, Period, SummaryReport},
        AgentId, InboxId,
    },
    error::{AppError, AppResult},
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

/// The longest period a summary covers.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// How the summary is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Json,
    /// `text/csv`: one row per day, then the totals.
    Csv,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Start of the period: RFC 3339 or YYYY-MM-DD (start of that day, UTC). Default: the
    /// start of the day 29 days before `to`'s (30 days with `to`'s).
    from: Option<String>,
    /// End of the period: RFC 3339 or YYYY-MM-DD (end of that day, UTC). Default: now.
    to: Option<String>,
    /// Only conversations assigned to this agent (an unknown agent is a 422).
    agent: Option<AgentId>,
    /// Only conversations of this inbox (an unknown inbox is a 422).
    inbox: Option<InboxId>,
    /// `json` (the default) or `csv`.
    #[param(inline)]
    format: Option<ReportFormat>,
}

/// The period the query asks for: defaults, `from` after `to` and too long a period refused.
fn period(q: &SummaryQuery, now: NaiveDateTime) -> AppResult<Period> {
    period_of(q.from.as_deref(), q.to.as_deref(), now)
}

/// A report's period from its `from` and `to` parameters: `to` defaults to now, `from` to the
/// start of the day 29 days before `to`'s; `from` after `to` and too long a period refused.
pub(super) fn period_of(
    from: Option<&str>,
    to: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<Period> {
    let to = to
        .map(|t| parse_time("to", t, true))
        .transpose()?
        .unwrap_or(now);
    let from = match from {
        Some(f) => parse_time("from", f, false)?,
        None => (to.date() - Duration::days(29))
            .and_hms_opt(0, 0, 0)
            .ok_or_else(|| AppError::BadRequest("`to` is out of range".to_owned()))?,
    };
    if from > to {
        return Err(AppError::Validation(
            "`from` must not be after `to`".to_owned(),
        ));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(AppError::Validation(format!(
            "the period must not be longer than {MAX_PERIOD_DAYS} days"
        )));
    }
    Ok(Period { from, to })
}

/// `GET /api/reports/summary`.
#[utoipa::path(
    operation_id = "summary_report",
    get,
    path = "/api/reports/summary",
    tag = "reports",
    summary = "Conversations opened and resolved per day, first response and resolution times, handoff and assistant resolution rates, per agent and per inbox",
    description = "Definitions: opened = conversations created in the period; resolved = `closed` \
        notes in the period; first response = from a conversation's first handoff to the first \
        agent message after it (conversations opened in the period); resolution = from the start \
        of the resolved stretch to the `closed` note; handoff rate = opened conversations handed \
        off by the end of the period / opened; assistant resolution rate = resolutions with no \
        handoff, agent message or takeover in their stretch / resolutions. Medians and p90 are \
        nearest-rank, in whole seconds. Per agent by current assignee. The README has the details.",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The report (`format=csv`: `text/csv`, one row per day and a `total` row, as an attachment)",
            content((SummaryReport = "application/json"), (String = "text/csv"))),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 422, response = crate::http::openapi::Unprocessable),
        (status = 503, response = crate::http::openapi::Unavailable),
    ),
)]
pub async fn summary(
    state: web::Data<AppState>,
    me: CurrentAgent,
    q: Query<SummaryQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let period = period(&q, clock::now())?;
    let inboxes: Vec<(InboxId, String)> = match &q.inbox {
        Some(id) => {
            let inbox = state
                .app
                .inboxes
                .get(id)
                .ok_or_else(|| AppError::Validation(format!("no inbox `{}`", id.as_str())))?;
            vec![(id.clone(), inbox.settings.display_name().to_owned())]
        }
        None => state
            .app
            .inboxes
            .all()
            .iter()
            .map(|i| (i.id.clone(), i.settings.display_name().to_owned()))
            .collect(),
    };
    let scope = ReportScope {
        from: period.from,
        to: period.to,
        agent: q.agent,
        inbox: q.inbox.clone(),
        viewer: state.app.viewer(&me),
    };
    let (agents, conversations, steps) = state
        .app
        .store
        .read(move |c| {
            let agents: Vec<(AgentId, String)> = match scope.agent {
                Some(id) => {
                    let a = queries::agent_by_id(c, id)?
                        .ok_or_else(|| AppError::Validation(format!("no agent `{id}`")))?;
                    vec![(a.id, a.name)]
                }
                None => queries::list_agents(c)?
                    .into_iter()
                    .map(|a| (a.id, a.name))
                    .collect(),
            };
            let conversations = queries::report_conversations(c, &scope)?;
            let ids: Vec<_> = conversations.iter().map(|c| c.id).collect();
            let steps = queries::report_steps(c, &ids, scope.to)?;
            Ok((agents, conversations, steps))
        })
        .await?;
    let mut by_conversation: std::collections::HashMap<_, Vec<_>> =
        std::collections::HashMap::new();
    for (id, step, at) in steps {
        by_conversation.entry(id).or_default().push((step, at));
    }
    let contributions: Vec<_> = conversations
        .into_iter()
        .map(|c| {
            let steps = by_conversation.remove(&c.id).unwrap_or_default();
            let contribution = reports::contribution(&c, &steps, &period);
            (c, contribution)
        })
        .collect();
    let report: SummaryReport = reports::summarize(
        &period,
        &contributions,
        &agents,
        q.agent.is_some(),
        &inboxes,
    );
    if q.format.unwrap_or_default() == ReportFormat::Csv {
        let name = format!(
            "switchboard-report-{}-to-{}.csv",
            period.from.format("%Y-%m-%d"),
            period.to.format("%Y-%m-%d")
        );
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(reports::to_csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}
