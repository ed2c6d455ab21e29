//! The whole loop in a real browser: a customer writes in the website widget, the assistant
//! answers, the customer asks for a person, the agent's dashboard shows it live, the agent
//! replies, the widget shows it, the agent hands back to the bot. Plus a filter tab, search,
//! mark-unread, and customer HTML rendered as text. Screenshots for the README come from here.

use std::path::PathBuf;

use serde_json::json;

use switchboard::domain::types::Role;

use crate::{
    cdp::{browser_available, Browser, Page},
    helpers::{customer, Backend, Reply, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
    whatsapp,
};

/// One Chromium at a time: two at once on a small machine make the 10 s waits flaky.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A string as a JavaScript literal, for selectors and texts spliced into evaluated code.
pub(crate) fn q(s: &str) -> String {
    json!(s).to_string()
}

/// Where the README's screenshots are written: `docs/screenshots/<name>`.
pub(crate) fn screenshot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("screenshots")
        .join(name)
}

#[actix_rt::test]
async fn the_whole_loop_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::launch().await;

    // The agent logs in. Every module of the dashboard loads, and nothing reports an error.
    let dash = b.open(&format!("{}/", app.base), 1366, 800).await;
    dash.assert_no_console_errors(&mut b, "loading the dashboard")
        .await;
    dash.type_text(&mut b, "#login-email", ADMIN_EMAIL).await;
    dash.type_text(&mut b, "#login-password", ADMIN_PASSWORD)
        .await;
    dash.click(&mut b, "#login-submit").await;
    dash.wait_for(&mut b, "the inbox", "document.querySelector('#conv-list') && !document.querySelector('#login-submit')?.offsetParent").await;
    dash.assert_no_console_errors(&mut b, "signing in").await;
    assert_eq!(
        dash.eval(&mut b, "document.querySelectorAll('.toast-error').length")
            .await,
        json!(0),
        "an error shown on signing in"
    );

    // The check above would catch a module that fails to load (tried on a page of the same
    // origin that runs no code of its own).
    let probe = b.open(&format!("{}/healthz", app.base), 1366, 800).await;
    probe
        .eval(
            &mut b,
            "(() => { const s = document.createElement('script'); s.type = 'module'; s.src = '/js/no-such-module.js'; document.head.append(s); })()",
        )
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let errors = probe.console_errors(&mut b).await;
        if errors.iter().any(|e| e.contains("no-such-module.js")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a module that failed to load went unreported: {errors:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A customer opens the widget on the demo page and asks a question.
    let shop = b.open(&format!("{}/demo", app.base), 1366, 800).await;
    shop.click(&mut b, "#sb-widget-bubble").await;
    shop.type_text(&mut b, "#sb-widget-input", "What are your opening hours?")
        .await;
    shop.press_enter(&mut b).await;
    shop.wait_for(&mut b, "the assistant's answer in the widget", "document.querySelector('.sb-msg[data-author=\"assistant\"] .sb-msg-text')?.textContent.includes('Monday')").await;

    // The customer asks for a person: the dashboard shows the badge and the conversation under
    // Human, without a reload.
    shop.type_text(&mut b, "#sb-widget-input", "I want to talk to a human")
        .await;
    shop.press_enter(&mut b).await;
    dash.wait_for(&mut b, "badge 1", "document.querySelector('#badge')?.textContent.trim() === '1' && !document.querySelector('#badge').hidden").await;
    dash.wait_for(
        &mut b,
        "title shows the count",
        "document.title.startsWith('(1)')",
    )
    .await;
    dash.click(&mut b, "button[data-filter=\"human\"]").await;
    let item = dash
        .wait_for(
            &mut b,
            "the conversation under Human",
            "document.querySelector('#conv-list .conv-item')?.dataset.id",
        )
        .await;
    let id = item.as_str().expect("conversation id").to_owned();
    let item_sel = format!(".conv-item[data-id={}]", q(&id));
    assert_eq!(
        dash.text_of(&mut b, &format!("{item_sel} .conv-status"))
            .await
            .trim(),
        "human"
    );

    // The agent opens it and replies with Enter.
    dash.click(&mut b, &item_sel).await;
    dash.wait_for(
        &mut b,
        "thread",
        "document.querySelectorAll('#thread .msg').length >= 3",
    )
    .await;
    dash.type_text(&mut b, "#composer-input", "Hi! Sam here, how can I help?")
        .await;
    dash.press_enter(&mut b).await;
    dash.wait_for(&mut b, "own reply in the thread", "[...document.querySelectorAll('#thread .msg-agent .msg-text')].some(e => e.textContent.includes('Sam here'))").await;

    // The widget shows the reply and that an agent joined.
    shop.wait_for(&mut b, "agent reply in the widget", "[...document.querySelectorAll('.sb-msg[data-author=\"agent\"] .sb-msg-text')].some(e => e.textContent.includes('Sam here'))").await;
    shop.wait_for(
        &mut b,
        "agent joined notice",
        "document.querySelector('.sb-notice')",
    )
    .await;
    dash.wait_for(&mut b, "badge cleared", "document.querySelector('#badge').hidden || document.querySelector('#badge').textContent.trim() === '0'").await;
    dash.screenshot(&mut b, &screenshot("dashboard.png")).await;
    shop.screenshot(&mut b, &screenshot("widget.png")).await;

    // Hand back to the bot: the widget is told, and the assistant answers again.
    dash.click(&mut b, "button[data-status=\"bot\"]").await;
    dash.wait_for(
        &mut b,
        "status switched",
        "document.querySelector('button[data-status=\"bot\"]').classList.contains('active')",
    )
    .await;
    shop.wait_for(
        &mut b,
        "back with the assistant",
        "document.querySelectorAll('.sb-notice').length >= 2",
    )
    .await;
    shop.type_text(&mut b, "#sb-widget-input", "How long does shipping take?")
        .await;
    shop.press_enter(&mut b).await;
    shop.wait_for(
        &mut b,
        "assistant answers again",
        "document.querySelectorAll('.sb-msg[data-author=\"assistant\"]').length >= 2",
    )
    .await;

    // Filter tabs: Closed has nothing, All has it.
    dash.click(&mut b, "button[data-filter=\"closed\"]").await;
    dash.wait_for(&mut b, "closed tab active and empty", "document.querySelector('button[data-filter=\"closed\"]').classList.contains('active') && document.querySelectorAll('#conv-list .conv-item').length === 0").await;
    dash.click(&mut b, "button[data-filter=\"all\"]").await;
    dash.wait_for(
        &mut b,
        "all tab lists it",
        &format!("document.querySelector({})", q(&item_sel)),
    )
    .await;

    // Search by message text.
    dash.type_text(&mut b, "#search", "shipping").await;
    dash.wait_for(&mut b, "search finds it", &format!("document.querySelectorAll('#conv-list .conv-item').length === 1 && document.querySelector({})", q(&item_sel))).await;
    dash.eval(&mut b, "(() => { const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input', {bubbles: true})); })()").await;
    dash.type_text(&mut b, "#search", "zzqxv").await;
    dash.wait_for(
        &mut b,
        "search finds nothing",
        "document.querySelectorAll('#conv-list .conv-item').length === 0",
    )
    .await;
    dash.eval(&mut b, "(() => { const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input', {bubbles: true})); })()").await;
    dash.wait_for(
        &mut b,
        "list back",
        &format!("document.querySelector({})", q(&item_sel)),
    )
    .await;

    // Mark unread from the three-dot menu.
    dash.click(&mut b, &item_sel).await;
    dash.click(&mut b, "#menu-button").await;
    dash.click(&mut b, "[data-action=\"mark-unread\"]").await;
    let token = app.login().await;
    let conv = crate::helpers::eventually(
        "unread in the API",
        std::time::Duration::from_secs(5),
        || async {
            let c = app.conversation(&token, &id).await;
            (c["unread_count"].as_i64() >= Some(1)).then_some(c)
        },
    )
    .await;
    assert!(conv["unread_count"].as_i64() >= Some(1));
    dash.wait_for(
        &mut b,
        "unread badge on the item",
        &format!(
            "document.querySelector({} + ' .conv-unread')?.textContent.trim() >= '1'",
            q(&item_sel)
        ),
    )
    .await;

    // Customer HTML is shown as text, never run.
    let evil = "<img src=x onerror=\"window.__xss=1\"><b>bold?</b>";
    let resp = app.inbound(&customer("evil-1", "mallory", evil)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let evil_item = dash
        .wait_for(&mut b, "evil conversation listed", "[...document.querySelectorAll('#conv-list .conv-item')].find(e => e.querySelector('.conv-name')?.textContent.includes('Test Customer'))?.dataset.id")
        .await;
    dash.click(&mut b, &format!(".conv-item[data-id={}]", evil_item))
        .await;
    dash.wait_for(&mut b, "evil text rendered literally", &format!("[...document.querySelectorAll('#thread .msg-customer .msg-text')].some(e => e.textContent === {})", q(evil))).await;
    let injected = dash.eval(&mut b, "window.__xss === undefined && document.querySelectorAll('#thread img[src=\"x\"], #conv-list img[src=\"x\"], #thread b').length === 0").await;
    assert_eq!(
        injected,
        json!(true),
        "customer HTML must never become elements"
    );

    // A narrow screen still works (panels collapse).
    dash.resize(&mut b, 390, 844).await;
    dash.wait_for(
        &mut b,
        "narrow layout renders",
        "document.querySelector('#thread') !== null",
    )
    .await;

    // Nothing on the way reported an error either.
    dash.assert_no_console_errors(&mut b, "in the whole loop")
        .await;
    shop.assert_no_console_errors(&mut b, "in the whole loop")
        .await;
}

/// The admin signed into the dashboard at `base` on a laptop-sized tab in UTC: what most
/// browser tests start from.
pub(crate) async fn admin_dashboard(b: &mut Browser, base: &str) -> Page {
    dashboard_of(b, base, ADMIN_EMAIL, ADMIN_PASSWORD, (1366, 800), "UTC").await
}

/// Signs `email` into the dashboard at `base` in a new tab of `width`×`height` whose clocks
/// run in `zone`. Tabs of one origin share the signed-in token (localStorage): a second agent
/// needs another origin (`localhost` rather than `127.0.0.1`).
pub(crate) async fn dashboard_of(
    b: &mut Browser,
    base: &str,
    email: &str,
    password: &str,
    (width, height): (u32, u32),
    zone: &str,
) -> Page {
    let page = b.open("about:blank", width, height).await;
    page.set_timezone(b, zone).await;
    page.goto(b, &format!("{base}/")).await;
    page.assert_no_console_errors(b, "loading the dashboard")
        .await;
    page.type_text(b, "#login-email", email).await;
    page.type_text(b, "#login-password", password).await;
    page.click(b, "#login-submit").await;
    page.wait_for(
        b,
        "the inbox",
        "document.querySelector('#conv-list') && !document.querySelector('#login-submit')?.offsetParent",
    )
    .await;
    page.assert_no_console_errors(b, "signing in").await;
    assert_eq!(
        page.eval(b, "document.querySelectorAll('.toast-error').length")
            .await,
        json!(0),
        "an error shown on signing in"
    );
    page
}

/// What a restricted agent on a phone in India and an admin see: system events with names and
/// local times, a conversation taken away while open, isolated right-to-left names, a header
/// that fits 375 px, an attachment that could not be downloaded, and who may delete.
#[actix_rt::test]
async fn what_each_agent_sees_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let (app, graph) = whatsapp::start(Backend::Sqlite, |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
        // The customer is told a person is coming (the tests' inboxes are quiet otherwise).
        for inbox in s.inboxes.iter_mut().filter(|i| i.id == "wa") {
            inbox.handoff_ack.enabled = true;
        }
    })
    .await;
    let admin = app.login().await;
    let (_alice, _) = app.agent("alice@test.local", Role::Agent).await;
    let (bob, _) = app.agent("bob@test.local", Role::Agent).await;

    // A customer on the website's API channel, and one on WhatsApp whose name carries a
    // right-to-left override; both unassigned, so the restricted agent sees both.
    let api_conv = app
        .customer_writes("api-1", "carol", "Hello, a question about my order")
        .await;
    let evil_name = "\u{202E}Jörg Evil";
    whatsapp::notify(
        &app,
        &json!({"object": "whatsapp_business_account", "entry": [whatsapp::entry(
            whatsapp::CUSTOMER, evil_name,
            vec![whatsapp::text("wamid.T", 2, whatsapp::HANDOFF)], vec![])]}),
    )
    .await;
    let wa_conv = whatsapp::the_conversation(&app, &admin).await;

    let mut b = Browser::launch().await;
    let alice = dashboard_of(
        &mut b,
        &app.base,
        "alice@test.local",
        "agent-password-1",
        (375, 812),
        "Asia/Kolkata",
    )
    .await;
    let wa_item = format!(".conv-item[data-id={}]", q(&wa_conv));
    let api_item = format!(".conv-item[data-id={}]", q(&api_conv));

    // An agent starts in "Needs reply": the waiting conversations, each with how long it has
    // waited, counted as the badge counts them; then "All".
    let waiting = alice
        .wait_for(
            &mut b,
            "the Needs reply view, its count the badge's",
            &format!(
                "(() => {{ const tab = document.querySelector('button[data-filter=waiting]'); \
                 const chip = document.querySelector({}); \
                 const count = document.querySelector('#waiting-count').textContent; \
                 return tab.classList.contains('active') && chip && count !== '' \
                   && count === document.querySelector('#badge').textContent \
                   && [...document.querySelectorAll('#conv-list .conv-item')].every((e) => e.querySelector('.conv-needs-reply')) \
                   && chip.textContent + '|' + chip.dataset.urgency; }})()",
                q(&format!("{wa_item} .conv-needs-reply"))
            ),
        )
        .await;
    assert_eq!(waiting, json!("Needs reply · just now|ok"));
    alice.click(&mut b, "button[data-filter=all]").await;

    // (c) The name with U+202E is isolated in the list: it cannot reorder what is around it.
    let isolated = |sel: &str| {
        format!(
            "(() => {{ const e = document.querySelector({}); return !!e && e.textContent.includes('\\u202E') && e.getAttribute('dir') === 'auto' && getComputedStyle(e).unicodeBidi === 'isolate'; }})()",
            q(sel)
        )
    };
    alice
        .wait_for(
            &mut b,
            "the right-to-left name isolated in the list",
            &isolated(&format!("{wa_item} .conv-name")),
        )
        .await;

    // …and in the thread header once open.
    alice.click(&mut b, &wa_item).await;
    alice
        .wait_for(
            &mut b,
            "the WhatsApp thread",
            "document.querySelectorAll('#thread .msg-customer').length >= 1",
        )
        .await;
    alice
        .wait_for(
            &mut b,
            "the right-to-left name isolated in the header",
            &isolated("#thread-name"),
        )
        .await;

    // The acknowledgement sent on the business's behalf is labelled as automatic, not as the
    // assistant's.
    alice.wait_for(&mut b, "the automatic acknowledgement", "[...document.querySelectorAll('#thread .msg-assistant .msg-author')].some(e => e.textContent === 'Automatic reply') && ![...document.querySelectorAll('#thread .msg-author')].some(e => e.textContent === 'Assistant')").await;

    // A contact known by a phone number only gets no digit for an avatar.
    let (s, v) = crate::helpers::status_json(
        app.inbound(&json!({"external_id": "p-1", "contact": {"external_id": "phone-only", "phone": "+447700900999"}, "text": "hi"}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let phone_item = format!(
        ".conv-item[data-id={}]",
        q(v["conversation_id"].as_str().expect("id"))
    );
    alice
        .wait_for(
            &mut b,
            "the phone-only contact's avatar",
            &format!(
                "document.querySelector({})?.querySelector('.avatar')?.textContent === '#'",
                q(&phone_item)
            ),
        )
        .await;

    // (d) At 375 px the header fits: the assignee drop-down lies inside the screen, wide enough
    // to show its choice whole (it used to be squeezed to "Unassig").
    let fit = alice
        .eval(
            &mut b,
            "(() => { const s = document.querySelector('#assignee'); const r = s.getBoundingClientRect(); \
             const a = document.querySelector('.thread-head').getBoundingClientRect(); \
             const c = document.createElement('canvas').getContext('2d'); c.font = getComputedStyle(s).font; \
             const label = c.measureText(s.selectedOptions[0].text).width; \
             return { left: r.left, right: r.right, width: r.width, inner: innerWidth, label, head: a.right, \
                      fits: r.left >= 0 && r.right <= innerWidth && a.right <= innerWidth && label + 34 <= r.width }; })()",
        )
        .await;
    assert_eq!(fit["fits"], json!(true), "assignee at 375 px: {fit}");

    // (f) An agent has no delete in the menu (the server refuses it to them).
    alice.click(&mut b, "#menu-button").await;
    alice
        .wait_for(
            &mut b,
            "the menu open",
            "document.querySelector('[data-action=\"archive\"]').offsetParent !== null",
        )
        .await;
    assert_eq!(
        alice
            .eval(
                &mut b,
                "document.querySelector('[data-action=\"delete\"]').offsetParent === null"
            )
            .await,
        json!(true),
        "an agent must not be offered Delete"
    );
    alice.click(&mut b, "#menu-button").await;

    // (e) A picture whose download fails: the thread says so, live (message.updated).
    graph.on(
        "GET",
        "/v25.0/IMGX",
        Reply::json(
            200,
            json!({"mime_type": "image/jpeg", "id": "IMGX", "messaging_product": "whatsapp"}),
        ),
    );
    whatsapp::notify(
        &app,
        &whatsapp::notification(
            vec![
                json!({"from": whatsapp::CUSTOMER, "id": "wamid.X", "timestamp": whatsapp::ts(1), "type": "image",
                       "image": {"id": "IMGX", "mime_type": "image/jpeg", "sha256": "x"}}),
            ],
            vec![],
        ),
    )
    .await;
    alice.wait_for(&mut b, "the failed download shown", "[...document.querySelectorAll('#thread .msg-customer')].some(e => e.textContent.includes('Attachment not downloaded: could not download'))").await;

    // A picture that downloads appears in the open thread by itself (message.updated), no
    // reload: "downloading" first or straight away, then the image.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
    whatsapp::media_answer(&graph, "IMGOK", "image/png", png);
    whatsapp::notify(
        &app,
        &whatsapp::notification(
            vec![
                json!({"from": whatsapp::CUSTOMER, "id": "wamid.OK", "timestamp": whatsapp::ts(1), "type": "image",
                       "image": {"id": "IMGOK", "mime_type": "image/png", "sha256": "x"}}),
            ],
            vec![],
        ),
    )
    .await;
    alice
        .wait_for(
            &mut b,
            "the downloaded picture in the open thread",
            "[...document.querySelectorAll('#thread .msg-customer img.msg-image')].some(i => i.complete && i.naturalWidth === 1)",
        )
        .await;

    // (a) The admin schedules a follow-up for 09:00 UTC the day after tomorrow: the agent in
    // India reads the admin's name and 14:30, her own time, not the stored UTC text.
    alice.click(&mut b, &api_item).await;
    alice
        .wait_for(
            &mut b,
            "the API thread",
            "document.querySelectorAll('#thread .msg-customer').length >= 1",
        )
        .await;
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let at = format!("{}T09:00:00Z", day.format("%Y-%m-%d"));
    let (status, body) = app
        .post(
            &admin,
            &format!("/api/conversations/{api_conv}/follow-up"),
            &json!({"at": at, "reason": "call back"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let note = alice
        .wait_for(
            &mut b,
            "the follow-up note",
            "[...document.querySelectorAll('#thread .msg-system .msg-text')].map(e => e.textContent).find(t => t.includes('follow-up'))",
        )
        .await;
    let note = note.as_str().unwrap_or_default().to_owned();
    eprintln!("follow-up note: {note:?}");
    assert!(
        note.starts_with("Admin scheduled a follow-up for ") && note.ends_with(": call back"),
        "{note:?}"
    );
    assert!(
        (note.contains("14:30") || note.contains("2:30 PM") || note.contains("02:30 PM"))
            && !note.contains("UTC")
            && !note.contains("09:00"),
        "the follow-up time must be the reader's (Asia/Kolkata, 14:30): {note:?}"
    );

    // (b) The admin gives the open conversation to Bob: the agent may no longer see it, and the
    // thread pane says so in place of the thread (no composer).
    let (status, body) = app
        .post(
            &admin,
            &format!("/api/conversations/{api_conv}/assign"),
            &json!({"agent_id": bob}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    alice.wait_for(&mut b, "the notice that it went to Bob", "(() => { const n = document.querySelector('#thread-gone'); return !!n && n.offsetParent !== null && n.textContent.includes('This conversation was assigned to bob@test.local. You can no longer see it.'); })()").await;
    assert_eq!(
        alice
            .eval(
                &mut b,
                &format!(
                    "document.querySelector('#composer').offsetParent === null && !document.querySelector({})",
                    q(&api_item)
                )
            )
            .await,
        json!(true),
        "no composer, and gone from the list"
    );

    // (f) An admin is offered Delete.
    let boss = dashboard_of(
        &mut b,
        &app.base.replace("127.0.0.1", "localhost"),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        (1366, 800),
        "Europe/Berlin",
    )
    .await;
    boss.click(&mut b, &wa_item).await;
    boss.wait_for(
        &mut b,
        "the WhatsApp thread",
        "document.querySelectorAll('#thread .msg-customer').length >= 2",
    )
    .await;
    boss.click(&mut b, "#menu-button").await;
    boss.wait_for(
        &mut b,
        "Delete offered to the admin",
        "document.querySelector('[data-action=\"delete\"]').offsetParent !== null",
    )
    .await;

    // Nothing on the way reported an error either, but for Alice's requests about Carol that
    // were in flight when her conversation went to Bob (the follow-up in (a) refreshes the
    // contact panel): the server answers those 404, as it must, and Chrome reports any 4xx.
    let carol = app.conversation(&admin, &api_conv).await["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let lost_access =
        |e: &str| e.contains("status of 404") && e.contains(&format!("/api/contacts/{carol}/"));
    alice
        .assert_no_console_errors_but(&mut b, "along the way", lost_access)
        .await;
    boss.assert_no_console_errors(&mut b, "along the way").await;
}

/// The contact panel's memories: one learned from a customer's message shows, grouped by type,
/// and so does one learned while the conversation is open; the agent adds one, edits it and
/// forgets it. Customer text stays text.
async fn memories_in_the_contact_panel(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(backend).await;
    let token = app.login().await;
    let id = app.customer_writes("m1", "c1", "Hi, my name is Ana").await;
    let contact = app.conversation(&token, &id).await["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();

    let mut b = Browser::launch().await;
    let dash = dashboard_of(
        &mut b,
        &app.base,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        (1366, 800),
        "UTC",
    )
    .await;
    dash.eval(
        &mut b,
        &format!("location.hash = {}", q(&format!("#/c/{id}"))),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the thread",
        "document.querySelectorAll('#thread .msg-customer').length >= 1",
    )
    .await;
    dash.click(&mut b, "#contact-toggle").await;
    let memory = |kind: &str, text: &str| {
        format!(
            "[...document.querySelectorAll('.memory-group[data-kind={}] .memory-text')].some(e => e.textContent === {})",
            q(kind),
            q(text)
        )
    };
    dash.wait_for(
        &mut b,
        "the learned name under Facts",
        &memory("fact", "Name: Ana"),
    )
    .await;

    // Learned while the conversation is open: the panel reads it again by itself.
    let (s, v) = crate::helpers::status_json(
        app.inbound(&customer("m2", "c1", "I prefer <b>bold</b> offers"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    dash.wait_for(
        &mut b,
        "the learned preference",
        &memory("preference", "I prefer <b>bold</b> offers"),
    )
    .await;
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#memory-groups b').length"
        )
        .await,
        json!(0),
        "customer text must never become elements"
    );

    // The agent adds a goal…
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#memory-kind'); s.value = 'goal'; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    dash.type_text(&mut b, "#memory-text", "Wants a sofa").await;
    dash.click(&mut b, "#memory-add").await;
    dash.wait_for(&mut b, "the added goal", &memory("goal", "Wants a sofa"))
        .await;

    // …edits it…
    let item = |text: &str| {
        format!(
            "[...document.querySelectorAll('.memory')].find(li => li.querySelector('.memory-text')?.textContent === {})",
            q(text)
        )
    };
    dash.eval(
        &mut b,
        &format!(
            "{}.querySelector('.memory-edit').click()",
            item("Wants a sofa")
        ),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the editor",
        "document.querySelector('.memory-edit-text') === document.activeElement",
    )
    .await;
    dash.eval(
        &mut b,
        "document.querySelector('.memory-edit-text').select()",
    )
    .await;
    dash.type_text(&mut b, ".memory-edit-text", "Wants a red sofa")
        .await;
    dash.click(&mut b, ".memory-save").await;
    dash.wait_for(
        &mut b,
        "the edited goal",
        &format!(
            "{} && !{}",
            memory("goal", "Wants a red sofa"),
            memory("goal", "Wants a sofa")
        ),
    )
    .await;

    // …and forgets it.
    dash.eval(
        &mut b,
        &format!(
            "{}.querySelector('.memory-delete').click()",
            item("Wants a red sofa")
        ),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the goal forgotten",
        &format!(
            "!{} && !document.querySelector('.memory-group[data-kind=\"goal\"]')",
            memory("goal", "Wants a red sofa")
        ),
    )
    .await;

    // The server agrees.
    let (s, v) = app
        .get(&token, &format!("/api/contacts/{contact}/memories"))
        .await;
    assert_eq!(s, 200, "{v}");
    let mut texts: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    texts.sort();
    assert_eq!(texts, ["I prefer <b>bold</b> offers", "Name: Ana"]);
    dash.assert_no_console_errors(&mut b, "working with memories")
        .await;
}

#[actix_rt::test]
async fn memories_in_the_contact_panel_on_sqlite() {
    memories_in_the_contact_panel(Backend::Sqlite).await;
}

#[actix_rt::test]
async fn memories_in_the_contact_panel_on_postgres() {
    memories_in_the_contact_panel(Backend::Postgres).await;
}
