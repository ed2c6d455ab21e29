//! WhatsApp Business Cloud API (Meta Graph API): notifications in, messages out, media
//! download, and the 24-hour customer-service window.
//!
//! Webhook POSTs are signed with `X-Hub-Signature-256` over the raw body and subscribed
//! with the `hub.*` handshake; both live in [`super::hub_signature`] and are re-exported
//! here. Verify the signature on the bytes as received, then call [`parse_notification`].

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{
    meta::{accepted_id, classify_by_status, parse_graph_error},
    normalized::{
        check_len, check_not_blank, join_url, parse_json, unix_seconds, At, BuildError, Content,
        InboundContact, InboundMessage, MarketingChoice, MediaKind, MediaSource, Network,
        OutboundContent, ParseError, ProviderError, ProviderRequest, RequestBody, SendOutcome,
        StatusUpdate, WebhookEvent,
    },
    phone,
};
use crate::domain::{
    csat::{self, CsatScore},
    delivery::DeliveryStatus,
    referral::{Referral, ReferralKind},
};

pub use super::hub_signature::{
    sign, verify as verify_signature, verify_handshake, HandshakeError, SignatureError,
    SIGNATURE_HEADER,
};
pub use super::meta::{DEFAULT_GRAPH_VERSION, GRAPH_BASE_URL};

/// Default messages per second per business number (inbound and outbound together).
pub const DEFAULT_THROUGHPUT_PER_SECOND: u32 = 80;
/// Throughput of a number also used in the WhatsApp Business app (coexistence).
pub const COEXISTENCE_THROUGHPUT_PER_SECOND: u32 = 20;
/// Longest text message body, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Longest media caption, in characters.
pub const MAX_CAPTION_CHARS: usize = 1024;

// ---------------------------------------------------------------------------------------
// Notifications

/// Parses a notification POST into events, in payload order: for each `entry[]` and each
/// `changes[]`, its `messages[]`, then its `statuses[]`, then its `errors[]`.
///
/// A `user_preferences` change (the person stopped or resumed marketing messages inside
/// WhatsApp) becomes [`WebhookEvent::MarketingPreference`]s. Changes for other fields
/// (template status, account updates…) and unknown status values become
/// [`WebhookEvent::Skipped`]; unknown message types become a message with
/// [`Content::Unsupported`]. Unknown fields anywhere are ignored; a missing required field
/// is an error naming its path, e.g. `entry[0].changes[1].value.messages[2].id`.
pub fn parse_notification(body: &[u8]) -> Result<Vec<WebhookEvent>, ParseError> {
    let v = parse_json(body)?;
    let root = At::root(&v);
    let object = root.req_str("object")?;
    if object != "whatsapp_business_account" {
        return Err(ParseError::invalid(
            "object",
            format!("is `{object}`; expected `whatsapp_business_account`"),
        ));
    }
    let mut events = Vec::new();
    for entry in root.req_array("entry")? {
        for change in entry.req_array("changes")? {
            let field = change.req_str("field")?;
            if field == "messages" {
                events.extend(parse_value(&change.req("value")?)?);
            } else if field == "user_preferences" {
                events.extend(parse_preferences(&change.req("value")?)?);
            } else {
                events.push(WebhookEvent::Skipped {
                    reason: format!("`{}` is a `{field}` change", change.path),
                });
            }
        }
    }
    Ok(events)
}

fn parse_value(value: &At<'_>) -> Result<Vec<WebhookEvent>, ParseError> {
    let business_id = value.req("metadata")?.req_id("phone_number_id")?;
    let contacts = value
        .opt_array("contacts")?
        .iter()
        .map(|c| {
            let wa_id = c.opt_id("wa_id")?;
            let name = match c.get("profile") {
                Some(p) => p.opt_str("name")?.map(str::to_owned),
                None => None,
            };
            Ok((wa_id, name))
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    let mut events = Vec::new();
    for m in value.opt_array("messages")? {
        events.push(WebhookEvent::Message(parse_message(
            &m,
            &business_id,
            &contacts,
        )?));
    }
    for s in value.opt_array("statuses")? {
        events.push(parse_status(&s)?);
    }
    for e in value.opt_array("errors")? {
        events.push(WebhookEvent::Error {
            business_id: Some(business_id.clone()),
            error: webhook_error(&e)?,
        });
    }
    Ok(events)
}

/// `value.user_preferences[]`: `{wa_id, category, value, detail, timestamp}`. Only the
/// `marketing_messages` category with `stop` or `resume` is acted on; other categories and
/// values are skipped (the "Interested / Not interested" offers setting sends none).
fn parse_preferences(value: &At<'_>) -> Result<Vec<WebhookEvent>, ParseError> {
    let business_id = match value.get("metadata") {
        Some(m) => m.opt_id("phone_number_id")?,
        None => None,
    };
    let mut events = Vec::new();
    for p in value.opt_array("user_preferences")? {
        let category = p.req_str("category")?;
        let raw = p.req_str("value")?;
        let choice = match (category, raw) {
            ("marketing_messages", "stop") => MarketingChoice::Stop,
            ("marketing_messages", "resume") => MarketingChoice::Resume,
            _ => {
                events.push(WebhookEvent::Skipped {
                    reason: format!("`{}` is `{category}` = `{raw}`", p.path),
                });
                continue;
            }
        };
        events.push(WebhookEvent::MarketingPreference {
            contact_external_id: p.req_id("wa_id")?,
            business_id: business_id.clone(),
            choice,
            at: unix_seconds(&p.req("timestamp")?)?,
            detail: p.opt_str("detail")?.map(str::to_owned),
        });
    }
    Ok(events)
}

/// The referral a message carries: a Click-to-WhatsApp ad or post (`referral`), or a
/// catalog product's "Message business" (`context.referred_product`). Read leniently: a
/// malformed referral is dropped, never an error, because it must not cost the message.
/// `ctwa_clid` is taken only from `ctwa_clid`.
fn message_referral(m: &At<'_>) -> Option<Referral> {
    let product = m
        .get("context")
        .and_then(|c| c.get("referred_product"))
        .filter(|p| p.v.is_object());
    let ad = m.get("referral").filter(|r| r.v.is_object());
    let mut r = match &ad {
        Some(a) => {
            let source_type = a.loose("source_type");
            let mut r = Referral::new(ReferralKind::of_whatsapp(source_type.as_deref()));
            r.source_type = source_type;
            r.source_id = a.loose("source_id");
            r.source_url = a.loose("source_url");
            r.headline = a.loose("headline");
            r.body = a.loose("body");
            r.media_type = a.loose("media_type");
            r.image_url = a.loose("image_url");
            r.video_url = a.loose("video_url");
            r.thumbnail_url = a.loose("thumbnail_url");
            r.ctwa_clid = a.loose("ctwa_clid");
            if let Some(text) = a.get("welcome_message").and_then(|w| w.loose("text")) {
                r.extra.insert("welcome_message".into(), text.into());
            }
            r
        }
        None if product.is_some() => Referral::new(ReferralKind::Product),
        None => return None,
    };
    if let Some(p) = &product {
        r.catalog_id = p.loose("catalog_id");
        r.product_retailer_id = p.loose("product_retailer_id");
    }
    Some(r)
}

fn parse_message(
    m: &At<'_>,
    business_id: &str,
    contacts: &[(Option<String>, Option<String>)],
) -> Result<InboundMessage, ParseError> {
    let id = m.req_str("id")?;
    let from = m.req_str("from")?;
    let sent_at = unix_seconds(&m.req("timestamp")?)?;
    let kind = m.req_str("type")?;
    let name = contacts
        .iter()
        .find(|(wa_id, _)| wa_id.as_deref() == Some(from))
        .and_then(|(_, name)| name.clone());
    let reply_to = match m.get("context") {
        Some(c) => c.opt_str("id")?.map(str::to_owned),
        None => None,
    };
    Ok(InboundMessage {
        provider_message_id: id.to_owned(),
        network: Network::Whatsapp,
        contact: InboundContact {
            external_id: from.to_owned(),
            name,
            phone: phone::to_e164(&format!("+{from}"), None).ok(),
            email: None,
        },
        sent_at,
        contents: vec![message_content(m, kind)?],
        business_id: Some(business_id.to_owned()),
        reply_to,
        referral: message_referral(m),
    })
}

fn message_content(m: &At<'_>, kind: &str) -> Result<Content, ParseError> {
    Ok(match kind {
        "text" => Content::Text {
            body: m.req("text")?.req_str("body")?.to_owned(),
        },
        "image" | "video" | "sticker" | "document" | "audio" => media(&m.req(kind)?, kind)?,
        "location" => {
            let l = m.req("location")?;
            Content::Location {
                latitude: l.req_f64("latitude")?,
                longitude: l.req_f64("longitude")?,
                name: l.opt_str("name")?.map(str::to_owned),
                address: l.opt_str("address")?.map(str::to_owned),
            }
        }
        "interactive" => interactive(&m.req("interactive")?)?,
        "button" => {
            let b = m.req("button")?;
            Content::TemplateButton {
                payload: b.req_str("payload")?.to_owned(),
                text: b.req_str("text")?.to_owned(),
            }
        }
        other => Content::Unsupported {
            kind: other.to_owned(),
        },
    })
}

/// A media object: by `id` (download it with [`media_download_request`]) or, in newer
/// payloads without an id, by its `url`.
fn media(obj: &At<'_>, kind: &str) -> Result<Content, ParseError> {
    let source = match (obj.opt_id("id")?, obj.opt_str("url")?) {
        (Some(id), _) if !id.is_empty() => MediaSource::ProviderId(id),
        (_, Some(url)) if !url.is_empty() => MediaSource::Url(url.to_owned()),
        _ => return Err(ParseError::Missing(format!("{}.id", obj.path))),
    };
    let media_kind = match kind {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "sticker" => MediaKind::Sticker,
        "document" => MediaKind::Document,
        _ if obj.opt_bool("voice")? == Some(true) => MediaKind::Voice,
        _ => MediaKind::Audio,
    };
    Ok(Content::Media {
        kind: media_kind,
        source,
        mime_type: obj.opt_str("mime_type")?.map(str::to_owned),
        caption: obj.opt_str("caption")?.map(str::to_owned),
        filename: obj.opt_str("filename")?.map(str::to_owned),
    })
}

fn interactive(i: &At<'_>) -> Result<Content, ParseError> {
    let kind = i.req_str("type")?;
    match kind {
        "button_reply" | "list_reply" => {
            let reply = i.req(kind)?;
            Ok(Content::InteractiveReply {
                id: reply.req_str("id")?.to_owned(),
                title: reply.req_str("title")?.to_owned(),
            })
        }
        other => Ok(Content::Unsupported {
            kind: format!("interactive.{other}"),
        }),
    }
}

/// `sent` → sent, `delivered` → delivered, `read` and `played` (a voice note was played,
/// which implies read) → read, `failed` → failed; anything else is skipped.
fn parse_status(s: &At<'_>) -> Result<WebhookEvent, ParseError> {
    let id = s.req_str("id")?;
    let raw = s.req_str("status")?;
    let at = unix_seconds(&s.req("timestamp")?)?;
    let status = match raw {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" | "played" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => {
            return Ok(WebhookEvent::Skipped {
                reason: format!("`{}.status` is `{other}`", s.path),
            })
        }
    };
    let mut error = s
        .opt_array("errors")?
        .first()
        .map(webhook_error)
        .transpose()?;
    if status == DeliveryStatus::Failed && error.is_none() {
        error = Some(ProviderError {
            code: "failed".to_owned(),
            title: "WhatsApp reported the message failed without an error".to_owned(),
            detail: None,
        });
    }
    Ok(WebhookEvent::Status(StatusUpdate {
        provider_message_id: id.to_owned(),
        status,
        at: Some(at),
        error,
        recipient: s.opt_id("recipient_id")?,
        callback_data: s.opt_str("biz_opaque_callback_data")?.map(str::to_owned),
    }))
}

/// An `errors[]` element: `{code, title, message, error_data: {details}, href}`.
fn webhook_error(e: &At<'_>) -> Result<ProviderError, ParseError> {
    let code = e.req_id("code")?;
    let title = e.opt_str("title")?.filter(|t| !t.is_empty());
    let message = e.opt_str("message")?.filter(|t| !t.is_empty());
    let details = match e.get("error_data") {
        Some(d) => d.opt_str("details")?.map(str::to_owned),
        None => None,
    };
    Ok(ProviderError {
        code,
        title: title.or(message).unwrap_or("WhatsApp error").to_owned(),
        detail: details.or_else(|| message.filter(|m| Some(*m) != title).map(str::to_owned)),
    })
}

// ---------------------------------------------------------------------------------------
// Sending

/// Builds `POST {base}/{version}/{phone_number_id}/messages` with a Bearer token.
///
/// `to_e164` is the customer's number, `+16505551234` or the `wa_id` form `16505551234`
/// (digits without `+` are taken as international); it is sent as digits without `+`, as
/// Meta's examples show. `reply_to` quotes an earlier message (`context.message_id`).
/// Text is sent with `preview_url: false` so a link never turns into an unexpected card.
/// Media go by public `link`; audio and stickers cannot carry a caption.
pub fn build_send(
    base_url: &str,
    version: &str,
    phone_number_id: &str,
    access_token: &str,
    to_e164: &str,
    content: &OutboundContent,
    reply_to: Option<&str>,
) -> Result<ProviderRequest, BuildError> {
    message_request(
        (base_url, version, phone_number_id),
        access_token,
        to_e164,
        message_payload(content)?,
        reply_to,
    )
}

/// `POST /{version}/{phone_number_id}/messages` carrying one message of `kind` to a customer:
/// the envelope every message type shares.
fn message_request(
    (base_url, version, phone_number_id): (&str, &str, &str),
    access_token: &str,
    to_e164: &str,
    (kind, payload): (&'static str, Value),
    reply_to: Option<&str>,
) -> Result<ProviderRequest, BuildError> {
    // A bare `wa_id` (digits, no `+`) is already international.
    let trimmed = to_e164.trim();
    let with_plus = if trimmed.starts_with('+') {
        trimmed.to_owned()
    } else {
        format!("+{trimmed}")
    };
    let to = phone::to_e164(&with_plus, None)
        .map_err(|e| BuildError::Invalid(format!("recipient: {e}")))?;
    let mut body = Map::new();
    body.insert("messaging_product".into(), json!("whatsapp"));
    body.insert("recipient_type".into(), json!("individual"));
    body.insert("to".into(), json!(phone::without_plus(&to)));
    if let Some(id) = reply_to.filter(|id| !id.is_empty()) {
        body.insert("context".into(), json!({ "message_id": id }));
    }
    body.insert("type".into(), json!(kind));
    body.insert(kind.into(), payload);
    Ok(ProviderRequest::new(
        "POST",
        join_url(base_url, &[version, phone_number_id, "messages"]),
        format!("Bearer {access_token}"),
        RequestBody::Json(Value::Object(body)),
    ))
}

/// The message `type` and the object stored under that key.
fn message_payload(content: &OutboundContent) -> Result<(&'static str, Value), BuildError> {
    match content {
        OutboundContent::Text { body } => {
            check_not_blank("the message text", body)?;
            check_len("the message text", body, MAX_TEXT_CHARS)?;
            Ok(("text", json!({ "preview_url": false, "body": body })))
        }
        OutboundContent::Media {
            kind,
            url,
            caption,
            filename,
        } => media_payload(*kind, url, caption.as_deref(), filename.as_deref()),
        OutboundContent::Template {
            name,
            language,
            parameters,
        } => {
            check_not_blank("the template name", name)?;
            check_not_blank("the template language", language)?;
            let mut template = json!({ "name": name, "language": { "code": language } });
            if !parameters.is_empty() {
                let params: Vec<Value> = parameters
                    .iter()
                    .map(|p| json!({ "type": "text", "text": p }))
                    .collect();
                if let Some(obj) = template.as_object_mut() {
                    obj.insert(
                        "components".into(),
                        json!([{ "type": "body", "parameters": params }]),
                    );
                }
            }
            Ok(("template", template))
        }
        OutboundContent::List(list) => Ok(("interactive", list_payload(list)?)),
    }
}

fn media_payload(
    kind: MediaKind,
    url: &str,
    caption: Option<&str>,
    filename: Option<&str>,
) -> Result<(&'static str, Value), BuildError> {
    check_not_blank("the media URL", url)?;
    let caption = caption.filter(|c| !c.trim().is_empty());
    let (kind, takes_caption) = match kind {
        MediaKind::Image => ("image", true),
        MediaKind::Video => ("video", true),
        MediaKind::Document => ("document", true),
        MediaKind::Audio | MediaKind::Voice => ("audio", false),
        MediaKind::Sticker => ("sticker", false),
    };
    let mut obj = Map::new();
    obj.insert("link".into(), json!(url));
    if let Some(c) = caption {
        if !takes_caption {
            return Err(BuildError::Unsupported(format!(
                "WhatsApp {kind} messages cannot carry a caption"
            )));
        }
        check_len("the caption", c, MAX_CAPTION_CHARS)?;
        obj.insert("caption".into(), json!(c));
    }
    if let (Some(f), "document") = (filename.filter(|f| !f.is_empty()), kind) {
        obj.insert("filename".into(), json!(f));
    }
    Ok((kind, Value::Object(obj)))
}

/// Longest body of an interactive message, in characters. Meta's list guide now allows 4096
/// for a list's body, but the interactive object's reference (and every BSP) says 1024: the
/// lower limit is the one no version refuses.
pub const MAX_INTERACTIVE_BODY_CHARS: usize = 1024;
/// Longest label of the button that opens a list.
pub const MAX_LIST_BUTTON_CHARS: usize = 20;
/// Longest title of a list's section, and of a row.
pub const MAX_LIST_TITLE_CHARS: usize = 24;
/// Longest description under a row's title.
pub const MAX_LIST_ROW_DESCRIPTION_CHARS: usize = 72;
/// Longest row id: what comes back in `list_reply.id` when the customer taps the row.
pub const MAX_LIST_ROW_ID_CHARS: usize = 200;
/// Most rows in one list message, across its sections.
pub const MAX_LIST_ROWS: usize = 10;

/// An interactive list message: a body, a button that opens the list, and one section of
/// rows. A tap comes back as an `interactive.list_reply` with the row's `id` and `title`
/// ([`Content::InteractiveReply`]). Like any free-form message it can only be sent inside the
/// customer-service window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListMessage {
    pub body: String,
    pub button: String,
    /// Shown above the rows once the list is open.
    pub section_title: String,
    pub rows: Vec<ListRow>,
}

/// One row of a [`ListMessage`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListRow {
    /// Unique within the message; returned as `list_reply.id`.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// Builds `POST {base}/{version}/{phone_number_id}/messages` sending an interactive list
/// (`type: "interactive"`, `interactive.type: "list"`), with the same recipient rules as
/// [`build_send`]. Every limit Meta enforces is checked first, so a list that is too long
/// fails here with the field's name rather than as a Graph error 131009 from the outbox.
pub fn build_list(
    base_url: &str,
    version: &str,
    phone_number_id: &str,
    access_token: &str,
    to_e164: &str,
    list: &ListMessage,
    reply_to: Option<&str>,
) -> Result<ProviderRequest, BuildError> {
    message_request(
        (base_url, version, phone_number_id),
        access_token,
        to_e164,
        ("interactive", list_payload(list)?),
        reply_to,
    )
}

/// The `interactive` object of a list message.
fn list_payload(list: &ListMessage) -> Result<Value, BuildError> {
    check_not_blank("the list body", &list.body)?;
    check_len("the list body", &list.body, MAX_INTERACTIVE_BODY_CHARS)?;
    check_not_blank("the list button", &list.button)?;
    check_len("the list button", &list.button, MAX_LIST_BUTTON_CHARS)?;
    check_not_blank("the list section title", &list.section_title)?;
    check_len(
        "the list section title",
        &list.section_title,
        MAX_LIST_TITLE_CHARS,
    )?;
    if list.rows.is_empty() || list.rows.len() > MAX_LIST_ROWS {
        return Err(BuildError::Invalid(format!(
            "a list has 1 to {MAX_LIST_ROWS} rows, not {}",
            list.rows.len()
        )));
    }
    let mut rows = Vec::with_capacity(list.rows.len());
    for (i, row) in list.rows.iter().enumerate() {
        check_not_blank("a list row id", &row.id)?;
        check_len("a list row id", &row.id, MAX_LIST_ROW_ID_CHARS)?;
        if list.rows[..i].iter().any(|r| r.id == row.id) {
            return Err(BuildError::Invalid(format!(
                "list row id `{}` is used twice",
                row.id
            )));
        }
        check_not_blank("a list row title", &row.title)?;
        check_len("a list row title", &row.title, MAX_LIST_TITLE_CHARS)?;
        let mut obj = Map::new();
        obj.insert("id".into(), json!(row.id));
        obj.insert("title".into(), json!(row.title));
        if let Some(d) = row.description.as_deref().filter(|d| !d.trim().is_empty()) {
            check_len("a list row description", d, MAX_LIST_ROW_DESCRIPTION_CHARS)?;
            obj.insert("description".into(), json!(d));
        }
        rows.push(Value::Object(obj));
    }
    Ok(json!({
        "type": "list",
        "body": { "text": list.body },
        "action": {
            "button": list.button,
            "sections": [{ "title": list.section_title, "rows": rows }],
        },
    }))
}

/// The satisfaction survey as a list: the question, a button, and five rows from
/// `csat_5` (⭐⭐⭐⭐⭐ Excellent) down to `csat_1`, best first so the common answer is at
/// the top. A tap reaches [`csat::parse_rating`] through the row's id; a typed number works
/// too. `lang_hint` as in [`csat::survey_text`].
pub fn csat_list(lang_hint: Option<&str>) -> ListMessage {
    let button = csat::survey_button(lang_hint);
    ListMessage {
        body: csat::survey_question(lang_hint).to_owned(),
        button: button.to_owned(),
        section_title: button.to_owned(),
        rows: CsatScore::ALL
            .iter()
            .rev()
            .map(|s| ListRow {
                id: s.interactive_id(),
                title: s.title(lang_hint),
                description: None,
            })
            .collect(),
    }
}

/// Marks a customer's message as read (blue ticks on their side):
/// `POST /{version}/{phone_number_id}/messages` with `{"status": "read", "message_id"}`.
pub fn build_mark_read(
    base_url: &str,
    version: &str,
    phone_number_id: &str,
    access_token: &str,
    message_id: &str,
) -> ProviderRequest {
    ProviderRequest::new(
        "POST",
        join_url(base_url, &[version, phone_number_id, "messages"]),
        format!("Bearer {access_token}"),
        RequestBody::Json(json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        })),
    )
}

/// Classifies the answer to a send.
///
/// | answer | outcome |
/// |---|---|
/// | 2xx with `messages[0].id` | accepted |
/// | 130429 throughput exceeded | retry after 1 s |
/// | 131056 pair rate limit (~1 message per 6 s to one user) | retry after 6 s |
/// | 4, 80007 app / account rate limits | retry after 60 s |
/// | 1, 2, 131000, 131016, 133004, `is_transient` | retry |
/// | 131047 window closed, 131026 undeliverable, 131049 marketing limit, 131051 unsupported type, 131048 spam limit, 131021 recipient is sender, 131008/131009/100 bad parameters, 132xxx template errors, 133010 number not registered, 190/0/3/10/200 auth and permission, 368 blocked, 470 | failed |
/// | any other code: 5xx / 429 → retry, else failed | |
pub fn classify_send_response(status: u16, body: &[u8]) -> SendOutcome {
    if (200..300).contains(&status) {
        return accepted_message_id(body, status);
    }
    let Some(err) = parse_graph_error(body) else {
        return classify_by_status(status, body);
    };
    let code = err.code.unwrap_or(-1);
    match code {
        130429 => err.retry(Some(Duration::from_secs(1))),
        131056 => err.retry(Some(Duration::from_secs(6))),
        4 | 80007 => err.retry(Some(Duration::from_secs(60))),
        1 | 2 | 131000 | 131016 | 133004 => err.retry(None),
        _ if err.is_transient => err.retry(None),
        0
        | 3
        | 10
        | 100
        | 190
        | 200..=299
        | 368
        | 470
        | 131008
        | 131009
        | 131021
        | 131026
        | 131047
        | 131048
        | 131049
        | 131051
        | 132000..=132999
        | 133010 => err.fail(),
        _ if status >= 500 || status == 429 => err.retry(None),
        _ => err.fail(),
    }
}

/// `messages[0].id` of a successful send.
fn accepted_message_id(body: &[u8], status: u16) -> SendOutcome {
    let id = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("messages")?
            .get(0)?
            .get("id")?
            .as_str()
            .map(str::to_owned)
    });
    match id {
        Some(id) if !id.is_empty() => SendOutcome::Accepted {
            provider_message_id: id,
        },
        // Reuse the generic "answered without an id" failure.
        _ => accepted_id(body, "messages[0].id", status),
    }
}

// ---------------------------------------------------------------------------------------
// Media download

/// Step 1 of a media download: `GET {base}/{version}/{media_id}` with the Bearer token.
pub fn media_download_request(
    base_url: &str,
    version: &str,
    media_id: &str,
    access_token: &str,
) -> ProviderRequest {
    ProviderRequest::new(
        "GET",
        join_url(base_url, &[version, media_id]),
        format!("Bearer {access_token}"),
        RequestBody::Empty,
    )
}

/// Where step 1 says the media is. The URL is short-lived (minutes): fetch it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLocation {
    pub url: String,
    pub mime_type: Option<String>,
    /// Base64 or hex SHA-256 of the file as Meta reports it, to check the download.
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
}

/// Parses step 1's answer: `{"url", "mime_type", "sha256", "file_size", "id",
/// "messaging_product"}`.
pub fn parse_media_url_response(body: &[u8]) -> Result<MediaLocation, ParseError> {
    let v = parse_json(body)?;
    let root = At::root(&v);
    let file_size = match root.opt_id("file_size")? {
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ParseError::invalid("file_size", "must be a whole number"))?,
        ),
        None => None,
    };
    Ok(MediaLocation {
        url: root.req_str("url")?.to_owned(),
        mime_type: root.opt_str("mime_type")?.map(str::to_owned),
        sha256: root.opt_str("sha256")?.map(str::to_owned),
        file_size,
    })
}

/// Step 2: `GET url` with the same Bearer token (the URL alone is not enough).
pub fn media_fetch_request(url: &str, access_token: &str) -> ProviderRequest {
    ProviderRequest::new(
        "GET",
        url.to_owned(),
        format!("Bearer {access_token}"),
        RequestBody::Empty,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDateTime};

    fn unix(secs: i64) -> NaiveDateTime {
        DateTime::from_timestamp(secs, 0).unwrap().naive_utc()
    }

    // --- a full notification -------------------------------------------------------------------

    /// Two entries (two WABAs / numbers), several messages of every type, statuses
    /// (one failed with 131047), a system error, and a non-`messages` change. Extra fields
    /// Meta added over time (identity_key_hash, user_id, from_user_id, pricing, group_id…)
    /// are present and must be ignored.
    const NOTIFICATION: &str = r#"{
      "object": "whatsapp_business_account",
      "entry": [
        {
          "id": "102290129340398",
          "changes": [
            {
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "contacts": [
                  {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234", "identity_key_hash": "DF2lS5v2W6x=", "user_id": "US.13491208655302741918"},
                  {"profile": {"name": "Kerry Fisher"}, "wa_id": "447700900123"}
                ],
                "messages": [
                  {"from": "16505551234", "from_user_id": "US.13491208655302741918", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", "timestamp": "1749416383", "type": "text", "text": {"body": "Does it come in another color?"}},
                  {"from": "16505551234", "id": "wamid.IMG1", "timestamp": "1749416390", "type": "image",
                   "image": {"caption": "This one", "mime_type": "image/jpeg", "sha256": "8dVO8dsyu0xKsuLBbzYlGyeddGWh1Lq1kQtbd8yAy6M=", "id": "1003383421387256", "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256"}},
                  {"from": "16505551234", "id": "wamid.DOC1", "timestamp": "1749416391", "type": "document",
                   "document": {"caption": "Invoice", "filename": "invoice-0042.pdf", "mime_type": "application/pdf", "sha256": "grwfwe/ZPx0w=", "id": "2046223899146155"}},
                  {"from": "447700900123", "id": "wamid.VOICE1", "timestamp": "1749416392", "type": "audio",
                   "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "m04pFf2ERdaopTy=", "id": "1234567890987654321", "voice": true}},
                  {"from": "447700900123", "id": "wamid.AUDIO1", "timestamp": "1749416393", "type": "audio",
                   "audio": {"mime_type": "audio/mpeg", "sha256": "E3dxS=", "id": "777", "voice": false}},
                  {"from": "447700900123", "id": "wamid.VID1", "timestamp": "1749416394", "type": "video",
                   "context": {"forwarded": true, "frequently_forwarded": true},
                   "video": {"caption": "look", "mime_type": "video/mp4", "sha256": "Jh+2=", "id": "765756756"}},
                  {"from": "447700900123", "id": "wamid.STK1", "timestamp": "1749416395", "type": "sticker",
                   "sticker": {"mime_type": "image/webp", "sha256": "OmT4=", "id": "88", "animated": false}},
                  {"from": "447700900123", "id": "wamid.LOC1", "timestamp": "1749416396", "type": "location",
                   "location": {"latitude": 37.4611978, "longitude": -122.2164385, "name": "Facebook HQ", "address": "1 Hacker Way, Menlo Park, CA 94025", "url": "https://maps.google.com/?cid=1"}}
                ]
              }
            },
            {
              "field": "message_template_status_update",
              "value": {"event": "APPROVED", "message_template_id": 1, "message_template_name": "order_update"}
            }
          ]
        },
        {
          "id": "201234567890123",
          "changes": [
            {
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": "209876543210987"},
                "contacts": [{"profile": {"name": "Ana Ruiz"}, "wa_id": "34612345678"}],
                "messages": [
                  {"context": {"from": "15550001111", "id": "wamid.OUT9"}, "from": "34612345678", "id": "wamid.BTN1", "timestamp": "1749416400", "type": "interactive",
                   "interactive": {"type": "button_reply", "button_reply": {"id": "confirm_yes", "title": "Yes"}}},
                  {"context": {"from": "15550001111", "id": "wamid.OUT9"}, "from": "34612345678", "id": "wamid.LIST1", "timestamp": "1749416401", "type": "interactive",
                   "interactive": {"type": "list_reply", "list_reply": {"id": "slot_3pm", "title": "3:00 PM", "description": "Afternoon"}}},
                  {"context": {"from": "15550001111", "id": "wamid.TPL1"}, "from": "34612345678", "id": "wamid.QR1", "timestamp": "1749416402", "type": "button",
                   "button": {"payload": "STOP_PROMOS", "text": "Stop promotions"}},
                  {"from": "34612345678", "id": "wamid.REACT1", "timestamp": "1749416403", "type": "reaction",
                   "reaction": {"message_id": "wamid.OUT9", "emoji": "\ud83d\udc4d"}},
                  {"from": "34612345678", "id": "wamid.UNS1", "timestamp": "1749416404", "type": "unsupported",
                   "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]}
                ]
              }
            },
            {
              "field": "messages",
              "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": "209876543210987"},
                "statuses": [
                  {"id": "wamid.OUT9", "status": "sent", "timestamp": "1749416500", "recipient_id": "34612345678",
                   "pricing": {"billable": true, "pricing_model": "PMP", "type": "regular", "category": "service"}, "biz_opaque_callback_data": "x"},
                  {"id": "wamid.OUT9", "status": "read", "timestamp": "1749416560", "recipient_id": "34612345678"},
                  {"id": "wamid.OUT9", "status": "delivered", "timestamp": "1749416530", "recipient_id": "34612345678",
                   "conversation": {"id": "7270432eae37498234f4444b35ffc5", "origin": {"type": "service"}},
                   "pricing": {"billable": true, "pricing_model": "CBP", "category": "service"}},
                  {"id": "wamid.OUT10", "status": "failed", "timestamp": "1749416600", "recipient_id": "34612345678",
                   "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                               "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
                               "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]},
                  {"id": "wamid.OUT11", "status": "played", "timestamp": "1749416700", "recipient_id": "34612345678"},
                  {"id": "wamid.OUT12", "status": "deleted", "timestamp": "1749416701", "recipient_id": "34612345678"}
                ],
                "errors": [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong", "error_data": {"details": "Unknown error"}}]
              }
            }
          ]
        }
      ]
    }"#;

    fn events() -> Vec<WebhookEvent> {
        parse_notification(NOTIFICATION.as_bytes()).unwrap()
    }

    fn message(e: &WebhookEvent) -> &InboundMessage {
        match e {
            WebhookEvent::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    fn status(e: &WebhookEvent) -> &StatusUpdate {
        match e {
            WebhookEvent::Status(s) => s,
            other => panic!("not a status: {other:?}"),
        }
    }

    // --- referrals and marketing preferences -------------------------------------------------

    fn one_message(raw: &str) -> InboundMessage {
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Sheena Nelson"}},"wa_id":"16505551234"}}],"messages":[{raw}]}}}}]}}]}}"#
        );
        message(&parse_notification(body.as_bytes()).unwrap()[0]).clone()
    }

    /// A first message after a tap on a Click-to-WhatsApp ad, as Meta's text webhook
    /// reference shows it.
    #[test]
    fn a_click_to_whatsapp_ad_referral() {
        let m = one_message(
            r#"{"from":"16505551234","id":"wamid.CTWA1","timestamp":"1749416383","type":"text","text":{"body":"Can I get more info about this?"},
                "referral":{"source_url":"https://fb.me/3cr4Wqqkv","source_id":"120226305854810726","source_type":"ad","headline":"Summer sale: 30% off","body":"Tap to chat with us about the sale","media_type":"image","image_url":"https://scontent.xx.fbcdn.net/v/t45.1600-4/ad.jpg","thumbnail_url":"https://scontent.xx.fbcdn.net/v/t45.1600-4/thumb.jpg","ctwa_clid":"ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0","welcome_message":{"text":"Hi! How can we help?"}}}"#,
        );
        let r = m.referral.unwrap();
        assert_eq!(r.kind, ReferralKind::CtwaAd);
        assert_eq!(r.source_id.as_deref(), Some("120226305854810726"));
        assert_eq!(r.headline.as_deref(), Some("Summer sale: 30% off"));
        assert_eq!(r.media_type.as_deref(), Some("image"));
        assert!(r.ctwa_clid.as_deref().unwrap().starts_with("ARAkLkA8"));
        assert_eq!(r.extra["welcome_message"], "Hi! How can we help?");
        assert_eq!(
            m.contents,
            vec![Content::Text {
                body: "Can I get more info about this?".into()
            }]
        );
    }

    #[test]
    fn a_post_referral_without_click_id_keeps_none() {
        let m = one_message(
            r#"{"from":"16505551234","id":"wamid.POST1","timestamp":"1749416383","type":"image","image":{"id":"1003383421387256","mime_type":"image/jpeg"},
                "referral":{"source_url":"https://www.facebook.com/business/posts/1","source_id":"1","source_type":"post","media_type":"video","video_url":"https://video.xx.fbcdn.net/v.mp4"}}"#,
        );
        let r = m.referral.unwrap();
        assert_eq!(r.kind, ReferralKind::CtwaPost);
        // Never the source id in its place.
        assert_eq!(r.ctwa_clid, None);
        assert_eq!(
            r.video_url.as_deref(),
            Some("https://video.xx.fbcdn.net/v.mp4")
        );
    }

    #[test]
    fn a_product_referral_and_a_malformed_referral() {
        let m = one_message(
            r#"{"from":"16505551234","id":"wamid.PROD1","timestamp":"1749416383","type":"text","text":{"body":"Is this in stock?"},
                "context":{"from":"15550783881","id":"wamid.CATALOG1","referred_product":{"catalog_id":"2201742053284510","product_retailer_id":"sku-42"}}}"#,
        );
        let r = m.referral.unwrap();
        assert_eq!(r.kind, ReferralKind::Product);
        assert_eq!(r.catalog_id.as_deref(), Some("2201742053284510"));
        assert_eq!(r.product_retailer_id.as_deref(), Some("sku-42"));
        assert_eq!(m.reply_to.as_deref(), Some("wamid.CATALOG1"));
        // A referral that is not an object costs nothing: the message is kept without it.
        let m = one_message(
            r#"{"from":"16505551234","id":"wamid.BAD1","timestamp":"1749416383","type":"text","text":{"body":"hi"},"referral":"oops"}"#,
        );
        assert_eq!(m.referral, None);
        let m = one_message(
            r#"{"from":"16505551234","id":"wamid.PLAIN","timestamp":"1749416383","type":"text","text":{"body":"hi"}}"#,
        );
        assert_eq!(m.referral, None);
    }

    /// Meta's `user_preferences` webhook reference: a stop and a resume, and an offers
    /// category that is not acted on.
    #[test]
    fn user_preferences_become_marketing_choices() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"user_preferences","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
            "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
            "user_preferences":[
              {"wa_id":"16505551234","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1731705721},
              {"wa_id":"16505551234","detail":"User requested to resume marketing messages","category":"marketing_messages","value":"resume","timestamp":"1731705799"},
              {"wa_id":"16505551234","category":"offers","value":"not_interested","timestamp":1731705800}
            ]}}]}]}"#;
        let ev = parse_notification(body.as_bytes()).unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(
            ev[0],
            WebhookEvent::MarketingPreference {
                contact_external_id: "16505551234".into(),
                business_id: Some("106540352242922".into()),
                choice: MarketingChoice::Stop,
                at: unix(1731705721),
                detail: Some("User requested to stop marketing messages".into()),
            }
        );
        assert!(matches!(
            ev[1],
            WebhookEvent::MarketingPreference {
                choice: MarketingChoice::Resume,
                ..
            }
        ));
        assert!(matches!(ev[2], WebhookEvent::Skipped { .. }));
        let missing = body.replace(
            r#""wa_id":"16505551234","detail":"User requested to stop"#,
            r#""detail":"User requested to stop"#,
        );
        assert!(parse_notification(missing.as_bytes()).is_err());
    }

    #[test]
    fn full_notification_in_order() {
        let ev = events();
        assert_eq!(ev.len(), 8 + 1 + 5 + 6 + 1, "{ev:#?}");
    }

    #[test]
    fn text_message_with_contact() {
        let m = message(&events()[0]).clone();
        assert_eq!(
            m.provider_message_id,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
        );
        assert_eq!(m.network, Network::Whatsapp);
        assert_eq!(m.business_id.as_deref(), Some("106540352242922"));
        assert_eq!(
            m.contact,
            InboundContact {
                external_id: "16505551234".into(),
                name: Some("Sheena Nelson".into()),
                phone: Some("+16505551234".into()),
                email: None,
            }
        );
        assert_eq!(m.sent_at, unix(1749416383));
        assert_eq!(
            m.contents,
            vec![Content::Text {
                body: "Does it come in another color?".into()
            }]
        );
        assert_eq!(m.reply_to, None);
    }

    #[test]
    fn media_messages() {
        let ev = events();
        assert_eq!(
            message(&ev[1]).contents[0],
            Content::Media {
                kind: MediaKind::Image,
                source: MediaSource::ProviderId("1003383421387256".into()),
                mime_type: Some("image/jpeg".into()),
                caption: Some("This one".into()),
                filename: None,
            }
        );
        assert_eq!(
            message(&ev[2]).contents[0],
            Content::Media {
                kind: MediaKind::Document,
                source: MediaSource::ProviderId("2046223899146155".into()),
                mime_type: Some("application/pdf".into()),
                caption: Some("Invoice".into()),
                filename: Some("invoice-0042.pdf".into()),
            }
        );
        let kinds: Vec<MediaKind> = ev[3..7]
            .iter()
            .map(|e| match &message(e).contents[0] {
                Content::Media { kind, .. } => *kind,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                MediaKind::Voice,
                MediaKind::Audio,
                MediaKind::Video,
                MediaKind::Sticker
            ]
        );
        // The second contact's name is matched by wa_id, not position.
        assert_eq!(
            message(&ev[3]).contact.name.as_deref(),
            Some("Kerry Fisher")
        );
        // A forwarded message's context has no id: not a reply.
        assert_eq!(message(&ev[5]).reply_to, None);
    }

    #[test]
    fn location_interactive_button_and_unsupported() {
        let ev = events();
        assert_eq!(
            message(&ev[7]).contents[0],
            Content::Location {
                latitude: 37.4611978,
                longitude: -122.2164385,
                name: Some("Facebook HQ".into()),
                address: Some("1 Hacker Way, Menlo Park, CA 94025".into()),
            }
        );
        assert!(
            matches!(&ev[8], WebhookEvent::Skipped { reason } if reason.contains("message_template_status_update"))
        );
        let btn = message(&ev[9]);
        assert_eq!(btn.business_id.as_deref(), Some("209876543210987"));
        assert_eq!(btn.reply_to.as_deref(), Some("wamid.OUT9"));
        assert_eq!(
            btn.contents[0],
            Content::InteractiveReply {
                id: "confirm_yes".into(),
                title: "Yes".into()
            }
        );
        assert_eq!(
            message(&ev[10]).contents[0],
            Content::InteractiveReply {
                id: "slot_3pm".into(),
                title: "3:00 PM".into()
            }
        );
        assert_eq!(
            message(&ev[11]).contents[0],
            Content::TemplateButton {
                payload: "STOP_PROMOS".into(),
                text: "Stop promotions".into()
            }
        );
        assert_eq!(
            message(&ev[12]).contents[0],
            Content::Unsupported {
                kind: "reaction".into()
            }
        );
        assert_eq!(
            message(&ev[13]).contents[0],
            Content::Unsupported {
                kind: "unsupported".into()
            }
        );
        assert_eq!(
            message(&ev[13]).contact.phone.as_deref(),
            Some("+34612345678")
        );
    }

    #[test]
    fn statuses_out_of_order_and_failed() {
        let ev = events();
        let s: Vec<_> = ev[14..20].iter().collect();
        assert_eq!(
            *status(s[0]),
            StatusUpdate {
                provider_message_id: "wamid.OUT9".into(),
                status: DeliveryStatus::Sent,
                at: Some(unix(1749416500)),
                error: None,
                recipient: Some("34612345678".into()),
                callback_data: Some("x".into()),
            }
        );
        // read before delivered: the forward-only rule ends at read.
        let mut current = DeliveryStatus::Queued;
        for e in &s[0..3] {
            if let Some(next) = current.advance(status(e).status) {
                current = next;
            }
        }
        assert_eq!(current, DeliveryStatus::Read);

        let failed = status(s[3]);
        assert_eq!(failed.status, DeliveryStatus::Failed);
        let err = failed.error.clone().unwrap();
        assert_eq!(err.to_string(), "131047: Re-engagement message");
        assert_eq!(
            err.detail.as_deref(),
            Some("Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
        );
        assert_eq!(
            status(s[4]).status,
            DeliveryStatus::Read,
            "played implies read"
        );
        assert!(matches!(s[5], WebhookEvent::Skipped { reason } if reason.contains("deleted")));
        assert_eq!(
            ev[20],
            WebhookEvent::Error {
                business_id: Some("209876543210987".into()),
                error: ProviderError {
                    code: "131000".into(),
                    title: "Something went wrong".into(),
                    detail: Some("Unknown error".into())
                }
            }
        );
    }

    #[test]
    fn duplicated_statuses_are_idempotent_under_advance() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},
          "statuses":[{"id":"wamid.A","status":"delivered","timestamp":"10"},{"id":"wamid.A","status":"delivered","timestamp":"10"},
                      {"id":"wamid.A","status":"sent","timestamp":"9"},{"id":"wamid.A","status":"failed","timestamp":"11","errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]}"#;
        let ev = parse_notification(body).unwrap();
        let mut current = DeliveryStatus::Queued;
        let mut changes = 0;
        for e in &ev {
            if let Some(next) = current.advance(status(e).status) {
                current = next;
                changes += 1;
            }
        }
        // Only the first `delivered` changes anything; a late `failed` cannot undo it.
        assert_eq!((current, changes), (DeliveryStatus::Delivered, 1));
        // A failure without error_data still has its code and title.
        let e = status(&ev[3]).error.clone().unwrap();
        assert_eq!(e.to_string(), "131026: Message undeliverable");
        assert_eq!(e.detail, None);
    }

    #[test]
    fn failed_status_without_errors_still_explains() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},
          "statuses":[{"id":"wamid.A","status":"failed","timestamp":"10"}]}}]}]}"#;
        let ev = parse_notification(body).unwrap();
        assert_eq!(status(&ev[0]).error.as_ref().unwrap().code, "failed");
    }

    #[test]
    fn media_by_url_only_and_nfm_replies() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2"},
          "messages":[
            {"from":"447700900123","id":"wamid.U","timestamp":"1","type":"image","image":{"url":"https://lookaside.fbsbx.com/x","mime_type":"image/png"}},
            {"from":"447700900123","id":"wamid.F","timestamp":"2","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{}"}}}
          ]}}]}]}"#;
        let ev = parse_notification(body).unwrap();
        assert!(matches!(
            &message(&ev[0]).contents[0],
            Content::Media { source: MediaSource::Url(u), .. } if u == "https://lookaside.fbsbx.com/x"
        ));
        // No contacts[] in the value: no name, but still the phone.
        assert_eq!(message(&ev[0]).contact.name, None);
        assert_eq!(
            message(&ev[1]).contents[0],
            Content::Unsupported {
                kind: "interactive.nfm_reply".into()
            }
        );
    }

    #[test]
    fn malformed_notifications_name_the_path() {
        let wrap = |value: &str| {
            format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
            )
        };
        let msg = |m: &str| {
            wrap(&format!(
                r#"{{"metadata":{{"phone_number_id":"2"}},"messages":[{m}]}}"#
            ))
        };
        let cases = [
            ("{".to_owned(), "not valid JSON"),
            (
                r#"{"object":"page","entry":[]}"#.to_owned(),
                "expected `whatsapp_business_account`",
            ),
            (
                r#"{"object":"whatsapp_business_account"}"#.to_owned(),
                "`entry` is missing",
            ),
            (
                r#"{"object":"whatsapp_business_account","entry":[{"id":"1"}]}"#.to_owned(),
                "`entry[0].changes` is missing",
            ),
            (
                wrap(r#"{"messages":[]}"#),
                "`entry[0].changes[0].value.metadata` is missing",
            ),
            (
                msg(r#"{"from":"1","timestamp":"1","type":"text","text":{"body":"x"}}"#),
                "`entry[0].changes[0].value.messages[0].id` is missing",
            ),
            (
                msg(r#"{"id":"w","timestamp":"1","type":"text","text":{"body":"x"}}"#),
                "messages[0].from` is missing",
            ),
            (
                msg(
                    r#"{"id":"w","from":"1","timestamp":"yesterday","type":"text","text":{"body":"x"}}"#,
                ),
                "messages[0].timestamp` must be Unix seconds",
            ),
            (
                msg(r#"{"id":"w","from":"1","timestamp":"1","text":{"body":"x"}}"#),
                "messages[0].type` is missing",
            ),
            (
                msg(r#"{"id":"w","from":"1","timestamp":"1","type":"text"}"#),
                "messages[0].text` is missing",
            ),
            (
                msg(r#"{"id":"w","from":"1","timestamp":"1","type":"text","text":{"body":5}}"#),
                "messages[0].text.body` must be a string",
            ),
            (
                msg(
                    r#"{"id":"w","from":"1","timestamp":"1","type":"image","image":{"mime_type":"image/png"}}"#,
                ),
                "messages[0].image.id` is missing",
            ),
            (
                msg(
                    r#"{"id":"w","from":"1","timestamp":"1","type":"location","location":{"latitude":"north","longitude":1}}"#,
                ),
                "messages[0].location.latitude` must be a number",
            ),
            (
                msg(
                    r#"{"id":"w","from":"1","timestamp":"1","type":"interactive","interactive":{"type":"button_reply"}}"#,
                ),
                "messages[0].interactive.button_reply` is missing",
            ),
            (
                msg(
                    r#"{"id":"w","from":"1","timestamp":"1","type":"button","button":{"text":"Yes"}}"#,
                ),
                "messages[0].button.payload` is missing",
            ),
            (
                wrap(
                    r#"{"metadata":{"phone_number_id":"2"},"statuses":[{"id":"w","timestamp":"1"}]}"#,
                ),
                "statuses[0].status` is missing",
            ),
            (
                wrap(
                    r#"{"metadata":{"phone_number_id":"2"},"statuses":[{"id":"w","status":"failed","timestamp":"1","errors":[{"title":"x"}]}]}"#,
                ),
                "statuses[0].errors[0].code` is missing",
            ),
            (
                wrap(r#"{"metadata":{"phone_number_id":"2"},"messages":{}}"#),
                "value.messages` must be an array",
            ),
        ];
        for (body, want) in cases {
            let err = parse_notification(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{body}\n  got: {err}\n  want: {want}");
        }
        assert!(
            parse_notification(br#"{"object":"whatsapp_business_account","entry":[]}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn signature_of_a_notification_is_checked_on_raw_bytes() {
        let secret = "0123456789abcdef0123456789abcdef";
        let header = sign(secret, NOTIFICATION.as_bytes());
        assert_eq!(
            verify_signature(secret, NOTIFICATION.as_bytes(), Some(&header)),
            Ok(())
        );
        let reencoded =
            serde_json::to_vec(&serde_json::from_str::<Value>(NOTIFICATION).unwrap()).unwrap();
        assert_eq!(
            verify_signature(secret, &reencoded, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_handshake(
                Some("subscribe"),
                Some("v-token"),
                Some("1158201444"),
                "v-token"
            ),
            Ok("1158201444".into())
        );
    }

    // --- sending -------------------------------------------------------------------------------

    fn send(content: &OutboundContent, reply_to: Option<&str>) -> ProviderRequest {
        build_send(
            GRAPH_BASE_URL,
            DEFAULT_GRAPH_VERSION,
            "106540352242922",
            "EAAtoken",
            "+16505551234",
            content,
            reply_to,
        )
        .unwrap()
    }

    fn body(r: &ProviderRequest) -> Value {
        match &r.body {
            RequestBody::Json(v) => v.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn send_text() {
        let r = send(
            &OutboundContent::Text {
                body: "It comes in blue and green.".into(),
            },
            None,
        );
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.url,
            "https://graph.facebook.com/v25.0/106540352242922/messages"
        );
        assert_eq!(r.header("Authorization"), Some("Bearer EAAtoken"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(
            body(&r),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text",
                   "text":{"preview_url":false,"body":"It comes in blue and green."}})
        );
    }

    #[test]
    fn send_reply_with_context() {
        let r = send(
            &OutboundContent::Text {
                body: "Sure!".into(),
            },
            Some("wamid.HBgLMTY1"),
        );
        assert_eq!(body(&r)["context"], json!({"message_id": "wamid.HBgLMTY1"}));
    }

    #[test]
    fn send_template_as_documented() {
        let r = send(
            &OutboundContent::Template {
                name: "order_update".into(),
                language: "en_US".into(),
                parameters: vec!["#12345".into()],
            },
            None,
        );
        assert_eq!(
            body(&r),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"template",
                   "template":{"name":"order_update","language":{"code":"en_US"},
                               "components":[{"type":"body","parameters":[{"type":"text","text":"#12345"}]}]}})
        );
        let r = send(
            &OutboundContent::Template {
                name: "hello_world".into(),
                language: "en_US".into(),
                parameters: vec![],
            },
            None,
        );
        assert_eq!(
            body(&r)["template"],
            json!({"name":"hello_world","language":{"code":"en_US"}})
        );
    }

    #[test]
    fn send_media_by_link() {
        let media = |kind, caption: Option<&str>, filename: Option<&str>| OutboundContent::Media {
            kind,
            url: "https://files.example.com/f".into(),
            caption: caption.map(str::to_owned),
            filename: filename.map(str::to_owned),
        };
        let r = send(&media(MediaKind::Image, Some("New menu"), None), None);
        assert_eq!(body(&r)["type"], "image");
        assert_eq!(
            body(&r)["image"],
            json!({"link":"https://files.example.com/f","caption":"New menu"})
        );
        let r = send(
            &media(MediaKind::Document, Some("Invoice"), Some("inv.pdf")),
            None,
        );
        assert_eq!(
            body(&r)["document"],
            json!({"link":"https://files.example.com/f","caption":"Invoice","filename":"inv.pdf"})
        );
        let r = send(&media(MediaKind::Voice, None, Some("ignored.ogg")), None);
        assert_eq!(body(&r)["type"], "audio");
        assert_eq!(
            body(&r)["audio"],
            json!({"link":"https://files.example.com/f"})
        );
        let r = send(&media(MediaKind::Sticker, None, None), None);
        assert_eq!(body(&r)["type"], "sticker");
        let r = send(&media(MediaKind::Video, None, None), None);
        assert_eq!(
            body(&r)["video"],
            json!({"link":"https://files.example.com/f"})
        );
    }

    #[test]
    fn send_refusals() {
        let try_send = |to: &str, content: OutboundContent| {
            build_send(GRAPH_BASE_URL, "v25.0", "1", "t", to, &content, None)
        };
        let text = |s: String| OutboundContent::Text { body: s };
        assert!(matches!(
            try_send("+16505551234", text("x".repeat(4097))),
            Err(BuildError::TooLong { limit: 4096, .. })
        ));
        assert!(try_send("+16505551234", text("x".repeat(4096))).is_ok());
        assert!(try_send("+16505551234", text("  ".into())).is_err());
        assert!(matches!(
            try_send("not a number", text("hi".into())),
            Err(BuildError::Invalid(m)) if m.starts_with("recipient")
        ));
        // A wa_id (digits without `+`) is accepted as it is international already.
        let r = try_send("16505551234", text("hi".into())).unwrap();
        assert_eq!(body(&r)["to"], "16505551234");
        assert!(try_send("0044", text("hi".into())).is_err());
        let caption = |kind, n: usize| OutboundContent::Media {
            kind,
            url: "https://x/y".into(),
            caption: Some("c".repeat(n)),
            filename: None,
        };
        assert!(matches!(
            try_send("+16505551234", caption(MediaKind::Image, 1025)),
            Err(BuildError::TooLong { limit: 1024, .. })
        ));
        assert!(matches!(
            try_send("+16505551234", caption(MediaKind::Audio, 3)),
            Err(BuildError::Unsupported(_))
        ));
        assert!(try_send(
            "+16505551234",
            OutboundContent::Template {
                name: "".into(),
                language: "en".into(),
                parameters: vec![]
            }
        )
        .is_err());
    }

    #[test]
    fn mark_read_request() {
        let r = build_mark_read(GRAPH_BASE_URL, "v25.0", "106540352242922", "t", "wamid.X");
        assert_eq!(
            body(&r),
            json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"})
        );
    }

    // --- interactive lists and the CSAT survey ------------------------------------------------

    #[test]
    fn csat_survey_list_as_documented() {
        let r = build_list(
            GRAPH_BASE_URL,
            DEFAULT_GRAPH_VERSION,
            "106540352242922",
            "EAAtoken",
            "+16505551234",
            &csat_list(None),
            None,
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://graph.facebook.com/v25.0/106540352242922/messages"
        );
        assert_eq!(r.header("Authorization"), Some("Bearer EAAtoken"));
        assert_eq!(
            body(&r),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"interactive",
                   "interactive":{"type":"list",
                                  "body":{"text":"How would you rate our help?"},
                                  "action":{"button":"Rate us","sections":[{"title":"Rate us","rows":[
                                      {"id":"csat_5","title":"⭐⭐⭐⭐⭐ Excellent"},
                                      {"id":"csat_4","title":"⭐⭐⭐⭐ Good"},
                                      {"id":"csat_3","title":"⭐⭐⭐ OK"},
                                      {"id":"csat_2","title":"⭐⭐ Bad"},
                                      {"id":"csat_1","title":"⭐ Terrible"}]}]}}})
        );
        // Every language's survey fits Meta's limits.
        for hint in ["en", "es", "pt-BR", "hi"] {
            assert!(list_payload(&csat_list(Some(hint))).is_ok(), "{hint}");
        }
        assert_eq!(csat_list(Some("es")).rows[0].title, "⭐⭐⭐⭐⭐ Excelente");
        // The outbox sends it as an outbound content like any other: the same request.
        let sent = build_send(
            GRAPH_BASE_URL,
            DEFAULT_GRAPH_VERSION,
            "106540352242922",
            "EAAtoken",
            "+16505551234",
            &OutboundContent::List(csat_list(None)),
            None,
        )
        .unwrap();
        assert_eq!(sent, r);
    }

    #[test]
    fn list_with_descriptions_and_reply_context() {
        let list = ListMessage {
            body: "Pick a slot".into(),
            button: "Slots".into(),
            section_title: "Tomorrow".into(),
            rows: vec![
                ListRow {
                    id: "slot_3pm".into(),
                    title: "3:00 PM".into(),
                    description: Some("Afternoon".into()),
                },
                ListRow {
                    id: "slot_5pm".into(),
                    title: "5:00 PM".into(),
                    description: Some("  ".into()),
                },
            ],
        };
        let r = build_list(
            GRAPH_BASE_URL,
            "v25.0",
            "1",
            "t",
            "16505551234",
            &list,
            Some("wamid.X"),
        )
        .unwrap();
        assert_eq!(body(&r)["context"], json!({"message_id": "wamid.X"}));
        assert_eq!(
            body(&r)["interactive"]["action"]["sections"][0]["rows"],
            json!([{"id":"slot_3pm","title":"3:00 PM","description":"Afternoon"},
                   {"id":"slot_5pm","title":"5:00 PM"}])
        );
    }

    #[test]
    fn list_refusals() {
        let good = csat_list(None);
        let refused = |change: &dyn Fn(&mut ListMessage)| {
            let mut list = good.clone();
            change(&mut list);
            list_payload(&list).unwrap_err()
        };
        assert!(matches!(
            refused(&|l| l.body = "x".repeat(1025)),
            BuildError::TooLong { limit: 1024, .. }
        ));
        assert!(matches!(
            refused(&|l| l.button = "x".repeat(21)),
            BuildError::TooLong { limit: 20, .. }
        ));
        assert!(matches!(
            refused(&|l| l.section_title = "x".repeat(25)),
            BuildError::TooLong { limit: 24, .. }
        ));
        assert!(matches!(
            refused(&|l| l.rows[0].title = "x".repeat(25)),
            BuildError::TooLong { limit: 24, .. }
        ));
        assert!(matches!(
            refused(&|l| l.rows[0].id = "x".repeat(201)),
            BuildError::TooLong { limit: 200, .. }
        ));
        assert!(matches!(
            refused(&|l| l.rows[0].description = Some("x".repeat(73))),
            BuildError::TooLong { limit: 72, .. }
        ));
        assert!(matches!(
            refused(&|l| l.rows[1].id = "csat_5".into()),
            BuildError::Invalid(m) if m.contains("twice")
        ));
        assert!(refused(&|l| l.rows.clear())
            .to_string()
            .contains("1 to 10 rows"));
        assert!(refused(&|l| {
            let row = l.rows[0].clone();
            l.rows = (0..11)
                .map(|i| ListRow {
                    id: format!("r{i}"),
                    ..row.clone()
                })
                .collect();
        })
        .to_string()
        .contains("not 11"));
        assert!(matches!(
            refused(&|l| l.body = " ".into()),
            BuildError::Invalid(_)
        ));
        assert!(matches!(
            refused(&|l| l.rows[2].title = "".into()),
            BuildError::Invalid(_)
        ));
        // Limits count characters, not bytes: 24 stars and accents are fine.
        let mut wide = good.clone();
        wide.rows[0].title = "⭐".repeat(24);
        wide.button = "é".repeat(20);
        assert!(list_payload(&wide).is_ok());
        assert!(build_list(
            GRAPH_BASE_URL,
            "v25.0",
            "1",
            "t",
            "not a number",
            &good,
            None
        )
        .is_err());
    }

    /// A tap on the survey's `csat_4` row arrives as an interactive reply carrying the row's
    /// id, and that id is what makes it a rating.
    #[test]
    fn csat_list_reply_reaches_the_rating_parser() {
        let notification = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"209876543210987"},
            "contacts":[{"profile":{"name":"Ana Ruiz"},"wa_id":"34612345678"}],
            "messages":[{"context":{"from":"15550001111","id":"wamid.CSAT1"},"from":"34612345678","id":"wamid.R1","timestamp":"1749416401","type":"interactive",
                         "interactive":{"type":"list_reply","list_reply":{"id":"csat_4","title":"⭐⭐⭐⭐ Good"}}}]}}]}]}"#;
        let events = parse_notification(notification.as_bytes()).unwrap();
        let m = message(&events[0]);
        assert_eq!(m.reply_to.as_deref(), Some("wamid.CSAT1"));
        let Content::InteractiveReply { id, title } = &m.contents[0] else {
            panic!("{:?}", m.contents);
        };
        assert_eq!((id.as_str(), title.as_str()), ("csat_4", "⭐⭐⭐⭐ Good"));
        assert_eq!(
            csat::parse_rating(title, Some(id)).map(CsatScore::get),
            Some(4)
        );
        // The id decides, whatever the title says.
        assert_eq!(
            csat::parse_rating("Excellent", Some(id)).map(CsatScore::get),
            Some(4)
        );
        // Another list's reply is not a rating.
        let ev = events_of_list_reply("slot_3pm", "3:00 PM");
        let Content::InteractiveReply { id, title } = &message(&ev[0]).contents[0] else {
            panic!();
        };
        assert_eq!(csat::parse_rating(title, Some(id)), None);
    }

    fn events_of_list_reply(id: &str, title: &str) -> Vec<WebhookEvent> {
        let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "metadata":{"phone_number_id":"2"},
            "messages":[{"from":"34612345678","id":"wamid.R2","timestamp":"1","type":"interactive",
                         "interactive":{"type":"list_reply","list_reply":{"id":id,"title":title}}}]}}]}]});
        parse_notification(body.to_string().as_bytes()).unwrap()
    }

    // --- send responses ------------------------------------------------------------------------

    #[test]
    fn accepted_send() {
        let ok = br#"{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA","message_status":"accepted"}]}"#;
        assert_eq!(
            classify_send_response(200, ok),
            SendOutcome::Accepted {
                provider_message_id: "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
                    .into()
            }
        );
        let held = br#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.H","message_status":"held_for_quality_assessment"}]}"#;
        assert!(matches!(
            classify_send_response(200, held),
            SendOutcome::Accepted { .. }
        ));
        assert!(matches!(
            classify_send_response(200, br#"{"messages":[]}"#),
            SendOutcome::Failed { error } if error.code == "invalid_response"
        ));
    }

    fn graph_error(code: i64, message: &str) -> Vec<u8> {
        json!({"error":{"message":message,"type":"OAuthException","code":code,
                        "error_data":{"messaging_product":"whatsapp","details":"details here"},
                        "fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn window_error_131047_fails_with_its_title() {
        let body = graph_error(131047, "(#131047) Re-engagement message");
        match classify_send_response(400, &body) {
            SendOutcome::Failed { error } => {
                assert_eq!(error.to_string(), "131047: Re-engagement message");
                assert_eq!(error.detail.as_deref(), Some("details here"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_error_classification() {
        let retry = |code: i64, status: u16, after: Option<u64>| {
            let got = classify_send_response(status, &graph_error(code, "x"));
            match got {
                SendOutcome::Retry { after: a, reason } => {
                    assert_eq!(a, after.map(Duration::from_secs), "{code}");
                    assert!(reason.starts_with(&code.to_string()), "{reason}");
                }
                other => panic!("{code} should retry: {other:?}"),
            }
        };
        retry(130429, 400, Some(1));
        retry(131056, 400, Some(6));
        retry(4, 400, Some(60));
        retry(80007, 400, Some(60));
        for code in [1, 2, 131000, 131016, 133004] {
            retry(code, 500, None);
        }
        // Unknown code on a 5xx or 429: retry.
        retry(987654, 503, None);
        retry(987654, 429, None);

        for code in [
            0, 3, 10, 100, 190, 200, 299, 368, 470, 131008, 131009, 131021, 131026, 131047, 131048,
            131049, 131051, 132000, 132001, 132012, 133010, 987654,
        ] {
            let got = classify_send_response(400, &graph_error(code, "x"));
            assert!(
                matches!(&got, SendOutcome::Failed { error } if error.code == code.to_string()),
                "{code} should fail: {got:?}"
            );
        }
        // A permanent code stays permanent even on a 500.
        assert!(matches!(
            classify_send_response(500, &graph_error(131047, "x")),
            SendOutcome::Failed { .. }
        ));
        // is_transient overrides an unknown code.
        let transient = br#"{"error":{"message":"try later","code":555555,"is_transient":true}}"#;
        assert!(matches!(
            classify_send_response(400, transient),
            SendOutcome::Retry { .. }
        ));
        // No Graph body at all.
        assert!(matches!(
            classify_send_response(502, b"<html>"),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify_send_response(401, b""),
            SendOutcome::Failed { error } if error.code == "http_401"
        ));
    }

    // --- media download ---------------------------------------------------------------------------

    #[test]
    fn two_step_media_download() {
        let r = media_download_request(GRAPH_BASE_URL, "v25.0", "1003383421387256", "EAAtoken");
        assert_eq!(r.method, "GET");
        assert_eq!(r.url, "https://graph.facebook.com/v25.0/1003383421387256");
        assert_eq!(r.header("Authorization"), Some("Bearer EAAtoken"));
        assert_eq!(r.body, RequestBody::Empty);
        assert_eq!(r.header("Content-Type"), None);

        let answer = br#"{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1691146096&hash=ATuY","mime_type":"image/jpeg","sha256":"8dVO8dsyu0xKsuLBbzYlGyeddGWh1Lq1kQtbd8yAy6M=","file_size":"303833","id":"1003383421387256"}"#;
        let loc = parse_media_url_response(answer).unwrap();
        assert_eq!(
            loc,
            MediaLocation {
                url: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1691146096&hash=ATuY".into(),
                mime_type: Some("image/jpeg".into()),
                sha256: Some("8dVO8dsyu0xKsuLBbzYlGyeddGWh1Lq1kQtbd8yAy6M=".into()),
                file_size: Some(303833),
            }
        );
        let fetch = media_fetch_request(&loc.url, "EAAtoken");
        assert_eq!(fetch.method, "GET");
        assert_eq!(fetch.url, loc.url);
        assert_eq!(fetch.header("Authorization"), Some("Bearer EAAtoken"));

        assert_eq!(
            parse_media_url_response(br#"{"url":"https://x","file_size":12}"#)
                .unwrap()
                .file_size,
            Some(12)
        );
        assert_eq!(
            parse_media_url_response(br#"{"id":"1"}"#).unwrap_err(),
            ParseError::Missing("url".into())
        );
        assert!(parse_media_url_response(br#"{"url":"https://x","file_size":"big"}"#).is_err());
        assert!(parse_media_url_response(b"<html>").is_err());
    }
}
