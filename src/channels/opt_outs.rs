//! Providers' opt-out signals: a send refused because the person opted out (Twilio 21610
//! "Attempt to send to unsubscribed recipient", WhatsApp 131050 "user stopped marketing
//! messages"), on the send's answer or in a failed status webhook (also one that arrived
//! before the send's id was recorded, see `actors::conversation::delivery`), marks the contact
//! the message went to unsubscribed (CRM.md §6.4). The message itself is `failed` as before.
//! WhatsApp's `user_preferences` webhook says the same without a send: `stop` unsubscribes,
//! `resume` resubscribes — but only a contact the provider unsubscribed, never one an agent or
//! the person's own STOP did.
//!
//! Only that contact is marked, not the whole person: these opt-outs are per sender number,
//! and the person may still take broadcasts on another channel. Twilio answers STOP on SMS
//! itself; we only record what it tells us. Each change writes its `unsubscribed` /
//! `resubscribed` timeline entry in the same transaction, as an agent's does.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::{
    actors::{
        messages::ContactChanged,
        registry::{ask, Conversations},
    },
    app::AppContext,
    clock,
    db::{queries, DbConnection},
    domain::{activity::ActivityKind, types::OptOutSource, ContactId, ConversationId, InboxId},
    error::{AppError, AppResult},
    providers::normalized::MarketingChoice,
};

/// The providers' error codes that mean "this person opted out".
const OPT_OUT_CODES: &[&str] = &["21610", "131050"];

/// Whether a provider's error code is an opt-out.
pub fn is_opt_out(code: &str) -> bool {
    OPT_OUT_CODES.contains(&code)
}

/// Whether a stored failure reason (`"<code>: <title>"`, as a `ProviderError` displays) is
/// an opt-out: how a status parked before its message was known still says so.
pub fn is_opt_out_reason(reason: &str) -> bool {
    reason
        .split_once(':')
        .is_some_and(|(code, _)| is_opt_out(code.trim()))
}

/// Unsubscribes one contact because its provider said the person opted out, with the
/// `unsubscribed` entry, in the caller's transaction. `false` when it already was (nothing
/// written: the first time and reason stay).
pub fn unsubscribe_by_provider(
    c: &mut DbConnection,
    contact_id: ContactId,
    at: NaiveDateTime,
    conversation_id: Option<ConversationId>,
    detail: &serde_json::Value,
) -> AppResult<bool> {
    let changed = queries::set_unsubscribed(c, &[contact_id], Some((at, OptOutSource::Provider)))?;
    if changed == 0 {
        return Ok(false);
    }
    let entry = queries::activity_row(
        contact_id,
        ActivityKind::Unsubscribed,
        clock::now(),
        None,
        conversation_id,
        detail,
    );
    queries::insert_activity(c, &[entry])?;
    Ok(true)
}

/// Marks the contact of the conversation unsubscribed (a no-op when it is already), then lets
/// the conversation's actor take the new contact row. `reason` is the provider's error.
pub async fn record(
    app: &AppContext,
    registry: &Conversations,
    conversation_id: ConversationId,
    reason: &str,
) -> AppResult<()> {
    let now = clock::now();
    let detail = json!({ "by": "provider", "reason": reason });
    let changed = app
        .store
        .write(move |c| {
            let Some(row) = queries::conversation(c, conversation_id)? else {
                return Ok(false);
            };
            unsubscribe_by_provider(c, row.contact_id, now, Some(conversation_id), &detail)
        })
        .await?;
    if changed {
        tracing::info!(%conversation_id, "contact unsubscribed by the provider's opt-out");
        contact_changed(registry, Some(conversation_id)).await?;
    }
    Ok(())
}

/// Applies a WhatsApp `user_preferences` choice to the contact with this `wa_id` on the
/// inbox: `stop` unsubscribes it (source `provider`, since the event's time); `resume`
/// resubscribes it only when the provider had unsubscribed it, and not by a stop newer than
/// the resume (retries arrive out of order). An unknown contact is skipped: it never wrote,
/// so there is nothing to send it anyway. Returns whether anything changed.
pub async fn record_preference(
    app: &AppContext,
    registry: &Conversations,
    inbox_id: &InboxId,
    external_id: &str,
    choice: MarketingChoice,
    at: NaiveDateTime,
    detail: Option<String>,
) -> AppResult<bool> {
    let (inbox, external) = (inbox_id.clone(), external_id.to_owned());
    let written = app
        .store
        .write(move |c| {
            let Some(contact) = queries::contact_by_external_id(c, &inbox, &external)? else {
                return Ok(None);
            };
            let conversation = queries::conversation_id_of_contact(c, &inbox, &external)?;
            let entry_detail = json!({
                "by": "provider",
                "reason": "user_preferences",
                "detail": detail,
            });
            let changed = match choice {
                MarketingChoice::Stop => {
                    unsubscribe_by_provider(c, contact.id, at, conversation, &entry_detail)?
                }
                MarketingChoice::Resume => {
                    let by_provider = contact.unsubscribed_reason == Some(OptOutSource::Provider)
                        && contact.unsubscribed_at.is_some_and(|since| since <= at);
                    if by_provider {
                        queries::set_unsubscribed(c, &[contact.id], None)?;
                        let entry = queries::activity_row(
                            contact.id,
                            ActivityKind::Resubscribed,
                            clock::now(),
                            None,
                            conversation,
                            &entry_detail,
                        );
                        queries::insert_activity(c, &[entry])?;
                    }
                    by_provider
                }
            };
            Ok(Some((changed, conversation)))
        })
        .await?;
    let Some((changed, conversation)) = written else {
        tracing::debug!(inbox = %inbox_id, "marketing preference of an unknown contact; skipped");
        return Ok(false);
    };
    if changed {
        tracing::info!(inbox = %inbox_id, ?choice, "marketing preference applied");
        contact_changed(registry, conversation).await?;
    }
    Ok(changed)
}

/// Lets a conversation's actor take its contact's new row (gone is fine).
async fn contact_changed(
    registry: &Conversations,
    conversation_id: Option<ConversationId>,
) -> AppResult<()> {
    let Some(id) = conversation_id else {
        return Ok(());
    };
    match ask(registry, id, ContactChanged).await {
        Ok(()) | Err(AppError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn opt_out_codes() {
        for (code, want) in [
            ("21610", true),
            ("131050", true),
            ("131049", false),
            ("30007", false),
        ] {
            assert_eq!(super::is_opt_out(code), want, "{code}");
        }
    }

    #[test]
    fn opt_out_reasons() {
        for (reason, want) in [
            ("131050: Unable to deliver the message", true),
            ("21610: Attempt to send to unsubscribed recipient", true),
            ("131049: This message was not delivered", false),
            ("131050", false),
            ("", false),
        ] {
            assert_eq!(super::is_opt_out_reason(reason), want, "{reason}");
        }
    }
}
