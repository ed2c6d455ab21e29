//! Properties of the API channel: a body signed with the inbox secret verifies and any
//! change to it does not; any header, and any JSON body through `InboundPayload::validate`,
//! never panics. The fuzz targets `api_inbound` and `signatures` check the same on a much
//! larger budget.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::api::{sign, verify, InboundPayload};
use super::prop_strategies::{json_value, one_byte_changed};

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[ -~]{0,8}".prop_map(Value::String),
        Just(Value::String("+44 7700 900123".to_owned())),
        Just(Value::String("07700 900123".to_owned())),
        any::<i64>().prop_map(Value::from),
        Just(Value::String("2026-03-01T12:00:00Z".to_owned())),
        json_value(),
    ]
}

proptest! {
    #[test]
    fn signed_bodies_verify_and_changed_ones_do_not(
        secret in any::<String>(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        at in any::<usize>(),
        flip in 1u8..=255,
    ) {
        let header = sign(&secret, &body);
        prop_assert!(verify(&secret, &body, Some(&header)));
        let padded = format!("  {header} ");
        prop_assert!(verify(&secret, &body, Some(&padded)));
        let changed = one_byte_changed(&body, at, flip);
        prop_assert!(!verify(&secret, &changed, Some(&header)));
        let other_secret = format!("{secret}x");
        prop_assert!(!verify(&other_secret, &body, Some(&header)));
    }

    #[test]
    fn arbitrary_headers_never_panic(
        secret in any::<String>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        header in proptest::option::of(any::<String>()),
    ) {
        let _ = verify(&secret, &body, header.as_deref());
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(payload) = serde_json::from_slice::<InboundPayload>(&body) {
            let _ = payload.validate(Some("44"));
        }
    }

    #[test]
    fn generated_payloads_validate_or_are_refused(
        external_id in text(),
        contact_id in text(),
        name in text(),
        phone in text(),
        email in text(),
        message in text(),
        timestamp in text(),
        cc in proptest::option::of(prop_oneof![Just("44"), Just("+39"), Just("1"), Just("x")]),
    ) {
        let body = json!({
            "external_id": external_id,
            "contact": {"external_id": contact_id, "name": name, "phone": phone, "email": email},
            "text": message,
            "timestamp": timestamp,
        });
        if let Ok(payload) = serde_json::from_value::<InboundPayload>(body) {
            let _ = payload.validate(cc);
        }
    }
}
