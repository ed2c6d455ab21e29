//! A PostgreSQL of the test's own (its own data directory and port) stopped under load: every
//! request is answered within the deadline, 503 with `Retry-After` while the database is
//! away, `/readyz` says so, nothing acknowledged is lost, and the server recovers by itself
//! when the database is back.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::{eventually, signed_customer, Backend, TestApp};

/// A PostgreSQL server in a temporary directory, on a free port, started and stopped by the
/// test. Run as the `postgres` user when the tests run as root (PostgreSQL refuses root).
struct PrivatePg {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
}

impl PrivatePg {
    /// `None` (the test is skipped) only outside CI when PostgreSQL's server programs are
    /// not installed; in CI their absence fails the test.
    fn create() -> Option<PrivatePg> {
        let Some(bin) = pg_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL's initdb and pg_ctl are required for the outage test in CI"
            );
            eprintln!("skipped: PostgreSQL's server programs (initdb, pg_ctl) are not installed");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // `id -u` rather than libc's geteuid: the test crate stays free of unsafe code.
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_root {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the data directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = PrivatePg {
            bin,
            dir,
            port,
            as_root,
        };
        let out = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(pg.data())
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.as_root {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(path);
                c
            }
            false => Command::new(path),
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "-o", &options, "start"])
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// As a crash or a pulled cable would: no clean goodbye to the connections.
    fn stop(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .expect("pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl PrivatePg {
    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server and its backends: connections stay
    /// open and nothing answers on them, as with a hung server or a cut network.
    fn signal_all(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .expect("postmaster.pid")
            .lines()
            .next()
            .expect("pid line")
            .trim()
            .to_owned();
        let children = Command::new("pkill")
            .args([&format!("-{signal}"), "-P", &pid])
            .status()
            .expect("pkill");
        assert!(children.code().is_some_and(|c| c <= 1), "pkill {signal}");
        let main = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill");
        assert!(main.success(), "kill -{signal} {pid}");
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The directory of `initdb` and `pg_ctl`: Debian's newest version, else the PATH's.
fn pg_bin() -> Option<PathBuf> {
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("pg_ctl").exists() && b.join("initdb").exists())
        .collect();
    debian.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    if let Some(newest) = debian.pop() {
        return Some(newest);
    }
    let which = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&which.stdout).trim());
    let dir = path.parent()?.to_owned();
    dir.join("initdb").exists().then_some(dir)
}

/// One request of the load and how it was answered.
#[derive(Debug, Clone)]
struct Answer {
    id: String,
    status: u16,
    took: Duration,
    retry_after: Option<String>,
    message_id: Option<String>,
}

async fn send(client: &reqwest::Client, base: &str, id: &str) -> Answer {
    // Two customers share a conversation each, so both new and loaded conversations are hit.
    let contact = format!("outage-contact-{}", id.len() % 2);
    let started = Instant::now();
    let resp = signed_customer(client, base, id, &contact, "is anyone there?")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the server answers (it must never hang past 30 s)");
    let took = started.elapsed();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    Answer {
        id: id.to_owned(),
        status,
        took,
        retry_after,
        message_id: body["message_id"].as_str().map(str::to_owned),
    }
}

async fn ready(app: &TestApp) -> (u16, serde_json::Value) {
    let resp = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// The deadline the test configures, and what an answer may take beyond it on a busy
/// machine (a conversation whose load failed is tried again, briefly, by a fresh actor).
const DEADLINE_MS: u64 = 1000;
const SLACK: Duration = Duration::from_millis(1500);
/// What a writing request may take past the database deadline when the database hangs
/// (`http::timing::WRITE_GRACE`).
const WRITE_GRACE: Duration = Duration::from_secs(1);

#[actix_rt::test]
async fn postgres_stopped_under_load_is_answered_503_in_time_and_recovered_without_restart() {
    let Some(pg) = PrivatePg::create() else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.server.database_url = Some(pg.url());
        s.server.db_deadline_ms = DEADLINE_MS;
        s.server.db_pool_size = 4;
    })
    .await;
    assert_eq!(ready(&app).await.0, 200);

    // Load: three senders, one message after another each, until told to stop.
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut senders = Vec::new();
    for s in 0..3 {
        let (client, base) = (app.client.clone(), app.base.clone());
        let (answers, running) = (answers.clone(), running.clone());
        senders.push(actix_rt::spawn(async move {
            let mut n = 0;
            while running.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let a = send(&client, &base, &format!("load-{s}-{n}")).await;
                answers.lock().expect("answers").push(a);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;

    pg.stop();
    let stopped_at = Instant::now();
    // Readiness flips while the database is away.
    let (_, body) = eventually(
        "/readyz to say not ready",
        Duration::from_secs(10),
        || async {
            let (status, body) = ready(&app).await;
            (status == 503).then_some(((), body))
        },
    )
    .await;
    assert_eq!(body["status"], "not_ready", "{body}");
    let reason = body["reason"].as_str().unwrap_or_default().to_owned();
    assert!(
        reason.starts_with("database") || reason.starts_with("writer"),
        "{body}"
    );
    let remaining = Duration::from_secs(4).saturating_sub(stopped_at.elapsed());
    tokio::time::sleep(remaining).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("switchboard_database_up 0"),
        "the outage shows in the metrics:\n{metrics}"
    );

    pg.start();
    let back_at = Instant::now();
    eventually(
        "/readyz to say ready again",
        Duration::from_secs(20),
        || async { (ready(&app).await.0 == 200).then_some(()) },
    )
    .await;
    let recovered_in = back_at.elapsed();
    // Recovery without a restart: new messages are stored again.
    eventually(
        "a message to be stored again",
        Duration::from_secs(10),
        || async {
            let n = answers
                .lock()
                .expect("answers")
                .iter()
                .filter(|a| a.status == 200)
                .count();
            let a = send(&app.client, &app.base, &format!("after-{n}")).await;
            let ok = a.status == 200;
            answers.lock().expect("answers").push(a);
            ok.then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_freeze = answers.lock().expect("answers").len();

    // A hung database (frozen: connections open, nothing answers) is answered in time too.
    pg.signal_all("STOP");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "a hung database is not ready: {body}");
    pg.signal_all("CONT");
    eventually(
        "/readyz to say ready after the freeze",
        Duration::from_secs(20),
        || async { (ready(&app).await.0 == 200).then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, std::sync::atomic::Ordering::SeqCst);
    for s in senders {
        s.await.expect("sender");
    }
    let answers = answers.lock().expect("answers").clone();

    // Every answer in time; 200 or 503 with Retry-After, nothing else.
    let deadline = Duration::from_millis(DEADLINE_MS);
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    for (i, a) in answers.iter().enumerate() {
        // While the database was stopped it refused connections: answers came at once. While
        // it hung, a write already sent waited for the deadline and the grace.
        let limit = match i < before_freeze {
            true => deadline + SLACK,
            false => deadline + WRITE_GRACE + SLACK,
        };
        assert!(
            a.took <= limit,
            "{} took {:?} (deadline {deadline:?})",
            a.id,
            a.took
        );
        match a.status {
            200 => assert!(a.message_id.is_some(), "{a:?}"),
            503 => assert!(a.retry_after.is_some(), "503 without Retry-After: {a:?}"),
            other => panic!("unexpected status {other}: {a:?}"),
        }
    }
    let refused = answers.iter().filter(|a| a.status == 503).count();
    let acknowledged: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert!(refused > 0, "the outage was felt: {answers:?}");
    assert!(
        acknowledged.len() > 3,
        "messages were stored before and after"
    );
    eprintln!(
        "outage: {} answers, {} refused, slowest {slowest:?}, ready again {recovered_in:?} after the restart",
        answers.len(),
        refused
    );

    // Nothing acknowledged is lost: every 200's message is in the database.
    let mut conn = PgConnection::establish(&pg.url()).expect("connect to the private PostgreSQL");
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let stored: std::collections::HashSet<String> = diesel::sql_query("SELECT id FROM messages")
        .load::<Id>(&mut conn)
        .expect("read messages")
        .into_iter()
        .map(|r| r.id)
        .collect();
    for a in acknowledged {
        let id = a.message_id.as_deref().unwrap_or_default();
        assert!(
            stored.contains(id),
            "acknowledged message {} ({id}) lost",
            a.id
        );
    }
}

/// An agent's dashboard says the server is degraded while the database is away (a change it
/// tries is refused 503, and `/readyz` says why), and stops saying so once it is back.
#[actix_rt::test]
async fn the_dashboard_shows_the_outage_until_the_database_is_back() {
    use crate::{
        browser::{admin_dashboard, screenshot, ONE_BROWSER},
        cdp::{browser_available, Browser},
    };
    if !browser_available() {
        return;
    }
    let Some(pg) = PrivatePg::create() else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.server.database_url = Some(pg.url());
        s.server.db_deadline_ms = DEADLINE_MS;
    })
    .await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    let banner_shown = "!document.querySelector('#degraded-banner').hidden";
    assert_eq!(
        dash.eval(&mut b, banner_shown).await,
        serde_json::json!(false)
    );

    pg.stop();
    // The agent changes their availability: refused, and the banner says why.
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#availability'); \
         s.value = 'away'; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the degraded banner",
        &format!("{banner_shown} || null"),
    )
    .await;
    let text = dash.text_of(&mut b, "#degraded-banner").await;
    assert!(text.contains("database"), "{text}");
    dash.screenshot(&mut b, &screenshot("degraded.png")).await;

    pg.start();
    dash.wait_for(
        &mut b,
        "the banner to go once the database is back",
        "document.querySelector('#degraded-banner').hidden || null",
    )
    .await;
}
