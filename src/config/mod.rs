//! Settings: a TOML file, then environment overrides, validated once at start and passed down
//! explicitly (no globals, so tests build their own `Settings` in code).
//!
//! The file is named by `SWITCHBOARD_CONFIG`; without it `./switchboard.toml` is used when it
//! exists, else built-in defaults. Unknown keys are refused with a message naming them, so a
//! typo never silently falls back to a default.

mod assistant;
mod inbox;
mod values;

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::domain::types::Status;

pub use assistant::{
    assistant_key_var, AssistantKind, AssistantSettings, AssistantsSection, JsonMode, LlmSettings,
    MaxTokensField, DEFAULT_ASSISTANT, NEW_FORM as ASSISTANT_NEW_FORM,
};
pub use inbox::{
    AckTexts, ApiChannel, AutoFollowUps, BusinessHoursSettings, ChannelSettings,
    HandoffAckSettings, InboxSettings, MetaChannel, MetaPlatform, TemplateSettings, TwilioChannel,
    TwilioFrom, WhatsappChannel,
};
pub use values::{CountryCode, GraphVersion, HttpUrl, NonBlank, Secret, WebhookUrl};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub admin: AdminSettings,
    /// The `[[assistant]]` tables (or the old `[assistant]`), read one by one so an error
    /// names the assistant.
    #[serde(skip)]
    pub assistants: AssistantsSection,
    pub conversations: ConversationSettings,
    pub outbox: OutboxSettings,
    pub access: AccessSettings,
    pub realtime: RealtimeSettings,
    pub assignment: AssignmentSettings,
    pub review: ReviewSettings,
    pub broadcasts: BroadcastSettings,
    /// `[cluster]`: several nodes on PostgreSQL and NATS; absent, this is the only node.
    pub cluster: Option<ClusterSettings>,
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
    /// On SIGTERM or SIGINT: how long to finish what is in flight before exiting, in seconds.
    /// Agent and visitor websockets are closed at once with code 1012 (service restart), so
    /// clients reconnect (to another node, or to this one when it is back).
    pub shutdown_secs: u64,
    /// How long a database read or write may wait before the request is answered 503 with
    /// `Retry-After`, in milliseconds: while the database is unreachable or cannot write,
    /// providers and agents get an answer they can retry on instead of a hanging request.
    pub db_deadline_ms: u64,
    /// Address ranges that may read `GET /metrics` without a token (Prometheus's scraper);
    /// from anywhere else it takes an admin's token. Default: this machine only.
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// Requests per second each source address may make to the webhooks (`/webhooks/…`),
    /// sustained; 0 turns the limit off. Past it: 429 with `Retry-After`.
    pub webhook_rate_per_second: u32,
    /// Requests an address may make to the webhooks at once, above the rate.
    pub webhook_rate_burst: u32,
    /// The same for the widget's endpoints (`/widget/…`: sessions and websocket upgrades).
    pub widget_rate_per_second: u32,
    pub widget_rate_burst: u32,
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
            shutdown_secs: 10,
            db_deadline_ms: 2000,
            metrics_allow: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|r| r.parse().ok())
                .collect(),
            webhook_rate_per_second: 2000,
            webhook_rate_burst: 4000,
            widget_rate_per_second: 10,
            widget_rate_burst: 60,
        }
    }
}

impl ServerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if self.db_pool_size == 0 {
            return Err(invalid("server.db_pool_size", "must be at least 1"));
        }
        if self.webhook_rate_per_second > 0 && self.webhook_rate_burst == 0 {
            return Err(invalid(
                "server.webhook_rate_burst",
                "must be at least 1 with a rate",
            ));
        }
        if self.widget_rate_per_second > 0 && self.widget_rate_burst == 0 {
            return Err(invalid(
                "server.widget_rate_burst",
                "must be at least 1 with a rate",
            ));
        }
        if !(1..=300).contains(&self.shutdown_secs) {
            return Err(invalid("server.shutdown_secs", "must be 1-300"));
        }
        if !(100..=60_000).contains(&self.db_deadline_ms) {
            return Err(invalid("server.db_deadline_ms", "must be 100-60000"));
        }
        if self.token_ttl_hours <= 0 {
            return Err(invalid("server.token_ttl_hours", "must be positive"));
        }
        if self.max_media_bytes < 1024 {
            return Err(invalid("server.max_media_bytes", "must be at least 1024"));
        }
        if let Some(url) = &self.database_url {
            crate::db::Backend::from_url(url).map_err(|e| invalid("server.database_url", e))?;
        }
        Ok(())
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

impl AdminSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.email.contains('@') {
            return Err(invalid("admin.email", "is not an email address"));
        }
        Ok(())
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
    /// How long a customer may wait for a person before the list marks the conversation late
    /// (amber from half of it, red past it), in seconds.
    pub first_response_target_secs: u64,
    /// Threads the conversation actors run on, 0 = one per core. A conversation always lives
    /// on the same one, so its messages keep their order while different conversations run
    /// in parallel.
    pub actor_threads: usize,
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
            first_response_target_secs: 300,
            actor_threads: 0,
        }
    }
}

/// More actor threads than this only adds context switches.
const MAX_ACTOR_THREADS: usize = 256;

impl ConversationSettings {
    /// The threads the conversation actors run on: the setting, or one per core.
    pub fn actor_threads(&self) -> usize {
        match self.actor_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_actor_secs == 0 {
            return Err(invalid(
                "conversations.idle_actor_secs",
                "must be at least 1",
            ));
        }
        if self.timer_scan_secs == 0 {
            return Err(invalid(
                "conversations.timer_scan_secs",
                "must be at least 1",
            ));
        }
        if self.first_response_target_secs == 0 {
            return Err(invalid(
                "conversations.first_response_target_secs",
                "must be at least 1",
            ));
        }
        if self.actor_threads > MAX_ACTOR_THREADS {
            return Err(invalid(
                "conversations.actor_threads",
                "must be at most 256 (0 = one per core)",
            ));
        }
        Ok(())
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

impl OutboxSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts < 1 {
            return Err(invalid("outbox.max_attempts", "must be at least 1"));
        }
        if self.concurrency == 0 {
            return Err(invalid("outbox.concurrency", "must be at least 1"));
        }
        if self.initial_backoff_ms == 0 || self.max_backoff_ms < self.initial_backoff_ms {
            return Err(invalid(
                "outbox.initial_backoff_ms",
                "must be positive and not above outbox.max_backoff_ms",
            ));
        }
        Ok(())
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

impl RealtimeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.backlog_events < 100 {
            return Err(invalid("realtime.backlog_events", "must be at least 100"));
        }
        if self.outbound_queue < 8 {
            return Err(invalid("realtime.outbound_queue", "must be at least 8"));
        }
        if self.token_recheck_secs == 0 {
            return Err(invalid("realtime.token_recheck_secs", "must be at least 1"));
        }
        if self.heartbeat_secs == 0 || self.client_timeout_secs <= self.heartbeat_secs {
            return Err(invalid(
                "realtime.client_timeout_secs",
                "must be longer than realtime.heartbeat_secs (both positive)",
            ));
        }
        Ok(())
    }
}

/// The AI review of conversations (summary, quality score, lead stage, follow-ups).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewSettings {
    /// A conversation is reviewed this long after its latest message (and again after later
    /// ones). Default 600; any value down to 1.
    pub after_secs: u64,
    /// The dashboard lists a conversation only once it has been reviewed (page 003:
    /// "conversations appear in the list once analysed").
    pub hide_unreviewed: bool,
    /// Reviews running at once; more wait for the next sweep.
    pub concurrency: usize,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            after_secs: 600,
            hide_unreviewed: false,
            concurrency: 2,
        }
    }
}

impl ReviewSettings {
    pub fn after(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.after_secs)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // A year at most, so that no setting overflows a date.
        if !(1..=31_536_000).contains(&self.after_secs) {
            return Err(invalid("review.after_secs", "must be 1-31536000 (seconds)"));
        }
        if !(1..=64).contains(&self.concurrency) {
            return Err(invalid("review.concurrency", "must be 1-64"));
        }
        Ok(())
    }
}

/// Broadcasts (see `domain::broadcast`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BroadcastSettings {
    /// A recipient whose send was cut by a stop of the server (`unknown`) and that no status
    /// webhook settled within this many seconds becomes `failed` with `unknown_outcome`.
    /// Default 86400 (a day: providers report within minutes, a retried webhook within hours).
    pub unknown_outcome_after_secs: u64,
    /// Sends in flight at once, over all broadcasts. Default 16.
    pub concurrency: usize,
    /// How often the dispatcher looks for scheduled broadcasts and settles old `unknown`
    /// recipients, in milliseconds. Default 1000.
    pub poll_interval_ms: u64,
}

impl Default for BroadcastSettings {
    fn default() -> Self {
        BroadcastSettings {
            unknown_outcome_after_secs: 86_400,
            concurrency: 16,
            poll_interval_ms: 1000,
        }
    }
}

impl BroadcastSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=31_536_000).contains(&self.unknown_outcome_after_secs) {
            return Err(invalid(
                "broadcasts.unknown_outcome_after_secs",
                "must be 1-31536000 (seconds)",
            ));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(invalid("broadcasts.concurrency", "must be 1-256"));
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return Err(invalid(
                "broadcasts.poll_interval_ms",
                "must be 10-60000 (milliseconds)",
            ));
        }
        Ok(())
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

impl AssignmentSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.capacity == 0 {
            return Err(invalid("assignment.capacity", "must be at least 1"));
        }
        Ok(())
    }
}

/// `[cluster]`: this node is one of several sharing one PostgreSQL database and one NATS
/// server (with JetStream), behind a load balancer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// The NATS server, `nats://host:4222` (`SWITCHBOARD_NATS_URL`).
    pub nats_url: String,
    /// This node's name in the cluster (`SWITCHBOARD_NODE_ID`): letters, digits, `-` and
    /// `_`. Default: the host name and the port it listens on. Two nodes must never share one.
    #[serde(default)]
    pub node_id: Option<String>,
    /// How long a node's leases outlive its last renewal, in milliseconds: a dead node's
    /// conversations move to the others after about this long. Renewed every third of it.
    #[serde(default = "ClusterSettings::default_lease_ttl_ms")]
    pub lease_ttl_ms: u64,
}

impl ClusterSettings {
    fn default_lease_ttl_ms() -> u64 {
        3000
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.nats_url.trim();
        let rest = ["nats://", "tls://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {}
            _ => {
                return Err(invalid(
                    "cluster.nats_url",
                    "must be nats://host:port or tls://host:port",
                ))
            }
        }
        if let Some(id) = &self.node_id {
            crate::cluster::NodeId::parse(id).map_err(|e| invalid("cluster.node_id", e))?;
        }
        if !(1000..=60_000).contains(&self.lease_ttl_ms) {
            return Err(invalid("cluster.lease_ttl_ms", "must be 1000-60000"));
        }
        Ok(())
    }

    /// This node's name: the one configured, else the host name and `port`.
    pub fn node_id(&self, port: u16) -> crate::cluster::NodeId {
        self.node_id
            .as_deref()
            .and_then(|id| crate::cluster::NodeId::parse(id).ok())
            .unwrap_or_else(|| {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .or_else(|_| std::env::var("HOSTNAME"))
                    .unwrap_or_default();
                crate::cluster::NodeId::from_host(host.trim(), port)
            })
    }

    /// The lease timing these settings give: renewals every third of the TTL, a claim
    /// attempt every twelfth.
    pub fn lease_timing(&self) -> crate::cluster::lease::LeaseTiming {
        let ttl = std::time::Duration::from_millis(self.lease_ttl_ms);
        crate::cluster::lease::LeaseTiming {
            ttl,
            renew_every: ttl / 3,
            poll_every: ttl / 12,
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

/// Where one table of a `[[section]]` array is, so an error names a key's full path
/// (`inbox[2].from`).
pub(crate) struct ArrayEntry {
    section: &'static str,
    index: usize,
}

impl ArrayEntry {
    /// The `index`-th table of `[[section]]`, its keys split into those every entry has
    /// (`common_keys`) and the rest (its kind's own), so each part is typed on its own.
    fn split(
        section: &'static str,
        index: usize,
        value: toml::Value,
        common_keys: &[&str],
    ) -> Result<(ArrayEntry, toml::Table, toml::Table), ConfigError> {
        let toml::Value::Table(mut rest) = value else {
            return Err(invalid(
                format!("{section}[{index}]"),
                format!("must be a table ([[{section}]])"),
            ));
        };
        let mut common = toml::Table::new();
        for key in common_keys {
            if let Some(v) = rest.remove(*key) {
                common.insert((*key).to_owned(), v);
            }
        }
        Ok((ArrayEntry { section, index }, common, rest))
    }

    /// The full path of a key of this entry.
    fn at(&self, path: &str) -> String {
        match path {
            "" | "." => format!("{}[{}]", self.section, self.index),
            p => format!("{}[{}].{p}", self.section, self.index),
        }
    }
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
    ("SWITCHBOARD_NATS_URL", "cluster", "nats_url"),
    ("SWITCHBOARD_NODE_ID", "cluster", "node_id"),
    ("SWITCHBOARD_ADMIN_EMAIL", "admin", "email"),
    ("SWITCHBOARD_ADMIN_PASSWORD", "admin", "password"),
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
        apply_env(&mut table, &env);
        let mut settings = Settings::from_table(table)?;
        if let Some(path) = env("SWITCHBOARD_KNOWLEDGE_BASE") {
            settings
                .assistants
                .set_first_knowledge_base(PathBuf::from(path));
        }
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
        let assistants = AssistantsSection::parse(table.remove("assistant"))?;
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
        settings.assistants = assistants;
        Ok(settings)
    }

    /// The checks types cannot express (ranges, one value against another, uniqueness),
    /// each error naming its key. Each section checks its own keys, in this order.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.admin.validate()?;
        self.assistants.validate()?;
        self.conversations.validate()?;
        self.outbox.validate()?;
        self.realtime.validate()?;
        self.assignment.validate()?;
        self.review.validate()?;
        self.broadcasts.validate()?;
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
            if let crate::db::Backend::Sqlite(_) =
                crate::db::Backend::from_url(&self.database_url())
                    .map_err(|e| invalid("server.database_url", e))?
            {
                return Err(invalid(
                    "cluster",
                    "needs PostgreSQL (`server.database_url` or DATABASE_URL = \"postgres://…\"): \
                     SQLite is one file on one machine, so it runs one node; remove [cluster] to \
                     run this node alone",
                ));
            }
        }
        inbox::validate_all(&self.inboxes)?;
        for (i, inbox) in self.inboxes.iter().enumerate() {
            if let Some(id) = &inbox.assistant {
                if self.assistants.get(id).is_none() {
                    return Err(invalid(
                        format!("inbox[{i}].assistant"),
                        format!("names `{id}`, which is not an [[assistant]] id"),
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
fn apply_env(table: &mut toml::Table, env: &impl Fn(&str) -> Option<String>) {
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
    if let Some(toml::Value::Array(assistants)) = table.get_mut("assistant") {
        for assistant in assistants {
            let toml::Value::Table(assistant) = assistant else {
                continue;
            };
            let id = assistant.get("id").and_then(toml::Value::as_str);
            if let Some(key) = id.and_then(|id| env(&assistant_key_var(id))) {
                assistant.insert("api_key".to_owned(), toml::Value::String(key));
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
    format!("SWITCHBOARD_INBOX_{}_{name}", env_id(id))
}

/// An id as it appears in a variable's name: upper-cased, anything but letters and digits as `_`.
fn env_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
