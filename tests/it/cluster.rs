//! Cluster mode, its foundations so far: shard leases in NATS KV against a private
//! `nats-server -js` of each test's own (failover after a node dies, handover when one leaves
//! or joins, every holder giving up when NATS stops answering), the epoch fence in PostgreSQL
//! (a stale owner cannot write after a takeover), and the start refusals.

use std::{
    collections::{BTreeSet, HashMap},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel::{Connection, PgConnection};
use futures_util::future::BoxFuture;
use futures_util::StreamExt as _;
use switchboard::actors::hub::Audience;
use switchboard::cluster::{
    events,
    fence::{self, Epoch, FenceError},
    lease::{self, Holder, LeaseTiming, Leases},
    NodeId, Shard, SHARDS,
};

use serde_json::Value;

use crate::helpers::{
    login, signed_customer, status_json, Backend, FakeProvider, ServerProcess, TestDb, WsClient,
    ADMIN_EMAIL, ADMIN_PASSWORD, SECRET,
};

/// A `nats-server -js` of the test's own, on a free port, with its store in a temporary
/// directory; killed on drop.
pub struct NatsServer {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            // Never a silent skip: these tests fail without it, with the reason.
            .unwrap_or_else(|e| panic!("nats-server is required for the cluster tests (Debian package nats-server): {e}"));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        NatsServer {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(&self.url)
            .await
            .expect("connect to NATS");
        async_nats::jetstream::new(client)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Who serves which shard, as the holders were told, across all nodes of a test: a grant
/// while another node still serves the shard is a violation of "one writer".
#[derive(Default)]
struct Ledger {
    serving: HashMap<Shard, String>,
    violations: Vec<String>,
    grants: usize,
}

struct Recorder {
    node: String,
    ledger: Arc<Mutex<Ledger>>,
}

impl Holder for Recorder {
    fn granted(&self, shard: Shard) -> BoxFuture<'static, Result<(), String>> {
        let mut ledger = self.ledger.lock().unwrap();
        ledger.grants += 1;
        if let Some(other) = ledger.serving.insert(shard, self.node.clone()) {
            let violation = format!(
                "shard {shard} granted to {} while {other} serves it",
                self.node
            );
            ledger.violations.push(violation);
        }
        Box::pin(async { Ok(()) })
    }

    fn revoked(&self, shard: Shard) -> BoxFuture<'static, ()> {
        let mut ledger = self.ledger.lock().unwrap();
        if ledger.serving.get(&shard) == Some(&self.node) {
            ledger.serving.remove(&shard);
        }
        Box::pin(async {})
    }
}

/// Test timing: the defaults (3 s TTL, renewed every second, claims every 250 ms).
fn timing() -> LeaseTiming {
    LeaseTiming::default()
}

async fn join(nats: &NatsServer, name: &str, ledger: &Arc<Mutex<Ledger>>) -> Leases {
    let holder = Arc::new(Recorder {
        node: name.to_owned(),
        ledger: ledger.clone(),
    });
    Leases::join(
        &nats.jetstream().await,
        NodeId::parse(name).unwrap(),
        format!("127.0.0.1:0/{name}"),
        timing(),
        holder,
    )
    .await
    .expect("join the cluster")
}

/// Waits until `done` holds, up to `limit`; returns how long it took.
async fn within(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

fn held(leases: &[&Leases]) -> Vec<BTreeSet<Shard>> {
    leases.iter().map(|l| l.owned().borrow().clone()).collect()
}

/// Every shard held by exactly one of these nodes.
fn partitioned(sets: &[BTreeSet<Shard>]) -> bool {
    let total: usize = sets.iter().map(BTreeSet::len).sum();
    let union: BTreeSet<Shard> = sets.iter().flatten().copied().collect();
    total == usize::from(SHARDS) && union.len() == usize::from(SHARDS)
}

#[actix_rt::test]
async fn three_nodes_split_the_shards_and_survivors_take_a_dead_nodes_within_five_seconds() {
    let nats = NatsServer::start();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let n1 = join(&nats, "n1", &ledger).await;
    let n2 = join(&nats, "n2", &ledger).await;
    let n3 = join(&nats, "n3", &ledger).await;

    // Each takes the shards it prefers (plus, briefly, orphans), then they settle at one
    // owner per shard with every node holding a fair part.
    within(Duration::from_secs(15), "three nodes settle", || {
        let sets = held(&[&n1, &n2, &n3]);
        partitioned(&sets) && sets.iter().all(|s| s.len() >= 60)
    })
    .await;

    // kill -9 of n2, as NATS sees it: its connection closes and its leases stay until they
    // expire. The dead process serves nothing from now on.
    let dead: BTreeSet<Shard> = n2.owned().borrow().clone();
    n2.abandon();
    {
        let mut ledger = ledger.lock().unwrap();
        ledger.serving.retain(|_, node| node != "n2");
    }
    let took = within(
        Duration::from_secs(5),
        "survivors take the dead node's shards",
        || partitioned(&held(&[&n1, &n3])),
    )
    .await;
    eprintln!(
        "{} shards of the dead node re-homed in {took:?}",
        dead.len()
    );

    // A graceful leave hands over at once, not after the TTL.
    n3.leave().await;
    let took = within(
        Duration::from_millis(2500),
        "n1 takes the shards n3 handed over",
        || n1.owned().borrow().len() == usize::from(SHARDS),
    )
    .await;
    eprintln!("handover on leave: {took:?}");

    // A node that comes back takes its share again, handed over by n1.
    let n2 = join(&nats, "n2", &ledger).await;
    within(
        Duration::from_secs(20),
        "the returning node takes its share",
        || {
            let sets = held(&[&n1, &n2]);
            partitioned(&sets) && sets[1].len() >= 100
        },
    )
    .await;

    let ledger = ledger.lock().unwrap();
    assert!(ledger.violations.is_empty(), "{:#?}", ledger.violations);
    n1.abandon();
    n2.abandon();
}

#[actix_rt::test]
async fn holders_stop_serving_when_nats_stops_answering_and_take_over_again_after() {
    let nats = NatsServer::start();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let a = join(&nats, "a", &ledger).await;
    let b = join(&nats, "b", &ledger).await;
    within(Duration::from_secs(15), "two nodes settle", || {
        partitioned(&held(&[&a, &b]))
    })
    .await;

    // Frozen NATS: no renewal comes back, so each node must stop serving every shard by its
    // own clock, before the leases can expire in NATS (TTL after the last renewal).
    nats.pause();
    let paused = Instant::now();
    let took = within(Duration::from_secs(3), "every holder gives up", || {
        ledger.lock().unwrap().serving.is_empty()
    })
    .await;
    assert!(held(&[&a, &b]).iter().all(BTreeSet::is_empty));
    eprintln!("all shards given up {took:?} after NATS froze");
    assert!(
        paused.elapsed() < timing().ttl,
        "gave up only after the leases could expire"
    );

    nats.resume();
    within(
        Duration::from_secs(15),
        "the shards are taken again",
        || partitioned(&held(&[&a, &b])),
    )
    .await;
    let violations = ledger.lock().unwrap().violations.clone();
    assert!(violations.is_empty(), "{violations:#?}");
    a.leave().await;
    b.leave().await;
}

#[actix_rt::test]
async fn the_members_bucket_says_who_holds_what() {
    let nats = NatsServer::start();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let one = join(&nats, "only-node", &ledger).await;
    within(
        Duration::from_secs(10),
        "a lone node takes every shard",
        || one.owned().borrow().len() == usize::from(SHARDS),
    )
    .await;
    let js = nats.jetstream().await;
    let nodes = lease::open_bucket(&js, lease::NODES_BUCKET, timing().ttl)
        .await
        .unwrap();
    // The membership value is rewritten every renewal: wait for one after the claims.
    let started = Instant::now();
    let members = loop {
        let members = lease::members(&nodes).await.unwrap();
        if members.len() == 1 && members[0].shards.len() == usize::from(SHARDS) {
            break members;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "members: {members:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(members[0].node, "only-node");
    one.leave().await;
    let members = lease::members(&nodes).await.unwrap();
    assert!(
        members.is_empty(),
        "a node that left is no member: {members:?}"
    );
}

/// PostgreSQL's fence: after a takeover, the old owner's epoch writes nothing, and a takeover
/// waits for a write in flight under the old epoch (it holds the row FOR SHARE).
#[test]
fn the_epoch_fence_refuses_a_stale_owner_and_a_takeover_waits_for_writes_in_flight() {
    let db = TestDb::new(Backend::Postgres);
    // Migrates.
    drop(switchboard::db::Store::open(&db.url, 1).expect("open"));
    let shard = Shard::new(7).unwrap();
    let (n1, n2) = (NodeId::parse("n1").unwrap(), NodeId::parse("n2").unwrap());
    let mut a = PgConnection::establish(&db.url).unwrap();
    let mut b = PgConnection::establish(&db.url).unwrap();

    let e1 = fence::activate(&mut a, shard, &n1).unwrap();
    fence::check(&mut a, shard, e1).unwrap();
    // Another shard is another row: never activated, so fenced.
    let other = Shard::new(8).unwrap();
    assert!(matches!(
        fence::check(&mut a, other, e1),
        Err(FenceError::Fenced(f)) if f.current.is_none()
    ));

    // n1 is writing (its check holds the row); n2's takeover must wait for n1's commit.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    a.transaction::<_, diesel::result::Error, _>(|a| {
        fence::check(a, shard, e1).map_err(|_| diesel::result::Error::RollbackTransaction)?;
        let url = db.url.clone();
        let n2 = n2.clone();
        std::thread::spawn(move || {
            let mut b = PgConnection::establish(&url).unwrap();
            let e2 = fence::activate(&mut b, shard, &n2).unwrap();
            done_tx.send(e2).unwrap();
        });
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            done_rx.try_recv().is_err(),
            "the takeover did not wait for the write in flight"
        );
        Ok(())
    })
    .unwrap();
    let e2 = done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(e2 > e1);

    // From now on n1's epoch writes nothing; n2's does.
    match fence::check(&mut a, shard, e1) {
        Err(FenceError::Fenced(f)) => {
            assert_eq!((f.mine, f.current), (e1, Some(e2)));
        }
        other => panic!("a stale owner passed the fence: {other:?}"),
    }
    fence::check(&mut b, shard, e2).unwrap();
    assert!(matches!(
        fence::check(&mut b, shard, Epoch(e2.0 + 1)),
        Err(FenceError::Fenced(_))
    ));
    let rows = fence::activations(&mut b).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].node.as_str(), rows[0].epoch), ("n2", e2.0));
}

/// A node that cannot reach NATS stops at start and says why, rather than serving alone (it
/// would write conversations no lease gave it).
#[actix_rt::test]
async fn a_node_that_cannot_reach_nats_stops_at_start_saying_so() {
    let db = TestDb::new(Backend::Postgres);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let text = format!(
        "[server]\ndatabase_url = \"{}\"\ndata_dir = \"{}\"\n\
         [cluster]\nnats_url = \"nats://127.0.0.1:{port}\"\nnode_id = \"n1\"\n",
        db.url,
        db.dir.join("data").display()
    );
    let settings = switchboard::config::Settings::parse(&text, |_| None).expect("valid settings");
    let Err(e) = switchboard::server::build(settings).await else {
        panic!("a node started in cluster mode without NATS");
    };
    let message = format!("{e:#}");
    assert!(
        message.contains("cannot join the cluster") && message.contains(&port.to_string()),
        "{message}"
    );
}

fn envelope(conversation: u128, n: usize) -> events::Envelope {
    let id = switchboard::domain::ConversationId(uuid::Uuid::from_u128(conversation));
    events::Envelope {
        id: uuid::Uuid::new_v4(),
        audience: Audience::Conversation { id, assignee: None },
        kind: "message.created".to_owned(),
        ephemeral: false,
        body: format!("{{\"type\":\"message.created\",\"n\":{n}}}"),
        durable: false,
    }
}

/// Two nodes publish at once; followers on both see one order, with the same `seq` for the
/// same event; a resume on either node from any cursor gets exactly what came after it.
#[actix_rt::test]
async fn every_node_sees_one_order_of_events_and_can_resume_from_any_cursor() {
    let nats = NatsServer::start();
    let a = events::EventLog::open(nats.jetstream().await, Default::default())
        .await
        .unwrap();
    let b = events::EventLog::open(nats.jetstream().await, Default::default())
        .await
        .unwrap();
    assert_eq!(a.base(), b.base(), "both nodes share one epoch");
    let mut follow_a = Box::pin(a.follow().await.unwrap().1);
    let mut follow_b = Box::pin(b.follow().await.unwrap().1);

    let per_node = 100;
    let publish = |log: events::EventLog, conversation: u128| async move {
        let mut seqs = Vec::new();
        for n in 0..per_node {
            seqs.push(log.publish(&envelope(conversation, n)).await.unwrap());
        }
        seqs
    };
    let (seqs_a, seqs_b) = tokio::join!(publish(a.clone(), 1), publish(b.clone(), 2));
    // Each publisher's events keep its order.
    assert!(seqs_a.windows(2).all(|w| w[0] < w[1]));
    assert!(seqs_b.windows(2).all(|w| w[0] < w[1]));

    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..2 * per_node {
        seen_a.push(follow_a.next().await.unwrap().unwrap());
        seen_b.push(follow_b.next().await.unwrap().unwrap());
    }
    assert_eq!(seen_a, seen_b, "the nodes saw different orders");
    let seqs: Vec<u64> = seen_a.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "gaps: {seqs:?}");
    let mut all: Vec<u64> = seqs_a.iter().chain(&seqs_b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, seqs);

    // A client that saw up to the 37th event resumes on the other node.
    let cursor = seen_a[36].seq;
    let replay = b.since(cursor).await.unwrap().unwrap();
    assert_eq!(replay, seen_a[37..].to_vec());
    assert!(b
        .since(*seqs.last().unwrap())
        .await
        .unwrap()
        .unwrap()
        .is_empty());
    // A cursor from before the stream's epoch, or ahead of it, is no cursor of this log.
    assert!(a.since(a.base() - 1).await.unwrap().is_err());
    assert!(a.since(seqs.last().unwrap() + 1).await.unwrap().is_err());
}

#[actix_rt::test]
async fn an_event_published_twice_is_stored_once_and_an_aged_out_cursor_must_reload() {
    let nats = NatsServer::start();
    let retention = events::Retention {
        max_age: Duration::from_secs(3600),
        max_events: 10,
    };
    let log = events::EventLog::open(nats.jetstream().await, retention)
        .await
        .unwrap();
    let once = envelope(1, 0);
    let first = log.publish(&once).await.unwrap();
    // A node re-publishing after a crash between its commit and its publish.
    assert_eq!(log.publish(&once).await.unwrap(), first);
    let mut seqs = vec![first];
    for n in 1..20 {
        seqs.push(log.publish(&envelope(1, n)).await.unwrap());
    }
    assert_eq!(seqs.len(), 20);
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "the duplicate took a seq"
    );
    // Only the last 10 are kept: resuming from the 5th is refused (not silently shortened)…
    let refused = log.since(seqs[4]).await.unwrap();
    assert_eq!(
        refused,
        Err(events::TooOld {
            since: seqs[4],
            latest: seqs[19]
        })
    );
    // …from the 10th (the 11th is the oldest kept) every later event comes back.
    let replay = log.since(seqs[9]).await.unwrap().unwrap();
    assert_eq!(replay.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs[10..]);

    // The stream lost and made again: a new epoch, above every old cursor.
    let js = nats.jetstream().await;
    js.delete_stream(events::STREAM).await.unwrap();
    actix_rt::time::sleep(Duration::from_millis(5)).await;
    let again = events::EventLog::open(js, retention).await.unwrap();
    assert!(
        again.base() > seqs[19],
        "the new epoch starts above the old cursors"
    );
    let after = again.publish(&envelope(1, 99)).await.unwrap();
    assert!(again.since(seqs[19]).await.unwrap().is_err());
    assert!(again.since(after).await.unwrap().unwrap().is_empty());
}

/// Three node processes (cluster development mode) on a fresh PostgreSQL schema and a private
/// NATS; the first creates the admin.
struct Cluster {
    nats: NatsServer,
    db: TestDb,
    config: std::path::PathBuf,
    /// Behind the `support` inbox's callback URL: what the nodes deliver to customers.
    callbacks: FakeProvider,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

/// One cluster of node processes at a time: each node holds a few PostgreSQL connections, and
/// several clusters beside the rest of the suite would pass the server's connection limit.
static ONE_CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Cluster {
    async fn new() -> Cluster {
        Cluster::with("").await
    }

    /// With `extra` appended to every node's configuration file.
    async fn with(extra: &str) -> Cluster {
        let one = ONE_CLUSTER.lock().await;
        let nats = NatsServer::start();
        let db = TestDb::new(Backend::Postgres);
        let callbacks = FakeProvider::callback_receiver().await;
        let config = db.dir.join("cluster.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\ndata_dir = \"{data}\"\ndatabase_url = \"{url}\"\nworkers = 1\n\
                 db_pool_size = 3\n\n[conversations]\ntimer_scan_secs = 1\n\n\
                 [admin]\nemail = \"{ADMIN_EMAIL}\"\npassword = \"{ADMIN_PASSWORD}\"\n\n\
                 [[inbox]]\nid = \"support\"\nchannel = \"api\"\nsecret = \"{SECRET}\"\n\
                 callback_url = \"{callback}\"\n\n{extra}",
                data = db.dir.join("data").display(),
                url = db.url,
                callback = callbacks.callback_url(),
            ),
        )
        .unwrap();
        Cluster {
            nats,
            db,
            config,
            callbacks,
            _one: one,
        }
    }

    fn node(&self, id: &str) -> ServerProcess {
        ServerProcess::start(
            &self.config,
            &[
                ("SWITCHBOARD_NATS_URL", self.nats.url.as_str()),
                ("SWITCHBOARD_NODE_ID", id),
            ],
        )
    }
}

/// `GET {base}{path}` as `token`: its status and JSON.
async fn get(client: &reqwest::Client, base: &str, token: &str, path: &str) -> (u16, Value) {
    let resp = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    status_json(resp).await
}

/// Each contact's conversation, from the conversation list.
async fn conversations_by_contact(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> HashMap<String, switchboard::domain::ConversationId> {
    let (_, body) = get(client, base, token, "/api/conversations?limit=200").await;
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let id: uuid::Uuid = c["id"].as_str().unwrap().parse().unwrap();
            let contact = c["contact"]["external_id"].as_str().unwrap().to_owned();
            (contact, switchboard::domain::ConversationId(id))
        })
        .collect()
}

/// The shards `node` lists in a `GET /api/cluster` view.
fn shards_of(view: &Value, node: &str) -> BTreeSet<u16> {
    view["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["node"] == node)
        .flat_map(|n| n["shards"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s.as_u64().map(|s| s as u16))
        .collect()
}

/// Which node (`n1` is 0) lists `shard` in a `GET /api/cluster` view.
fn holder_of(view: &Value, shard: Shard) -> usize {
    view["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| shards_of(view, n["node"].as_str().unwrap()).contains(&shard.number()))
        .map(|n| n["node"].as_str().unwrap()[1..].parse::<usize>().unwrap() - 1)
        .unwrap_or_else(|| panic!("no node holds shard {shard}: {view}"))
}

/// Waits until `nodes` nodes hold every shard between them, each its share, and the view
/// stays the same for a second (the hand-over after joins is done); answers the view.
async fn settled(client: &reqwest::Client, base: &str, token: &str, nodes: usize) -> Value {
    let started = Instant::now();
    let mut last: Option<Value> = None;
    loop {
        let (_, body) = get(client, base, token, "/api/cluster").await;
        let list = body["nodes"].as_array().cloned().unwrap_or_default();
        let counts: Vec<u64> = list
            .iter()
            .map(|n| n["shard_count"].as_u64().unwrap_or(0))
            .collect();
        let fair = u64::from(SHARDS) / nodes as u64;
        let balanced = list.len() == nodes
            && counts.iter().sum::<u64>() == u64::from(SHARDS)
            && counts.iter().all(|c| *c >= fair / 2);
        if balanced && last.as_ref() == Some(&body["nodes"]) {
            return body;
        }
        last = balanced.then(|| body["nodes"].clone());
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never settled: {body}"
        );
        actix_rt::time::sleep(Duration::from_millis(1100)).await;
    }
}

/// Posts customer message `id` of `contact`, starting at node `first` and going on to the next
/// node on anything but a 2xx (with the same provider id, as a provider or a load balancer
/// retries), until one acknowledges it. Answers how many `moved` refusals it met.
async fn post_until_acknowledged(
    client: &reqwest::Client,
    nodes: &[&str],
    first: usize,
    id: &str,
    contact: &str,
) -> usize {
    let mut moved = 0;
    for attempt in 0..60 {
        let base = nodes[(first + attempt) % nodes.len()];
        let resp = signed_customer(client, base, id, contact, &format!("text of {id}"))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => return moved,
            Ok(r) => {
                let (status, body) = status_json(r).await;
                assert_eq!(status, 503, "{body}");
                if body["error"] == "moved" {
                    moved += 1;
                }
            }
            Err(_) => {}
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} was never acknowledged");
}

/// How many requests `base` had run by the node holding their conversation, from its
/// metrics.
async fn forwarded_by(client: &reqwest::Client, base: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("switchboard_requests_forwarded_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no forwarded count in the metrics of {base}"))
}

/// How many events wait in the event outbox.
fn outbox_events(db: &TestDb) -> i64 {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = PgConnection::establish(&db.url).unwrap();
    let rows: Vec<Row> = diesel::sql_query("SELECT count(*) AS n FROM event_outbox")
        .load(&mut c)
        .unwrap();
    rows[0].n
}

/// The customer messages stored, by provider id, read straight from the database.
fn stored_ids(db: &TestDb) -> Vec<String> {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        external_id: String,
    }
    let mut c = PgConnection::establish(&db.url).unwrap();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT external_id FROM messages WHERE author = 'customer' AND external_id IS NOT NULL",
    )
    .load(&mut c)
    .unwrap();
    rows.into_iter().map(|r| r.external_id).collect()
}

/// Webhooks spread over three nodes: a node that does not hold the conversation's shard
/// forwards the request to the node that does, which writes it, so each is acknowledged by
/// the first node it reaches and stored exactly once. An agent's actions sent to the other
/// nodes are run by the owner the same way.
#[actix_rt::test]
async fn only_the_owner_writes_a_conversation_and_every_message_is_stored_once() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let bases: Vec<&str> = nodes.iter().map(|n| n.base.as_str()).collect();
    let client = reqwest::Client::new();
    let token = login(&client, bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Every shard held before the traffic starts.
    settled(&client, bases[0], &token, 3).await;

    let mut moved = 0;
    let mut sent = Vec::new();
    for i in 0..60 {
        let id = format!("rr-{i}");
        moved +=
            post_until_acknowledged(&client, &bases, i, &id, &format!("contact-{}", i % 10)).await;
        sent.push(id);
    }
    assert_eq!(moved, 0, "a webhook was refused instead of forwarded");
    let mut forwarded = 0;
    for base in &bases {
        forwarded += forwarded_by(&client, base).await;
    }
    // Each post reached a node chosen round-robin: two in three were not the owner.
    assert!(
        forwarded >= 20,
        "only {forwarded} of 60 requests were forwarded"
    );
    let mut stored = stored_ids(&cluster.db);
    stored.sort();
    sent.sort();
    assert_eq!(stored, sent, "every acknowledged message, each once");

    // An agent takes each conversation on one node that does not hold it and replies on the
    // other: both run on the owner, and the reply is stored once.
    let view = settled(&client, bases[0], &token, 3).await;
    let conversations = conversations_by_contact(&client, bases[0], &token).await;
    for (contact, id) in &conversations {
        let owner = holder_of(&view, Shard::of(*id));
        let (take, reply) = (bases[(owner + 1) % 3], bases[(owner + 2) % 3]);
        let (status, body) = status_json(
            client
                .post(format!("{take}/api/conversations/{id}/take"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "take {contact} on a non-owner: {body}");
        let (status, body) = status_json(
            client
                .post(format!("{reply}/api/conversations/{id}/messages"))
                .bearer_auth(&token)
                .json(
                    &serde_json::json!({"text": format!("hello {contact}"), "client_id": contact}),
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            status == 200 || status == 201,
            "reply to {contact}: {status} {body}"
        );
        let (_, messages) = get(
            &client,
            bases[owner],
            &token,
            &format!("/api/conversations/{id}/messages"),
        )
        .await;
        let replies = messages["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["text"] == format!("hello {contact}"))
            .count();
        assert_eq!(replies, 1, "{messages:#}");
    }

    // The assistant answers each message (one conversation per contact, ten contacts), and
    // each answer leaves through the outbox of the node holding its conversation: once.
    let delivered = || {
        let mut ids: Vec<String> = cluster
            .callbacks
            .accepted()
            .iter()
            .filter_map(|c| c.json()["message_id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    let started = Instant::now();
    let mut last = delivered();
    loop {
        actix_rt::time::sleep(Duration::from_millis(1000)).await;
        let now = delivered();
        if !now.is_empty() && now == last {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "deliveries never settled"
        );
        last = now;
    }
    let mut unique = last.clone();
    unique.dedup();
    assert!(!last.is_empty(), "nothing was delivered");
    assert_eq!(
        last.len(),
        unique.len(),
        "a message delivered twice: {last:?}"
    );
    // Every commit wrote its events in the event outbox, and each left it once the stream
    // acknowledged it.
    let started = Instant::now();
    while outbox_events(&cluster.db) > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} events never left the outbox",
            outbox_events(&cluster.db)
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A node that died after its commit and before its events reached the stream left them in
/// the event outbox: the node that takes the shard publishes them, before anything of its own
/// for the shard, and the agents see them.
#[actix_rt::test]
async fn the_events_a_dead_node_left_in_the_outbox_are_published_by_the_next_holder() {
    use diesel::RunQueryDsl as _;
    let cluster = Cluster::new().await;
    let n1 = cluster.node("n1");
    let n2 = cluster.node("n2");
    let client = reqwest::Client::new();
    let token = login(&client, &n2.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, &n2.base, &token, 2).await;
    // A conversation in a shard of n1's, and an event of it that n1 committed and never
    // published (written as the commit writes it).
    let shard = *shards_of(&view, "n1").iter().next().unwrap();
    let conversation =
        uuid::Uuid::from_u128(0x0123_4567_89ab_4def_8000_0000_0000_0000 | u128::from(shard));
    let id = switchboard::domain::ConversationId(conversation);
    assert_eq!(Shard::of(id).number(), shard);
    let envelope = events::Envelope {
        id: uuid::Uuid::now_v7(),
        audience: Audience::Conversation { id, assignee: None },
        kind: "message.created".to_owned(),
        ephemeral: false,
        body: serde_json::json!({
            "type": "message.created",
            "conversation_id": conversation,
            "message": {"external_id": "left-behind", "text": "committed, not published"},
        })
        .to_string(),
        durable: false,
    };
    let mut c = PgConnection::establish(&cluster.db.url).unwrap();
    diesel::sql_query(
        "INSERT INTO event_outbox (id, shard, envelope, created_at) \
         VALUES ($1, $2, $3, now() AT TIME ZONE 'UTC')",
    )
    .bind::<diesel::sql_types::Text, _>(envelope.id.simple().to_string())
    .bind::<diesel::sql_types::SmallInt, _>(shard as i16)
    .bind::<diesel::sql_types::Text, _>(serde_json::to_string(&envelope).unwrap())
    .execute(&mut c)
    .unwrap();

    let mut agent = WsClient::connect(&n2.base, &token, None).await;
    agent
        .until("hello", Duration::from_secs(10), |f| f["type"] == "hello")
        .await;
    n1.kill9();
    let killed = Instant::now();
    let frames = agent
        .until("the event left behind", Duration::from_secs(10), |f| {
            f["message"]["external_id"] == "left-behind"
        })
        .await;
    eprintln!("published by n2 {:?} after the kill", killed.elapsed());
    assert!(frames.last().unwrap()["seq"].as_u64().is_some());
    assert_eq!(outbox_events(&cluster.db), 0, "published and forgotten");
    // Once: nothing more of it comes.
    let more = agent.drain(Duration::from_millis(1500)).await;
    assert!(
        !more
            .iter()
            .any(|f| f["message"]["external_id"] == "left-behind"),
        "{more:#?}"
    );
}

/// A node frozen (SIGSTOP) past its leases while others take its shards, then resumed, writes
/// nothing more: a request it held meanwhile is refused by its fence and forwarded to the new
/// holder, which stores the message once.
#[actix_rt::test]
async fn a_node_frozen_past_its_lease_cannot_write_when_it_resumes() {
    let cluster = Cluster::new().await;
    let n1 = cluster.node("n1");
    let n2 = cluster.node("n2");
    let bases = [n1.base.as_str(), n2.base.as_str()];
    let client = reqwest::Client::new();
    let token = login(&client, bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    settled(&client, bases[0], &token, 2).await;
    // Contacts until one's conversation is held by n1.
    let mut target = None;
    for i in 0..40 {
        let contact = format!("frozen-{i}");
        post_until_acknowledged(&client, &bases, i, &format!("first-{i}"), &contact).await;
        let conversations = conversations_by_contact(&client, bases[1], &token).await;
        let Some(id) = conversations.get(&contact) else {
            continue;
        };
        let shard = Shard::of(*id).number();
        let (_, view) = get(&client, bases[0], &token, "/api/cluster").await;
        if shards_of(&view, "n1").contains(&shard) {
            target = Some((contact, shard));
            break;
        }
    }
    let (contact, shard) = target.expect("a conversation held by n1");

    let pid = n1.child.id().to_string();
    let signal = |sig: &str| {
        assert!(Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success())
    };
    let before = forwarded_by(&client, bases[0]).await;
    signal("-STOP");
    let frozen = Instant::now();
    // n2 takes n1's shards once n1's leases expire.
    loop {
        let (_, view) = get(&client, bases[1], &token, "/api/cluster").await;
        if shards_of(&view, "n2").contains(&shard) {
            break;
        }
        assert!(
            frozen.elapsed() < Duration::from_secs(8),
            "n2 never took shard {shard}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "shard {shard} taken over {:?} after the freeze",
        frozen.elapsed()
    );
    // Not before n1's lease could expire: it was renewed at most a second before the freeze.
    assert!(
        frozen.elapsed() >= Duration::from_millis(1800),
        "taken over too soon"
    );
    // A webhook reaches the frozen n1 (it waits in its accept queue), then n1 resumes.
    let held = {
        // On a connection of its own: a pooled one may be closed by n1's keep-alive timer,
        // which fires the moment n1 resumes, under the request.
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let request = signed_customer(&fresh, bases[0], "while-frozen", &contact, "hello?")
            .timeout(Duration::from_secs(20));
        actix_rt::spawn(async move { request.send().await })
    };
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    signal("-CONT");
    let resp = held.await.unwrap().expect("n1 answers once resumed");
    let (status, body) = status_json(resp).await;
    eprintln!("n1 answered the held request {status} {body}");
    if status == 200 {
        // n1 did not write it: it was refused there and run by n2.
        assert_eq!(forwarded_by(&client, bases[0]).await, before + 1);
    } else {
        // Refused, and not forwarded in time (n1's own link to NATS was frozen too): the
        // provider's retry on another node stores it (once, whatever n2 did meanwhile).
        assert_eq!(status, 503, "{body}");
        post_until_acknowledged(&client, &bases, 1, "while-frozen", &contact).await;
    }
    let stored = stored_ids(&cluster.db);
    assert_eq!(stored.iter().filter(|id| *id == "while-frozen").count(), 1);
}

/// Three node processes on one PostgreSQL schema and one private NATS: agents on two nodes
/// see the same events in the same order with the same `seq`; one that reconnects to another
/// node resumes from its last `seq` (from that node's backlog, or from the cluster's log on a
/// node that started after the events); `GET /api/cluster` lists the nodes and their shards.
#[actix_rt::test]
async fn agents_on_different_nodes_see_one_order_and_resume_on_another_node() {
    let cluster = Cluster::new().await;
    // One after the other: the first creates the admin.
    let n1 = cluster.node("n1");
    let n2 = cluster.node("n2");
    let n3 = cluster.node("n3");
    let client = reqwest::Client::new();
    let token = login(&client, &n1.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let hello = |f: &Value| f["type"] == "hello";
    let mut on2 = WsClient::connect(&n2.base, &token, None).await;
    let mut on3 = WsClient::connect(&n3.base, &token, None).await;
    on2.until("hello on n2", Duration::from_secs(10), hello)
        .await;
    on3.until("hello on n3", Duration::from_secs(10), hello)
        .await;

    let bases = [n1.base.clone(), n2.base.clone(), n3.base.clone()];
    let post = |i: usize| {
        let client = client.clone();
        let bases = bases.clone();
        async move {
            let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
            post_until_acknowledged(&client, &bases, i, &format!("m{i}"), &format!("c{}", i % 3))
                .await;
        }
    };
    for i in 0..12 {
        post(i).await;
    }
    let numbered = |frames: Vec<Value>| -> Vec<(u64, String, String)> {
        frames
            .into_iter()
            // Presence and typing are live only (on2 saw its own arrival, before on3 came).
            .filter(|f| f["type"] != "presence" && f["type"] != "typing")
            .filter_map(|f| {
                let seq = f["seq"].as_u64()?;
                let id = f["message"]["id"]
                    .as_str()
                    .or(f["conversation_id"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                Some((seq, f["type"].as_str().unwrap_or_default().to_owned(), id))
            })
            .collect()
    };
    let customer_messages = |frames: &[Value]| {
        frames
            .iter()
            .filter(|f| f["type"] == "message.created" && f["message"]["author"] == "customer")
            .count()
    };
    let mut frames2 = Vec::new();
    let mut frames3 = Vec::new();
    let started = Instant::now();
    while customer_messages(&frames2) < 12 || customer_messages(&frames3) < 12 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not every event arrived on both nodes"
        );
        frames2.extend(on2.drain(Duration::from_millis(300)).await);
        frames3.extend(on3.drain(Duration::from_millis(300)).await);
    }
    // Whatever followed (the assistant's answers, badges) settles.
    frames2.extend(on2.drain(Duration::from_millis(1500)).await);
    frames3.extend(on3.drain(Duration::from_millis(1500)).await);
    let seen2 = numbered(frames2);
    let seen3 = numbered(frames3);
    assert_eq!(
        seen2, seen3,
        "agents on two nodes saw different events or orders"
    );
    assert!(
        seen2.windows(2).all(|w| w[0].0 < w[1].0),
        "seq not increasing"
    );

    // The agent on n2 goes away after 5 events and comes back on n3 with its last seq.
    let since = seen2[4].0;
    drop(on2);
    for i in 12..18 {
        post(i).await;
    }
    frames3 = on3.drain(Duration::from_millis(1500)).await;
    let mut all3 = seen3.clone();
    all3.extend(numbered(frames3));
    let missed: Vec<_> = all3.iter().filter(|e| e.0 > since).cloned().collect();
    let mut back = WsClient::connect(&n3.base, &token, Some(since)).await;
    let frames = back
        .until("resumed on n3", Duration::from_secs(10), |f| {
            f["type"] == "resumed"
        })
        .await;
    assert_eq!(
        numbered(frames),
        missed,
        "resuming on another node from its backlog"
    );

    // A node started after all this has none of it in its backlog: it replays from the log.
    let n4 = cluster.node("n4");
    let mut late = WsClient::connect(&n4.base, &token, Some(since)).await;
    let frames = late
        .until("resumed on n4", Duration::from_secs(10), |f| {
            f["type"] == "resumed" || f["type"] == "reload"
        })
        .await;
    assert_eq!(frames.last().unwrap()["type"], "resumed", "{frames:#?}");
    assert_eq!(
        numbered(frames),
        missed,
        "resuming from the cluster's event log"
    );
    // So does polling, for clients without websockets.
    let (status, page) = status_json(
        client
            .get(format!("{}/api/events?since={since}", n4.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &page["reload"]),
        (200, &Value::Bool(false)),
        "{page}"
    );
    let polled = numbered(page["events"].as_array().cloned().unwrap_or_default());
    assert_eq!(polled, missed, "polling from the cluster's event log");

    // The cluster as an admin sees it: four nodes, every shard held once, each its share.
    let started = Instant::now();
    loop {
        let (status, body) = get(&client, &n2.base, &token, "/api/cluster").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["mode"], "cluster");
        let nodes = body["nodes"].as_array().unwrap();
        let held: usize = nodes
            .iter()
            .map(|n| n["shard_count"].as_u64().unwrap() as usize)
            .sum();
        // n4 joined last: the others hand it its share a few shards at a time.
        let balanced = nodes
            .iter()
            .all(|n| n["shard_count"].as_u64().unwrap() > 40);
        if nodes.len() == 4 && held == usize::from(SHARDS) && balanced {
            assert_eq!(body["node"], "n2");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{body}");
        actix_rt::time::sleep(Duration::from_millis(250)).await;
    }
    drop((n1, n2, n3, n4));
}

/// In single-node mode `GET /api/cluster` says so; it is for admins only.
#[actix_rt::test]
async fn the_cluster_route_says_single_node_and_is_for_admins() {
    let app = crate::helpers::TestApp::spawn(Backend::Sqlite).await;
    let admin = app.login().await;
    let (status, body) = app.get(&admin, "/api/cluster").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "single");
    assert_eq!(body["node"], Value::Null);
    assert_eq!(body["nodes"], serde_json::json!([]));
    let (_, agent) = app
        .agent("a@test.local", switchboard::domain::types::Role::Supervisor)
        .await;
    let (status, body) = app.get(&agent, "/api/cluster").await;
    assert_eq!(status, 403, "{body}");
    let resp = app
        .client
        .get(format!("{}/api/cluster", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// Every frame that arrives within `window` (drain() waits for a quiet moment, which a busy
/// stream never has).
async fn read_for(ws: &mut WsClient, window: Duration) -> Vec<Value> {
    let until = Instant::now() + window;
    let mut frames = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match ws.next_json(left).await {
            Some(f) => frames.push(f),
            None => break,
        }
    }
    frames
}

/// One acknowledged webhook: its provider id, its contact, and when.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    contact: String,
    at: Instant,
}

/// kill -9 of a node in the middle of a stream of webhooks sent round-robin (a failed post is
/// sent again to the next node with the same provider id): every acknowledged message is
/// stored once, the dead node's conversations answer again within 5 s, and the agents that were
/// on it resume on another node (`resumed`, not `reload`), in order, nothing twice, with
/// every message the survivors acknowledged.
#[actix_rt::test]
async fn kill_9_of_a_node_during_a_stream_of_webhooks_loses_nothing_and_rehomes_within_5s() {
    let cluster = Cluster::new().await;
    let nodes = vec![cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let client = reqwest::Client::new();
    let token = login(&client, &bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, &bases[0], &token, 3).await;
    let contacts: Vec<String> = (0..24).map(|i| format!("k{i}")).collect();
    {
        let refs: Vec<&str> = bases.iter().map(String::as_str).collect();
        for (i, contact) in contacts.iter().enumerate() {
            post_until_acknowledged(&client, &refs, i, &format!("{contact}-hello"), contact).await;
        }
    }
    // Which node holds each contact's conversation, and so which one to kill: the one with most.
    let shard_of_contact: HashMap<String, Shard> =
        conversations_by_contact(&client, &bases[0], &token)
            .await
            .into_iter()
            .map(|(contact, id)| (contact, Shard::of(id)))
            .collect();
    let holder = |shard: Shard| holder_of(&view, shard);
    let mut owned = [0usize; 3];
    for shard in shard_of_contact.values() {
        owned[holder(*shard)] += 1;
    }
    let victim = (0..3).max_by_key(|i| owned[*i]).unwrap();
    let dead_contacts: BTreeSet<String> = shard_of_contact
        .iter()
        .filter(|(_, s)| holder(**s) == victim)
        .map(|(c, _)| c.clone())
        .collect();
    eprintln!(
        "killing n{} which holds {} of {} conversations",
        victim + 1,
        owned[victim],
        contacts.len()
    );

    // Two agents on the victim, one on each survivor.
    let hello = |f: &Value| f["type"] == "hello";
    let mut on_victim = Vec::new();
    for _ in 0..2 {
        let mut ws = WsClient::connect(&bases[victim], &token, None).await;
        ws.until("hello", Duration::from_secs(10), hello).await;
        on_victim.push(ws);
    }

    // 12 senders, round-robin over the nodes, for 8 s; the kill at 3 s.
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let start = Instant::now();
    let mut senders = Vec::new();
    for s in 0..12usize {
        let (client, bases, acked, contacts) = (
            client.clone(),
            bases.clone(),
            acked.clone(),
            contacts.clone(),
        );
        senders.push(actix_rt::spawn(async move {
            let mut n = 0usize;
            while start.elapsed() < Duration::from_secs(8) {
                let contact = &contacts[(s * 7 + n) % contacts.len()];
                let id = format!("s{s}-{n}");
                let mut node = (s + n) % bases.len();
                loop {
                    let resp = signed_customer(&client, &bases[node], &id, contact, "stream")
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    if resp.is_ok_and(|r| r.status().is_success()) {
                        acked.lock().unwrap().push(Acked {
                            id: id.clone(),
                            contact: contact.clone(),
                            at: Instant::now(),
                        });
                        break;
                    }
                    node = (node + 1) % bases.len();
                    actix_rt::time::sleep(Duration::from_millis(20)).await;
                }
                n += 1;
            }
        }));
    }
    // Read the victim's sockets until the kill.
    let mut before: Vec<Vec<Value>> = vec![Vec::new(), Vec::new()];
    while start.elapsed() < Duration::from_secs(3) {
        for (ws, seen) in on_victim.iter_mut().zip(before.iter_mut()) {
            seen.extend(read_for(ws, Duration::from_millis(50)).await);
        }
    }
    let mut nodes: Vec<Option<ServerProcess>> = nodes.into_iter().map(Some).collect();
    nodes[victim].take().unwrap().kill9();
    let killed = Instant::now();
    // What was in flight to the clients when it died (the sockets are closed now).
    for (ws, seen) in on_victim.iter_mut().zip(before.iter_mut()) {
        seen.extend(ws.drain(Duration::from_millis(100)).await);
    }
    // They reconnect to a survivor with their last seq.
    let survivor = (victim + 1) % 3;
    let mut after: Vec<Vec<Value>> = Vec::new();
    let mut resumed = Vec::new();
    for seen in &before {
        let last = seen.iter().filter_map(|f| f["seq"].as_u64()).max().unwrap();
        let mut ws = WsClient::connect(&bases[survivor], &token, Some(last)).await;
        let frames = ws
            .until("resume", Duration::from_secs(10), |f| {
                f["type"] == "resumed" || f["type"] == "reload"
            })
            .await;
        assert_eq!(frames.last().unwrap()["type"], "resumed", "{frames:#?}");
        after.push(frames);
        resumed.push(ws);
    }
    // Read them while the stream goes on (a client that does not read is disconnected as too
    // slow), then until every message only survivors were asked to store has come, or 20 s.
    while !senders.iter().all(|s| s.is_finished()) {
        for (ws, seen) in resumed.iter_mut().zip(after.iter_mut()) {
            seen.extend(read_for(ws, Duration::from_millis(100)).await);
        }
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let expected: BTreeSet<String> = acked.iter().map(|x| x.id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    for ((ws, seen), earlier) in resumed.iter_mut().zip(after.iter_mut()).zip(&before) {
        loop {
            let have: BTreeSet<&str> = earlier
                .iter()
                .chain(seen.iter())
                .filter_map(|f| f["message"]["external_id"].as_str())
                .collect();
            if expected.iter().all(|id| have.contains(id.as_str())) || Instant::now() > deadline {
                break;
            }
            seen.extend(read_for(ws, Duration::from_millis(200)).await);
        }
    }

    // Every acknowledged message stored exactly once.
    let stored = stored_ids(&cluster.db);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &stored {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    for a in &acked {
        assert_eq!(
            counts.get(a.id.as_str()),
            Some(&1),
            "{} stored {:?} times",
            a.id,
            counts.get(a.id.as_str())
        );
    }
    assert!(
        stored.len() >= acked.len() + contacts.len(),
        "acknowledged but missing"
    );

    // The dead node's conversations answer again within 5 s of the kill.
    let after_kill = acked.iter().filter(|a| a.at > killed).count();
    eprintln!(
        "{} acknowledged, {after_kill} after the kill; last at {:?} after it",
        acked.len(),
        acked
            .iter()
            .map(|a| a.at.saturating_duration_since(killed))
            .max()
    );
    let mut worst = Duration::ZERO;
    for contact in &dead_contacts {
        let first = acked
            .iter()
            .filter(|a| &a.contact == contact && a.at > killed)
            .map(|a| a.at - killed)
            .min()
            .unwrap_or_else(|| panic!("{contact} never answered again after the kill"));
        worst = worst.max(first);
    }
    eprintln!(
        "{} acknowledged; the dead node's conversations answered again within {worst:?}",
        acked.len()
    );
    assert!(worst < Duration::from_secs(5), "re-homing took {worst:?}");

    // The agents that were on the dead node: in order, nothing twice, and every acknowledged
    // message, those the dead node committed too (their events, if it died before publishing
    // them, come from the event outbox through the node that took its shards).
    for (b, a) in before.iter().zip(&after) {
        let seqs: Vec<u64> = b
            .iter()
            .chain(a)
            .filter_map(|f| f["seq"].as_u64())
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "out of order or twice: {seqs:?}"
        );
        let seen: BTreeSet<&str> = b
            .iter()
            .chain(a)
            .filter(|f| f["type"] == "message.created")
            .filter_map(|f| f["message"]["external_id"].as_str())
            .collect();
        let missing: Vec<&str> = acked
            .iter()
            .map(|x| x.id.as_str())
            .filter(|id| !seen.contains(id))
            .collect();
        assert!(
            missing.is_empty(),
            "events missing after the resume: {missing:?}"
        );
        let twice = b
            .iter()
            .chain(a)
            .filter(|f| f["type"] == "message.created")
            .filter_map(|f| f["message"]["id"].as_str())
            .fold(HashMap::<&str, usize>::new(), |mut n, id| {
                *n.entry(id).or_default() += 1;
                n
            })
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .count();
        assert_eq!(twice, 0, "a message's event delivered twice");
    }
}

/// A follow-up due just after its conversation's node is killed fires once, on the node that
/// takes the shard over (its timer scan wakes the conversation; the kill lost the old timer).
#[actix_rt::test]
async fn a_follow_up_due_during_the_failover_fires_exactly_once() {
    let cluster = Cluster::new().await;
    let nodes = vec![cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let refs: Vec<&str> = bases.iter().map(String::as_str).collect();
    let client = reqwest::Client::new();
    let token = login(&client, refs[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, refs[0], &token, 3).await;
    post_until_acknowledged(&client, &refs, 0, "fu-1", "follow-me").await;
    let id = conversations_by_contact(&client, refs[0], &token).await["follow-me"];
    let conversation = id.to_string();
    let owner = holder_of(&view, Shard::of(id));

    // Due in 4 s, asked of another node (which forwards it to the owner).
    let at = (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let (status, body) = status_json(
        client
            .post(format!(
                "{}/api/conversations/{conversation}/follow-up",
                refs[(owner + 2) % 3]
            ))
            .bearer_auth(&token)
            .json(&serde_json::json!({"at": at, "reason": "call back"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut nodes: Vec<Option<ServerProcess>> = nodes.into_iter().map(Some).collect();
    nodes[owner].take().unwrap().kill9();

    let survivor = refs[(owner + 1) % 3];
    let notes = |messages: &Value| {
        messages["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| {
                m["author"] == "system"
                    && m["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Follow-up due"))
            })
            .count()
    };
    let read = || async {
        let resp = client
            .get(format!(
                "{survivor}/api/conversations/{conversation}/messages"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        status_json(resp).await.1
    };
    let started = Instant::now();
    while notes(&read().await) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the follow-up never fired"
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("fired {:?} after the kill", started.elapsed());
    // Scans go on every second on both survivors: it must not fire again.
    actix_rt::time::sleep(Duration::from_secs(3)).await;
    let messages = read().await;
    assert_eq!(notes(&messages), 1, "{messages:#}");
}

/// SIGTERM of a node during a stream of webhooks: it hands its shards over at once (well
/// before its leases could expire), every acknowledged message is stored once, and no request
/// is answered with an error, not even `moved`: what reaches a node for a shard on its way to
/// another is forwarded to it. (A request refused a connection by the stopped node is sent to
/// the next, as a load balancer does.)
#[actix_rt::test]
async fn a_graceful_stop_hands_its_shards_over_at_once() {
    let cluster = Cluster::new().await;
    let mut nodes = vec![cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let client = reqwest::Client::new();
    let token = login(&client, &bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    settled(&client, &bases[0], &token, 3).await;

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for s in 0..8usize {
        let (client, bases, acked, errors, stop) = (
            client.clone(),
            bases.clone(),
            acked.clone(),
            errors.clone(),
            stop.clone(),
        );
        senders.push(actix_rt::spawn(async move {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("g{s}-{n}");
                let contact = format!("g-{}", (s * 5 + n) % 20);
                let mut node = (s + n) % bases.len();
                loop {
                    let resp = signed_customer(&client, &bases[node], &id, &contact, "bye")
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status().is_success() => break,
                        Ok(r) => {
                            let (status, body) = status_json(r).await;
                            errors.lock().unwrap().push(format!("{status} {body}"));
                        }
                        // The stopped node no longer listens: the next one is asked.
                        Err(_) => {}
                    }
                    node = (node + 1) % bases.len();
                    actix_rt::time::sleep(Duration::from_millis(20)).await;
                }
                acked.lock().unwrap().push(id);
                n += 1;
            }
        }));
    }
    actix_rt::time::sleep(Duration::from_secs(2)).await;
    let mut stopping = nodes.remove(0);
    let pid = stopping.child.id().to_string();
    let term = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The two others hold every shard soon after, not after the 3 s lease TTL.
    loop {
        let (_, view) = get(&client, &bases[1], &token, "/api/cluster").await;
        let others: u64 = view["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["node"] != "n1")
            .map(|n| n["shard_count"].as_u64().unwrap_or(0))
            .sum();
        if others == u64::from(SHARDS) {
            break;
        }
        assert!(
            term.elapsed() < Duration::from_millis(2500),
            "the shards were not handed over: {view}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "every shard on the other nodes {:?} after SIGTERM",
        term.elapsed()
    );
    let exited = stopping.child.wait().unwrap();
    assert!(exited.success(), "{exited}");
    actix_rt::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let errors = errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "error answers: {errors:#?}");
    let acked = acked.lock().unwrap().clone();
    let stored = stored_ids(&cluster.db);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &stored {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    for id in &acked {
        assert_eq!(counts.get(id.as_str()), Some(&1), "{id}");
    }
    eprintln!("{} acknowledged, each stored once", acked.len());
}

/// The assistant was still thinking (a 4 s pause) when its node was killed: the node that
/// takes the conversation's shard answers the customer, once.
#[actix_rt::test]
async fn a_customer_left_waiting_by_a_dead_node_is_answered_by_the_next_owner() {
    let cluster = Cluster::with(
        "[[assistant]]\nid = \"default\"\nkind = \"knowledge_base\"\nreply_delay_ms = 4000\n",
    )
    .await;
    let nodes = vec![cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let refs: Vec<&str> = bases.iter().map(String::as_str).collect();
    let client = reqwest::Client::new();
    let token = login(&client, refs[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, refs[0], &token, 3).await;
    post_until_acknowledged(&client, &refs, 0, "wait-1", "patient").await;
    let id = conversations_by_contact(&client, refs[0], &token).await["patient"];
    let conversation = id.to_string();
    let owner = holder_of(&view, Shard::of(id));
    // Killed while its assistant waits out its pause.
    let mut nodes: Vec<Option<ServerProcess>> = nodes.into_iter().map(Some).collect();
    nodes[owner].take().unwrap().kill9();
    let killed = Instant::now();

    let survivor = refs[(owner + 1) % 3];
    let answers = || async {
        let resp = client
            .get(format!(
                "{survivor}/api/conversations/{conversation}/messages"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let (_, body) = status_json(resp).await;
        body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["author"] == "assistant")
            .count()
    };
    while answers().await == 0 {
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "the customer was never answered"
        );
        actix_rt::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("answered {:?} after the kill", killed.elapsed());
    actix_rt::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(answers().await, 1, "answered more than once");
}

/// Visitors of the website widget connected to one node write in conversations the other
/// nodes hold: each message is handed to the holder, acknowledged to the visitor, shown back
/// to it (from the cluster's event stream), and stored once.
#[actix_rt::test]
async fn a_visitors_message_reaches_the_node_holding_its_conversation() {
    let cluster = Cluster::with(&format!(
        "[[inbox]]\nid = \"website\"\nchannel = \"widget\"\nsecret = \"{}\"\n",
        crate::helpers::WIDGET_SECRET
    ))
    .await;
    let nodes = [cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let client = reqwest::Client::new();
    let token = login(&client, &nodes[0].base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, &nodes[0].base, &token, 3).await;
    let base = nodes[0].base.as_str();
    let step = Duration::from_secs(10);

    let mut texts = Vec::new();
    for i in 0..12 {
        let (status, session) = status_json(
            client
                .post(format!("{base}/widget/website/session"))
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{session}");
        let url = format!(
            "{}/widget/website/ws?visitor_token={}",
            base.replacen("http://", "ws://", 1),
            session["visitor_token"].as_str().unwrap()
        );
        let mut ws = WsClient::connect_url(&url).await;
        ws.until("hello", step, |v| v["type"] == "hello").await;
        for k in 0..2 {
            let text = format!("visitor {i} message {k}");
            let client_id = format!("c{k}");
            ws.send_json(
                &serde_json::json!({"type": "message", "text": text, "client_id": client_id}),
            )
            .await;
            let frames = ws
                .until(&format!("ack of {text}"), step, |v| {
                    v["type"] == "error" || (v["type"] == "ack" && v["client_id"] == client_id)
                })
                .await;
            let last = frames.last().unwrap();
            assert_eq!(last["type"], "ack", "{text}: {frames:?}");
            // Shown back to the visitor: the holder's event, through the stream.
            let shown = |v: &Value| {
                v["type"] == "message"
                    && v["message"]["author"] == "customer"
                    && v["message"]["text"] == text
            };
            if !frames.iter().any(shown) {
                ws.until(&format!("{text} shown"), step, shown).await;
            }
            texts.push(text);
        }
    }

    // Each stored once, in a conversation of its own; most of them held by n2 or n3.
    let (_, list) = get(
        &client,
        base,
        &token,
        "/api/conversations?channel=widget&limit=50",
    )
    .await;
    let mut stored: HashMap<String, usize> = HashMap::new();
    let mut elsewhere = 0;
    for c in list["items"].as_array().unwrap() {
        let id: uuid::Uuid = c["id"].as_str().unwrap().parse().unwrap();
        let id = switchboard::domain::ConversationId(id);
        if holder_of(&view, Shard::of(id)) != 0 {
            elsewhere += 1;
        }
        let (_, messages) = get(
            &client,
            base,
            &token,
            &format!("/api/conversations/{id}/messages"),
        )
        .await;
        for m in messages["items"].as_array().unwrap() {
            if m["author"] == "customer" {
                *stored
                    .entry(m["text"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    assert_eq!(list["items"].as_array().unwrap().len(), 12, "{list}");
    for text in &texts {
        assert_eq!(stored.get(text), Some(&1), "{text}: {stored:?}");
    }
    assert!(elsewhere > 0, "every conversation happened to be n1's");
    eprintln!("{elsewhere} of 12 widget conversations held by another node than the visitors'");
}

/// A broadcast on a three-node cluster is sent by one node, the holder of shard 0; when that
/// node is killed mid-way, the node that takes shard 0 goes on from the rows, and no address
/// is sent the broadcast twice.
#[actix_rt::test]
async fn one_node_dispatches_a_broadcast_and_another_takes_it_on_when_it_dies() {
    use crate::broadcasts::{act, call, contact, seed, static_segment, until_status};
    let cluster = Cluster::new().await;
    let nodes = vec![cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let client = reqwest::Client::new();
    let token = login(&client, &bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, &bases[0], &token, 3).await;
    let dispatcher = holder_of(&view, Shard::FIRST);

    let rows: Vec<_> = (0..300)
        .map(|i| contact("support", &format!("bc-{i}"), Some(&format!("B{i}")), None))
        .collect();
    seed(&cluster.db.url, &rows);
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    // Asked of a node that is not the dispatcher.
    let asked = &bases[(dispatcher + 1) % 3];
    let segment = static_segment(asked, &token, "Everyone", &ids).await;
    let body = serde_json::json!({
        "name": "Cluster", "inbox": "support", "segments": [segment], "text": "Hello", "rate_per_second": 50,
    });
    let (status, draft) = call(asked, &token, "POST", "/api/broadcasts", Some(body)).await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    let sends = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("switchboard_broadcast_sends_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let scrape = |base: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    act(asked, &token, &id, "start").await;
    // A third of the way: only the dispatcher has sent anything.
    let started = Instant::now();
    loop {
        let delivered = cluster.callbacks.accepted().len();
        if delivered >= 100 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {delivered} sent"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    for (i, base) in bases.iter().enumerate() {
        let n = sends(&scrape(base.clone()).await);
        if i == dispatcher {
            assert!(n >= 100, "the dispatcher n{} sent {n}", i + 1);
        } else {
            assert_eq!(
                n,
                0,
                "n{} sent {n} while n{} dispatches",
                i + 1,
                dispatcher + 1
            );
        }
    }
    let mut nodes: Vec<Option<ServerProcess>> = nodes.into_iter().map(Some).collect();
    nodes[dispatcher].take().unwrap().kill9();
    let survivor = &bases[(dispatcher + 1) % 3];
    let done = until_status(survivor, &token, &id, "completed").await;
    eprintln!("completed after the kill: {}", done["counts"]);
    // Each address at most once; all but the few cut in flight by the kill, exactly once.
    let mut per_address: HashMap<String, usize> = HashMap::new();
    for call in cluster.callbacks.accepted() {
        let to = call.json()["contact"]["external_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *per_address.entry(to).or_default() += 1;
    }
    let twice: Vec<_> = per_address.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert!(
        per_address.len() >= 290,
        "only {} addresses reached",
        per_address.len()
    );
    let survivors: u64 = {
        let mut total = 0;
        for (i, base) in bases.iter().enumerate() {
            if i != dispatcher {
                total += sends(&scrape(base.clone()).await);
            }
        }
        total
    };
    assert!(survivors > 0, "no survivor took the broadcast on");
}

/// Password guesses spread over three nodes wait as long as guesses sent to one: each node
/// counts the others' failures (the fifth attempt from one address for one email must wait,
/// whichever node it reaches), and the right password still gets in once the wait is over.
#[actix_rt::test]
async fn the_login_throttle_counts_the_failures_of_every_node() {
    let cluster = Cluster::new().await;
    let nodes = [cluster.node("n1"), cluster.node("n2"), cluster.node("n3")];
    let client = reqwest::Client::new();
    // Every node up and in the cluster (the first creates the admin).
    let token = login(&client, &nodes[0].base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    settled(&client, &nodes[0].base, &token, 3).await;
    let attempt = |base: String, password: &'static str| {
        let client = client.clone();
        async move {
            let resp = client
                .post(format!("{base}/api/auth/login"))
                .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": password}))
                .send()
                .await
                .unwrap();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (resp.status().as_u16(), retry_after)
        }
    };
    // Four wrong guesses, one node after the other: each node alone has seen one or two.
    for i in 0..4 {
        let (status, _) = attempt(nodes[i % 3].base.clone(), "wrong-guess-1").await;
        assert_eq!(status, 401, "guess {}", i + 1);
    }
    // The news travels in milliseconds.
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    for node in &nodes {
        let (status, retry_after) = attempt(node.base.clone(), "wrong-guess-2").await;
        assert_eq!(status, 429, "{}: the fifth guess must wait", node.base);
        assert!(retry_after.is_some());
    }
    // A delay, never a lock: after it, the right password gets in (on any node).
    actix_rt::time::sleep(Duration::from_millis(1200)).await;
    let (status, _) = attempt(nodes[1].base.clone(), ADMIN_PASSWORD).await;
    assert_eq!(status, 200);
}

/// Presence, viewers, the badge and automatic assignment belong to the cluster, not to each
/// node: an agent connected to two nodes who closes one socket stays online; availability is
/// announced once per change whichever node saw it; viewers on different nodes are listed
/// together; conversations held by nodes the agent is not connected to are auto-assigned to
/// them; an "away" set on a third node holds everywhere; and a badge read on one node right
/// after a reply acknowledged by another counts that reply.
#[actix_rt::test]
async fn presence_the_badge_and_assignment_span_the_nodes() {
    let cluster = Cluster::with("[assignment]\nauto = true\ncapacity = 50\n").await;
    let n1 = cluster.node("n1");
    let n2 = cluster.node("n2");
    let n3 = cluster.node("n3");
    let bases = [n1.base.as_str(), n2.base.as_str(), n3.base.as_str()];
    let client = reqwest::Client::new();
    let admin = login(&client, bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, bases[0], &admin, 3).await;

    let (ana_id, ana) = add_agent(&client, bases[0], &admin, "Ana", bases[1]).await;

    // Every frame the admin's socket on n3 receives, kept to count the announcements.
    let mut watcher = WsClient::connect(bases[2], &admin, None).await;
    let hello = watcher
        .until("hello on n3", Duration::from_secs(10), |f| {
            f["type"] == "hello"
        })
        .await;
    let admin_id = hello.last().unwrap()["agent"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut seen: Vec<Value> = Vec::new();
    let ana_is = |availability: &'static str| {
        let ana_id = ana_id.clone();
        move |f: &Value| {
            f["type"] == "presence"
                && f["agent_id"] == ana_id.as_str()
                && f["availability"] == availability
        }
    };

    // Ana on n1 and n2.
    let mut ana_on1 = WsClient::connect(bases[0], &ana, None).await;
    let mut ana_on2 = WsClient::connect(bases[1], &ana, None).await;
    for ws in [&mut ana_on1, &mut ana_on2] {
        ws.until("ana's hello", Duration::from_secs(10), |f| {
            f["type"] == "hello"
        })
        .await;
    }
    seen.extend(
        watcher
            .until("ana online", Duration::from_secs(10), ana_is("online"))
            .await,
    );
    // Each node tells its connections and how far it lags with its membership: one socket
    // on each (Ana's two, the admin's), and nothing left to deliver once it is quiet.
    let started = Instant::now();
    loop {
        let (_, view) = get(&client, bases[0], &admin, "/api/cluster").await;
        let nodes = view["nodes"].as_array().cloned().unwrap_or_default();
        let seen: Vec<(u64, u64)> = nodes
            .iter()
            .map(|n| {
                (
                    n["connections"].as_u64().unwrap(),
                    n["lag_events"].as_u64().unwrap(),
                )
            })
            .collect();
        if seen.len() == 3 && seen.iter().all(|(c, lag)| *c == 1 && *lag == 0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "connections and lag per node: {view}"
        );
        actix_rt::time::sleep(Duration::from_millis(300)).await;
    }
    // One socket closes: she is still connected to n2.
    drop(ana_on1);
    seen.extend(read_for(&mut watcher, Duration::from_secs(3)).await);
    assert!(
        !seen.iter().any(ana_is("offline")),
        "announced offline while connected to n2: {seen:#?}"
    );
    availability_everywhere(&client, &bases, &admin, &ana_id, "online").await;

    // Ben, the other agent, is on n3 only.
    let (ben_id, ben) = add_agent(&client, bases[0], &admin, "Ben", bases[2]).await;
    let mut ben_on3 = WsClient::connect(bases[2], &ben, None).await;
    ben_on3
        .until("ben's hello", Duration::from_secs(10), |f| {
            f["type"] == "hello"
        })
        .await;
    availability_everywhere(&client, &bases, &admin, &ben_id, "online").await;

    // Customers ask for a person, one after the other, their conversations spread over the
    // nodes, until one is held by n1, where neither agent is: each is assigned, whichever
    // node holds it, to whichever of the two has fewer (the nodes' rotations are not shared).
    let mut conversations = HashMap::new();
    let mut by_agent: HashMap<String, usize> = HashMap::new();
    let mut on_n1 = 0;
    for i in 0..30 {
        if i >= 12 && on_n1 > 0 {
            break;
        }
        let contact = format!("p{i}");
        let resp = signed_customer(
            &client,
            bases[i % 3],
            &format!("human-{i}"),
            &contact,
            "I need a human",
        )
        .send()
        .await
        .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let started = Instant::now();
        let (id, assignee) = loop {
            let all = conversations_by_contact(&client, bases[0], &admin).await;
            if let Some(id) = all.get(&contact) {
                let (_, c) = get(
                    &client,
                    bases[0],
                    &admin,
                    &format!("/api/conversations/{id}"),
                )
                .await;
                if let Some(a) = c["assignee_id"].as_str() {
                    break (*id, a.to_owned());
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{contact} never assigned"
            );
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        };
        if holder_of(&view, Shard::of(id)) == 0 {
            on_n1 += 1;
        }
        *by_agent.entry(assignee).or_default() += 1;
        conversations.insert(contact, id);
    }
    assert!(on_n1 > 0, "no conversation was held by n1");
    let (a, b) = (
        by_agent.get(&ana_id).copied().unwrap_or(0),
        by_agent.get(&ben_id).copied().unwrap_or(0),
    );
    assert_eq!(a + b, conversations.len(), "{by_agent:?}");
    assert!(a.abs_diff(b) <= 1, "ana {a}, ben {b}: not balanced");

    // Viewers on two nodes are listed together.
    let looked_at = conversations["p0"];
    ana_on2
        .send_json(&serde_json::json!({"type": "viewing", "conversation_id": looked_at}))
        .await;
    watcher
        .send_json(&serde_json::json!({"type": "viewing", "conversation_id": looked_at}))
        .await;
    let mut both = vec![ana_id.clone(), admin_id.clone()];
    both.sort();
    seen.extend(
        watcher
            .until("both viewers", Duration::from_secs(10), |f| {
                f["type"] == "presence" && f["viewers"] == serde_json::json!(both)
            })
            .await,
    );

    // A reply acknowledged by n1 is counted by a badge read on n3 at once, and announced.
    let (_, badge) = get(&client, bases[2], &admin, "/api/badge").await;
    let before = badge["count"].as_i64().unwrap();
    assert_eq!(before, conversations.len() as i64, "{badge}");
    let resp = client
        .post(format!(
            "{}/api/conversations/{looked_at}/messages",
            bases[0]
        ))
        .bearer_auth(&ana)
        .json(&serde_json::json!({"text": "here I am"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (_, badge) = get(&client, bases[2], &admin, "/api/badge").await;
    assert_eq!(badge["count"], before - 1, "{badge}");
    seen.extend(
        watcher
            .until("the badge", Duration::from_secs(10), |f| {
                f["type"] == "badge" && f["counts"]["total"] == before - 1
            })
            .await,
    );

    // Away, set through n3 where Ana has no socket: announced, and seen by every node.
    let resp = client
        .post(format!("{}/api/agents/me/availability", bases[2]))
        .bearer_auth(&ana)
        .json(&serde_json::json!({"availability": "away"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    seen.extend(
        watcher
            .until("ana away", Duration::from_secs(10), ana_is("away"))
            .await,
    );
    availability_everywhere(&client, &bases, &admin, &ana_id, "away").await;

    // Her last socket closes: offline, once.
    drop(ana_on2);
    seen.extend(
        watcher
            .until("ana offline", Duration::from_secs(10), ana_is("offline"))
            .await,
    );
    seen.extend(read_for(&mut watcher, Duration::from_secs(2)).await);
    let announced: Vec<&str> = seen
        .iter()
        .filter(|f| f["type"] == "presence" && f["agent_id"] == ana_id.as_str())
        .filter_map(|f| f["availability"].as_str())
        .collect();
    assert_eq!(announced, ["online", "away", "offline"], "{seen:#?}");
    availability_everywhere(&client, &bases, &admin, &ana_id, "offline").await;
}

/// Adds the agent `name` (role `agent`, email `<name>@test.local`) through `base` as `admin`,
/// and signs them in on `login_base`: their id and token.
async fn add_agent(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    name: &str,
    login_base: &str,
) -> (String, String) {
    let email = format!("{}@test.local", name.to_lowercase());
    let resp = client
        .post(format!("{base}/api/agents"))
        .bearer_auth(admin)
        .json(&serde_json::json!({"email": email, "name": name, "role": "agent"}))
        .send()
        .await
        .unwrap();
    let (status, added) = status_json(resp).await;
    assert_eq!(status, 201, "{added}");
    let id = added["agent"]["id"].as_str().unwrap().to_owned();
    let password = added["password"].as_str().unwrap();
    (id, login(client, login_base, &email, password).await)
}

/// Waits (5 s at most) until every node's `GET /api/agents` gives `agent` this availability.
async fn availability_everywhere(
    client: &reqwest::Client,
    bases: &[&str],
    token: &str,
    agent: &str,
    want: &str,
) {
    for base in bases {
        let started = Instant::now();
        loop {
            let (_, agents) = get(client, base, token, "/api/agents").await;
            let now = agents["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["id"] == agent)
                .map(|a| a["availability"].clone());
            if now == Some(Value::from(want)) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{base} says {now:?}, not {want}"
            );
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Blocking a person through a node that does not hold their conversation: the holder's
/// actor takes the new row before the block is acknowledged (the agents are told, the
/// assistant no longer answers), and the block is recorded once, not once per node the
/// request passed through.
#[actix_rt::test]
async fn a_contact_change_reaches_the_conversation_on_the_node_holding_it() {
    let cluster = Cluster::new().await;
    let n1 = cluster.node("n1");
    let n2 = cluster.node("n2");
    let bases = [n1.base.as_str(), n2.base.as_str()];
    let client = reqwest::Client::new();
    let admin = login(&client, bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, bases[0], &admin, 2).await;
    let resp = signed_customer(&client, bases[0], "b-1", "blockee", "hello")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let conversation = conversations_by_contact(&client, bases[0], &admin).await["blockee"];
    let elsewhere = 1 - holder_of(&view, Shard::of(conversation));
    let mut watcher = WsClient::connect(bases[elsewhere], &admin, None).await;
    watcher
        .until("hello", Duration::from_secs(10), |f| f["type"] == "hello")
        .await;
    let (_, c) = get(
        &client,
        bases[0],
        &admin,
        &format!("/api/conversations/{conversation}"),
    )
    .await;
    let contact = c["contact"]["id"].as_str().unwrap().to_owned();

    let resp = client
        .post(format!("{}/api/contacts/{contact}/block", bases[elsewhere]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "{body}");
    watcher
        .until(
            "the conversation's contact blocked",
            Duration::from_secs(10),
            |f| {
                f["type"] == "conversation.updated"
                    && f["conversation"]["contact"]["blocked"] == true
            },
        )
        .await;
    let (_, activity) = get(
        &client,
        bases[0],
        &admin,
        &format!("/api/contacts/{contact}/activity?kinds=blocked"),
    )
    .await;
    assert_eq!(
        activity["items"].as_array().map(Vec::len),
        Some(1),
        "{activity}"
    );
    // Blocked on the holder: the assistant does not answer the next message.
    let resp = signed_customer(&client, bases[elsewhere], "b-2", "blockee", "hello again")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    actix_rt::time::sleep(Duration::from_secs(1)).await;
    let (_, messages) = get(
        &client,
        bases[0],
        &admin,
        &format!("/api/conversations/{conversation}/messages"),
    )
    .await;
    let authors: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["author"].as_str())
        .collect();
    assert_eq!(
        authors.iter().filter(|a| **a == "customer").count(),
        2,
        "{messages}"
    );
    let answers_after_block = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .skip_while(|m| m["external_id"] != "b-2")
        .filter(|m| m["author"] == "assistant")
        .count();
    assert_eq!(answers_after_block, 0, "{messages}");
}

/// A WhatsApp image whose download was cut by a kill -9 of the node holding its
/// conversation is downloaded by the node that takes the shard.
#[actix_rt::test]
async fn a_download_cut_by_a_dead_node_is_finished_by_the_next_holder() {
    use crate::helpers::Reply;
    use crate::whatsapp::{self as wa, APP_SECRET, PNID, TOKEN, VERIFY};
    let graph = FakeProvider::start().await;
    let cluster = Cluster::with(&format!(
        "[[inbox]]\nid = \"wa\"\nchannel = \"whatsapp\"\nsecret = \"{APP_SECRET}\"\n\
         phone_number_id = \"{PNID}\"\naccess_token = \"{TOKEN}\"\nverify_token = \"{VERIFY}\"\n\
         api_base_url = \"{}\"\n",
        graph.url
    ))
    .await;
    // The file itself answers only after a minute: the download is in flight at the kill.
    let jpeg = b"\xff\xd8 a photo".to_vec();
    wa::media_answer(&graph, "IMGK", "image/jpeg", &jpeg);
    graph.on(
        "GET",
        "/lookaside/IMGK",
        Reply::bytes(200, "image/jpeg", jpeg.clone()).after(Duration::from_secs(60)),
    );
    let mut nodes = [Some(cluster.node("n1")), Some(cluster.node("n2"))];
    let bases: Vec<String> = nodes.iter().flatten().map(|n| n.base.clone()).collect();
    let client = reqwest::Client::new();
    let admin = login(&client, &bases[0], ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let view = settled(&client, &bases[0], &admin, 2).await;

    let image = serde_json::json!({"from": wa::CUSTOMER, "id": "wamid.K", "timestamp": wa::ts(0),
        "type": "image", "image": {"id": "IMGK", "mime_type": "image/jpeg", "sha256": "x"}});
    let raw = serde_json::to_vec(&wa::notification(vec![image], vec![])).unwrap();
    let resp = client
        .post(format!("{}/webhooks/whatsapp/wa", bases[0]))
        .header("Content-Type", "application/json")
        .header(
            "X-Hub-Signature-256",
            switchboard::providers::whatsapp::sign(APP_SECRET, &raw),
        )
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let started = Instant::now();
    while graph.calls_to("GET", "/lookaside/IMGK").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never downloaded"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let conversations = conversations_by_contact(&client, &bases[0], &admin).await;
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    let conversation = *conversations.values().next().unwrap();
    let holder = holder_of(&view, Shard::of(conversation));
    nodes[holder].take().unwrap().kill9();
    // The provider is quick again; the survivor takes the shard and fetches the file.
    graph.on(
        "GET",
        "/lookaside/IMGK",
        Reply::bytes(200, "image/jpeg", jpeg.clone()),
    );
    let survivor = &bases[1 - holder];
    let started = Instant::now();
    loop {
        let (_, messages) = get(
            &client,
            survivor,
            &admin,
            &format!("/api/conversations/{conversation}/messages"),
        )
        .await;
        let image = messages["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["external_id"] == "wamid.K")
            .cloned()
            .unwrap_or_default();
        if image["media_url"].is_string() {
            assert_eq!(image["media_pending"], false, "{image}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the download was not resumed: {image}"
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(graph.calls_to("GET", "/lookaside/IMGK").len(), 2);
}
