//! A small Chrome DevTools Protocol client: enough to drive headless Chromium (Debian's
//! `chromium`) through real pages — navigate, evaluate, type, press keys, take screenshots, and
//! hear what each page reports as an error (uncaught exceptions, `console.error`, failed loads).
//!
//! With `CI=true` a missing browser is a failure. Elsewhere too, unless the developer opts out
//! explicitly with `SWITCHBOARD_SKIP_BROWSER=1` (never honoured in CI).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub fn chromium_path() -> Option<String> {
    let candidates = [
        std::env::var("CHROMIUM").ok(),
        Some("/usr/bin/chromium".to_owned()),
        Some("/usr/bin/chromium-browser".to_owned()),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| std::path::Path::new(p).exists())
}

/// Whether browser tests should run here; panics in CI when no browser is installed.
pub fn browser_available() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match chromium_path() {
        Some(_) => true,
        None if ci => panic!("CI=true but Chromium is missing: install Debian's `chromium` package (.ci/run does)"),
        None if std::env::var("SWITCHBOARD_SKIP_BROWSER").is_ok_and(|v| v == "1") => {
            eprintln!("SWITCHBOARD_SKIP_BROWSER=1: browser test NOT run");
            false
        }
        None => panic!("Chromium is required for the browser tests (apt-get install chromium), or set SWITCHBOARD_SKIP_BROWSER=1"),
    }
}

pub struct Browser {
    child: Child,
    socket: Socket,
    next_id: u64,
    /// The tab in front: a user looks at one tab at a time, and Chromium pauses rendering in
    /// the others.
    front: Option<String>,
    /// What each tab (by CDP session) reported as an error, in order: see [`Page::console_errors`].
    errors: HashMap<String, Vec<String>>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn launch() -> Browser {
        let path = chromium_path().expect("chromium");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--window-size=1366,800",
                // A fake microphone (a tone) that needs no permission prompt: voice notes.
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium printed its DevTools address");
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect to DevTools");
        Browser {
            child,
            socket,
            next_id: 1,
            front: None,
            errors: HashMap::new(),
            _profile: profile,
        }
    }

    /// Sends a command and waits for its answer (events in between are ignored, but for the
    /// errors they report).
    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.socket
            .send(Message::Text(msg.to_string()))
            .await
            .expect("send to browser");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await;
            let Ok(Some(Ok(Message::Text(text)))) = next else {
                match next {
                    Ok(Some(Ok(_))) => continue,
                    other => {
                        panic!("browser connection lost while waiting for {method}: {other:?}")
                    }
                }
            };
            let v: Value = serde_json::from_str(text.as_str()).expect("CDP JSON");
            if v.get("method").is_some() {
                self.note_error(&v);
                continue;
            }
            if v["id"] == id {
                if let Some(err) = v.get("error") {
                    panic!("{method} failed: {err}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Keeps an event that reports an error in a tab: an uncaught exception (a module that fails
    /// to parse or link throws one), `console.error`, or the browser's own error log (a script
    /// or module that failed to load, a refused fetch).
    fn note_error(&mut self, v: &Value) {
        let Some(session) = v["sessionId"].as_str() else {
            return;
        };
        let p = &v["params"];
        let at = |url: &Value, line: &Value| match url.as_str() {
            Some(url) if !url.is_empty() => match line.as_i64() {
                Some(line) => format!(" ({url}:{})", line + 1),
                None => format!(" ({url})"),
            },
            _ => String::new(),
        };
        let error = match v["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                let d = &p["exceptionDetails"];
                let what = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("exception");
                format!("uncaught {what}{}", at(&d["url"], &d["lineNumber"]))
            }
            Some("Runtime.consoleAPICalled") if p["type"] == "error" || p["type"] == "assert" => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|a| match &a["value"] {
                        Value::String(s) => s.clone(),
                        Value::Null => a["description"].as_str().unwrap_or("?").to_owned(),
                        other => other.to_string(),
                    })
                    .collect();
                format!(
                    "console.{}: {}",
                    p["type"].as_str().unwrap_or("error"),
                    args.join(" ")
                )
            }
            Some("Log.entryAdded") if p["entry"]["level"] == "error" => {
                let e = &p["entry"];
                format!(
                    "{}: {}{}",
                    e["source"].as_str().unwrap_or("log"),
                    e["text"].as_str().unwrap_or_default(),
                    at(&e["url"], &e["lineNumber"])
                )
            }
            _ => return,
        };
        self.errors
            .entry(session.to_owned())
            .or_default()
            .push(error);
    }

    /// Opens a new tab at `url` with a laptop-sized viewport.
    pub async fn open(&mut self, url: &str, width: u32, height: u32) -> Page {
        let target = self
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await;
        let session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        let page = Page { session };
        for domain in ["Page", "Runtime", "Log"] {
            self.call(Some(&page.session), &format!("{domain}.enable"), json!({}))
                .await;
        }
        page.resize(self, width, height).await;
        page.goto(self, url).await;
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab.
pub struct Page {
    session: String,
}

impl Page {
    pub async fn resize(&self, b: &mut Browser, width: u32, height: u32) {
        b.call(
            Some(&self.session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        )
        .await;
    }

    pub async fn goto(&self, b: &mut Browser, url: &str) {
        b.call(Some(&self.session), "Page.navigate", json!({ "url": url }))
            .await;
        self.wait_for(b, "page loaded", "document.readyState === 'complete'")
            .await;
    }

    /// Brings this tab to the front, as a user switching tabs would.
    pub async fn front(&self, b: &mut Browser) {
        if b.front.as_deref() != Some(self.session.as_str()) {
            b.call(Some(&self.session), "Page.bringToFront", json!({}))
                .await;
            b.front = Some(self.session.clone());
        }
    }

    /// Evaluates an expression (promises awaited) and returns its JSON value.
    pub async fn eval(&self, b: &mut Browser, js: &str) -> Value {
        self.front(b).await;
        let r = b
            .call(
                Some(&self.session),
                "Runtime.evaluate",
                json!({ "expression": js, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("JavaScript failed: {js}\n{ex}");
        }
        r["result"]["value"].clone()
    }

    /// Polls `js` until it is truthy; fails the test with `what` after 20 s. (10 s was
    /// seen to run out in CI while signing in: the password hash of an unoptimised build, on
    /// two cores shared with the rest of the suite.)
    pub async fn wait_for(&self, b: &mut Browser, what: &str, js: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let v = self
                .eval(
                    b,
                    &format!("(() => {{ try {{ return {js}; }} catch (e) {{ return null; }} }})()"),
                )
                .await;
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for: {what} ({js})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything this tab reported as an error so far (uncaught exceptions, `console.error`,
    /// resources that failed to load), oldest first.
    pub async fn console_errors(&self, b: &mut Browser) -> Vec<String> {
        // A round trip: whatever the tab reported before it has been read by then.
        b.call(
            Some(&self.session),
            "Runtime.evaluate",
            json!({ "expression": "0" }),
        )
        .await;
        b.errors.get(&self.session).cloned().unwrap_or_default()
    }

    /// Fails the test, listing them, if this tab reported any error so far.
    pub async fn assert_no_console_errors(&self, b: &mut Browser, when: &str) {
        self.assert_no_console_errors_but(b, when, |_| false).await;
    }

    /// The same, but errors `expected` accepts do not count (a request in flight when the
    /// agent lost access to what it asks for is answered 404, and Chrome reports every 4xx).
    pub async fn assert_no_console_errors_but(
        &self,
        b: &mut Browser,
        when: &str,
        expected: impl Fn(&str) -> bool,
    ) {
        let mut errors = self.console_errors(b).await;
        errors.retain(|e| !expected(e));
        assert!(
            errors.is_empty(),
            "the page reported errors {when}:\n  {}",
            errors.join("\n  ")
        );
    }

    pub async fn click(&self, b: &mut Browser, selector: &str) {
        let sel = json!(selector);
        self.wait_for(
            b,
            &format!("{selector} to appear"),
            &format!("document.querySelector({sel})"),
        )
        .await;
        self.eval(b, &format!("document.querySelector({sel}).click()"))
            .await;
    }

    /// Focuses `selector` and types `text` as a user would (input events fire). Waits until
    /// the field is shown, as a person would: a hidden field takes no focus, and the text
    /// would go nowhere (the sign-in form is hidden until the dashboard's language is loaded).
    pub async fn type_text(&self, b: &mut Browser, selector: &str, text: &str) {
        let sel = json!(selector);
        self.wait_for(
            b,
            &format!("{selector} to be shown"),
            &format!("document.querySelector({sel})?.getClientRects().length > 0"),
        )
        .await;
        self.eval(b, &format!("document.querySelector({sel}).focus()"))
            .await;
        b.call(
            Some(&self.session),
            "Input.insertText",
            json!({ "text": text }),
        )
        .await;
    }

    /// A real Enter key press on the focused element.
    pub async fn press_enter(&self, b: &mut Browser) {
        for kind in ["keyDown", "char", "keyUp"] {
            let mut p = json!({ "type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13 });
            if kind != "keyUp" {
                p["text"] = json!("\r");
            }
            b.call(Some(&self.session), "Input.dispatchKeyEvent", p)
                .await;
        }
    }

    /// A real key press on the focused element: a letter (`j`), `?`, `/`, or a named key
    /// (`Escape`, `Enter`, the arrows, `Tab`).
    pub async fn press_key(&self, b: &mut Browser, key: &str) {
        let (code, vk, text, modifiers): (String, u32, Option<&str>, u32) = match key {
            "Escape" => ("Escape".into(), 27, None, 0),
            // Without a character event: a control that takes Enter sees the key alone.
            "Enter" => ("Enter".into(), 13, None, 0),
            "ArrowDown" => ("ArrowDown".into(), 40, None, 0),
            "ArrowUp" => ("ArrowUp".into(), 38, None, 0),
            "ArrowRight" => ("ArrowRight".into(), 39, None, 0),
            "ArrowLeft" => ("ArrowLeft".into(), 37, None, 0),
            "Tab" => ("Tab".into(), 9, None, 0),
            // Space activates a focused button (as a person's Space bar does).
            " " => ("Space".into(), 32, Some(" "), 0),
            "?" => ("Slash".into(), 191, Some("?"), 8),
            "/" => ("Slash".into(), 191, Some("/"), 0),
            k if k.len() == 1 && k.chars().all(|c| c.is_ascii_lowercase()) => {
                let upper = k.to_ascii_uppercase();
                let vk = u32::from(upper.as_bytes()[0]);
                (format!("Key{upper}"), vk, Some(k), 0)
            }
            other => panic!("press_key does not know {other:?}"),
        };
        let mut down = json!({ "type": if text.is_some() { "keyDown" } else { "rawKeyDown" },
            "key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk,
            "modifiers": modifiers });
        if let Some(t) = text {
            down["text"] = json!(t);
            down["unmodifiedText"] = json!(t);
        }
        b.call(Some(&self.session), "Input.dispatchKeyEvent", down)
            .await;
        let up = json!({ "type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk,
            "nativeVirtualKeyCode": vk, "modifiers": modifiers });
        b.call(Some(&self.session), "Input.dispatchKeyEvent", up)
            .await;
    }

    /// Chooses `files` (paths on this machine) in the file input `selector`, as the file
    /// chooser would; `change` fires.
    pub async fn set_input_files(
        &self,
        b: &mut Browser,
        selector: &str,
        files: &[&std::path::Path],
    ) {
        let doc = b
            .call(
                Some(&self.session),
                "DOM.getDocument",
                json!({ "depth": 0 }),
            )
            .await;
        let root = doc["root"]["nodeId"].as_i64().expect("document node");
        let found = b
            .call(
                Some(&self.session),
                "DOM.querySelector",
                json!({ "nodeId": root, "selector": selector }),
            )
            .await;
        let node = found["nodeId"].as_i64().filter(|n| *n != 0);
        let node = node.unwrap_or_else(|| panic!("no {selector} to choose files in"));
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        b.call(
            Some(&self.session),
            "DOM.setFileInputFiles",
            json!({ "nodeId": node, "files": files }),
        )
        .await;
    }

    pub async fn text_of(&self, b: &mut Browser, selector: &str) -> String {
        let sel = json!(selector);
        self.eval(
            b,
            &format!("(document.querySelector({sel}) || {{}}).textContent || ''"),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Runs the page's clocks in another time zone (an IANA name such as "Asia/Kolkata"), as a
    /// browser on a machine set to that zone would.
    pub async fn set_timezone(&self, b: &mut Browser, zone: &str) {
        b.call(
            Some(&self.session),
            "Emulation.setTimezoneOverride",
            json!({ "timezoneId": zone }),
        )
        .await;
    }

    /// Makes the tab's browser prefer `tag` ("es-ES"): `navigator.languages` and the
    /// Accept-Language header, as a browser set to that language would.
    pub async fn set_language(&self, b: &mut Browser, tag: &str) {
        let agent = self.eval(b, "navigator.userAgent").await;
        b.call(
            Some(&self.session),
            "Emulation.setUserAgentOverride",
            json!({ "userAgent": agent, "acceptLanguage": tag }),
        )
        .await;
    }

    pub async fn screenshot(&self, b: &mut Browser, path: &std::path::Path) {
        let shot = b
            .call(
                Some(&self.session),
                "Page.captureScreenshot",
                json!({ "format": "png" }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}
