//! The composer's attachments, voice notes and emoji picker in a real browser, against the
//! stand-in Graph API of a WhatsApp inbox: a PNG chosen with the paperclip goes with the typed
//! caption and the link Meta is given serves the same bytes; a pasted image and a dropped PDF
//! go too; a file over the inbox's limit is refused before any upload; the emoji picker works
//! from the keyboard; a voice note recorded from Chromium's fake microphone arrives as audio.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, ONE_BROWSER},
    cdp::{browser_available, Browser, Page},
    helpers::{eventually, Backend, FakeProvider, TestApp},
    whatsapp::{self, notification, notify, sends, text, HANDOFF, PUBLIC_URL},
};

const WAIT: Duration = Duration::from_secs(10);
/// A 1×1 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
/// The inbox's limit in this test, so that a "too large" file stays small.
const MAX_BYTES: usize = 64 * 1024;

fn png() -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(PNG_B64)
        .expect("png")
}

/// The `n`-th (0-based) send of `kind` at the Graph API, waited for.
async fn nth_send(graph: &FakeProvider, kind: &str, n: usize) -> Value {
    eventually(
        &format!("{kind} send #{n} at the Graph API"),
        WAIT,
        || async { sends(graph, |b| b["type"] == kind).into_iter().nth(n) },
    )
    .await
}

/// The bytes and type the provider fetches from the signed link it was given.
async fn fetched(app: &TestApp, link: &str) -> (String, Vec<u8>) {
    assert!(link.starts_with(&format!("{PUBLIC_URL}/media/")), "{link}");
    let (s, ct, bytes) = app
        .get_bytes(None, link.trim_start_matches(PUBLIC_URL))
        .await;
    assert_eq!(s, 200, "the provider can fetch {link}");
    (ct, bytes)
}

async fn chip_named(dash: &Page, b: &mut Browser, name: &str) {
    dash.wait_for(
        b,
        &format!("the chip of {name}"),
        &format!(
            "!document.querySelector('#attach-chips').hidden && document.querySelector('.attach-chip .attach-name').textContent === {}",
            json!(name)
        ),
    )
    .await;
}

async fn sent_and_cleared(dash: &Page, b: &mut Browser) {
    dash.wait_for(
        b,
        "the chip gone after the send",
        "document.querySelector('#attach-chips').hidden && document.querySelector('#attach-error').hidden",
    )
    .await;
}

#[actix_rt::test]
async fn files_voice_notes_and_emoji_from_the_composer() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let (app, graph) = whatsapp::start(Backend::Sqlite, |s| {
        s.server.max_media_bytes = MAX_BYTES;
    })
    .await;
    let token = app.login().await;
    notify(
        &app,
        &notification(vec![text("wamid.IN1", 5, HANDOFF)], vec![]),
    )
    .await;
    let id = whatsapp::the_conversation(&app, &token).await;
    let (_, inboxes) = app.get(&token, "/api/inboxes").await;
    let wa = inboxes["items"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"] == "wa"))
        .expect("the wa inbox");
    assert_eq!(
        wa["attachments"],
        json!({"max_bytes": MAX_BYTES, "caption": true,
               "audio_types": ["audio/ogg", "audio/mp4", "audio/mpeg", "audio/aac", "audio/amr"]}),
        "what the composer checks before an upload"
    );

    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    let item = format!(".conv-item[data-id={}]", json!(id));
    dash.click(&mut b, &item).await;
    dash.wait_for(
        &mut b,
        "the paperclip, the emoji and the microphone buttons",
        "!document.querySelector('#composer-attach').hidden && !document.querySelector('#composer-attach').disabled && !document.querySelector('#composer-voice').hidden && document.querySelector('#composer-emoji')",
    )
    .await;
    assert_eq!(
        dash.eval(
            &mut b,
            "['#composer-attach', '#composer-emoji', '#composer-voice'].map((s) => [document.querySelector(s).tagName, document.querySelector(s).getAttribute('aria-label')])"
        )
        .await,
        json!([["BUTTON", "Attach a file"], ["BUTTON", "Insert emoji"], ["BUTTON", "Record a voice note"]]),
        "labelled buttons"
    );

    // Private notes carry no file: the paperclip is disabled in note mode.
    dash.click(&mut b, "#composer-note").await;
    dash.wait_for(
        &mut b,
        "the paperclip disabled for a note",
        "document.querySelector('#composer-attach').disabled && document.querySelector('#composer-voice').disabled",
    )
    .await;
    dash.click(&mut b, "#composer-note").await;
    dash.wait_for(
        &mut b,
        "the paperclip back",
        "!document.querySelector('#composer-attach').disabled",
    )
    .await;

    // 1. The paperclip's file chooser, with a caption.
    let dir = tempfile::tempdir().expect("dir");
    let menu = dir.path().join("menu.png");
    std::fs::write(&menu, png()).expect("write png");
    dash.set_input_files(&mut b, "#composer-file", &[&menu])
        .await;
    chip_named(&dash, &mut b, "menu.png").await;
    assert_eq!(
        dash.text_of(&mut b, ".attach-chip .attach-meta").await,
        format!("{} B · image/png", png().len())
    );
    dash.type_text(&mut b, "#composer-input", "Our menu").await;
    dash.press_enter(&mut b).await;
    let image = nth_send(&graph, "image", 0).await;
    assert_eq!(image["image"]["caption"], "Our menu", "{image}");
    assert_eq!(image["to"], whatsapp::CUSTOMER);
    let (ct, bytes) = fetched(&app, image["image"]["link"].as_str().expect("link")).await;
    assert_eq!((ct.as_str(), bytes), ("image/png", png()));
    sent_and_cleared(&dash, &mut b).await;
    dash.wait_for(
        &mut b,
        "the image in the thread, the caption gone from the box",
        "[...document.querySelectorAll('#thread .msg img')].some((i) => i.src.startsWith('blob:') && i.naturalWidth === 1) && document.querySelector('#composer-input').value === ''",
    )
    .await;

    // 2. An image pasted into the message box, sent with the Send button.
    dash.eval(
        &mut b,
        &format!(
            "(() => {{ const bin = atob({}); const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
               const dt = new DataTransfer(); dt.items.add(new File([bytes], 'pasted.png', {{ type: 'image/png' }}));
               const input = document.querySelector('#composer-input'); input.focus();
               return input.dispatchEvent(new ClipboardEvent('paste', {{ clipboardData: dt, bubbles: true, cancelable: true }})); }})()",
            json!(PNG_B64)
        ),
    )
    .await;
    chip_named(&dash, &mut b, "pasted.png").await;
    dash.click(&mut b, "#composer-send").await;
    let pasted = nth_send(&graph, "image", 1).await;
    assert_eq!(pasted["image"].get("caption"), None, "no text, no caption");
    let (_, bytes) = fetched(&app, pasted["image"]["link"].as_str().expect("link")).await;
    assert_eq!(bytes, png());
    sent_and_cleared(&dash, &mut b).await;

    // 3. A PDF dropped on the conversation: a drop zone shows while dragging.
    let pdf = b"%PDF-1.4\n% prices\n".to_vec();
    let drag = |kind: &str, target: &str| {
        format!(
            "(() => {{ const dt = new DataTransfer(); dt.items.add(new File([{}], 'prices.pdf', {{ type: 'application/pdf' }}));
               return document.querySelector({}).dispatchEvent(new DragEvent({}, {{ dataTransfer: dt, bubbles: true, cancelable: true }})); }})()",
            json!(String::from_utf8_lossy(&pdf)),
            json!(target),
            json!(kind)
        )
    };
    dash.eval(&mut b, &drag("dragenter", "#thread")).await;
    dash.wait_for(
        &mut b,
        "the drop zone",
        "!document.querySelector('#drop-zone').hidden && document.querySelector('#drop-zone').offsetHeight > 100",
    )
    .await;
    dash.eval(&mut b, &drag("drop", "#thread")).await;
    chip_named(&dash, &mut b, "prices.pdf").await;
    assert_eq!(
        dash.eval(&mut b, "document.querySelector('#drop-zone').hidden")
            .await,
        json!(true)
    );
    dash.type_text(&mut b, "#composer-input", "Our prices")
        .await;
    dash.click(&mut b, "#composer-send").await;
    let doc = nth_send(&graph, "document", 0).await;
    assert_eq!(
        (&doc["document"]["filename"], &doc["document"]["caption"]),
        (&json!("prices.pdf"), &json!("Our prices")),
        "{doc}"
    );
    let (ct, bytes) = fetched(&app, doc["document"]["link"].as_str().expect("link")).await;
    assert_eq!((ct.as_str(), bytes), ("application/pdf", pdf.clone()));
    sent_and_cleared(&dash, &mut b).await;

    // 4. Over the inbox's limit: refused in the browser, nothing uploaded.
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; MAX_BYTES + 1]).expect("write big");
    let before = app.messages(&token, &id).await.len();
    dash.set_input_files(&mut b, "#composer-file", &[&big])
        .await;
    dash.wait_for(
        &mut b,
        "the too-large error",
        "!document.querySelector('#attach-error').hidden && document.querySelector('#attach-error').textContent.includes('too large for this channel (at most 64 KB)') && document.querySelector('#attach-chips').hidden",
    )
    .await;
    assert_eq!(app.messages(&token, &id).await.len(), before);

    // 5. Emoji from the keyboard: Enter on the button opens the picker on the first emoji,
    //    → moves, Enter inserts at the caret and returns to the box; Escape closes.
    dash.eval(
        &mut b,
        "(() => { const i = document.querySelector('#composer-input'); i.value = 'Thanks !'; i.setSelectionRange(7, 7); document.querySelector('#composer-emoji').focus(); })()",
    )
    .await;
    dash.press_key(&mut b, "Enter").await;
    dash.wait_for(
        &mut b,
        "the picker open on the first emoji",
        "!document.querySelector('#emoji-picker').hidden && document.activeElement.classList.contains('emoji-option') && document.activeElement.dataset.emoji === '😀' && document.querySelector('#composer-emoji').getAttribute('aria-expanded') === 'true'",
    )
    .await;
    dash.press_key(&mut b, "ArrowRight").await;
    dash.press_key(&mut b, "ArrowDown").await;
    dash.wait_for(
        &mut b,
        "the emoji a row below the second",
        "document.activeElement.dataset.emoji === '😊' && document.activeElement.getAttribute('aria-label') === 'smiling face'",
    )
    .await;
    dash.press_key(&mut b, "Enter").await;
    dash.wait_for(
        &mut b,
        "the emoji at the caret, focus back in the box",
        "document.querySelector('#composer-input').value === 'Thanks 😊!' && document.activeElement === document.querySelector('#composer-input') && document.querySelector('#emoji-picker').hidden",
    )
    .await;
    dash.eval(&mut b, "document.querySelector('#composer-emoji').focus()")
        .await;
    dash.press_key(&mut b, "Enter").await;
    dash.wait_for(
        &mut b,
        "the picker open again",
        "!document.querySelector('#emoji-picker').hidden",
    )
    .await;
    dash.press_key(&mut b, "Escape").await;
    dash.wait_for(
        &mut b,
        "closed by Escape, focus back in the box, nothing inserted",
        "document.querySelector('#emoji-picker').hidden && document.activeElement === document.querySelector('#composer-input') && document.querySelector('#composer-input').value === 'Thanks 😊!'",
    )
    .await;
    dash.press_enter(&mut b).await;
    let thanks = eventually("the text with its emoji", WAIT, || async {
        sends(&graph, |b| b["type"] == "text").into_iter().next()
    })
    .await;
    assert_eq!(thanks["text"]["body"], "Thanks 😊!");

    // 6. A voice note from the fake microphone: about a second, then Stop and send.
    dash.click(&mut b, "#composer-voice").await;
    dash.wait_for(
        &mut b,
        "the recording indicator",
        "!document.querySelector('#voice-rec').hidden && document.activeElement === document.querySelector('#voice-stop')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(dash.text_of(&mut b, "#voice-time").await, "0:01");
    dash.click(&mut b, "#voice-stop").await;
    let audio = nth_send(&graph, "audio", 0).await;
    assert_eq!(audio["audio"].get("caption"), None, "{audio}");
    let (ct, bytes) = fetched(&app, audio["audio"]["link"].as_str().expect("link")).await;
    assert_eq!(ct, "audio/mp4", "Chromium records Opus in MP4");
    assert!(
        bytes.len() > 1000 && &bytes[4..8] == b"ftyp",
        "an MP4 recording: {} bytes",
        bytes.len()
    );
    dash.wait_for(
        &mut b,
        "the indicator gone",
        "document.querySelector('#voice-rec').hidden",
    )
    .await;
    // Cancel drops the recording.
    dash.click(&mut b, "#composer-voice").await;
    dash.wait_for(
        &mut b,
        "recording again",
        "!document.querySelector('#voice-rec').hidden",
    )
    .await;
    dash.click(&mut b, "#voice-cancel").await;
    dash.wait_for(
        &mut b,
        "cancelled",
        "document.querySelector('#voice-rec').hidden",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sends(&graph, |b| b["type"] == "audio").len(), 1);

    let kinds: Vec<Value> = app
        .messages(&token, &id)
        .await
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| m["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        json!(["image", "image", "document", "text", "audio"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    );
    dash.assert_no_console_errors(&mut b, "attaching, recording and picking emoji")
        .await;
}
