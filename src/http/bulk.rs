//! `POST /api/conversations/bulk`: one action on several conversations at once — resolve,
//! assign, tag, archive. Each conversation is still changed by its own actor, one after the
//! other, with the same checks as the single routes; the answer says which succeeded and why
//! the others did not, so one conversation that cannot change never blocks the rest.

use std::collections::HashSet;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    actors::{
        messages::{ApplyEvent, SetTags},
        registry::ask,
    },
    app::AppState,
    auth::CurrentAgent,
    db::queries,
    domain::{
        conversation::{By, Event},
        types::Status,
        AgentId, ConversationId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::{
        conversations::{clean_tags, may_assign, parse_id, visible},
        extract::Json,
        openapi::AgentRefusals,
    },
    views::ConversationView,
};

/// Most conversations one request may change (a page of the list is 50).
pub const MAX_BULK: usize = 100;

/// What to do to each conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Close it (`status: closed`).
    Resolve,
    /// Assign it to `agent_id` (`null` unassigns).
    Assign,
    /// Add `tags` to the ones it has.
    Tag,
    /// Archive it.
    Archive,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// The conversations, 1-100, each once.
    ids: Vec<String>,
    action: BulkAction,
    /// For `assign`: the agent (`null` or left out unassigns).
    #[serde(default)]
    agent_id: Option<AgentId>,
    /// For `tag`: the tags to add (1-20).
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// How one conversation fared.
#[derive(Serialize, ToSchema)]
#[schema(as = BulkResult)]
struct ItemResult {
    /// The id as given.
    id: String,
    ok: bool,
    /// The conversation after the change, when it succeeded.
    #[schema(required = true)]
    conversation: Option<ConversationView>,
    /// Why not, when it did not (`not_found`, `forbidden`, `unavailable`…).
    #[schema(required = true)]
    error: Option<ErrorBody>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = BulkResults)]
struct BulkResponse {
    succeeded: usize,
    failed: usize,
    /// One per id, in the order given.
    results: Vec<ItemResult>,
}

/// The request, checked as a whole before anything changes.
fn check(body: &BulkRequest) -> AppResult<Option<Vec<String>>> {
    if body.ids.is_empty() || body.ids.len() > MAX_BULK {
        return Err(AppError::Validation(format!(
            "`ids` must hold 1-{MAX_BULK} conversation ids"
        )));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = body.ids.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(AppError::Validation(format!("`ids` names {dup} twice")));
    }
    match (body.action, &body.tags, body.agent_id) {
        (BulkAction::Tag, None, _) => {
            Err(AppError::Validation("`tags` is required to tag".to_owned()))
        }
        (BulkAction::Tag, Some(tags), _) if tags.is_empty() => Err(AppError::Validation(
            "`tags` must hold at least one tag".to_owned(),
        )),
        (BulkAction::Tag, Some(tags), _) => clean_tags(tags.clone()).map(Some),
        (_, Some(_), _) => Err(AppError::Validation(
            "`tags` is only for the `tag` action".to_owned(),
        )),
        (BulkAction::Assign, None, _) => Ok(None),
        (_, None, Some(_)) => Err(AppError::Validation(
            "`agent_id` is only for the `assign` action".to_owned(),
        )),
        (_, None, None) => Ok(None),
    }
}

/// `POST /api/conversations/bulk`.
#[utoipa::path(
    operation_id = "bulk_conversations",
    post,
    path = "/api/conversations/bulk",
    tag = "conversations",
    summary = "Resolve, assign, tag or archive several conversations; says which succeeded",
    request_body = BulkRequest,
    responses(
        (status = 200, description = "Each conversation's outcome (some may have failed)", body = BulkResponse),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents restricted by visibility may only assign to themselves", body = ErrorBody),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: no ids, more than 100, one twice, `tags` missing for `tag` or given for another action, `agent_id` for another action, not an agent or a deactivated one, a bad tag", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn apply(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<BulkRequest>,
) -> AppResult<HttpResponse> {
    let tags = check(&body)?;
    let BulkRequest {
        ids,
        action,
        agent_id,
        ..
    } = body.into_inner();
    if action == BulkAction::Assign {
        may_assign(&state, &me, agent_id).await?;
    }
    let mut results = Vec::with_capacity(ids.len());
    for raw in ids {
        let outcome = one(&state, &me, &raw, action, agent_id, tags.as_deref()).await;
        results.push(match outcome {
            Ok(view) => ItemResult {
                id: raw,
                ok: true,
                conversation: Some(view),
                error: None,
            },
            Err(e) => ItemResult {
                id: raw,
                ok: false,
                conversation: None,
                error: Some(ErrorBody {
                    error: e.code(),
                    message: e.to_string(),
                }),
            },
        });
    }
    let succeeded = results.iter().filter(|r| r.ok).count();
    Ok(HttpResponse::Ok().json(BulkResponse {
        succeeded,
        failed: results.len() - succeeded,
        results,
    }))
}

/// The action on one conversation, through its actor, as the single route does it.
async fn one(
    state: &AppState,
    me: &CurrentAgent,
    raw: &str,
    action: BulkAction,
    agent: Option<AgentId>,
    tags: Option<&[String]>,
) -> AppResult<ConversationView> {
    let id: ConversationId = parse_id(raw)?;
    visible(state, me, id).await?;
    let by = By::Agent(me.id);
    let event = match action {
        BulkAction::Resolve => Event::StatusChanged {
            to: Status::Closed,
            by,
        },
        BulkAction::Assign => Event::Assigned { agent, by },
        BulkAction::Archive => Event::Archived(true),
        BulkAction::Tag => {
            let mut all = state
                .app
                .store
                .read(move |c| queries::tags_of(c, &[id]))
                .await?
                .remove(&id)
                .unwrap_or_default();
            all.extend(tags.unwrap_or_default().iter().cloned());
            let all = clean_tags(all)?;
            return ask(&state.registry, id, SetTags(all)).await;
        }
    };
    ask(&state.registry, id, ApplyEvent(event)).await
}
