//! The served OpenAPI document against the running server, by a property-based fuzzer
//! (schemathesis): requests generated from the document, valid and invalid, must never get a
//! 5xx, and every answer must be one the document describes (status, content type, headers,
//! body schema). That covers the routes outside `/api` too: health, the webhooks (each
//! inbox's channel has an inbox here; unsigned fuzz input is refused with the documented
//! 401), the widget's session and the signed media links. The widget's websocket is left out
//! (see [`config`]).
//!
//! schemathesis is a Python tool (`pip3 install schemathesis==4.32.5`; `.ci/run` installs it).
//! Without it the test says so and passes, except with `CI=true`, where it fails.
//! `SCHEMATHESIS_MAX_EXAMPLES` and `SCHEMATHESIS_SEED` widen or vary a local run.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use serde_json::json;

use switchboard::config::MetaPlatform;

use crate::{
    both_backends,
    fixtures::given_a_whatsapp_conversation_with,
    helpers::{eventually, Backend, TestApp},
    meta, twilio, whatsapp,
};

/// Examples per operation and phase: enough to cover every parameter's edges, small enough
/// for a couple of minutes on two cores.
const MAX_EXAMPLES: u32 = 15;
/// A fixed seed keeps CI's runs comparable; set `SCHEMATHESIS_SEED` to explore.
const SEED: u64 = 12;

/// Every check but `positive_data_acceptance`: it expects any schema-valid request to succeed,
/// and many cannot whatever the schema says (an inbox id or template name that this server's
/// configuration does not have, a follow-up time already past, a websocket route called
/// without an upgrade). `negative_data_rejection` stays: the server must refuse whatever the
/// document says is invalid.
const EXCLUDED_CHECKS: &str = "positive_data_acceptance";

/// The schemathesis executable, or why there is none.
fn schemathesis() -> Result<String, String> {
    let exe = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_owned());
    match Command::new(&exe).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(exe),
        Ok(out) => Err(format!(
            "`{exe} --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("cannot run `{exe}`: {e}")),
    }
}

/// Where the Meta and Twilio inboxes would send: nowhere, since no fuzzed webhook is signed
/// and their conversations are never answered.
const NO_PROVIDER: &str = "http://127.0.0.1:9";

/// What the fuzzer's requests are about: seeded so that they reach the handlers' logic.
struct Seeds {
    /// An API channel conversation with a customer's messages and a reply.
    conversation: String,
    contact: String,
    /// A file an agent uploaded to `contact`.
    contact_file: String,
    /// A file an agent sent on WhatsApp, and the signature of its public link.
    file: String,
    file_sig: String,
}

/// The fuzzer's settings: the seeded ids and each channel's inbox stand in for the path
/// parameters, so the requests reach the handlers' logic instead of stopping at 404.
///
/// `GET /widget/{inbox}/ws` is not fuzzed: it is a websocket upgrade, which schemathesis does
/// not make (its plain GETs could only ever get the 400 for a request that is not one); the
/// widget tests (`widget.rs`) open real sockets and check its refusals.
fn config(dir: &Path, seeds: &Seeds) -> std::path::PathBuf {
    let Seeds {
        conversation,
        contact,
        contact_file,
        file,
        file_sig,
    } = seeds;
    let (wa_verify, meta_verify) = (whatsapp::VERIFY, meta::VERIFY);
    let text = format!(
        r#"# Written by tests/it/api_fuzz.rs.
# An invalid body can be refused for its size before its content is read: 413 is a refusal too.
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]

[[operations]]
include-path-regex = "^/api/conversations/\\{{id\\}}"
parameters = {{ "path.id" = "{conversation}" }}

[[operations]]
include-path-regex = "^/api/contacts/\\{{id\\}}/files/"
parameters = {{ "path.id" = "{contact}", "path.file_id" = "{contact_file}" }}

[[operations]]
include-path-regex = "^/api/contacts/\\{{id\\}}(/(?!files/)|$)"
parameters = {{ "path.id" = "{contact}" }}

[[operations]]
include-path = "/api/files/{{message_id}}"
parameters = {{ "path.message_id" = "{file}" }}

# The link as the provider was given it: the file itself (a wrong `sig` is 403, a message
# without a file 404: both have their own tests).
[[operations]]
include-path = "/media/{{message_id}}"
parameters = {{ "path.message_id" = "{file}", "query.sig" = "{file_sig}" }}

[[operations]]
include-path = "/webhooks/api/{{inbox}}"
parameters = {{ "path.inbox" = "support" }}

# The handshakes with the inbox's verify token: a `subscribe` gets its challenge back.
[[operations]]
include-name = "GET /webhooks/whatsapp/{{inbox}}"
parameters = {{ "path.inbox" = "wa", "query.hub.verify_token" = "{wa_verify}" }}

[[operations]]
include-name = "POST /webhooks/whatsapp/{{inbox}}"
parameters = {{ "path.inbox" = "wa" }}

[[operations]]
include-name = "GET /webhooks/meta/{{inbox}}"
parameters = {{ "path.inbox" = "fb", "query.hub.verify_token" = "{meta_verify}" }}

[[operations]]
include-name = "POST /webhooks/meta/{{inbox}}"
parameters = {{ "path.inbox" = "fb" }}

[[operations]]
include-path-regex = "^/webhooks/twilio/"
parameters = {{ "path.inbox" = "sms" }}

[[operations]]
include-path = "/widget/{{inbox}}/session"
parameters = {{ "path.inbox" = "website" }}

[[operations]]
include-name = "GET /widget/{{inbox}}/ws"
enabled = false

# Logging out revokes the token every other request uses, and deleting the seeded
# conversation would turn the rest of the run into 404s: both have their own tests.
[[operations]]
include-name = "POST /api/auth/logout"
enabled = false

[[operations]]
include-name = "DELETE /api/conversations/{{id}}"
enabled = false
"#
    );
    let path = dir.join("schemathesis.toml");
    std::fs::write(&path, text).expect("write the fuzzer's config");
    path
}

/// Something to read: a conversation with a customer's messages, a reply and a note; and a
/// file an agent sent on the WhatsApp conversation `wa_conversation`, with its public link's
/// signature as the Graph API stand-in received it.
async fn seed_data(
    app: &TestApp,
    token: &str,
    wa_conversation: &str,
    graph: &crate::helpers::FakeProvider,
) -> Seeds {
    let conversation = app
        .customer_writes("fz-1", "fz-contact", "Hello, I need a human please")
        .await;
    app.customer_writes("fz-2", "fz-contact", "Is anyone there?")
        .await;
    let (s, reply) = app
        .post(
            token,
            &format!("/api/conversations/{conversation}/messages"),
            &json!({"text": "Hi, I am here"}),
        )
        .await;
    assert_eq!(s, 201, "{reply}");
    let view = app.conversation(token, &conversation).await;
    let contact = view["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let (s, uploaded) = app
        .post_bytes(
            token,
            &format!("/api/contacts/{contact}/files?filename=notes.txt"),
            "text/plain",
            b"what the customer asked for",
        )
        .await;
    assert_eq!(s, 201, "{uploaded}");
    let contact_file = uploaded["id"].as_str().expect("file id").to_owned();
    let (s, sent) = app
        .post_bytes(
            token,
            &format!("/api/conversations/{wa_conversation}/attachments"),
            "image/png",
            b"\x89PNG\r\n\x1a\n a picture",
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let file = sent["id"].as_str().expect("message id").to_owned();
    let link = eventually(
        "the image at the Graph API",
        Duration::from_secs(10),
        || async {
            whatsapp::sends(graph, |b| b["type"] == "image")
                .first()
                .and_then(|b| b["image"]["link"].as_str().map(str::to_owned))
        },
    )
    .await;
    let file_sig = link
        .split_once("?sig=")
        .map(|(_, sig)| sig.to_owned())
        .expect("a signed link");
    Seeds {
        conversation,
        contact,
        contact_file,
        file,
        file_sig,
    }
}

async fn the_document_holds_against_the_server(b: Backend) {
    let exe = match schemathesis() {
        Ok(exe) => exe,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("schemathesis is required on CI ({why}); .ci/run installs it")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: schemathesis is not installed ({why}); \
                 `pip3 install schemathesis==4.32.5` to run the API fuzz test"
            );
            return;
        }
    };
    // The WhatsApp inbox `wa` (its stand-in Graph API accepts every send) with a conversation,
    // the API channel's `support`, the widget's `website`, and one inbox of each other channel.
    let wa = given_a_whatsapp_conversation_with(b, |s| {
        s.inboxes.push(meta::meta_inbox(
            "fb",
            MetaPlatform::Messenger,
            meta::PAGE,
            NO_PROVIDER,
        ));
        s.inboxes.push(twilio::twilio_inbox(NO_PROVIDER));
    })
    .await;
    let (app, token) = (&wa.app, &wa.token);
    let seeds = seed_data(app, token, &wa.id, &wa.provider).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), &seeds);
    let max_examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(MAX_EXAMPLES);
    let seed = std::env::var("SCHEMATHESIS_SEED")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(SEED);
    let url = format!("{}/api/openapi.json", app.base);
    let mut cmd = Command::new(exe);
    cmd.current_dir(dir.path())
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&url)
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all"])
        .args(["--exclude-checks", EXCLUDED_CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &max_examples.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--workers", "1"])
        .args(["--request-timeout", "20"])
        .args(["--suppress-health-check", "all"])
        .arg("--no-shrink")
        .args(["--output-truncate", "false"]);
    let started = Instant::now();
    // The server runs on this thread's runtime: wait for the fuzzer off it.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the fuzzer's thread")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "schemathesis ({b:?}) took {:.0?}: {}",
        started.elapsed(),
        stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    );
    assert!(
        out.status.success(),
        "schemathesis found answers the document does not describe ({b:?}); \
         reproduce with the curl lines below\n{stdout}\n{stderr}"
    );
}

/// What the fuzzer found, kept: a body that is not a JSON object is malformed (serde would read
/// `[null]` as a struct), and a well-formed value that breaks a rule is 422, as elsewhere.
async fn requests_the_document_calls_invalid_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = app.customer_writes("fz-1", "fz-contact", "Hello").await;
    for (path, body) in [
        ("lead-stage", json!([null])),
        ("archive", json!([true])),
        ("status", json!(["human"])),
    ] {
        let (s, v) = app
            .post(&token, &format!("/api/conversations/{id}/{path}"), &body)
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("bad_request")),
            "{path}: {v}"
        );
    }
    let (s, v) = app
        .post(&token, "/api/auth/login", &json!(["admin@test.local", "x"]))
        .await;
    assert_eq!(s, 400, "{v}");

    let long = "a".repeat(201);
    let (s, v) = app
        .get(&token, &format!("/api/conversations?q={long}"))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("validation_failed")),
        "{v}"
    );
    let (s, v) = app
        .get(
            &token,
            &format!(
                "/api/conversations/{id}/messages?before=01a22c06-f592-77df-8abe-3d23fa64b77d"
            ),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("validation_failed")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap_or("").contains("`before`"),
        "{v}"
    );
}

both_backends!(
    the_document_holds_against_the_server,
    requests_the_document_calls_invalid_are_refused,
);
