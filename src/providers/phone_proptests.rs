//! Properties of phone normalisation, for any text and default country code: no panic,
//! what comes out is E.164, and normalising it again (with or without a default country
//! code) gives it back unchanged. The fuzz target `phone_normalise` checks the same on a
//! much larger budget.

use proptest::prelude::*;

use super::phone::{is_e164, to_e164, without_plus};

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(whatsapp:|tel:|WhatsApp:)?[+]?[0-9 ()\\-.]{0,24}",
        "(00|\\+)[1-9][0-9 ]{6,16}",
        "0[0-9]{6,14}",
    ]
}

fn country_code() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        "[+]?[0-9]{0,4}",
        Just("39".to_owned()),
        Just("+44".to_owned()),
        any::<String>(),
    ])
}

proptest! {
    #[test]
    fn normalising_is_idempotent(raw in number(), cc in country_code()) {
        if let Ok(e164) = to_e164(&raw, cc.as_deref()) {
            prop_assert!(is_e164(&e164), "{:?} from {:?}", e164, raw);
            prop_assert_eq!(to_e164(&e164, cc.as_deref()), Ok(e164.clone()));
            prop_assert_eq!(to_e164(&e164, None), Ok(e164.clone()));
            let rebuilt = format!("+{}", without_plus(&e164));
            prop_assert_eq!(rebuilt, e164.clone());
            let spaced = format!(" whatsapp:{} ", e164);
            prop_assert_eq!(to_e164(&spaced, None), Ok(e164));
        }
        if is_e164(&raw) {
            prop_assert_eq!(to_e164(&raw, None), Ok(raw.clone()));
        }
    }
}
