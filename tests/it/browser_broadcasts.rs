//! Broadcasts in a real browser, against the stand-in Graph API: an admin walks a contact's
//! panel (Contact, Files, Activity), adds the contact to a static segment there, creates a
//! template broadcast to that segment on the Broadcasts page, previews and starts it, watches
//! every recipient reach "sent", then sees delivered and read statuses (signed webhooks, as Meta
//! sends them) move the counts; the contact panel's Broadcasts section lists it.

use serde_json::{json, Value};

use crate::{
    browser::{dashboard_of, q, screenshot, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{eventually, Backend, ADMIN_EMAIL, ADMIN_PASSWORD},
    whatsapp::{self, entry, notify, ts, HANDOFF, SEND_PATH},
};

const NAME: &str = "<i>Spring</i> sale";
const PHONES: [(&str, &str); 3] = [
    ("16315550101", "Ana Lima"),
    ("16315550102", "Bruno Costa"),
    ("16315550103", "Chloé Martin"),
];

fn inbound(i: usize, from: &str) -> Value {
    json!({"from": from, "id": format!("wamid.IN-bc-{i}"), "timestamp": ts(30), "type": "text",
           "text": {"body": HANDOFF}})
}

/// A signed status notification for one of our broadcast messages, with the callback data the
/// send carried (Meta echoes it on every status).
fn status(provider_id: &str, to: &str, callback: &str, what: &str) -> Value {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": whatsapp::PNID},
        "statuses": [{"id": provider_id, "status": what, "timestamp": ts(0), "recipient_id": to,
                      "biz_opaque_callback_data": callback}],
    });
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]})
}

#[actix_rt::test]
async fn a_template_broadcast_from_the_dashboard_on_sqlite() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let (app, graph) = whatsapp::start(Backend::Sqlite, |s| {
        for inbox in s.inboxes.iter_mut().filter(|i| i.id.as_str() == "wa") {
            inbox.name = Some("Shop WhatsApp".to_owned());
        }
    })
    .await;
    let token = app.login().await;

    // Three customers write in; two are put in a static segment by the API.
    for (i, (phone, name)) in PHONES.iter().enumerate() {
        let body = json!({"object": "whatsapp_business_account",
                          "entry": [entry(phone, name, vec![inbound(i, phone)], vec![])]});
        notify(&app, &body).await;
    }
    let convs = eventually(
        "three conversations",
        std::time::Duration::from_secs(10),
        || async {
            let list = app.conversations(&token).await;
            (list.len() == 3).then_some(list)
        },
    )
    .await;
    let by_phone = |phone: &str| -> Value {
        convs
            .iter()
            .find(|c| {
                c["contact"]["phone"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(phone))
            })
            .cloned()
            .unwrap_or_else(|| panic!("the conversation of {phone}: {convs:?}"))
    };
    let (s, segment) = app
        .post(
            &token,
            "/api/segments",
            &json!({"name": "Spring customers", "kind": "static"}),
        )
        .await;
    assert_eq!(s, 201, "{segment}");
    let segment_id = segment["id"].as_str().expect("segment id");
    let others: Vec<Value> = PHONES[1..]
        .iter()
        .map(|(p, _)| by_phone(p)["contact"]["id"].clone())
        .collect();
    let (s, added) = app
        .post(
            &token,
            &format!("/api/segments/{segment_id}/contacts"),
            &json!({ "contact_ids": others }),
        )
        .await;
    assert!((200..300).contains(&s), "{added}");

    let mut b = Browser::launch().await;
    let dash = dashboard_of(
        &mut b,
        &app.base,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        (1366, 900),
        "UTC",
    )
    .await;

    // The first customer's panel: its three tabs, then into the segment from the panel.
    let first = by_phone(PHONES[0].0);
    let item = format!(
        ".conv-item[data-id={}]",
        q(first["id"].as_str().expect("id"))
    );
    dash.wait_for(
        &mut b,
        "the conversation",
        &format!("document.querySelector({})", q(&item)),
    )
    .await;
    dash.click(&mut b, &item).await;
    dash.click(&mut b, "#contact-toggle").await;
    for tab in ["files", "activity", "contact"] {
        dash.click(&mut b, &format!("#contact-tabs [data-tab={tab}]"))
            .await;
        dash.wait_for(
            &mut b,
            &format!("the {tab} tab"),
            &format!("!document.querySelector('#tab-{tab}').hidden && document.querySelector('#contact-tabs [data-tab={tab}]').getAttribute('aria-selected') === 'true'"),
        )
        .await;
    }
    dash.wait_for(
        &mut b,
        "no broadcasts yet",
        "!document.querySelector('#contact-broadcasts-empty').hidden",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the segment offered",
        "document.querySelector('#segment-add').options.length > 1",
    )
    .await;
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#segment-add'); s.value = s.options[1].value; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the segment chip",
        "[...document.querySelectorAll('#segment-chips .segment-chip')].some((e) => e.textContent.startsWith('Spring customers'))",
    )
    .await;

    // The Broadcasts page: a draft with the inbox's template, one input per parameter.
    dash.click(&mut b, "#nav-broadcasts").await;
    dash.wait_for(
        &mut b,
        "the Broadcasts page with the inbox, its template and the segment",
        "!document.querySelector('#broadcasts-page').hidden && document.querySelector('#inbox-panes').hidden \
         && [...document.querySelector('#bc-inbox').options].some((o) => o.value === 'wa') \
         && [...document.querySelector('#bc-segments').options].some((o) => o.textContent === 'Spring customers (3)')",
    )
    .await;
    // The API inbox comes first; WhatsApp takes a template, with an input per parameter.
    assert_eq!(
        dash.eval(&mut b, "!document.querySelector('#bc-text-wrap').hidden")
            .await,
        json!(true),
        "the API inbox takes text"
    );
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#bc-inbox'); s.value = 'wa'; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the template and its parameters",
        "!document.querySelector('#bc-template-wrap').hidden && document.querySelector('#bc-text-wrap').hidden \
         && document.querySelectorAll('#bc-params .bc-param').length === 2",
    )
    .await;
    dash.type_text(&mut b, "#bc-name", NAME).await;
    dash.eval(
        &mut b,
        "(() => { for (const o of document.querySelector('#bc-segments').options) o.selected = o.textContent.startsWith('Spring customers'); })()",
    )
    .await;
    // A missing parameter: the server's message is shown.
    dash.click(&mut b, "#bc-create").await;
    dash.wait_for(
        &mut b,
        "the server's refusal",
        "!document.querySelector('#bc-error').hidden && document.querySelector('#bc-error').textContent.length > 0",
    )
    .await;
    dash.type_text(
        &mut b,
        "#bc-params .bc-param[data-index='0']",
        "{{first_name}}",
    )
    .await;
    dash.type_text(&mut b, "#bc-params .bc-param[data-index='1']", "Friday")
        .await;
    dash.click(&mut b, "#bc-create").await;
    dash.wait_for(
        &mut b,
        "the draft, open",
        &format!("!document.querySelector('#broadcast-detail').hidden && document.querySelector('#bd-name').textContent === {} && document.querySelector('#bd-status').textContent === 'Draft'", q(NAME)),
    )
    .await;
    // The open broadcast names its inbox as the inboxes list does.
    let (_, inboxes) = app.get(&token, "/api/inboxes").await;
    let wa_name = inboxes["items"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"] == "wa"))
        .and_then(|i| i["name"].as_str())
        .expect("the WhatsApp inbox's name")
        .to_owned();
    let meta = dash.text_of(&mut b, "#bd-meta").await;
    assert!(
        meta.starts_with(&format!("{wa_name} · template order_update")),
        "{meta}"
    );
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#broadcast-list i, #broadcast-detail i').length"
        )
        .await,
        json!(0),
        "names never become elements"
    );
    assert_eq!(
        dash.eval(&mut b, "document.querySelector('#bd-pause').disabled && document.querySelector('#bd-resume').disabled && !document.querySelector('#bd-start').disabled").await,
        json!(true),
        "a draft may start, not pause or resume"
    );

    // Preview, then start: every recipient reaches "sent".
    dash.click(&mut b, "#bd-preview").await;
    let preview = dash
        .wait_for(
            &mut b,
            "the preview",
            "!document.querySelector('#bd-preview-box').hidden && document.querySelector('#bd-preview-box').textContent",
        )
        .await;
    let preview = preview.as_str().unwrap_or_default().to_owned();
    assert!(preview.contains("Audience3 contacts"), "{preview}");
    assert!(preview.contains("Will get it3"), "{preview}");
    assert!(preview.contains("Skippednobody"), "{preview}");
    dash.click(&mut b, "#bd-start").await;
    dash.wait_for(
        &mut b,
        "every recipient sent",
        "document.querySelector('#bd-progress-label').textContent.startsWith('Sent 3 of 3') \
         && document.querySelector('[data-count=sent]').textContent === '3' \
         && document.querySelectorAll('#bd-recipients tr.status-sent').length === 3 \
         && [...document.querySelectorAll('#broadcast-list .broadcast-progress')].some((e) => e.textContent === 'sent 3 of 3')",
    )
    .await;

    // The stand-in got three template sends, each with its recipient's callback data.
    let sends = whatsapp::sends(&graph, |body| body["type"] == "template");
    assert_eq!(sends.len(), 3, "{sends:?}");
    assert!(
        sends
            .iter()
            .all(|s| s["template"]["name"] == "order_update"),
        "{sends:?}"
    );
    assert_eq!(graph.calls_to("POST", SEND_PATH).len(), 3);
    let (_, list) = app.get(&token, "/api/broadcasts").await;
    let id = list["items"][0]["id"].as_str().expect("broadcast id");
    let (_, recipients) = app
        .get(&token, &format!("/api/broadcasts/{id}/recipients"))
        .await;
    let recipients = recipients["items"].as_array().expect("items").clone();
    assert_eq!(recipients.len(), 3, "{recipients:?}");
    let mut callbacks: Vec<&str> = sends
        .iter()
        .map(|s| {
            s["biz_opaque_callback_data"]
                .as_str()
                .expect("callback data")
        })
        .collect();
    callbacks.sort_unstable();
    let mut expected: Vec<String> = recipients
        .iter()
        .map(|r| format!("broadcast-recipient:{}", r["id"].as_str().expect("id")))
        .collect();
    expected.sort_unstable();
    assert_eq!(callbacks, expected);

    // Delivered for all three, read for two: the page's counts follow.
    for (i, r) in recipients.iter().enumerate() {
        let pid = r["provider_message_id"].as_str().expect("provider id");
        let to = r["address"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('+');
        let callback = format!("broadcast-recipient:{}", r["id"].as_str().expect("id"));
        notify(&app, &status(pid, to, &callback, "delivered")).await;
        if i < 2 {
            notify(&app, &status(pid, to, &callback, "read")).await;
        }
    }
    dash.wait_for(
        &mut b,
        "the counts at delivered and read",
        "document.querySelector('[data-count=delivered]').textContent === '1' \
         && document.querySelector('[data-count=read]').textContent === '2' \
         && document.querySelector('[data-count=sent]').textContent === '0' \
         && document.querySelectorAll('#bd-recipients tr.status-read').length === 2",
    )
    .await;
    dash.screenshot(&mut b, &screenshot("broadcasts.png")).await;

    // Back in the first customer's panel: the broadcast, read.
    dash.click(&mut b, "#nav-inbox").await;
    dash.wait_for(
        &mut b,
        "the inbox again",
        &format!(
            "!document.querySelector('#inbox-panes').hidden && document.querySelector({})",
            q(&item)
        ),
    )
    .await;
    dash.click(&mut b, &item).await;
    dash.eval(
        &mut b,
        "document.body.classList.contains('contact-open') || document.querySelector('#contact-toggle').click()",
    )
    .await;
    let row = dash
        .wait_for(
            &mut b,
            "the broadcast in the panel",
            &format!("[...document.querySelectorAll('#contact-broadcasts .contact-broadcast')].find((e) => e.querySelector('strong').textContent === {}) ?.textContent", q(NAME)),
        )
        .await;
    let row = row.as_str().unwrap_or_default().to_owned();
    assert!(row.contains("Read"), "{row}");
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#contact-broadcasts i').length"
        )
        .await,
        json!(0)
    );
    dash.eval(
        &mut b,
        "document.querySelector('#broadcast-section').scrollIntoView({ block: 'center' })",
    )
    .await;
    dash.screenshot(&mut b, &screenshot("contact-panel-broadcasts.png"))
        .await;
    // Only the refusal the test asked for.
    let errors = dash.console_errors(&mut b).await;
    let asked = |e: &&String| e.contains("status of 422") && e.ends_with("/api/broadcasts)");
    assert!(
        errors.len() == 1 && errors.iter().all(|e| asked(&e)),
        "the page reported errors running a broadcast: {errors:?}"
    );
}
