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

use crate::domain::types::{ChannelKind, Status};

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
    /// A client silent this long (no pong, no frame) is dropped.
    pub client_timeout_secs: u64,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            backlog_events: 10_000,
            outbound_queue: 256,
            heartbeat_secs: 10,
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxSettings {
    /// Appears in webhook URLs: `/webhooks/api/{id}`.
    pub id: String,
    pub channel: ChannelKind,
    #[serde(default)]
    pub name: Option<String>,
    /// Signs inbound webhooks and outbound callbacks (`SWITCHBOARD_INBOX_<ID>_SECRET`).
    pub secret: Secret,
    /// Where replies are POSTed (API channel).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// A service window like WhatsApp's, for systems that relay such a channel.
    #[serde(default)]
    pub window_hours: Option<u32>,
}

impl InboxSettings {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
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
            if !matches!(inbox.channel, ChannelKind::Api | ChannelKind::Widget) {
                return Err(invalid(
                    key("channel"),
                    format!(
                        "`{}` is not supported yet (supported: api, widget)",
                        inbox.channel
                    ),
                ));
            }
            if inbox.channel == ChannelKind::Widget && inbox.callback_url.is_some() {
                return Err(invalid(
                    key("callback_url"),
                    "is not used by a widget inbox (replies go to the visitor's browser)",
                ));
            }
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
    format!("SWITCHBOARD_INBOX_{id}_SECRET")
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
