//! Providers' opt-out signals: a send refused because the person opted out (Twilio 21610
//! "Attempt to send to unsubscribed recipient", WhatsApp 131050 "user stopped marketing
//! messages"), on the send's answer or in a failed status webhook, marks the contact the
//! message went to unsubscribed (CRM.md §6.4). The message itself is `failed` as before.
//!
//! Only that contact is marked, not the whole person: these opt-outs are per sender number,
//! and the person may still take broadcasts on another channel. Twilio answers STOP on SMS
//! itself; we only record what it tells us.

use actix::Addr;

use crate::{
    actors::{
        messages::ContactChanged,
        registry::{ask, ConversationRegistry},
    },
    app::AppContext,
    clock,
    db::queries,
    domain::{types::OptOutSource, ConversationId},
    error::{AppError, AppResult},
};

/// The providers' error codes that mean "this person opted out".
const OPT_OUT_CODES: &[&str] = &["21610", "131050"];

/// Whether a provider's error code is an opt-out.
pub fn is_opt_out(code: &str) -> bool {
    OPT_OUT_CODES.contains(&code)
}

/// Marks the contact of the conversation unsubscribed (a no-op when it is already), then lets
/// the conversation's actor take the new contact row.
pub async fn record(
    app: &AppContext,
    registry: &Addr<ConversationRegistry>,
    conversation_id: ConversationId,
) -> AppResult<()> {
    let now = clock::now();
    let changed = app
        .store
        .write(move |c| {
            let Some(row) = queries::conversation(c, conversation_id)? else {
                return Ok(0);
            };
            queries::set_unsubscribed(c, &[row.contact_id], Some((now, OptOutSource::Provider)))
        })
        .await?;
    if changed > 0 {
        tracing::info!(%conversation_id, "contact unsubscribed by the provider's opt-out");
        match ask(registry, conversation_id, ContactChanged).await {
            Ok(()) | Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
}
