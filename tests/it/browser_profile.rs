//! The contact panel's Profile, Files and Activity tabs in a real browser: the profile shows the
//! detected country with its source, an edit is saved, a file uploaded on the Files tab is
//! listed (its name as text) and previewed on the Contact tab, and on the Activity tab a note
//! added from the note box appears at the top of the timeline (as text, markup and all).

use serde_json::{json, Value};

use crate::{
    browser::{dashboard_of, q, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{status_json, Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
};

async fn the_profile_and_activity_tabs(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(backend).await;
    let token = app.login().await;
    let body = json!({"external_id": "p-1", "contact": {"external_id": "prof-1", "name": "Lucía", "phone": "+34612345678"}, "text": "Hola"});
    let (s, v) = status_json(app.inbound(&body).await).await;
    assert_eq!(s, 200, "{v}");
    let id = v["conversation_id"].as_str().expect("id").to_owned();
    let contact = app.conversation(&token, &id).await["contact"]["id"]
        .as_str()
        .expect("contact")
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
    let item = format!(".conv-item[data-id={}]", q(&id));
    dash.wait_for(
        &mut b,
        "the conversation",
        &format!("!!document.querySelector({})", q(&item)),
    )
    .await;
    dash.click(&mut b, &item).await;
    dash.click(&mut b, "#contact-toggle").await;
    dash.wait_for(
        &mut b,
        "the profile",
        "document.querySelector('#profile-name').value === 'Lucía' && document.querySelector('#profile-country').value === 'ES'",
    )
    .await;
    assert_eq!(
        dash.text_of(&mut b, "#profile-country-hint").await,
        "Detected from the phone number"
    );
    assert_eq!(
        dash.text_of(&mut b, "#profile-link").await,
        "tel:+34612345678"
    );
    dash.wait_for(
        &mut b,
        "the conversation listed",
        &format!(
            "!!document.querySelector('#contact-history .history-item[data-id={}]')",
            q(&id)
        ),
    )
    .await;

    // Edit the email and the language, save.
    dash.type_text(&mut b, "#profile-email", "lucia@example.com")
        .await;
    dash.type_text(&mut b, "#profile-language", "es").await;
    dash.click(&mut b, "#profile-save").await;
    let saved = crate::helpers::eventually(
        "the profile saved",
        std::time::Duration::from_secs(10),
        || async {
            let (_, person) = app.get(&token, &format!("/api/contacts/{contact}")).await;
            (person["contact"]["email"] == "lucia@example.com").then_some(person)
        },
    )
    .await;
    assert_eq!(saved["contact"]["language"], "es");
    assert_eq!(saved["contact"]["language_source"], "agent");

    // The Files tab: nothing yet; a file uploaded from the Upload button is listed, its name
    // as text; the Contact tab's preview lists it too.
    dash.click(&mut b, "#contact-tabs [data-tab=files]").await;
    dash.wait_for(
        &mut b,
        "the empty Files tab",
        "!document.querySelector('#files-empty').hidden",
    )
    .await;
    // What choosing a file in the picker does: the input gets the file, then `change`.
    dash.eval(
        &mut b,
        "(() => { const dt = new DataTransfer(); \
          dt.items.add(new File(['the plan'], 'Plan <img src=x onerror=alert(1)> B.txt', { type: 'text/plain' })); \
          const input = document.querySelector('#files-input'); input.files = dt.files; \
          input.dispatchEvent(new Event('change')); return true; })()",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the uploaded file listed",
        "document.querySelectorAll('#files-list .file-row').length === 1",
    )
    .await;
    assert_eq!(
        dash.text_of(&mut b, "#files-list .file-name").await,
        "Plan <img src=x onerror=alert(1)> B.txt"
    );
    assert!(
        dash.text_of(&mut b, "#files-list .file-meta")
            .await
            .starts_with("Uploaded by "),
        "who uploaded it"
    );
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#tab-files .file-info img').length"
        )
        .await,
        json!(0),
        "a file name is never markup"
    );
    let (s, files) = app
        .get(&token, &format!("/api/contacts/{contact}/files"))
        .await;
    assert_eq!(s, 200, "{files}");
    assert_eq!(
        files["items"][0]["name"],
        "Plan <img src=x onerror=alert(1)> B.txt"
    );
    assert_eq!(files["items"][0]["size"], 8);
    dash.wait_for(
        &mut b,
        "the file in the Contact tab's preview",
        "document.querySelectorAll('#files-preview .file-row').length === 1",
    )
    .await;

    // The Activity tab: the edit is there; a note goes on top, as text.
    dash.click(&mut b, "#contact-tabs [data-tab=activity]")
        .await;
    dash.wait_for(
        &mut b,
        "the edit in the timeline",
        "!!document.querySelector('#activity-list .activity-profile_edited')",
    )
    .await;
    dash.type_text(&mut b, "#activity-note", "Call after 5 <b>pm</b>")
        .await;
    dash.click(&mut b, "#activity-note-add").await;
    dash.wait_for(
        &mut b,
        "the note on top",
        "document.querySelector('#activity-list li')?.dataset.kind === 'note_added'",
    )
    .await;
    assert_eq!(
        dash.text_of(&mut b, "#activity-list li .activity-text")
            .await,
        "Call after 5 <b>pm</b>"
    );
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#activity-list b').length"
        )
        .await,
        json!(0),
        "a note is never markup"
    );
    assert_eq!(
        dash.eval(&mut b, "document.querySelector('#tab-contact').hidden")
            .await,
        Value::Bool(true)
    );
    dash.assert_no_console_errors(&mut b, "the profile and activity tabs")
        .await;
}

#[actix_rt::test]
async fn the_profile_and_activity_tabs_on_sqlite() {
    the_profile_and_activity_tabs(Backend::Sqlite).await;
}
