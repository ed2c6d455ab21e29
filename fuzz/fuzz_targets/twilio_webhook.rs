//! Twilio's form webhooks as the handlers read them: the form is decoded, cleaned, then
//! parsed as an inbound message or a status callback (both endpoints), never a panic.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use switchboard::{domain::text, providers::twilio};

fuzz_target!(|body: &[u8]| {
    let params: Vec<(String, String)> = twilio::parse_form(body)
        .into_iter()
        .map(|(k, v)| (text::clean_owned(k), text::clean_owned(v)))
        .collect();
    let received_at = DateTime::from_timestamp(1_700_000_000, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default();
    if let Ok(events) = twilio::parse_webhook(&params, received_at) {
        let _ = format!("{events:?}");
    }
    let _ = twilio::parse_status(&params);
});
