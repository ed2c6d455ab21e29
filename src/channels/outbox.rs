//! The outbox worker: delivers every queued outbound message, retrying with exponential backoff,
//! and reports `sent` (with the provider's message id) or `failed` (with the reason) to the
//! message's conversation actor.
//!
//! Messages are written to the `outbox` table in the same transaction as the message itself,
//! so a crash at any point loses nothing: on start the worker finds the rows still due and
//! sends them. A provider outage leaves them queued and retried. Delivery is at least once (a
//! crash between the provider's answer and our commit sends again); API-channel receivers
//! deduplicate on `message_id`.
//!
//! Each inbox speaks its provider's protocol: the API channel POSTs a signed callback; WhatsApp,
//! Twilio and Meta requests are built by their pure modules, sent through
//! [`http_client`](super::http_client), and their answers classified by the same modules. Sends
//! from one provider number are spaced to its throughput (WhatsApp: 80 per second by default),
//! and a throughput error (130429) holds the number back for the time the provider asks.

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use rand::Rng;
use serde_json::Value;
use tokio::sync::Notify;

use super::{
    http_client::{execute, without_url, FetchError},
    media,
};
use crate::providers::{
    api::{self, OutboundContact, OutboundPayload},
    meta,
    normalized::{MediaKind, Network, OutboundContent, ProviderRequest, SendOutcome},
    twilio, whatsapp,
};
use crate::{
    actors::{messages::ReportDelivery, registry::ask, registry::Conversations},
    app::AppContext,
    clock,
    config::{ChannelSettings, TwilioFrom},
    db::{
        models::{ContactRow, ConversationRow, MessageRow, OutboxRow},
        queries,
    },
    domain::{
        delivery::DeliveryStatus,
        types::{Author, ChannelKind, MessageKind},
        window::Sender,
        InboxId, MessageId,
    },
    error::{AppError, AppResult},
    inbox::Inbox,
};

/// Longest part of a provider's error body kept as the failure reason.
const REASON_CHARS: usize = 300;
/// Largest answer read from a provider or callback.
const ANSWER_LIMIT: usize = 256 * 1024;
/// How often parked provider statuses are looked at.
const CLEANUP_EVERY: Duration = Duration::from_secs(3600);
/// Parked statuses older than this are of messages we never sent (another tool's, or ones
/// whose send answer was lost): forgotten.
const PARKED_STATUS_DAYS: i64 = 7;

/// Starts the worker on the current arbiter. `limiter` paces each provider number; the
/// broadcasts' dispatcher shares it (on the same arbiter), so replies and broadcasts together
/// stay within the number's throughput.
pub fn start(app: Arc<AppContext>, registry: Conversations, limiter: Limiter) {
    actix_rt::spawn(run(app, registry, limiter));
}

async fn run(app: Arc<AppContext>, registry: Conversations, limiter: Limiter) {
    let in_flight: Rc<RefCell<HashSet<MessageId>>> = Rc::default();
    // Deliveries that ended, and when. A read of the due rows that began before one ended
    // may still see its row as due (the read's snapshot is older than the report's commit):
    // that row is not sent again.
    let ended: Rc<RefCell<HashMap<MessageId, Instant>>> = Rc::default();
    // A delivery that ends frees a slot. The due rows are read again then only if the last
    // read may have left some behind (it filled every slot): reading on every delivery read
    // the rows in flight again and again, the outbox's largest cost under load. New rows
    // come with their own kick (`outbox_kick`), and retries coming due with the poll.
    let slot_freed = Rc::new(Notify::new());
    let settings = app.settings.outbox.clone();
    let poll = Duration::from_millis(settings.poll_interval_ms);
    let mut last_cleanup: Option<Instant> = None;
    let mut backlog = true;
    let mut read_due = true;
    loop {
        if last_cleanup.is_none_or(|t| t.elapsed() >= CLEANUP_EVERY) {
            last_cleanup = Some(Instant::now());
            expire_parked_statuses(&app).await;
        }
        let busy = in_flight.borrow().len();
        let free = settings.concurrency.saturating_sub(busy);
        if free > 0 && read_due {
            read_due = false;
            let limit = (free + busy) as i64;
            let now = clock::now();
            let read_at = Instant::now();
            // What ended before this read began, this read sees as it is now.
            ended.borrow_mut().retain(|_, at| *at >= read_at);
            // Cluster mode: only the rows of the conversations this node holds, so no row
            // is sent by two nodes; a dead node's rows are sent by whoever takes its shards.
            let held = app.cluster.as_ref().map(|c| c.held().shards());
            match app
                .store
                .read(move |c| match held {
                    None => queries::outbox_due(c, now, limit),
                    Some(shards) => queries::outbox_due_in_shards(c, now, limit, &shards),
                })
                .await
            {
                Ok(rows) => {
                    backlog = rows.len() as i64 >= limit;
                    for row in rows {
                        if ended.borrow().contains_key(&row.message_id)
                            || in_flight.borrow().len() >= settings.concurrency
                            || !in_flight.borrow_mut().insert(row.message_id)
                        {
                            continue;
                        }
                        let (app, registry, in_flight, ended, limiter, freed) = (
                            app.clone(),
                            registry.clone(),
                            in_flight.clone(),
                            ended.clone(),
                            limiter.clone(),
                            slot_freed.clone(),
                        );
                        actix_rt::spawn(async move {
                            let id = row.message_id;
                            deliver(&app, &registry, &limiter, row).await;
                            in_flight.borrow_mut().remove(&id);
                            ended.borrow_mut().insert(id, Instant::now());
                            freed.notify_one();
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "outbox: cannot read due messages"),
            }
        }
        // A kick while every slot is busy is kept until a slot frees.
        read_due |= tokio::select! {
            _ = app.outbox_kick.notified() => true,
            _ = slot_freed.notified() => backlog,
            _ = tokio::time::sleep(poll) => true,
        };
    }
}

/// Forgets provider statuses parked for a message id that never got recorded.
async fn expire_parked_statuses(app: &AppContext) {
    let before = clock::now() - chrono::Duration::days(PARKED_STATUS_DAYS);
    match app
        .store
        .write(move |c| queries::expire_pending_statuses(c, before))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(statuses = n, "forgot statuses of messages never recorded"),
        Err(e) => tracing::warn!(error = %e, "cannot expire parked statuses"),
    }
}

/// Spaces the sends of each inbox (one provider number) to its throughput. Lives on the
/// worker's single thread.
#[derive(Clone, Default)]
pub struct Limiter {
    next_slot: Rc<RefCell<HashMap<InboxId, Instant>>>,
}

impl Limiter {
    /// Waits for this inbox's next free slot and takes it.
    pub async fn wait(&self, inbox: &InboxId, per_second: u32) {
        let interval = Duration::from_secs(1) / per_second.max(1);
        let now = Instant::now();
        let slot = {
            let mut slots = self.next_slot.borrow_mut();
            let slot = slots.get(inbox).copied().unwrap_or(now).max(now);
            slots.insert(inbox.clone(), slot + interval);
            slot
        };
        if slot > now {
            tokio::time::sleep(slot - now).await;
        }
    }

    /// The provider said the number is over its throughput: nothing leaves it for `pause`.
    pub fn hold(&self, inbox: &InboxId, pause: Duration) {
        let until = Instant::now() + pause;
        let mut slots = self.next_slot.borrow_mut();
        let slot = slots.entry(inbox.clone()).or_insert(until);
        *slot = (*slot).max(until);
    }
}

/// How one attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Taken by the provider (with its id for the message, when it gives one).
    Delivered { provider_message_id: Option<String> },
    /// Worth trying again later; `after` is the provider's own wish, if it said.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will never work as is.
    Failed(String),
    /// Refused because the person opted out (Twilio 21610, WhatsApp 131050): failed, and the
    /// contact is marked unsubscribed.
    OptedOut(String),
}

impl From<SendOutcome> for Outcome {
    fn from(o: SendOutcome) -> Outcome {
        match o {
            SendOutcome::Accepted {
                provider_message_id,
            } => Outcome::Delivered {
                provider_message_id: Some(provider_message_id),
            },
            SendOutcome::Retry { after, reason } => Outcome::Retry { after, reason },
            SendOutcome::Failed { error } if super::opt_outs::is_opt_out(&error.code) => {
                Outcome::OptedOut(error.to_string())
            }
            SendOutcome::Failed { error } => Outcome::Failed(error.to_string()),
        }
    }
}

async fn deliver(
    app: &Arc<AppContext>,
    registry: &Conversations,
    limiter: &Limiter,
    row: OutboxRow,
) {
    let (message_id, conversation_id) = (row.message_id, row.conversation_id);
    let outcome = attempt(app, limiter, &row).await;
    let provider = crate::metrics::ProviderLabels {
        provider: app
            .inboxes
            .for_conversation(&row.inbox_id)
            .channel
            .as_str()
            .to_owned(),
    };
    let last_try = row.attempts.saturating_add(1) >= app.settings.outbox.max_attempts;
    match &outcome {
        Outcome::Retry { .. } if !last_try => {
            app.metrics.outbox_retries.get_or_create(&provider).inc()
        }
        Outcome::Retry { .. } => app.metrics.outbox_failures.get_or_create(&provider).inc(),
        Outcome::Failed(_) | Outcome::OptedOut(_) => {
            app.metrics.outbox_failures.get_or_create(&provider).inc()
        }
        Outcome::Delivered { .. } => 0,
    };
    let report = |status, reason, provider_message_id| ReportDelivery {
        message_id,
        status,
        reason,
        provider_message_id,
    };
    let result: AppResult<()> = match outcome {
        Outcome::Delivered {
            provider_message_id,
        } => {
            let r = report(DeliveryStatus::Sent, None, provider_message_id);
            ask(registry, conversation_id, r).await
        }
        Outcome::Failed(reason) => {
            tracing::warn!(%message_id, %reason, "outbox: delivery failed permanently");
            let r = report(DeliveryStatus::Failed, Some(reason), None);
            ask(registry, conversation_id, r).await
        }
        Outcome::OptedOut(reason) => {
            tracing::info!(%message_id, %reason, "outbox: the person opted out");
            let r = report(DeliveryStatus::Failed, Some(reason.clone()), None);
            match ask(registry, conversation_id, r).await {
                Ok(()) => super::opt_outs::record(app, registry, conversation_id, &reason).await,
                Err(e) => Err(e),
            }
        }
        Outcome::Retry { after, reason } => {
            let attempts = row.attempts.saturating_add(1);
            if attempts >= app.settings.outbox.max_attempts {
                tracing::warn!(%message_id, %reason, attempts, "outbox: giving up");
                let reason = format!("{reason} (after {attempts} attempts)");
                let r = report(DeliveryStatus::Failed, Some(reason), None);
                ask(registry, conversation_id, r).await
            } else {
                let mut wait = backoff(&app.settings.outbox, attempts);
                if let Some(after) = after.and_then(|a| chrono::Duration::from_std(a).ok()) {
                    wait = wait.max(after);
                }
                let next = clock::now() + wait;
                tracing::info!(%message_id, %reason, attempts, %next, "outbox: will retry");
                app.store
                    .write(move |c| {
                        queries::outbox_retry_later(c, message_id, attempts, next, &reason)
                    })
                    .await
            }
        }
    };
    if let Err(e) = result {
        // The conversation was deleted meanwhile: its outbox rows went with it.
        if !matches!(e, AppError::NotFound(_)) {
            tracing::error!(%message_id, error = %e, "outbox: cannot record the outcome; will try again");
        }
    }
}

/// Exponential backoff with ±20 % jitter, so retries of many messages do not arrive together.
pub(crate) fn backoff(s: &crate::config::OutboxSettings, attempts: i32) -> chrono::Duration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let base = s
        .initial_backoff_ms
        .saturating_mul(1u64 << exp)
        .min(s.max_backoff_ms);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    chrono::Duration::milliseconds((base as f64 * jitter) as i64)
}

/// What one send needs from the database.
struct Loaded {
    message: MessageRow,
    contact: ContactRow,
    conversation: ConversationRow,
}

async fn attempt(app: &Arc<AppContext>, limiter: &Limiter, row: &OutboxRow) -> Outcome {
    let Some(inbox) = app.inboxes.get(&row.inbox_id).cloned() else {
        return Outcome::Failed(format!("inbox `{}` is no longer configured", row.inbox_id));
    };
    let id = row.message_id;
    let loaded = app
        .store
        .read(move |c| {
            let Some(message) = queries::message(c, id)? else {
                return Ok(None);
            };
            let Some(conversation) = queries::conversation(c, message.conversation_id)? else {
                return Ok(None);
            };
            Ok(
                queries::contact(c, conversation.contact_id)?.map(|contact| Loaded {
                    message,
                    contact,
                    conversation,
                }),
            )
        })
        .await;
    let loaded = match loaded {
        Ok(Some(l)) => l,
        Ok(None) => return Outcome::Failed("message no longer exists".to_owned()),
        Err(e) => {
            return Outcome::Retry {
                after: None,
                reason: format!("database: {e}"),
            }
        }
    };
    match inbox.channel {
        ChannelKind::Api | ChannelKind::Widget => {
            if let Some(n) = inbox.settings.throughput_per_second() {
                limiter.wait(&inbox.id, n).await;
            }
            callback(app, &inbox, loaded).await
        }
        ChannelKind::Whatsapp | ChannelKind::Twilio | ChannelKind::Meta => {
            let request = match provider_request(app, &inbox, &loaded) {
                Ok(r) => r,
                Err(reason) => return Outcome::Failed(reason),
            };
            let per_second = inbox
                .settings
                .throughput_per_second()
                .or((inbox.channel == ChannelKind::Whatsapp)
                    .then_some(whatsapp::DEFAULT_THROUGHPUT_PER_SECOND));
            if let Some(n) = per_second {
                limiter.wait(&inbox.id, n).await;
            }
            let outcome = send(app, &inbox, &request).await;
            if let Outcome::Retry {
                after: Some(after),
                reason,
            } = &outcome
            {
                if inbox.channel == ChannelKind::Whatsapp && reason.starts_with("130429") {
                    limiter.hold(&inbox.id, *after);
                }
            }
            outcome
        }
    }
}

/// Sends a provider request and classifies the answer with the provider's own rules.
async fn send(app: &AppContext, inbox: &Inbox, request: &ProviderRequest) -> Outcome {
    let classify = match inbox.channel {
        ChannelKind::Twilio => twilio::classify_send_response,
        ChannelKind::Meta => meta::classify_send_response,
        _ => whatsapp::classify_send_response,
    };
    let timeout = Duration::from_millis(app.settings.outbox.request_timeout_ms);
    match execute(app, request, ANSWER_LIMIT, timeout).await {
        Ok(answer) => classify(answer.status, &answer.body)
            .with_retry_after(answer.retry_after.as_deref())
            .into(),
        Err(FetchError::TooLarge { .. }) => Outcome::Retry {
            after: None,
            reason: "the provider's answer was too large".to_owned(),
        },
        Err(FetchError::Network(e) | FetchError::Unreached(e)) => {
            SendOutcome::network_error(format!("{} request failed: {e}", inbox.channel)).into()
        }
    }
}

/// The provider request for a message, or why it cannot be sent (no request is made then).
fn provider_request(
    app: &AppContext,
    inbox: &Inbox,
    l: &Loaded,
) -> Result<ProviderRequest, String> {
    let content = content_of(app, inbox, &l.message)?;
    let built = match &inbox.settings.channel {
        ChannelSettings::Whatsapp(s) => whatsapp::build_send(
            s.api_base(),
            s.graph_version(),
            s.phone_number_id.as_str(),
            s.access_token.expose(),
            &l.contact.external_id,
            &content,
            None,
        ),
        ChannelSettings::Twilio(s) => {
            let network = match l.conversation.network {
                Some(Network::Whatsapp) => Network::Whatsapp,
                _ => Network::Sms,
            };
            let from = match &s.from {
                TwilioFrom::Number(number) => twilio::address(network, number),
                TwilioFrom::MessagingService(sid) => sid.clone(),
            };
            twilio::build_send(
                s.api_base(),
                s.account_sid.as_str(),
                inbox.secret.expose(),
                &from,
                &l.contact.external_id,
                &content,
                Some(&s.status_url()),
            )
        }
        ChannelSettings::Meta(s) => {
            // The window decides the label; the assistant never uses the human-agent tag.
            let sender = match l.message.author {
                Author::Agent => Sender::Agent,
                _ => Sender::Assistant,
            };
            let allowed = inbox
                .policy_for(l.conversation.network)
                .windows
                .free_form(
                    l.conversation.last_customer_message_at,
                    clock::now(),
                    sender,
                )
                .map_err(|e| e.to_string())?;
            let messaging_type = meta::MessagingType::of(allowed);
            meta::build_send(
                s.api_base(),
                s.graph_version(),
                s.page_id.as_str(),
                s.page_access_token.expose(),
                &l.contact.external_id,
                &content,
                messaging_type,
            )
        }
        ChannelSettings::Api(_) | ChannelSettings::Widget => {
            return Err("the API channel sends callbacks".to_owned())
        }
    };
    built.map_err(|e| e.to_string())
}

/// What a stored message sends: a template, a file by its public link, or text.
fn content_of(app: &AppContext, inbox: &Inbox, m: &MessageRow) -> Result<OutboundContent, String> {
    let payload = m.payload_json();
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_owned);
    if m.kind == MessageKind::Template {
        let t = payload.get("template").cloned().unwrap_or(Value::Null);
        let field = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
        let name = match inbox.channel {
            // Twilio sends a template by its Content SID.
            ChannelKind::Twilio => field("content_sid"),
            _ => field("name"),
        }
        .ok_or("the stored template has no name")?;
        let parameters = t
            .get("parameters")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        return Ok(OutboundContent::Template {
            name,
            language: field("language").unwrap_or_default(),
            parameters,
        });
    }
    // The satisfaction survey as WhatsApp's interactive list (other channels send its text).
    if inbox.channel == ChannelKind::Whatsapp
        && text("automatic").as_deref() == Some("csat_survey")
        && text("format").as_deref() == Some("list")
    {
        return Ok(OutboundContent::List(whatsapp::csat_list(
            text("lang").as_deref(),
        )));
    }
    if m.media_path.is_some() {
        let kind = MediaKind::of(m.kind).unwrap_or(MediaKind::Document);
        let url = media::public_link(app, inbox, m.id).ok_or(
            "server.public_url is not set, so the provider cannot fetch the file".to_owned(),
        )?;
        return Ok(OutboundContent::Media {
            kind,
            url,
            caption: text("caption"),
            filename: m.media_filename.clone(),
        });
    }
    Ok(OutboundContent::Text {
        body: m.body.clone(),
    })
}

/// POSTs a JSON body to an API inbox's callback URL, signed with the inbox secret (replies
/// here, broadcasts in `crate::broadcasts`).
pub(crate) async fn post_signed(
    app: &AppContext,
    inbox: &Inbox,
    url: &str,
    body: Vec<u8>,
) -> Result<reqwest::Response, reqwest::Error> {
    let signature = api::sign(inbox.secret.expose(), &body);
    app.http
        .post(url)
        .timeout(Duration::from_millis(
            app.settings.outbox.request_timeout_ms,
        ))
        .header("Content-Type", "application/json")
        .header(api::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
}

/// The API channel: POST the signed payload to the inbox's callback URL.
async fn callback(app: &AppContext, inbox: &Inbox, l: Loaded) -> Outcome {
    let Some(url) = inbox.callback_url().map(|u| u.as_str().to_owned()) else {
        return Outcome::Failed(format!("inbox `{}` has no callback_url", inbox.id));
    };
    let Loaded {
        message, contact, ..
    } = l;
    let payload = OutboundPayload {
        message_id: message.id,
        conversation_id: message.conversation_id,
        inbox: inbox.id.clone(),
        contact: OutboundContact {
            external_id: contact.external_id,
            name: contact.name,
            phone: contact.phone,
            email: contact.email,
        },
        text: message.body,
        author: message.author,
        agent_id: message.agent_id,
        sent_at: message.sent_at,
    };
    let body = match serde_json::to_vec(&payload) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let response = post_signed(app, inbox, &url, body).await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Retry {
                after: None,
                reason: format!("callback request failed: {}", without_url(&e)),
            }
        }
    };
    let status = response.status();
    if status.is_success() {
        return Outcome::Delivered {
            provider_message_id: None,
        };
    }
    let text = response.text().await.unwrap_or_default();
    let snippet: String = text.chars().take(REASON_CHARS).collect();
    let reason = format!("callback answered {status}: {snippet}")
        .trim_end_matches([':', ' '])
        .to_owned();
    if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
        Outcome::Failed(reason)
    } else {
        Outcome::Retry {
            after: None,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let s = crate::config::OutboxSettings {
            initial_backoff_ms: 1000,
            max_backoff_ms: 10_000,
            ..Default::default()
        };
        for (attempts, base) in [
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (4, 8000),
            (5, 10_000),
            (40, 10_000),
        ] {
            let ms = backoff(&s, attempts).num_milliseconds();
            assert!(
                (base * 8 / 10..=base * 12 / 10).contains(&ms),
                "attempt {attempts}: {ms}"
            );
        }
    }

    #[actix_rt::test]
    async fn the_limiter_spaces_sends_and_holds_after_a_throughput_error() {
        let limiter = Limiter::default();
        let start = Instant::now();
        for _ in 0..5 {
            limiter.wait(&InboxId::from("wa"), 20).await;
        }
        // Five sends at 20 per second: the fifth leaves 4 × 50 ms after the first.
        let spaced = start.elapsed();
        assert!(spaced >= Duration::from_millis(190), "{spaced:?}");
        limiter.hold(&InboxId::from("wa"), Duration::from_millis(300));
        let held = Instant::now();
        limiter.wait(&InboxId::from("wa"), 1000).await;
        assert!(held.elapsed() >= Duration::from_millis(290));
        // Other inboxes are not held.
        let other = Instant::now();
        limiter.wait(&InboxId::from("sms"), 1).await;
        assert!(other.elapsed() < Duration::from_millis(50));
    }
}
