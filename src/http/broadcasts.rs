//! Broadcasts (see `crate::broadcasts` and `domain::broadcast`): admins and supervisors create
//! drafts, preview the audience, start (now or at `scheduled_at`), pause, resume and cancel
//! them, and follow each recipient's status; agents get 403. The contact panel's list of a
//! person's broadcasts (`GET /api/contacts/{id}/broadcasts`) is open to every agent who may
//! see the contact.

use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::AppState,
    auth::CurrentAgent,
    broadcasts::{self, audience},
    clock,
    db::{
        models::{BroadcastRow, RecipientRow},
        queries::{self, RecipientCounts},
    },
    domain::{
        broadcast::{
            render_parameters, BroadcastCommand, BroadcastStatus, ContactFields, PauseReason,
            RecipientStatus, SkipReason,
        },
        types::{ChannelKind, Network},
        AgentId, BroadcastId, ContactId, InboxId, RecipientId, SegmentId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::{
        extract::{Json, Query},
        openapi::{AgentRefusals, ReadRefusals},
    },
    providers::api::MAX_TEXT_CHARS,
};

const MAX_NAME_CHARS: usize = 100;
const MAX_SEGMENTS: usize = 50;
const MAX_FALLBACK_CHARS: usize = 100;
const MAX_RATE: u32 = 1000;
const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 50;
/// Broadcasts listed by `GET /api/broadcasts` (newest first).
const LIST_LIMIT: i64 = 100;

fn may_manage(me: &CurrentAgent) -> AppResult<()> {
    match me.role.sees_everything() {
        true => Ok(()),
        false => Err(AppError::Forbidden(
            "only admins and supervisors see and run broadcasts",
        )),
    }
}

/// A new broadcast (a draft until started).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// 1-100 characters.
    name: String,
    /// A WhatsApp, Twilio or API inbox.
    inbox: String,
    /// Twilio inboxes: `sms` (default) or `whatsapp`.
    network: Option<Network>,
    /// 1-50 segment ids: their contacts at start, each once.
    segments: Vec<SegmentId>,
    /// Free text (SMS and the API channel only); `{{name}}`, `{{first_name}}`, `{{phone}}`,
    /// `{{email}}` are the contact's.
    text: Option<String>,
    /// An approved template of the inbox (WhatsApp; Twilio by its Content SID).
    template: Option<String>,
    /// The template's language, when it exists in several.
    language: Option<String>,
    /// One per template placeholder; each may hold `{{name}}`… as `text` does.
    #[serde(default)]
    parameters: Vec<String>,
    /// What a `{{field}}` the contact lacks becomes; without it such contacts are skipped.
    fallback: Option<String>,
    /// Sends per second (1-1000), at most the inbox's throughput; default the throughput.
    rate_per_second: Option<u32>,
    /// When `start` should send it (UTC, in the future at start); default at once.
    #[schema(value_type = Option<crate::views::UtcTime>)]
    scheduled_at: Option<NaiveDateTime>,
}

/// A broadcast with its recipients counted by status.
#[derive(Serialize, ToSchema)]
#[schema(as = Broadcast)]
pub struct BroadcastView {
    id: BroadcastId,
    name: String,
    #[schema(value_type = String)]
    inbox: InboxId,
    #[schema(required = true)]
    network: Option<Network>,
    segments: Vec<SegmentId>,
    #[schema(required = true)]
    text: Option<String>,
    #[schema(required = true)]
    template: Option<String>,
    #[schema(required = true)]
    language: Option<String>,
    parameters: Vec<String>,
    #[schema(required = true)]
    fallback: Option<String>,
    status: BroadcastStatus,
    /// Why it is paused.
    #[schema(required = true)]
    pause_reason: Option<PauseReason>,
    /// The pace it sends at.
    rate_per_second: u32,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    scheduled_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    started_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    completed_at: Option<NaiveDateTime>,
    #[schema(required = true)]
    created_by: Option<AgentId>,
    #[schema(value_type = crate::views::UtcTime)]
    created_at: NaiveDateTime,
    counts: Counts,
}

/// Recipients by status (all zero before start).
#[derive(Serialize, ToSchema, Default)]
pub struct Counts {
    total: i64,
    queued: i64,
    sending: i64,
    sent: i64,
    delivered: i64,
    read: i64,
    failed: i64,
    skipped: i64,
    unknown: i64,
    /// Recipients who wrote back after the send.
    replied: i64,
    /// The skipped ones by reason (`blocked`, `unsubscribed`, `provider_opted_out`,
    /// `no_address`, `duplicate_address`, `missing_field`).
    #[schema(value_type = HashMap<String, i64>)]
    skipped_by_reason: HashMap<SkipReason, i64>,
}

impl From<&RecipientCounts> for Counts {
    fn from(c: &RecipientCounts) -> Counts {
        use RecipientStatus as S;
        Counts {
            total: c.total(),
            queued: c.of(S::Queued),
            sending: c.of(S::Sending),
            sent: c.of(S::Sent),
            delivered: c.of(S::Delivered),
            read: c.of(S::Read),
            failed: c.of(S::Failed),
            skipped: c.of(S::Skipped),
            unknown: c.of(S::Unknown),
            replied: c.replied,
            skipped_by_reason: c.skipped_by_reason.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = BroadcastList)]
struct ListView {
    items: Vec<BroadcastView>,
}

fn view(state: &AppState, row: BroadcastRow, counts: Option<&RecipientCounts>) -> BroadcastView {
    let rate = state
        .app
        .inboxes
        .get(&row.inbox_id)
        .map_or(0, |inbox| broadcasts::rate_of(&row, inbox));
    let (segments, parameters) = (row.segments(), row.parameter_list());
    BroadcastView {
        id: row.id,
        name: row.name,
        inbox: row.inbox_id,
        network: row.network,
        segments,
        text: row.text,
        template: row.template_name,
        language: row.template_language,
        parameters,
        fallback: row.fallback,
        status: row.status,
        pause_reason: row.pause_reason,
        rate_per_second: rate,
        scheduled_at: row.scheduled_at,
        started_at: row.started_at,
        completed_at: row.completed_at,
        created_by: row.created_by,
        created_at: row.created_at,
        counts: counts.map(Counts::from).unwrap_or_default(),
    }
}

async fn with_counts(state: &AppState, rows: Vec<BroadcastRow>) -> AppResult<Vec<BroadcastView>> {
    let ids: Vec<BroadcastId> = rows.iter().map(|r| r.id).collect();
    let counts = state
        .app
        .store
        .read(move |c| queries::recipient_counts(c, &ids))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let c = counts.get(&r.id);
            view(state, r, c)
        })
        .collect())
}

async fn load(state: &AppState, raw_id: &str) -> AppResult<BroadcastRow> {
    let id: BroadcastId = raw_id
        .parse()
        .map_err(|_| AppError::NotFound("broadcast"))?;
    state
        .app
        .store
        .read(move |c| queries::broadcast(c, id))
        .await?
        .ok_or(AppError::NotFound("broadcast"))
}

async fn one_view(state: &AppState, row: BroadcastRow) -> AppResult<BroadcastView> {
    let mut views = with_counts(state, vec![row]).await?;
    views.pop().ok_or_else(|| AppError::internal("no view"))
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Validation(message.into())
}

/// Checks a placeholder text: only the contact's fields may be named.
fn check_placeholders(field: &str, text: &str) -> AppResult<()> {
    let sample = ContactFields {
        name: Some("n".into()),
        first_name: Some("n".into()),
        phone: Some("p".into()),
        email: Some("e".into()),
    };
    render_parameters(&[text.to_owned()], &sample, None)
        .map(|_| ())
        .map_err(|e| invalid(format!("`{field}`: {e}")))
}

/// The row of a valid new broadcast, or a 422 that says what is wrong.
async fn checked(
    state: &AppState,
    me: &CurrentAgent,
    req: NewBroadcast,
) -> AppResult<BroadcastRow> {
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "`name` must be 1-{MAX_NAME_CHARS} characters"
        )));
    }
    let inbox = state
        .app
        .inboxes
        .get(&InboxId::from(req.inbox.as_str()))
        .cloned()
        .ok_or_else(|| invalid(format!("`inbox`: no inbox `{}`", req.inbox)))?;
    if !matches!(
        inbox.channel,
        ChannelKind::Whatsapp | ChannelKind::Twilio | ChannelKind::Api
    ) {
        return Err(invalid(format!(
            "`inbox`: {} inboxes do not send broadcasts (WhatsApp, Twilio and API ones do)",
            inbox.channel
        )));
    }
    let network = match (inbox.channel, req.network) {
        (ChannelKind::Twilio, None | Some(Network::Sms)) => Some(Network::Sms),
        (ChannelKind::Twilio, Some(Network::Whatsapp)) => Some(Network::Whatsapp),
        (ChannelKind::Twilio, Some(other)) => {
            return Err(invalid(format!(
                "`network` must be sms or whatsapp, not {other}"
            )))
        }
        (_, None) => None,
        (_, Some(_)) => return Err(invalid("`network` applies to Twilio inboxes only")),
    };
    let segments: Vec<SegmentId> = {
        let mut seen = HashSet::new();
        req.segments
            .into_iter()
            .filter(|s| seen.insert(*s))
            .collect()
    };
    if segments.is_empty() || segments.len() > MAX_SEGMENTS {
        return Err(invalid(format!(
            "`segments` must name 1-{MAX_SEGMENTS} segments"
        )));
    }
    let wanted = segments.clone();
    let missing: Vec<SegmentId> = state
        .app
        .store
        .read(move |c| {
            let mut missing = Vec::new();
            for id in wanted {
                if queries::segment(c, id)?.is_none() {
                    missing.push(id);
                }
            }
            Ok(missing)
        })
        .await?;
    if let Some(id) = missing.first() {
        return Err(invalid(format!("`segments`: no segment `{id}`")));
    }
    let windowed = network == Some(Network::Whatsapp) || inbox.channel == ChannelKind::Whatsapp;
    let (text, template, language, parameters) = match (req.text, req.template) {
        (Some(text), None) => {
            if windowed {
                return Err(invalid(
                    "WhatsApp broadcasts send an approved `template`, not `text` (outside the \
                     24-hour window only templates are delivered)",
                ));
            }
            let text = text.trim().to_owned();
            if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Err(invalid(format!(
                    "`text` must be 1-{MAX_TEXT_CHARS} characters"
                )));
            }
            if !req.parameters.is_empty() || req.language.is_some() {
                return Err(invalid("`parameters` and `language` go with `template`"));
            }
            check_placeholders("text", &text)?;
            (Some(text), None, None, None)
        }
        (None, Some(name)) => {
            if inbox.channel == ChannelKind::Api {
                return Err(invalid("the API channel broadcasts `text`, not templates"));
            }
            let template =
                crate::http::templates::find_template(&inbox, &name, req.language.as_deref())?;
            if inbox.channel == ChannelKind::Twilio && template.content_sid.is_none() {
                return Err(invalid(format!(
                    "template `{name}` has no content_sid, which Twilio sends templates by"
                )));
            }
            template
                .check_parameters(&req.parameters)
                .map_err(AppError::Validation)?;
            for (i, p) in req.parameters.iter().enumerate() {
                check_placeholders(&format!("parameters[{i}]"), p)?;
            }
            let parameters = serde_json::to_string(&req.parameters)
                .map_err(|e| AppError::internal(e.to_string()))?;
            (
                None,
                Some(template.name.clone()),
                Some(template.language.clone()),
                Some(parameters),
            )
        }
        _ => {
            return Err(invalid(
                "give either `text` or `template` (with `parameters`)",
            ))
        }
    };
    let fallback = req
        .fallback
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty());
    if fallback
        .as_ref()
        .is_some_and(|f| f.chars().count() > MAX_FALLBACK_CHARS)
    {
        return Err(invalid(format!(
            "`fallback` must be at most {MAX_FALLBACK_CHARS} characters"
        )));
    }
    if req
        .rate_per_second
        .is_some_and(|r| !(1..=MAX_RATE).contains(&r))
    {
        return Err(invalid(format!("`rate_per_second` must be 1-{MAX_RATE}")));
    }
    let now = clock::now();
    if req.scheduled_at.is_some_and(|at| at <= now) {
        return Err(invalid("`scheduled_at` must be in the future"));
    }
    let segment_ids =
        serde_json::to_string(&segments).map_err(|e| AppError::internal(e.to_string()))?;
    Ok(BroadcastRow {
        id: BroadcastId::new(),
        name,
        inbox_id: inbox.id.clone(),
        network,
        segment_ids,
        text,
        template_name: template,
        template_language: language,
        parameters,
        fallback,
        status: BroadcastStatus::Draft,
        pause_reason: None,
        rate_per_second: req.rate_per_second.and_then(|r| i32::try_from(r).ok()),
        scheduled_at: req.scheduled_at,
        started_at: None,
        completed_at: None,
        created_by: Some(me.id),
        created_at: now,
        updated_at: now,
    })
}

/// `POST /api/broadcasts`.
#[utoipa::path(
    operation_id = "create_broadcast",
    post,
    path = "/api/broadcasts",
    tag = "broadcasts",
    summary = "Create a broadcast (a draft): one template or text to the contacts of segments",
    request_body = NewBroadcast,
    responses(
        (status = 201, description = "Created (a draft)", body = BroadcastView),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: a bad name, an unknown or unfit \
            inbox, no or unknown segments, text where a template is required, an unknown \
            template or wrong parameters, an unknown `{{field}}`, a bad rate or a past \
            `scheduled_at`", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<NewBroadcast>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let row = checked(&state, &me, body.into_inner()).await?;
    let stored = row.clone();
    state
        .app
        .store
        .write(move |c| queries::insert_broadcast(c, &stored))
        .await?;
    Ok(HttpResponse::Created().json(view(&state, row, None)))
}

/// `GET /api/broadcasts`.
#[utoipa::path(
    operation_id = "list_broadcasts",
    get,
    path = "/api/broadcasts",
    tag = "broadcasts",
    summary = "The latest 100 broadcasts, newest first, with their counts",
    responses(
        (status = 200, description = "The broadcasts", body = ListView),
        (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn list(state: web::Data<AppState>, me: CurrentAgent) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let rows = state
        .app
        .store
        .read(|c| queries::broadcasts(c, LIST_LIMIT))
        .await?;
    let items = with_counts(&state, rows).await?;
    Ok(HttpResponse::Ok().json(ListView { items }))
}

/// `GET /api/broadcasts/{id}`.
#[utoipa::path(
    operation_id = "get_broadcast",
    get,
    path = "/api/broadcasts/{id}",
    tag = "broadcasts",
    summary = "One broadcast: its status and its recipients counted by status",
    params(("id" = BroadcastId, Path, description = "The broadcast")),
    responses(
        (status = 200, description = "The broadcast", body = BroadcastView),
        (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let row = load(&state, &id).await?;
    Ok(HttpResponse::Ok().json(one_view(&state, row).await?))
}

/// What a start would do now.
#[derive(Serialize, ToSchema)]
#[schema(as = BroadcastPreview)]
struct Preview {
    /// Contacts of the segments (each once).
    audience: i64,
    /// Those who would be sent to.
    sends: i64,
    /// The others, by reason.
    #[schema(value_type = HashMap<String, i64>)]
    skipped_by_reason: HashMap<SkipReason, i64>,
    /// People the number may still reach in the moving 24 hours (WhatsApp's messaging limit);
    /// `null`: no limit configured.
    #[schema(required = true)]
    remaining_today: Option<i64>,
    rate_per_second: u32,
    /// `sends` at `rate_per_second`.
    estimated_seconds: i64,
}

/// `POST /api/broadcasts/{id}/preview`.
#[utoipa::path(
    operation_id = "preview_broadcast",
    post,
    path = "/api/broadcasts/{id}/preview",
    tag = "broadcasts",
    summary = "The audience a start would snapshot now: how many get it, who is skipped and \
        why, and the messaging limit left",
    params(("id" = BroadcastId, Path, description = "The broadcast")),
    responses(
        (status = 200, description = "The preview", body = Preview),
        (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
        (status = 422, description = "validation_failed: its inbox is no longer configured", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn preview(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let row = load(&state, &id).await?;
    let inbox = state
        .app
        .inboxes
        .get(&row.inbox_id)
        .cloned()
        .ok_or_else(|| invalid(format!("inbox `{}` is no longer configured", row.inbox_id)))?;
    let segments = audience::segments_of(&state.app, &row).await?;
    let contacts = audience::contacts_of(&state.app, &segments).await?;
    let planned = audience::plan(&row, &inbox, &contacts, &mut HashSet::new(), clock::now());
    let mut skipped_by_reason: HashMap<SkipReason, i64> = HashMap::new();
    for r in planned.iter().filter_map(|r| r.skip_reason) {
        *skipped_by_reason.entry(r).or_default() += 1;
    }
    let sends = planned.iter().filter(|r| r.skip_reason.is_none()).count() as i64;
    let remaining_today = match &inbox.settings.channel {
        crate::config::ChannelSettings::Whatsapp(s) => match s.messaging_limit {
            Some(limit) => {
                let (inbox_id, since) =
                    (inbox.id.clone(), clock::now() - chrono::Duration::hours(24));
                let reached = state
                    .app
                    .store
                    .read(move |c| queries::reached_since(c, &inbox_id, since))
                    .await?;
                Some((i64::from(limit.get()) - reached).max(0))
            }
            None => None,
        },
        _ => None,
    };
    let rate = broadcasts::rate_of(&row, &inbox);
    Ok(HttpResponse::Ok().json(Preview {
        audience: planned.len() as i64,
        sends,
        skipped_by_reason,
        remaining_today,
        rate_per_second: rate,
        estimated_seconds: sends / i64::from(rate.max(1)),
    }))
}

async fn apply(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
    command: BroadcastCommand,
) -> AppResult<HttpResponse> {
    may_manage(me)?;
    let row = load(state, raw_id).await?;
    let row = broadcasts::command(&state.app, row.id, command).await?;
    Ok(HttpResponse::Ok().json(one_view(state, row).await?))
}

/// `POST /api/broadcasts/{id}/start`.
#[utoipa::path(
    operation_id = "start_broadcast",
    post,
    path = "/api/broadcasts/{id}/start",
    tag = "broadcasts",
    summary = "Start a draft: at its `scheduled_at` when that is in the future, otherwise now \
        (the audience is snapshotted into its recipients)",
    params(("id" = BroadcastId, Path, description = "The broadcast")),
    responses(
        (status = 200, description = "Started or scheduled", body = BroadcastView),
        (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
        (status = 409, description = "broadcast_status: it is not a draft (already started, \
            or changed meanwhile)", body = ErrorBody),
        (status = 422, description = "validation_failed: its inbox is no longer configured", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn start(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let row = load(&state, &id).await?;
    let scheduled = row.scheduled_at.is_some_and(|at| at > clock::now());
    apply(&state, &me, &id, BroadcastCommand::Start { scheduled }).await
}

macro_rules! command_route {
    ($name:ident, $op:literal, $path:literal, $summary:literal, $command:expr, $conflict:literal) => {
        #[doc = concat!("`POST ", $path, "`.")]
        #[utoipa::path(
            operation_id = $op,
            post,
            path = $path,
            tag = "broadcasts",
            summary = $summary,
            params(("id" = BroadcastId, Path, description = "The broadcast")),
            responses(
                (status = 200, description = "Done", body = BroadcastView),
                (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
                (status = 409, description = $conflict, body = ErrorBody),
                ReadRefusals,
            ),
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            me: CurrentAgent,
            id: web::Path<String>,
        ) -> AppResult<HttpResponse> {
            apply(&state, &me, &id, $command).await
        }
    };
}

command_route!(
    pause,
    "pause_broadcast",
    "/api/broadcasts/{id}/pause",
    "Pause a running broadcast: no recipient is sent to until it resumes",
    BroadcastCommand::Pause(PauseReason::Agent),
    "broadcast_status: it is not running"
);
command_route!(
    resume,
    "resume_broadcast",
    "/api/broadcasts/{id}/resume",
    "Resume a paused broadcast where it stopped",
    BroadcastCommand::Resume,
    "broadcast_status: it is not paused"
);
command_route!(
    cancel,
    "cancel_broadcast",
    "/api/broadcasts/{id}/cancel",
    "Cancel a broadcast for good: recipients not sent to yet stay unsent",
    BroadcastCommand::Cancel,
    "broadcast_status: it is completed or cancelled already"
);

/// One recipient.
#[derive(Serialize, ToSchema)]
#[schema(as = BroadcastRecipient)]
pub struct RecipientView {
    id: RecipientId,
    contact_id: ContactId,
    #[schema(required = true)]
    address: Option<String>,
    status: RecipientStatus,
    #[schema(required = true)]
    skip_reason: Option<SkipReason>,
    /// The provider's error code (`131026`, `21610`, `unknown_outcome`…).
    #[schema(required = true)]
    error_code: Option<String>,
    #[schema(required = true)]
    error_title: Option<String>,
    #[schema(required = true)]
    provider_message_id: Option<String>,
    attempts: i32,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    sent_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    delivered_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    read_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    failed_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    replied_at: Option<NaiveDateTime>,
}

impl From<RecipientRow> for RecipientView {
    fn from(r: RecipientRow) -> RecipientView {
        RecipientView {
            id: r.id,
            contact_id: r.contact_id,
            address: r.address,
            status: r.status,
            skip_reason: r.skip_reason,
            error_code: r.error_code,
            error_title: r.error_title,
            provider_message_id: r.provider_message_id,
            attempts: r.attempts,
            sent_at: r.sent_at,
            delivered_at: r.delivered_at,
            read_at: r.read_at,
            failed_at: r.failed_at,
            replied_at: r.replied_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// Only recipients with this status.
    status: Option<RecipientStatus>,
    /// `next_cursor` of the previous page.
    cursor: Option<RecipientId>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = BroadcastRecipients)]
struct RecipientPage {
    items: Vec<RecipientView>,
    #[schema(required = true)]
    next_cursor: Option<RecipientId>,
}

/// `GET /api/broadcasts/{id}/recipients`.
#[utoipa::path(
    operation_id = "broadcast_recipients",
    get,
    path = "/api/broadcasts/{id}/recipients",
    tag = "broadcasts",
    summary = "A broadcast's recipients in audience order, optionally of one status",
    params(("id" = BroadcastId, Path, description = "The broadcast"), RecipientQuery),
    responses(
        (status = 200, description = "One page", body = RecipientPage),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents may not run broadcasts", body = ErrorBody),
        (status = 422, description = "validation_failed: `limit` outside 1-200", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn recipients(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<RecipientQuery>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let limit = match q.limit {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        // A number, but outside the rule: as a body's rule breaks are.
        Some(_) => return Err(invalid(format!("`limit` must be 1-{MAX_PAGE}"))),
    };
    let row = load(&state, &id).await?;
    let (bid, status, after) = (row.id, q.status, q.cursor);
    let rows = state
        .app
        .store
        .read(move |c| queries::recipient_page(c, bid, status, after, limit))
        .await?;
    let next_cursor = match rows.len() as i64 == limit {
        true => rows.last().map(|r| r.id),
        false => None,
    };
    let items = rows.into_iter().map(RecipientView::from).collect();
    Ok(HttpResponse::Ok().json(RecipientPage { items, next_cursor }))
}

/// One broadcast the person was in, as the contact panel lists it.
#[derive(Serialize, ToSchema)]
#[schema(as = ContactBroadcast)]
struct ContactBroadcast {
    broadcast_id: BroadcastId,
    name: String,
    #[serde(flatten)]
    recipient: RecipientView,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ContactBroadcasts)]
struct ContactBroadcasts {
    items: Vec<ContactBroadcast>,
}

/// `GET /api/contacts/{id}/broadcasts`.
#[utoipa::path(
    operation_id = "contact_broadcasts",
    get,
    path = "/api/contacts/{id}/broadcasts",
    tag = "broadcasts",
    summary = "The latest 20 broadcasts the person (the contact and its other channels) was \
        in, newest first, with their delivery status",
    params(("id" = ContactId, Path, description = "The contact")),
    responses((status = 200, description = "Its broadcasts", body = ContactBroadcasts), ReadRefusals),
)]
pub async fn of_contact(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let contact = crate::http::memories::reachable_contact(&state, &me, &id).await?;
    let rows = state
        .app
        .store
        .read(move |c| {
            let person: Vec<ContactId> = match queries::contact(c, contact)? {
                Some(row) => queries::same_person(c, &row)?
                    .iter()
                    .map(|r| r.id)
                    .collect(),
                None => vec![contact],
            };
            queries::broadcasts_of_contacts(c, &person, 20)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|(r, name)| ContactBroadcast {
            broadcast_id: r.broadcast_id,
            name,
            recipient: RecipientView::from(r),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ContactBroadcasts { items }))
}
