//! `loadgen broadcast`: one API-channel broadcast, end to end, against a running server.
//!
//! Seeds the contacts straight into the database, listens for the broadcast's signed POSTs
//! on the inbox's `callback_url` (answering 200, counting them, and checking that no
//! `message_id` arrives twice), then — through the API, as an agent would — makes a static
//! segment of the contacts, a broadcast to it, starts it and waits until it is `completed`.
//! `loadgen callback-sink` is the same listener alone, for the runs without a broadcast (the
//! inbox's replies go to the same `callback_url`, so both runs configure it).

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use chrono::NaiveDateTime;
use serde_json::{json, Value};
use switchboard::db;
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

use crate::{client, http1::next_request, login, procfs::proc_sample, Res, Target};

/// What the listener has received.
#[derive(Default)]
pub struct Received {
    /// Broadcast POSTs (a `broadcast_id` in the body).
    broadcast: AtomicU64,
    /// Broadcast POSTs whose `message_id` had already arrived.
    duplicates: AtomicU64,
    /// Other POSTs: the inbox's replies to customers.
    replies: AtomicU64,
    /// Bodies that were not JSON.
    unreadable: AtomicU64,
    seen: Mutex<HashSet<String>>,
}

impl Received {
    fn take(&self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if v.get("broadcast_id").is_none() {
            self.replies.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.broadcast.fetch_add(1, Ordering::Relaxed);
        let id = v["message_id"].as_str().unwrap_or_default().to_owned();
        let fresh = self.seen.lock().map(|mut s| s.insert(id)).unwrap_or(true);
        if !fresh {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn line(&self) -> String {
        format!(
            "broadcast POSTs {}, duplicate message_ids {}, reply POSTs {}, unreadable {}",
            self.broadcast.load(Ordering::Relaxed),
            self.duplicates.load(Ordering::Relaxed),
            self.replies.load(Ordering::Relaxed),
            self.unreadable.load(Ordering::Relaxed)
        )
    }
}

/// Listens on 127.0.0.1:`port` in the background; every POST is answered 200.
async fn listen(port: u16) -> Res<Arc<Received>> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on {port}: {e}"))?;
    let received = Arc::new(Received::default());
    let r = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let r = r.clone();
            tokio::spawn(async move {
                let _ = serve(stream, &r).await;
            });
        }
    });
    Ok(received)
}

/// One keep-alive connection: request after request, each answered 200 at once.
async fn serve(mut stream: TcpStream, received: &Received) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(16 * 1024);
    while let Some(request) = next_request(&mut stream, &mut buf).await? {
        received.take(&request.body);
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            )
            .await?;
    }
    Ok(())
}

/// The listener alone, until killed; prints what arrived every 10 s.
pub async fn callback_sink(port: u16) -> Res<()> {
    let received = listen(port).await?;
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        eprintln!("callback-sink: {}", received.line());
    }
}

/// What the broadcast subcommand is asked to do.
pub struct Plan {
    pub database_url: String,
    pub recipients: u64,
    pub rate: u32,
    pub listen: u16,
    /// Written once the broadcast is started (a script starts its other load then).
    pub started_file: Option<PathBuf>,
}

pub async fn broadcast(t: Target, plan: Plan) -> Res<()> {
    let received = listen(plan.listen).await?;
    let ids = seed_contacts(&plan.database_url, &t.inbox, plan.recipients).await?;
    let token = login(&t).await?;
    let http = client()?;
    let api = |path: &str| format!("{}/api{path}", t.base);
    let call = |req: reqwest::RequestBuilder, body: Value| {
        let token = token.clone();
        async move {
            let r = req
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status();
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            if status.is_success() {
                Ok(v)
            } else {
                Err(format!("HTTP {status}: {v}"))
            }
        }
    };
    let stamp = switchboard::clock::now().and_utc().timestamp_micros();
    let segment = call(
        http.post(api("/segments")),
        json!({"name": format!("bench {stamp}"), "kind": "static"}),
    )
    .await?;
    let segment = segment["id"]
        .as_str()
        .ok_or("segment without id")?
        .to_owned();
    let mut added = 0;
    for chunk in ids.chunks(1000) {
        let v = call(
            http.post(api(&format!("/segments/{segment}/contacts"))),
            json!({ "contact_ids": chunk }),
        )
        .await?;
        added += v["changed"].as_u64().unwrap_or(0);
    }
    let created = call(
        http.post(api("/broadcasts")),
        json!({
            "name": format!("bench {stamp}"),
            "inbox": t.inbox,
            "segments": [segment],
            "text": "Hi {{name}}",
            "rate_per_second": plan.rate,
        }),
    )
    .await?;
    let id = created["id"]
        .as_str()
        .ok_or("broadcast without id")?
        .to_owned();
    println!(
        "broadcast: {added} contacts in the segment; asked {}/s, the server paces it at {}/s",
        plan.rate, created["rate_per_second"]
    );
    let cpu0 = t.pid.and_then(proc_sample).map(|(cpu, _)| cpu);
    let started = Instant::now();
    call(
        http.post(api(&format!("/broadcasts/{id}/start"))),
        json!({}),
    )
    .await?;
    if let Some(path) = &plan.started_file {
        std::fs::write(path, &id).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // Once a second, as the dashboard does (every 1.5 s): each look counts the recipients by
    // status, work that polling faster would add to the server's CPU per recipient.
    let done = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let v: Value = http
            .get(api(&format!("/broadcasts/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match v["status"].as_str() {
            Some("completed") => break v,
            Some("running") => {}
            other => return Err(format!("broadcast is {other:?}: {v}")),
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu0
        .zip(t.pid.and_then(proc_sample))
        .map(|(a, (b, _))| b - a);
    let at = |field: &str| serde_json::from_value::<NaiveDateTime>(done[field].clone()).ok();
    // The server's own start and completion times; the wall time includes up to a second of
    // polling.
    let elapsed = match (at("started_at"), at("completed_at")) {
        (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6,
        _ => wall,
    };
    let counts = &done["counts"];
    let sent = counts["sent"].as_u64().unwrap_or(0);
    println!(
        "broadcast: {} recipients, {sent} sent, {} failed, {} skipped, {} unknown",
        counts["total"], counts["failed"], counts["skipped"], counts["unknown"]
    );
    println!(
        "broadcast: {sent} recipients in {elapsed:.2}s (started → completed; {wall:.2}s as polled) = {:.1} recipients/s",
        sent as f64 / elapsed.max(1e-9)
    );
    if let Some(cpu) = cpu {
        println!(
            "broadcast: server cpu {cpu:.2}s = {:.0} µs per recipient ({:.0}% of one core)",
            cpu * 1e6 / sent.max(1) as f64,
            100.0 * cpu / wall
        );
    }
    // Every send is answered before its row is recorded, so all have arrived by now.
    println!("callback listener: {}", received.line());
    let duplicates = received.duplicates.load(Ordering::Relaxed);
    let arrived = received.broadcast.load(Ordering::Relaxed);
    if duplicates > 0 || arrived != sent {
        return Err(format!(
            "{duplicates} duplicates; {arrived} POSTs arrived for {sent} sent"
        ));
    }
    Ok(())
}

/// `n` contacts of the inbox, written in transactions of 500; their ids.
async fn seed_contacts(url: &str, inbox: &str, n: u64) -> Res<Vec<String>> {
    let store = db::Store::open(url, 2)?;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n as usize);
    let mut done = 0;
    while done < n {
        let batch = 500.min(n - done);
        let (inbox, first) = (inbox.to_owned(), done);
        let written = store
            .write(move |c| {
                (first..first + batch)
                    .map(|i| db::seed::contact(c, &inbox, i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| e.to_string())?;
        ids.extend(written.iter().map(ToString::to_string));
        done += batch;
    }
    println!(
        "seeded {n} contacts in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(ids)
}
