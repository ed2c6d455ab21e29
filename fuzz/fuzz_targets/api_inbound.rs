//! The API channel's inbound body as `POST /webhooks/api/{inbox}` reads it: JSON into
//! `InboundPayload`, then `validate` with the inbox's default country code (or none).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::providers::api::InboundPayload;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the inbox's default country code, the rest is the body.
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let cc = match pick % 4 {
        0 => None,
        1 => Some("44"),
        2 => Some("+39"),
        _ => Some("1"),
    };
    if let Ok(payload) = serde_json::from_slice::<InboundPayload>(body) {
        let _ = payload.validate(cc);
    }
});
