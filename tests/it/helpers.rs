//! Test support: a fresh database per test (a temp SQLite file, or a PostgreSQL schema), the
//! real server started on a free port through the same `app::build` as `main`, a recording
//! stand-in for the callback receiver, and an HTTP client that signs like a real integrator.

use std::{
    collections::VecDeque,
    future::Future,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::{connection::SimpleConnection, Connection, PgConnection};
use serde_json::{json, Value};
use switchboard::{
    config::{ApiChannel, ChannelSettings, InboxSettings, Secret, Settings},
    providers::api,
    server::{self, AppHandle},
};

pub const SECRET: &str = "test-inbox-secret-0123";
pub const WIDGET_SECRET: &str = "widget-secret-0123456789";
pub const ADMIN_EMAIL: &str = "admin@test.local";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use (`SWITCHBOARD_TEST_PG_URL`, else CI's).
pub fn pg_base_url() -> String {
    std::env::var("SWITCHBOARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database of its own for one test; removed on drop.
pub struct TestDb {
    pub url: String,
    schema: Option<String>,
    _dir: tempfile::TempDir,
    pub dir: PathBuf,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_owned();
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", path.join("test.db").display()),
                schema: None,
                _dir: dir,
                dir: path,
            },
            Backend::Postgres => {
                // Never a silent skip: without PostgreSQL these tests fail, with the reason.
                let mut conn = PgConnection::establish(&pg_base_url()).unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the postgres tests ({}): {e}",
                        pg_base_url()
                    )
                });
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if pg_base_url().contains('?') {
                    '&'
                } else {
                    '?'
                };
                TestDb {
                    url: format!("{}{sep}options=-csearch_path%3D{schema}", pg_base_url()),
                    schema: Some(schema),
                    _dir: dir,
                    dir: path,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            if let Ok(mut conn) = PgConnection::establish(&pg_base_url()) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("callback body is JSON")
    }
}

#[derive(Default)]
struct StandInState {
    received: Mutex<Vec<Recorded>>,
    /// Scripted answers, used in order; then `default_status`.
    script: Mutex<VecDeque<u16>>,
    default_status: Mutex<u16>,
}

/// A local stand-in for the system behind an inbox's callback URL: records every request and
/// answers as told.
#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    state: Arc<StandInState>,
    _server: actix_web::dev::ServerHandle,
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<StandInState>>,
) -> HttpResponse {
    let signature = req
        .headers()
        .get(api::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = {
        let mut script = state.script.lock().expect("lock");
        script
            .pop_front()
            .unwrap_or(*state.default_status.lock().expect("lock"))
    };
    if (200..300).contains(&status) {
        state.received.lock().expect("lock").push(Recorded {
            signature,
            body: body.to_vec(),
        });
    } else {
        state.received.lock().expect("lock").push(Recorded {
            signature,
            body: Vec::new(),
        });
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .body("stand-in says so")
}

impl StandIn {
    pub async fn start() -> StandIn {
        let state = Arc::new(StandInState {
            default_status: Mutex::new(200),
            ..Default::default()
        });
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind stand-in");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        StandIn {
            url: format!("http://{addr}/callback"),
            state,
            _server: handle,
        }
    }

    /// Answer with `status` from now on.
    pub fn answer(&self, status: u16) {
        *self.state.default_status.lock().expect("lock") = status;
    }

    /// Answer the next requests with these statuses, then the default.
    pub fn script(&self, statuses: &[u16]) {
        self.state
            .script
            .lock()
            .expect("lock")
            .extend(statuses.iter().copied());
    }

    /// Every request, including refused ones (with empty bodies).
    pub fn all(&self) -> Vec<Recorded> {
        self.state.received.lock().expect("lock").clone()
    }

    /// Requests that were answered 2xx.
    pub fn delivered(&self) -> Vec<Recorded> {
        self.all()
            .into_iter()
            .filter(|r| !r.body.is_empty())
            .collect()
    }
}

/// One request a provider stand-in received.
#[derive(Debug, Clone)]
pub struct ProviderCall {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: std::collections::HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl ProviderCall {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

type RouteKey = (String, String);

#[derive(Default)]
struct ProviderState {
    calls: Mutex<Vec<ProviderCall>>,
    scripted: Mutex<std::collections::HashMap<RouteKey, VecDeque<Answer>>>,
    defaults: Mutex<std::collections::HashMap<RouteKey, Answer>>,
    seq: std::sync::atomic::AtomicU64,
}

/// A local stand-in for a provider's API (Graph API, Twilio): records method, path, headers
/// and body of every request, and answers per route as scripted. `{seq}` in an answer body is
/// replaced by a number that grows with each answer, so ids stay unique.
#[derive(Clone)]
pub struct Provider {
    /// `http://127.0.0.1:<port>`: the inbox's `api_base_url`.
    pub url: String,
    state: Arc<ProviderState>,
    _server: actix_web::dev::ServerHandle,
}

async fn provider_answer(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<ProviderState>>,
) -> HttpResponse {
    let method = req.method().as_str().to_owned();
    let path = req.path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    state.calls.lock().expect("lock").push(ProviderCall {
        method: method.clone(),
        path: path.clone(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    });
    let key = (method, path);
    let scripted = state
        .scripted
        .lock()
        .expect("lock")
        .get_mut(&key)
        .and_then(VecDeque::pop_front);
    let answer = scripted.or_else(|| state.defaults.lock().expect("lock").get(&key).cloned());
    match answer {
        Some(a) => {
            let n = state.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = String::from_utf8_lossy(&a.body)
                .replace("{seq}", &n.to_string())
                .into_bytes();
            let body = if a.content_type.starts_with("application/json") {
                body
            } else {
                a.body
            };
            HttpResponse::build(actix_web::http::StatusCode::from_u16(a.status).expect("status"))
                .content_type(a.content_type)
                .body(body)
        }
        None => HttpResponse::NotFound()
            .json(json!({"error": {"message": "no such route in the stand-in", "code": 803}})),
    }
}

impl Provider {
    pub async fn start() -> Provider {
        let state = Arc::new(ProviderState::default());
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .default_service(web::to(provider_answer))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind provider stand-in");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Provider {
            url: format!("http://{addr}"),
            state,
            _server: handle,
        }
    }

    /// Answer `method path` with this JSON from now on.
    pub fn on(&self, method: &str, path: &str, status: u16, body: Value) {
        self.on_bytes(
            method,
            path,
            status,
            "application/json",
            body.to_string().into_bytes(),
        );
    }

    pub fn on_bytes(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: Vec<u8>,
    ) {
        self.state.defaults.lock().expect("lock").insert(
            (method.to_owned(), path.to_owned()),
            Answer {
                status,
                content_type: content_type.to_owned(),
                body,
            },
        );
    }

    /// Answer the next requests to `method path` with these, in order, then the default.
    pub fn script(&self, method: &str, path: &str, answers: &[(u16, Value)]) {
        let mut scripted = self.state.scripted.lock().expect("lock");
        let queue = scripted
            .entry((method.to_owned(), path.to_owned()))
            .or_default();
        for (status, body) in answers {
            queue.push_back(Answer {
                status: *status,
                content_type: "application/json".to_owned(),
                body: body.to_string().into_bytes(),
            });
        }
    }

    pub fn calls(&self) -> Vec<ProviderCall> {
        self.state.calls.lock().expect("lock").clone()
    }

    /// The requests to `method path`.
    pub fn calls_to(&self, method: &str, path: &str) -> Vec<ProviderCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path == path)
            .collect()
    }
}

/// Polls `check` until it returns `Some`, or fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub fn base_settings(db: &TestDb, callback_url: &str) -> Settings {
    let mut s = Settings::default();
    s.server.bind = ([127, 0, 0, 1], 0).into();
    s.server.data_dir = db.dir.join("data");
    s.server.database_url = Some(db.url.clone());
    s.server.workers = 1;
    s.server.db_pool_size = 4;
    s.admin.email = ADMIN_EMAIL.to_owned();
    s.admin.password = Some(Secret::new(ADMIN_PASSWORD));
    s.outbox.initial_backoff_ms = 50;
    s.outbox.max_backoff_ms = 200;
    s.outbox.poll_interval_ms = 50;
    s.conversations.timer_scan_secs = 1;
    let support = InboxSettings::new(
        "support",
        Secret::new(SECRET),
        ChannelSettings::Api(ApiChannel {
            callback_url: Some(setting(callback_url)),
            window_hours: None,
        }),
    );
    let mut website = InboxSettings::new(
        "website",
        Secret::new(WIDGET_SECRET),
        ChannelSettings::Widget,
    );
    website.name = Some("Website".to_owned());
    s.inboxes = vec![support, website];
    for inbox in &mut s.inboxes {
        quiet(inbox);
    }
    s
}

/// A typed setting from its text (a URL, a country code…), as the configuration file gives it.
pub fn setting<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("a valid setting")
}

/// Turns off the handoff acknowledgement: most scenarios count what is sent to the customer
/// after a handoff, and the acknowledgement has scenarios of its own (`handoff_ack.rs`).
pub fn quiet(inbox: &mut InboxSettings) {
    inbox.handoff_ack.enabled = false;
}

/// The real server, in this process, on a free port.
pub struct TestApp {
    pub handle: AppHandle,
    pub base: String,
    /// `server.data_dir`: files live under `media/` there.
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    pub stand_in: StandIn,
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> TestApp {
        switchboard::telemetry::init_for_tests();
        let db = TestDb::new(backend);
        let stand_in = StandIn::start().await;
        let mut settings = base_settings(&db, &stand_in.url);
        customize(&mut settings);
        settings.validate().expect("test settings are valid");
        let data_dir = settings.server.data_dir.clone();
        let (handle, server) = server::build(settings).await.expect("server starts");
        actix_rt::spawn(server);
        TestApp {
            base: format!("http://{}", handle.addr),
            data_dir,
            handle,
            client: reqwest::Client::new(),
            stand_in,
            _db: db,
        }
    }

    /// POSTs a signed customer message to the API channel.
    pub async fn inbound(&self, body: &Value) -> reqwest::Response {
        let raw = serde_json::to_vec(body).expect("json");
        self.inbound_raw("support", &raw, Some(&api::sign(SECRET, &raw)))
            .await
    }

    pub async fn inbound_raw(
        &self,
        inbox: &str,
        raw: &[u8],
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/webhooks/api/{inbox}", self.base))
            .header("Content-Type", "application/json")
            .body(raw.to_vec());
        if let Some(sig) = signature {
            req = req.header(api::SIGNATURE_HEADER, sig);
        }
        req.send().await.expect("request")
    }

    /// A customer writes (signed, on the `support` inbox); the message must be accepted.
    /// Returns its conversation id.
    pub async fn customer_writes(&self, external_id: &str, contact: &str, text: &str) -> String {
        let (status, body) =
            status_json(self.inbound(&customer(external_id, contact, text)).await).await;
        assert_eq!(status, 200, "{body}");
        body["conversation_id"]
            .as_str()
            .expect("conversation id")
            .to_owned()
    }

    pub async fn login(&self) -> String {
        login(&self.client, &self.base, ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// One authenticated API call: `(status, JSON body)`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        status_json(req.send().await.expect("request")).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    pub async fn put(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, token, path, Some(body))
            .await
    }

    /// POSTs raw bytes (an attachment) with this Content-Type.
    pub async fn post_bytes(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Content-Type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("request");
        status_json(resp).await
    }

    /// GETs raw bytes: status, Content-Type and body.
    pub async fn get_bytes(&self, token: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, resp.bytes().await.expect("body").to_vec())
    }

    /// Conversations of the list (first page, all statuses).
    pub async fn conversations(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.get(token, "/api/conversations?limit=200").await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn delete(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, token, path, None).await
    }

    /// All messages of a conversation (one page of up to 200).
    pub async fn messages(&self, token: &str, conversation_id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                token,
                &format!("/api/conversations/{conversation_id}/messages?limit=200"),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits for a message of the conversation that satisfies `pred`.
    pub async fn message_where(
        &self,
        token: &str,
        conversation_id: &str,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(what, Duration::from_secs(10), || async {
            self.messages(token, conversation_id)
                .await
                .into_iter()
                .find(|m| pred(m))
        })
        .await
    }

    pub async fn conversation(&self, token: &str, conversation_id: &str) -> Value {
        let (status, body) = self
            .get(token, &format!("/api/conversations/{conversation_id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

pub async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let resp = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request");
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "login failed: {body}");
    body["token"].as_str().expect("token").to_owned()
}

pub async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("response is not JSON ({status}): {text}"))
    };
    (status, body)
}

/// A customer message in the API channel's format.
pub fn customer(external_id: &str, contact: &str, text: &str) -> Value {
    json!({ "external_id": external_id, "contact": { "external_id": contact, "name": "Test Customer" }, "text": text })
}

/// Messages by author, e.g. `authors(&msgs) == ["customer", "assistant"]`.
pub fn authors(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["author"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The server binary as a child process (for crash tests), reading its address from stdout.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    pub fn start(config: &Path, extra_env: &[(&str, &str)]) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.env("SWITCHBOARD_CONFIG", config)
            .env("SWITCHBOARD_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the server binary");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("Switchboard listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server printed its address");
        ServerProcess { child, base }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a scenario on both backends: `both_backends!(name, …)` makes `sqlite::name` and
/// `postgres::name` tests calling `name(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_rt::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_rt::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A real websocket client of the agent socket.
pub struct WsClient {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl WsClient {
    pub async fn connect(base: &str, token: &str, since: Option<u64>) -> WsClient {
        let mut url = format!(
            "{}/api/ws?token={token}",
            base.replacen("http://", "ws://", 1)
        );
        if let Some(s) = since {
            url.push_str(&format!("&since={s}"));
        }
        WsClient::connect_url(&url).await
    }

    pub async fn connect_url(url: &str) -> WsClient {
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        WsClient { stream }
    }

    /// The next JSON text frame, or `None` after `timeout` (or when the socket closed).
    pub async fn next_json(&mut self, timeout: Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??
                .ok()?;
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                return Some(serde_json::from_str(t.as_str()).expect("server frames are JSON"));
            }
        }
    }

    /// Frames until one satisfies `pred` (included); fails the test after `timeout`.
    pub async fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(v) = self.next_json(left).await else {
                panic!("timed out waiting for {what}; got {seen:#?}");
            };
            let done = pred(&v);
            seen.push(v);
            if done {
                return seen;
            }
        }
    }

    /// Every frame that arrives within `quiet` of the previous one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Some(v) = self.next_json(quiet).await {
            seen.push(v);
        }
        seen
    }

    /// Reads until the server closes the socket: its close code and reason, or `None` if it
    /// stays open for `timeout` (or ends without a close frame). Text frames are skipped.
    pub async fn closed(&mut self, timeout: Duration) -> Option<(u16, String)> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??
                .ok()?;
            if let Message::Close(frame) = msg {
                return Some(frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                }));
            }
        }
    }

    pub async fn send_json(&mut self, v: &Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(v.to_string()))
            .await
            .expect("send");
    }
}

impl TestApp {
    /// Adds an agent directly (as `switchboard agent add` would) and logs it in.
    pub async fn agent(
        &self,
        email: &str,
        role: switchboard::domain::types::Role,
    ) -> (String, String) {
        let row = switchboard::auth::new_agent_row(email, email, role, "agent-password-1")
            .expect("agent row");
        let id = row.id.to_string();
        self.handle
            .app
            .store
            .write(move |c| switchboard::db::queries::insert_agent(c, &row))
            .await
            .expect("insert agent");
        (
            id,
            login(&self.client, &self.base, email, "agent-password-1").await,
        )
    }
}
