//! Messenger and Instagram webhooks: any body either parses into events or is refused with
//! a `ParseError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::providers::{meta, normalized::WebhookEvent};

fuzz_target!(|body: &[u8]| {
    if let Ok(events) = meta::parse_webhook(body) {
        for event in &events {
            if let WebhookEvent::Message(m) = event {
                let _ = m.summary();
            }
            let _ = format!("{event:?}");
        }
    }
});
