//! From a provider's parsed webhook to the conversations: each customer message is routed to
//! its conversation's actor (created on first contact), each status report to the actor of the
//! message it is about. Shared by the WhatsApp, Twilio and Meta webhooks; the provider modules
//! have already turned their payloads into [`WebhookEvent`]s.
//!
//! Everything here is committed before the webhook is answered; work that calls out (media
//! downloads) is spawned and runs after the answer.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::media;
use crate::providers::{
    normalized::{
        Content, InboundMessage, MediaSource as Source, Network, StatusUpdate, WebhookEvent,
    },
    twilio,
};
use crate::{
    actors::{
        messages::{
            ApplyWatermark, DeliverInbound, InboundAccepted, InboundPart, RecordEcho,
            ReportDelivery,
        },
        registry::{ask, Conversations},
    },
    app::AppContext,
    broadcasts, clock,
    config::ChannelSettings,
    db::{
        models::{MediaSource, PendingStatusRow, ReferralRow},
        queries::{self, ContactInput, RecipientRef},
        DbConnection,
    },
    domain::{
        activity::ActivityKind,
        broadcast::RecipientStatus,
        referral::Referral,
        types::{ChannelKind, MessageKind},
        ConversationId, InboxId, MessageId,
    },
    error::{AppError, AppResult},
    inbox::Inbox,
    metrics::InboundResult,
};

/// What a webhook changed, for its answer and the logs.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// Customer messages stored.
    pub messages: usize,
    /// Customer messages received before (nothing stored twice).
    pub duplicates: usize,
    /// Delivery statuses and read marks applied (or kept until their message is known).
    pub statuses: usize,
    /// Events for another number or page, errors the provider reported, kinds not handled.
    pub skipped: usize,
}

/// Applies the events of one webhook in order.
///
/// A problem with one event that retrying cannot fix (a message for another number, a status
/// for a message we never sent) is logged and skipped; a failure of our own (database) is
/// returned, so the webhook is answered with an error and the provider delivers it again
/// (every step is idempotent).
pub async fn ingest(
    app: &Arc<AppContext>,
    registry: &Conversations,
    inbox: &Arc<Inbox>,
    events: Vec<WebhookEvent>,
) -> AppResult<Ingested> {
    let mut done = Ingested::default();
    for event in events {
        match event {
            WebhookEvent::Message(m) => {
                let channel = inbox.channel.as_str();
                if !addressed_to(inbox, m.business_id.as_deref()) {
                    tracing::warn!(inbox = %inbox.id, business_id = ?m.business_id, "message for another number or page; skipped");
                    done.skipped += 1;
                    app.metrics.inbound(channel, InboundResult::skipped);
                    continue;
                }
                let delivered = deliver_message(app, registry, inbox, m).await;
                app.metrics.inbound(channel, InboundResult::of(&delivered));
                if delivered? {
                    done.duplicates += 1;
                } else {
                    done.messages += 1;
                }
            }
            WebhookEvent::Status(s) => {
                apply_status(app, registry, inbox, s).await?;
                done.statuses += 1;
            }
            WebhookEvent::Echo {
                provider_message_id,
                recipient,
                text,
                at,
                business_id,
            } => {
                if !addressed_to(inbox, business_id.as_deref()) {
                    done.skipped += 1;
                    continue;
                }
                let echo = RecordEcho {
                    provider_message_id,
                    text,
                    at,
                };
                match conversation_of(app, inbox, &recipient).await? {
                    Some(id) => ask(registry, id, echo).await?,
                    None => {
                        tracing::debug!(inbox = %inbox.id, "echo to a contact without a conversation; skipped");
                        done.skipped += 1;
                    }
                }
            }
            WebhookEvent::Watermark {
                contact_external_id,
                business_id,
                status,
                watermark,
            } => {
                if !addressed_to(inbox, business_id.as_deref()) {
                    done.skipped += 1;
                    continue;
                }
                if let Some(id) = conversation_of(app, inbox, &contact_external_id).await? {
                    ask(registry, id, ApplyWatermark { status, watermark }).await?;
                    done.statuses += 1;
                }
            }
            WebhookEvent::Referral {
                contact_external_id,
                business_id,
                referral,
                at,
                event_key,
            } => {
                if !addressed_to(inbox, business_id.as_deref()) {
                    done.skipped += 1;
                    continue;
                }
                let standalone = Standalone {
                    external_id: contact_external_id,
                    referral,
                    at,
                    event_key,
                };
                if !store_standalone_referral(app, inbox, standalone).await? {
                    done.skipped += 1;
                }
            }
            WebhookEvent::MarketingPreference {
                contact_external_id,
                business_id,
                choice,
                at,
                detail,
            } => {
                if !addressed_to(inbox, business_id.as_deref()) {
                    done.skipped += 1;
                    continue;
                }
                super::opt_outs::record_preference(
                    app,
                    registry,
                    &inbox.id,
                    &contact_external_id,
                    choice,
                    at,
                    detail,
                )
                .await?;
                done.statuses += 1;
            }
            WebhookEvent::Error { error, .. } => {
                tracing::warn!(inbox = %inbox.id, code = %error.code, title = %error.title, detail = ?error.detail, "the provider reported an error");
                done.skipped += 1;
            }
            WebhookEvent::Skipped { reason } => {
                tracing::debug!(inbox = %inbox.id, %reason, "webhook event skipped");
                done.skipped += 1;
            }
        }
    }
    Ok(done)
}

/// A referral that came without a message (Messenger / Instagram `messaging_referrals`).
struct Standalone {
    external_id: String,
    referral: Referral,
    at: chrono::NaiveDateTime,
    event_key: String,
}

/// Stores a referral that came without a message against the contact's conversation on this
/// inbox (a contact has at most one per inbox, so it is also the latest), with its
/// `referral_captured` entry, once per `event_key` (a retried webhook is recognised).
///
/// Meta sends `messaging_referrals` only for a person with an existing thread; a new thread's
/// referral comes on its first message or Get Started postback, which store it themselves.
/// So an unknown person (or one whose conversation was deleted) is the rare case, and the
/// simplest correct answer is to skip it, logged, rather than park it for a conversation that
/// may never come: nothing would read it until then anyway. Returns whether it was stored
/// now.
async fn store_standalone_referral(
    app: &AppContext,
    inbox: &Inbox,
    r: Standalone,
) -> AppResult<bool> {
    let (inbox_id, now) = (inbox.id.clone(), clock::now());
    let stored = app
        .store
        .write(move |c| {
            if queries::referral_event_known(c, &r.event_key)? {
                return Ok(false);
            }
            let Some(conversation) = queries::conversation_of_contact(c, &inbox_id, &r.external_id)?
            else {
                tracing::info!(inbox = %inbox_id, "a referral without a message from a person without a conversation; skipped");
                return Ok(false);
            };
            let contact_id = conversation.contact_id;
            let mut row =
                ReferralRow::new(r.referral.clone(), contact_id, Some(conversation.id), r.at, now);
            row.event_key = Some(r.event_key.clone());
            queries::insert_referral(c, &row)?;
            let entry = queries::activity_row(
                contact_id,
                ActivityKind::ReferralCaptured,
                now,
                None,
                Some(conversation.id),
                &row.activity_detail(),
            );
            queries::insert_activity(c, &[entry])?;
            Ok(true)
        })
        .await?;
    Ok(stored)
}

/// Whether an event names this inbox's number or page (when it names one at all).
fn addressed_to(inbox: &Inbox, business_id: Option<&str>) -> bool {
    let ours = match &inbox.settings.channel {
        ChannelSettings::Whatsapp(s) => Some(s.phone_number_id.as_str()),
        ChannelSettings::Meta(s) => Some(s.page_id.as_str()),
        // Twilio routes by URL; `To` may be a Messaging Service's any number.
        _ => None,
    };
    match (ours, business_id) {
        (Some(ours), Some(theirs)) => ours == theirs,
        _ => true,
    }
}

/// The conversation of a contact of this inbox, if there is one.
async fn conversation_of(
    app: &AppContext,
    inbox: &Inbox,
    external_id: &str,
) -> AppResult<Option<ConversationId>> {
    let (inbox_id, external_id) = (inbox.id.clone(), external_id.to_owned());
    app.store
        .read(move |c| queries::conversation_id_of_contact(c, &inbox_id, &external_id))
        .await
}

/// Stores one customer message; `true` when it had been received before.
async fn deliver_message(
    app: &Arc<AppContext>,
    registry: &Conversations,
    inbox: &Arc<Inbox>,
    m: InboundMessage,
) -> AppResult<bool> {
    let network = m.network;
    let external_id = match (inbox.channel, &m.contact.phone) {
        // One conversation per network: SMS and WhatsApp replies go out differently.
        (ChannelKind::Twilio, Some(e164)) => twilio::address(network, e164),
        _ => m.contact.external_id.clone(),
    };
    let contact = ContactInput {
        external_id,
        name: m.contact.name.clone(),
        // Already E.164 from the provider modules: the same person on every channel.
        phone: m.contact.phone.clone(),
        email: m.contact.email.clone(),
    };
    let deliver = DeliverInbound {
        external_id: Some(m.provider_message_id.clone()),
        parts: parts(&m),
        sent_at: m.sent_at,
        referral: m.referral.clone(),
        queued_at: std::time::Instant::now(),
    };
    let (_, accepted) = receive(app, registry, &inbox.id, contact, Some(network), deliver).await?;
    media::spawn_downloads(app, registry, inbox, accepted.downloads);
    Ok(accepted.duplicate)
}

/// A customer message from any channel: finds (or creates) the contact's conversation, then
/// hands the message to its actor; answers once it is committed.
///
/// The conversation of a contact seen before comes from the [`ContactCache`], which spares the
/// writer a job per message; the database decides on first contact, when the channel tells
/// us something new about the contact, and when the remembered conversation is gone.
///
/// [`ContactCache`]: crate::db::contact_cache::ContactCache
pub async fn receive(
    app: &AppContext,
    registry: &Conversations,
    inbox_id: &InboxId,
    contact: ContactInput,
    network: Option<Network>,
    deliver: DeliverInbound,
) -> AppResult<(ConversationId, InboundAccepted)> {
    if let Some(id) = app.contacts.get(inbox_id.as_str(), &contact) {
        match ask(registry, id, deliver.clone()).await {
            // Gone (deleted), or its actor stopping as it is deleted: let the database decide.
            // Delivering again is safe: a message is stored once (deduplicated by its id).
            Err(AppError::NotFound(_) | AppError::Unavailable(_)) => {
                app.contacts.forget(inbox_id.as_str(), &contact.external_id)
            }
            other => return other.map(|accepted| (id, accepted)),
        }
    }
    let now = clock::now();
    let (owned_inbox, written) = (inbox_id.clone(), contact.clone());
    // Keyed by the contact: two first messages of one customer go to one lane, in order.
    let key = format!("{inbox_id}/{}", contact.external_id);
    let resolve = || {
        let (owned_inbox, written) = (owned_inbox.clone(), written.clone());
        app.store.write_checked(&key, move |c| {
            queries::resolve_conversation(c, &owned_inbox, &written, network, now)
        })
    };
    let (conversation_id, _) = match resolve().await {
        // Another node (cluster mode) created this contact or conversation at the same
        // moment: the second look finds theirs.
        Err(AppError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => resolve().await?,
        other => other?,
    };
    app.contacts
        .put(inbox_id.as_str(), &contact, conversation_id);
    let accepted = ask(registry, conversation_id, deliver).await?;
    Ok((conversation_id, accepted))
}

/// One stored message per content of a provider message; the first carries the quoted
/// message's id, if any.
pub fn parts(m: &InboundMessage) -> Vec<InboundPart> {
    let mut parts: Vec<InboundPart> = m.contents.iter().map(part).collect();
    if let (Some(reply_to), Some(first)) = (&m.reply_to, parts.first_mut()) {
        let mut payload = match first.payload.take() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        payload.insert("reply_to".to_owned(), json!(reply_to));
        first.payload = Some(Value::Object(payload));
    }
    parts
}

fn part(c: &Content) -> InboundPart {
    let mut p = InboundPart::text(c.summary());
    match c {
        Content::Text { .. } => {}
        Content::Media {
            kind,
            source,
            mime_type,
            caption,
            filename,
        } => {
            p.kind = MessageKind::from(*kind);
            p.media = Some(match source {
                Source::ProviderId(id) => MediaSource::ProviderId(id.clone()),
                Source::Url(url) => MediaSource::Url(url.clone()),
            });
            p.media_mime = mime_type.clone();
            p.media_filename = filename.clone();
            p.payload = caption.as_ref().map(|c| json!({ "caption": c }));
        }
        Content::Location {
            latitude,
            longitude,
            name,
            address,
        } => {
            p.kind = MessageKind::Location;
            p.payload = Some(json!({
                "latitude": latitude, "longitude": longitude, "name": name, "address": address,
            }));
        }
        Content::InteractiveReply { id, title } => {
            p.kind = MessageKind::Interactive;
            p.payload = Some(json!({ "id": id, "title": title }));
        }
        Content::TemplateButton { payload, text } => {
            p.kind = MessageKind::Button;
            p.payload = Some(json!({ "payload": payload, "text": text }));
        }
        Content::Unsupported { kind } => {
            p.kind = MessageKind::Unsupported;
            p.payload = Some(json!({ "type": kind }));
        }
    }
    p
}

/// What a status webhook is about.
enum Found {
    /// A message of a conversation.
    Message(ConversationId, MessageId),
    /// A broadcast's recipient (`None`: the callback data named one that no longer exists).
    Recipient(Option<queries::Reported>),
    /// Nothing recorded yet: kept for when the send's id is.
    Parked,
}

/// Applies a provider's status to the message it names. A status that overtook our record of
/// the send (the provider's id is not stored yet) is parked and applied when the id is
/// recorded; statuses only ever move forward, so late and repeated ones change nothing.
async fn apply_status(
    app: &AppContext,
    registry: &Conversations,
    inbox: &Inbox,
    s: StatusUpdate,
) -> AppResult<()> {
    let reason = s.error.as_ref().map(ToString::to_string);
    let opted_out = s
        .error
        .as_ref()
        .is_some_and(|e| super::opt_outs::is_opt_out(&e.code));
    let parked = PendingStatusRow {
        id: uuid::Uuid::now_v7().to_string(),
        inbox_id: inbox.id.clone(),
        provider_message_id: s.provider_message_id.clone(),
        status: s.status,
        reason: reason.clone(),
        created_at: clock::now(),
    };
    let named = broadcasts::status::recipient_in(s.callback_data.as_deref());
    let report = broadcasts::status::report_of(s.status);
    let error = s.error.clone().map(|e| (e.code, e.title));
    let now = clock::now();
    let reported_id = parked.provider_message_id.clone();
    // A broadcast's recipient, by the callback data it was sent with or by the provider's id.
    let to_recipient = move |c: &mut DbConnection, which: RecipientRef<'_>| match report {
        Some(report) => queries::apply_report(
            c,
            which,
            &reported_id,
            report,
            error
                .as_ref()
                .map(|(code, title)| (code.as_str(), title.as_str())),
            opted_out,
            now,
        ),
        None => Ok(None),
    };
    // In the writer, so that "not recorded yet" and "park it" cannot interleave with the
    // outbox recording the id.
    let found = app
        .store
        .write(move |c| {
            if let Some(id) = named {
                return Ok(Found::Recipient(to_recipient(c, RecipientRef::Id(id))?));
            }
            match queries::message_by_external_id(c, &parked.inbox_id, &parked.provider_message_id)?
            {
                Some(m) => Ok(Found::Message(m.conversation_id, m.id)),
                None => {
                    let pid = parked.provider_message_id.clone();
                    if let Some(r) = to_recipient(c, RecipientRef::ProviderId(&pid))? {
                        return Ok(Found::Recipient(Some(r)));
                    }
                    queries::park_status(c, &parked)?;
                    Ok(Found::Parked)
                }
            }
        })
        .await?;
    let (conversation_id, message_id) = match found {
        Found::Message(conversation, message) => (conversation, message),
        Found::Recipient(reported) => {
            if let Some(r) = reported.filter(|r| r.status == RecipientStatus::Skipped) {
                broadcasts::contact_changed(app, registry, r.contact).await;
            }
            return Ok(());
        }
        Found::Parked => {
            tracing::debug!(inbox = %inbox.id, provider_message_id = %s.provider_message_id, status = %s.status, "status for a message not recorded yet; parked");
            return Ok(());
        }
    };
    let report = ReportDelivery {
        message_id,
        status: s.status,
        reason: reason.clone(),
        provider_message_id: None,
    };
    match ask(registry, conversation_id, report).await {
        // Deleted meanwhile: nothing to update.
        Err(AppError::NotFound(_)) => Ok(()),
        Ok(()) if opted_out => {
            let why = reason.as_deref().unwrap_or_default();
            super::opt_outs::record(app, registry, conversation_id, why).await
        }
        other => other,
    }
}
