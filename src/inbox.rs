//! Configured inboxes with their conversation rules built once at start.

use std::{collections::HashMap, sync::Arc};

use chrono::Duration;

use crate::{
    config::{
        ApiChannel, ChannelSettings, HandoffAckSettings, HttpUrl, InboxSettings, MetaPlatform,
        Secret, Settings,
    },
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
    /// The same rules for contacts of a language with its own handoff acknowledgement (built
    /// in, or in `[inbox.handoff_ack.languages]`), by primary tag: (`policy`,
    /// `windowed_policy`) with that language's texts.
    by_language: HashMap<String, (Policy, Policy)>,
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

/// The primary subtag of a language tag, as the per-language texts are keyed: `pt-BR` → `pt`.
/// Tags are stored in canonical case (lower-case primary subtag).
pub fn primary_language(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
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
                by_language: HashMap::new(),
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
        // Checked when the settings were validated.
        let hours = ack.business_hours.as_ref().and_then(|h| h.parse().ok());
        let handoff_ack = ack.enabled.then(|| {
            Arc::new(HandoffAck {
                text: ack.text.clone(),
                hours: hours.clone(),
                out_of_hours_text: ack.out_of_hours_text.clone(),
            })
        });
        // Each language with texts of its own: the configured ones, else the built-in ones,
        // else the inbox's default.
        let mut languages: Vec<&str> = vec!["es", "pt", "hi"];
        languages.extend(ack.languages.keys().map(String::as_str));
        let localized_acks: Vec<(String, Arc<HandoffAck>)> = match ack.enabled {
            false => Vec::new(),
            true => languages
                .into_iter()
                .map(|lang| {
                    let own = ack.languages.get(lang);
                    let built_in = HandoffAckSettings::built_in(lang);
                    let text = own
                        .and_then(|t| t.text.clone())
                        .or(built_in.map(|b| b.0.to_owned()))
                        .unwrap_or_else(|| ack.text.clone());
                    let out_of_hours_text = own
                        .and_then(|t| t.out_of_hours_text.clone())
                        .or(built_in.map(|b| b.1.to_owned()))
                        .unwrap_or_else(|| ack.out_of_hours_text.clone());
                    let localized = HandoffAck {
                        text,
                        hours: hours.clone(),
                        out_of_hours_text,
                    };
                    (lang.to_owned(), Arc::new(localized))
                })
                .collect(),
        };
        // The inbox's own switches, for its WhatsApp conversations too (Twilio).
        let base = &Policy {
            csat: s.csat,
            ai_follow_ups: s.follow_ups.enabled.then(|| AiFollowUpRules {
                max: i32::try_from(s.follow_ups.max).unwrap_or(i32::MAX),
                has_template: s.follow_ups.template.is_some(),
            }),
            ..base.clone()
        };
        let policies = |handoff_ack: Option<Arc<HandoffAck>>| {
            let policy = Policy {
                windows,
                handoff_ack: handoff_ack.clone(),
                ..base.clone()
            };
            let windowed = Policy {
                windows: Windows::whatsapp(),
                handoff_ack,
                ..base.clone()
            };
            (policy, windowed)
        };
        let (policy, windowed_policy) = policies(handoff_ack);
        let by_language = localized_acks
            .into_iter()
            .map(|(lang, ack)| (lang, policies(Some(ack))))
            .collect();
        Inbox {
            id: InboxId::from(s.id.as_str()),
            channel: s.kind(),
            assistant,
            secret: s.secret.clone(),
            policy,
            windowed_policy,
            by_language,
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

    /// The rules of a conversation on `network` with a contact of `language` (a BCP 47 tag
    /// as stored on the contact): [`Inbox::policy_for`], with the handoff acknowledgement in
    /// that language when the inbox has one (the default text otherwise).
    pub fn policy_in(&self, network: Option<Network>, language: Option<&str>) -> &Policy {
        let windowed = self.channel == ChannelKind::Twilio && network == Some(Network::Whatsapp);
        match language.and_then(|l| self.by_language.get(primary_language(l))) {
            Some((_, windowed_policy)) if windowed => windowed_policy,
            Some((policy, _)) => policy,
            None => self.policy_for(network),
        }
    }

    /// The inbox's own satisfaction question for a contact of `language`, if it set one
    /// (`csat_question`): the one of that language; for a language without a built-in
    /// question, the `en` one. `None`: the built-in question.
    pub fn csat_question(&self, language: Option<&str>) -> Option<&str> {
        let table = &self.settings.csat_question;
        let lang = language.map(primary_language).unwrap_or("en");
        let built_in = matches!(lang, "en" | "es" | "pt" | "hi");
        table
            .get(lang)
            .or_else(|| table.get("en").filter(|_| !built_in))
            .map(String::as_str)
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
