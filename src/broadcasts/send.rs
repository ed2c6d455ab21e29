//! One recipient's send, under the "never twice" rule: the row is `sending` (committed)
//! before the request leaves; the answer is committed right after. A refusal by the provider
//! puts the row back in the queue (throughput) or settles it (failed, opted out); an answer
//! that never came — a timeout, a cut connection — leaves it `unknown`, for the provider's
//! status webhooks to settle. Nothing here sends a row twice: only a `queued` row of a
//! running broadcast can become `sending`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{
    app::AppContext,
    channels::{
        http_client::{execute, without_url, FetchError},
        outbox::{backoff, post_signed, Limiter},
    },
    clock,
    config::{ChannelSettings, TwilioFrom},
    db::{
        models::{BroadcastRow, RecipientRow},
        queries::{self, NotSent},
        DbConnection,
    },
    domain::{
        broadcast::{error_action, ErrorAction},
        types::{ChannelKind, Network},
        ContactId, RecipientId,
    },
    error::{AppError, AppResult},
    inbox::Inbox,
    providers::{
        api::{BroadcastPayload, OutboundContact},
        normalized::{OutboundContent, ProviderRequest, RequestBody, SendOutcome},
        twilio, whatsapp,
    },
};

/// Largest answer read from a provider or callback.
const ANSWER_LIMIT: usize = 256 * 1024;
/// Longest part of an answer kept as the error.
const ERROR_CHARS: usize = 300;

/// The per-message callback data that names the recipient in the provider's status webhooks
/// (WhatsApp `biz_opaque_callback_data`, Twilio's `StatusCallback` query).
pub fn callback_data(r: &RecipientRow) -> String {
    format!("{}{}", super::CALLBACK_PREFIX, r.id)
}

/// How one attempt ended.
#[derive(Debug)]
enum Attempt {
    /// The provider has it (with its id when it gives one).
    Accepted(Option<String>),
    /// Not taken, worth another try later (throttled, 5xx, no connection made).
    Retry {
        after: Option<Duration>,
        code: String,
        title: String,
    },
    /// Refused with a provider error code.
    Refused { code: String, title: String },
    /// Cannot be sent as configured (no callback URL, a stored row that does not parse).
    Broken(String),
    /// The request may have reached the provider; its answer was lost.
    Ambiguous(String),
}

/// Sends one recipient's message, if it is still `queued` and its broadcast runs. Returns
/// the contact when the provider said they opted out (the caller tells their conversation).
pub async fn send_one(
    app: &Arc<AppContext>,
    limiter: &Limiter,
    broadcast: &BroadcastRow,
    inbox: &Inbox,
    per_second: u32,
    recipient: RecipientRow,
) -> AppResult<Option<ContactId>> {
    let (id, bid) = (recipient.id, broadcast.id);
    // The slot first: a row waits for it as `queued`, so a stop now loses nothing.
    limiter.wait(&inbox.id, per_second).await;
    let now = clock::now();
    if !app
        .store
        .write(move |c| queries::mark_sending(c, id, bid, now))
        .await?
    {
        return Ok(None);
    }
    let attempt = attempt(app, broadcast, inbox, &recipient).await;
    if let Attempt::Retry {
        after: Some(after),
        code,
        ..
    } = &attempt
    {
        if code == "130429" {
            limiter.hold(&inbox.id, *after);
        }
    }
    let opted_out = record(app, broadcast, &recipient, attempt).await?;
    Ok(opted_out.then_some(recipient.contact_id))
}

/// Commits what the attempt says about the recipient; true when the person opted out.
async fn record(
    app: &AppContext,
    broadcast: &BroadcastRow,
    recipient: &RecipientRow,
    attempt: Attempt,
) -> AppResult<bool> {
    let (id, now) = (recipient.id, clock::now());
    let attempts = recipient.attempts.saturating_add(1);
    let max_attempts = app.settings.outbox.max_attempts;
    let retry_at = |after: Option<Duration>| {
        let mut wait = backoff(&app.settings.outbox, attempts);
        if let Some(after) = after.and_then(|a| chrono::Duration::from_std(a).ok()) {
            wait = wait.max(after);
        }
        now + wait
    };
    let not_sent = |how: NotSent, code: String, title: String| {
        commit_outcome(app, id, move |c| {
            queries::recipient_not_sent(c, id, how, (&code, &title), now)
        })
    };
    if let Attempt::Refused { code, title } = &attempt {
        if error_action(code) == ErrorAction::OptedOut {
            not_sent(NotSent::OptedOut, code.clone(), title.clone()).await?;
            return Ok(true);
        }
    }
    match attempt {
        Attempt::Accepted(provider_id) => {
            let name = broadcast.name.clone();
            commit_outcome(app, id, move |c| {
                queries::record_sent(c, id, provider_id.as_deref(), &name, now)
            })
            .await
        }
        Attempt::Retry { code, title, .. } if attempts >= max_attempts => {
            let title = format!("{title} (after {attempts} attempts)");
            not_sent(NotSent::Failed, code, title).await
        }
        Attempt::Retry { after, code, title } => {
            let next = retry_at(after);
            commit_outcome(app, id, move |c| {
                queries::retry_recipient(c, id, next, (&code, &title), now)
            })
            .await
        }
        Attempt::Refused { code, title } => match error_action(&code) {
            ErrorAction::RetryLater(d) if attempts < max_attempts => {
                let next = retry_at(d.to_std().ok());
                commit_outcome(app, id, move |c| {
                    queries::retry_recipient(c, id, next, (&code, &title), now)
                })
                .await
            }
            _ => not_sent(NotSent::Failed, code, title).await,
        },
        Attempt::Broken(reason) => {
            not_sent(NotSent::Failed, "not_sendable".to_owned(), reason).await
        }
        Attempt::Ambiguous(reason) => {
            tracing::warn!(recipient = %id, %reason, "broadcast send: the answer was lost; waiting for the provider's status");
            commit_outcome(app, id, move |c| queries::recipient_unknown(c, id, &reason, now))
                .await
        }
    }
    .map(|()| false)
}

/// How long an outcome the database refuses for a passing reason is offered again. After
/// that the row stays `sending`, and the next start settles it as `unknown`.
const OUTCOME_RETRY_FOR: Duration = Duration::from_secs(120);

/// Commits an attempt's outcome, offering it again while the database is unreachable or busy:
/// the request has left, so what the provider said must not be dropped, and the broadcast
/// cannot complete while the row is `sending`. The send's concurrency slot is held meanwhile,
/// so a broadcast whose outcomes cannot be stored stops sending instead of running ahead.
async fn commit_outcome<F>(app: &AppContext, id: RecipientId, f: F) -> AppResult<()>
where
    F: FnMut(&mut DbConnection) -> AppResult<()> + Clone + Send + 'static,
{
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match app.store.write(f.clone()).await {
            Err(e @ (AppError::Database(_) | AppError::Unavailable(_)))
                if started.elapsed() < OUTCOME_RETRY_FOR =>
            {
                tracing::warn!(recipient = %id, error = %e, "broadcast send: its outcome is not stored yet; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            done => return done,
        }
    }
}

async fn attempt(
    app: &AppContext,
    broadcast: &BroadcastRow,
    inbox: &Inbox,
    r: &RecipientRow,
) -> Attempt {
    let Some(address) = r.address.clone() else {
        return Attempt::Broken("the recipient has no address".to_owned());
    };
    let rendered: serde_json::Value = match r.rendered.as_deref().map(serde_json::from_str) {
        Some(Ok(v)) => v,
        _ => return Attempt::Broken("the recipient's message does not read".to_owned()),
    };
    if inbox.channel == ChannelKind::Api {
        let text = rendered.as_str().unwrap_or_default().to_owned();
        return callback(app, broadcast, inbox, r, address, text).await;
    }
    let request = match provider_request(broadcast, inbox, r, &address, &rendered) {
        Ok(req) => req,
        Err(reason) => return Attempt::Broken(reason),
    };
    let classify = match inbox.channel {
        ChannelKind::Twilio => twilio::classify_send_response,
        _ => whatsapp::classify_send_response,
    };
    let timeout = Duration::from_millis(app.settings.outbox.request_timeout_ms);
    match execute(app, &request, ANSWER_LIMIT, timeout).await {
        Ok(answer) => match classify(answer.status, &answer.body)
            .with_retry_after(answer.retry_after.as_deref())
        {
            SendOutcome::Accepted {
                provider_message_id,
            } => Attempt::Accepted(Some(provider_message_id)),
            SendOutcome::Retry { after, reason } => Attempt::Retry {
                after,
                code: reason
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                title: reason,
            },
            SendOutcome::Failed { error } => Attempt::Refused {
                code: error.code.clone(),
                title: error.title,
            },
        },
        Err(FetchError::Unreached(e)) => Attempt::Retry {
            after: None,
            code: "unreached".to_owned(),
            title: e,
        },
        Err(e) => Attempt::Ambiguous(e.to_string()),
    }
}

/// The provider request for one recipient (WhatsApp Cloud API or Twilio).
fn provider_request(
    broadcast: &BroadcastRow,
    inbox: &Inbox,
    r: &RecipientRow,
    address: &str,
    rendered: &serde_json::Value,
) -> Result<ProviderRequest, String> {
    let parameters: Vec<String> = match rendered {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let template = |name: Option<String>| -> Result<OutboundContent, String> {
        Ok(OutboundContent::Template {
            name: name.ok_or("the broadcast's template is no longer configured")?,
            language: broadcast.template_language.clone().unwrap_or_default(),
            parameters: parameters.clone(),
        })
    };
    let configured = |name: &str| {
        inbox
            .settings
            .templates()
            .iter()
            .find(|t| t.name == name && broadcast.template_language.as_deref() == Some(&t.language))
            .cloned()
    };
    match &inbox.settings.channel {
        ChannelSettings::Whatsapp(s) => {
            let name = broadcast.template_name.clone();
            let content = template(name)?;
            let mut request = whatsapp::build_send(
                s.api_base(),
                s.graph_version(),
                s.phone_number_id.as_str(),
                s.access_token.expose(),
                address,
                &content,
                None,
            )
            .map_err(|e| e.to_string())?;
            // Echoed on every status of this message: how an `unknown` row is settled.
            if let RequestBody::Json(serde_json::Value::Object(body)) = &mut request.body {
                body.insert(
                    "biz_opaque_callback_data".to_owned(),
                    serde_json::Value::String(callback_data(r)),
                );
            }
            Ok(request)
        }
        ChannelSettings::Twilio(s) => {
            let network = match broadcast.network {
                Some(Network::Whatsapp) => Network::Whatsapp,
                _ => Network::Sms,
            };
            let from = match &s.from {
                TwilioFrom::Number(number) => twilio::address(network, number),
                TwilioFrom::MessagingService(sid) => sid.clone(),
            };
            let content = match (&broadcast.text, rendered) {
                (Some(_), serde_json::Value::String(body)) => {
                    OutboundContent::Text { body: body.clone() }
                }
                _ => {
                    let sid = broadcast
                        .template_name
                        .as_deref()
                        .and_then(configured)
                        .and_then(|t| t.content_sid);
                    template(sid)?
                }
            };
            // The recipient in the status callback's URL: Twilio signs the whole URL.
            let status_url = format!(
                "{}?{}={}",
                s.status_url(),
                super::TWILIO_STATUS_PARAM,
                callback_data(r)
            );
            twilio::build_send(
                s.api_base(),
                s.account_sid.as_str(),
                inbox.secret.expose(),
                &from,
                address,
                &content,
                Some(&status_url),
            )
            .map_err(|e| e.to_string())
        }
        _ => Err(format!("{} inboxes do not send broadcasts", inbox.channel)),
    }
}

/// The API channel: POST the signed payload to the inbox's callback URL.
async fn callback(
    app: &AppContext,
    broadcast: &BroadcastRow,
    inbox: &Inbox,
    r: &RecipientRow,
    address: String,
    text: String,
) -> Attempt {
    let Some(url) = inbox.callback_url().map(|u| u.as_str().to_owned()) else {
        return Attempt::Broken(format!("inbox `{}` has no callback_url", inbox.id));
    };
    let contact = {
        let id = r.contact_id;
        app.store
            .read(move |c| queries::contact(c, id))
            .await
            .ok()
            .flatten()
    };
    let payload = BroadcastPayload {
        message_id: r.id,
        broadcast_id: broadcast.id,
        inbox: inbox.id.clone(),
        contact: OutboundContact {
            external_id: address,
            name: contact.as_ref().and_then(|c| c.name.clone()),
            phone: contact.as_ref().and_then(|c| c.phone.clone()),
            email: contact.as_ref().and_then(|c| c.email.clone()),
        },
        text,
        author: "broadcast".to_owned(),
        sent_at: clock::now(),
    };
    let body = match serde_json::to_vec(&payload) {
        Ok(b) => b,
        Err(e) => return Attempt::Broken(e.to_string()),
    };
    let response = post_signed(app, inbox, &url, body).await;
    let response = match response {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            return Attempt::Retry {
                after: None,
                code: "unreached".to_owned(),
                title: without_url(&e),
            }
        }
        Err(e) => return Attempt::Ambiguous(without_url(&e)),
    };
    let status = response.status();
    if status.is_success() {
        return Attempt::Accepted(None);
    }
    let text = response.text().await.unwrap_or_default();
    let title: String = format!("callback answered {status}: {}", text.trim())
        .chars()
        .take(ERROR_CHARS)
        .collect();
    let code = status.as_u16().to_string();
    if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
        Attempt::Refused { code, title }
    } else {
        Attempt::Retry {
            after: None,
            code,
            title,
        }
    }
}
