//! What `GET /metrics` shows, in the Prometheus (OpenMetrics) text format: one [`Metrics`] per
//! server, shared by the handlers, the writer, the assistants and the workers.
//!
//! Counters and histograms are moved where the work happens (atomics, no lock on the hot
//! path); levels that already live somewhere else (the writer's queues, the actors, the
//! websockets, the outbox) are read when Prometheus scrapes, by [`crate::http::metrics`],
//! so nothing keeps a second count that could drift from the first.

use std::net::IpAddr;

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// A counter or gauge per label set.
type Counters<L> = Family<L, Counter>;
type Gauges<L> = Family<L, Gauge>;
type Seconds<L> = Family<L, Gauge<f64, std::sync::atomic::AtomicU64>>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latencies from 1 ms to ~33 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Waits between stages: 20 µs to ~0.65 s.
fn stage_wait() -> Histogram {
    Histogram::new(exponential_buckets(0.000_02, 2.0, 16))
}

/// Model calls take seconds: 50 ms to ~100 s.
fn model_latency() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InboundLabels {
    pub channel: &'static str,
    pub result: InboundResult,
}

/// What became of a customer message that arrived.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum InboundResult {
    /// Stored (and answered by the assistant or queued for a person).
    stored,
    /// Received before: nothing stored twice.
    duplicate,
    /// For another number or page.
    skipped,
    /// Not stored: the provider is told to retry (the database did not answer).
    failed,
}

impl InboundResult {
    /// What a delivery's answer says: `Ok(duplicate)`, or not stored.
    pub fn of<E>(delivered: &Result<bool, E>) -> InboundResult {
        match delivered {
            Ok(true) => InboundResult::duplicate,
            Ok(false) => InboundResult::stored,
            Err(_) => InboundResult::failed,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AssistantLabels {
    pub assistant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LlmLabels {
    pub assistant: String,
    pub result: LlmResult,
}

/// How one call to a language model ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum LlmResult {
    /// A usable answer.
    ok,
    /// Worth another try: timeout, 429, 5xx, an answer that did not parse.
    retry,
    /// Not worth another try: 4xx, a refused key.
    fatal,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub assistant: String,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route's pattern (`/api/conversations/{id}`), never the path itself: ids in labels
    /// would make a series per conversation.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

/// The group-commit writer's share: how long each commit took and how many writes it held.
#[derive(Clone)]
pub struct WriterMetrics {
    pub commit_seconds: Histogram,
    pub group_size: Histogram,
    /// How long each write waited in the writer's queue before its group began: the wait
    /// that group commit adds, apart from the commit itself.
    pub queue_wait_seconds: Histogram,
    /// Groups that failed (database unreachable, disk full) and writes refused because the
    /// database did not answer within the deadline.
    pub failed_groups: Counter,
    pub refused_writes: Counter,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        WriterMetrics {
            commit_seconds: latency(),
            // Sub-millisecond at light load: the wait the ≤ 2 ms light-load target is about.
            queue_wait_seconds: stage_wait(),
            group_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            failed_groups: Counter::default(),
            refused_writes: Counter::default(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: Stage,
}

/// A queue a customer message or its event waits in on its way from the webhook to an
/// agent's websocket (the database writer's queue has its own metric).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Stage {
    /// From the webhook handler to the conversation actor's handler.
    conversation_mailbox,
    /// From the event's producer (after its commit) to the hub numbering it.
    hub,
    /// From the hub to an agent's websocket session writing it out.
    agent_session,
}

/// How long each message waits in each stage's queue, so POST → frame splits by stage.
/// Each stage's histogram is looked up once; observing is an atomic add.
#[derive(Clone)]
pub struct StageWaits {
    pub conversation_mailbox: Histogram,
    pub hub: Histogram,
    pub agent_session: Histogram,
}

impl StageWaits {
    fn new(family: &Family<StageLabels, Histogram, fn() -> Histogram>) -> StageWaits {
        let get = |stage| family.get_or_create(&StageLabels { stage }).clone();
        StageWaits {
            conversation_mailbox: get(Stage::conversation_mailbox),
            hub: get(Stage::hub),
            agent_session: get(Stage::agent_session),
        }
    }
}

/// One language-model assistant's share, labelled with its id.
#[derive(Clone)]
pub struct LlmMetrics {
    assistant: String,
    requests: Counters<LlmLabels>,
    seconds: Histograms<AssistantLabels>,
    tokens: Counters<TokenLabels>,
}

impl LlmMetrics {
    /// One HTTP call to the model, how it ended and how long it took.
    pub fn call(&self, result: LlmResult, seconds: f64) {
        let assistant = self.assistant.clone();
        self.seconds
            .get_or_create(&AssistantLabels {
                assistant: assistant.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&LlmLabels { assistant, result })
            .inc();
    }

    pub fn tokens(&self, prompt: u64, completion: u64) {
        for (kind, n) in [("prompt", prompt), ("completion", completion)] {
            if n > 0 {
                let labels = TokenLabels {
                    assistant: self.assistant.clone(),
                    kind,
                };
                self.tokens.get_or_create(&labels).inc_by(n);
            }
        }
    }
}

/// Everything `/metrics` shows.
pub struct Metrics {
    registry: Registry,
    pub writer: WriterMetrics,
    pub stages: StageWaits,
    pub inbound: Counters<InboundLabels>,
    pub outbox_pending: Gauges<ProviderLabels>,
    pub outbox_oldest_seconds: Seconds<ProviderLabels>,
    pub outbox_retries: Counters<ProviderLabels>,
    pub outbox_failures: Counters<ProviderLabels>,
    pub writer_queue: Gauge,
    pub websockets: Gauges<KindLabels>,
    pub events_published: Counter,
    /// Cluster mode: requests answered by the node holding their conversation.
    pub forwarded: Counter,
    /// Broadcast recipients this node handed to their provider (in cluster mode, one node
    /// dispatches at a time).
    pub broadcast_sends: Counter,
    pub conversation_actors: Gauge,
    pub reviews_in_progress: Gauge,
    pub broadcasts_in_progress: Gauge,
    pub database_up: Gauge,
    llm_requests: Counters<LlmLabels>,
    llm_seconds: Histograms<AssistantLabels>,
    llm_tokens: Counters<TokenLabels>,
    pub http_requests: Counters<HttpLabels>,
    pub http_seconds: Histograms<RouteLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let stage_waits: Histograms<StageLabels> = Family::new_with_constructor(stage_wait);
        let mut m = Metrics {
            registry: Registry::with_prefix("switchboard"),
            writer: WriterMetrics::default(),
            stages: StageWaits::new(&stage_waits),
            inbound: Family::default(),
            outbox_pending: Family::default(),
            outbox_oldest_seconds: Family::default(),
            outbox_retries: Family::default(),
            outbox_failures: Family::default(),
            writer_queue: Gauge::default(),
            websockets: Family::default(),
            events_published: Counter::default(),
            forwarded: Counter::default(),
            broadcast_sends: Counter::default(),
            conversation_actors: Gauge::default(),
            reviews_in_progress: Gauge::default(),
            broadcasts_in_progress: Gauge::default(),
            database_up: Gauge::default(),
            llm_requests: Family::default(),
            llm_seconds: Family::new_with_constructor(model_latency),
            llm_tokens: Family::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency),
        };
        let r = &mut m.registry;
        r.register(
            "inbound_messages",
            "Customer messages received, by channel and what became of them",
            m.inbound.clone(),
        );
        r.register(
            "commit_seconds",
            "Duration of each group commit of the database writer",
            m.writer.commit_seconds.clone(),
        );
        r.register(
            "commit_queue_wait_seconds",
            "Time each write waited in the database writer's queue before its group began",
            m.writer.queue_wait_seconds.clone(),
        );
        r.register(
            "stage_wait_seconds",
            "Time a message or its event waited in each stage's queue (conversation actor, hub, agent websocket)",
            stage_waits,
        );
        r.register(
            "commit_group_size",
            "Writes in each group commit",
            m.writer.group_size.clone(),
        );
        r.register(
            "commit_failures",
            "Group commits that failed (database unreachable, disk full)",
            m.writer.failed_groups.clone(),
        );
        r.register(
            "writes_refused",
            "Writes answered 503 because the database did not take them within the deadline",
            m.writer.refused_writes.clone(),
        );
        r.register(
            "writer_queue_depth",
            "Writes waiting for the group-commit writer",
            m.writer_queue.clone(),
        );
        r.register(
            "database_up",
            "1 while the writer's database connection works, 0 during an outage",
            m.database_up.clone(),
        );
        r.register(
            "outbox_pending",
            "Outbound messages waiting to be sent, by provider",
            m.outbox_pending.clone(),
        );
        r.register(
            "outbox_oldest_pending_seconds",
            "Age of the oldest outbound message waiting to be sent, by provider",
            m.outbox_oldest_seconds.clone(),
        );
        r.register(
            "outbox_retries",
            "Sends the provider asked to try again (rate limits, outages)",
            m.outbox_retries.clone(),
        );
        r.register(
            "outbox_failures",
            "Sends that failed for good",
            m.outbox_failures.clone(),
        );
        r.register(
            "websocket_connections",
            "Open websockets, by kind (agent, visitor)",
            m.websockets.clone(),
        );
        r.register(
            "events_published",
            "Realtime events published to the hub",
            m.events_published.clone(),
        );
        r.register(
            "broadcast_sends",
            "Broadcast recipients this node handed to their provider",
            m.broadcast_sends.clone(),
        );
        r.register(
            "requests_forwarded",
            "Cluster mode: requests run by the node holding their conversation",
            m.forwarded.clone(),
        );
        r.register(
            "conversation_actors",
            "Conversations loaded in memory",
            m.conversation_actors.clone(),
        );
        r.register(
            "llm_requests",
            "Calls to language models, by assistant and result",
            m.llm_requests.clone(),
        );
        r.register(
            "llm_request_seconds",
            "Duration of calls to language models",
            m.llm_seconds.clone(),
        );
        r.register(
            "llm_tokens",
            "Tokens spent on language models, by assistant and kind (prompt, completion)",
            m.llm_tokens.clone(),
        );
        r.register(
            "reviews_in_progress",
            "Conversation reviews being written",
            m.reviews_in_progress.clone(),
        );
        r.register(
            "broadcasts_in_progress",
            "Broadcasts sending now",
            m.broadcasts_in_progress.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests, by method, route and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_seconds",
            "Duration of HTTP requests, by method and route",
            m.http_seconds.clone(),
        );
        m
    }

    /// The handles an assistant moves, labelled with its id.
    pub fn llm(&self, assistant: &str) -> LlmMetrics {
        LlmMetrics {
            assistant: assistant.to_owned(),
            requests: self.llm_requests.clone(),
            seconds: self.llm_seconds.clone(),
            tokens: self.llm_tokens.clone(),
        }
    }

    /// One customer message arrived on `channel`, and this became of it.
    pub fn inbound(&self, channel: &'static str, result: InboundResult) {
        self.inbound
            .get_or_create(&InboundLabels { channel, result })
            .inc();
    }

    /// The text Prometheus reads.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Who may read `/metrics`: a configured address range (`[metrics] allow`), else an admin's
/// token. Pure, so the rule is tested apart from HTTP.
pub fn address_allowed(allow: &[ipnet::IpNet], addr: IpAddr) -> bool {
    let addr = match addr {
        // An IPv4 client on a dual-stack listener shows as ::ffff:a.b.c.d.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|net| net.contains(&addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_with_its_prefix() {
        let m = Metrics::new();
        m.inbound("whatsapp", InboundResult::stored);
        m.inbound("whatsapp", InboundResult::stored);
        m.writer.commit_seconds.observe(0.004);
        m.llm("helper").call(LlmResult::ok, 1.5);
        m.llm("helper").tokens(120, 30);
        let text = m.encode().expect("encodes");
        for needle in [
            "switchboard_inbound_messages_total{channel=\"whatsapp\",result=\"stored\"} 2",
            "switchboard_commit_seconds_count 1",
            "# TYPE switchboard_commit_queue_wait_seconds histogram",
            "switchboard_stage_wait_seconds_count{stage=\"hub\"} 0",
            "switchboard_llm_requests_total{assistant=\"helper\",result=\"ok\"} 1",
            "switchboard_llm_tokens_total{assistant=\"helper\",kind=\"prompt\"} 120",
            "switchboard_llm_request_seconds_count{assistant=\"helper\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        // Nothing counted, nothing shown as zero for a label set never seen.
        assert!(!text.contains("result=\"failed\""));
    }

    #[test]
    fn addresses_in_the_ranges_may_read_and_mapped_ipv4_counts_as_ipv4() {
        let allow: Vec<ipnet::IpNet> = ["127.0.0.0/8", "10.1.0.0/16", "::1/128"]
            .iter()
            .map(|s| s.parse().expect("range"))
            .collect();
        let cases = [
            ("127.0.0.1", true),
            ("10.1.200.3", true),
            ("10.2.0.1", false),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:192.168.1.1", false),
            ("2001:db8::1", false),
        ];
        for (addr, expected) in cases {
            let ip: IpAddr = addr.parse().expect("address");
            assert_eq!(address_allowed(&allow, ip), expected, "{addr}");
        }
        assert!(!address_allowed(&[], "127.0.0.1".parse().expect("address")));
    }
}
