//! Settings: a TOML file, then environment overrides, validated once at start and passed down
//! explicitly (no globals, so tests build their own `Settings` in code).
//!
//! The file is named by `SWITCHBOARD_CONFIG`; without it `./switchboard.toml` is used when it
//! exists, else built-in defaults. Unknown keys are refused with a message naming them, so a
//! typo never silently falls back to a default.

mod inbox;
mod values;

use std::{collections::HashSet, net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::domain::types::Status;

pub use inbox::{
    ApiChannel, BusinessHoursSettings, ChannelSettings, HandoffAckSettings, InboxSettings,
    MetaChannel, MetaPlatform, TemplateSettings, TwilioChannel, TwilioFrom, WhatsappChannel,
};
pub use values::{CountryCode, GraphVersion, HttpUrl, NonBlank, Secret, WebhookUrl};

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
    /// The `[[inbox]]` tables, read one by one ([`InboxSettings::parse`]) so an error names
    /// the inbox.
    #[serde(skip)]
    pub inboxes: Vec<InboxSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address (`SWITCHBOARD_BIND`). Port 0 picks a free port.
    pub bind: SocketAddr,
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
    pub public_url: Option<WebhookUrl>,
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
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
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

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("not valid TOML: {0}")]
    Syntax(String),
    #[error("invalid config: `{key}` {problem}")]
    Invalid { key: String, problem: String },
}

/// What a value error says, without the `in `key`` lines the TOML reader appends (the key
/// is named by the caller).
fn first_line(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or_default().trim().to_owned()
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Environment variables that override a key of the file: (variable, section, key).
const ENV_KEYS: &[(&str, &str, &str)] = &[
    ("SWITCHBOARD_BIND", "server", "bind"),
    ("DATABASE_URL", "server", "database_url"),
    ("SWITCHBOARD_DATA_DIR", "server", "data_dir"),
    ("SWITCHBOARD_PUBLIC_URL", "server", "public_url"),
    ("SWITCHBOARD_ADMIN_EMAIL", "admin", "email"),
    ("SWITCHBOARD_ADMIN_PASSWORD", "admin", "password"),
    ("SWITCHBOARD_KNOWLEDGE_BASE", "assistant", "knowledge_base"),
];

/// Per-inbox keys that may come from the environment (`SWITCHBOARD_INBOX_<ID>_<NAME>`), so
/// secrets need not sit in the file.
const INBOX_ENV_KEYS: &[(&str, &str)] = &[
    ("SECRET", "secret"),
    ("ACCESS_TOKEN", "access_token"),
    ("VERIFY_TOKEN", "verify_token"),
    ("PAGE_ACCESS_TOKEN", "page_access_token"),
];

impl Settings {
    /// File (from `SWITCHBOARD_CONFIG`, else `./switchboard.toml` if present), then environment
    /// overrides, then the checks.
    pub fn load() -> anyhow::Result<Settings> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = match env("SWITCHBOARD_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(PathBuf::from("switchboard.toml")).filter(|p| p.exists()),
        };
        let Some(path) = path else {
            return Ok(Settings::parse("", env)?);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Settings::parse(&text, env).with_context(|| format!("in config file {}", path.display()))
    }

    /// The file's text with the environment's overrides (read through `env`, so tests pass
    /// their own), typed and checked.
    pub fn parse(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::Syntax(e.to_string().trim_end().to_owned())
        })?;
        apply_env(&mut table, env);
        let settings = Settings::from_table(table)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The file's text alone, typed but without the range checks of [`Settings::validate`].
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::Syntax(e.to_string().trim_end().to_owned())
        })?;
        Settings::from_table(table)
    }

    fn from_table(mut table: toml::Table) -> Result<Settings, ConfigError> {
        let inboxes = table.remove("inbox");
        let mut settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let path = e.path().to_string();
                invalid(path, first_line(e.inner()))
            })?;
        settings.inboxes = match inboxes {
            None => Vec::new(),
            Some(toml::Value::Array(list)) => list
                .into_iter()
                .enumerate()
                .map(|(i, v)| InboxSettings::parse(i, v))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("inbox", "must be written as [[inbox]] tables")),
        };
        Ok(settings)
    }

    /// The checks types cannot express (ranges, one value against another, uniqueness),
    /// each error naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if self.server.db_pool_size == 0 {
            return Err(invalid("server.db_pool_size", "must be at least 1"));
        }
        if self.server.token_ttl_hours <= 0 {
            return Err(invalid("server.token_ttl_hours", "must be positive"));
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

/// Writes the environment's overrides into the file's table before it is typed, so a value
/// from the environment is parsed and checked like one from the file.
fn apply_env(table: &mut toml::Table, env: impl Fn(&str) -> Option<String>) {
    for (var, section, key) in ENV_KEYS {
        if let Some(v) = env(var) {
            let section = table
                .entry(*section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(section) = section {
                section.insert((*key).to_owned(), toml::Value::String(v));
            }
        }
    }
    let Some(toml::Value::Array(inboxes)) = table.get_mut("inbox") else {
        return;
    };
    for inbox in inboxes {
        let toml::Value::Table(inbox) = inbox else {
            continue;
        };
        let Some(id) = inbox
            .get("id")
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        for (name, key) in INBOX_ENV_KEYS {
            if let Some(v) = env(&inbox_var(&id, name)) {
                inbox.insert((*key).to_owned(), toml::Value::String(v));
            }
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
    use crate::domain::types::ChannelKind;

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

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn load(text: &str) -> Settings {
        Settings::parse(text, no_env).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn refused(text: &str) -> String {
        match Settings::parse(text, no_env) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_good_file_loads_typed() {
        let s = load(GOOD);
        assert_eq!(s.server.bind, "127.0.0.1:9000".parse().unwrap());
        let ChannelSettings::Api(api) = &s.inboxes[0].channel else {
            panic!("not an api inbox")
        };
        assert_eq!(api.window_hours.map(|h| h.get()), Some(24));
        assert_eq!(
            api.callback_url.as_ref().map(HttpUrl::as_str),
            Some("http://127.0.0.1:9999/cb")
        );
        assert_eq!(
            s.inbox("support").map(InboxSettings::kind),
            Some(ChannelKind::Api)
        );
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let s = load(include_str!("../../switchboard.toml"));
        assert!(!s.inboxes.is_empty());
    }

    #[test]
    fn the_shipped_channel_examples_are_valid_once_uncommented() {
        let text = include_str!("../../switchboard.toml");
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
        let s = load(&uncommented);
        let channels: Vec<ChannelKind> = s.inboxes.iter().map(InboxSettings::kind).collect();
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
        let text = include_str!("../../switchboard.toml");
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
        let s = load(&toml);
        let hours = s.inboxes[0].handoff_ack.business_hours.as_ref().unwrap();
        assert_eq!(
            hours.parse().unwrap().describe(),
            "Mon-Fri 09:00-18:00 (Europe/Madrid)"
        );
        let err = refused(&toml.replace("Europe/Madrid", "Mars/Base"));
        assert!(err.contains("handoff_ack.business_hours"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = refused("[server]\nbnd = \"x\"\n");
        assert!(err.contains("bnd"), "{err}");
        let err = refused(
            "[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ncalback_url=\"x\"\n",
        );
        assert!(err.contains("`inbox[0].calback_url`"), "{err}");
        assert!(err.contains("inbox `a`"), "{err}");
        let err = refused("[[inbox]]\nid=\"a\"\nchannel=\"fax\"\nsecret=\"0123456789abcdef\"\n");
        assert!(
            err.contains("fax") && err.contains("inbox[0].channel"),
            "{err}"
        );
        let err = refused("[[inbox]]\nid=\"a\"\nsecret=\"0123456789abcdef\"\n");
        assert!(err.contains("`inbox[0].channel` is required"), "{err}");
        let err = refused("inbox = 3");
        assert!(err.contains("[[inbox]]"), "{err}");
        assert!(refused("[server\n").contains("TOML"));
    }

    #[test]
    fn checks_name_the_bad_key() {
        let cases = [
            ("[server]\nbind = \"nope\"", "server.bind"),
            ("[server]\npublic_url = \"not a url\"", "server.public_url"),
            ("[server]\npublic_url = \"https://x.example/?a=1\"", "server.public_url"),
            ("[[inbox]]\nid=\"a b\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"", "inbox[0].id"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"short\"", "inbox[0].secret"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ncallback_url=\"ftp://x\"", "inbox[0].callback_url"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\nwindow_hours=0", "inbox[0].window_hours"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\n[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"", "inbox[1].id"),
            ("[server]\ndatabase_url = \"mysql://x\"", "server.database_url"),
            ("[outbox]\nmax_attempts = 0", "outbox.max_attempts"),
        ];
        for (text, key) in cases {
            let err = refused(text);
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
        let wa = load(WHATSAPP);
        let inbox = &wa.inboxes[0];
        let ChannelSettings::Whatsapp(w) = &inbox.channel else {
            panic!("not whatsapp")
        };
        assert_eq!(w.api_base(), "http://127.0.0.1:9");
        assert_eq!(w.graph_version(), "v25.0");
        assert_eq!(w.phone_number_id.as_str(), "106540352242922");
        assert_eq!(inbox.throughput_per_second(), Some(20));
        assert_eq!(inbox.default_country_code(), Some("34"));
        let t = inbox.template("order_update", "en_US").unwrap();
        assert_eq!(t.placeholder_count(), 2);
        assert_eq!(
            t.render(&["#42".into(), "Monday".into()]),
            "Your order #42 ships on Monday."
        );
        assert!(inbox.template("order_update", "es").is_none());
        let tw = load(TWILIO);
        let ChannelSettings::Twilio(t) = &tw.inboxes[0].channel else {
            panic!("not twilio")
        };
        assert_eq!(t.api_base(), "https://api.twilio.com");
        assert_eq!(t.from, TwilioFrom::Number("+14155550100".into()));
        assert_eq!(
            t.status_url(),
            "https://inbox.example.com/webhooks/twilio/sms/status"
        );
        let service = load(&TWILIO.replace("+14155550100", "MG0123"));
        let ChannelSettings::Twilio(t) = &service.inboxes[0].channel else {
            panic!("not twilio")
        };
        assert_eq!(t.from, TwilioFrom::MessagingService("MG0123".into()));
        let meta = load(META);
        let ChannelSettings::Meta(m) = &meta.inboxes[0].channel else {
            panic!("not meta")
        };
        assert_eq!(m.platform, MetaPlatform::Messenger);
        assert_eq!(m.api_base(), "https://graph.facebook.com");
        assert_eq!(
            meta.inboxes[0].verify_token().map(Secret::expose),
            Some("verify-me")
        );
    }

    #[test]
    fn channel_keys_are_required_and_named() {
        let without = |text: &str, line: &str| text.replace(line, "");
        let cases = [
            (without(WHATSAPP, "phone_number_id = \"106540352242922\""), "inbox[0].phone_number_id"),
            (without(WHATSAPP, "access_token = \"EAAG-token\""), "inbox[0].access_token"),
            (WHATSAPP.replace("access_token = \"EAAG-token\"", "access_token = \" \""), "inbox[0].access_token"),
            (without(WHATSAPP, "verify_token = \"verify-me\""), "inbox[0].verify_token"),
            (WHATSAPP.replace("api_base_url = \"http://127.0.0.1:9/\"", "api_base_url = \"ftp://x\""), "inbox[0].api_base_url"),
            (WHATSAPP.replace("api_base_url = \"http://127.0.0.1:9/\"", "api_version = \"25\""), "inbox[0].api_version"),
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
            (format!("{META}\nsmart_encoding = true"), "inbox[0].smart_encoding"),
            ("[[inbox]]\nid=\"w\"\nchannel=\"widget\"\nsecret=\"0123456789abcdef\"\ncallback_url=\"http://x\"".to_owned(), "inbox[0].callback_url"),
            ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ntemplates=[{name=\"x\",language=\"en\",body=\"hi\"}]".to_owned(), "inbox[0].templates"),
        ];
        for (text, key) in cases {
            let err = refused(&text);
            assert!(err.contains(&format!("`{key}`")), "{text} -> {err}");
        }
        // The message says which inbox, and what is wrong.
        let err = refused(&without(WHATSAPP, "phone_number_id = \"106540352242922\""));
        assert!(
            err.contains("is required for a whatsapp inbox `wa`"),
            "{err}"
        );
        let err = refused(&format!("{META}\nphone_number_id = \"1\""));
        assert!(err.contains("does not apply to a meta inbox `fb`"), "{err}");
    }

    #[test]
    fn channel_tokens_come_from_the_environment_and_stay_secret() {
        // Tokens left out of the file entirely, supplied by the environment.
        let text = WHATSAPP
            .replace("access_token = \"EAAG-token\"", "")
            .replace("verify_token = \"verify-me\"", "");
        let s = Settings::parse(&text, |k| match k {
            "SWITCHBOARD_INBOX_WA_ACCESS_TOKEN" => Some("token-from-env".into()),
            "SWITCHBOARD_INBOX_WA_VERIFY_TOKEN" => Some("verify-from-env".into()),
            _ => None,
        })
        .unwrap();
        let ChannelSettings::Whatsapp(w) = &s.inboxes[0].channel else {
            panic!("not whatsapp")
        };
        assert_eq!(w.access_token.expose(), "token-from-env");
        assert_eq!(w.verify_token.expose(), "verify-from-env");
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("token-from-env") && !dbg.contains("EAAG"),
            "{dbg}"
        );
        assert!(!format!("{:?}", load(META)).contains("EAAB-page-token"));
    }

    #[test]
    fn environment_overrides_the_file_and_is_checked_like_it() {
        let env = |k: &str| match k {
            "SWITCHBOARD_BIND" => Some("0.0.0.0:1234".into()),
            "DATABASE_URL" => Some("postgres://db/x".into()),
            "SWITCHBOARD_INBOX_SUPPORT_SECRET" => Some("from-the-environment".into()),
            _ => None,
        };
        let s = Settings::parse(GOOD, env).unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:1234".parse().unwrap());
        assert_eq!(s.database_url(), "postgres://db/x");
        assert_eq!(s.inboxes[0].secret.expose(), "from-the-environment");
        let bad = Settings::parse(GOOD, |k| (k == "SWITCHBOARD_BIND").then(|| "nope".into()));
        assert!(bad.unwrap_err().to_string().contains("`server.bind`"));
        let default = Settings::parse("", |k| {
            (k == "SWITCHBOARD_BIND").then(|| "0.0.0.0:80".into())
        });
        assert_eq!(default.unwrap().server.bind.port(), 80);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let dbg = format!("{:?}", load(GOOD));
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
