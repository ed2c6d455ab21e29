//! Test support: a fresh database per test (a temp SQLite file, or a PostgreSQL schema), the
//! real server started on a free port through the same `server::build` as `main`, one recording
//! stand-in for every system the server calls (providers' APIs, the callback receiver), and an
//! HTTP client that signs like a real integrator.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
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

/// One request the stand-in received, and the status it answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// When the request arrived (before any scripted slowness).
    pub at: Instant,
    /// The status the stand-in answered.
    pub status: u16,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// Whether the stand-in accepted it (answered 2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One answer of the stand-in: what a provider says, and how long it takes to say it.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    /// A JSON answer. `{seq}` in it becomes a number that grows with each answer, so the ids
    /// a provider hands out stay unique.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::bytes(status, "application/json", body.to_string())
    }

    /// An answer with these bytes (a file).
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// A bare status, as a callback receiver answers.
    pub fn status(status: u16) -> Reply {
        Reply::bytes(status, "text/plain", "stand-in says so")
    }

    /// With this header too (`Retry-After`…).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answered only after `delay`: a slow provider.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Route = (String, String);

#[derive(Default)]
struct FakeProviderState {
    calls: Mutex<Vec<Call>>,
    /// Answers for the next requests to a route, used once each, in order.
    scripted: Mutex<HashMap<Route, VecDeque<Reply>>>,
    /// The answer to a route once its script is used up.
    defaults: Mutex<HashMap<Route, Reply>>,
    seq: AtomicU64,
}

/// A local stand-in for the systems Switchboard calls: a provider's API (Graph API, Twilio),
/// its file CDN, or the system behind an API inbox's callback URL. It records method, path,
/// headers, body, arrival time and answer of every request, and answers each `method path` as
/// a real provider would: a default reply, and scripted replies before it (errors, rate limits
/// with `Retry-After`, slowness). A route it was not told about is a 404 in the Graph API's
/// error shape.
#[derive(Clone)]
pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`: an inbox's `api_base_url`.
    pub url: String,
    state: Arc<FakeProviderState>,
    _server: actix_web::dev::ServerHandle,
}

/// Where the stand-in behind an API inbox receives callbacks.
pub const CALLBACK_PATH: &str = "/callback";

async fn fake_provider_answers(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<FakeProviderState>>,
) -> HttpResponse {
    let at = Instant::now();
    let route = (req.method().as_str().to_owned(), req.path().to_owned());
    let scripted = state
        .scripted
        .lock()
        .expect("lock")
        .get_mut(&route)
        .and_then(VecDeque::pop_front);
    let reply = scripted.or_else(|| state.defaults.lock().expect("lock").get(&route).cloned());
    let status = reply.as_ref().map_or(404, |r| r.status);
    state.calls.lock().expect("lock").push(Call {
        method: route.0,
        path: route.1,
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        at,
        status,
    });
    let Some(reply) = reply else {
        return HttpResponse::NotFound()
            .json(json!({"error": {"message": "no such route in the stand-in", "code": 803}}));
    };
    if !reply.delay.is_zero() {
        actix_rt::time::sleep(reply.delay).await;
    }
    let body = if reply.content_type.starts_with("application/json") {
        let n = state.seq.fetch_add(1, Ordering::SeqCst);
        String::from_utf8_lossy(&reply.body)
            .replace("{seq}", &n.to_string())
            .into_bytes()
    } else {
        reply.body
    };
    let mut answer =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).expect("status"));
    answer.content_type(reply.content_type);
    for (name, value) in reply.headers {
        answer.insert_header((name, value));
    }
    answer.body(body)
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let state = Arc::new(FakeProviderState::default());
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .default_service(web::to(fake_provider_answers))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind the stand-in");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        FakeProvider {
            url: format!("http://{addr}"),
            state,
            _server: handle,
        }
    }

    /// A stand-in for the system behind an API inbox's callback URL: accepts every callback
    /// at [`CALLBACK_PATH`] until told otherwise.
    pub async fn callback_receiver() -> FakeProvider {
        let receiver = FakeProvider::start().await;
        receiver.on("POST", CALLBACK_PATH, Reply::status(200));
        receiver
    }

    /// The URL of [`CALLBACK_PATH`].
    pub fn callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.url)
    }

    /// Answer `method path` with `reply` from now on (after any scripted replies).
    pub fn on(&self, method: &str, path: &str, reply: Reply) {
        self.state
            .defaults
            .lock()
            .expect("lock")
            .insert((method.to_owned(), path.to_owned()), reply);
    }

    /// Answer the next requests to `method path` with these replies, in order, then as before.
    pub fn script(&self, method: &str, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .scripted
            .lock()
            .expect("lock")
            .entry((method.to_owned(), path.to_owned()))
            .or_default()
            .extend(replies);
    }

    /// Every request so far, refused ones included.
    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().expect("lock").clone()
    }

    /// The requests to `method path`.
    pub fn calls_to(&self, method: &str, path: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path == path)
            .collect()
    }

    /// The requests it accepted (answered 2xx).
    pub fn accepted(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::accepted).collect()
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
            throughput_per_second: None,
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
    /// The system behind the `support` inbox's callback URL.
    pub callbacks: FakeProvider,
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> TestApp {
        switchboard::telemetry::init_for_tests();
        let db = TestDb::new(backend);
        let callbacks = FakeProvider::callback_receiver().await;
        let mut settings = base_settings(&db, &callbacks.callback_url());
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
            callbacks,
            _db: db,
        }
    }

    /// The test's database (to seed rows the API has no bulk route for).
    pub fn db_url(&self) -> &str {
        &self._db.url
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

/// A config file for the server binary on `db`: one API inbox without callback, one worker,
/// the test admin; `server_extra` goes into `[server]`.
pub fn binary_config(db: &TestDb, server_extra: &str) -> std::path::PathBuf {
    let path = db.dir.join("switchboard.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\ndata_dir = \"{data}\"\ndatabase_url = \"{url}\"\nworkers = 1\n{server_extra}\n\n\
             [admin]\nemail = \"{ADMIN_EMAIL}\"\npassword = \"{ADMIN_PASSWORD}\"\n\n\
             [[inbox]]\nid = \"support\"\nchannel = \"api\"\nsecret = \"{SECRET}\"\n",
            data = db.dir.join("data").display(),
            url = db.url,
        ),
    )
    .expect("config");
    path
}

/// A signed customer message to the `support` API inbox at `base`, ready to send.
pub fn signed_customer(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    contact: &str,
    text: &str,
) -> reqwest::RequestBuilder {
    let raw = serde_json::to_vec(&customer(id, contact, text)).expect("json");
    client
        .post(format!("{base}/webhooks/api/support"))
        .header(
            switchboard::providers::api::SIGNATURE_HEADER,
            switchboard::providers::api::sign(SECRET, &raw),
        )
        .header("Content-Type", "application/json")
        .body(raw)
}

/// Posts a signed customer message to the binary's API inbox; whether it was acknowledged.
pub async fn post_customer(client: &reqwest::Client, base: &str, id: &str, text: &str) -> bool {
    signed_customer(client, base, id, &format!("{id}-contact"), text)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
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

/// Gives the built-in assistant (or the first configured one) a pause before it answers.
pub fn assistant_delay(s: &mut Settings, ms: u64) {
    if s.assistants.list.is_empty() {
        s.assistants
            .list
            .push(switchboard::config::AssistantSettings::built_in(None));
    }
    s.assistants.list[0].reply_delay_ms = ms;
}
