//! Property-test inputs shared by the providers' `proptests` modules: JSON documents built
//! from the providers' own vocabulary (so generated webhooks reach past the first
//! `object`/`entry` check into the per-message parsers), and byte-level mutations of real
//! payloads.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys and string values the WhatsApp, Messenger and Instagram parsers look at.
pub const VOCABULARY: &[&str] = &[
    "object",
    "entry",
    "changes",
    "field",
    "value",
    "messages",
    "statuses",
    "errors",
    "contacts",
    "metadata",
    "phone_number_id",
    "display_phone_number",
    "profile",
    "name",
    "wa_id",
    "from",
    "id",
    "timestamp",
    "type",
    "text",
    "body",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "latitude",
    "longitude",
    "address",
    "url",
    "interactive",
    "button_reply",
    "list_reply",
    "button",
    "payload",
    "title",
    "description",
    "context",
    "referral",
    "source_url",
    "source_id",
    "source_type",
    "headline",
    "media_type",
    "image_url",
    "video_url",
    "thumbnail_url",
    "ctwa_clid",
    "welcome_message",
    "caption",
    "filename",
    "mime_type",
    "sha256",
    "voice",
    "status",
    "recipient_id",
    "conversation",
    "pricing",
    "error_data",
    "details",
    "code",
    "message",
    "user_preferences",
    "category",
    "detail",
    "delivered",
    "read",
    "sent",
    "failed",
    "deleted",
    "reaction",
    "emoji",
    "order",
    "catalog_id",
    "product_retailer_id",
    "referred_product",
    "unsupported",
    "system",
    "whatsapp_business_account",
    "messages",
    "page",
    "instagram",
    "messaging",
    "standby",
    "sender",
    "recipient",
    "mid",
    "mids",
    "watermark",
    "delivery",
    "postback",
    "quick_reply",
    "attachments",
    "is_echo",
    "is_deleted",
    "is_unsupported",
    "reply_to",
    "story",
    "ref",
    "ad_id",
    "ads_context_data",
    "ad_title",
    "photo_url",
    "referer_uri",
    "source",
    "file",
    "fallback",
    "sticker_id",
    "coordinates",
    "lat",
    "long",
    "error",
    "error_subcode",
    "is_transient",
    "app_id",
    "time",
    "1749416383",
    "1767225600000",
    "16505551234",
    "marketing_messages",
    "stop",
    "resume",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(VOCABULARY).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..2_000_000_000_000).prop_map(Value::from),
        word().prop_map(Value::String),
    ]
}

/// A JSON value whose keys and strings are mostly the providers' vocabulary.
pub fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A webhook-shaped document: `{"object": <object>, "entry": [...]}` with generated
/// entries, so the generated values are parsed as entries, changes and messages.
pub fn webhook(object: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(json_value(), 0..3).prop_map(move |entries| {
        serde_json::to_vec(&serde_json::json!({ "object": object, "entry": entries }))
            .unwrap_or_default()
    })
}

/// Edits to apply to a real payload: (position, byte, kind) triples.
pub fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8)
}

/// `base` with each edit applied: 0 replaces a byte, 1 inserts one, 2 deletes one.
pub fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = base.to_vec();
    for &(at, byte, kind) in edits {
        let len = out.len();
        match kind {
            0 if len > 0 => out[at % len] = byte,
            2 if len > 0 => {
                out.remove(at % len);
            }
            _ => out.insert(at % (len + 1), byte),
        }
    }
    out
}

/// `body` with the byte at `at` (modulo its length) changed by `flip` (never 0), or `flip`
/// appended to an empty body: always a different body, for the signature checks' "a changed
/// byte fails".
pub fn one_byte_changed(body: &[u8], at: usize, flip: u8) -> Vec<u8> {
    let mut changed = body.to_vec();
    match changed.len() {
        0 => changed.push(flip),
        n => changed[at % n] ^= flip,
    }
    changed
}
