//! `loadgen idle-ws`: what an idle agent websocket costs the server. Opens many connections
//! that only answer pings, spread over several source addresses (one address has only ~28,000
//! ephemeral ports), holds them, and reports the server's memory and the kernel's.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::OwnedSemaphorePermit, task::JoinHandle};
use tokio_tungstenite::tungstenite::Message;

use super::{
    login,
    procfs::{proc_sample, slab_bytes},
    Res, Target,
};

/// How many sockets finished their handshake, how many of those the server closed since, and
/// how many never opened (and why: the first error of each kind is kept).
#[derive(Default)]
struct Tally {
    open: AtomicU64,
    closed: AtomicU64,
    failed: AtomicU64,
    reasons: std::sync::Mutex<std::collections::BTreeMap<&'static str, (u64, String)>>,
}

impl Tally {
    fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// A connection that never opened, at `stage` (socket, bind, connect, handshake).
    fn fail(&self, stage: &'static str, error: impl std::fmt::Display) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.reasons.lock() {
            let entry = m.entry(stage).or_insert_with(|| (0, error.to_string()));
            entry.0 += 1;
        }
    }

    /// `stage: count (first error)` for each stage that failed.
    fn failures(&self) -> String {
        let m = self.reasons.lock().map(|m| m.clone()).unwrap_or_default();
        let parts: Vec<String> = m
            .iter()
            .map(|(stage, (n, first))| format!("{stage}: {n} (first: {first})"))
            .collect();
        parts.join("; ")
    }
}

/// How long the connections are held once open.
pub enum Hold {
    /// This many seconds.
    Secs(u64),
    /// Until standard input closes (a script holding several generators decides when).
    UntilEof,
}

/// Opens `count` idle agent websockets (at most `parallel` handshakes at once, taking the
/// `sources` addresses in turn), holds them `hold` seconds, and reports what they cost.
pub async fn idle_ws(
    t: Target,
    count: usize,
    sources: &str,
    hold: Hold,
    parallel: usize,
) -> Res<()> {
    let token = login(&t).await?;
    let sources = parse_sources(sources)?;
    let server = server_addr(&t.base)?;
    let before = t.pid.and_then(proc_sample);
    let slab_before = slab_bytes();
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let handles = open_all(server, &sources, &token, count, parallel, &tally).await?;
    wait_for_handshakes(&tally, count, started).await;
    println!(
        "idle-ws: {} of {count} open after {:.1}s; failed to open: {}{}",
        tally.open(),
        started.elapsed().as_secs_f64(),
        tally.failed(),
        match tally.failed() {
            0 => String::new(),
            _ => format!(" ({})", tally.failures()),
        }
    );
    // For scripts: every connection has either opened or failed (or ten minutes passed).
    println!(
        "READY open={} failed={} closed={}",
        tally.open(),
        tally.failed(),
        tally.closed()
    );
    let loaded = t.pid.and_then(proc_sample);
    let held = Instant::now();
    let closed_before_hold = tally.closed();
    match hold {
        Hold::Secs(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        Hold::UntilEof => until_stdin_closes().await,
    }
    let after = t.pid.and_then(proc_sample);
    println!(
        "idle-ws: held {:.0}s; closed by the server meanwhile: {}",
        held.elapsed().as_secs_f64(),
        tally.closed() - closed_before_hold
    );
    println!(
        "HELD open={} failed={} closed_while_held={} closed_total={}",
        tally.open(),
        tally.failed(),
        tally.closed() - closed_before_hold,
        tally.closed()
    );
    report_cost(count, [before, loaded, after], slab_before);
    for h in handles {
        h.abort();
    }
    Ok(())
}

/// Returns once standard input is closed (or unreadable).
async fn until_stdin_closes() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
}

/// `--sources`: comma-separated local addresses to connect from.
fn parse_sources(sources: &str) -> Res<Vec<IpAddr>> {
    sources
        .split(',')
        .map(|s| s.trim().parse().map_err(|e| format!("bad source {s}: {e}")))
        .collect()
}

/// The server's socket address, from `--base` (sockets are opened by hand to pick the source).
fn server_addr(base: &str) -> Res<SocketAddr> {
    base.trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("--base must be http://IP:PORT for idle-ws: {e}"))
}

/// Starts one task per connection, each waiting for a permit: at most `parallel` handshakes
/// are in flight.
async fn open_all(
    server: SocketAddr,
    sources: &[IpAddr],
    token: &str,
    count: usize,
    parallel: usize,
    tally: &Arc<Tally>,
) -> Res<Vec<JoinHandle<()>>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let source = sources[i % sources.len()];
        let connection = idle_agent(source, server, token.to_owned(), tally.clone(), permit);
        handles.push(tokio::spawn(connection));
    }
    Ok(handles)
}

/// One idle agent: connects from `source`, gives its permit back once the handshake is done,
/// then only answers pings until the server closes the socket. A connection that fails to
/// open is counted as failed, with its stage and error.
async fn idle_agent(
    source: IpAddr,
    server: SocketAddr,
    token: String,
    tally: Arc<Tally>,
    permit: OwnedSemaphorePermit,
) {
    let socket = match source {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    };
    let socket = match socket {
        Ok(socket) => socket,
        Err(e) => return tally.fail("socket", e),
    };
    // Small buffers: an idle agent needs little.
    let _ = socket.set_recv_buffer_size(4096);
    let _ = socket.set_send_buffer_size(4096);
    if let Err(e) = socket.bind(SocketAddr::new(source, 0)) {
        return tally.fail("bind", e);
    }
    let tcp = match socket.connect(server).await {
        Ok(tcp) => tcp,
        Err(e) => return tally.fail("connect", e),
    };
    let url = format!("ws://{server}/api/ws?token={token}");
    let mut ws = match tokio_tungstenite::client_async(url, tcp).await {
        Ok((ws, _)) => ws,
        Err(e) => return tally.fail("handshake", e),
    };
    tally.open.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    // Read (and so answer pings) until the server closes or we are dropped.
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Ping(p) = msg {
            let _ = ws.send(Message::Pong(p)).await;
        }
    }
    tally.closed.fetch_add(1, Ordering::Relaxed);
}

/// Waits until every connection is open (or failed), for ten minutes at most.
async fn wait_for_handshakes(tally: &Tally, count: usize, started: Instant) {
    while tally.open() + tally.failed() < count as u64
        && started.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if tally.open() as usize == count {
            break;
        }
    }
}

/// The server's resident memory before, with the connections open and after holding them
/// (`samples`, from `--pid`), the kernel's socket counts, and its slab growth since
/// `slab_before`, each per connection where it means something.
fn report_cost(count: usize, samples: [Option<(f64, u64)>; 3], slab_before: Option<u64>) {
    if let [Some((_, r0)), Some((_, r1)), Some((_, r2))] = samples {
        let per = (r1.saturating_sub(r0) as f64 * 1024.0) / count.max(1) as f64;
        println!("server rss: {} → {} MiB with them open ({} MiB after holding); {:.1} KiB per connection (user space)", r0 / 1024, r1 / 1024, r2 / 1024, per / 1024.0);
    }
    if let Ok(sockstat) = std::fs::read_to_string("/proc/net/sockstat") {
        println!("kernel sockstat:\n{}", sockstat.trim());
    }
    if let (Some(k0), Some(k1)) = (slab_before, slab_bytes()) {
        // Both ends of every loopback connection live in this kernel: half is the server's.
        let per = k1.saturating_sub(k0) as f64 / 2.0 / count.max(1) as f64;
        println!(
            "kernel slab memory: {} → {} MiB; {:.1} KiB per connection (server's end: half of the growth)",
            k0 >> 20,
            k1 >> 20,
            per / 1024.0
        );
    }
}
