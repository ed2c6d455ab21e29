//! An assistant that asks a language model, over the OpenAI-compatible Chat Completions
//! contract (OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio, LiteLLM).
//!
//! It fails safe: a timeout, a 429 (after its `Retry-After`), a 5xx or an answer off the
//! schema is tried again a bounded number of times; then the knowledge base answers if it
//! has a confident answer, else the caller hands the conversation to a person. The customer
//! is never left without an answer and never gets the model's raw output. Calls to one
//! model are bounded by a semaphore, so a slow provider makes its own conversations wait,
//! never the actors or other assistants.

pub mod answer;
pub mod prompt;
pub mod review;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::{NaiveDate, NaiveDateTime};
use tokio::sync::{Semaphore, SemaphorePermit};

use self::answer::{judge, usage_of, Verdict};
use super::{
    AnswerSource, Answered, Assistant, AssistantError, AssistantRequest, Basis, BoxFuture,
    KnowledgeBaseAssistant, Usage,
};
use crate::{clock, config::LlmSettings, metrics::LlmResult};

/// The last thing known about the provider, for the health endpoint.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderHealth {
    /// `true` after an answer, `false` after a failure; `null` before the first call.
    pub reachable: Option<bool>,
    /// What went wrong last (never the key or the URL's credentials).
    pub last_error: Option<String>,
}

/// Tokens spent today (UTC), against the daily budget.
#[derive(Debug)]
struct Meter {
    day: NaiveDate,
    spent: u64,
}

pub struct LlmAssistant {
    settings: LlmSettings,
    instructions: String,
    kb: Arc<KnowledgeBaseAssistant>,
    http: reqwest::Client,
    url: String,
    permits: Semaphore,
    /// Requests waiting for a permit.
    waiting: AtomicUsize,
    meter: Mutex<Meter>,
    health: Mutex<ProviderHealth>,
    metrics: crate::metrics::LlmMetrics,
}

impl LlmAssistant {
    pub fn new(
        settings: LlmSettings,
        instructions: String,
        kb: Arc<KnowledgeBaseAssistant>,
        http: reqwest::Client,
        metrics: crate::metrics::LlmMetrics,
    ) -> LlmAssistant {
        let url = format!("{}/chat/completions", settings.base_url.base());
        LlmAssistant {
            permits: Semaphore::new(settings.concurrency.get() as usize),
            settings,
            instructions,
            kb,
            http,
            url,
            waiting: AtomicUsize::new(0),
            meter: Mutex::new(Meter {
                day: clock::now().date(),
                spent: 0,
            }),
            health: Mutex::new(ProviderHealth::default()),
            metrics,
        }
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// Tokens spent on `today` as stored (read at start, so a restart keeps the budget).
    pub fn set_spent(&self, today: NaiveDate, spent: u64) {
        if let Ok(mut m) = self.meter.lock() {
            *m = Meter { day: today, spent };
        }
    }

    /// Tokens spent today.
    pub fn spent_today(&self) -> u64 {
        let today = clock::now().date();
        self.meter
            .lock()
            .map_or(0, |m| if m.day == today { m.spent } else { 0 })
    }

    pub fn health(&self) -> ProviderHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn budget_left(&self) -> bool {
        match self.settings.daily_token_budget {
            None => true,
            Some(budget) => self.spent_today() < budget.get(),
        }
    }

    fn charge(&self, usage: Usage, now: NaiveDateTime) {
        self.metrics
            .tokens(usage.prompt_tokens, usage.completion_tokens);
        if let Ok(mut m) = self.meter.lock() {
            if m.day != now.date() {
                *m = Meter {
                    day: now.date(),
                    spent: 0,
                };
            }
            m.spent = m.spent.saturating_add(usage.total());
        }
    }

    fn record(&self, result: Result<(), &str>) {
        if let Ok(mut h) = self.health.lock() {
            match result {
                Ok(()) => {
                    h.reachable = Some(true);
                    h.last_error = None;
                }
                Err(e) => {
                    h.reachable = Some(false);
                    h.last_error = Some(e.to_owned());
                }
            }
        }
    }

    /// One try: the HTTP call within the timeout, judged, and counted in the metrics.
    async fn try_once(&self, body: &serde_json::Value) -> (Verdict, Usage) {
        let started = std::time::Instant::now();
        let (verdict, usage) = self.call_once(body).await;
        let result = match &verdict {
            Verdict::Answer(_) => LlmResult::ok,
            Verdict::Retry { .. } => LlmResult::retry,
            Verdict::Fatal(_) => LlmResult::fatal,
        };
        self.metrics.call(result, started.elapsed().as_secs_f64());
        (verdict, usage)
    }

    async fn call_once(&self, body: &serde_json::Value) -> (Verdict, Usage) {
        let mut request = self
            .http
            .post(&self.url)
            .timeout(Duration::from_secs(u64::from(
                self.settings.timeout_secs.get(),
            )))
            .json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    format!("cannot reach the model: {}", e.without_url())
                };
                let retry = Verdict::Retry {
                    reason,
                    after: None,
                };
                return (retry, Usage::default());
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // An answer is a few kilobytes; a body past a megabyte is not one.
        let body = match read_limited(response, 1 << 20).await {
            Ok(b) => b,
            Err(reason) => {
                let retry = Verdict::Retry {
                    reason,
                    after: None,
                };
                return (retry, Usage::default());
            }
        };
        let usage = if (200..300).contains(&status) {
            usage_of(&body)
        } else {
            Usage::default()
        };
        (judge(status, retry_after.as_deref(), &body), usage)
    }

    /// A turn to call the model: at most `concurrency` calls run at once and at most `queue`
    /// wait; past that the model counts as unavailable (bounded, so a slow provider under a
    /// burst of customers costs a fallback, not memory without end).
    async fn admit(&self) -> Result<SemaphorePermit<'_>, String> {
        let limit = self.settings.queue.get() as usize;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= limit {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(format!("the model is busy: {limit} requests are waiting"));
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.map_err(|_| "the assistant is shutting down".to_owned())
    }

    /// Asks the model, with the bounded retries; the answer, or why there is none, with the
    /// tokens spent either way.
    async fn ask(&self, body: serde_json::Value) -> (Result<answer::ModelAnswer, String>, Usage) {
        let mut usage = Usage::default();
        let mut attempt = 0u32;
        loop {
            let (verdict, used) = self.try_once(&body).await;
            usage.add(used);
            self.charge(used, clock::now());
            let (reason, after) = match verdict {
                Verdict::Answer(a) => {
                    self.record(Ok(()));
                    return (Ok(a), usage);
                }
                Verdict::Fatal(reason) => {
                    self.record(Err(&reason));
                    return (Err(reason), usage);
                }
                Verdict::Retry { reason, after } => (reason, after),
            };
            self.record(Err(&reason));
            if attempt >= self.settings.max_retries {
                return (Err(reason), usage);
            }
            attempt += 1;
            tracing::info!(attempt, %reason, "the model's answer was not usable; trying again");
            tokio::time::sleep(after.unwrap_or_else(|| backoff(attempt))).await;
        }
    }

    /// Checks at start that the provider answers (`GET {base}/models`), so a wrong URL shows
    /// in the log and the health endpoint before the first customer writes.
    pub async fn probe(&self) {
        let url = format!("{}/models", self.settings.base_url.base());
        let mut request = self.http.get(url).timeout(Duration::from_secs(5));
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose());
        }
        match request.send().await {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 404 => self.record(Ok(())),
            Ok(r) => {
                let reason = format!("the model's server answered {}", r.status().as_u16());
                tracing::warn!(%reason, "language model check failed");
                self.record(Err(&reason));
            }
            Err(e) => {
                let reason = format!("cannot reach the model: {}", e.without_url());
                tracing::warn!(%reason, "language model check failed");
                self.record(Err(&reason));
            }
        }
    }
}

/// 0.5 s, 1 s, 2 s… with up to 25 % jitter, so conversations retrying together spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let jitter = rand::random::<u64>() % (base / 4 + 1);
    Duration::from_millis(base + jitter)
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(format!("the answer is larger than {limit} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err("timed out".to_owned()),
            Err(e) => return Err(format!("the answer broke off: {}", e.without_url())),
        }
    }
}

impl LlmAssistant {
    /// The whole turn: the budget, a place in the queue, the request (loaded only now), the
    /// call, and the knowledge base (or a person) when the model fails.
    async fn answer(
        self: Arc<Self>,
        text: String,
        load: impl std::future::Future<Output = AssistantRequest>,
    ) -> Result<Answered, AssistantError> {
        if !self.budget_left() {
            return Err(AssistantError::BudgetExhausted);
        }
        let (result, usage, request_text, learned_from, given) = match self.admit().await {
            Err(reason) => (Err(reason), Usage::default(), text, None, Vec::new()),
            Ok(_permit) => {
                let request = load.await;
                let words = super::customer_words(&request.text).to_owned();
                let knowledge = self.kb.top_entries(&words, self.settings.knowledge_entries);
                // The entries the model was shown: the only ones it can say it rests on.
                let given: Vec<String> = knowledge.iter().map(|e| e.id.clone()).collect();
                let body = prompt::chat_request(
                    &self.settings,
                    &prompt::PromptInput {
                        instructions: &self.instructions,
                        knowledge,
                        request: &request,
                        today: clock::now().date(),
                    },
                );
                let (result, usage) = self.ask(body).await;
                (result, usage, request.text, request.source, given)
            }
        };
        match result {
            Ok(a) => Ok(Answered {
                basis: Basis {
                    entry: a
                        .source
                        .filter(|id| given.contains(id))
                        .and_then(|id| self.kb.entry(&id)),
                    model: Some(self.settings.model.as_str().to_owned()),
                    confidence: a.confidence,
                },
                reply: a.reply,
                source: AnswerSource::Model,
                usage,
                lead_stage: a.lead_stage,
                learned: a.learned,
                learned_from,
            }),
            Err(reason) => {
                tracing::warn!(%reason, "the language model failed");
                // The knowledge base answers if it is sure; otherwise a person does.
                let (fallback, basis) = self.kb.answer_with_basis(&request_text);
                if fallback.is_match() {
                    let mut answered =
                        Answered::plain(fallback, AnswerSource::KnowledgeBaseFallback);
                    answered.usage = usage;
                    answered.basis = basis;
                    Ok(answered)
                } else {
                    Err(AssistantError::Unavailable { reason, usage })
                }
            }
        }
    }
}

impl Assistant for Arc<LlmAssistant> {
    fn reply(&self, request: AssistantRequest) -> BoxFuture<Result<Answered, AssistantError>> {
        let text = request.text.clone();
        Box::pin(self.clone().answer(text, std::future::ready(request)))
    }

    fn reply_to(
        &self,
        text: String,
        load: super::ContextLoader,
    ) -> BoxFuture<Result<Answered, AssistantError>> {
        Box::pin(self.clone().answer(text, load()))
    }
}
