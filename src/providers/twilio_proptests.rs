//! Properties of Twilio's form parsing, webhooks and signatures, for any input: parsing
//! never panics, a form encoded as Twilio posts it decodes back to the same fields, and a
//! signature computed with the auth token verifies while a changed request does not. The
//! fuzz targets `twilio_webhook` and `signatures` check the same on a much larger budget.

use chrono::DateTime;
use proptest::prelude::*;

use super::normalized::form_encode;
use super::prop_strategies::{edits, mutate};
use super::twilio::{
    expected_signature, parse_form, parse_status, parse_webhook, verify_json_signature,
    verify_signature,
};

/// Captured and documented webhook bodies (the fuzz target's seeds).
const SEEDS: &[&[u8]] = &[
    include_bytes!("../../fuzz/corpus/twilio_webhook/seed-02"),
    include_bytes!("../../fuzz/corpus/twilio_webhook/seed-03"),
    include_bytes!("../../fuzz/corpus/twilio_webhook/seed-05"),
    include_bytes!("../../fuzz/corpus/twilio_webhook/seed-06"),
    include_bytes!("../../fuzz/corpus/twilio_webhook/seed-08"),
];

/// Names the parsers read, so generated forms reach past the required fields.
const NAMES: &[&str] = &[
    "MessageSid",
    "SmsMessageSid",
    "SmsSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "MediaUrl1",
    "Latitude",
    "Longitude",
    "Label",
    "Address",
    "ProfileName",
    "WaId",
    "ButtonPayload",
    "ButtonText",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "ErrorMessage",
    "ReferralSourceType",
    "ReferralSourceUrl",
    "ReferralBody",
    "ReferralMediaContentType",
    "OriginalRepliedMessageSid",
    "ChannelPrefix",
];
const VALUES: &[&str] = &[
    "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "+447700900123",
    "whatsapp:+34612345678",
    "whatsapp:",
    "+",
    "1",
    "2",
    "10",
    "11",
    "-1",
    "image/jpeg",
    "video/mp4",
    "40.1",
    "NaN",
    "inf",
    "delivered",
    "undelivered",
    "failed",
    "read",
    "sent",
    "received",
    "30003",
    "63016",
    "https://api.twilio.com/x",
    "",
];

fn received_at() -> chrono::NaiveDateTime {
    DateTime::from_timestamp(1_767_225_600, 0)
        .expect("a fixed valid time")
        .naive_utc()
}

fn field() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let value = prop_oneof![
        3 => proptest::sample::select(VALUES).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    (name, value)
}

#[test]
fn the_seeds_parse() {
    for seed in SEEDS {
        let events =
            parse_webhook(&parse_form(seed), received_at()).expect("a documented example parses");
        assert_eq!(events.len(), 1);
    }
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let params = parse_form(&body);
        let _ = parse_webhook(&params, received_at());
        let _ = parse_status(&params);
    }

    #[test]
    fn generated_forms_never_panic(params in prop::collection::vec(field(), 0..16)) {
        let _ = parse_webhook(&params, received_at());
        let _ = parse_status(&params);
    }

    #[test]
    fn edited_examples_never_panic(seed in 0..SEEDS.len(), edits in edits()) {
        let params = parse_form(&mutate(SEEDS[seed], &edits));
        let _ = parse_webhook(&params, received_at());
    }

    /// What we encode (and what Twilio posts) decodes to the same fields, in order.
    #[test]
    fn form_encoding_round_trips(fields in prop::collection::vec((any::<String>(), any::<String>()), 0..8)) {
        prop_assert_eq!(parse_form(form_encode(&fields).as_bytes()), fields);
    }

    #[test]
    fn signatures_round_trip(
        token in "[!-~]{1,40}",
        url in "https?://[a-z.]{1,20}(:[0-9]{1,5})?/[!-~]{0,30}",
        params in prop::collection::vec((any::<String>(), any::<String>()), 0..6),
        extra in any::<String>(),
    ) {
        let signed = expected_signature(&token, &url, &params);
        prop_assert!(verify_signature(&token, &url, &params, Some(&signed)));
        // Whatever order the form arrives in.
        let mut reordered = params.clone();
        reordered.reverse();
        prop_assert!(verify_signature(&token, &url, &reordered, Some(&signed)));
        let mut added = params.clone();
        added.push(("Tampered".to_owned(), extra));
        prop_assert!(!verify_signature(&token, &url, &added, Some(&signed)));
        let other_token = format!("{token}x");
        prop_assert!(!verify_signature(&other_token, &url, &params, Some(&signed)));
        prop_assert!(!verify_signature("", &url, &params, Some(&signed)));
    }

    #[test]
    fn arbitrary_signature_headers_never_panic(
        token in any::<String>(),
        url in any::<String>(),
        header in proptest::option::of(any::<String>()),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let _ = verify_signature(&token, &url, &parse_form(&body), header.as_deref());
        let _ = verify_json_signature(&token, &url, &body, header.as_deref());
    }
}
