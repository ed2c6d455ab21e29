//! The outbox worker: delivers every queued outbound message, retrying with exponential backoff,
//! and reports `sent` or `failed` (with the reason) to the message's conversation actor.
//!
//! Messages are written to the `outbox` table in the same transaction as the message itself,
//! so a crash at any point loses nothing: on start the worker finds the rows still due and
//! sends them. Delivery is at least once (a crash between the provider's answer and our commit
//! sends again); receivers deduplicate on `message_id`.

use std::{cell::RefCell, collections::HashSet, rc::Rc, sync::Arc, time::Duration};

use actix::Addr;
use rand::Rng;

use super::api::{self, OutboundContact, OutboundPayload};
use crate::{
    actors::{messages::ReportDelivery, registry::ask, registry::ConversationRegistry},
    app::AppContext,
    clock,
    db::{models::OutboxRow, queries},
    domain::{delivery::DeliveryStatus, ConversationId, MessageId},
    error::{AppError, AppResult},
};

/// Longest part of a provider's error body kept as the failure reason.
const REASON_CHARS: usize = 300;

/// Starts the worker on the current arbiter.
pub fn start(app: Arc<AppContext>, registry: Addr<ConversationRegistry>) {
    actix_rt::spawn(run(app, registry));
}

async fn run(app: Arc<AppContext>, registry: Addr<ConversationRegistry>) {
    let in_flight: Rc<RefCell<HashSet<String>>> = Rc::default();
    let settings = app.settings.outbox.clone();
    let poll = Duration::from_millis(settings.poll_interval_ms);
    loop {
        let busy = in_flight.borrow().len();
        let free = settings.concurrency.saturating_sub(busy);
        if free > 0 {
            let limit = (free + busy) as i64;
            let now = clock::now();
            match app
                .store
                .read(move |c| queries::outbox_due(c, now, limit))
                .await
            {
                Ok(rows) => {
                    for row in rows {
                        if in_flight.borrow().len() >= settings.concurrency
                            || !in_flight.borrow_mut().insert(row.message_id.clone())
                        {
                            continue;
                        }
                        let (app, registry, in_flight) =
                            (app.clone(), registry.clone(), in_flight.clone());
                        actix_rt::spawn(async move {
                            let id = row.message_id.clone();
                            deliver(&app, &registry, row).await;
                            in_flight.borrow_mut().remove(&id);
                            app.outbox_kick.notify_one();
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "outbox: cannot read due messages"),
            }
        }
        tokio::select! {
            _ = app.outbox_kick.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Why one attempt did not deliver.
enum Failure {
    /// Worth trying again later (network, timeout, 5xx, 408, 429).
    Transient(String),
    /// Will never work (4xx, no callback configured).
    Permanent(String),
}

async fn deliver(app: &Arc<AppContext>, registry: &Addr<ConversationRegistry>, row: OutboxRow) {
    let (Ok(message_id), Ok(conversation_id)) = (
        row.message_id.parse::<MessageId>(),
        row.conversation_id.parse::<ConversationId>(),
    ) else {
        tracing::error!(message_id = %row.message_id, "outbox: stored ids are invalid");
        return;
    };
    let outcome = attempt(app, &row).await;
    let report = |status, reason| ReportDelivery {
        message_id,
        status,
        reason,
    };
    let result: AppResult<()> = match outcome {
        Ok(()) => {
            ask(
                registry,
                conversation_id,
                report(DeliveryStatus::Sent, None),
            )
            .await
        }
        Err(Failure::Permanent(reason)) => {
            tracing::warn!(%message_id, %reason, "outbox: delivery failed permanently");
            ask(
                registry,
                conversation_id,
                report(DeliveryStatus::Failed, Some(reason)),
            )
            .await
        }
        Err(Failure::Transient(reason)) => {
            let attempts = row.attempts.saturating_add(1);
            if attempts >= app.settings.outbox.max_attempts {
                tracing::warn!(%message_id, %reason, attempts, "outbox: giving up");
                let reason = format!("{reason} (after {attempts} attempts)");
                ask(
                    registry,
                    conversation_id,
                    report(DeliveryStatus::Failed, Some(reason)),
                )
                .await
            } else {
                let next = clock::now() + backoff(&app.settings.outbox, attempts);
                tracing::info!(%message_id, %reason, attempts, %next, "outbox: will retry");
                let id = row.message_id.clone();
                app.store
                    .write(move |c| queries::outbox_retry_later(c, &id, attempts, next, &reason))
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
fn backoff(s: &crate::config::OutboxSettings, attempts: i32) -> chrono::Duration {
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

async fn attempt(app: &Arc<AppContext>, row: &OutboxRow) -> Result<(), Failure> {
    let Some(inbox) = app.inboxes.get(&row.inbox_id).cloned() else {
        return Err(Failure::Permanent(format!(
            "inbox `{}` is no longer configured",
            row.inbox_id
        )));
    };
    let Some(url) = inbox.callback_url.clone() else {
        return Err(Failure::Permanent(format!(
            "inbox `{}` has no callback_url",
            inbox.id
        )));
    };
    let id = row.message_id.clone();
    let loaded = app
        .store
        .read(move |c| {
            let Some(m) = queries::message(c, &id)? else {
                return Ok(None);
            };
            let Some(conv) =
                queries::conversation(c, m.conversation_id.parse().map_err(AppError::internal)?)?
            else {
                return Ok(None);
            };
            Ok(queries::contact(c, &conv.contact_id)?.map(|contact| (m, contact)))
        })
        .await
        .map_err(|e| Failure::Transient(format!("database: {e}")))?;
    let Some((message, contact)) = loaded else {
        return Err(Failure::Permanent("message no longer exists".to_owned()));
    };
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
    let body = serde_json::to_vec(&payload).map_err(|e| Failure::Permanent(e.to_string()))?;
    let signature = api::sign(inbox.secret.expose(), &body);
    let response = app
        .http
        .post(&url)
        .timeout(Duration::from_millis(
            app.settings.outbox.request_timeout_ms,
        ))
        .header("Content-Type", "application/json")
        .header(api::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| Failure::Transient(format!("callback request failed: {}", without_url(&e))))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let snippet: String = text.chars().take(REASON_CHARS).collect();
    let reason = format!("callback answered {status}: {snippet}")
        .trim_end_matches([':', ' '])
        .to_owned();
    if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
        Err(Failure::Permanent(reason))
    } else {
        Err(Failure::Transient(reason))
    }
}

/// reqwest's errors embed the URL, which may carry a token in its query: keep only the kind.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "error"
    };
    match std::error::Error::source(e) {
        Some(src) if !e.is_timeout() => format!("{kind}: {src}"),
        _ => kind.to_owned(),
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
}
