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
    app::AppState,
    auth::CurrentAgent,
    clock,
    cluster::forward::contact_changed,
    db::{
        models::{ContactRow, ConversationRow, ReferralRow},
        queries,
    },
    domain::{
        activity::ActivityKind,
        profile,
        referral::ReferralKind,
        types::{ChannelKind, Network, OptOutSource, Status},
        ContactId, ConversationId, InboxId, MessageId, ReferralId,
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
    /// Where the person came from: the first referral captured on any of their contacts, and
    /// the latest (the same one when there is one); null when none was.
    #[schema(required = true)]
    referral: Option<ReferralSummary>,
}

/// A person's first-touch and latest referral.
#[derive(Serialize, ToSchema)]
pub(super) struct ReferralSummary {
    /// The first referral captured (first touch).
    first: ReferralView,
    /// The latest one: the same as `first` (same `id`) when there is only one.
    latest: ReferralView,
}

/// One referral: an ad, a link, a product or a campaign visit that brought the person.
/// Every text and URL is as the source gave it (bounded, URLs `http(s)` only): show it as
/// text, never as HTML.
#[derive(Serialize, ToSchema)]
#[schema(as = Referral)]
pub(super) struct ReferralView {
    id: ReferralId,
    kind: ReferralKind,
    #[schema(required = true)]
    conversation_id: Option<ConversationId>,
    /// The inbound message that carried it (null for a `messaging_referrals` event).
    #[schema(required = true)]
    message_id: Option<MessageId>,
    /// The ad or post id (WhatsApp `source_id`, Messenger `ad_id`).
    #[schema(required = true)]
    source_id: Option<String>,
    /// The provider's word for the source (`ad`, `post`, `SHORTLINK`, `ADS`…).
    #[schema(required = true)]
    source_type: Option<String>,
    #[schema(required = true)]
    source_url: Option<String>,
    #[schema(required = true)]
    headline: Option<String>,
    #[schema(required = true)]
    body: Option<String>,
    /// `image` or `video`.
    #[schema(required = true)]
    media_type: Option<String>,
    #[schema(required = true)]
    image_url: Option<String>,
    #[schema(required = true)]
    video_url: Option<String>,
    #[schema(required = true)]
    thumbnail_url: Option<String>,
    /// Meta's click id (Click-to-WhatsApp), only as the provider gave it.
    #[schema(required = true)]
    ctwa_clid: Option<String>,
    /// The `ref` of an m.me / ig.me link or a Messenger ad.
    #[serde(rename = "ref")]
    #[schema(required = true)]
    ref_param: Option<String>,
    #[schema(required = true)]
    catalog_id: Option<String>,
    #[schema(required = true)]
    product_retailer_id: Option<String>,
    #[schema(required = true)]
    utm_source: Option<String>,
    #[schema(required = true)]
    utm_medium: Option<String>,
    #[schema(required = true)]
    utm_campaign: Option<String>,
    #[schema(required = true)]
    utm_term: Option<String>,
    #[schema(required = true)]
    utm_content: Option<String>,
    /// The first page of the website visit (first touch).
    #[schema(required = true)]
    landing_url: Option<String>,
    /// The page the chat started on (widget), or the chat plugin's page (Messenger).
    #[schema(required = true)]
    page_url: Option<String>,
    /// The website visit's `document.referrer`.
    #[schema(required = true)]
    referrer: Option<String>,
    /// What else the source said (Messenger `ads_context_data`, the CTWA welcome message,
    /// `gclid` / `fbclid` / `utm_id`).
    #[schema(value_type = Object)]
    extra: serde_json::Value,
    /// When it happened (the message's time).
    #[schema(value_type = crate::views::UtcTime)]
    occurred_at: chrono::NaiveDateTime,
    /// When it was captured.
    #[schema(value_type = crate::views::UtcTime)]
    created_at: chrono::NaiveDateTime,
}

impl From<ReferralRow> for ReferralView {
    fn from(r: ReferralRow) -> ReferralView {
        let extra = serde_json::from_str(&r.extra).unwrap_or_else(|_| json!({}));
        ReferralView {
            id: r.id,
            kind: r.kind,
            conversation_id: r.conversation_id,
            message_id: r.message_id,
            source_id: r.source_id,
            source_type: r.source_type,
            source_url: r.source_url,
            headline: r.headline,
            body: r.body,
            media_type: r.media_type,
            image_url: r.image_url,
            video_url: r.video_url,
            thumbnail_url: r.thumbnail_url,
            ctwa_clid: r.ctwa_clid,
            ref_param: r.ref_param,
            catalog_id: r.catalog_id,
            product_retailer_id: r.product_retailer_id,
            utm_source: r.utm_source,
            utm_medium: r.utm_medium,
            utm_campaign: r.utm_campaign,
            utm_term: r.utm_term,
            utm_content: r.utm_content,
            landing_url: r.landing_url,
            page_url: r.page_url,
            referrer: r.referrer,
            extra,
            occurred_at: r.occurred_at,
            created_at: r.created_at,
        }
    }
}

/// The person as the panel loads it: [`view`] with the person's first and latest referral.
pub(super) async fn person_view(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
) -> AppResult<PersonView> {
    let (contact, all, conversations) = person(state, raw_id).await?;
    let mut out = view(state, me, &contact, &all, &conversations)?;
    let ids: Vec<ContactId> = all.iter().map(|c| c.id).collect();
    let (first, latest) = state
        .app
        .store
        .read(move |c| queries::first_and_latest_referrals(c, &ids))
        .await?;
    out.referral = first.zip(latest).map(|(first, latest)| ReferralSummary {
        first: first.into(),
        latest: latest.into(),
    });
    Ok(out)
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
        referral: None,
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
        (status = 200, description = "The person, with their first and latest referral", body = PersonView),
        ReadRefusals,
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(person_view(&state, &me, &id).await?))
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
        let forwarder = state.app.cluster.as_ref().map(|c| &c.forwarder);
        contact_changed(&state.registry, forwarder, row.id).await?;
    }
    tracing::info!(contact_id = %contact.id, ?change, by = %me.id, contacts = all.len(), "contact changed");
    Ok(HttpResponse::Ok().json(person_view(state, me, raw_id).await?))
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
