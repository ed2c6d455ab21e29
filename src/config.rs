//! Settings: a TOML file, then environment overrides, validated once at start and passed down
//! explicitly (no globals, so tests build their own `Settings` in code).
//!
//! The file is named by `SWITCHBOARD_CONFIG`; without it `./switchboard.toml` is used when it
//! exists, else built-in defaults. Unknown keys are refused with a message naming them, so a
//! typo never silently falls back to a default.

use std::{
    collections::HashSet,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::domain::{
    hours::BusinessHours,
    types::{ChannelKind, Status},
};

/// A secret from configuration. Its `Debug` never shows the value, so it cannot reach logs.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub admin: AdminSettings,
    pub assistant: AssistantSettings,
    pub conversations: ConversationSettings,
    pub outbox: OutboxSettings,
    pub access: AccessSettings,
    pub realtime: RealtimeSettings,
    pub assignment: AssignmentSettings,
    #[serde(rename = "inbox")]
    pub inboxes: Vec<InboxSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address (`SWITCHBOARD_BIND`). Port 0 picks a free port.
    pub bind: String,
    /// Where the SQLite file and uploaded files live (`SWITCHBOARD_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://…` (`DATABASE_URL`); default `sqlite://<data_dir>/switchboard.db`.
    pub database_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Database connections for reads (writes go through one group-commit writer).
    pub db_pool_size: u32,
    /// How long a login token stays valid, in hours.
    pub token_ttl_hours: i64,
    /// Where providers reach this server from the internet (`https://inbox.example.com`):
    /// files agents attach are offered to WhatsApp, Twilio and Meta at
    /// `<public_url>/media/{message_id}?sig=…`. Without it only text can be sent.
    pub public_url: Option<String>,
    /// Largest file accepted from an agent or downloaded from a provider, in bytes.
    pub max_media_bytes: usize,
    /// Wrong passwords allowed per minute over all accounts and addresses; past it, logins
    /// from addresses that never logged in to the account wait for the next minute (see
    /// `login_throttle`).
    pub login_failures_per_minute: u32,
    /// Take the client's address from `X-Forwarded-For` / `Forwarded` (only behind a reverse
    /// proxy that sets them; otherwise anyone could pick their address). Used by the login
    /// throttle.
    pub trust_forwarded_for: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            max_body_bytes: 64 * 1024,
            workers: 0,
            db_pool_size: 8,
            token_ttl_hours: 24 * 7,
            public_url: None,
            max_media_bytes: 16 * 1024 * 1024,
            login_failures_per_minute: 600,
            trust_forwarded_for: false,
        }
    }
}

/// The first admin, created when the database has no agent yet.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// `SWITCHBOARD_ADMIN_EMAIL`.
    pub email: String,
    /// `SWITCHBOARD_ADMIN_PASSWORD`; when absent a random one is generated and printed once.
    pub password: Option<Secret>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            email: "admin@localhost".to_owned(),
            password: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantSettings {
    /// Knowledge base file (TOML); the built-in demo store when absent.
    pub knowledge_base: Option<PathBuf>,
    /// Pause before the assistant answers, in milliseconds (a human-like typing delay).
    pub reply_delay_ms: u64,
    /// Hand the conversation to a person after this many answers in a row that found nothing
    /// (0 = never).
    pub handoff_after_misses: i32,
}

impl Default for AssistantSettings {
    fn default() -> Self {
        AssistantSettings {
            knowledge_base: None,
            reply_delay_ms: 0,
            handoff_after_misses: 2,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConversationSettings {
    /// Replaces the built-in multilingual handoff list when set.
    pub handoff_phrases: Option<Vec<String>>,
    /// Added to the built-in (or replaced) list.
    pub extra_handoff_phrases: Vec<String>,
    /// Billing, fraud, damage and anger phrases that send a conversation in `bot` status to a
    /// person instead of the assistant. Replaces the built-in multilingual list when set
    /// (`[]` turns it off).
    pub complaint_phrases: Option<Vec<String>>,
    /// Added to the built-in (or replaced) complaint list.
    pub extra_complaint_phrases: Vec<String>,
    /// Status a closed conversation reopens to when the customer writes again.
    pub reopen_to: Status,
    /// An agent replying in `bot` status takes the conversation over.
    pub agent_reply_takes_over: bool,
    /// A conversation actor with nothing to do stops after this many seconds (its row is the truth).
    pub idle_actor_secs: u64,
    /// How often the database is scanned for follow-ups coming due, in seconds.
    pub timer_scan_secs: u64,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        ConversationSettings {
            handoff_phrases: None,
            extra_handoff_phrases: Vec::new(),
            complaint_phrases: None,
            extra_complaint_phrases: Vec::new(),
            reopen_to: Status::Bot,
            agent_reply_takes_over: true,
            idle_actor_secs: 300,
            timer_scan_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Delivery attempts before a message is marked failed.
    pub max_attempts: i32,
    /// First retry delay; doubled on each failure up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Timeout of one delivery request.
    pub request_timeout_ms: u64,
    /// How often due retries are looked for.
    pub poll_interval_ms: u64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            max_attempts: 10,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 5 * 60 * 1_000,
            request_timeout_ms: 10_000,
            poll_interval_ms: 500,
            concurrency: 32,
        }
    }
}

/// Who sees and answers what.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessSettings {
    /// What agents (not supervisors or admins) see.
    pub visibility: Visibility,
    /// Who may reply to an assigned conversation.
    pub reply_policy: ReplyPolicy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every agent sees every conversation.
    #[default]
    All,
    /// Agents see conversations assigned to them and unassigned ones.
    AssignedAndUnassigned,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyPolicy {
    /// Anyone who sees a conversation may reply.
    #[default]
    Anyone,
    /// Only the assignee replies to an assigned conversation (supervisors and admins always may).
    Assignee,
}

/// The agent websocket.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeSettings {
    /// Events kept for clients that reconnect (`resume`) or poll; older ones mean "reload".
    pub backlog_events: usize,
    /// Frames waiting for a slow client; when full the client is disconnected (it resumes).
    pub outbound_queue: usize,
    /// Seconds between pings.
    pub heartbeat_secs: u64,
    /// How often an open agent websocket checks that its login token still stands (revoked
    /// or expired elsewhere, role changed): the longest a socket outlives its access when it
    /// was not revoked through this server (a logout here closes it at once).
    pub token_recheck_secs: u64,
    /// A client silent this long (no pong, no frame) is dropped.
    pub client_timeout_secs: u64,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            backlog_events: 10_000,
            outbound_queue: 256,
            heartbeat_secs: 10,
            token_recheck_secs: 60,
            client_timeout_secs: 30,
        }
    }
}

/// Automatic assignment of conversations handed to a person.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssignmentSettings {
    /// Round robin over online agents when a conversation needs a person.
    pub auto: bool,
    /// Open conversations an agent may hold before being skipped.
    pub capacity: u32,
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        AssignmentSettings {
            auto: false,
            capacity: 10,
        }
    }
}

/// One `[[inbox]]`: where customer messages come from and replies go to.
///
/// Which keys an inbox needs depends on its channel (see `switchboard.toml` and the README):
/// - `api`: `secret` signs both ways; `callback_url` receives replies.
/// - `whatsapp` (Cloud API): `phone_number_id`, `access_token`, `verify_token`; `secret` is
///   the Meta app secret.
/// - `twilio` (SMS and WhatsApp through Twilio): `account_sid`, `from`, `public_url`;
///   `secret` is the Twilio auth token.
/// - `meta` (Messenger or Instagram): `platform`, `page_id`, `page_access_token`,
///   `verify_token`; `secret` is the Meta app secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxSettings {
    /// Appears in webhook URLs: `/webhooks/{channel}/{id}`.
    pub id: String,
    pub channel: ChannelKind,
    #[serde(default)]
    pub name: Option<String>,
    /// Signs inbound webhooks (`SWITCHBOARD_INBOX_<ID>_SECRET`): the API channel's shared
    /// secret, the Meta app secret, or the Twilio auth token.
    pub secret: Secret,
    /// Where replies are POSTed (API channel).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// A service window like WhatsApp's, for systems that relay such a channel.
    #[serde(default)]
    pub window_hours: Option<u32>,
    /// WhatsApp: the business number's id in the Cloud API (not the number itself).
    #[serde(default)]
    pub phone_number_id: Option<String>,
    /// WhatsApp: a system-user access token (`SWITCHBOARD_INBOX_<ID>_ACCESS_TOKEN`).
    #[serde(default)]
    pub access_token: Option<Secret>,
    /// WhatsApp, Messenger, Instagram: the token typed into Meta's webhook settings
    /// (`SWITCHBOARD_INBOX_<ID>_VERIFY_TOKEN`).
    #[serde(default)]
    pub verify_token: Option<Secret>,
    /// Twilio: the account SID (`AC…`).
    #[serde(default)]
    pub account_sid: Option<String>,
    /// Twilio: our number in E.164 (`+1…`; WhatsApp replies go from `whatsapp:+1…`), or a
    /// Messaging Service SID (`MG…`).
    #[serde(default)]
    pub from: Option<String>,
    /// Twilio: the exact webhook URL typed into Twilio's console; signatures are computed
    /// over it, and `<public_url>/status` receives the status callbacks.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Messenger / Instagram: the Facebook Page id, or the Instagram professional account id.
    #[serde(default)]
    pub page_id: Option<String>,
    /// Messenger / Instagram: the Page access token (`SWITCHBOARD_INBOX_<ID>_PAGE_ACCESS_TOKEN`).
    #[serde(default)]
    pub page_access_token: Option<Secret>,
    /// Meta inboxes: `messenger` or `instagram`.
    #[serde(default)]
    pub platform: Option<MetaPlatform>,
    /// The provider's API base URL; defaults to https://graph.facebook.com (WhatsApp, Meta)
    /// or https://api.twilio.com. Tests point it at a local stand-in.
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// Graph API version for WhatsApp and Meta (default `v25.0`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Outbound messages per second from this number (WhatsApp default 80).
    #[serde(default)]
    pub throughput_per_second: Option<u32>,
    /// Approved templates offered in the composer (WhatsApp, Twilio).
    #[serde(default)]
    pub templates: Vec<TemplateSettings>,
    /// Country calling code for numbers typed without one (`34` or `+34`).
    #[serde(default)]
    pub default_country_code: Option<String>,
    /// Twilio SMS: replace characters outside GSM-7 that have a plain look-alike (curly
    /// quotes, dashes, ellipsis…) before sending, so a reply is not billed as UCS-2 (what
    /// Twilio calls Smart Encoding). The thread shows what was sent.
    #[serde(default)]
    pub smart_encoding: bool,
    /// What the customer is told when the conversation goes to a person.
    #[serde(default)]
    pub handoff_ack: HandoffAckSettings,
}

/// The message a customer gets when their conversation goes to a person, so they know one is
/// coming (and when, outside business hours).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandoffAckSettings {
    pub enabled: bool,
    /// Sent within business hours (always, without them).
    pub text: String,
    /// When people answer; without it, people are assumed to be around.
    pub business_hours: Option<BusinessHoursSettings>,
    /// Sent outside business hours; `{hours}` becomes the hours ("Mon-Fri 09:00-18:00 (…)").
    pub out_of_hours_text: String,
}

impl Default for HandoffAckSettings {
    fn default() -> Self {
        HandoffAckSettings {
            enabled: true,
            text: "Thanks for your message. A person from our team will be with you shortly."
                .to_owned(),
            business_hours: None,
            out_of_hours_text: "Thanks for your message. Our team is away right now; \
                                we answer {hours}, and a person will reply as soon as we are back."
                .to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursSettings {
    /// IANA name: `Europe/Madrid`, `America/New_York`, `UTC`.
    pub timezone: String,
    /// `["mon-fri"]`, `["mon", "wed", "sat"]`…
    pub days: Vec<String>,
    /// `HH:MM`, local time.
    pub open: String,
    /// `HH:MM`; before `open` means past midnight.
    pub close: String,
}

impl BusinessHoursSettings {
    pub fn parse(&self) -> Result<BusinessHours, String> {
        BusinessHours::parse(&self.timezone, &self.days, &self.open, &self.close)
    }
}

/// Which Meta product a `meta` inbox speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaPlatform {
    Messenger,
    Instagram,
}

/// One approved message template, as registered with the provider.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSettings {
    /// The template's name at the provider (WhatsApp), or a label (Twilio).
    pub name: String,
    /// Language code as approved, e.g. `en_US`.
    pub language: String,
    /// The approved text with `{{1}}`, `{{2}}`… placeholders, shown in the thread.
    pub body: String,
    /// What each placeholder means, in order (shown to the agent filling them in).
    #[serde(default)]
    pub parameters: Vec<String>,
    /// Twilio: the Content Template SID (`HX…`) that sends this template.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sid: Option<String>,
}

impl TemplateSettings {
    /// The body with `{{n}}` replaced by the n-th parameter.
    pub fn render(&self, parameters: &[String]) -> String {
        let mut out = self.body.clone();
        // Highest first, so `{{1}}` never eats the start of `{{10}}`.
        for (i, p) in parameters.iter().enumerate().rev() {
            out = out.replace(&format!("{{{{{}}}}}", i + 1), p);
        }
        out
    }

    /// Refuses parameters that do not fill this template: one per placeholder, each 1-1024
    /// characters (what providers accept in a body parameter).
    pub fn check_parameters(&self, parameters: &[String]) -> Result<(), String> {
        const MAX_PARAMETER_CHARS: usize = 1024;
        if parameters.len() != self.parameters.len() {
            return Err(format!(
                "template `{}` takes {} parameters ({}); {} given",
                self.name,
                self.parameters.len(),
                self.parameters.join(", "),
                parameters.len()
            ));
        }
        if parameters
            .iter()
            .any(|p| p.trim().is_empty() || p.chars().count() > MAX_PARAMETER_CHARS)
        {
            return Err(format!(
                "each parameter must be 1-{MAX_PARAMETER_CHARS} characters"
            ));
        }
        Ok(())
    }

    /// How many `{{n}}` placeholders the body uses (the highest n).
    pub fn placeholder_count(&self) -> usize {
        let mut max = 0;
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            if let Some(end) = rest.find("}}") {
                if let Ok(n) = rest[..end].trim().parse::<usize>() {
                    max = max.max(n);
                }
                rest = &rest[end + 2..];
            }
        }
        max
    }
}

impl InboxSettings {
    /// An inbox with only the required keys; the channel's own keys are set afterwards.
    pub fn new(id: impl Into<String>, channel: ChannelKind, secret: Secret) -> InboxSettings {
        InboxSettings {
            id: id.into(),
            channel,
            name: None,
            secret,
            callback_url: None,
            window_hours: None,
            phone_number_id: None,
            access_token: None,
            verify_token: None,
            account_sid: None,
            from: None,
            public_url: None,
            page_id: None,
            page_access_token: None,
            platform: None,
            api_base_url: None,
            api_version: None,
            throughput_per_second: None,
            templates: Vec::new(),
            default_country_code: None,
            smart_encoding: false,
            handoff_ack: HandoffAckSettings::default(),
        }
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// The provider API's base URL, with the channel's default.
    pub fn api_base(&self) -> &str {
        match (&self.api_base_url, self.channel) {
            (Some(url), _) => url.trim_end_matches('/'),
            (None, ChannelKind::Twilio) => crate::channels::twilio::API_BASE_URL,
            (None, _) => crate::channels::meta::GRAPH_BASE_URL,
        }
    }

    /// The Graph API version (WhatsApp, Meta).
    pub fn graph_version(&self) -> &str {
        self.api_version
            .as_deref()
            .unwrap_or(crate::channels::meta::DEFAULT_GRAPH_VERSION)
    }

    /// Twilio: where status callbacks are asked to go, `<public_url>/status`.
    pub fn twilio_status_url(&self) -> String {
        format!(
            "{}/status",
            self.public_url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
        )
    }

    /// The template with this name and language.
    pub fn template(&self, name: &str, language: &str) -> Option<&TemplateSettings> {
        self.templates
            .iter()
            .find(|t| t.name == name && t.language == language)
    }

    /// Per-channel checks, each error naming its key (`key` prefixes the field name).
    fn validate_channel(&self, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        let need_str = |v: &Option<String>, field: &str| match v.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(()),
            _ => Err(invalid(
                key(field),
                format!("is required for a {} inbox", self.channel),
            )),
        };
        let need_secret = |v: &Option<Secret>, field: &str| match v {
            Some(s) if !s.expose().trim().is_empty() => Ok(()),
            _ => Err(invalid(
                key(field),
                format!("is required for a {} inbox", self.channel),
            )),
        };
        let refuse = |present: bool, field: &str| {
            if present {
                Err(invalid(
                    key(field),
                    format!("does not apply to a {} inbox", self.channel),
                ))
            } else {
                Ok(())
            }
        };
        let graph = matches!(self.channel, ChannelKind::Whatsapp | ChannelKind::Meta);
        let twilio = self.channel == ChannelKind::Twilio;
        let whatsapp = self.channel == ChannelKind::Whatsapp;
        let meta = self.channel == ChannelKind::Meta;
        refuse(
            self.phone_number_id.is_some() && !whatsapp,
            "phone_number_id",
        )?;
        refuse(self.access_token.is_some() && !whatsapp, "access_token")?;
        refuse(self.verify_token.is_some() && !graph, "verify_token")?;
        refuse(self.account_sid.is_some() && !twilio, "account_sid")?;
        refuse(self.from.is_some() && !twilio, "from")?;
        refuse(self.public_url.is_some() && !twilio, "public_url")?;
        refuse(self.page_id.is_some() && !meta, "page_id")?;
        refuse(
            self.page_access_token.is_some() && !meta,
            "page_access_token",
        )?;
        refuse(self.platform.is_some() && !meta, "platform")?;
        refuse(
            self.api_base_url.is_some() && self.channel == ChannelKind::Api,
            "api_base_url",
        )?;
        refuse(self.api_version.is_some() && !graph, "api_version")?;
        refuse(
            self.throughput_per_second.is_some() && self.channel == ChannelKind::Api,
            "throughput_per_second",
        )?;
        let has_templates = !self.templates.is_empty();
        refuse(has_templates && !whatsapp && !twilio, "templates")?;
        refuse(
            self.callback_url.is_some() && self.channel != ChannelKind::Api,
            "callback_url",
        )?;
        refuse(
            self.window_hours.is_some() && self.channel != ChannelKind::Api,
            "window_hours",
        )?;
        match self.channel {
            ChannelKind::Api => {}
            ChannelKind::Whatsapp => {
                need_str(&self.phone_number_id, "phone_number_id")?;
                need_secret(&self.access_token, "access_token")?;
                need_secret(&self.verify_token, "verify_token")?;
            }
            ChannelKind::Twilio => {
                need_str(&self.account_sid, "account_sid")?;
                need_str(&self.from, "from")?;
                need_str(&self.public_url, "public_url")?;
                let from = self.from.as_deref().unwrap_or_default().trim();
                let service = from.starts_with("MG");
                if !service && !crate::channels::phone::is_e164(from) {
                    return Err(invalid(
                        key("from"),
                        "must be a number in E.164 (+ and 8-15 digits) or a Messaging Service SID (MG…)",
                    ));
                }
                let url = self.public_url.as_deref().unwrap_or_default();
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| invalid(key("public_url"), format!("is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https")
                    || parsed.query().is_some()
                    || parsed.fragment().is_some()
                {
                    return Err(invalid(
                        key("public_url"),
                        "must be an http or https URL without a query (status callbacks go to <public_url>/status)",
                    ));
                }
            }
            ChannelKind::Meta => {
                if self.platform.is_none() {
                    return Err(invalid(
                        key("platform"),
                        "is required for a meta inbox (messenger or instagram)",
                    ));
                }
                need_str(&self.page_id, "page_id")?;
                need_secret(&self.page_access_token, "page_access_token")?;
                need_secret(&self.verify_token, "verify_token")?;
            }
            // Visitors talk to the server directly; the secret signs their tokens.
            ChannelKind::Widget => {}
        }
        if let Some(url) = &self.api_base_url {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| invalid(key("api_base_url"), format!("is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid(key("api_base_url"), "must be an http or https URL"));
            }
        }
        if let Some(v) = &self.api_version {
            let ok = v.strip_prefix('v').is_some_and(|n| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')
            });
            if !ok {
                return Err(invalid(key("api_version"), "must look like `v25.0`"));
            }
        }
        if self.throughput_per_second == Some(0) {
            return Err(invalid(key("throughput_per_second"), "must be at least 1"));
        }
        if let Some(cc) = &self.default_country_code {
            crate::channels::phone::to_e164("600000000", Some(cc)).map_err(|_| {
                invalid(
                    key("default_country_code"),
                    "must be a country calling code such as `34` or `+34`",
                )
            })?;
        }
        let mut seen = HashSet::new();
        for (t, tpl) in self.templates.iter().enumerate() {
            let tkey = |f: &str| key(&format!("templates[{t}].{f}"));
            if tpl.name.trim().is_empty() || tpl.name.len() > 512 {
                return Err(invalid(tkey("name"), "must be 1-512 characters"));
            }
            if tpl.language.trim().is_empty() || tpl.language.len() > 16 {
                return Err(invalid(
                    tkey("language"),
                    "must be a language code such as `en_US`",
                ));
            }
            if tpl.body.trim().is_empty() {
                return Err(invalid(tkey("body"), "must not be empty"));
            }
            if tpl.placeholder_count() != tpl.parameters.len() {
                return Err(invalid(
                    tkey("parameters"),
                    format!(
                        "names {} parameters but the body uses {{{{1}}}}..{{{{{}}}}}",
                        tpl.parameters.len(),
                        tpl.placeholder_count()
                    ),
                ));
            }
            if !seen.insert((tpl.name.as_str(), tpl.language.as_str())) {
                return Err(invalid(tkey("name"), "is listed twice for this language"));
            }
            match (twilio, &tpl.content_sid) {
                (true, None) => {
                    return Err(invalid(
                        tkey("content_sid"),
                        "is required for a twilio template (the HX… Content SID)",
                    ))
                }
                (false, Some(_)) => {
                    return Err(invalid(
                        tkey("content_sid"),
                        "applies to twilio templates only",
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config: `{key}` {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

impl Settings {
    /// File (from `SWITCHBOARD_CONFIG`, else `./switchboard.toml` if present), then environment
    /// overrides, then validation.
    pub fn load() -> Result<Settings, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut settings = match env("SWITCHBOARD_CONFIG") {
            Some(path) => Settings::from_file(Path::new(&path))?,
            None if Path::new("switchboard.toml").exists() => {
                Settings::from_file(Path::new("switchboard.toml"))?
            }
            None => Settings::default(),
        };
        settings.apply_env(env);
        settings.validate()?;
        Ok(settings)
    }

    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Settings::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    pub fn from_toml(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// Environment overrides, read through `env` so tests can pass their own.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        if let Some(v) = env("SWITCHBOARD_BIND") {
            self.server.bind = v;
        }
        if let Some(v) = env("DATABASE_URL") {
            self.server.database_url = Some(v);
        }
        if let Some(v) = env("SWITCHBOARD_DATA_DIR") {
            self.server.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("SWITCHBOARD_PUBLIC_URL") {
            self.server.public_url = Some(v);
        }
        if let Some(v) = env("SWITCHBOARD_ADMIN_EMAIL") {
            self.admin.email = v;
        }
        if let Some(v) = env("SWITCHBOARD_ADMIN_PASSWORD") {
            self.admin.password = Some(Secret::new(v));
        }
        if let Some(v) = env("SWITCHBOARD_KNOWLEDGE_BASE") {
            self.assistant.knowledge_base = Some(PathBuf::from(v));
        }
        for inbox in &mut self.inboxes {
            if let Some(v) = env(&inbox_secret_var(&inbox.id)) {
                inbox.secret = Secret::new(v);
            }
            if let Some(v) = env(&inbox_var(&inbox.id, "ACCESS_TOKEN")) {
                inbox.access_token = Some(Secret::new(v));
            }
            if let Some(v) = env(&inbox_var(&inbox.id, "VERIFY_TOKEN")) {
                inbox.verify_token = Some(Secret::new(v));
            }
            if let Some(v) = env(&inbox_var(&inbox.id, "PAGE_ACCESS_TOKEN")) {
                inbox.page_access_token = Some(Secret::new(v));
            }
        }
    }

    /// Checks that serde cannot express, each error naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .bind
            .parse::<SocketAddr>()
            .map_err(|e| invalid("server.bind", format!("is not an address: {e}")))?;
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if self.server.db_pool_size == 0 {
            return Err(invalid("server.db_pool_size", "must be at least 1"));
        }
        if self.server.token_ttl_hours <= 0 {
            return Err(invalid("server.token_ttl_hours", "must be positive"));
        }
        if let Some(url) = &self.server.public_url {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| invalid("server.public_url", format!("is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
                return Err(invalid(
                    "server.public_url",
                    "must be an http or https URL without a query",
                ));
            }
        }
        if self.server.max_media_bytes < 1024 {
            return Err(invalid("server.max_media_bytes", "must be at least 1024"));
        }
        if let Some(url) = &self.server.database_url {
            crate::db::Backend::from_url(url).map_err(|e| invalid("server.database_url", e))?;
        }
        if !self.admin.email.contains('@') {
            return Err(invalid("admin.email", "is not an email address"));
        }
        if self.assistant.handoff_after_misses < 0 {
            return Err(invalid(
                "assistant.handoff_after_misses",
                "must be 0 (never) or more",
            ));
        }
        if self.conversations.idle_actor_secs == 0 {
            return Err(invalid(
                "conversations.idle_actor_secs",
                "must be at least 1",
            ));
        }
        if self.conversations.timer_scan_secs == 0 {
            return Err(invalid(
                "conversations.timer_scan_secs",
                "must be at least 1",
            ));
        }
        if self.outbox.max_attempts < 1 {
            return Err(invalid("outbox.max_attempts", "must be at least 1"));
        }
        if self.outbox.concurrency == 0 {
            return Err(invalid("outbox.concurrency", "must be at least 1"));
        }
        if self.outbox.initial_backoff_ms == 0
            || self.outbox.max_backoff_ms < self.outbox.initial_backoff_ms
        {
            return Err(invalid(
                "outbox.initial_backoff_ms",
                "must be positive and not above outbox.max_backoff_ms",
            ));
        }
        if self.realtime.backlog_events < 100 {
            return Err(invalid("realtime.backlog_events", "must be at least 100"));
        }
        if self.realtime.outbound_queue < 8 {
            return Err(invalid("realtime.outbound_queue", "must be at least 8"));
        }
        if self.realtime.token_recheck_secs == 0 {
            return Err(invalid("realtime.token_recheck_secs", "must be at least 1"));
        }
        if self.realtime.heartbeat_secs == 0
            || self.realtime.client_timeout_secs <= self.realtime.heartbeat_secs
        {
            return Err(invalid(
                "realtime.client_timeout_secs",
                "must be longer than realtime.heartbeat_secs (both positive)",
            ));
        }
        if self.assignment.capacity == 0 {
            return Err(invalid("assignment.capacity", "must be at least 1"));
        }
        let mut seen = HashSet::new();
        for (i, inbox) in self.inboxes.iter().enumerate() {
            let key = |field: &str| format!("inbox[{i}].{field}");
            let id_ok = !inbox.id.is_empty()
                && inbox.id.len() <= 64
                && inbox
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                return Err(invalid(
                    key("id"),
                    "must be 1-64 letters, digits, '-' or '_'",
                ));
            }
            if !seen.insert(inbox.id.as_str()) {
                return Err(invalid(key("id"), format!("`{}` is used twice", inbox.id)));
            }
            if inbox.secret.expose().len() < 16 {
                return Err(invalid(key("secret"), "must be at least 16 characters"));
            }
            inbox.validate_channel(&key)?;
            if let Some(url) = &inbox.callback_url {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| invalid(key("callback_url"), format!("is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid(key("callback_url"), "must be an http or https URL"));
                }
            }
            if inbox.window_hours == Some(0) {
                return Err(invalid(key("window_hours"), "must be at least 1 when set"));
            }
            let ack = &inbox.handoff_ack;
            if let Some(hours) = &ack.business_hours {
                hours
                    .parse()
                    .map_err(|e| invalid(key("handoff_ack.business_hours"), e))?;
            }
            for (field, text) in [
                ("text", &ack.text),
                ("out_of_hours_text", &ack.out_of_hours_text),
            ] {
                if ack.enabled && (text.trim().is_empty() || text.chars().count() > 1000) {
                    return Err(invalid(
                        key(&format!("handoff_ack.{field}")),
                        "must be 1-1000 characters",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn inbox(&self, id: &str) -> Option<&InboxSettings> {
        self.inboxes.iter().find(|i| i.id == id)
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.server.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.server.data_dir.join("switchboard.db").display()
            ),
        }
    }
}

/// `SWITCHBOARD_INBOX_<ID>_SECRET`, the id upper-cased with `-` as `_`.
pub fn inbox_secret_var(id: &str) -> String {
    inbox_var(id, "SECRET")
}

/// `SWITCHBOARD_INBOX_<ID>_<NAME>`, the id upper-cased with `-` as `_`.
pub fn inbox_var(id: &str, name: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SWITCHBOARD_INBOX_{id}_{name}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [server]
        bind = "127.0.0.1:9000"
        [[inbox]]
        id = "support"
        channel = "api"
        secret = "0123456789abcdef"
        callback_url = "http://127.0.0.1:9999/cb"
        window_hours = 24
    "#;

    #[test]
    fn a_good_file_loads_and_validates() {
        let s = Settings::from_toml(GOOD).unwrap();
        s.validate().unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:9000");
        assert_eq!(s.inboxes[0].window_hours, Some(24));
        assert_eq!(
            s.inbox("support").map(|i| i.channel),
            Some(ChannelKind::Api)
        );
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let s = Settings::from_toml(include_str!("../switchboard.toml")).unwrap();
        s.validate().unwrap();
        assert!(!s.inboxes.is_empty());
    }

    #[test]
    fn the_shipped_channel_examples_are_valid_once_uncommented() {
        let text = include_str!("../switchboard.toml");
        let (_, examples) = text.split_once("---- Real channels").unwrap();
        let uncommented: String = examples
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("# ")?;
                let key = rest.split(" = ").next().unwrap_or_default();
                let is_toml = rest.starts_with("[[")
                    || (rest.contains(" = ")
                        && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
                is_toml.then(|| format!("{rest}\n"))
            })
            .collect();
        let s = Settings::from_toml(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        s.validate().unwrap();
        let channels: Vec<ChannelKind> = s.inboxes.iter().map(|i| i.channel).collect();
        assert_eq!(
            channels,
            [
                ChannelKind::Whatsapp,
                ChannelKind::Twilio,
                ChannelKind::Meta
            ]
        );
    }

    #[test]
    fn the_shipped_handoff_acknowledgement_example_is_valid_once_uncommented() {
        let text = include_str!("../switchboard.toml");
        let (_, from) = text.split_once("# [inbox.handoff_ack]").unwrap();
        let block: String = std::iter::once("[inbox.handoff_ack]\n".to_owned())
            .chain(
                from.lines()
                    .skip(1)
                    .take_while(|l| l.starts_with("# "))
                    .map(|l| format!("{}\n", &l[2..])),
            )
            .collect();
        let toml = format!(
            "[[inbox]]\nid = \"a\"\nchannel = \"api\"\nsecret = \"0123456789abcdef\"\n{block}"
        );
        let s = Settings::from_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        s.validate().unwrap();
        let hours = s.inboxes[0].handoff_ack.business_hours.as_ref().unwrap();
        assert_eq!(
            hours.parse().unwrap().describe(),
            "Mon-Fri 09:00-18:00 (Europe/Madrid)"
        );
        let bad = toml.replace("Europe/Madrid", "Mars/Base");
        let err = Settings::from_toml(&bad)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("handoff_ack.business_hours"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Settings::from_toml("[server]\nbnd = \"x\"\n").unwrap_err();
        assert!(err.contains("bnd"), "{err}");
        let err = Settings::from_toml(
            "[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ncalback_url=\"x\"\n",
        )
        .unwrap_err();
        assert!(err.contains("calback_url"), "{err}");
        let err = Settings::from_toml(
            "[[inbox]]\nid=\"a\"\nchannel=\"fax\"\nsecret=\"0123456789abcdef\"\n",
        )
        .unwrap_err();
        assert!(err.contains("fax"), "{err}");
    }

    #[test]
    fn validation_names_the_bad_key() {
        let cases = [
            ("[server]\nbind = \"nope\"", "server.bind"),
            ("[[inbox]]\nid=\"a b\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"", "inbox[0].id"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"short\"", "inbox[0].secret"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ncallback_url=\"ftp://x\"", "inbox[0].callback_url"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\n[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"", "inbox[1].id"),
            ("[server]\ndatabase_url = \"mysql://x\"", "server.database_url"),
            ("[outbox]\nmax_attempts = 0", "outbox.max_attempts"),
        ];
        for (text, key) in cases {
            let err = Settings::from_toml(text)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("`{key}`")), "{text} -> {err}");
        }
    }

    const WHATSAPP: &str = r#"
        [[inbox]]
        id = "wa"
        channel = "whatsapp"
        secret = "0123456789abcdef0123456789abcdef"
        phone_number_id = "106540352242922"
        access_token = "EAAG-token"
        verify_token = "verify-me"
        api_base_url = "http://127.0.0.1:9/"
        throughput_per_second = 20
        default_country_code = "34"
        [[inbox.templates]]
        name = "order_update"
        language = "en_US"
        body = "Your order {{1}} ships on {{2}}."
        parameters = ["order number", "date"]
    "#;

    const TWILIO: &str = r#"
        [[inbox]]
        id = "sms"
        channel = "twilio"
        secret = "0123456789abcdef0123456789abcdef"
        account_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
        from = "+14155550100"
        public_url = "https://inbox.example.com/webhooks/twilio/sms"
        [[inbox.templates]]
        name = "appointment"
        language = "en"
        body = "Your appointment is on {{1}}."
        parameters = ["date"]
        content_sid = "HXb5b62575e6e4ff6129ad7c8efe1f983e"
    "#;

    const META: &str = r#"
        [[inbox]]
        id = "fb"
        channel = "meta"
        platform = "messenger"
        secret = "0123456789abcdef0123456789abcdef"
        page_id = "1234567890"
        page_access_token = "EAAB-page-token"
        verify_token = "verify-me"
    "#;

    #[test]
    fn every_channel_loads_with_its_keys() {
        for text in [WHATSAPP, TWILIO, META] {
            let s = Settings::from_toml(text).unwrap();
            s.validate().unwrap();
        }
        let wa = Settings::from_toml(WHATSAPP).unwrap();
        let inbox = &wa.inboxes[0];
        assert_eq!(inbox.api_base(), "http://127.0.0.1:9");
        assert_eq!(inbox.graph_version(), "v25.0");
        let t = inbox.template("order_update", "en_US").unwrap();
        assert_eq!(t.placeholder_count(), 2);
        assert_eq!(
            t.render(&["#42".into(), "Monday".into()]),
            "Your order #42 ships on Monday."
        );
        assert!(inbox.template("order_update", "es").is_none());
        let tw = Settings::from_toml(TWILIO).unwrap();
        assert_eq!(tw.inboxes[0].api_base(), "https://api.twilio.com");
        let meta = Settings::from_toml(META).unwrap();
        assert_eq!(meta.inboxes[0].platform, Some(MetaPlatform::Messenger));
        assert_eq!(meta.inboxes[0].api_base(), "https://graph.facebook.com");
    }

    #[test]
    fn channel_keys_are_required_and_named() {
        let without = |text: &str, line: &str| text.replace(line, "");
        let cases = [
            (without(WHATSAPP, "phone_number_id = \"106540352242922\""), "inbox[0].phone_number_id"),
            (without(WHATSAPP, "access_token = \"EAAG-token\""), "inbox[0].access_token"),
            (without(WHATSAPP, "verify_token = \"verify-me\""), "inbox[0].verify_token"),
            (WHATSAPP.replace("api_base_url = \"http://127.0.0.1:9/\"", "api_base_url = \"ftp://x\""), "inbox[0].api_base_url"),
            (WHATSAPP.replace("throughput_per_second = 20", "throughput_per_second = 0"), "inbox[0].throughput_per_second"),
            (WHATSAPP.replace("default_country_code = \"34\"", "default_country_code = \"abc\""), "inbox[0].default_country_code"),
            (WHATSAPP.replace("parameters = [\"order number\", \"date\"]", "parameters = [\"order number\"]"), "inbox[0].templates[0].parameters"),
            (WHATSAPP.replace("id = \"wa\"", "id = \"wa\"\ncallback_url = \"http://x\""), "inbox[0].callback_url"),
            (without(TWILIO, "account_sid = \"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\""), "inbox[0].account_sid"),
            (without(TWILIO, "from = \"+14155550100\""), "inbox[0].from"),
            (TWILIO.replace("from = \"+14155550100\"", "from = \"4155550100\""), "inbox[0].from"),
            (without(TWILIO, "public_url = \"https://inbox.example.com/webhooks/twilio/sms\""), "inbox[0].public_url"),
            (TWILIO.replace("/webhooks/twilio/sms\"", "/webhooks/twilio/sms?x=1\""), "inbox[0].public_url"),
            (without(TWILIO, "content_sid = \"HXb5b62575e6e4ff6129ad7c8efe1f983e\""), "inbox[0].templates[0].content_sid"),
            (without(META, "platform = \"messenger\""), "inbox[0].platform"),
            (without(META, "page_id = \"1234567890\""), "inbox[0].page_id"),
            (without(META, "page_access_token = \"EAAB-page-token\""), "inbox[0].page_access_token"),
            (format!("{META}\nphone_number_id = \"1\""), "inbox[0].phone_number_id"),
            ("[[inbox]]\nid=\"w\"\nchannel=\"widget\"\nsecret=\"0123456789abcdef\"\ncallback_url=\"http://x\"".to_owned(), "inbox[0].callback_url"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ntemplates=[{name=\"x\",language=\"en\",body=\"hi\"}]".to_owned(), "inbox[0].templates"),
            ("[server]\npublic_url = \"not a url\"".to_owned(), "server.public_url"),
        ];
        for (text, key) in cases {
            let err = Settings::from_toml(&text)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("`{key}`")), "{text} -> {err}");
        }
        let err = Settings::from_toml(&format!("{META}\nplatform2 = 1")).unwrap_err();
        assert!(err.contains("platform2"), "{err}");
    }

    #[test]
    fn channel_tokens_come_from_the_environment_and_stay_secret() {
        let mut s = Settings::from_toml(WHATSAPP).unwrap();
        s.apply_env(|k| match k {
            "SWITCHBOARD_INBOX_WA_ACCESS_TOKEN" => Some("token-from-env".into()),
            "SWITCHBOARD_INBOX_WA_VERIFY_TOKEN" => Some("verify-from-env".into()),
            _ => None,
        });
        let inbox = &s.inboxes[0];
        assert_eq!(
            inbox.access_token.as_ref().unwrap().expose(),
            "token-from-env"
        );
        assert_eq!(
            inbox.verify_token.as_ref().unwrap().expose(),
            "verify-from-env"
        );
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("token-from-env") && !dbg.contains("EAAG"),
            "{dbg}"
        );
        let meta = Settings::from_toml(META).unwrap();
        assert!(!format!("{meta:?}").contains("EAAB-page-token"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut s = Settings::from_toml(GOOD).unwrap();
        s.apply_env(|k| match k {
            "SWITCHBOARD_BIND" => Some("0.0.0.0:1234".into()),
            "DATABASE_URL" => Some("postgres://db/x".into()),
            "SWITCHBOARD_INBOX_SUPPORT_SECRET" => Some("from-the-environment".into()),
            _ => None,
        });
        assert_eq!(s.server.bind, "0.0.0.0:1234");
        assert_eq!(s.database_url(), "postgres://db/x");
        assert_eq!(s.inboxes[0].secret.expose(), "from-the-environment");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Settings::from_toml(GOOD).unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn default_database_is_sqlite_under_data() {
        assert_eq!(
            Settings::default().database_url(),
            "sqlite://data/switchboard.db"
        );
        assert_eq!(
            inbox_secret_var("eu-support"),
            "SWITCHBOARD_INBOX_EU_SUPPORT_SECRET"
        );
    }
}
