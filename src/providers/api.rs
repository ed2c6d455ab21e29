//! The generic API channel: any system POSTs customer messages in and receives replies at a
//! callback URL, both signed with `X-Switchboard-Signature: sha256=<hex HMAC-SHA256(body)>`
//! using the inbox secret.

use chrono::{DateTime, NaiveDateTime};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::phone;
use crate::{
    clock,
    domain::{
        text, types::Author, AgentId, BroadcastId, ConversationId, InboxId, MessageId, RecipientId,
    },
    error::AppError,
};

pub const SIGNATURE_HEADER: &str = "X-Switchboard-Signature";

/// Longest accepted customer message, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
const MAX_ID_LEN: usize = 255;
const MAX_FIELD_CHARS: usize = 320;

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<hex>` for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature header over the raw body in constant time.
pub fn verify(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// What a system sends to `POST /webhooks/api/{inbox}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApiInboundMessage)]
pub struct InboundPayload {
    /// The sender's id for this message; the same id twice is one message.
    #[schema(min_length = 1, max_length = 255)]
    pub external_id: String,
    pub contact: InboundContact,
    /// What the customer wrote: something visible, at most 4096 characters.
    #[schema(min_length = 1, max_length = 4096)]
    pub text: String,
    /// RFC 3339 string or Unix seconds; the time of receipt when absent.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
}

/// The customer, as the sending system knows them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApiInboundContact)]
pub struct InboundContact {
    /// The sender's id for this person: one conversation per person.
    #[schema(min_length = 1, max_length = 255)]
    pub external_id: String,
    #[serde(default)]
    #[schema(max_length = 320)]
    pub name: Option<String>,
    /// E.164, or national with the inbox's `default_country_code`.
    #[serde(default)]
    #[schema(max_length = 320)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(max_length = 320)]
    pub email: Option<String>,
}

/// When the customer sent it: Unix seconds, or an RFC 3339 date and time.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = ApiTimestamp)]
pub enum Timestamp {
    Unix(i64),
    Rfc3339(String),
}

/// A validated inbound message.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub external_id: String,
    pub contact: crate::db::queries::ContactInput,
    pub text: String,
    /// The sender's time for the message, if it gave one.
    pub sent_at: Option<NaiveDateTime>,
}

fn check_id(field: &str, v: &str) -> Result<String, AppError> {
    check_field(field, v)?;
    let v = v.trim();
    if v.is_empty() || v.len() > MAX_ID_LEN {
        return Err(AppError::Validation(format!(
            "`{field}` must be 1-{MAX_ID_LEN} bytes"
        )));
    }
    Ok(v.to_owned())
}

fn check_optional(field: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    if let Some(v) = &v {
        check_field(field, v)?;
    }
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_FIELD_CHARS => Err(AppError::Validation(format!(
            "`{field}` must be at most {MAX_FIELD_CHARS} characters"
        ))),
        other => Ok(other),
    }
}

impl InboundPayload {
    /// Checks every field, naming the one at fault. The phone is stored in E.164 (national
    /// numbers take the inbox's `default_country_code`), so the same person on other channels
    /// is recognised. The timestamp is parsed here; how far it is believed is the
    /// conversation's rule (see `domain::conversation::believable_time`).
    pub fn validate(self, default_country_code: Option<&str>) -> Result<Inbound, AppError> {
        let external_id = check_id("external_id", &self.external_id)?;
        let contact_id = check_id("contact.external_id", &self.contact.external_id)?;
        check_field("text", &self.text)?;
        let text = text::trim_visible(&self.text);
        if text.is_empty() || text::is_blank(text) {
            return Err(AppError::Validation("`text` must not be empty".to_owned()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::Validation(format!(
                "`text` must be at most {MAX_TEXT_CHARS} characters"
            )));
        }
        let sent_at = match self.timestamp {
            None => None,
            Some(Timestamp::Unix(secs)) => Some(
                DateTime::from_timestamp(secs, 0)
                    .map(|d| d.naive_utc())
                    .ok_or_else(|| {
                        AppError::Validation("`timestamp` is out of range".to_owned())
                    })?,
            ),
            Some(Timestamp::Rfc3339(s)) => {
                check_field("timestamp", &s)?;
                Some(
                    DateTime::parse_from_rfc3339(&s)
                        .map(|d| clock::truncate(d.naive_utc()))
                        .map_err(|e| {
                            AppError::Validation(format!("`timestamp` is not RFC 3339: {e}"))
                        })?,
                )
            }
        };
        let phone = check_optional("contact.phone", self.contact.phone)?
            .map(|p| {
                phone::to_e164(&p, default_country_code).map_err(|e| {
                    AppError::Validation(format!("`contact.phone` is not a phone number: {e}"))
                })
            })
            .transpose()?;
        let email = check_optional("contact.email", self.contact.email)?;
        if email.as_deref().is_some_and(|e| !text::is_email_address(e)) {
            return Err(AppError::Validation(
                "`contact.email` is not an email address".to_owned(),
            ));
        }
        Ok(Inbound {
            external_id,
            contact: crate::db::queries::ContactInput {
                external_id: contact_id,
                name: check_optional("contact.name", self.contact.name)?
                    .map(|n| text::trim_visible(&n).to_owned())
                    .filter(|n| !text::is_blank(n)),
                phone,
                email,
            },
            text: text.to_owned(),
            sent_at,
        })
    }
}

/// What Switchboard POSTs to the inbox's callback URL for each assistant or agent message.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
pub struct OutboundPayload {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub inbox: InboxId,
    pub contact: OutboundContact,
    pub text: String,
    /// `assistant` or `agent`.
    pub author: Author,
    pub agent_id: Option<AgentId>,
    pub sent_at: NaiveDateTime,
}

/// What Switchboard POSTs to the inbox's callback URL for each recipient of a broadcast: the
/// fields of a reply, with `broadcast_id`, `author` `"broadcast"` and no conversation (the
/// broadcast is not part of one until the customer answers). `message_id` is the recipient's
/// id, the same on every delivery attempt, so receivers deduplicate on it as on replies.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
pub struct BroadcastPayload {
    pub message_id: RecipientId,
    pub broadcast_id: BroadcastId,
    pub inbox: InboxId,
    pub contact: OutboundContact,
    pub text: String,
    /// Always `broadcast`.
    pub author: String,
    pub sent_at: NaiveDateTime,
}

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
pub struct OutboundContact {
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Refuses a field holding U+0000 (a 422 naming it).
fn check_field(field: &str, value: &str) -> Result<(), AppError> {
    text::refuse_nul(field, value).map_err(AppError::Validation)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trips_and_rejects_tampering() {
        let body = br#"{"text":"hi"}"#;
        let sig = sign("s3cret-s3cret-s3cret", body);
        assert!(sig.starts_with("sha256="));
        assert!(verify("s3cret-s3cret-s3cret", body, Some(&sig)));
        assert!(!verify("other-secret-value", body, Some(&sig)));
        assert!(!verify(
            "s3cret-s3cret-s3cret",
            br#"{"text":"ho"}"#,
            Some(&sig)
        ));
        assert!(!verify("s3cret-s3cret-s3cret", body, None));
        assert!(!verify("s3cret-s3cret-s3cret", body, Some("sha256=zz")));
        assert!(!verify(
            "s3cret-s3cret-s3cret",
            body,
            Some(&sig.replace("sha256=", "sha1="))
        ));
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn payload(json: &str) -> InboundPayload {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (
                r#"{"external_id":"","contact":{"external_id":"c"},"text":"hi"}"#,
                "external_id",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":" "},"text":"hi"}"#,
                "contact.external_id",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c"},"text":"  "}"#,
                "text",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c"},"text":"\u200b\u200b"}"#,
                "text",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c"},"text":"a\u0000b"}"#,
                "text",
            ),
            (
                r#"{"external_id":"m\u0000","contact":{"external_id":"c"},"text":"hi"}"#,
                "external_id",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c","name":"\u0000"},"text":"hi"}"#,
                "contact.name",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c","phone":"abc"},"text":"hi"}"#,
                "contact.phone",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c","email":"not-an-email"},"text":"hi"}"#,
                "contact.email",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c"},"text":"hi","timestamp":"yesterday"}"#,
                "timestamp",
            ),
            (
                r#"{"external_id":"m","contact":{"external_id":"c"},"text":"hi","timestamp":-99999999999999999}"#,
                "timestamp",
            ),
        ];
        for (json, field) in cases {
            let err = payload(json).validate(None).unwrap_err().to_string();
            assert!(err.contains(&format!("`{field}`")), "{json}: {err}");
        }
        let long = format!(
            r#"{{"external_id":"m","contact":{{"external_id":"c"}},"text":"{}"}}"#,
            "a".repeat(MAX_TEXT_CHARS + 1)
        );
        assert!(payload(&long).validate(None).is_err());
    }

    #[test]
    fn timestamps_in_both_forms_and_contacts_normalised() {
        let a = payload(r#"{"external_id":"m","contact":{"external_id":"c"},"text":"hi","timestamp":1700000000}"#)
            .validate(None)
            .unwrap();
        let b = payload(
            r#"{"external_id":"m","contact":{"external_id":"c"},"text":"hi","timestamp":"2023-11-14T22:13:20Z"}"#,
        )
        .validate(None)
        .unwrap();
        assert!(a.sent_at.is_some());
        assert_eq!(a.sent_at, b.sent_at);
        let c = payload(
            r#"{"external_id":"m","contact":{"external_id":"c","name":" Ana \u200b","phone":"612 34 56 78","email":"ana@example.com"},"text":" hi "}"#,
        )
        .validate(Some("34"))
        .unwrap();
        assert_eq!(
            (
                c.sent_at,
                c.text.as_str(),
                c.contact.name.as_deref(),
                c.contact.phone.as_deref(),
                c.contact.email.as_deref()
            ),
            (
                None,
                "hi",
                Some("Ana"),
                Some("+34612345678"),
                Some("ana@example.com")
            )
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<InboundPayload>(
            r#"{"external_id":"m","contact":{"external_id":"c"},"text":"hi","extra":1}"#
        )
        .is_err());
    }
}
