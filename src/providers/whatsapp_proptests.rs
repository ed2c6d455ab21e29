//! Properties of the WhatsApp Cloud API notification parser, for any input: it returns
//! events or a `ParseError`, never panics. The fuzz target `whatsapp_webhook` checks the
//! same on a much larger budget (see README, "Fuzzing").

use proptest::prelude::*;

use super::prop_strategies::{edits, mutate, webhook};
use super::whatsapp::parse_notification;

/// The documented example notifications the unit tests use (the fuzz target's seeds).
const SEEDS: &[&[u8]] = &[
    include_bytes!("../../fuzz/corpus/whatsapp_webhook/seed-00"),
    include_bytes!("../../fuzz/corpus/whatsapp_webhook/seed-01"),
    include_bytes!("../../fuzz/corpus/whatsapp_webhook/seed-02"),
];

#[test]
fn the_seeds_parse() {
    for seed in SEEDS {
        let events = parse_notification(seed).expect("a documented example parses");
        assert!(!events.is_empty());
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_notification(&body);
    }

    #[test]
    fn generated_notifications_never_panic(body in webhook("whatsapp_business_account")) {
        let _ = parse_notification(&body);
    }

    #[test]
    fn edited_examples_never_panic(seed in 0..SEEDS.len(), edits in edits()) {
        let _ = parse_notification(&mutate(SEEDS[seed], &edits));
    }
}
