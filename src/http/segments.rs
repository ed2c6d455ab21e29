//! Segments: named audiences of contacts (see `domain::segment`).
//!
//! Admins and supervisors create, rename, refilter and delete segments (403 for agents); every
//! agent lists them and adds or removes the contacts they may see. An agent restricted by
//! visibility sees, in a segment's contacts, only those with a conversation they may see, and
//! an id of a contact they may not see is reported `unknown`, like an id that does not exist;
//! the counts in the list are of the whole segment.
//!
//! A dynamic segment's contacts are its filter's matches at the time of the request; its
//! members cannot be added or removed by hand (422).

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::{AppContext, AppState},
    auth::CurrentAgent,
    clock,
    db::{
        models::SegmentRow,
        queries::{self, ResolvedFilter},
    },
    domain::{
        segment::{check_kind_and_filter, SegmentFilter, SegmentName, MAX_BULK_IDS},
        types::SegmentKind,
        AgentId, ContactId, InboxId, SegmentId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::{
        extract::{Json, Query},
        openapi::{AgentRefusals, ReadRefusals},
    },
    views::ContactView,
};

const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 50;

/// A segment, with how many contacts it holds now.
#[derive(Serialize, ToSchema)]
#[schema(as = Segment)]
pub struct SegmentView {
    id: SegmentId,
    name: String,
    kind: SegmentKind,
    /// A dynamic segment's filter; `null` for a static one.
    #[schema(required = true)]
    filter: Option<SegmentFilter>,
    /// Static: its members; dynamic: the contacts its filter matches now.
    contact_count: i64,
    #[schema(value_type = crate::views::UtcTime)]
    created_at: NaiveDateTime,
    #[schema(value_type = crate::views::UtcTime)]
    updated_at: NaiveDateTime,
    #[schema(required = true)]
    created_by: Option<AgentId>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SegmentList)]
struct SegmentList {
    /// By name.
    items: Vec<SegmentView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSegment {
    /// 1-80 characters, unique (409 `segment_name_taken`); trimmed.
    #[schema(min_length = 1, max_length = 80)]
    name: String,
    kind: SegmentKind,
    /// Required for a dynamic segment, refused for a static one (422).
    filter: Option<SegmentFilter>,
}

/// A new name, a new filter (dynamic segments only), or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentEdit {
    #[schema(min_length = 1, max_length = 80)]
    name: Option<String>,
    filter: Option<SegmentFilter>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIds {
    /// 1-1,000 contact ids; an id that is malformed, unknown or of a contact this agent may
    /// not see is reported in `unknown`.
    #[schema(min_items = 1, max_items = 1000)]
    contact_ids: Vec<String>,
}

/// What a bulk add or remove did.
#[derive(Serialize, ToSchema)]
#[schema(as = MembershipChange)]
struct MembershipChange {
    /// Added (POST) or removed (DELETE) now.
    changed: usize,
    /// Already members (POST) or not members (DELETE): nothing to do.
    unchanged: usize,
    /// Ids that name no contact this agent may see.
    unknown: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<ContactId>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SegmentContacts)]
struct ContactPage {
    /// In contact id order (creation order).
    items: Vec<ContactView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    next_cursor: Option<ContactId>,
}

/// A segment as the contact panel shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = ContactSegment)]
struct ContactSegment {
    id: SegmentId,
    name: String,
    kind: SegmentKind,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ContactSegments)]
struct ContactSegments {
    /// Static segments the contact is a member of, then dynamic ones it matches now.
    items: Vec<ContactSegment>,
}

fn parse_id(raw: &str) -> AppResult<SegmentId> {
    raw.parse().map_err(|_| AppError::NotFound("segment"))
}

fn may_manage(me: &CurrentAgent) -> AppResult<()> {
    match me.role.sees_everything() {
        true => Ok(()),
        false => Err(AppError::Forbidden(
            "only admins and supervisors create, change or delete segments",
        )),
    }
}

/// The inboxes a filter's channels and inboxes narrow to (`None`: any inbox).
fn inboxes_of(app: &AppContext, f: &SegmentFilter) -> Option<Vec<InboxId>> {
    if f.channels.is_empty() && f.inboxes.is_empty() {
        return None;
    }
    let configured = app.settings.inboxes.iter();
    let of_channels: Vec<InboxId> = configured
        .filter(|i| f.channels.is_empty() || f.channels.contains(&i.kind()))
        .map(|i| InboxId::from(i.id.as_str()))
        .collect();
    Some(
        of_channels
            .into_iter()
            .filter(|i| f.inboxes.is_empty() || f.inboxes.contains(i))
            .collect(),
    )
}

fn checked_filter(state: &AppState, f: SegmentFilter) -> AppResult<SegmentFilter> {
    let inboxes = &state.app.inboxes;
    f.validate(&|id| inboxes.get(id).is_some())
        .map_err(|e| AppError::Validation(e.0))
}

/// A stored filter and the inboxes it narrows to.
type StoredFilter = (SegmentFilter, Option<Vec<InboxId>>);

/// A stored segment's filter with its inboxes resolved (`None` for a static segment, or a
/// filter that cannot be read).
/// A dynamic segment's filter with the inboxes it names resolved (`None` for a static
/// segment, or a filter that cannot be read).
pub(crate) fn stored_filter(
    app: &AppContext,
    row: &SegmentRow,
) -> Option<(SegmentFilter, Option<Vec<InboxId>>)> {
    let f = SegmentFilter::from_json(row.filter.as_deref()?)?;
    let inboxes = inboxes_of(app, &f);
    Some((f, inboxes))
}

fn view(row: SegmentRow, filter: Option<SegmentFilter>, contact_count: i64) -> SegmentView {
    SegmentView {
        id: row.id,
        name: row.name,
        kind: row.kind,
        filter,
        contact_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
        created_by: row.created_by,
    }
}

/// The segments with their counts (static: members; dynamic: matches now).
async fn with_counts(state: &AppState, rows: Vec<SegmentRow>) -> AppResult<Vec<SegmentView>> {
    let filters: Vec<_> = rows.iter().map(|r| stored_filter(&state.app, r)).collect();
    state
        .app
        .store
        .read(move |c| {
            let members = queries::member_counts(c)?;
            let mut out = Vec::with_capacity(rows.len());
            for (row, filter) in rows.into_iter().zip(filters) {
                let (count, filter) = match (row.kind, filter) {
                    (SegmentKind::Static, _) => (members.get(&row.id).copied().unwrap_or(0), None),
                    (SegmentKind::Dynamic, Some((f, inboxes))) => {
                        let resolved = ResolvedFilter {
                            filter: &f,
                            inboxes,
                        };
                        (queries::matching_count(c, &resolved)?, Some(f))
                    }
                    (SegmentKind::Dynamic, None) => (0, None),
                };
                out.push(view(row, filter, count));
            }
            Ok(out)
        })
        .await
}

async fn load(state: &AppState, raw_id: &str) -> AppResult<SegmentRow> {
    let id = parse_id(raw_id)?;
    state
        .app
        .store
        .read(move |c| queries::segment(c, id)?.ok_or(AppError::NotFound("segment")))
        .await
}

async fn one_view(state: &AppState, row: SegmentRow) -> AppResult<SegmentView> {
    with_counts(state, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("segment view missing"))
}

/// `POST /api/segments`.
#[utoipa::path(
    operation_id = "create_segment",
    post,
    path = "/api/segments",
    tag = "segments",
    summary = "Create a static or dynamic segment (admins and supervisors)",
    request_body = NewSegment,
    responses(
        (status = 201, description = "Created", body = SegmentView),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents may not create segments", body = ErrorBody),
        (status = 409, description = "segment_name_taken: another segment has this name", body = ErrorBody),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: a bad name, a dynamic segment without a filter or a static one with one, a filter without conditions, contradictory or naming an unknown inbox", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<NewSegment>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let NewSegment { name, kind, filter } = body.into_inner();
    let name = SegmentName::parse(&name).map_err(AppError::Validation)?;
    check_kind_and_filter(kind, filter.as_ref()).map_err(|e| AppError::Validation(e.0))?;
    let filter = filter.map(|f| checked_filter(&state, f)).transpose()?;
    let now = clock::now();
    let row = SegmentRow {
        id: SegmentId::new(),
        name: name.into_inner(),
        kind,
        filter: filter.as_ref().map(SegmentFilter::to_json),
        created_at: now,
        updated_at: now,
        created_by: Some(me.id),
    };
    let stored = row.clone();
    state
        .app
        .store
        .write(move |c| queries::insert_segment(c, &stored))
        .await?;
    tracing::info!(segment_id = %row.id, kind = %row.kind, "segment created");
    Ok(HttpResponse::Created().json(one_view(&state, row).await?))
}

/// `GET /api/segments`.
#[utoipa::path(
    operation_id = "list_segments",
    get,
    path = "/api/segments",
    tag = "segments",
    summary = "Every segment, by name, with its contact count",
    responses((status = 200, description = "The segments", body = SegmentList), AgentRefusals),
)]
pub async fn list(state: web::Data<AppState>, _me: CurrentAgent) -> AppResult<HttpResponse> {
    let rows = state.app.store.read(queries::segments).await?;
    let items = with_counts(&state, rows).await?;
    Ok(HttpResponse::Ok().json(SegmentList { items }))
}

/// `GET /api/segments/{id}`.
#[utoipa::path(
    operation_id = "get_segment",
    get,
    path = "/api/segments/{id}",
    tag = "segments",
    summary = "One segment, with its contact count",
    params(("id" = SegmentId, Path, description = "The segment")),
    responses((status = 200, description = "The segment", body = SegmentView), ReadRefusals),
)]
pub async fn get(
    state: web::Data<AppState>,
    _me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = load(&state, &id).await?;
    Ok(HttpResponse::Ok().json(one_view(&state, row).await?))
}

/// `PATCH /api/segments/{id}`.
#[utoipa::path(
    operation_id = "edit_segment",
    patch,
    path = "/api/segments/{id}",
    tag = "segments",
    summary = "Rename a segment, or change a dynamic segment's filter (admins and supervisors)",
    params(("id" = SegmentId, Path, description = "The segment")),
    request_body = SegmentEdit,
    responses(
        (status = 200, description = "The segment after the change", body = SegmentView),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents may not change segments", body = ErrorBody),
        (status = 409, description = "segment_name_taken: another segment has this name", body = ErrorBody),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: nothing to change, a bad name, a filter for a static segment, or a bad filter", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn edit(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<SegmentEdit>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let SegmentEdit { name, filter } = body.into_inner();
    if name.is_none() && filter.is_none() {
        return Err(AppError::Validation(
            "give a new `name`, a new `filter`, or both".to_owned(),
        ));
    }
    let name = name
        .map(|n| SegmentName::parse(&n).map_err(AppError::Validation))
        .transpose()?;
    let row = load(&state, &id).await?;
    if let Some(f) = &filter {
        check_kind_and_filter(row.kind, Some(f)).map_err(|e| AppError::Validation(e.0))?;
    }
    let filter = filter.map(|f| checked_filter(&state, f)).transpose()?;
    let (segment, now) = (row.id, clock::now());
    let json = filter.as_ref().map(SegmentFilter::to_json);
    state
        .app
        .store
        .write(move |c| {
            let name = name.as_ref().map(SegmentName::as_str);
            queries::update_segment(c, segment, name, json.as_deref(), now)
        })
        .await?;
    let row = load(&state, &id).await?;
    Ok(HttpResponse::Ok().json(one_view(&state, row).await?))
}

/// `DELETE /api/segments/{id}`.
#[utoipa::path(
    operation_id = "delete_segment",
    delete,
    path = "/api/segments/{id}",
    tag = "segments",
    summary = "Delete a segment and its memberships (admins and supervisors); contacts stay",
    params(("id" = SegmentId, Path, description = "The segment")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "forbidden: agents may not delete segments", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn delete(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let id = parse_id(&id)?;
    let deleted = state
        .app
        .store
        .write(move |c| queries::delete_segment(c, id))
        .await?;
    if !deleted {
        return Err(AppError::NotFound("segment"));
    }
    tracing::info!(segment_id = %id, "segment deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// The static segment and the ids of the body split into those this agent may see and the
/// rest (malformed, unknown or hidden).
async fn bulk_target(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
    body: ContactIds,
) -> AppResult<(SegmentRow, Vec<ContactId>, Vec<String>)> {
    let n = body.contact_ids.len();
    if n == 0 || n > MAX_BULK_IDS {
        return Err(AppError::Validation(format!(
            "`contact_ids` must hold 1-{MAX_BULK_IDS} ids"
        )));
    }
    let row = load(state, raw_id).await?;
    if row.kind != SegmentKind::Static {
        return Err(AppError::Validation(
            "a dynamic segment's contacts follow its filter; they cannot be added or removed"
                .to_owned(),
        ));
    }
    let mut parsed: Vec<ContactId> = Vec::with_capacity(n);
    let mut unknown: Vec<String> = Vec::new();
    for raw in body.contact_ids {
        match raw.parse::<ContactId>() {
            Ok(id) if !parsed.contains(&id) => parsed.push(id),
            Ok(_) => {}
            Err(_) => unknown.push(raw),
        }
    }
    let viewer = state.app.viewer(me);
    let asked = parsed.clone();
    let visible = state
        .app
        .store
        .read(move |c| queries::visible_contacts(c, &asked, viewer))
        .await?;
    unknown.extend(
        parsed
            .iter()
            .filter(|id| !visible.contains(id))
            .map(ContactId::to_string),
    );
    Ok((row, visible, unknown))
}

/// Which way a bulk membership change goes.
#[derive(Debug, Clone, Copy)]
enum Membership {
    Add,
    Remove,
}

/// Adds or removes the contacts of `body` the agent may see (a static segment only), and says
/// what changed, what already was so, and which ids are unknown.
async fn change_members(
    state: &AppState,
    me: &CurrentAgent,
    id: &str,
    body: ContactIds,
    change: Membership,
) -> AppResult<HttpResponse> {
    let (row, ids, unknown) = bulk_target(state, me, id, body).await?;
    let (segment, asked, by, now) = (row.id, ids.len(), me.id, clock::now());
    let changed = state
        .app
        .store
        .write(move |c| match change {
            Membership::Add => queries::add_members(c, segment, &ids, by, now),
            Membership::Remove => queries::remove_members(c, segment, &ids, by, now),
        })
        .await?;
    tracing::info!(segment_id = %segment, ?change, changed, "segment membership changed");
    Ok(HttpResponse::Ok().json(MembershipChange {
        changed,
        unchanged: asked - changed,
        unknown,
    }))
}

/// `POST /api/segments/{id}/contacts`.
#[utoipa::path(
    operation_id = "add_segment_contacts",
    post,
    path = "/api/segments/{id}/contacts",
    tag = "segments",
    summary = "Add contacts to a static segment (idempotent; unknown ids reported)",
    params(("id" = SegmentId, Path, description = "The segment")),
    request_body = ContactIds,
    responses(
        (status = 200, description = "What changed", body = MembershipChange),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: no ids or more than 1,000, or a dynamic segment", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn add_contacts(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<ContactIds>,
) -> AppResult<HttpResponse> {
    change_members(&state, &me, &id, body.into_inner(), Membership::Add).await
}

/// `DELETE /api/segments/{id}/contacts`.
#[utoipa::path(
    operation_id = "remove_segment_contacts",
    delete,
    path = "/api/segments/{id}/contacts",
    tag = "segments",
    summary = "Remove contacts from a static segment (idempotent; unknown ids reported)",
    params(("id" = SegmentId, Path, description = "The segment")),
    request_body = ContactIds,
    responses(
        (status = 200, description = "What changed", body = MembershipChange),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: no ids or more than 1,000, or a dynamic segment", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn remove_contacts(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<ContactIds>,
) -> AppResult<HttpResponse> {
    change_members(&state, &me, &id, body.into_inner(), Membership::Remove).await
}

/// `GET /api/segments/{id}/contacts`.
#[utoipa::path(
    operation_id = "list_segment_contacts",
    get,
    path = "/api/segments/{id}/contacts",
    tag = "segments",
    summary = "A page of a segment's contacts (static: members; dynamic: matches now), keyset-paged",
    params(("id" = SegmentId, Path, description = "The segment"), PageQuery),
    responses(
        (status = 200, description = "One page", body = ContactPage),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 422, response = crate::http::openapi::Unprocessable),
        ReadRefusals,
    ),
)]
pub async fn contacts(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let limit = match q.limit {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(AppError::BadRequest(format!(
                "`limit` must be 1-{MAX_PAGE}"
            )))
        }
    };
    let row = load(&state, &id).await?;
    let filter = stored_filter(&state.app, &row);
    let (viewer, after) = (state.app.viewer(&me), q.cursor);
    let rows = state
        .app
        .store
        .read(move |c| {
            let resolved = filter.as_ref().map(|(f, inboxes)| ResolvedFilter {
                filter: f,
                inboxes: inboxes.clone(),
            });
            queries::segment_contacts(c, &row, resolved.as_ref(), viewer, after, limit)
        })
        .await?;
    let next_cursor = match rows.len() as i64 == limit {
        true => rows.last().map(|r| r.id),
        false => None,
    };
    let items = rows.iter().map(ContactView::from).collect();
    Ok(HttpResponse::Ok().json(ContactPage { items, next_cursor }))
}

/// `GET /api/contacts/{id}/segments`.
#[utoipa::path(
    operation_id = "contact_segments",
    get,
    path = "/api/contacts/{id}/segments",
    tag = "segments",
    summary = "The contact's static segments, then the dynamic ones it matches now",
    params(("id" = ContactId, Path, description = "The contact")),
    responses((status = 200, description = "Its segments", body = ContactSegments), ReadRefusals),
)]
pub async fn of_contact(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let contact = crate::http::memories::reachable_contact(&state, &me, &id).await?;
    let all = state.app.store.read(queries::segments).await?;
    let dynamic: Vec<(SegmentRow, Option<StoredFilter>)> = all
        .into_iter()
        .filter(|r| r.kind == SegmentKind::Dynamic)
        .map(|r| {
            let f = stored_filter(&state.app, &r);
            (r, f)
        })
        .collect();
    let items = state
        .app
        .store
        .read(move |c| {
            let mut items: Vec<ContactSegment> = queries::static_segments_of(c, contact)?
                .into_iter()
                .map(|r| ContactSegment {
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                })
                .collect();
            for (row, filter) in dynamic {
                let Some((f, inboxes)) = filter else { continue };
                let resolved = ResolvedFilter {
                    filter: &f,
                    inboxes,
                };
                if queries::contact_matches(c, contact, &resolved)? {
                    items.push(ContactSegment {
                        id: row.id,
                        name: row.name,
                        kind: row.kind,
                    });
                }
            }
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactSegments { items }))
}
