//! Switchboard's load generator: measures the server as BENCHMARKS.md reports it.
//!
//! Open-loop: requests leave on a fixed schedule whatever the server does, and each latency is
//! measured from the moment the request was *due*, so a server that falls behind shows it in
//! the tail instead of hiding it (no coordinated omission). Latencies go to HDR histograms.
//!
//! ```text
//! loadgen ingest     --rate 10000 --duration 60           signed inbound POSTs, answered after commit
//! loadgen ws-latency --rate 1000 --agents 10              POST → message.created at every agent
//!          … --post-base http://A --ws-base http://B,http://C   across a cluster's nodes
//! loadgen idle-ws    --count 100000 --sources 127.0.0.1,127.0.0.2,…   idle agent websockets
//!          … --until-eof                                  held until standard input closes
//! loadgen seed       --database-url … --conversations 100000 --messages 10
//! loadgen list       --requests 2000                      conversation list page and counts
//! loadgen verify     --database-url … --acked acked.log   after kill -9: every 200 is stored
//! loadgen broadcast  --database-url … --recipients 3000 --rate 100   one API broadcast, timed
//! loadgen callback-sink --port 8191                       answers the inbox's callback POSTs
//! ```

mod broadcast;
mod http1;
mod idle_ws;
mod llm_standin;
mod procfs;

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use switchboard::{clock, db, db::queries, http::timing, providers::api};
use tokio_tungstenite::tungstenite::Message;

use broadcast::{broadcast, callback_sink, Plan};
use idle_ws::{idle_ws, Hold};
use llm_standin::llm_standin;
use procfs::ProcWatch;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Switchboard load generator (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Clone)]
struct Target {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// API inbox to post to.
    #[arg(long, default_value = "support")]
    inbox: String,
    /// The inbox secret (signs each request).
    #[arg(long, env = "LOADGEN_SECRET", default_value = "demo-secret-change-me")]
    secret: String,
    /// Agent credentials, for the API and websockets.
    #[arg(long, default_value = "admin@localhost")]
    email: String,
    #[arg(long, env = "LOADGEN_PASSWORD", default_value = "")]
    password: String,
    /// Server process id: its CPU time and memory are sampled during the run.
    #[arg(long)]
    pid: Option<u32>,
    /// Most connections open to the server at once (kept alive, like a provider's sender).
    /// Requests due while all are busy wait for one, and that wait counts in their latency,
    /// which is measured from when each was due.
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Before measuring, send one message from every contact at the same rate (not
    /// measured): the measured run then shows steady state, not each customer's first message
    /// (which creates the contact and conversation). Cold runs are measured without it.
    #[arg(long)]
    warm: bool,
}

/// `ws-latency` across the nodes of a cluster: where the agents listen and the webhooks go.
#[derive(Args, Clone)]
struct Spread {
    /// Nodes the agents' websockets connect to, comma-separated, agent i to the i-th in turn
    /// (default: `--base`).
    #[arg(long, value_delimiter = ',')]
    ws_base: Vec<String>,
    /// Nodes the webhooks are posted to, comma-separated, message n first to the n-th in turn
    /// (default: `--base`). A post answered 503 `moved`, or that cannot connect, is sent again
    /// at once to the next (a pause of 50 ms after each round of all of them), as a provider or
    /// a load balancer would; its latencies still count from when the first attempt was due.
    #[arg(long, value_delimiter = ',')]
    post_base: Vec<String>,
    /// Contacts' external ids, one a line, used in turn instead of `--contacts` generated ones
    /// (a script picks contacts whose conversations a given node holds).
    #[arg(long)]
    contacts_file: Option<std::path::PathBuf>,
    /// Processes whose CPU time is summed over the sending (all the nodes and nats-server),
    /// comma-separated; reported per message sent.
    #[arg(long, value_delimiter = ',')]
    cpu_pids: Vec<u32>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Signed inbound messages at a fixed rate across many contacts.
    Ingest {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long, default_value_t = 10_000)]
        contacts: u64,
        /// Write the external id of every message answered 200 here (for `verify`).
        #[arg(long)]
        acked: Option<std::path::PathBuf>,
        /// Prefix of external ids (distinct per run).
        #[arg(long, default_value = "lg")]
        run: String,
        /// Closed loop instead: each of `--connections` connections sends its next message as
        /// soon as the previous one is answered, for `--duration` seconds (`--rate` is
        /// ignored), as wrk does. Measures what the server sustains when saturated.
        #[arg(long)]
        closed: bool,
    },
    /// Time from POST to the matching message.created frame at each of N agent websockets.
    WsLatency {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        agents: usize,
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long, default_value_t = 10_000)]
        contacts: u64,
        #[command(flatten)]
        spread: Spread,
    },
    /// Hold N idle agent websockets, spread over several loopback source addresses.
    IdleWs {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Comma-separated source addresses (each gives ~28k ports).
        #[arg(long, default_value = "127.0.0.1")]
        sources: String,
        /// Seconds to hold them after they are all open.
        #[arg(long, default_value_t = 60)]
        hold: u64,
        /// Hold them until standard input closes instead of `--hold` seconds: a script running
        /// one generator per node holds them all over one window it decides (it reads the
        /// `READY` line each prints once its connections are open).
        #[arg(long)]
        until_eof: bool,
        /// Connections opened at once.
        #[arg(long, default_value_t = 200)]
        parallel: usize,
    },
    /// Fill a database directly (conversations with messages), for the list benchmark.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value = "support")]
        inbox: String,
        #[arg(long, default_value_t = 100_000)]
        conversations: u64,
        #[arg(long, default_value_t = 10)]
        messages: u64,
    },
    /// Time the first page of the conversation list and the badge count.
    List {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000)]
        requests: u64,
        #[arg(long, default_value_t = 4)]
        concurrency: u64,
    },
    /// A stand-in language model (OpenAI-compatible) answering every call after a fixed
    /// latency, for runs with an `llm` assistant.
    LlmStandin {
        #[arg(long, default_value_t = 8190)]
        port: u16,
        #[arg(long, default_value_t = 500)]
        latency_ms: u64,
    },
    /// One broadcast of the API inbox to `recipients` contacts seeded into the database:
    /// listens for its callback POSTs, starts it and times it until it is completed.
    Broadcast {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 3000)]
        recipients: u64,
        /// The broadcast's `rate_per_second` (the server caps it at the inbox's throughput).
        #[arg(long, default_value_t = 100)]
        rate: u32,
        /// Port of the callback listener (the inbox's `callback_url`).
        #[arg(long, default_value_t = 8191)]
        listen: u16,
        /// Written once the broadcast is started.
        #[arg(long)]
        started_file: Option<std::path::PathBuf>,
    },
    /// Answers 200 to every POST on the inbox's `callback_url` (runs without a broadcast).
    CallbackSink {
        #[arg(long, default_value_t = 8191)]
        port: u16,
    },
    /// Check that every acknowledged message is in the database (after a kill -9).
    Verify {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value = "support")]
        inbox: String,
        #[arg(long)]
        acked: std::path::PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Cmd::Ingest {
                target,
                rate,
                duration,
                contacts,
                acked,
                run,
                closed,
            } => {
                let schedule = match closed {
                    true => Schedule::Closed,
                    false => Schedule::Open(rate),
                };
                ingest(target, schedule, duration, contacts, acked, run).await
            }
            Cmd::WsLatency {
                target,
                rate,
                agents,
                duration,
                contacts,
                spread,
            } => ws_latency(target, rate, agents, duration, contacts, spread).await,
            Cmd::IdleWs {
                target,
                count,
                sources,
                hold,
                until_eof,
                parallel,
            } => {
                let hold = match until_eof {
                    true => Hold::UntilEof,
                    false => Hold::Secs(hold),
                };
                idle_ws(target, count, &sources, hold, parallel).await
            }
            Cmd::LlmStandin { port, latency_ms } => {
                llm_standin(port, Duration::from_millis(latency_ms)).await
            }
            Cmd::Seed {
                database_url,
                inbox,
                conversations,
                messages,
            } => seed(&database_url, &inbox, conversations, messages).await,
            Cmd::List {
                target,
                requests,
                concurrency,
            } => list(target, requests, concurrency).await,
            Cmd::Verify {
                database_url,
                inbox,
                acked,
            } => verify(&database_url, &inbox, &acked).await,
            Cmd::Broadcast {
                target,
                database_url,
                recipients,
                rate,
                listen,
                started_file,
            } => {
                let plan = Plan {
                    database_url,
                    recipients,
                    rate,
                    listen,
                    started_file,
                };
                broadcast(target, plan).await
            }
            Cmd::CallbackSink { port } => callback_sink(port).await,
        }
    });
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, String>;

/// Microseconds at 3 significant digits, growing as needed.
#[allow(clippy::expect_used)]
fn histogram() -> Histogram<u64> {
    // Only more than 5 significant digits can fail.
    let mut h = Histogram::new(3).expect("3 significant digits is valid");
    h.auto(true);
    h
}

fn report(name: &str, h: &Histogram<u64>) {
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name}: n={} p50={:.2}ms p99={:.2}ms p99.9={:.2}ms max={:.2}ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max())
    );
}

/// Message `n` of a run, from contact `n % contacts`. Contacts are named independently of the
/// run, so a warm-up run reaches the same customers as the measured one.
fn inbound_body(run: &str, n: u64, contacts: u64, text: &str) -> Vec<u8> {
    let contact = format!("lg-c{}", n % contacts);
    inbound_body_from(run, n, &contact, text)
}

/// Message `n` of a run from the contact with external id `contact`.
fn inbound_body_from(run: &str, n: u64, contact: &str, text: &str) -> Vec<u8> {
    let name = match contact.strip_prefix("lg-c") {
        Some(k) => format!("Load {k}"),
        None => format!("Load {contact}"),
    };
    let body = json!({
        "external_id": format!("{run}-{n}"),
        "contact": { "external_id": contact, "name": name },
        "text": text,
    });
    body.to_string().into_bytes()
}

/// A signed inbound webhook POST, as the API channel expects it; the returned request owns
/// what it needs, so it can be awaited in a spawned task.
fn post_inbound(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: Vec<u8>,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static {
    http.post(url)
        .header(api::SIGNATURE_HEADER, api::sign(secret, &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
}

fn client() -> Res<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())
}

/// Sends one message from each of `contacts` contacts at `rate`, unmeasured (see `--warm`).
async fn warm_up(t: &Target, http: &reqwest::Client, rate: u64, contacts: u64) -> Res<()> {
    if !t.warm {
        return Ok(());
    }
    let url = format!("{}/webhooks/api/{}", t.base, t.inbox);
    let run = format!("warm{}", clock::now().and_utc().timestamp());
    let errors = Arc::new(AtomicU64::new(0));
    let duration = contacts.div_ceil(rate.max(1));
    let started = Instant::now();
    open_loop(rate, duration, t.connections, |n, _| {
        let body = inbound_body(&run, n, contacts, "Hello");
        let request = post_inbound(http, &url, &t.secret, body);
        let errors = errors.clone();
        async move {
            let ok = request.await.is_ok_and(|r| r.status().is_success());
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    println!(
        "warm-up: one message from each of {contacts} contacts in {:.1}s; errors {}",
        started.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Runs `send(n, due)` on an open-loop schedule of `rate` per second for `duration` seconds,
/// at most `connections` at a time. The schedule never waits for the server (a late answer
/// does not delay the next request, as in wrk2); without the cap, a server falling behind would
/// make the generator open thousands of connections and spend the machine's CPU on that.
async fn open_loop<F, Fut>(rate: u64, duration: u64, connections: usize, send: F)
where
    F: Fn(u64, Instant) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let total = rate * duration;
    let start = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(connections.max(1)));
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + Duration::from_nanos(n * 1_000_000_000 / rate.max(1));
        let now = Instant::now();
        if due > now {
            tokio::time::sleep(due - now).await;
        }
        let (slots, request) = (slots.clone(), send(n, due));
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            request.await
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// How requests are sent: at a fixed rate whatever the server does, or each connection's next
/// when its previous one is answered.
#[derive(Clone, Copy)]
enum Schedule {
    Open(u64),
    Closed,
}

/// Runs `send(n, sent)` on each of `connections` connections, one after the other, until
/// `duration` seconds have passed; latency counts from each request's own start.
async fn closed_loop<F, Fut>(duration: u64, connections: usize, send: F)
where
    F: Fn(u64, Instant) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let end = Instant::now() + Duration::from_secs(duration);
    let slots = Arc::new(tokio::sync::Semaphore::new(connections.max(1)));
    let mut running = tokio::task::JoinSet::new();
    for n in 0.. {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if Instant::now() >= end {
            break;
        }
        let request = send(n, Instant::now());
        running.spawn(async move {
            request.await;
            drop(slot);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

async fn ingest(
    t: Target,
    schedule: Schedule,
    duration: u64,
    contacts: u64,
    acked: Option<std::path::PathBuf>,
    run: String,
) -> Res<()> {
    let http = client()?;
    let warm_rate = match schedule {
        Schedule::Open(rate) => rate,
        Schedule::Closed => 2000,
    };
    warm_up(&t, &http, warm_rate, contacts).await?;
    let url = format!("{}/webhooks/api/{}", t.base, t.inbox);
    let hist = Arc::new(Mutex::new(histogram()));
    let errors: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let acked_ids = Arc::new(Mutex::new(Vec::new()));
    let watch = ProcWatch::start(t.pid);
    let started = Instant::now();
    let send = |n, due: Instant| {
        let (hist, errors, acked_ids) = (hist.clone(), errors.clone(), acked_ids.clone());
        let body = inbound_body(&run, n, contacts, "Hello, is my order on its way?");
        let request = post_inbound(&http, &url, &t.secret, body);
        let run = run.clone();
        async move {
            match request.await {
                Ok(r) if r.status().is_success() => {
                    let us = due.elapsed().as_micros() as u64;
                    if let Ok(mut h) = hist.lock() {
                        let _ = h.record(us.max(1));
                    }
                    if let Ok(mut a) = acked_ids.lock() {
                        a.push(format!("{run}-{n}"));
                    }
                }
                other => {
                    let why = match other {
                        Ok(r) => format!("HTTP {}", r.status().as_u16()),
                        Err(e) if e.is_timeout() => "timeout".to_owned(),
                        Err(e) if e.is_connect() => "connect".to_owned(),
                        Err(_) => "other transport error".to_owned(),
                    };
                    if let Ok(mut m) = errors.lock() {
                        *m.entry(why).or_default() += 1;
                    }
                }
            }
        }
    };
    let offered = match schedule {
        Schedule::Open(rate) => {
            open_loop(rate, duration, t.connections, send).await;
            format!("offered {rate}/s")
        }
        Schedule::Closed => {
            closed_loop(duration, t.connections, send).await;
            format!("closed loop on {} connections", t.connections)
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let h = hist.lock().map_err(|e| e.to_string())?;
    let rate_acked = h.len() as f64 / wall;
    println!(
        "ingest: {offered} for {duration}s; {rate_acked:.0} acknowledged/s; errors {:?}",
        errors.lock().map(|m| m.clone()).unwrap_or_default()
    );
    report("ingest latency (due → 200)", &h);
    // One line for scripts (bench/run.sh): the rate, and what each message cost the server.
    let (cpu_us, cores) = match watch.report() {
        Some((cpu, server_wall)) if !h.is_empty() => (
            format!("{:.0}", cpu * 1e6 / h.len() as f64),
            format!("{:.2}", cpu / server_wall),
        ),
        _ => ("-".to_owned(), "-".to_owned()),
    };
    println!(
        "RESULT acked_per_s={rate_acked:.0} cpu_us_per_msg={cpu_us} cores={cores} p50_ms={:.2} p99_ms={:.2}",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0
    );
    if let Some(path) = acked {
        let ids = acked_ids.lock().map_err(|e| e.to_string())?;
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        for id in ids.iter() {
            writeln!(f, "{id}").map_err(|e| e.to_string())?;
        }
        println!("wrote {} acknowledged ids to {}", ids.len(), path.display());
    }
    Ok(())
}

async fn login(t: &Target) -> Res<String> {
    let v: Value = client()?
        .post(format!("{}/api/auth/login", t.base))
        .json(&json!({"email": t.email, "password": t.password}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    v["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login failed: {v}"))
}

fn ws_url(base: &str, token: &str) -> String {
    format!(
        "{}/api/ws?token={token}",
        base.replacen("http://", "ws://", 1)
    )
}

/// How long agents' sockets keep reading after the last frame, or after the run.
const READERS_LINGER: Duration = Duration::from_secs(5);

/// Where a webhook ended: counts of the retries and of the posts that never landed, by cause.
#[derive(Default)]
struct Placement {
    /// Attempts answered 503 `moved` (sent again to the next node).
    moved: AtomicU64,
    /// Attempts that could not connect (sent again to the next node).
    unreachable: AtomicU64,
    /// Posts given up, by cause.
    errors: Mutex<BTreeMap<String, u64>>,
}

/// Attempts at one webhook before giving up (ten rounds of three nodes).
const MAX_ATTEMPTS: usize = 30;

/// Posts `body` to `urls[first]`, and again to the next URL (in turn) after a 503 `moved`
/// answer or a failed connection; true once one answered 2xx.
async fn post_placed(
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    first: usize,
    secret: String,
    body: Vec<u8>,
    placement: Arc<Placement>,
) -> bool {
    let why = 'attempts: {
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 && attempt % urls.len() == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let url = &urls[(first + attempt) % urls.len()];
            match post_inbound(&http, url, &secret, body.clone()).await {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) if r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                    if r.text().await.unwrap_or_default().contains("\"moved\"") {
                        placement.moved.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    break 'attempts "HTTP 503".to_owned();
                }
                Ok(r) => break 'attempts format!("HTTP {}", r.status().as_u16()),
                Err(e) if e.is_connect() => {
                    placement.unreachable.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(e) if e.is_timeout() => break 'attempts "timeout".to_owned(),
                Err(_) => break 'attempts "other transport error".to_owned(),
            }
        }
        format!("{MAX_ATTEMPTS} attempts moved or unreachable")
    };
    if let Ok(mut m) = placement.errors.lock() {
        *m.entry(why).or_default() += 1;
    }
    false
}

/// Summed CPU seconds of `pids` (those still running).
fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|&p| procfs::proc_sample(p))
        .map(|(cpu, _)| cpu)
        .sum()
}

/// `--ws-base` / `--post-base`: the list given, else `--base` alone.
fn bases(list: &[String], base: &str) -> Vec<String> {
    match list.is_empty() {
        true => vec![base.to_owned()],
        false => list.iter().map(|b| b.trim().to_owned()).collect(),
    }
}

async fn ws_latency(
    t: Target,
    rate: u64,
    agents: usize,
    duration: u64,
    contacts: u64,
    spread: Spread,
) -> Res<()> {
    let token = login(&t).await?;
    let ws_bases = bases(&spread.ws_base, &t.base);
    let post_urls: Arc<Vec<String>> = Arc::new(
        bases(&spread.post_base, &t.base)
            .iter()
            .map(|b| format!("{b}/webhooks/api/{}", t.inbox))
            .collect(),
    );
    let contact_list: Option<Vec<String>> = match &spread.contacts_file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let list: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if list.is_empty() {
                return Err(format!("{} lists no contact", path.display()));
            }
            Some(list)
        }
    };
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let hist = Arc::new(Mutex::new(histogram()));
    let received = Arc::new(AtomicU64::new(0));
    let ended: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let mut readers = Vec::new();
    for i in 0..agents {
        let base = &ws_bases[i % ws_bases.len()];
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(base, &token))
            .await
            .map_err(|e| format!("agent websocket at {base}: {e}"))?;
        let (sent, hist, received) = (sent.clone(), hist.clone(), received.clone());
        let ended = ended.clone();
        readers.push(tokio::spawn(async move {
            // Until 5 s without a frame, or 5 s after the run: other pushes (reviews, say)
            // may never fall silent.
            let mut last = Instant::now();
            loop {
                let late = ended.get().is_some_and(|t| t.elapsed() > READERS_LINGER);
                if late || last.elapsed() > READERS_LINGER {
                    break;
                }
                let msg = match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
                    Ok(Some(Ok(msg))) => msg,
                    Ok(_) => break,
                    Err(_) => continue,
                };
                last = Instant::now();
                let Message::Text(text) = msg else { continue };
                // Cheap filter before parsing: only customer messages carry our tags.
                if !text.contains("\"message.created\"") {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                let Some(tag) = v["message"]["text"]
                    .as_str()
                    .and_then(|s| s.strip_prefix("lgws "))
                else {
                    continue;
                };
                let due = sent.lock().ok().and_then(|m| m.get(tag).copied());
                if let Some(due) = due {
                    received.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut h) = hist.lock() {
                        let _ = h.record((due.elapsed().as_micros() as u64).max(1));
                    }
                }
            }
        }));
    }
    let http = client()?;
    warm_up(&t, &http, rate, contacts).await?;
    let run = format!("ws{}", clock::now().and_utc().timestamp());
    // The answer's latency too: it tells the ingest path's share from the fan-out's.
    let answered = Arc::new(Mutex::new(histogram()));
    let placement = Arc::new(Placement::default());
    let watch = ProcWatch::start(t.pid);
    let cpu0 = cpu_of(&spread.cpu_pids);
    let sending = Instant::now();
    open_loop(rate, duration, t.connections, |n, due| {
        let tag = format!("{run}-{n}");
        let text = format!("lgws {tag}");
        let body = match &contact_list {
            Some(list) => inbound_body_from(&run, n, &list[n as usize % list.len()], &text),
            None => inbound_body(&run, n, contacts, &text),
        };
        if let Ok(mut m) = sent.lock() {
            m.insert(tag, due);
        }
        let first = n as usize % post_urls.len();
        let request = post_placed(
            http.clone(),
            post_urls.clone(),
            first,
            t.secret.clone(),
            body,
            placement.clone(),
        );
        let answered = answered.clone();
        async move {
            if request.await {
                if let Ok(mut h) = answered.lock() {
                    let _ = h.record((due.elapsed().as_micros() as u64).max(1));
                }
            }
        }
    })
    .await;
    let cpu = cpu_of(&spread.cpu_pids) - cpu0;
    let sending = sending.elapsed().as_secs_f64();
    let _ = ended.set(Instant::now());
    for r in readers {
        let _ = r.await;
    }
    let sent_n = rate * duration;
    let acked = answered.lock().map_err(|e| e.to_string())?.len();
    let expected = acked * agents as u64;
    let moved = placement.moved.load(Ordering::Relaxed);
    let unreachable = placement.unreachable.load(Ordering::Relaxed);
    let errors = placement
        .errors
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    println!(
        "ws-latency: {rate}/s × {duration}s to {} post base(s), fanned out to {agents} agents on {} websocket base(s): {acked} of {sent_n} posts answered 2xx; {} of {expected} frames arrived; attempts answered `moved` {moved}, unreachable {unreachable}; posts given up {errors:?}",
        post_urls.len(),
        ws_bases.len(),
        received.load(Ordering::Relaxed)
    );
    report(
        "POST due → 200 answer",
        &*answered.lock().map_err(|e| e.to_string())?,
    );
    report(
        "POST due → message.created at an agent",
        &*hist.lock().map_err(|e| e.to_string())?,
    );
    let frames = hist.lock().map_err(|e| e.to_string())?;
    let cpu_us = watch.report().map_or("-".to_owned(), |(cpu, _)| {
        format!("{:.0}", cpu * 1e6 / sent_n.max(1) as f64)
    });
    let cpu_pids_us = match spread.cpu_pids.is_empty() {
        true => "-".to_owned(),
        false => format!("{:.0}", cpu * 1e6 / sent_n.max(1) as f64),
    };
    if !spread.cpu_pids.is_empty() {
        println!(
            "processes {:?}: {:.1}s CPU over {sending:.1}s of sending ({:.0}% of one core)",
            spread.cpu_pids,
            cpu,
            100.0 * cpu / sending
        );
    }
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "RESULT cpu_us_per_msg={cpu_us} cpu_us_per_msg_pids={cpu_pids_us} frame_p50_ms={:.2} frame_p99_ms={:.2} frame_p999_ms={:.2} frame_max_ms={:.2} frames={} expected={expected} sent={sent_n} acked={acked} moved={moved} unreachable={unreachable} given_up={}",
        ms(frames.value_at_quantile(0.5)),
        ms(frames.value_at_quantile(0.99)),
        ms(frames.value_at_quantile(0.999)),
        ms(frames.max()),
        received.load(Ordering::Relaxed),
        errors.values().sum::<u64>()
    );
    Ok(())
}

async fn seed(url: &str, inbox: &str, conversations: u64, messages: u64) -> Res<()> {
    let store = db::Store::open(url, 2)?;
    let started = Instant::now();
    let batch = 500u64;
    let mut done = 0;
    while done < conversations {
        let n = batch.min(conversations - done);
        let inbox = inbox.to_owned();
        let first = done;
        store
            .write(move |c| {
                for i in first..first + n {
                    db::seed::conversation(c, &inbox, i, messages)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
        done += n;
        if done % 10_000 == 0 || done == conversations {
            println!(
                "seeded {done}/{conversations} conversations ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn list(t: Target, requests: u64, concurrency: u64) -> Res<()> {
    let token = login(&t).await?;
    let http = client()?;
    for (name, path) in [
        (
            "GET /api/conversations?limit=50",
            "/api/conversations?limit=50",
        ),
        (
            "GET /api/conversations?status=human&limit=50",
            "/api/conversations?status=human&limit=50",
        ),
        ("GET /api/badge", "/api/badge"),
    ] {
        let hist = Arc::new(Mutex::new(histogram()));
        // The server's own time for each answer (its Server-Timing header), without the
        // client's and the loopback's share.
        let server = Arc::new(Mutex::new(histogram()));
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (http, hist, server, token, url) = (
                http.clone(),
                hist.clone(),
                server.clone(),
                token.clone(),
                format!("{}{path}", t.base),
            );
            workers.push(tokio::spawn(async move {
                for _ in 0..requests / concurrency {
                    let start = Instant::now();
                    let Ok(r) = http.get(&url).bearer_auth(&token).send().await else {
                        continue;
                    };
                    let took = r
                        .headers()
                        .get(timing::HEADER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(timing::parse_micros);
                    // Read the body, so the connection is reused and the time is complete.
                    if !r.status().is_success() || r.bytes().await.is_err() {
                        continue;
                    }
                    if let Ok(mut h) = hist.lock() {
                        let _ = h.record((start.elapsed().as_micros() as u64).max(1));
                    }
                    if let (Some(us), Ok(mut h)) = (took, server.lock()) {
                        let _ = h.record(us.max(1));
                    }
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
        report(
            &format!("{name} (client)"),
            &*hist.lock().map_err(|e| e.to_string())?,
        );
        report(
            &format!("{name} (server)"),
            &*server.lock().map_err(|e| e.to_string())?,
        );
    }
    Ok(())
}

async fn verify(url: &str, inbox: &str, acked: &std::path::Path) -> Res<()> {
    let ids: Vec<String> = std::fs::read_to_string(acked)
        .map_err(|e| format!("cannot read {}: {e}", acked.display()))?
        .lines()
        .map(str::to_owned)
        .collect();
    let store = db::Store::open(url, 2)?;
    let inbox = switchboard::domain::InboxId::from(inbox);
    let total = ids.len();
    let missing = store
        .read(move |c| {
            let mut missing = Vec::new();
            for id in &ids {
                if queries::message_by_external_id(c, &inbox, id)?.is_none() {
                    missing.push(id.clone());
                }
            }
            Ok(missing)
        })
        .await
        .map_err(|e| e.to_string())?;
    println!("verify: {} acknowledged, {} missing", total, missing.len());
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "acknowledged but lost: {:?}",
            &missing[..missing.len().min(20)]
        ))
    }
}
