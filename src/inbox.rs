//! Configured inboxes with their conversation rules built once at start.

use std::{collections::HashMap, sync::Arc};

use chrono::Duration;

use crate::{
    config::{ApiChannel, ChannelSettings, HttpUrl, InboxSettings, MetaPlatform, Secret, Settings},
    domain::{
        conversation::{AiFollowUpRules, HandoffAck, Policy},
        handoff::HandoffPhrases,
        types::ChannelKind,
        window::Windows,
        AssistantId, InboxId,
    },
    providers::normalized::Network,
};

/// One inbox as the running server uses it.
#[derive(Debug)]
pub struct Inbox {
    pub id: InboxId,
    pub channel: ChannelKind,
    /// The assistant that answers first.
    pub assistant: AssistantId,
    pub secret: Secret,
    /// The rules of the inbox's conversations (see [`Inbox::policy_for`] for Twilio's
    /// WhatsApp conversations).
    pub policy: Policy,
    /// The rules of a conversation on a WhatsApp network inside an inbox that also carries
    /// SMS (Twilio): the 24-hour window applies.
    windowed_policy: Policy,
    /// False for conversations whose inbox was removed from the configuration: their history
    /// stays readable, but nothing can be sent.
    pub configured: bool,
    /// The channel's own keys (tokens, ids, templates).
    pub settings: InboxSettings,
}

/// Every inbox, by id.
#[derive(Debug)]
pub struct Inboxes {
    by_id: HashMap<InboxId, Arc<Inbox>>,
    base_policy: Policy,
    default_assistant: AssistantId,
}

/// The configured list (or the built-in one), plus the extra phrases.
fn phrase_list(
    configured: &Option<Vec<String>>,
    built_in: fn() -> Vec<&'static str>,
    extra: &[String],
) -> Vec<String> {
    let mut list: Vec<String> = match configured {
        Some(list) => list.clone(),
        None => built_in().iter().map(|s| (*s).to_owned()).collect(),
    };
    list.extend(extra.iter().cloned());
    list
}

impl Inboxes {
    pub fn from_settings(settings: &Settings) -> Inboxes {
        let conv = &settings.conversations;
        let phrases = phrase_list(
            &conv.handoff_phrases,
            HandoffPhrases::default_list,
            &conv.extra_handoff_phrases,
        );
        let complaints = phrase_list(
            &conv.complaint_phrases,
            HandoffPhrases::complaint_list,
            &conv.extra_complaint_phrases,
        );
        let default_assistant = settings.assistants.default_id();
        let misses_of = |id: &AssistantId| {
            let misses = settings
                .assistants
                .get(id)
                .map_or(2, |a| a.handoff_after_misses);
            i32::try_from(misses).ok().filter(|m| *m > 0)
        };
        let base_policy = Policy {
            windows: Windows::default(),
            handoff_phrases: Arc::new(HandoffPhrases::new(phrases)),
            complaint_phrases: Arc::new(HandoffPhrases::new(complaints)),
            reopen_to: conv.reopen_to,
            handoff_after_misses: misses_of(&default_assistant),
            agent_reply_takes_over: conv.agent_reply_takes_over,
            handoff_ack: None,
            csat: false,
            ai_follow_ups: None,
        };
        let by_id = settings
            .inboxes
            .iter()
            .map(|i| {
                let assistant = i.assistant.clone().unwrap_or(default_assistant.clone());
                let policy = Policy {
                    handoff_after_misses: misses_of(&assistant),
                    ..base_policy.clone()
                };
                (
                    InboxId::from(i.id.as_str()),
                    Arc::new(Inbox::new(i, assistant, &policy)),
                )
            })
            .collect();
        Inboxes {
            by_id,
            base_policy,
            default_assistant,
        }
    }

    pub fn get(&self, id: &(impl AsRef<str> + ?Sized)) -> Option<&Arc<Inbox>> {
        self.by_id.get(id.as_ref())
    }

    /// Every configured inbox, ordered by id.
    pub fn all(&self) -> Vec<Arc<Inbox>> {
        let mut all: Vec<Arc<Inbox>> = self.by_id.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The inbox of a stored conversation, even when it is no longer configured.
    pub fn for_conversation(&self, id: &InboxId) -> Arc<Inbox> {
        match self.by_id.get(id) {
            Some(inbox) => inbox.clone(),
            None => Arc::new(Inbox {
                id: id.clone(),
                channel: ChannelKind::Api,
                assistant: self.default_assistant.clone(),
                secret: Secret::new(""),
                policy: self.base_policy.clone(),
                windowed_policy: self.base_policy.clone(),
                configured: false,
                settings: InboxSettings::new(
                    id.as_str(),
                    Secret::new(""),
                    ChannelSettings::Api(ApiChannel::default()),
                ),
            }),
        }
    }
}

impl Inbox {
    fn new(s: &InboxSettings, assistant: AssistantId, base: &Policy) -> Inbox {
        let windows = match &s.channel {
            ChannelSettings::Api(api) => Windows {
                service: api
                    .window_hours
                    .map(|h| Duration::hours(i64::from(h.get()))),
                agent: None,
            },
            ChannelSettings::Whatsapp(_) => Windows::whatsapp(),
            // SMS has no window; Twilio's WhatsApp conversations use `windowed_policy`.
            ChannelSettings::Twilio(_) | ChannelSettings::Widget => Windows::default(),
            ChannelSettings::Meta(_) => Windows::messenger(),
        };
        let ack = &s.handoff_ack;
        let handoff_ack = ack.enabled.then(|| {
            Arc::new(HandoffAck {
                text: ack.text.clone(),
                // Checked when the settings were validated.
                hours: ack.business_hours.as_ref().and_then(|h| h.parse().ok()),
                out_of_hours_text: ack.out_of_hours_text.clone(),
            })
        });
        // The inbox's own switches, for its WhatsApp conversations too (Twilio).
        let base = &Policy {
            csat: s.csat,
            ai_follow_ups: s.follow_ups.enabled.then(|| AiFollowUpRules {
                max: i32::try_from(s.follow_ups.max).unwrap_or(i32::MAX),
                has_template: s.follow_ups.template.is_some(),
            }),
            ..base.clone()
        };
        Inbox {
            id: InboxId::from(s.id.as_str()),
            channel: s.kind(),
            assistant,
            secret: s.secret.clone(),
            policy: Policy {
                windows,
                handoff_ack: handoff_ack.clone(),
                ..base.clone()
            },
            windowed_policy: Policy {
                windows: Windows::whatsapp(),
                handoff_ack,
                ..base.clone()
            },
            configured: true,
            settings: s.clone(),
        }
    }

    /// The rules of a conversation of this inbox on `network` (as stored on the
    /// conversation): Twilio carries SMS (no window) and WhatsApp (24 hours).
    pub fn policy_for(&self, network: Option<Network>) -> &Policy {
        if self.channel == ChannelKind::Twilio && network == Some(Network::Whatsapp) {
            &self.windowed_policy
        } else {
            &self.policy
        }
    }

    /// Where an API inbox POSTs replies.
    pub fn callback_url(&self) -> Option<&HttpUrl> {
        match &self.settings.channel {
            ChannelSettings::Api(api) => api.callback_url.as_ref(),
            _ => None,
        }
    }

    /// Whether outbound messages of this inbox go anywhere: an API inbox needs a callback URL
    /// (the widget's visitors read replies on their socket); provider inboxes always send.
    pub fn sends(&self) -> bool {
        self.configured
            && match self.channel {
                ChannelKind::Api | ChannelKind::Widget => self.callback_url().is_some(),
                _ => true,
            }
    }

    /// The network every conversation of this inbox uses, when there is only one.
    pub fn fixed_network(&self) -> Option<Network> {
        match self.channel {
            ChannelKind::Whatsapp => Some(Network::Whatsapp),
            ChannelKind::Meta => Some(match &self.settings.channel {
                ChannelSettings::Meta(m) if m.platform == MetaPlatform::Instagram => {
                    Network::Instagram
                }
                _ => Network::Messenger,
            }),
            _ => None,
        }
    }
}
