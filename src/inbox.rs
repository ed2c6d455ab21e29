//! Configured inboxes with their conversation rules built once at start.

use std::{collections::HashMap, sync::Arc};

use chrono::Duration;

use crate::{
    config::{InboxSettings, Secret, Settings},
    domain::{conversation::Policy, handoff::HandoffPhrases, types::ChannelKind},
};

/// One inbox as the running server uses it.
#[derive(Debug)]
pub struct Inbox {
    pub id: String,
    pub channel: ChannelKind,
    pub secret: Secret,
    pub callback_url: Option<String>,
    pub policy: Policy,
    /// False for conversations whose inbox was removed from the configuration: their history
    /// stays readable, but nothing can be sent.
    pub configured: bool,
}

/// Every inbox, by id.
#[derive(Debug)]
pub struct Inboxes {
    by_id: HashMap<String, Arc<Inbox>>,
    base_policy: Policy,
}

impl Inboxes {
    pub fn from_settings(settings: &Settings) -> Inboxes {
        let conv = &settings.conversations;
        let mut phrases: Vec<String> = match &conv.handoff_phrases {
            Some(list) => list.clone(),
            None => HandoffPhrases::default_list()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        phrases.extend(conv.extra_handoff_phrases.iter().cloned());
        let misses = settings.assistant.handoff_after_misses;
        let base_policy = Policy {
            service_window: None,
            handoff_phrases: Arc::new(HandoffPhrases::new(phrases)),
            reopen_to: conv.reopen_to,
            handoff_after_misses: (misses > 0).then_some(misses),
            agent_reply_takes_over: conv.agent_reply_takes_over,
        };
        let by_id = settings
            .inboxes
            .iter()
            .map(|i| (i.id.clone(), Arc::new(Inbox::new(i, &base_policy))))
            .collect();
        Inboxes { by_id, base_policy }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Inbox>> {
        self.by_id.get(id)
    }

    /// The inbox of a stored conversation, even when it is no longer configured.
    pub fn for_conversation(&self, id: &str) -> Arc<Inbox> {
        match self.by_id.get(id) {
            Some(inbox) => inbox.clone(),
            None => Arc::new(Inbox {
                id: id.to_owned(),
                channel: ChannelKind::Api,
                secret: Secret::new(""),
                callback_url: None,
                policy: self.base_policy.clone(),
                configured: false,
            }),
        }
    }
}

impl Inbox {
    fn new(s: &InboxSettings, base: &Policy) -> Inbox {
        Inbox {
            id: s.id.clone(),
            channel: s.channel,
            secret: s.secret.clone(),
            callback_url: s.callback_url.clone(),
            policy: Policy {
                service_window: s.window_hours.map(|h| Duration::hours(i64::from(h))),
                ..base.clone()
            },
            configured: true,
        }
    }
}
