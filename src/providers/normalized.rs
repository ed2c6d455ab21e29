//! Provider-neutral shapes shared by the WhatsApp, Twilio and Meta adapters.
//!
//! Each adapter turns its provider's webhook into [`WebhookEvent`]s and turns an
//! [`OutboundContent`] into a [`ProviderRequest`]; the provider's answer becomes a
//! [`SendOutcome`]. Everything here is plain data with no I/O and no clock, so the whole
//! request/response format of every provider is unit-testable without a network. The actors
//! own the clock, the HTTP client and the database.

use std::{fmt, time::Duration};

use chrono::{DateTime, NaiveDateTime};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::domain::{delivery::DeliveryStatus, referral::Referral, types::MessageKind};

pub use crate::domain::types::Network;

/// Who wrote in, as far as the provider tells us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboundContact {
    /// The provider's stable id for the person: the WhatsApp `wa_id` (digits), the Twilio
    /// sender address in E.164, or the Messenger PSID / Instagram IGSID.
    pub external_id: String,
    pub name: Option<String>,
    /// E.164 (`+` and digits) when the provider identifies people by phone number.
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// What kind of file a media item is; it decides how the dashboard shows it and which
/// provider message type carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Document,
    Audio,
    /// A recorded voice note (WhatsApp `audio.voice: true`).
    Voice,
    Video,
    Sticker,
}

impl From<MediaKind> for MessageKind {
    fn from(kind: MediaKind) -> MessageKind {
        match kind {
            MediaKind::Image => MessageKind::Image,
            MediaKind::Document => MessageKind::Document,
            MediaKind::Audio => MessageKind::Audio,
            MediaKind::Voice => MessageKind::Voice,
            MediaKind::Video => MessageKind::Video,
            MediaKind::Sticker => MessageKind::Sticker,
        }
    }
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Document => "document",
            MediaKind::Audio => "audio",
            MediaKind::Voice => "voice",
            MediaKind::Video => "video",
            MediaKind::Sticker => "sticker",
        }
    }

    /// The file kind of a stored message kind, `None` for kinds without a file.
    pub fn of(kind: MessageKind) -> Option<MediaKind> {
        Some(match kind {
            MessageKind::Image => MediaKind::Image,
            MessageKind::Document => MediaKind::Document,
            MessageKind::Audio => MediaKind::Audio,
            MessageKind::Voice => MediaKind::Voice,
            MessageKind::Video => MediaKind::Video,
            MessageKind::Sticker => MediaKind::Sticker,
            _ => return None,
        })
    }

    /// The kind a MIME type suggests; anything not image/audio/video is a document.
    pub fn from_mime(mime: &str) -> MediaKind {
        let major = mime.split('/').next().unwrap_or("").trim();
        match major.to_ascii_lowercase().as_str() {
            "image" => MediaKind::Image,
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            _ => MediaKind::Document,
        }
    }
}

/// Where the bytes of a media item can be fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// A WhatsApp Cloud API media id: fetch it with the two-step download
    /// (`whatsapp::media_download_request`, then the returned URL).
    ProviderId(String),
    /// A direct URL (Twilio `MediaUrlN`, Meta attachment `payload.url`). Twilio's needs the
    /// account's Basic auth when media protection is on; Meta's CDN URLs are pre-signed.
    Url(String),
}

/// One piece of what a customer sent. A Twilio MMS can carry text and several media.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Text {
        body: String,
    },
    Media {
        kind: MediaKind,
        source: MediaSource,
        mime_type: Option<String>,
        caption: Option<String>,
        filename: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    /// A tap on an interactive button or list row (WhatsApp `button_reply` / `list_reply`,
    /// Messenger quick replies and postbacks): `id` is the payload we set, `title` what the
    /// customer saw.
    InteractiveReply {
        id: String,
        title: String,
    },
    /// A tap on a template quick-reply button (WhatsApp `button` type, Twilio
    /// `ButtonPayload`).
    TemplateButton {
        payload: String,
        text: String,
    },
    /// A message type we store but do not render (reactions, contacts cards, orders…).
    /// `kind` is the provider's own type name, so nothing is silently lost.
    Unsupported {
        kind: String,
    },
}

impl Content {
    /// A one-line rendering for text-only views (conversation list, notifications, search).
    pub fn summary(&self) -> String {
        match self {
            Content::Text { body } => body.clone(),
            Content::Media {
                kind,
                caption,
                filename,
                ..
            } => {
                let label = match (caption, filename) {
                    (Some(c), _) if !c.is_empty() => format!(" {c}"),
                    (_, Some(f)) if !f.is_empty() => format!(" {f}"),
                    _ => String::new(),
                };
                format!("[{}]{label}", kind.as_str())
            }
            Content::Location {
                latitude,
                longitude,
                name,
                address,
            } => {
                let place = [name.as_deref(), address.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                if place.is_empty() {
                    format!("[location {latitude}, {longitude}]")
                } else {
                    format!("[location {latitude}, {longitude}] {place}")
                }
            }
            Content::InteractiveReply { title, .. } => title.clone(),
            Content::TemplateButton { text, .. } => text.clone(),
            Content::Unsupported { kind } => format!("[unsupported: {kind}]"),
        }
    }
}

/// A customer message, whatever the provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboundMessage {
    /// The provider's id for this message: the idempotency key (a retried webhook carries
    /// the same id, and must not create a second message).
    pub provider_message_id: String,
    pub network: Network,
    pub contact: InboundContact,
    /// When the customer sent it (UTC). Twilio gives no time, so it is the receipt time.
    pub sent_at: NaiveDateTime,
    /// Never empty: a message with nothing we understand holds one `Unsupported`.
    pub contents: Vec<Content>,
    /// Which of our numbers / pages / accounts received it (WhatsApp `phone_number_id`,
    /// Twilio `To`, Meta page or Instagram account id): routes the message to its inbox.
    pub business_id: Option<String>,
    /// The provider id of the message this one replies to, when the customer quoted one.
    pub reply_to: Option<String>,
    /// Where the person came from, when the message says (a Click-to-WhatsApp ad, an m.me
    /// link, a catalog product…): stored once, with the message.
    pub referral: Option<Referral>,
}

impl InboundMessage {
    /// All contents rendered on one line each (see [`Content::summary`]).
    pub fn summary(&self) -> String {
        self.contents
            .iter()
            .map(Content::summary)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An error a provider reported for a message, kept verbatim enough to show an agent why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderError {
    /// The provider's code as text (`131047`, `63016`, `10/2018278` for a Graph code with
    /// its subcode).
    pub code: String,
    pub title: String,
    pub detail: Option<String>,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.title)
    }
}

/// A provider's report about a message we sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusUpdate {
    /// The id the provider returned when we sent the message.
    pub provider_message_id: String,
    /// Apply with [`DeliveryStatus::advance`]: reports arrive late, twice and out of order.
    pub status: DeliveryStatus,
    /// When the provider says it happened, if it says.
    pub at: Option<NaiveDateTime>,
    pub error: Option<ProviderError>,
    /// Who the message was for (WhatsApp `recipient_id`, Twilio `To`), when given.
    pub recipient: Option<String>,
    /// What we sent with the message to be echoed here (WhatsApp `biz_opaque_callback_data`;
    /// the query of a Twilio per-message status URL): names a broadcast's recipient.
    pub callback_data: Option<String>,
}

/// Everything a webhook can tell us, in the order the provider listed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WebhookEvent {
    Message(InboundMessage),
    Status(StatusUpdate),
    /// A message the business itself sent (Meta `is_echo`), possibly from another tool such
    /// as the Page inbox. Record it if unknown; never treat it as the customer's.
    Echo {
        provider_message_id: String,
        /// The customer it went to (PSID / IGSID).
        recipient: String,
        text: Option<String>,
        at: NaiveDateTime,
        business_id: Option<String>,
    },
    /// Every message we sent to this contact up to `watermark` reached `status`
    /// (`Delivered` or `Read`): Messenger receipts name a time, not messages.
    Watermark {
        contact_external_id: String,
        business_id: Option<String>,
        status: DeliveryStatus,
        watermark: NaiveDateTime,
    },
    /// A person with an existing thread arrived from an m.me / ig.me link or an ad without
    /// writing (Messenger and Instagram `messaging_referrals`). No message carries it, so
    /// `event_key` (page, sender and the event's time) makes a retried webhook store it once.
    Referral {
        contact_external_id: String,
        business_id: Option<String>,
        referral: Referral,
        at: NaiveDateTime,
        event_key: String,
    },
    /// The person stopped or resumed marketing messages from this business inside WhatsApp
    /// (the `user_preferences` webhook field, `category: marketing_messages`).
    MarketingPreference {
        /// The WhatsApp `wa_id` (digits).
        contact_external_id: String,
        business_id: Option<String>,
        choice: MarketingChoice,
        at: NaiveDateTime,
        /// WhatsApp's own words (`detail`), for the timeline.
        detail: Option<String>,
    },
    /// A provider-side error not tied to one message (WhatsApp `value.errors[]`).
    Error {
        business_id: Option<String>,
        error: ProviderError,
    },
    /// Something well formed that we deliberately do not act on (another webhook field, a
    /// reaction event, an unknown status); worth a debug log, not an error.
    Skipped {
        reason: String,
    },
}

/// A person's choice about a business's marketing messages (WhatsApp `user_preferences`
/// `value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketingChoice {
    /// `stop`: marketing templates are refused (131050) until the person resumes.
    Stop,
    /// `resume`.
    Resume,
}

/// What to send: built by the conversation actor, turned into a provider request by each
/// adapter's `build_send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundContent {
    Text {
        body: String,
    },
    /// Media is sent by public URL: every provider fetches it itself.
    Media {
        kind: MediaKind,
        url: String,
        caption: Option<String>,
        filename: Option<String>,
    },
    /// A pre-approved template: the WhatsApp template name, or the Twilio Content SID
    /// (`HX…`). `parameters` fill `{{1}}`, `{{2}}`… in order.
    Template {
        name: String,
        language: String,
        parameters: Vec<String>,
    },
    /// An interactive list (WhatsApp Cloud only: the satisfaction survey). Free-form, so
    /// only inside the window like text.
    List(super::whatsapp::ListMessage),
}

impl OutboundContent {
    /// Templates are the only content allowed outside a customer-service window.
    pub fn is_template(&self) -> bool {
        matches!(self, OutboundContent::Template { .. })
    }
}

/// The body of a [`ProviderRequest`].
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    Empty,
    Json(Value),
    /// `application/x-www-form-urlencoded` fields, in order; repeated keys are allowed
    /// (Twilio's `MediaUrl`).
    Form(Vec<(String, String)>),
}

impl RequestBody {
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            RequestBody::Empty => None,
            RequestBody::Json(_) => Some("application/json"),
            RequestBody::Form(_) => Some("application/x-www-form-urlencoded"),
        }
    }

    /// The exact bytes to put on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            RequestBody::Empty => Vec::new(),
            RequestBody::Json(v) => v.to_string().into_bytes(),
            RequestBody::Form(fields) => form_encode(fields).into_bytes(),
        }
    }
}

/// A ready-to-send HTTP request, so each provider's request format is unit-testable without
/// a network. The lead's HTTP client sends `method url`, every header, and `body.to_bytes()`.
#[derive(Clone, PartialEq)]
pub struct ProviderRequest {
    pub method: &'static str,
    pub url: String,
    /// Includes `Authorization` and, when there is a body, `Content-Type`.
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
}

impl ProviderRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn new(
        method: &'static str,
        url: String,
        authorization: String,
        body: RequestBody,
    ) -> ProviderRequest {
        let mut headers = vec![("Authorization".to_owned(), authorization)];
        if let Some(ct) = body.content_type() {
            headers.push(("Content-Type".to_owned(), ct.to_owned()));
        }
        ProviderRequest {
            method,
            url,
            headers,
            body,
        }
    }
}

/// Hand-written so that logging a request never prints the access token.
impl fmt::Debug for ProviderRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("authorization") {
                    (k.as_str(), "<redacted>")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("ProviderRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

/// How a provider's answer to a send is classified.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Taken: store the id, status webhooks refer to it.
    Accepted { provider_message_id: String },
    /// Worth trying again (5xx, throttling, network). `after` is the provider's hint or our
    /// floor for that error; the outbox's own backoff applies when it is `None`.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will never work as is (window closed, bad number, bad credentials…).
    Failed { error: ProviderError },
}

impl SendOutcome {
    /// Applies an HTTP `Retry-After` header given in seconds to a `Retry`: the provider's own
    /// hint beats our defaults. Other outcomes and unparseable values pass through.
    pub fn with_retry_after(self, header: Option<&str>) -> SendOutcome {
        let secs = header.and_then(|h| h.trim().parse::<u64>().ok());
        match (self, secs) {
            (SendOutcome::Retry { reason, .. }, Some(s)) => SendOutcome::Retry {
                after: Some(Duration::from_secs(s)),
                reason,
            },
            (other, _) => other,
        }
    }

    /// What to send when the request never got an answer (connection refused, timeout):
    /// always worth retrying, since nothing was accepted as far as we know.
    pub fn network_error(reason: impl Into<String>) -> SendOutcome {
        SendOutcome::Retry {
            after: None,
            reason: reason.into(),
        }
    }
}

/// A webhook body that cannot be understood. The message names the exact JSON path or form
/// field, so the provider's debugger and our logs say what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{path}` {problem}")]
    Invalid { path: String, problem: String },
}

impl ParseError {
    pub(crate) fn invalid(path: impl Into<String>, problem: impl Into<String>) -> ParseError {
        ParseError::Invalid {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// Content a provider cannot carry, caught before any request is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{field} is {actual} characters; the limit is {limit}")]
    TooLong {
        field: &'static str,
        limit: usize,
        actual: usize,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Rejects text over a provider's limit, counted in Unicode scalar values as providers do.
pub(crate) fn check_len(field: &'static str, text: &str, limit: usize) -> Result<(), BuildError> {
    let actual = text.chars().count();
    if actual > limit {
        return Err(BuildError::TooLong {
            field,
            limit,
            actual,
        });
    }
    Ok(())
}

/// Rejects empty or whitespace-only text: providers refuse it with an unhelpful error.
pub(crate) fn check_not_blank(field: &'static str, text: &str) -> Result<(), BuildError> {
    if text.trim().is_empty() {
        return Err(BuildError::Invalid(format!("{field} must not be empty")));
    }
    Ok(())
}

/// Joins a configured base URL (with or without a trailing slash) and path segments, each
/// percent-encoded so an id can never add a path or a query.
pub(crate) fn join_url(base: &str, segments: &[&str]) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    for s in segments {
        url.push('/');
        url.push_str(&percent_encode(s, false));
    }
    url
}

/// Compares two secrets in time independent of where they differ and of their lengths:
/// both go through HMAC-SHA256 under a fixed key and the tags are compared with
/// `verify_slice`, which is constant time.
pub(crate) fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    const KEY: &[u8] = b"switchboard secret comparison";
    let (Ok(mut a), Ok(mut b)) = (
        Hmac::<Sha256>::new_from_slice(KEY),
        Hmac::<Sha256>::new_from_slice(KEY),
    ) else {
        return false;
    };
    a.update(expected);
    b.update(given);
    b.verify_slice(&a.finalize().into_bytes()).is_ok()
}

/// `application/x-www-form-urlencoded` as browsers and Twilio produce it.
pub(crate) fn form_encode(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k, true), percent_encode(v, true)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but `A-Za-z0-9*-._` (the WHATWG form set; `~` is encoded too,
/// which every decoder accepts). With `space_as_plus`, a space becomes `+`.
pub(crate) fn percent_encode(s: &str, space_as_plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' if space_as_plus => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0F)]));
            }
        }
    }
    out
}

/// A Unix time in seconds, as a string (WhatsApp) or a number.
pub(crate) fn unix_seconds(at: &At<'_>) -> Result<NaiveDateTime, ParseError> {
    let secs = match at.v {
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| at.invalid("must be Unix seconds"))?,
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| at.invalid("must be Unix seconds"))?,
        _ => return Err(at.invalid("must be Unix seconds")),
    };
    DateTime::from_timestamp(secs, 0)
        .map(|d| d.naive_utc())
        .ok_or_else(|| at.invalid("is out of range"))
}

/// A Unix time in milliseconds (Messenger, Instagram).
pub(crate) fn unix_millis(at: &At<'_>) -> Result<NaiveDateTime, ParseError> {
    let ms =
        at.v.as_i64()
            .ok_or_else(|| at.invalid("must be Unix milliseconds"))?;
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.naive_utc())
        .ok_or_else(|| at.invalid("is out of range"))
}

/// Parses a webhook body into JSON, naming the problem.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))
}

/// A JSON value together with its path from the root, so every error names where it is.
/// Missing and `null` are treated alike: providers use both for "absent".
#[derive(Debug)]
pub(crate) struct At<'a> {
    pub v: &'a Value,
    pub path: String,
}

impl<'a> At<'a> {
    pub fn root(v: &'a Value) -> At<'a> {
        At {
            v,
            path: String::new(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn invalid(&self, problem: &str) -> ParseError {
        ParseError::invalid(self.path.clone(), problem)
    }

    /// The field, or `None` when it is absent or `null`.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        match self.v.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(At {
                v,
                path: self.child_path(key),
            }),
        }
    }

    pub fn req(&self, key: &str) -> Result<At<'a>, ParseError> {
        self.get(key)
            .ok_or_else(|| ParseError::Missing(self.child_path(key)))
    }

    pub fn as_str(&self) -> Result<&'a str, ParseError> {
        self.v
            .as_str()
            .ok_or_else(|| self.invalid("must be a string"))
    }

    /// A required, non-empty string.
    pub fn req_str(&self, key: &str) -> Result<&'a str, ParseError> {
        let at = self.req(key)?;
        let s = at.as_str()?;
        if s.is_empty() {
            return Err(at.invalid("must not be empty"));
        }
        Ok(s)
    }

    /// An optional string; present with another type is an error.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ParseError> {
        self.get(key).map(|at| at.as_str()).transpose()
    }

    /// An optional string that also accepts numbers (ids some payloads send either way).
    pub fn opt_id(&self, key: &str) -> Result<Option<String>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(at) => match at.v {
                Value::String(s) => Ok(Some(s.clone())),
                Value::Number(n) => Ok(Some(n.to_string())),
                _ => Err(at.invalid("must be a string or a number")),
            },
        }
    }

    pub fn req_id(&self, key: &str) -> Result<String, ParseError> {
        match self.opt_id(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(ParseError::invalid(
                self.child_path(key),
                "must not be empty",
            )),
            None => Err(ParseError::Missing(self.child_path(key))),
        }
    }

    /// A string (or number) field read leniently: any other type, or blank, is `None`.
    /// For attribution, which must never cost the message that carries it.
    pub fn loose(&self, key: &str) -> Option<String> {
        match self.get(key)?.v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ParseError> {
        self.get(key)
            .map(|at| {
                at.v.as_bool()
                    .ok_or_else(|| at.invalid("must be a boolean"))
            })
            .transpose()
    }

    pub fn req_f64(&self, key: &str) -> Result<f64, ParseError> {
        let at = self.req(key)?;
        match at.v {
            Value::Number(n) => n.as_f64(),
            // Some senders quote coordinates.
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite())
        .ok_or_else(|| at.invalid("must be a number"))
    }

    /// The elements of an array field; absent means empty.
    pub fn opt_array(&self, key: &str) -> Result<Vec<At<'a>>, ParseError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(at) => at.elements(),
        }
    }

    /// The elements of a required array field.
    pub fn req_array(&self, key: &str) -> Result<Vec<At<'a>>, ParseError> {
        self.req(key)?.elements()
    }

    fn elements(&self) -> Result<Vec<At<'a>>, ParseError> {
        let items = self
            .v
            .as_array()
            .ok_or_else(|| self.invalid("must be an array"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| At {
                v,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn provider_error_displays_code_and_title() {
        let e = ProviderError {
            code: "131047".into(),
            title: "Re-engagement message".into(),
            detail: None,
        };
        assert_eq!(e.to_string(), "131047: Re-engagement message");
    }

    #[test]
    fn form_encoding_matches_browsers() {
        let fields = vec![
            ("To".to_owned(), "+14155552671".to_owned()),
            ("Body".to_owned(), "Olá & adeus = 100%~".to_owned()),
        ];
        assert_eq!(
            form_encode(&fields),
            "To=%2B14155552671&Body=Ol%C3%A1+%26+adeus+%3D+100%25%7E"
        );
        assert_eq!(
            RequestBody::Form(fields).content_type(),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[test]
    fn urls_join_without_double_slashes_and_escape_segments() {
        assert_eq!(
            join_url("https://graph.facebook.com/", &["v25.0", "123", "messages"]),
            "https://graph.facebook.com/v25.0/123/messages"
        );
        assert_eq!(join_url("http://h", &["a/b?c"]), "http://h/a%2Fb%3Fc");
    }

    #[test]
    fn secrets_compare_by_value_only() {
        assert!(secrets_equal(b"token", b"token"));
        assert!(!secrets_equal(b"token", b"tokeN"));
        assert!(!secrets_equal(b"token", b"token2"));
        assert!(!secrets_equal(b"", b"token"));
        assert!(secrets_equal(b"", b""));
    }

    #[test]
    fn debug_output_hides_the_authorization_header() {
        let r = ProviderRequest::new(
            "GET",
            "https://x".into(),
            "Bearer SECRET".into(),
            RequestBody::Empty,
        );
        let s = format!("{r:?}");
        assert!(!s.contains("SECRET"), "{s}");
        assert!(s.contains("<redacted>"));
        assert_eq!(r.header("authorization"), Some("Bearer SECRET"));
        assert_eq!(r.header("content-type"), None);
    }

    #[test]
    fn retry_after_overrides_only_retries() {
        let r = SendOutcome::Retry {
            after: None,
            reason: "x".into(),
        };
        assert_eq!(
            r.with_retry_after(Some(" 7 ")),
            SendOutcome::Retry {
                after: Some(Duration::from_secs(7)),
                reason: "x".into()
            }
        );
        let a = SendOutcome::Accepted {
            provider_message_id: "m".into(),
        };
        assert_eq!(a.clone().with_retry_after(Some("7")), a);
        let r = SendOutcome::network_error("timeout");
        assert_eq!(r.clone().with_retry_after(Some("soon")), r);
    }

    #[test]
    fn json_paths_name_the_problem() {
        let v: Value = serde_json::json!({"a": [{"b": 1, "c": null, "d": ""}]});
        let root = At::root(&v);
        let items = root.req_array("a").unwrap();
        assert_eq!(
            items[0].req_str("b").unwrap_err().to_string(),
            "`a[0].b` must be a string"
        );
        assert_eq!(
            items[0].req_str("c").unwrap_err().to_string(),
            "`a[0].c` is missing"
        );
        assert_eq!(
            items[0].req_str("d").unwrap_err().to_string(),
            "`a[0].d` must not be empty"
        );
        assert_eq!(items[0].req_id("b").unwrap(), "1");
        assert_eq!(
            root.req_array("z").unwrap_err(),
            ParseError::Missing("z".into())
        );
        assert!(root.opt_array("z").unwrap().is_empty());
    }

    #[test]
    fn timestamps_in_seconds_and_milliseconds() {
        let want = NaiveDate::from_ymd_opt(2023, 11, 14)
            .unwrap()
            .and_hms_opt(22, 13, 20)
            .unwrap();
        let s = Value::String("1700000000".into());
        assert_eq!(unix_seconds(&At::root(&s)).unwrap(), want);
        let n = serde_json::json!(1700000000);
        assert_eq!(unix_seconds(&At::root(&n)).unwrap(), want);
        let ms = serde_json::json!(1700000000123_i64);
        assert_eq!(
            unix_millis(&At::root(&ms)).unwrap(),
            want + chrono::Duration::milliseconds(123)
        );
        let bad = Value::String("yesterday".into());
        assert!(unix_seconds(&At::root(&bad)).is_err());
        let huge = serde_json::json!(i64::MAX);
        assert!(unix_seconds(&At::root(&huge)).is_err());
    }

    #[test]
    fn summaries_are_readable() {
        let m = Content::Media {
            kind: MediaKind::Image,
            source: MediaSource::Url("u".into()),
            mime_type: None,
            caption: Some("our menu".into()),
            filename: None,
        };
        assert_eq!(m.summary(), "[image] our menu");
        let l = Content::Location {
            latitude: 1.5,
            longitude: -2.0,
            name: Some("HQ".into()),
            address: None,
        };
        assert_eq!(l.summary(), "[location 1.5, -2] HQ");
        assert_eq!(MediaKind::from_mime("Image/PNG"), MediaKind::Image);
        assert_eq!(MediaKind::from_mime("application/pdf"), MediaKind::Document);
        assert_eq!(MediaKind::from_mime(""), MediaKind::Document);
    }
}
