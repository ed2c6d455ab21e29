//! Twilio Programmable Messaging: SMS, MMS and WhatsApp (`whatsapp:+…` addresses) in one
//! API.
//!
//! Webhooks (inbound messages and status callbacks) are form-encoded POSTs signed with
//! `X-Twilio-Signature`; sends are form-encoded POSTs to the Messages resource with HTTP
//! Basic auth. Everything here is pure: the route hands in the raw body, the URL Twilio was
//! configured with and the receipt time.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{
    normalized::{
        check_len, check_not_blank, join_url, secrets_equal, BuildError, Content, InboundContact,
        InboundMessage, MediaKind, MediaSource, Network, OutboundContent, ParseError,
        ProviderError, ProviderRequest, RequestBody, SendOutcome, StatusUpdate, WebhookEvent,
    },
    phone,
};
use crate::domain::{
    delivery::DeliveryStatus,
    referral::{Referral, ReferralKind},
};

/// Where the Messages API lives; configurable so tests can point at a local stand-in.
pub const API_BASE_URL: &str = "https://api.twilio.com";
/// The header carrying the webhook signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// Longest `Body` Twilio accepts, in characters.
pub const MAX_BODY_CHARS: usize = 1600;
/// Most media one message can carry (MMS limit); more in a webhook means a forged body.
pub const MAX_MEDIA: usize = 10;
/// The answer to an inbound-message webhook that sends nothing back (replies go through the
/// API, so they are queued, retried and tracked like every other outbound message).
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

const WHATSAPP_PREFIX: &str = "whatsapp:";

// ---------------------------------------------------------------------------------------
// Form bodies

/// Parses an `application/x-www-form-urlencoded` body: `+` is a space, `%XX` is a byte,
/// repeated keys are all kept in order. Invalid UTF-8 becomes U+FFFD rather than an error
/// (the signature check will then fail, which is the right answer for a mangled body).
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match hex_pair(s[i + 1], s[i + 2]) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let digit = |c: u8| char::from(c).to_digit(16);
    u8::try_from(digit(hi)? * 16 + digit(lo)?).ok()
}

// ---------------------------------------------------------------------------------------
// X-Twilio-Signature

/// The signature Twilio sends for a form POST to `url` (or, with no params, a GET or a
/// JSON webhook): Base64(HMAC-SHA1(auth token, url + for each param sorted by name then
/// value, name + value)). Values are the decoded ones; a repeated identical pair counts
/// once, as twilio-python does.
pub fn expected_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(signature_bytes(auth_token, url, params))
}

fn signing_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Option<Hmac<Sha1>> {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    Some(mac)
}

fn signature_bytes(auth_token: &str, url: &str, params: &[(String, String)]) -> Vec<u8> {
    signing_mac(auth_token, url, params)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

/// Checks `X-Twilio-Signature` for a form webhook, in constant time.
///
/// `url` is the full URL as configured in Twilio (scheme, host, port if any, path and
/// query), not what a proxy forwarded. As Twilio's SDKs do, the signature is accepted over
/// the URL without its port and over the URL with the scheme's default port added (443 or
/// 80), because Twilio signs some webhooks one way and some the other. For a GET webhook,
/// pass no params (they are in the URL).
pub fn verify_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(given) = decode_signature(auth_token, header) else {
        return false;
    };
    let matches = |candidate: &str| {
        signing_mac(auth_token, candidate, params)
            .is_some_and(|mac| mac.verify_slice(&given).is_ok())
    };
    // Both are always computed, so the time taken does not say which form matched.
    let without = matches(&url_without_port(url));
    let with = matches(&url_with_port(url));
    without | with
}

/// Checks a JSON webhook: Twilio appends `bodySHA256=<hex sha256(body)>` to the URL, signs
/// the URL alone, and the body is checked against that hash.
pub fn verify_json_signature(
    auth_token: &str,
    url: &str,
    body: &[u8],
    header: Option<&str>,
) -> bool {
    let Some(hash) = query_param(url, "bodySHA256") else {
        return false;
    };
    let actual = hex::encode(Sha256::digest(body));
    let body_ok = secrets_equal(hash.to_ascii_lowercase().as_bytes(), actual.as_bytes());
    let signature_ok = verify_signature(auth_token, url, &[], header);
    body_ok & signature_ok
}

fn decode_signature(auth_token: &str, header: Option<&str>) -> Option<Vec<u8>> {
    if auth_token.is_empty() {
        return None;
    }
    let header = header?.trim();
    BASE64.decode(header).ok()
}

/// `(scheme, authority, rest)` of an absolute URL, split textually so that the signed
/// string stays exactly as configured (a URL parser would lower-case the host and
/// re-encode the query, and Twilio signs what it was given).
fn url_parts(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some((scheme, &after[..end], &after[end..]))
}

/// Splits `authority` into everything before the port and the port, if there is one.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_start..];
    let colon = if host.starts_with('[') {
        // IPv6 literal: the port comes after the closing bracket.
        host.find(']')
            .and_then(|close| host[close..].find(':').map(|c| close + c))
    } else {
        host.rfind(':')
    };
    match colon {
        Some(i) => (
            &authority[..host_start + i],
            Some(&host[i + 1..]).filter(|p| !p.is_empty()),
        ),
        None => (authority, None),
    }
}

fn url_without_port(url: &str) -> String {
    match url_parts(url) {
        Some((scheme, authority, rest)) => match split_port(authority) {
            (host, Some(_)) => format!("{scheme}://{host}{rest}"),
            (_, None) => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn url_with_port(url: &str) -> String {
    match url_parts(url) {
        Some((scheme, authority, rest)) => match split_port(authority) {
            (_, Some(_)) => url.to_owned(),
            (host, None) => {
                let port = if scheme.eq_ignore_ascii_case("https") {
                    443
                } else {
                    80
                };
                format!("{scheme}://{host}:{port}{rest}")
            }
        },
        None => url.to_owned(),
    }
}

/// The first value of `name` in the URL's query string, decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    parse_form(query.as_bytes())
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------------------------------
// Addresses

/// The Twilio address for a number on a network: `whatsapp:+…` for WhatsApp, the bare
/// E.164 number for SMS.
pub fn address(network: Network, e164: &str) -> String {
    match network {
        Network::Whatsapp => format!("{WHATSAPP_PREFIX}{e164}"),
        _ => e164.to_owned(),
    }
}

/// The network and bare number of a Twilio address. Other channel prefixes (`messenger:`,
/// `rcs:`…) are refused: we do not speak them through Twilio.
fn split_address<'a>(field: &str, addr: &'a str) -> Result<(Network, &'a str), ParseError> {
    let addr = addr.trim();
    if addr.len() >= WHATSAPP_PREFIX.len()
        && addr.is_char_boundary(WHATSAPP_PREFIX.len())
        && addr[..WHATSAPP_PREFIX.len()].eq_ignore_ascii_case(WHATSAPP_PREFIX)
    {
        return Ok((Network::Whatsapp, addr[WHATSAPP_PREFIX.len()..].trim()));
    }
    if let Some((prefix, _)) = addr.split_once(':') {
        return Err(ParseError::invalid(
            field,
            format!("uses the unsupported channel `{prefix}:`"),
        ));
    }
    Ok((Network::Sms, addr))
}

// ---------------------------------------------------------------------------------------
// Webhooks

/// Read access to decoded form params by name (first occurrence wins).
struct Params<'a>(&'a [(String, String)]);

impl<'a> Params<'a> {
    /// The value, or `None` when absent or empty (Twilio sends empty strings for unknowns).
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn req(&self, key: &str) -> Result<&'a str, ParseError> {
        self.get(key)
            .ok_or_else(|| ParseError::Missing(key.to_owned()))
    }

    fn first_of(&self, keys: &[&str]) -> Result<&'a str, ParseError> {
        keys.iter()
            .find_map(|k| self.get(k))
            .ok_or_else(|| ParseError::Missing(keys.join(" / ")))
    }

    fn f64(&self, key: &str) -> Result<f64, ParseError> {
        self.req(key)?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| ParseError::invalid(key, "must be a number"))
    }
}

/// Parses either webhook Twilio sends: a status callback (it has `MessageStatus`) or an
/// inbound message. Inbound-side statuses (`received`) yield no event.
pub fn parse_webhook(
    params: &[(String, String)],
    received_at: NaiveDateTime,
) -> Result<Vec<WebhookEvent>, ParseError> {
    let p = Params(params);
    let is_status = p
        .get("MessageStatus")
        .is_some_and(|s| !matches!(s, "received" | "receiving"));
    if is_status {
        Ok(parse_status(params)?
            .map(WebhookEvent::Status)
            .into_iter()
            .collect())
    } else {
        Ok(vec![WebhookEvent::Message(parse_inbound(
            params,
            received_at,
        )?)])
    }
}

/// Parses an inbound-message webhook. Twilio gives no send time, so `received_at` (our
/// clock, UTC) becomes `sent_at`.
///
/// The contact is the sender's E.164 number (so SMS and WhatsApp from one phone match), and
/// `business_id` is our `To` number without its channel prefix; `network` says whether it
/// came over SMS or WhatsApp.
pub fn parse_inbound(
    params: &[(String, String)],
    received_at: NaiveDateTime,
) -> Result<InboundMessage, ParseError> {
    let p = Params(params);
    let sid = p.first_of(&["MessageSid", "SmsMessageSid", "SmsSid"])?;
    let (network, from) = split_address("From", p.req("From")?)?;
    let (_, to) = split_address("To", p.req("To")?)?;
    if from.is_empty() {
        return Err(ParseError::invalid("From", "has no number"));
    }
    let phone = phone::to_e164(from, None).ok();
    let contact = InboundContact {
        // Short codes and alphanumeric senders are not E.164; keep them as sent.
        external_id: phone.clone().unwrap_or_else(|| from.to_owned()),
        name: p.get("ProfileName").map(|s| s.trim().to_owned()),
        phone,
        email: None,
    };
    let mut contents = inbound_contents(&p)?;
    if contents.is_empty() {
        let kind = p.get("MessageType").unwrap_or("empty").to_owned();
        contents.push(Content::Unsupported { kind });
    }
    Ok(InboundMessage {
        provider_message_id: sid.to_owned(),
        network,
        contact,
        sent_at: received_at,
        contents,
        business_id: Some(to.to_owned()).filter(|s| !s.is_empty()),
        reply_to: p.get("OriginalRepliedMessageSid").map(str::to_owned),
        referral: inbound_referral(&p),
    })
}

/// A Click-to-WhatsApp referral as Twilio forwards it (`ReferralSourceId`,
/// `ReferralSourceType`, `ReferralSourceUrl`, `ReferralHeadline`, `ReferralBody`,
/// `ReferralCtwaClid`, `ReferralMedia*`), normalised to the Cloud API's shape. `None` when no
/// `Referral*` field has a value. The click id comes only from `ReferralCtwaClid`.
fn inbound_referral(p: &Params<'_>) -> Option<Referral> {
    let get = |k: &str| p.get(k).map(str::to_owned);
    let fields = [
        "ReferralSourceId",
        "ReferralSourceUrl",
        "ReferralSourceType",
        "ReferralHeadline",
        "ReferralBody",
        "ReferralCtwaClid",
        "ReferralMediaUrl",
    ];
    if fields.iter().all(|k| p.get(k).is_none()) {
        return None;
    }
    let source_type = get("ReferralSourceType");
    let mut r = Referral::new(ReferralKind::of_whatsapp(source_type.as_deref()));
    r.source_type = source_type;
    r.source_id = get("ReferralSourceId");
    r.source_url = get("ReferralSourceUrl");
    r.headline = get("ReferralHeadline");
    r.body = get("ReferralBody");
    r.ctwa_clid = get("ReferralCtwaClid");
    let mime = p.get("ReferralMediaContentType");
    let kind = mime.map(MediaKind::from_mime);
    r.media_type = match kind {
        Some(MediaKind::Video) => Some("video".to_owned()),
        Some(MediaKind::Image) => Some("image".to_owned()),
        _ => None,
    };
    match kind {
        Some(MediaKind::Video) => r.video_url = get("ReferralMediaUrl"),
        _ => r.image_url = get("ReferralMediaUrl"),
    }
    for (field, key) in [
        ("ReferralMediaId", "media_id"),
        ("ReferralMediaContentType", "media_content_type"),
        ("ReferralNumMedia", "num_media"),
    ] {
        if let Some(v) = p.get(field) {
            r.extra.insert(key.to_owned(), v.into());
        }
    }
    Some(r)
}

/// Text, then media, then location or a template button, as Twilio reports them.
fn inbound_contents(p: &Params<'_>) -> Result<Vec<Content>, ParseError> {
    let mut contents = Vec::new();
    let button = p.get("ButtonPayload");
    if let (Some(body), None) = (p.get("Body"), button) {
        contents.push(Content::Text {
            body: body.to_owned(),
        });
    }
    contents.extend(inbound_media(p)?);
    if p.get("Latitude").is_some() || p.get("Longitude").is_some() {
        contents.push(Content::Location {
            latitude: p.f64("Latitude")?,
            longitude: p.f64("Longitude")?,
            name: p.get("Label").map(str::to_owned),
            address: p.get("Address").map(str::to_owned),
        });
    }
    if let Some(payload) = button {
        let text = p.get("ButtonText").or(p.get("Body")).unwrap_or(payload);
        contents.push(Content::TemplateButton {
            payload: payload.to_owned(),
            text: text.to_owned(),
        });
    }
    Ok(contents)
}

fn inbound_media(p: &Params<'_>) -> Result<Vec<Content>, ParseError> {
    let count = match p.get("NumMedia") {
        None => 0,
        Some(n) => n
            .trim()
            .parse::<usize>()
            .map_err(|_| ParseError::invalid("NumMedia", "must be a whole number"))?,
    };
    if count > MAX_MEDIA {
        return Err(ParseError::invalid(
            "NumMedia",
            format!("is {count}; a message carries at most {MAX_MEDIA} media"),
        ));
    }
    (0..count)
        .map(|i| {
            let url = p.req(&format!("MediaUrl{i}"))?;
            let mime = p.get(&format!("MediaContentType{i}"));
            Ok(Content::Media {
                kind: mime.map_or(MediaKind::Document, MediaKind::from_mime),
                source: MediaSource::Url(url.to_owned()),
                mime_type: mime.map(str::to_owned),
                caption: None,
                filename: None,
            })
        })
        .collect()
}

/// What a Twilio `MessageStatus` means for our forward-only delivery status.
///
/// | Twilio | ours |
/// |---|---|
/// | `accepted`, `scheduled`, `queued`, `sending` | `queued` (still inside Twilio) |
/// | `sent` | `sent` (handed to the carrier / WhatsApp) |
/// | `partially_delivered` | `sent` (not every part arrived; not a failure either) |
/// | `delivered` | `delivered` |
/// | `read` | `read` (WhatsApp, RCS) |
/// | `undelivered`, `failed`, `canceled` | `failed` |
/// | `receiving`, `received` | none: they describe inbound messages |
pub fn map_status(status: &str) -> StatusMeaning {
    let mapped = match status {
        "accepted" | "scheduled" | "queued" | "sending" => DeliveryStatus::Queued,
        "sent" | "partially_delivered" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "undelivered" | "failed" | "canceled" => DeliveryStatus::Failed,
        "receiving" | "received" => return StatusMeaning::Inbound,
        _ => return StatusMeaning::Unknown,
    };
    StatusMeaning::Outbound(mapped)
}

/// See [`map_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMeaning {
    /// A step in an outbound message's life.
    Outbound(DeliveryStatus),
    /// A status of an inbound message; nothing to record.
    Inbound,
    /// Not a value Twilio documents.
    Unknown,
}

/// Parses a status callback. `Ok(None)` for statuses about inbound messages; an unknown
/// status is an error so that a new Twilio value is noticed rather than dropped.
///
/// Twilio's callbacks carry no event time (`RawDlrDoneDate` is the carrier's local time
/// with no zone), so `at` is `None`: use the receipt time.
pub fn parse_status(params: &[(String, String)]) -> Result<Option<StatusUpdate>, ParseError> {
    let p = Params(params);
    let sid = p.first_of(&["MessageSid", "SmsSid"])?;
    let raw = p.first_of(&["MessageStatus", "SmsStatus"])?;
    let status = match map_status(raw) {
        StatusMeaning::Outbound(s) => s,
        StatusMeaning::Inbound => return Ok(None),
        StatusMeaning::Unknown => {
            return Err(ParseError::invalid(
                "MessageStatus",
                format!("has the unknown value `{raw}`"),
            ))
        }
    };
    let error = (status == DeliveryStatus::Failed).then(|| status_error(&p, raw));
    let recipient = p
        .get("To")
        .map(|to| split_address("To", to).map_or(to, |(_, n)| n).to_owned());
    Ok(Some(StatusUpdate {
        provider_message_id: sid.to_owned(),
        status,
        at: None,
        error,
        recipient,
        callback_data: None,
    }))
}

/// The reason a message failed: Twilio's code with its known title, or the bare status.
fn status_error(p: &Params<'_>, raw_status: &str) -> ProviderError {
    let detail = p
        .get("ErrorMessage")
        .or(p.get("ChannelStatusMessage"))
        .map(str::to_owned);
    match p.get("ErrorCode") {
        Some(code) => ProviderError {
            code: code.trim().to_owned(),
            title: code
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(error_title)
                .map(str::to_owned)
                .or_else(|| detail.clone())
                .unwrap_or_else(|| format!("Twilio error {}", code.trim())),
            detail,
        },
        None if raw_status == "canceled" => ProviderError {
            code: "canceled".to_owned(),
            title: "The message was canceled before it was sent".to_owned(),
            detail,
        },
        None => ProviderError {
            code: raw_status.to_owned(),
            title: format!("Twilio reported the message {raw_status} without an error code"),
            detail,
        },
    }
}

/// Short titles for the Twilio error codes an inbox meets most. The wording is ours, after
/// Twilio's error dictionary; an unknown code falls back to Twilio's own message.
pub fn error_title(code: u32) -> Option<&'static str> {
    Some(match code {
        20003 => "Authentication failed",
        20404 => "Resource not found",
        20429 => "Too many requests",
        21211 => "Invalid 'To' phone number",
        21408 => "Permission to send to this region is not enabled",
        21606 => "The 'From' number cannot send this message",
        21610 => "The recipient has unsubscribed (replied STOP)",
        21612 => "The 'To' number is not reachable over this channel",
        21614 => "The 'To' number is not a valid mobile number",
        21617 => "The message body exceeds 1,600 characters",
        30001 => "Queue overflow",
        30002 => "Account suspended",
        30003 => "Unreachable destination handset",
        30004 => "Message blocked",
        30005 => "Unknown destination handset",
        30006 => "Landline or unreachable carrier",
        30007 => "Message filtered by the carrier",
        30008 => "Unknown error",
        63016 => "Outside messaging window",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Sending

/// Builds `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
///
/// - `from` is our address (`+1…`, `whatsapp:+1…`), or a Messaging Service SID (`MG…`),
///   which is sent as `MessagingServiceSid` instead of `From`.
/// - `to` is the customer's address in the same form (see [`address`]).
/// - Media go by `MediaUrl` with the caption as `Body` (a filename cannot be set).
/// - A template is a Content Template: `name` is its Content SID (`HX…`), `parameters`
///   become `ContentVariables` `{"1": …, "2": …}`; `language` is implied by the SID.
/// - `status_callback` is where Twilio reports delivery (`StatusCallback`).
pub fn build_send(
    base_url: &str,
    account_sid: &str,
    auth_token: &str,
    from: &str,
    to: &str,
    content: &OutboundContent,
    status_callback: Option<&str>,
) -> Result<ProviderRequest, BuildError> {
    if to.trim().is_empty() {
        return Err(BuildError::Invalid("the recipient address is empty".into()));
    }
    if from.trim().is_empty() {
        return Err(BuildError::Invalid("the sender address is empty".into()));
    }
    let mut fields = vec![("To".to_owned(), to.trim().to_owned())];
    if is_messaging_service_sid(from) {
        fields.push(("MessagingServiceSid".to_owned(), from.trim().to_owned()));
    } else {
        fields.push(("From".to_owned(), from.trim().to_owned()));
    }
    fields.extend(content_fields(content)?);
    if let Some(cb) = status_callback.filter(|c| !c.is_empty()) {
        fields.push(("StatusCallback".to_owned(), cb.to_owned()));
    }
    let url = join_url(
        base_url,
        &["2010-04-01", "Accounts", account_sid, "Messages.json"],
    );
    let auth = format!(
        "Basic {}",
        BASE64.encode(format!("{account_sid}:{auth_token}"))
    );
    Ok(ProviderRequest::new(
        "POST",
        url,
        auth,
        RequestBody::Form(fields),
    ))
}

fn is_messaging_service_sid(s: &str) -> bool {
    let s = s.trim();
    s.len() == 34 && s.starts_with("MG") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_content_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("HX") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn content_fields(content: &OutboundContent) -> Result<Vec<(String, String)>, BuildError> {
    let field = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    match content {
        OutboundContent::Text { body } => {
            check_not_blank("the message text", body)?;
            check_len("the message text", body, MAX_BODY_CHARS)?;
            Ok(vec![field("Body", body)])
        }
        OutboundContent::Media { url, caption, .. } => {
            check_not_blank("the media URL", url)?;
            let mut fields = Vec::new();
            if let Some(c) = caption.as_deref().filter(|c| !c.is_empty()) {
                check_len("the caption", c, MAX_BODY_CHARS)?;
                fields.push(field("Body", c));
            }
            fields.push(field("MediaUrl", url));
            Ok(fields)
        }
        OutboundContent::Template {
            name, parameters, ..
        } => {
            if !is_content_sid(name) {
                return Err(BuildError::Invalid(format!(
                    "Twilio templates are sent by Content SID (HX followed by 32 hex digits); \
                     `{name}` is not one"
                )));
            }
            let mut fields = vec![field("ContentSid", name)];
            if !parameters.is_empty() {
                let vars: serde_json::Map<String, Value> = parameters
                    .iter()
                    .enumerate()
                    .map(|(i, p)| ((i + 1).to_string(), Value::String(p.clone())))
                    .collect();
                fields.push(field("ContentVariables", &Value::Object(vars).to_string()));
            }
            Ok(fields)
        }
        OutboundContent::List(_) => Err(BuildError::Unsupported(
            "interactive lists are sent through the WhatsApp Cloud API only; send text".into(),
        )),
    }
}

/// Classifies Twilio's answer to a send.
///
/// - 2xx with a `sid`: accepted.
/// - 429, 408, 5xx, and error codes 20429 / 20500 / 20503: retry.
/// - Any other error (21211 invalid number, 21610 unsubscribed, 20003 bad credentials,
///   63016 outside the WhatsApp window…): failed, with Twilio's code and message.
pub fn classify_send_response(status: u16, body: &[u8]) -> SendOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| json.as_ref().and_then(|j| j.get(k));
    if (200..300).contains(&status) {
        return match field("sid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(sid) => SendOutcome::Accepted {
                provider_message_id: sid.to_owned(),
            },
            None => SendOutcome::Failed {
                error: ProviderError {
                    code: "invalid_response".to_owned(),
                    title: format!("Twilio answered {status} without a message sid"),
                    detail: Some(snippet(body)),
                },
            },
        };
    }
    let code = field("code").and_then(Value::as_u64);
    let message = field("message")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty());
    let retryable =
        matches!(status, 408 | 429) || status >= 500 || matches!(code, Some(20429 | 20500 | 20503));
    if retryable {
        return SendOutcome::Retry {
            after: None,
            reason: format!(
                "Twilio answered {status}{}",
                code.map(|c| format!(" (error {c})")).unwrap_or_default()
            ),
        };
    }
    let title = message
        .map(str::to_owned)
        .or_else(|| {
            code.and_then(|c| u32::try_from(c).ok())
                .and_then(error_title)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("Twilio answered HTTP {status}"));
    SendOutcome::Failed {
        error: ProviderError {
            code: code.map_or_else(|| format!("http_{status}"), |c| c.to_string()),
            title,
            detail: field("more_info")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    }
}

/// The start of a body, for error details.
fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    // --- signatures --------------------------------------------------------------------

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    /// The parameters of twilio-python's and twilio-csharp's `RequestValidator` tests.
    fn sdk_params() -> Vec<(String, String)> {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn twilio_docs_worked_example() {
        // twilio.com/docs/usage/security, "Validating Signatures from Twilio".
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            expected_signature("12345", URL, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(verify_signature(
            "12345",
            URL,
            &params,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        ));
    }

    #[test]
    fn sdk_vector_compute_and_validate() {
        // twilio-python tests/unit/test_request_validator.py, test_compute_signature and
        // test_validation (the same vector is in twilio-csharp and twilio-php).
        assert_eq!(
            expected_signature("12345", URL, &sdk_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify_signature(
            "12345",
            URL,
            &sdk_params(),
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
    }

    #[test]
    fn sdk_vector_duplicate_keys() {
        // twilio-python test_compute_signature_duplicate_multi_dict.
        let params = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            expected_signature("12345", URL, &params),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        // A repeated identical pair counts once.
        let mut repeated = params.clone();
        repeated.push(("Digits".into(), "1234".into()));
        assert_eq!(
            expected_signature("12345", URL, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn sdk_vectors_for_ports() {
        // twilio-python / twilio-csharp: removes_port_on_https, removes_port_on_http,
        // adds_port_on_https, adds_port_on_http, AddsCustomPortHttps.
        let cases = [
            (
                "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            ),
            (
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
            ),
            (
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                "kvajT1Ptam85bY51eRf/AJRuM3w=",
            ),
            (
                "http://mycompany.com/myapp.php?foo=1&bar=2",
                "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            ),
            (
                "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                "CYn1h0gLBdNxDGkKJg6hYohgeD8=",
            ),
        ];
        for (url, sig) in cases {
            assert!(
                verify_signature("12345", url, &sdk_params(), Some(sig)),
                "{url} {sig}"
            );
        }
    }

    #[test]
    fn sdk_vectors_keep_the_url_as_configured() {
        // twilio-csharp RequestValidatorTest: mixed-case hosts, credentials and schemes
        // are signed verbatim.
        let ok = [
            (
                "https://MyCompany.com/myapp.php?foo=1&bar=2",
                "g9IN/x4Cft2g517EjYvEvM/W7LU=",
            ),
            (
                "https://MyCompany.com:1234/myapp.php?foo=1&bar=2",
                "PCqOZm8cnu/L6+u5i5fuEd+Iac4=",
            ),
            (
                "http://MyCompany.com/myapp.php?foo=1&bar=2",
                "XY7AlKOKL6im4yWyX84gldUrtis=",
            ),
            (
                "http://username:password@MyCompany.com/myapp.php?foo=1&bar=2",
                "PJ08CxXr7KLPjEQCTc8LkUSMwSM=",
            ),
            (
                "HTTP://username:password@MyCompany.com/myapp.php?foo=1&bar=2",
                "hy/l8pca+LFms4cvRdv8uiP6NGc=",
            ),
            (
                "http://Username:Password@MyCompany.com/myapp.php?foo=1&bar=2",
                "SkTSKyDJH9kUlhItI0slbgZ1UsI=",
            ),
        ];
        for (url, sig) in ok {
            assert!(
                verify_signature("12345", url, &sdk_params(), Some(sig)),
                "{url}"
            );
        }
        // ...and a lower-case signature does not validate a mixed-case URL.
        let refused = [
            "https://MyCompany.com/myapp.php?foo=1&bar=2",
            "https://MyCompany.com:1234/myapp.php?foo=1&bar=2",
            "http://MyCompany.com/myapp.php?foo=1&bar=2",
        ];
        for url in refused {
            assert!(
                !verify_signature(
                    "12345",
                    url,
                    &sdk_params(),
                    Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn sdk_vectors_for_json_bodies() {
        // twilio-python test_validation_of_body_succeeds and twilio-csharp
        // TestValidateWithOnlyHash / TestValidateWithBodyWithoutSignature.
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(hex::encode(Sha256::digest(body)), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        assert!(verify_json_signature(
            "12345",
            &url,
            body,
            Some("a9nBmqA0ju/hNViExpshrM61xv4=")
        ));
        let only = format!("https://mycompany.com/myapp.php?bodySHA256={hash}");
        assert!(verify_json_signature(
            "12345",
            &only,
            body,
            Some("y77kIzt2vzLz71DgmJGsen2scGs=")
        ));
        // A different body with the same URL and signature fails on the hash.
        assert!(!verify_json_signature(
            "12345",
            &url,
            b"{}",
            Some("a9nBmqA0ju/hNViExpshrM61xv4=")
        ));
        // No bodySHA256 in the URL: refused.
        assert!(!verify_json_signature(
            "12345",
            URL,
            body,
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
    }

    #[test]
    fn wrong_inputs_fail_the_signature() {
        let sig = Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        let mut tampered = sdk_params();
        tampered[1].1 = "9999".into();
        assert!(!verify_signature("12345", URL, &tampered, sig));
        assert!(!verify_signature("54321", URL, &sdk_params(), sig));
        assert!(!verify_signature(
            "12345",
            &format!("{URL}&x=1"),
            &sdk_params(),
            sig
        ));
        let mut extra = sdk_params();
        extra.push(("Body".into(), "hi".into()));
        assert!(!verify_signature("12345", URL, &extra, sig));
        assert!(!verify_signature("12345", URL, &sdk_params(), None));
        assert!(!verify_signature("12345", URL, &sdk_params(), Some("")));
        assert!(!verify_signature(
            "12345",
            URL,
            &sdk_params(),
            Some("NOTRSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
        assert!(!verify_signature(
            "12345",
            URL,
            &sdk_params(),
            Some("invalid 王")
        ));
        // An empty auth token never validates, even against its own signature.
        let own = expected_signature("", URL, &sdk_params());
        assert!(!verify_signature("", URL, &sdk_params(), Some(&own)));
    }

    #[test]
    fn raw_form_body_round_trip_validates() {
        // The documented parameters as Twilio would post them, in another order.
        let body = b"To=%2B18005551212&CallSid=CA1234567890ABCDE&Digits=1234&From=%2B12349013030&Caller=%2B12349013030";
        let params = parse_form(body);
        assert!(verify_signature(
            "12345",
            URL,
            &params,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        ));
    }

    #[test]
    fn port_helpers() {
        assert_eq!(
            url_without_port("https://h.com:8443/p?q=1"),
            "https://h.com/p?q=1"
        );
        assert_eq!(url_without_port("https://h.com/p"), "https://h.com/p");
        assert_eq!(url_with_port("https://h.com/p"), "https://h.com:443/p");
        assert_eq!(url_with_port("http://h.com?x=1"), "http://h.com:80?x=1");
        assert_eq!(
            url_with_port("https://h.com:8443/p"),
            "https://h.com:8443/p"
        );
        assert_eq!(
            url_without_port("http://u:p@h.com:81/"),
            "http://u:p@h.com/"
        );
        assert_eq!(url_with_port("http://u:p@h.com/"), "http://u:p@h.com:80/");
        assert_eq!(url_without_port("http://[::1]:8080/x"), "http://[::1]/x");
        assert_eq!(url_with_port("http://[::1]/x"), "http://[::1]:80/x");
        assert_eq!(url_with_port("not a url"), "not a url");
    }

    // --- forms ---------------------------------------------------------------------------

    #[test]
    fn form_parsing() {
        let parsed =
            parse_form(b"Body=Hello+there%21+%C3%A9%26&From=%2B1555&Empty=&Flag&MediaUrl=a&MediaUrl=b&&bad=%zz%4");
        assert_eq!(
            parsed,
            pairs(&[
                ("Body", "Hello there! é&"),
                ("From", "+1555"),
                ("Empty", ""),
                ("Flag", ""),
                ("MediaUrl", "a"),
                ("MediaUrl", "b"),
                ("bad", "%zz%4"),
            ])
        );
        assert!(parse_form(b"").is_empty());
        // Invalid UTF-8 does not panic.
        assert_eq!(parse_form(b"a=%FF")[0].1, "\u{FFFD}");
        // Round trip with our encoder.
        let fields = pairs(&[("Body", "a+b c&d=e%f ñ")]);
        let encoded = super::super::normalized::form_encode(&fields);
        assert_eq!(parse_form(encoded.as_bytes()), fields);
    }

    // --- inbound ---------------------------------------------------------------------------

    /// An MMS with text and two images, as captured from Twilio.
    fn sms_with_two_media() -> Vec<(String, String)> {
        parse_form(
            b"ToCountry=US&MediaContentType0=image%2Fjpeg&ToState=CA&SmsMessageSid=MM1f2e3d4c5b6a79880123456789abcdef\
&NumMedia=2&ToCity=SAN+FRANCISCO&FromZip=&SmsSid=MM1f2e3d4c5b6a79880123456789abcdef&FromState=\
&SmsStatus=received&FromCity=&Body=Here+are+the+photos+%F0%9F%93%B8&FromCountry=GB&To=%2B14155550100\
&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC00000000000000000000000000000000%2FMessages%2FMM1f2e3d4c5b6a79880123456789abcdef%2FMedia%2FME111\
&MediaContentType1=image%2Fpng\
&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC00000000000000000000000000000000%2FMessages%2FMM1f2e3d4c5b6a79880123456789abcdef%2FMedia%2FME222\
&ToZip=94105&NumSegments=1&MessageSid=MM1f2e3d4c5b6a79880123456789abcdef&AccountSid=AC00000000000000000000000000000000\
&From=%2B447700900123&ApiVersion=2010-04-01",
        )
    }

    #[test]
    fn inbound_sms_with_two_media() {
        let m = parse_inbound(&sms_with_two_media(), now()).unwrap();
        assert_eq!(m.provider_message_id, "MM1f2e3d4c5b6a79880123456789abcdef");
        assert_eq!(m.network, Network::Sms);
        assert_eq!(m.contact.external_id, "+447700900123");
        assert_eq!(m.contact.phone.as_deref(), Some("+447700900123"));
        assert_eq!(m.contact.name, None);
        assert_eq!(m.business_id.as_deref(), Some("+14155550100"));
        assert_eq!(m.sent_at, now());
        assert_eq!(m.contents.len(), 3);
        assert_eq!(
            m.contents[0],
            Content::Text {
                body: "Here are the photos 📸".into()
            }
        );
        match &m.contents[2] {
            Content::Media {
                kind,
                source: MediaSource::Url(url),
                mime_type,
                ..
            } => {
                assert_eq!(*kind, MediaKind::Image);
                assert!(url.ends_with("/Media/ME222"), "{url}");
                assert_eq!(mime_type.as_deref(), Some("image/png"));
            }
            other => panic!("{other:?}"),
        }
        // The same body through the generic entry point.
        let events = parse_webhook(&sms_with_two_media(), now()).unwrap();
        assert!(matches!(&events[..], [WebhookEvent::Message(x)] if *x == m));
    }

    #[test]
    fn inbound_whatsapp_text() {
        let params = parse_form(
            b"SmsMessageSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9&NumMedia=0&ProfileName=Mar%C3%ADa+Jos%C3%A9\
&MessageType=text&SmsSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9&WaId=34612345678&SmsStatus=received\
&Body=Hola%2C+%C2%BFten%C3%A9is+mesa+para+4%3F&To=whatsapp%3A%2B14155238886&NumSegments=1\
&ReferralNumMedia=0&MessageSid=SM0a1b2c3d4e5f60718293a4b5c6d7e8f9&AccountSid=AC00000000000000000000000000000000\
&From=whatsapp%3A%2B34612345678&ApiVersion=2010-04-01",
        );
        let m = parse_inbound(&params, now()).unwrap();
        assert_eq!(m.network, Network::Whatsapp);
        assert_eq!(m.contact.external_id, "+34612345678");
        assert_eq!(m.contact.name.as_deref(), Some("María José"));
        assert_eq!(m.business_id.as_deref(), Some("+14155238886"));
        assert_eq!(
            m.contents,
            vec![Content::Text {
                body: "Hola, ¿tenéis mesa para 4?".into()
            }]
        );
        // `ReferralNumMedia=0` alone is no referral.
        assert_eq!(m.referral, None);
    }

    /// A WhatsApp message after a Click-to-WhatsApp ad, as Twilio forwards the referral.
    #[test]
    fn inbound_whatsapp_ad_referral() {
        let params = parse_form(
            b"SmsMessageSid=SMad1&NumMedia=0&ProfileName=Ana&MessageType=text&WaId=34612345678\
&Body=Hi%2C+I+saw+your+ad&To=whatsapp%3A%2B14155238886&MessageSid=SMad1&From=whatsapp%3A%2B34612345678\
&ReferralSourceId=120226305854810726&ReferralSourceType=ad&ReferralSourceUrl=https%3A%2F%2Ffb.me%2F3cr4Wqqkv\
&ReferralHeadline=Summer+sale&ReferralBody=Chat+with+us&ReferralCtwaClid=ARAkLkA8rmlFeiCk\
&ReferralMediaId=1234&ReferralMediaContentType=video%2Fmp4&ReferralMediaUrl=https%3A%2F%2Fcdn.example%2Fad.mp4\
&ReferralNumMedia=1&ApiVersion=2010-04-01",
        );
        let m = parse_inbound(&params, now()).unwrap();
        let r = m.referral.unwrap();
        assert_eq!(r.kind, ReferralKind::CtwaAd);
        assert_eq!(r.source_id.as_deref(), Some("120226305854810726"));
        assert_eq!(r.source_url.as_deref(), Some("https://fb.me/3cr4Wqqkv"));
        assert_eq!(r.headline.as_deref(), Some("Summer sale"));
        assert_eq!(r.body.as_deref(), Some("Chat with us"));
        assert_eq!(r.ctwa_clid.as_deref(), Some("ARAkLkA8rmlFeiCk"));
        assert_eq!(r.media_type.as_deref(), Some("video"));
        assert_eq!(r.video_url.as_deref(), Some("https://cdn.example/ad.mp4"));
        assert_eq!(r.image_url, None);
        assert_eq!(r.extra["media_id"], "1234");
        // Without ReferralCtwaClid there is no click id: never the ad id instead.
        let without: Vec<(String, String)> = params
            .into_iter()
            .filter(|(k, _)| k != "ReferralCtwaClid")
            .collect();
        let r = parse_inbound(&without, now()).unwrap().referral.unwrap();
        assert_eq!(r.ctwa_clid, None);
        assert_eq!(r.source_id.as_deref(), Some("120226305854810726"));
    }

    #[test]
    fn inbound_whatsapp_location_and_button() {
        let location = pairs(&[
            ("MessageSid", "SM1"),
            ("From", "whatsapp:+34612345678"),
            ("To", "whatsapp:+14155238886"),
            ("Body", ""),
            ("NumMedia", "0"),
            ("Latitude", "40.4168"),
            ("Longitude", "-3.7038"),
            ("Label", "Puerta del Sol"),
            ("Address", "Plaza de la Puerta del Sol, Madrid"),
            ("MessageType", "location"),
        ]);
        let m = parse_inbound(&location, now()).unwrap();
        assert_eq!(
            m.contents,
            vec![Content::Location {
                latitude: 40.4168,
                longitude: -3.7038,
                name: Some("Puerta del Sol".into()),
                address: Some("Plaza de la Puerta del Sol, Madrid".into()),
            }]
        );
        let button = pairs(&[
            ("MessageSid", "SM2"),
            ("From", "whatsapp:+34612345678"),
            ("To", "whatsapp:+14155238886"),
            ("Body", "Yes, confirm"),
            ("ButtonText", "Yes, confirm"),
            ("ButtonPayload", "confirm_order_123"),
            ("OriginalRepliedMessageSid", "SM9"),
        ]);
        let m = parse_inbound(&button, now()).unwrap();
        assert_eq!(
            m.contents,
            vec![Content::TemplateButton {
                payload: "confirm_order_123".into(),
                text: "Yes, confirm".into()
            }]
        );
        assert_eq!(m.reply_to.as_deref(), Some("SM9"));
    }

    #[test]
    fn inbound_with_nothing_known_is_unsupported() {
        let params = pairs(&[
            ("MessageSid", "SM3"),
            ("From", "whatsapp:+34612345678"),
            ("To", "whatsapp:+14155238886"),
            ("Body", ""),
            ("MessageType", "reaction"),
        ]);
        let m = parse_inbound(&params, now()).unwrap();
        assert_eq!(
            m.contents,
            vec![Content::Unsupported {
                kind: "reaction".into()
            }]
        );
    }

    #[test]
    fn inbound_from_a_short_code_keeps_the_raw_sender() {
        let params = pairs(&[
            ("MessageSid", "SM4"),
            ("From", "40404"),
            ("To", "+14155550100"),
            ("Body", "hi"),
        ]);
        let m = parse_inbound(&params, now()).unwrap();
        assert_eq!(m.contact.external_id, "40404");
        assert_eq!(m.contact.phone, None);
    }

    #[test]
    fn malformed_inbound_names_the_field() {
        let base = [
            ("MessageSid", "SM1"),
            ("From", "+447700900123"),
            ("To", "+14155550100"),
            ("Body", "hi"),
        ];
        let without = |key: &str| {
            let v: Vec<_> = base.iter().filter(|(k, _)| *k != key).copied().collect();
            pairs(&v)
        };
        let with = |extra: &[(&str, &str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            pairs(&v)
        };
        let cases = [
            (without("MessageSid"), "MessageSid"),
            (without("From"), "From"),
            (without("To"), "To"),
            (with(&[("NumMedia", "two")]), "NumMedia"),
            (with(&[("NumMedia", "11")]), "NumMedia"),
            (with(&[("NumMedia", "1")]), "MediaUrl0"),
            (with(&[("Latitude", "40.1")]), "Longitude"),
            (
                with(&[("Latitude", "north"), ("Longitude", "1")]),
                "Latitude",
            ),
        ];
        for (params, field) in cases {
            let err = parse_inbound(&params, now()).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        let rcs = pairs(&[
            ("MessageSid", "SM1"),
            ("From", "rcs:+1555"),
            ("To", "+1555"),
        ]);
        let err = parse_inbound(&rcs, now()).unwrap_err().to_string();
        assert!(err.contains("`rcs:`"), "{err}");
    }

    // --- status callbacks ----------------------------------------------------------------------

    fn status(s: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v = vec![
            ("SmsSid", "SM5f4e3d2c1b0a99887766554433221100"),
            ("SmsStatus", s),
            ("MessageStatus", s),
            ("To", "whatsapp:+34612345678"),
            ("MessageSid", "SM5f4e3d2c1b0a99887766554433221100"),
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("From", "whatsapp:+14155238886"),
            ("ApiVersion", "2010-04-01"),
        ];
        v.extend_from_slice(extra);
        pairs(&v)
    }

    #[test]
    fn every_status_maps_forward_only() {
        use DeliveryStatus::*;
        let table = [
            ("accepted", Some(Queued)),
            ("scheduled", Some(Queued)),
            ("queued", Some(Queued)),
            ("sending", Some(Queued)),
            ("sent", Some(Sent)),
            ("partially_delivered", Some(Sent)),
            ("delivered", Some(Delivered)),
            ("read", Some(Read)),
            ("undelivered", Some(Failed)),
            ("failed", Some(Failed)),
            ("canceled", Some(Failed)),
            ("receiving", None),
            ("received", None),
        ];
        for (raw, want) in table {
            let got = parse_status(&status(raw, &[])).unwrap();
            assert_eq!(got.as_ref().map(|s| s.status), want, "{raw}");
            if let Some(s) = got {
                assert_eq!(s.provider_message_id, "SM5f4e3d2c1b0a99887766554433221100");
                assert_eq!(s.recipient.as_deref(), Some("+34612345678"));
                assert_eq!(s.error.is_some(), s.status == Failed, "{raw}");
            }
        }
        let err = parse_status(&status("bounced", &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`bounced`"), "{err}");
    }

    #[test]
    fn failed_statuses_carry_the_error() {
        let s = parse_status(&status("failed", &[("ErrorCode", "63016")]))
            .unwrap()
            .unwrap();
        let e = s.error.unwrap();
        assert_eq!(e.to_string(), "63016: Outside messaging window");
        let s = parse_status(&status(
            "undelivered",
            &[
                ("ErrorCode", "30003"),
                ("ErrorMessage", "Unreachable destination handset"),
            ],
        ))
        .unwrap()
        .unwrap();
        let e = s.error.unwrap();
        assert_eq!(e.code, "30003");
        assert_eq!(e.detail.as_deref(), Some("Unreachable destination handset"));
        for code in ["30005", "30006", "30007", "21610"] {
            let s = parse_status(&status("undelivered", &[("ErrorCode", code)]))
                .unwrap()
                .unwrap();
            let e = s.error.unwrap();
            assert_eq!(e.code, code);
            assert!(!e.title.starts_with("Twilio error"), "{code} has a title");
        }
        let s = parse_status(&status("failed", &[("ErrorCode", "99999")]))
            .unwrap()
            .unwrap();
        assert_eq!(s.error.unwrap().title, "Twilio error 99999");
        let s = parse_status(&status("canceled", &[])).unwrap().unwrap();
        assert_eq!(s.error.unwrap().code, "canceled");
        // An error code on a delivered message is not a failure.
        let s = parse_status(&status("delivered", &[("ErrorCode", "0")]))
            .unwrap()
            .unwrap();
        assert_eq!(s.error, None);
    }

    #[test]
    fn duplicated_and_out_of_order_callbacks_settle_on_the_furthest_status() {
        let mut current = DeliveryStatus::Queued;
        for raw in ["sent", "read", "delivered", "sent", "read", "failed"] {
            let s = parse_status(&status(raw, &[])).unwrap().unwrap();
            if let Some(next) = current.advance(s.status) {
                current = next;
            }
        }
        assert_eq!(current, DeliveryStatus::Read);
    }

    #[test]
    fn status_webhook_is_recognised() {
        let events = parse_webhook(&status("delivered", &[]), now()).unwrap();
        assert!(
            matches!(&events[..], [WebhookEvent::Status(s)] if s.status == DeliveryStatus::Delivered)
        );
        let err = parse_status(&pairs(&[("MessageStatus", "sent")])).unwrap_err();
        assert_eq!(err, ParseError::Missing("MessageSid / SmsSid".into()));
    }

    // --- sending ---------------------------------------------------------------------------------

    const SID: &str = "AC00000000000000000000000000000000";

    fn form(req: &ProviderRequest) -> Vec<(String, String)> {
        match &req.body {
            RequestBody::Form(f) => f.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn send_text_sms() {
        let req = build_send(
            "https://api.twilio.com/",
            SID,
            "token",
            "+14155550100",
            "+447700900123",
            &OutboundContent::Text {
                body: "Your table is ready".into(),
            },
            Some("https://inbox.example.com/webhooks/twilio/status"),
        )
        .unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
        );
        assert_eq!(
            req.header("Authorization"),
            Some("Basic QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDp0b2tlbg==")
        );
        assert_eq!(
            req.header("Content-Type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            form(&req),
            pairs(&[
                ("To", "+447700900123"),
                ("From", "+14155550100"),
                ("Body", "Your table is ready"),
                (
                    "StatusCallback",
                    "https://inbox.example.com/webhooks/twilio/status"
                ),
            ])
        );
        assert_eq!(
            String::from_utf8(req.body.to_bytes()).unwrap(),
            "To=%2B447700900123&From=%2B14155550100&Body=Your+table+is+ready\
&StatusCallback=https%3A%2F%2Finbox.example.com%2Fwebhooks%2Ftwilio%2Fstatus"
        );
    }

    #[test]
    fn send_whatsapp_media_and_template() {
        let to = address(Network::Whatsapp, "+34612345678");
        assert_eq!(to, "whatsapp:+34612345678");
        let req = build_send(
            API_BASE_URL,
            SID,
            "t",
            "whatsapp:+14155238886",
            &to,
            &OutboundContent::Media {
                kind: MediaKind::Document,
                url: "https://files.example.com/menu.pdf".into(),
                caption: Some("Our menu".into()),
                filename: Some("menu.pdf".into()),
            },
            None,
        )
        .unwrap();
        assert_eq!(
            form(&req),
            pairs(&[
                ("To", "whatsapp:+34612345678"),
                ("From", "whatsapp:+14155238886"),
                ("Body", "Our menu"),
                ("MediaUrl", "https://files.example.com/menu.pdf"),
            ])
        );
        let req = build_send(
            API_BASE_URL,
            SID,
            "t",
            "MG0123456789abcdef0123456789abcdef",
            &to,
            &OutboundContent::Template {
                name: "HXb5b62575e6e4ff6129ad7c8efe1f983e".into(),
                language: "es".into(),
                parameters: vec!["12/1".into(), "3pm".into()],
            },
            None,
        )
        .unwrap();
        assert_eq!(
            form(&req),
            pairs(&[
                ("To", "whatsapp:+34612345678"),
                ("MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"),
                ("ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e"),
                ("ContentVariables", r#"{"1":"12/1","2":"3pm"}"#),
            ])
        );
    }

    #[test]
    fn send_refuses_what_twilio_would_refuse() {
        let send = |content: OutboundContent| {
            build_send(API_BASE_URL, SID, "t", "+1415", "+1416", &content, None)
        };
        assert!(matches!(
            send(OutboundContent::Text {
                body: "x".repeat(1601)
            }),
            Err(BuildError::TooLong {
                limit: 1600,
                actual: 1601,
                ..
            })
        ));
        assert!(send(OutboundContent::Text {
            body: "x".repeat(1600)
        })
        .is_ok());
        assert!(send(OutboundContent::Text { body: " ".into() }).is_err());
        let err = send(OutboundContent::Template {
            name: "order_update".into(),
            language: "en_US".into(),
            parameters: vec![],
        })
        .unwrap_err();
        assert!(err.to_string().contains("Content SID"), "{err}");
        assert!(build_send(
            API_BASE_URL,
            SID,
            "t",
            "+1415",
            " ",
            &OutboundContent::Text { body: "x".into() },
            None
        )
        .is_err());
    }

    // --- send responses ----------------------------------------------------------------------------

    #[test]
    fn accepted_send() {
        let body = br#"{"account_sid":"AC00000000000000000000000000000000","api_version":"2010-04-01","body":"Your table is ready","date_created":"Thu, 24 Aug 2023 05:01:45 +0000","direction":"outbound-api","error_code":null,"error_message":null,"from":"+14155550100","messaging_service_sid":null,"num_media":"0","num_segments":"1","price":null,"sid":"SM3f1c2b0a9d8e7f6a5b4c3d2e1f0a9b8c","status":"queued","to":"+447700900123","uri":"/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages/SM3f1c2b0a9d8e7f6a5b4c3d2e1f0a9b8c.json"}"#;
        assert_eq!(
            classify_send_response(201, body),
            SendOutcome::Accepted {
                provider_message_id: "SM3f1c2b0a9d8e7f6a5b4c3d2e1f0a9b8c".into()
            }
        );
        assert!(matches!(
            classify_send_response(201, b"<html>"),
            SendOutcome::Failed { error } if error.code == "invalid_response"
        ));
    }

    #[test]
    fn permanent_errors_fail() {
        let cases: [(u16, &[u8], &str); 5] = [
            (400, br#"{"code": 21211, "message": "The 'To' number 12345 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#, "21211"),
            (400, br#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}"#, "21610"),
            (401, br#"{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}"#, "20003"),
            (400, br#"{"code": 63016, "message": "", "status": 400}"#, "63016"),
            (404, b"not json", "http_404"),
        ];
        for (status, body, code) in cases {
            match classify_send_response(status, body) {
                SendOutcome::Failed { error } => {
                    assert_eq!(error.code, code);
                    assert!(!error.title.is_empty());
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        let SendOutcome::Failed { error } = classify_send_response(400, cases[0].1) else {
            panic!()
        };
        assert_eq!(
            error.title,
            "The 'To' number 12345 is not a valid phone number."
        );
        assert_eq!(
            error.detail.as_deref(),
            Some("https://www.twilio.com/docs/errors/21211")
        );
        let SendOutcome::Failed { error } = classify_send_response(400, cases[3].1) else {
            panic!()
        };
        assert_eq!(error.to_string(), "63016: Outside messaging window");
    }

    #[test]
    fn transient_errors_retry() {
        let cases: [(u16, &[u8]); 6] = [
            (
                429,
                br#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#,
            ),
            (
                500,
                br#"{"code": 20500, "message": "Internal Server Error", "status": 500}"#,
            ),
            (
                503,
                br#"{"code": 20503, "message": "Service Unavailable", "status": 503}"#,
            ),
            (502, b"<html>Bad gateway</html>"),
            (408, b""),
            (400, br#"{"code": 20429, "message": "Too Many Requests"}"#),
        ];
        for (status, body) in cases {
            assert!(
                matches!(
                    classify_send_response(status, body),
                    SendOutcome::Retry { .. }
                ),
                "{status}"
            );
        }
    }
}
