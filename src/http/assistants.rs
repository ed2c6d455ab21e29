//! The configured assistants, for the dashboard's filter and panel: who they are, what kind,
//! and what a language model spent today against its budget.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    app::AppState,
    assistant::llm::ProviderHealth,
    auth::CurrentAgent,
    db::queries::{self, TokenCounts},
    domain::AssistantId,
    error::AppResult,
    http::openapi::AgentRefusals,
};

/// One assistant.
#[derive(Serialize, ToSchema)]
#[schema(as = Assistant)]
pub struct AssistantView {
    pub id: AssistantId,
    pub name: String,
    /// `knowledge_base` or `llm`.
    pub kind: &'static str,
    /// The model's name (`llm` only).
    #[schema(required = true)]
    pub model: Option<String>,
    /// Tokens per UTC day; `null` means no limit (or no model).
    #[schema(required = true)]
    pub daily_token_budget: Option<u64>,
    /// Tokens used today (UTC), retries included.
    pub today: TokenCounts,
    /// The model's server as last seen (`llm` only).
    #[schema(required = true)]
    pub health: Option<ProviderHealth>,
    /// Answers inboxes that name no assistant.
    pub default: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AssistantList {
    pub items: Vec<AssistantView>,
}

/// `GET /api/assistants`.
#[utoipa::path(
    operation_id = "list_assistants",
    get,
    path = "/api/assistants",
    tag = "assistants",
    summary = "The configured assistants, with today's token use",
    responses(
        (status = 200, description = "Every assistant, in the configuration's order", body = AssistantList),
        AgentRefusals,
    ),
)]
pub async fn list(state: web::Data<AppState>, _me: CurrentAgent) -> AppResult<HttpResponse> {
    let today = crate::clock::now().date();
    let used = state
        .app
        .store
        .read(move |c| queries::usage_on(c, today))
        .await?;
    let assistants = &state.app.assistants;
    let items = assistants
        .all()
        .into_iter()
        .map(|a| {
            let llm = a.settings.llm();
            AssistantView {
                id: a.id().clone(),
                name: a.settings.name.clone(),
                kind: a.settings.kind_name(),
                model: llm.map(|l| l.model.as_str().to_owned()),
                daily_token_budget: llm.and_then(|l| l.daily_token_budget).map(|b| b.get()),
                today: used
                    .iter()
                    .find(|(id, _)| id == a.id())
                    .map(|(_, counts)| *counts)
                    .unwrap_or_default(),
                health: a.health(),
                default: a.id() == assistants.default_id(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(AssistantList { items }))
}
