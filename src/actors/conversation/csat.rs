//! The satisfaction survey a closing sends (the state machine's `Effect::AskCsat`), shaped
//! for the conversation's channel and written in the closing's own transaction:
//!
//! - WhatsApp Cloud: an interactive list of five rows (`csat_5`..`csat_1`); the outbox
//!   builds it from the payload's `"format": "list"` (see `channels::outbox`);
//! - the website widget: the question, which the widget shows with five stars to tap
//!   (`"format": "stars"`);
//! - Messenger, Instagram, SMS and WhatsApp through Twilio, the API channel: the question and
//!   "Reply with a number from 1 to 5" as text.
//!
//! The survey is in the contact's language (the profile's, detected or set by an agent:
//! English, Spanish, Portuguese or Hindi/Hinglish; English for any other), or the inbox's own
//! question for that language (`csat_question`); the parser reads answers in every language
//! it knows either way.

use super::*;
use crate::domain::{csat, types::ChannelKind};

/// How the survey is shown to the customer of a channel.
fn format(channel: ChannelKind) -> &'static str {
    match channel {
        ChannelKind::Whatsapp => "list",
        ChannelKind::Widget => "stars",
        ChannelKind::Api | ChannelKind::Twilio | ChannelKind::Meta => "text",
    }
}

impl ConversationActor {
    /// The survey message, and whether it goes through the outbox.
    pub(super) fn csat_survey(&self, l: &Loaded, now: NaiveDateTime) -> (MessageRow, bool) {
        let format = format(l.inbox.channel);
        let lang = l.contact.profile.language.as_deref();
        // The inbox's own question, else the built-in one (the widget's Hindi in Devanagari,
        // like the widget around it).
        let question = match (l.inbox.csat_question(lang), format) {
            (Some(q), _) => q,
            (None, "stars") => csat::widget_question(lang),
            (None, _) => csat::survey_question(lang),
        };
        let text = match format {
            "text" => format!("{question} {}", csat::survey_reply_hint(lang)),
            _ => question.to_owned(),
        };
        let (mut m, send) = self.outbound(l, Author::Assistant, text, now);
        m.payload =
            Some(json!({ "automatic": "csat_survey", "format": format, "lang": lang }).to_string());
        (m, send)
    }
}
