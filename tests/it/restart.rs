//! Nothing is lost: the real binary is killed with SIGKILL after acknowledging messages, then
//! started again on the same database.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::providers::api;

use crate::{
    both_backends,
    helpers::{
        customer, eventually, login, status_json, Backend, FakeProvider, Reply, ServerProcess,
        TestDb, ADMIN_EMAIL, ADMIN_PASSWORD, CALLBACK_PATH, SECRET,
    },
};

const CUSTOMERS: usize = 20;

fn write_config(db: &TestDb, callback: &str) -> std::path::PathBuf {
    write_config_with(db, callback, "switchboard.toml", "")
}

/// The config with `extra` TOML at its end, as the file `name`.
fn write_config_with(db: &TestDb, callback: &str, name: &str, extra: &str) -> std::path::PathBuf {
    let path = db.dir.join(name);
    let text = format!(
        r#"
[server]
data_dir = "{data}"
database_url = "{url}"
workers = 1

[admin]
email = "{ADMIN_EMAIL}"
password = "{ADMIN_PASSWORD}"

[conversations]
timer_scan_secs = 1

[outbox]
initial_backoff_ms = 50
max_backoff_ms = 200
poll_interval_ms = 50

[[inbox]]
id = "support"
channel = "api"
secret = "{SECRET}"
callback_url = "{callback}"
{extra}
"#,
        data = db.dir.join("data").display(),
        url = db.url,
    );
    std::fs::write(&path, text).expect("write config");
    path
}

async fn post_signed(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let raw = serde_json::to_vec(body).expect("json");
    let resp = client
        .post(format!("{base}/webhooks/api/support"))
        .header(api::SIGNATURE_HEADER, api::sign(SECRET, &raw))
        .header("Content-Type", "application/json")
        .body(raw)
        .send()
        .await
        .expect("request");
    status_json(resp).await
}

async fn kill_9_loses_nothing_and_pending_work_resumes(b: Backend) {
    let db = TestDb::new(b);
    let receiver = FakeProvider::callback_receiver().await;
    // The callback receiver is down: every reply stays queued in the outbox.
    receiver.on("POST", CALLBACK_PATH, Reply::status(503));
    let config = write_config(&db, &receiver.callback_url());
    let client = reqwest::Client::new();

    let server = ServerProcess::start(&config, &[]);
    let mut conversations = Vec::new();
    for i in 0..CUSTOMERS {
        let (s, ack) = post_signed(
            &client,
            &server.base,
            &customer(
                &format!("m{i}"),
                &format!("c{i}"),
                "What are your opening hours?",
            ),
        )
        .await;
        assert_eq!(s, 200, "{ack}");
        conversations.push(ack["conversation_id"].as_str().expect("id").to_owned());
    }
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let resp = client
        .post(format!(
            "{}/api/conversations/{}/follow-up",
            server.base, conversations[0]
        ))
        .bearer_auth(&token)
        .json(&json!({"at": at, "reason": "after the crash"}))
        .send()
        .await
        .expect("follow-up");
    assert_eq!(resp.status().as_u16(), 200);
    // Let some delivery attempts fail, so the crash lands in the middle of retries.
    eventually("failed attempts", Duration::from_secs(10), || async {
        (receiver.calls().len() >= 3).then_some(())
    })
    .await;
    server.kill9();

    // The receiver is back; the server restarts on the same database.
    receiver.on("POST", CALLBACK_PATH, Reply::status(200));
    let server = ServerProcess::start(&config, &[]);
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for id in &conversations {
        let resp = client
            .get(format!("{}/api/conversations/{id}/messages", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("messages");
        let (s, body) = status_json(resp).await;
        assert_eq!(s, 200);
        let customer_msgs = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|m| m["author"] == "customer")
            .count();
        assert_eq!(customer_msgs, 1, "acknowledged message of {id} survived");
    }
    // Every queued reply is delivered after the restart, once per message id.
    let delivered = eventually("all replies delivered", Duration::from_secs(20), || async {
        let mut ids: Vec<String> = receiver
            .accepted()
            .iter()
            .map(|r| {
                r.json()["conversation_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        ids.sort();
        ids.dedup();
        (ids.len() == CUSTOMERS).then_some(ids)
    })
    .await;
    assert_eq!(delivered.len(), CUSTOMERS);
    // The follow-up set before the crash fires after it.
    eventually(
        "follow-up fired after restart",
        Duration::from_secs(15),
        || async {
            let resp = client
                .get(format!(
                    "{}/api/conversations/{}/messages",
                    server.base, conversations[0]
                ))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?;
            let body: Value = resp.json().await.ok()?;
            body["items"]
                .as_array()?
                .iter()
                .any(|m| m["text"] == "Follow-up due: after the crash")
                .then_some(())
        },
    )
    .await;
    server.kill9();
}

/// The server is killed while the assistant thinks about an acknowledged message: after the
/// restart the customer still gets the answer.
async fn a_question_left_unanswered_by_a_crash_is_answered_after_it(b: Backend) {
    let db = TestDb::new(b);
    let receiver = FakeProvider::callback_receiver().await;
    let slow = write_config_with(
        &db,
        &receiver.callback_url(),
        "slow.toml",
        "[assistant]\nreply_delay_ms = 30000\n",
    );
    let config = write_config(&db, &receiver.callback_url());
    let client = reqwest::Client::new();

    let server = ServerProcess::start(&slow, &[]);
    let (s, ack) = post_signed(
        &client,
        &server.base,
        &customer("q1", "c1", "What are your opening hours?"),
    )
    .await;
    assert_eq!(s, 200, "{ack}");
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    server.kill9();
    assert!(
        receiver.calls().is_empty(),
        "nothing was answered before the crash"
    );

    let server = ServerProcess::start(&config, &[]);
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    eventually(
        "the answer after the restart",
        Duration::from_secs(15),
        || async {
            let body: Value = client
                .get(format!("{}/api/conversations/{id}/messages", server.base))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let authors: Vec<&str> = body["items"]
                .as_array()?
                .iter()
                .filter_map(|m| m["author"].as_str())
                .collect();
            (authors == ["customer", "assistant"]).then_some(())
        },
    )
    .await;
    eventually("the answer delivered", Duration::from_secs(15), || async {
        (receiver.accepted().len() == 1).then_some(())
    })
    .await;
    server.kill9();
}

/// GETs `path` as `token` on a running server process.
async fn get_json(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let resp = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let (s, body) = status_json(resp).await;
    assert_eq!(s, 200, "{path}: {body}");
    body
}

/// A server started on `extra` settings, one customer message in, and an admin's token.
struct Started {
    _db: TestDb,
    receiver: FakeProvider,
    config: std::path::PathBuf,
    client: reqwest::Client,
    server: ServerProcess,
    id: String,
    token: String,
}

impl Started {
    async fn with(b: Backend, extra: &str, text: &str) -> Started {
        let db = TestDb::new(b);
        let receiver = FakeProvider::callback_receiver().await;
        let config = write_config_with(&db, &receiver.callback_url(), "extra.toml", extra);
        let client = reqwest::Client::new();
        let server = ServerProcess::start(&config, &[]);
        let (s, ack) = post_signed(&client, &server.base, &customer("x1", "c1", text)).await;
        assert_eq!(s, 200, "{ack}");
        let id = ack["conversation_id"].as_str().expect("id").to_owned();
        let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        Started {
            _db: db,
            receiver,
            config,
            client,
            server,
            id,
            token,
        }
    }

    /// SIGKILL, then the same configuration and database again.
    async fn kill_9_and_restart(&mut self, pause: Duration) {
        self.server.child.kill().expect("kill -9");
        let _ = self.server.child.wait();
        tokio::time::sleep(pause).await;
        self.server = ServerProcess::start(&self.config, &[]);
        self.token = login(&self.client, &self.server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }

    async fn conversation(&self) -> Value {
        let path = format!("/api/conversations/{}", self.id);
        get_json(&self.client, &self.server.base, &self.token, &path).await
    }
}

/// A review due while the server was down (killed with SIGKILL before it came due) happens
/// after the restart: the due time is stored, not only a timer.
async fn a_review_due_during_a_kill_9_happens_after_the_restart(b: Backend) {
    let mut run = Started::with(
        b,
        "\n[review]\nafter_secs = 4\n",
        "Hello, do you ship to Lisbon?",
    )
    .await;
    let c = run.conversation().await;
    assert!(c["reviewed_at"].is_null(), "not due yet: {c}");
    run.kill_9_and_restart(Duration::from_secs(5)).await;
    let c = eventually(
        "reviewed after the restart",
        Duration::from_secs(15),
        || async {
            let c = run.conversation().await;
            (!c["reviewed_at"].is_null()).then_some(c)
        },
    )
    .await;
    assert!(
        c["summary"].as_str().is_some_and(|s| s.contains("Lisbon")),
        "{c}"
    );
}

/// An AI follow-up scheduled before a SIGKILL is sent after the restart, once.
async fn an_ai_follow_up_survives_a_kill_9(b: Backend) {
    let extra = "auto_follow_up = true\nfollow_up_after_secs = 6\n\n[review]\nafter_secs = 1\n";
    let mut run = Started::with(b, extra, "I want to talk to a person").await;
    let resp = run
        .client
        .post(format!(
            "{}/api/conversations/{}/messages",
            run.server.base, run.id
        ))
        .bearer_auth(&run.token)
        .json(&json!({"text": "Which size do you need?"}))
        .send()
        .await
        .expect("reply");
    assert_eq!(resp.status().as_u16(), 201);
    let c = eventually("scheduled", Duration::from_secs(15), || async {
        let c = run.conversation().await;
        (c["follow_up"]["source"] == "ai").then_some(c)
    })
    .await;
    let message = c["follow_up"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    run.kill_9_and_restart(Duration::ZERO).await;
    let sent = || {
        run.receiver
            .accepted()
            .iter()
            .filter(|r| r.json()["text"] == message.as_str())
            .count()
    };
    eventually(
        "the follow-up is sent after the restart",
        Duration::from_secs(20),
        || async { (sent() > 0).then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sent(), 1, "sent once");
}

/// A snooze whose time comes while the server is down (killed with SIGKILL) ends after the
/// restart, once: the time is in the row, the timer is rebuilt from it.
async fn a_snooze_ends_after_a_kill_9(b: Backend) {
    let mut run = Started::with(b, "", "I want to talk to a person").await;
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let resp = run
        .client
        .post(format!(
            "{}/api/conversations/{}/snooze",
            run.server.base, run.id
        ))
        .bearer_auth(&run.token)
        .json(&json!({ "until": until.to_rfc3339() }))
        .send()
        .await
        .expect("snooze");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(run.conversation().await["snoozed"], true);
    run.kill_9_and_restart(Duration::from_secs(4)).await;
    let c = eventually(
        "back from snooze after the restart",
        Duration::from_secs(15),
        || async {
            let c = run.conversation().await;
            (c["snoozed"] == false).then_some(c)
        },
    )
    .await;
    assert_eq!(c["needs_reply"], true, "{c}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resp = run
        .client
        .get(format!(
            "{}/api/conversations/{}/messages",
            run.server.base, run.id
        ))
        .bearer_auth(&run.token)
        .send()
        .await
        .expect("messages");
    let body: Value = resp.json().await.expect("json");
    let returns = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["payload"]["event"] == "unsnoozed")
        .count();
    assert_eq!(returns, 1, "ended once");
}

both_backends!(
    a_snooze_ends_after_a_kill_9,
    kill_9_loses_nothing_and_pending_work_resumes,
    a_question_left_unanswered_by_a_crash_is_answered_after_it,
    a_review_due_during_a_kill_9_happens_after_the_restart,
    an_ai_follow_up_survives_a_kill_9,
);
