//! Messenger and Instagram messaging: webhooks in, the Send API out, and the window rules
//! that decide whether (and how) a reply may be sent.
//!
//! Both products share one webhook shape (`entry[].messaging[]`, timestamps in
//! milliseconds), the `hub.*` handshake and the `X-Hub-Signature-256` header (see
//! [`super::hub_signature`]), and one Send API. This module also holds the Graph API error
//! parsing that the WhatsApp Cloud API (also a Graph API) uses.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::normalized::{
    check_len, check_not_blank, join_url, parse_json, unix_millis, At, BuildError, Content,
    InboundContact, InboundMessage, MediaKind, MediaSource, Network, OutboundContent, ParseError,
    ProviderError, ProviderRequest, RequestBody, SendOutcome, StatusUpdate, WebhookEvent,
};
use crate::domain::{
    delivery::DeliveryStatus,
    referral::{Referral, ReferralKind},
    window::Allowed,
};

pub use super::hub_signature::{
    sign, verify as verify_signature, verify_handshake, HandshakeError, SignatureError,
    SIGNATURE_HEADER,
};

/// Where the Graph API lives; configurable so tests can point at a local stand-in.
pub const GRAPH_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version Meta's current examples use.
pub const DEFAULT_GRAPH_VERSION: &str = "v25.0";
/// Longest Messenger text, in characters (Instagram's limit is 1,000 bytes, and Meta
/// refuses longer ones with its own error).
pub const MAX_TEXT_CHARS: usize = 2000;

// ---------------------------------------------------------------------------------------
// Windows

/// How a reply is labelled in the Send API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagingType {
    /// `"messaging_type": "RESPONSE"`: inside the standard 24-hour window.
    Response,
    /// `"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"`: a person answering within 7
    /// days. Never for automated replies: Meta restricts pages that misuse it.
    HumanAgent,
}

impl MessagingType {
    /// The label of a free-form reply the window allows (see [`crate::domain::window`]):
    /// past the 24 hours only a person answers, and says so with the `HUMAN_AGENT` tag.
    pub fn of(allowed: Allowed) -> MessagingType {
        match allowed {
            Allowed::AgentWindow => MessagingType::HumanAgent,
            Allowed::Always | Allowed::InWindow => MessagingType::Response,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Webhooks

/// Parses a Messenger (`"object": "page"`) or Instagram (`"object": "instagram"`) webhook.
///
/// Every `entry[].messaging[]` (and `standby[]`, used while another app owns the thread)
/// event becomes, in order:
/// - `message` → [`WebhookEvent::Message`], or [`WebhookEvent::Echo`] when `is_echo` (a
///   message the Page sent, perhaps from another tool);
/// - `delivery` → a `Delivered` [`WebhookEvent::Status`] per listed `mid`, then a
///   `Delivered` [`WebhookEvent::Watermark`] (applying both is harmless: statuses only move
///   forward);
/// - `read` → a `Read` watermark (Messenger) or a `Read` status for its `mid` (Instagram);
/// - `postback` (a button tap) → a message holding an [`Content::InteractiveReply`];
/// - `referral` alone (`messaging_referrals`: a person with an existing thread opened it from
///   an m.me / ig.me link or an ad) → [`WebhookEvent::Referral`]; a `referral` on a message
///   or a postback (Get Started, a new thread) travels on that message instead;
/// - anything else (reactions, opt-ins…) → [`WebhookEvent::Skipped`].
pub fn parse_webhook(body: &[u8]) -> Result<Vec<WebhookEvent>, ParseError> {
    let v = parse_json(body)?;
    let root = At::root(&v);
    let network = match root.req_str("object")? {
        "page" => Network::Messenger,
        "instagram" => Network::Instagram,
        other => {
            return Err(ParseError::invalid(
                "object",
                format!("is `{other}`; expected `page` or `instagram`"),
            ))
        }
    };
    let mut events = Vec::new();
    for entry in root.req_array("entry")? {
        let mut items = entry.opt_array("messaging")?;
        items.extend(entry.opt_array("standby")?);
        if items.is_empty() && entry.get("changes").is_some() {
            events.push(WebhookEvent::Skipped {
                reason: format!("`{}.changes` (feed or comments) is not handled", entry.path),
            });
        }
        for item in &items {
            events.extend(parse_messaging(network, item)?);
        }
    }
    Ok(events)
}

fn parse_messaging(network: Network, ev: &At<'_>) -> Result<Vec<WebhookEvent>, ParseError> {
    let sender = ev.req("sender")?.req_id("id")?;
    let recipient = ev.req("recipient")?.req_id("id")?;
    let at = unix_millis(&ev.req("timestamp")?)?;
    let ids = Ids {
        network,
        sender,
        recipient,
        at,
    };
    if let Some(msg) = ev.get("message") {
        let mut event = message_event(&ids, &msg)?;
        if let WebhookEvent::Message(m) = &mut event {
            // On the message (Meta's examples), or beside it (older payloads).
            let r = msg.get("referral").or_else(|| ev.get("referral"));
            m.referral = r.and_then(|r| referral(network, &r));
        }
        return Ok(vec![event]);
    }
    if let Some(delivery) = ev.get("delivery") {
        return delivery_events(&ids, &delivery);
    }
    if let Some(read) = ev.get("read") {
        return Ok(vec![read_event(&ids, &read)?]);
    }
    if let Some(postback) = ev.get("postback") {
        return Ok(vec![postback_event(&ids, &postback)?]);
    }
    if let Some(r) = ev.get("referral") {
        return Ok(vec![match referral(network, &r) {
            Some(referral) => WebhookEvent::Referral {
                event_key: format!(
                    "{}:{}:{}:{}",
                    network.as_str(),
                    ids.recipient,
                    ids.sender,
                    ids.at.and_utc().timestamp_millis()
                ),
                contact_external_id: ids.sender,
                business_id: Some(ids.recipient),
                referral,
                at: ids.at,
            },
            None => WebhookEvent::Skipped {
                reason: format!("`{}.referral` is not an object", ev.path),
            },
        }]);
    }
    let kinds: Vec<&str> =
        ev.v.as_object()
            .map(|o| {
                o.keys()
                    .map(String::as_str)
                    .filter(|k| !matches!(*k, "sender" | "recipient" | "timestamp"))
                    .collect()
            })
            .unwrap_or_default();
    Ok(vec![WebhookEvent::Skipped {
        reason: format!("`{}` is a `{}` event", ev.path, kinds.join("`, `")),
    }])
}

/// A Messenger / Instagram `referral` object: `{ref, source, type, ad_id?,
/// ads_context_data?: {ad_title, photo_url, video_url, post_id, product_id}, referer_uri?}`.
/// Read leniently (a malformed field is left out): attribution never costs a message.
fn referral(network: Network, r: &At<'_>) -> Option<Referral> {
    if !r.v.is_object() {
        return None;
    }
    let source = r.loose("source");
    let ad_id = r.loose("ad_id");
    let mut out = Referral::new(ReferralKind::of_meta(
        network,
        source.as_deref(),
        ad_id.is_some(),
    ));
    out.source_type = source;
    out.source_id = ad_id;
    out.ref_param = r.loose("ref");
    // The chat plugin's page.
    out.page_url = r.loose("referer_uri");
    if let Some(kind) = r.loose("type") {
        out.extra.insert("type".into(), kind.into());
    }
    if let Some(ads) = r.get("ads_context_data").filter(|a| a.v.is_object()) {
        out.headline = ads.loose("ad_title");
        out.image_url = ads.loose("photo_url");
        out.video_url = ads.loose("video_url");
        out.media_type = match (&out.video_url, &out.image_url) {
            (Some(_), _) => Some("video".to_owned()),
            (None, Some(_)) => Some("image".to_owned()),
            _ => None,
        };
        out.extra.insert("ads_context_data".into(), ads.v.clone());
    }
    Some(out)
}

/// Who and when, common to every messaging event.
struct Ids {
    network: Network,
    sender: String,
    recipient: String,
    at: NaiveDateTime,
}

impl Ids {
    fn contact(&self) -> InboundContact {
        InboundContact {
            external_id: self.sender.clone(),
            name: None,
            phone: None,
            email: None,
        }
    }
}

fn message_event(ids: &Ids, msg: &At<'_>) -> Result<WebhookEvent, ParseError> {
    let mid = msg.req_str("mid")?.to_owned();
    let text = msg.opt_str("text")?.filter(|t| !t.is_empty());
    if msg.opt_bool("is_echo")? == Some(true) {
        return Ok(WebhookEvent::Echo {
            provider_message_id: mid,
            recipient: ids.recipient.clone(),
            text: text.map(str::to_owned),
            at: ids.at,
            business_id: Some(ids.sender.clone()),
        });
    }
    if msg.opt_bool("is_deleted")? == Some(true) {
        return Ok(WebhookEvent::Skipped {
            reason: format!("message {mid} was deleted by the sender"),
        });
    }
    let mut contents = Vec::new();
    let quick_reply = msg
        .get("quick_reply")
        .map(|q| q.req_str("payload"))
        .transpose()?;
    match (text, quick_reply) {
        (Some(t), Some(payload)) => contents.push(Content::InteractiveReply {
            id: payload.to_owned(),
            title: t.to_owned(),
        }),
        (Some(t), None) => contents.push(Content::Text { body: t.to_owned() }),
        (None, Some(payload)) => contents.push(Content::InteractiveReply {
            id: payload.to_owned(),
            title: payload.to_owned(),
        }),
        (None, None) => {}
    }
    for a in msg.opt_array("attachments")? {
        contents.push(attachment(&a)?);
    }
    if contents.is_empty() {
        let kind = if msg.opt_bool("is_unsupported")? == Some(true) {
            "unsupported"
        } else {
            "empty"
        };
        contents.push(Content::Unsupported {
            kind: kind.to_owned(),
        });
    }
    let reply_to = match msg.get("reply_to") {
        Some(r) => r.opt_str("mid")?.map(str::to_owned),
        None => None,
    };
    Ok(WebhookEvent::Message(InboundMessage {
        provider_message_id: mid,
        network: ids.network,
        contact: ids.contact(),
        sent_at: ids.at,
        contents,
        business_id: Some(ids.recipient.clone()),
        reply_to,
        referral: None,
    }))
}

/// One `message.attachments[]` element. Media need `payload.url`; other types (shared
/// posts, story mentions, reels, fallbacks) are kept as `Unsupported` with their type.
fn attachment(a: &At<'_>) -> Result<Content, ParseError> {
    let kind = a.req_str("type")?;
    let payload = a.get("payload");
    let media_kind = match kind {
        "image" => {
            let sticker = payload
                .as_ref()
                .is_some_and(|p| p.get("sticker_id").is_some());
            Some(if sticker {
                MediaKind::Sticker
            } else {
                MediaKind::Image
            })
        }
        "video" => Some(MediaKind::Video),
        "audio" => Some(MediaKind::Audio),
        "file" => Some(MediaKind::Document),
        _ => None,
    };
    if let Some(kind) = media_kind {
        let payload = a.req("payload")?;
        return Ok(Content::Media {
            kind,
            source: MediaSource::Url(payload.req_str("url")?.to_owned()),
            mime_type: None,
            caption: None,
            filename: None,
        });
    }
    if kind == "location" {
        let coords = a.req("payload")?.req("coordinates")?;
        return Ok(Content::Location {
            latitude: coords.req_f64("lat")?,
            longitude: coords.req_f64("long")?,
            name: a.opt_str("title")?.map(str::to_owned),
            address: None,
        });
    }
    Ok(Content::Unsupported {
        kind: kind.to_owned(),
    })
}

fn delivery_events(ids: &Ids, d: &At<'_>) -> Result<Vec<WebhookEvent>, ParseError> {
    let watermark = unix_millis(&d.req("watermark")?)?;
    let mut events = Vec::new();
    for mid in d.opt_array("mids")? {
        events.push(WebhookEvent::Status(StatusUpdate {
            provider_message_id: mid.as_str()?.to_owned(),
            status: DeliveryStatus::Delivered,
            at: Some(watermark),
            error: None,
            recipient: Some(ids.sender.clone()),
            callback_data: None,
        }));
    }
    events.push(WebhookEvent::Watermark {
        contact_external_id: ids.sender.clone(),
        business_id: Some(ids.recipient.clone()),
        status: DeliveryStatus::Delivered,
        watermark,
    });
    Ok(events)
}

fn read_event(ids: &Ids, r: &At<'_>) -> Result<WebhookEvent, ParseError> {
    if let Some(w) = r.get("watermark") {
        return Ok(WebhookEvent::Watermark {
            contact_external_id: ids.sender.clone(),
            business_id: Some(ids.recipient.clone()),
            status: DeliveryStatus::Read,
            watermark: unix_millis(&w)?,
        });
    }
    if let Some(mid) = r.opt_str("mid")? {
        return Ok(WebhookEvent::Status(StatusUpdate {
            provider_message_id: mid.to_owned(),
            status: DeliveryStatus::Read,
            at: Some(ids.at),
            error: None,
            recipient: Some(ids.sender.clone()),
            callback_data: None,
        }));
    }
    Err(ParseError::Missing(format!("{}.watermark", r.path)))
}

/// A button tap. Older postbacks have no `mid`; the id is then made from the sender and the
/// millisecond timestamp, which a retried webhook repeats, so it still deduplicates.
fn postback_event(ids: &Ids, p: &At<'_>) -> Result<WebhookEvent, ParseError> {
    let payload = p.req_str("payload")?;
    let title = p.opt_str("title")?.unwrap_or(payload);
    let id = match p.opt_str("mid")? {
        Some(mid) => mid.to_owned(),
        None => format!(
            "postback:{}:{}",
            ids.sender,
            ids.at.and_utc().timestamp_millis()
        ),
    };
    Ok(WebhookEvent::Message(InboundMessage {
        provider_message_id: id,
        network: ids.network,
        contact: ids.contact(),
        sent_at: ids.at,
        contents: vec![Content::InteractiveReply {
            id: payload.to_owned(),
            title: title.to_owned(),
        }],
        business_id: Some(ids.recipient.clone()),
        reply_to: None,
        // Get Started on a new thread from an m.me / ig.me link or an ad.
        referral: p.get("referral").and_then(|r| referral(ids.network, &r)),
    }))
}

// ---------------------------------------------------------------------------------------
// Sending

/// Messenger attachments cannot carry a caption: this turns a captioned media item into
/// the media followed by its caption as a text, and passes anything else through.
pub fn split_caption(content: &OutboundContent) -> Vec<OutboundContent> {
    match content {
        OutboundContent::Media {
            kind,
            url,
            caption: Some(caption),
            filename,
        } if !caption.trim().is_empty() => vec![
            OutboundContent::Media {
                kind: *kind,
                url: url.clone(),
                caption: None,
                filename: filename.clone(),
            },
            OutboundContent::Text {
                body: caption.clone(),
            },
        ],
        other => vec![other.clone()],
    }
}

/// Builds `POST {base}/{version}/{page_id_or_me}/messages` for the Send API (the page id,
/// the Instagram account id, or `me`).
///
/// The page token goes in the `Authorization: Bearer` header, which the Graph API accepts
/// like the `access_token` query parameter, so that it never appears in a URL (URLs end up
/// in logs and in error messages). `messaging_type` comes from [`MessagingType::of`].
/// Templates cannot be sent here, and captions must be split off first
/// ([`split_caption`]).
pub fn build_send(
    base_url: &str,
    version: &str,
    page_id_or_me: &str,
    page_access_token: &str,
    recipient_id: &str,
    content: &OutboundContent,
    messaging_type: MessagingType,
) -> Result<ProviderRequest, BuildError> {
    if recipient_id.trim().is_empty() {
        return Err(BuildError::Invalid("the recipient id is empty".into()));
    }
    let message = send_message(content)?;
    let mut body = json!({
        "recipient": {"id": recipient_id},
        "messaging_type": match messaging_type {
            MessagingType::Response => "RESPONSE",
            MessagingType::HumanAgent => "MESSAGE_TAG",
        },
        "message": message,
    });
    if messaging_type == MessagingType::HumanAgent {
        if let Some(obj) = body.as_object_mut() {
            obj.insert("tag".to_owned(), json!("HUMAN_AGENT"));
        }
    }
    Ok(ProviderRequest::new(
        "POST",
        join_url(base_url, &[version, page_id_or_me, "messages"]),
        format!("Bearer {page_access_token}"),
        RequestBody::Json(body),
    ))
}

fn send_message(content: &OutboundContent) -> Result<Value, BuildError> {
    match content {
        OutboundContent::Text { body } => {
            check_not_blank("the message text", body)?;
            check_len("the message text", body, MAX_TEXT_CHARS)?;
            Ok(json!({ "text": body }))
        }
        OutboundContent::Media {
            kind, url, caption, ..
        } => {
            check_not_blank("the media URL", url)?;
            if caption.as_deref().is_some_and(|c| !c.trim().is_empty()) {
                return Err(BuildError::Unsupported(
                    "Messenger and Instagram attachments cannot carry a caption; send it as a \
                     separate text (see meta::split_caption)"
                        .into(),
                ));
            }
            let kind = match kind {
                MediaKind::Image | MediaKind::Sticker => "image",
                MediaKind::Video => "video",
                MediaKind::Audio | MediaKind::Voice => "audio",
                MediaKind::Document => "file",
            };
            Ok(json!({ "attachment": { "type": kind, "payload": { "url": url } } }))
        }
        OutboundContent::Template { .. } => Err(BuildError::Unsupported(
            "Messenger and Instagram have no approved-template messages; outside the window \
             only a human agent can reply (HUMAN_AGENT tag, 7 days)"
                .into(),
        )),
        OutboundContent::List(_) => Err(BuildError::Unsupported(
            "interactive lists are sent through the WhatsApp Cloud API only; send text".into(),
        )),
    }
}

/// Classifies the Send API's answer.
///
/// - 200 with `message_id`: accepted.
/// - Rate limits (Graph codes 4, 17, 32, 613, 80006): retry after a minute.
/// - Temporary failures (codes 1, 2, 1200, or `is_transient`), and 5xx / 429 without a
///   known permanent code: retry.
/// - Everything else fails, notably code 10 / subcode 2018278 (outside the allowed window),
///   551 (person unavailable), 100 (bad parameter or unknown user), 190 (token expired),
///   200 (permissions).
pub fn classify_send_response(status: u16, body: &[u8]) -> SendOutcome {
    if (200..300).contains(&status) {
        return accepted_id(body, "message_id", status);
    }
    let Some(err) = parse_graph_error(body) else {
        return classify_by_status(status, body);
    };
    match err.code {
        Some(4 | 17 | 32 | 613 | 80006) => err.retry(Some(Duration::from_secs(60))),
        Some(1 | 2 | 1200) => err.retry(None),
        _ if err.is_transient => err.retry(None),
        Some(10 | 100 | 190 | 200 | 551) => err.fail(),
        _ if status >= 500 || status == 429 => err.retry(None),
        _ => err.fail(),
    }
}

/// `Accepted` with the id at `key`, or a failure saying the answer made no sense.
pub(crate) fn accepted_id(body: &[u8], key: &str, status: u16) -> SendOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let id = json
        .as_ref()
        .and_then(|j| j.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match id {
        Some(id) => SendOutcome::Accepted {
            provider_message_id: id.to_owned(),
        },
        None => SendOutcome::Failed {
            error: ProviderError {
                code: "invalid_response".to_owned(),
                title: format!("the provider answered {status} without `{key}`"),
                detail: Some(String::from_utf8_lossy(body).chars().take(200).collect()),
            },
        },
    }
}

/// For answers without a Graph error body (a proxy's 502 page, an empty 503).
pub(crate) fn classify_by_status(status: u16, body: &[u8]) -> SendOutcome {
    if status >= 500 || matches!(status, 408 | 429) {
        SendOutcome::Retry {
            after: None,
            reason: format!("HTTP {status}"),
        }
    } else {
        SendOutcome::Failed {
            error: ProviderError {
                code: format!("http_{status}"),
                title: format!("the provider answered HTTP {status}"),
                detail: Some(String::from_utf8_lossy(body).chars().take(200).collect())
                    .filter(|s: &String| !s.is_empty()),
            },
        }
    }
}

/// A Graph API error body: `{"error": {"message", "type", "code", "error_subcode",
/// "error_data": {"details"}, "error_user_title", "is_transient", "fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
    pub details: Option<String>,
    pub is_transient: bool,
}

pub(crate) fn parse_graph_error(body: &[u8]) -> Option<GraphError> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    let text = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let details = e
        .get("error_data")
        .and_then(|d| d.get("details"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| text("error_user_msg"));
    Some(GraphError {
        code: e.get("code").and_then(Value::as_i64),
        subcode: e.get("error_subcode").and_then(Value::as_i64),
        message: text("message")
            .or_else(|| text("error_user_title"))
            .unwrap_or_default(),
        details,
        is_transient: e
            .get("is_transient")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

impl GraphError {
    /// Code as `code` or `code/subcode`; title without Graph's `(#code) ` prefix.
    pub fn provider_error(&self) -> ProviderError {
        let code = match (self.code, self.subcode) {
            (Some(c), Some(s)) => format!("{c}/{s}"),
            (Some(c), None) => c.to_string(),
            (None, _) => "graph".to_owned(),
        };
        let title = strip_code_prefix(&self.message);
        ProviderError {
            code,
            title: if title.is_empty() {
                "Graph API error".to_owned()
            } else {
                title.to_owned()
            },
            detail: self.details.clone(),
        }
    }

    pub fn retry(&self, after: Option<Duration>) -> SendOutcome {
        SendOutcome::Retry {
            after,
            reason: self.provider_error().to_string(),
        }
    }

    pub fn fail(&self) -> SendOutcome {
        SendOutcome::Failed {
            error: self.provider_error(),
        }
    }
}

/// `"(#131047) Re-engagement message"` → `"Re-engagement message"`.
fn strip_code_prefix(message: &str) -> &str {
    let m = message.trim();
    if let Some(rest) = m.strip_prefix("(#") {
        if let Some((code, title)) = rest.split_once(')') {
            if code.bytes().all(|b| b.is_ascii_digit()) {
                return title.trim();
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(h: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 5, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::hours(h)
    }

    fn ms(dt: NaiveDateTime) -> i64 {
        dt.and_utc().timestamp_millis()
    }

    // --- windows -----------------------------------------------------------------------------

    #[test]
    fn only_the_agent_window_is_tagged_human_agent() {
        assert_eq!(
            MessagingType::of(Allowed::InWindow),
            MessagingType::Response
        );
        assert_eq!(MessagingType::of(Allowed::Always), MessagingType::Response);
        assert_eq!(
            MessagingType::of(Allowed::AgentWindow),
            MessagingType::HumanAgent
        );
    }

    // --- webhooks ------------------------------------------------------------------------------

    const PAGE: &str = "104234567890123";
    const PSID: &str = "6543210987654321";

    fn messenger_batch() -> String {
        let ts = ms(t(1));
        format!(
            r#"{{"object":"page","entry":[
              {{"id":"{PAGE}","time":{ts},"messaging":[
                {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                  "message":{{"mid":"m_text1","text":"Do you ship to Lisbon?","nlp":{{"entities":{{}}}}}}}},
                {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                  "message":{{"mid":"m_att1","attachments":[
                    {{"type":"image","payload":{{"url":"https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=1"}}}},
                    {{"type":"file","payload":{{"url":"https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf"}}}},
                    {{"type":"image","payload":{{"url":"https://scontent.xx.fbcdn.net/v/sticker.png","sticker_id":369239263222822}}}},
                    {{"type":"fallback","payload":null,"title":"A shared link","URL":"https://example.com"}}
                  ]}}}},
                {{"sender":{{"id":"{PAGE}"}},"recipient":{{"id":"{PSID}"}},"timestamp":{ts},
                  "message":{{"mid":"m_echo1","is_echo":true,"app_id":1517776481860111,"text":"Yes, we do!"}}}},
                {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                  "delivery":{{"mids":["m_echo1","m_out2"],"watermark":{ts},"seq":37}}}},
                {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                  "read":{{"watermark":{ts},"seq":38}}}}
              ]}},
              {{"id":"{PAGE}","time":{ts},"messaging":[
                {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                  "message":{{"mid":"m_qr1","text":"Track my order","quick_reply":{{"payload":"TRACK_ORDER"}},"reply_to":{{"mid":"m_echo1"}}}}}},
                {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                  "reaction":{{"mid":"m_echo1","action":"react","reaction":"love","emoji":"❤"}}}}
              ]}}
            ]}}"#
        )
    }

    #[test]
    fn messenger_text_attachments_echo_delivery_read() {
        let events = parse_webhook(messenger_batch().as_bytes()).unwrap();
        assert_eq!(events.len(), 9, "{events:#?}");

        let WebhookEvent::Message(m) = &events[0] else {
            panic!("{:?}", events[0])
        };
        assert_eq!(m.provider_message_id, "m_text1");
        assert_eq!(m.network, Network::Messenger);
        assert_eq!(m.contact.external_id, PSID);
        assert_eq!(m.business_id.as_deref(), Some(PAGE));
        assert_eq!(m.sent_at, t(1));
        assert_eq!(
            m.contents,
            vec![Content::Text {
                body: "Do you ship to Lisbon?".into()
            }]
        );

        let WebhookEvent::Message(m) = &events[1] else {
            panic!("{:?}", events[1])
        };
        let kinds: Vec<_> = m
            .contents
            .iter()
            .map(|c| match c {
                Content::Media { kind, .. } => kind.as_str().to_owned(),
                Content::Unsupported { kind } => format!("unsupported:{kind}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            ["image", "document", "sticker", "unsupported:fallback"]
        );
        assert!(
            matches!(&m.contents[1], Content::Media { source: MediaSource::Url(u), .. } if u.ends_with("invoice.pdf"))
        );

        assert_eq!(
            events[2],
            WebhookEvent::Echo {
                provider_message_id: "m_echo1".into(),
                recipient: PSID.into(),
                text: Some("Yes, we do!".into()),
                at: t(1),
                business_id: Some(PAGE.into()),
            }
        );
        for (i, mid) in [(3, "m_echo1"), (4, "m_out2")] {
            assert_eq!(
                events[i],
                WebhookEvent::Status(StatusUpdate {
                    provider_message_id: mid.into(),
                    status: DeliveryStatus::Delivered,
                    at: Some(t(1)),
                    error: None,
                    recipient: Some(PSID.into()),
                    callback_data: None,
                })
            );
        }
        assert_eq!(
            events[5],
            WebhookEvent::Watermark {
                contact_external_id: PSID.into(),
                business_id: Some(PAGE.into()),
                status: DeliveryStatus::Delivered,
                watermark: t(1),
            }
        );
        assert!(matches!(
            &events[6],
            WebhookEvent::Watermark {
                status: DeliveryStatus::Read,
                ..
            }
        ));

        let WebhookEvent::Message(m) = &events[7] else {
            panic!("{:?}", events[7])
        };
        assert_eq!(
            m.contents,
            vec![Content::InteractiveReply {
                id: "TRACK_ORDER".into(),
                title: "Track my order".into()
            }]
        );
        assert_eq!(m.reply_to.as_deref(), Some("m_echo1"));
        assert!(
            matches!(&events[8], WebhookEvent::Skipped { reason } if reason.contains("reaction"))
        );
    }

    #[test]
    fn instagram_message_and_seen() {
        let ts = ms(t(2));
        let body = format!(
            r#"{{"object":"instagram","entry":[{{"time":{ts},"id":"17841400000000000","messaging":[
              {{"sender":{{"id":"1234567890123456"}},"recipient":{{"id":"17841400000000000"}},"timestamp":{ts},
                "message":{{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx","text":"Is this still available? 😍"}}}},
              {{"sender":{{"id":"1234567890123456"}},"recipient":{{"id":"17841400000000000"}},"timestamp":{ts},
                "message":{{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy","attachments":[{{"type":"story_mention","payload":{{"url":"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}}}]}}}},
              {{"sender":{{"id":"1234567890123456"}},"recipient":{{"id":"17841400000000000"}},"timestamp":{ts},
                "read":{{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3OTAw"}}}},
              {{"sender":{{"id":"1234567890123456"}},"recipient":{{"id":"17841400000000000"}},"timestamp":{ts},
                "message":{{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx","is_deleted":true}}}}
            ]}}]}}"#
        );
        let events = parse_webhook(body.as_bytes()).unwrap();
        assert_eq!(events.len(), 4);
        let WebhookEvent::Message(m) = &events[0] else {
            panic!("{:?}", events[0])
        };
        assert_eq!(m.network, Network::Instagram);
        assert_eq!(m.contact.external_id, "1234567890123456");
        assert_eq!(m.business_id.as_deref(), Some("17841400000000000"));
        assert_eq!(m.summary(), "Is this still available? 😍");
        let WebhookEvent::Message(m) = &events[1] else {
            panic!("{:?}", events[1])
        };
        assert_eq!(
            m.contents,
            vec![Content::Unsupported {
                kind: "story_mention".into()
            }]
        );
        assert_eq!(
            events[2],
            WebhookEvent::Status(StatusUpdate {
                provider_message_id: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3OTAw".into(),
                status: DeliveryStatus::Read,
                at: Some(t(2)),
                error: None,
                recipient: Some("1234567890123456".into()),
                callback_data: None,
            })
        );
        assert!(
            matches!(&events[3], WebhookEvent::Skipped { reason } if reason.contains("deleted"))
        );
    }

    #[test]
    fn postbacks_locations_and_standby() {
        let ts = ms(t(3));
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":{ts},
              "messaging":[{{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                "postback":{{"title":"Talk to a person","payload":"HUMAN"}}}}],
              "standby":[{{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                "message":{{"mid":"m_loc","attachments":[{{"type":"location","title":"Pinned","payload":{{"coordinates":{{"lat":38.7223,"long":-9.1393}}}}}}]}}}}]
            }}]}}"#
        );
        let events = parse_webhook(body.as_bytes()).unwrap();
        let WebhookEvent::Message(m) = &events[0] else {
            panic!("{:?}", events[0])
        };
        assert_eq!(m.provider_message_id, format!("postback:{PSID}:{ts}"));
        assert_eq!(
            m.contents,
            vec![Content::InteractiveReply {
                id: "HUMAN".into(),
                title: "Talk to a person".into()
            }]
        );
        let WebhookEvent::Message(m) = &events[1] else {
            panic!("{:?}", events[1])
        };
        assert_eq!(
            m.contents,
            vec![Content::Location {
                latitude: 38.7223,
                longitude: -9.1393,
                name: Some("Pinned".into()),
                address: None
            }]
        );
    }

    /// Meta's examples: a first message from a Click-to-Messenger ad, a Get Started postback
    /// from an m.me link, and a `messaging_referrals` event from an ig.me link.
    #[test]
    fn referrals_on_messages_postbacks_and_alone() {
        let ts = ms(t(4));
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":{ts},"messaging":[
              {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                "message":{{"mid":"m_ad1","text":"Is this still available?",
                  "referral":{{"ref":"summer-promo","ad_id":"6045246247433","source":"ADS","type":"OPEN_THREAD",
                    "ads_context_data":{{"ad_title":"Summer shoes","photo_url":"https://scontent.xx.fbcdn.net/ad.jpg","post_id":"1234_5678"}}}}}}}},
              {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                "postback":{{"title":"Get Started","payload":"GET_STARTED",
                  "referral":{{"ref":"from-bio","source":"SHORTLINK","type":"OPEN_THREAD"}}}}}},
              {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},
                "referral":{{"ref":"newsletter","source":"SHORTLINK","type":"OPEN_THREAD"}}}},
              {{"sender":{{"id":"{PSID}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{ts},"referral":"x"}}
            ]}}]}}"#
        );
        let events = parse_webhook(body.as_bytes()).unwrap();
        let WebhookEvent::Message(m) = &events[0] else {
            panic!("{:?}", events[0])
        };
        let r = m.referral.as_ref().unwrap();
        assert_eq!(r.kind, ReferralKind::MessengerAd);
        assert_eq!(r.source_id.as_deref(), Some("6045246247433"));
        assert_eq!(r.ref_param.as_deref(), Some("summer-promo"));
        assert_eq!(r.headline.as_deref(), Some("Summer shoes"));
        assert_eq!(r.media_type.as_deref(), Some("image"));
        assert_eq!(r.extra["ads_context_data"]["post_id"], "1234_5678");
        assert_eq!(r.ctwa_clid, None);
        let WebhookEvent::Message(m) = &events[1] else {
            panic!("{:?}", events[1])
        };
        let r = m.referral.as_ref().unwrap();
        assert_eq!(
            (r.kind, r.ref_param.as_deref()),
            (ReferralKind::MMe, Some("from-bio"))
        );
        let WebhookEvent::Referral {
            contact_external_id,
            business_id,
            referral,
            event_key,
            ..
        } = &events[2]
        else {
            panic!("{:?}", events[2])
        };
        assert_eq!(contact_external_id, PSID);
        assert_eq!(business_id.as_deref(), Some(PAGE));
        assert_eq!(referral.ref_param.as_deref(), Some("newsletter"));
        assert_eq!(event_key, &format!("messenger:{PAGE}:{PSID}:{ts}"));
        assert!(matches!(events[3], WebhookEvent::Skipped { .. }));
        // The same event again has the same key: a retry is recognised.
        let again = parse_webhook(body.as_bytes()).unwrap();
        assert_eq!(again[2], events[2]);
        // Instagram: an ig.me link.
        let ig = body.replace(r#""object":"page""#, r#""object":"instagram""#);
        let events = parse_webhook(ig.as_bytes()).unwrap();
        let WebhookEvent::Referral { referral, .. } = &events[2] else {
            panic!("{:?}", events[2])
        };
        assert_eq!(referral.kind, ReferralKind::IgMe);
    }

    #[test]
    fn malformed_webhooks_name_the_path() {
        let cases = [
            ("not json", "not valid JSON"),
            (r#"{"entry":[]}"#, "`object` is missing"),
            (
                r#"{"object":"whatsapp_business_account","entry":[]}"#,
                "expected `page`",
            ),
            (r#"{"object":"page"}"#, "`entry` is missing"),
            (
                r#"{"object":"page","entry":{}}"#,
                "`entry` must be an array",
            ),
            (
                r#"{"object":"page","entry":[{"messaging":[{"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m"}}]}]}"#,
                "`entry[0].messaging[0].sender` is missing",
            ),
            (
                r#"{"object":"page","entry":[{"messaging":[{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":"soon","message":{"mid":"m"}}]}]}"#,
                "`entry[0].messaging[0].timestamp` must be Unix milliseconds",
            ),
            (
                r#"{"object":"page","entry":[{"messaging":[{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1,"message":{"text":"hi"}}]}]}"#,
                "`entry[0].messaging[0].message.mid` is missing",
            ),
            (
                r#"{"object":"page","entry":[{"messaging":[{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1,"message":{"mid":"m","attachments":[{"type":"image","payload":{}}]}}]}]}"#,
                "`entry[0].messaging[0].message.attachments[0].payload.url` is missing",
            ),
            (
                r#"{"object":"page","entry":[{"messaging":[{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1,"delivery":{"mids":["a"]}}]}]}"#,
                "`entry[0].messaging[0].delivery.watermark` is missing",
            ),
            (
                r#"{"object":"page","entry":[{"messaging":[{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1,"read":{}}]}]}"#,
                "`entry[0].messaging[0].read.watermark` is missing",
            ),
        ];
        for (body, want) in cases {
            let err = parse_webhook(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{body}\n  got: {err}\n  want: {want}");
        }
        // An empty or feed-only entry list is fine.
        assert!(parse_webhook(br#"{"object":"page","entry":[]}"#)
            .unwrap()
            .is_empty());
        let feed = parse_webhook(
            br#"{"object":"page","entry":[{"id":"1","changes":[{"field":"feed"}]}]}"#,
        )
        .unwrap();
        assert!(matches!(&feed[..], [WebhookEvent::Skipped { .. }]));
    }

    #[test]
    fn empty_message_is_unsupported_not_lost() {
        let body = br#"{"object":"instagram","entry":[{"id":"2","messaging":[{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1,"message":{"mid":"m","is_unsupported":true}}]}]}"#;
        let events = parse_webhook(body).unwrap();
        let WebhookEvent::Message(m) = &events[0] else {
            panic!()
        };
        assert_eq!(
            m.contents,
            vec![Content::Unsupported {
                kind: "unsupported".into()
            }]
        );
    }

    // --- sending --------------------------------------------------------------------------------

    fn json_body(r: &ProviderRequest) -> Value {
        match &r.body {
            RequestBody::Json(v) => v.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn send_text_inside_the_window() {
        let r = build_send(
            GRAPH_BASE_URL,
            DEFAULT_GRAPH_VERSION,
            PAGE,
            "EAAG-token",
            PSID,
            &OutboundContent::Text {
                body: "Yes, we ship to Lisbon.".into(),
            },
            MessagingType::Response,
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.url,
            format!("https://graph.facebook.com/v25.0/{PAGE}/messages")
        );
        assert!(!r.url.contains("token"));
        assert_eq!(r.header("Authorization"), Some("Bearer EAAG-token"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(
            json_body(&r),
            json!({"recipient":{"id":PSID},"messaging_type":"RESPONSE","message":{"text":"Yes, we ship to Lisbon."}})
        );
    }

    #[test]
    fn send_as_human_agent_with_an_attachment() {
        let r = build_send(
            "http://127.0.0.1:9999/",
            "v25.0",
            "me",
            "tok",
            PSID,
            &OutboundContent::Media {
                kind: MediaKind::Document,
                url: "https://files.example.com/invoice.pdf".into(),
                caption: None,
                filename: Some("invoice.pdf".into()),
            },
            MessagingType::HumanAgent,
        )
        .unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9999/v25.0/me/messages");
        assert_eq!(
            json_body(&r),
            json!({
                "recipient":{"id":PSID},
                "messaging_type":"MESSAGE_TAG",
                "tag":"HUMAN_AGENT",
                "message":{"attachment":{"type":"file","payload":{"url":"https://files.example.com/invoice.pdf"}}}
            })
        );
    }

    #[test]
    fn captions_are_split_and_templates_refused() {
        let captioned = OutboundContent::Media {
            kind: MediaKind::Image,
            url: "https://x/y.jpg".into(),
            caption: Some("Our new menu".into()),
            filename: None,
        };
        let send = |c: &OutboundContent| {
            build_send(
                GRAPH_BASE_URL,
                "v25.0",
                PAGE,
                "t",
                PSID,
                c,
                MessagingType::Response,
            )
        };
        assert!(matches!(send(&captioned), Err(BuildError::Unsupported(_))));
        let parts = split_caption(&captioned);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| send(p).is_ok()));
        assert_eq!(
            parts[1],
            OutboundContent::Text {
                body: "Our new menu".into()
            }
        );
        let text = OutboundContent::Text { body: "hi".into() };
        assert_eq!(split_caption(&text), vec![text.clone()]);
        let template = OutboundContent::Template {
            name: "x".into(),
            language: "en".into(),
            parameters: vec![],
        };
        assert!(matches!(send(&template), Err(BuildError::Unsupported(_))));
        assert!(matches!(
            send(&OutboundContent::Text {
                body: "a".repeat(2001)
            }),
            Err(BuildError::TooLong { limit: 2000, .. })
        ));
        assert!(build_send(
            GRAPH_BASE_URL,
            "v25.0",
            PAGE,
            "t",
            "",
            &text,
            MessagingType::Response
        )
        .is_err());
    }

    // --- send responses ---------------------------------------------------------------------------

    #[test]
    fn accepted_send() {
        assert_eq!(
            classify_send_response(200, br#"{"recipient_id":"6543210987654321","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}"#),
            SendOutcome::Accepted {
                provider_message_id: "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P".into()
            }
        );
        assert!(matches!(
            classify_send_response(200, b"{}"),
            SendOutcome::Failed { error } if error.code == "invalid_response"
        ));
    }

    #[test]
    fn outside_window_and_other_permanent_errors_fail() {
        let cases: [(u16, &[u8], &str); 5] = [
            (400, br#"{"error":{"message":"(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"AbCdEf"}}"#, "10/2018278"),
            (400, br#"{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"error_subcode":1545041,"fbtrace_id":"x"}}"#, "551/1545041"),
            (400, br#"{"error":{"message":"(#100) No matching user found","type":"OAuthException","code":100,"error_subcode":2018001,"fbtrace_id":"x"}}"#, "100/2018001"),
            (401, br#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}}"#, "190/463"),
            (403, b"Forbidden", "http_403"),
        ];
        for (status, body, code) in cases {
            match classify_send_response(status, body) {
                SendOutcome::Failed { error } => assert_eq!(error.code, code),
                other => panic!("{code}: {other:?}"),
            }
        }
        let SendOutcome::Failed { error } = classify_send_response(400, cases[0].1) else {
            panic!()
        };
        assert!(
            error
                .title
                .starts_with("This message is sent outside of allowed window"),
            "{}",
            error.title
        );
    }

    #[test]
    fn rate_limits_and_transient_errors_retry() {
        let rate_limited: [&[u8]; 5] = [
            br#"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"x"}}"#,
            br#"{"error":{"message":"(#17) User request limit reached","code":17}}"#,
            br#"{"error":{"message":"(#32) Page request limit reached","code":32}}"#,
            br#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}"#,
            br#"{"error":{"message":"There have been too many messages sent to this user","code":80006}}"#,
        ];
        for body in rate_limited {
            assert!(
                matches!(
                    classify_send_response(400, body),
                    SendOutcome::Retry { after: Some(d), .. } if d == Duration::from_secs(60)
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let transient: [(u16, &[u8]); 5] = [
            (500, br#"{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2}}"#),
            (500, br#"{"error":{"message":"(#1200) Temporary send message failure. Please try again later","code":1200}}"#),
            (400, br#"{"error":{"message":"Something odd","code":99999,"is_transient":true}}"#),
            (503, br#"{"error":{"message":"Service unavailable","code":99998}}"#),
            (502, b"<html>bad gateway</html>"),
        ];
        for (status, body) in transient {
            assert!(
                matches!(
                    classify_send_response(status, body),
                    SendOutcome::Retry { after: None, .. }
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn graph_code_prefix_is_stripped_only_when_numeric() {
        assert_eq!(
            strip_code_prefix("(#131047) Re-engagement message"),
            "Re-engagement message"
        );
        assert_eq!(strip_code_prefix("(#x) keep"), "(#x) keep");
        assert_eq!(strip_code_prefix("plain"), "plain");
    }
}
