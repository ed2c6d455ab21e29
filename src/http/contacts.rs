//! One person across channels, and blocking.
//!
//! Contacts are per inbox (a WhatsApp id, a Twilio address, a Messenger PSID…); every phone
//! number is stored in E.164, so the contacts with the same number on SMS, WhatsApp and the
//! API channel are the same person. `GET /api/contacts/{id}` shows that person's
//! conversations on every channel; blocking blocks the person: all those contacts, and any
//! contact that appears later with the same number. A blocked contact's messages are kept but
//! never answered: the assistant stays silent and agents get 409 `contact_blocked` until it is
//! unblocked.
//!
//! Unsubscribing stops **broadcasts only** (none exist yet: `unsubscribed_at` is the flag the
//! broadcast work reads, and skips); the person still writes and is answered. It applies to
//! the whole person, like a block. A STOP-style reply does the same (`domain::opt_out`), and
//! START undoes it; a provider's opt-out error (Twilio 21610, WhatsApp 131050) marks the
//! contact it was sent to.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::{
    actors::{messages::ContactChanged, registry::ask},
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::{
        models::{ContactRow, ConversationRow},
        queries,
    },
    domain::{
        activity::ActivityKind,
        profile,
        types::{ChannelKind, Network, OptOutSource, Status},
        ContactId, ConversationId, InboxId,
    },
    error::{AppError, AppResult},
    http::openapi::ReadRefusals,
    views::ContactView,
};

/// One of the person's contacts, with its conversation when the agent may see it.
#[derive(Serialize, ToSchema)]
struct ChannelView {
    contact_id: ContactId,
    inbox_id: InboxId,
    channel: ChannelKind,
    #[schema(required = true)]
    network: Option<Network>,
    external_id: String,
    #[schema(required = true)]
    conversation_id: Option<ConversationId>,
    #[schema(required = true)]
    status: Option<Status>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    last_message_at: Option<chrono::NaiveDateTime>,
}

/// A contact and the same person on every channel.
#[derive(Serialize, ToSchema)]
#[schema(as = Person)]
pub(super) struct PersonView {
    contact: ContactView,
    /// Every contact that is this person (same E.164 phone), with its conversation when the
    /// agent may see it.
    channels: Vec<ChannelView>,
    /// The person's 10 most recent conversations this agent may see, on every channel, newest
    /// first.
    conversations: Vec<PersonConversation>,
}

/// One of the person's conversations, for the panel's list.
#[derive(Serialize, ToSchema)]
struct PersonConversation {
    id: ConversationId,
    contact_id: ContactId,
    inbox_id: InboxId,
    channel: ChannelKind,
    #[schema(required = true)]
    network: Option<Network>,
    status: Status,
    #[schema(required = true)]
    last_message_preview: Option<String>,
    #[schema(value_type = Option<crate::views::UtcTime>, required = true)]
    last_message_at: Option<chrono::NaiveDateTime>,
    #[schema(value_type = crate::views::UtcTime)]
    created_at: chrono::NaiveDateTime,
}

/// Conversations listed in a person's panel.
const PERSON_CONVERSATIONS: usize = 10;

/// The contact, the same person's contacts and their conversations.
pub(super) async fn person(
    state: &AppState,
    raw_id: &str,
) -> AppResult<(ContactRow, Vec<ContactRow>, Vec<ConversationRow>)> {
    let id: ContactId = raw_id.parse().map_err(|_| AppError::NotFound("contact"))?;
    state
        .app
        .store
        .read(move |c| {
            let contact = queries::contact(c, id)?.ok_or(AppError::NotFound("contact"))?;
            let all = queries::same_person(c, &contact)?;
            let ids: Vec<ContactId> = all.iter().map(|c| c.id).collect();
            let conversations = queries::conversations_of_contacts(c, &ids)?;
            Ok((contact, all, conversations))
        })
        .await
}

pub(super) fn may_see(state: &AppState, me: &CurrentAgent, row: &ConversationRow) -> bool {
    state.app.viewer(me).may_see_assignee(row.assignee_id)
}

pub(super) fn view(
    state: &AppState,
    me: &CurrentAgent,
    contact: &ContactRow,
    all: &[ContactRow],
    conversations: &[ConversationRow],
) -> AppResult<PersonView> {
    // A contact is visible through its conversation (a contact has at most one per inbox).
    let own = conversations.iter().find(|r| r.contact_id == contact.id);
    if own.is_some_and(|r| !may_see(state, me, r)) {
        return Err(AppError::NotFound("contact"));
    }
    let channels = all
        .iter()
        .map(|c| {
            let conv = conversations
                .iter()
                .find(|r| r.contact_id == c.id)
                .filter(|r| may_see(state, me, r));
            ChannelView {
                contact_id: c.id,
                inbox_id: c.inbox_id.clone(),
                channel: state.app.inboxes.for_conversation(&c.inbox_id).channel,
                network: conv.and_then(|r| r.network),
                external_id: c.external_id.clone(),
                conversation_id: conv.map(|r| r.id),
                status: conv.map(|r| r.status),
                last_message_at: conv.and_then(|r| r.last_message_at),
            }
        })
        .collect();
    let mut visible: Vec<&ConversationRow> = conversations
        .iter()
        .filter(|r| may_see(state, me, r))
        .collect();
    visible.sort_by_key(|r| std::cmp::Reverse(r.last_message_at.unwrap_or(r.created_at)));
    let list = visible
        .into_iter()
        .take(PERSON_CONVERSATIONS)
        .map(|r| PersonConversation {
            id: r.id,
            contact_id: r.contact_id,
            inbox_id: r.inbox_id.clone(),
            channel: state.app.inboxes.for_conversation(&r.inbox_id).channel,
            network: r.network,
            status: r.status,
            last_message_preview: r.last_message_preview.clone(),
            last_message_at: r.last_message_at,
            created_at: r.created_at,
        })
        .collect();
    let mut contact_view = ContactView::from(contact);
    contact_view.link = link(state, contact, own);
    Ok(PersonView {
        contact: contact_view,
        channels,
        conversations: list,
    })
}

/// The direct link to the person on the contact's own channel.
fn link(state: &AppState, contact: &ContactRow, own: Option<&ConversationRow>) -> Option<String> {
    let network = own.and_then(|r| r.network).or_else(|| {
        match state
            .app
            .inboxes
            .for_conversation(&contact.inbox_id)
            .channel
        {
            ChannelKind::Whatsapp => Some(Network::Whatsapp),
            _ => None,
        }
    });
    profile::direct_link(network, contact.phone.as_deref())
}

/// `GET /api/contacts/{id}`: the contact and the same person on every channel.
#[utoipa::path(
    operation_id = "get_contact",
    get,
    path = "/api/contacts/{id}",
    tag = "contacts",
    summary = "A contact, and the same person (same E.164 phone) on every channel",
    params(("id" = ContactId, Path, description = "The contact")),
    responses(
        (status = 200, description = "The person", body = PersonView),
        ReadRefusals,
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (contact, all, conversations) = person(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, &me, &contact, &all, &conversations)?))
}

/// A change to the whole person (every contact with the same phone).
#[derive(Debug, Clone, Copy)]
enum PersonChange {
    Blocked(bool),
    /// `true`: unsubscribe from broadcasts; `false`: resubscribe.
    Unsubscribed(bool),
}

async fn set_blocked(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
    blocked: bool,
) -> AppResult<HttpResponse> {
    change_person(state, me, raw_id, PersonChange::Blocked(blocked)).await
}

async fn change_person(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
    change: PersonChange,
) -> AppResult<HttpResponse> {
    let (contact, all, conversations) = person(state, raw_id).await?;
    // Refuses a contact the agent may not see, before changing anything.
    view(state, me, &contact, &all, &conversations)?;
    let ids: Vec<ContactId> = all.iter().map(|c| c.id).collect();
    let (contact_id, agent, agent_name) = (contact.id, me.id, me.name.clone());
    let kind = match change {
        PersonChange::Blocked(true) => ActivityKind::Blocked,
        PersonChange::Blocked(false) => ActivityKind::Unblocked,
        PersonChange::Unsubscribed(true) => ActivityKind::Unsubscribed,
        PersonChange::Unsubscribed(false) => ActivityKind::Resubscribed,
    };
    let now = clock::now();
    state
        .app
        .store
        .write(move |c| {
            match change {
                PersonChange::Blocked(blocked) => {
                    queries::set_blocked(c, &ids, blocked)?;
                }
                PersonChange::Unsubscribed(true) => {
                    queries::set_unsubscribed(c, &ids, Some((now, OptOutSource::Agent)))?;
                }
                PersonChange::Unsubscribed(false) => {
                    queries::set_unsubscribed(c, &ids, None)?;
                }
            }
            // In the same transaction as the change it records.
            let detail = json!({ "by_name": agent_name, "contacts": ids.len() });
            let entry = queries::activity_row(contact_id, kind, now, Some(agent), None, &detail);
            queries::insert_activity(c, &[entry])
        })
        .await?;
    // Each conversation's actor takes the new row and tells the agents.
    for row in &conversations {
        match ask(&state.registry, row.id, ContactChanged).await {
            Ok(()) | Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    tracing::info!(contact_id = %contact.id, ?change, by = %me.id, contacts = all.len(), "contact changed");
    let (contact, all, conversations) = person(state, raw_id).await?;
    Ok(HttpResponse::Ok().json(view(state, me, &contact, &all, &conversations)?))
}

/// `POST /api/contacts/{id}/block`: the person's messages are kept but never answered.
#[utoipa::path(
    operation_id = "block_contact",
    post,
    path = "/api/contacts/{id}/block",
    tag = "contacts",
    summary = "Block the person on every channel: messages are kept, never answered",
    params(("id" = ContactId, Path, description = "The contact")),
    responses(
        (status = 200, description = "The person after the change", body = PersonView),
        ReadRefusals,
    ),
)]
pub async fn block(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    set_blocked(&state, &me, &id, true).await
}

/// `POST /api/contacts/{id}/unblock`.
#[utoipa::path(
    operation_id = "unblock_contact",
    post,
    path = "/api/contacts/{id}/unblock",
    tag = "contacts",
    summary = "Unblock the person on every channel",
    params(("id" = ContactId, Path, description = "The contact")),
    responses(
        (status = 200, description = "The person after the change", body = PersonView),
        ReadRefusals,
    ),
)]
pub async fn unblock(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    set_blocked(&state, &me, &id, false).await
}

/// `POST /api/contacts/{id}/unsubscribe`: no more broadcasts to the person.
#[utoipa::path(
    operation_id = "unsubscribe_contact",
    post,
    path = "/api/contacts/{id}/unsubscribe",
    tag = "contacts",
    summary = "Unsubscribe the person from broadcasts (conversations go on; block stops everything)",
    params(("id" = ContactId, Path, description = "The contact")),
    responses(
        (status = 200, description = "The person after the change", body = PersonView),
        ReadRefusals,
    ),
)]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    change_person(&state, &me, &id, PersonChange::Unsubscribed(true)).await
}

/// `POST /api/contacts/{id}/resubscribe`.
#[utoipa::path(
    operation_id = "resubscribe_contact",
    post,
    path = "/api/contacts/{id}/resubscribe",
    tag = "contacts",
    summary = "Resubscribe the person to broadcasts",
    params(("id" = ContactId, Path, description = "The contact")),
    responses(
        (status = 200, description = "The person after the change", body = PersonView),
        ReadRefusals,
    ),
)]
pub async fn resubscribe(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    change_person(&state, &me, &id, PersonChange::Unsubscribed(false)).await
}
