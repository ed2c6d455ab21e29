//! Properties of the Messenger and Instagram webhook parser, for any input: it returns
//! events or a `ParseError`, never panics. The fuzz target `meta_webhook` checks the same
//! on a much larger budget (see README, "Fuzzing").

use proptest::prelude::*;

use super::meta::parse_webhook;
use super::prop_strategies::{edits, mutate, webhook};

/// The documented example webhooks the unit tests use (the fuzz target's seeds).
const SEEDS: &[&[u8]] = &[
    include_bytes!("../../fuzz/corpus/meta_webhook/seed-00"),
    include_bytes!("../../fuzz/corpus/meta_webhook/seed-01"),
    include_bytes!("../../fuzz/corpus/meta_webhook/seed-02"),
    include_bytes!("../../fuzz/corpus/meta_webhook/seed-03"),
];

#[test]
fn the_seeds_parse() {
    for seed in SEEDS {
        let events = parse_webhook(seed).expect("a documented example parses");
        assert!(!events.is_empty());
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_webhook(&body);
    }

    #[test]
    fn generated_messenger_webhooks_never_panic(body in webhook("page")) {
        let _ = parse_webhook(&body);
    }

    #[test]
    fn generated_instagram_webhooks_never_panic(body in webhook("instagram")) {
        let _ = parse_webhook(&body);
    }

    #[test]
    fn edited_examples_never_panic(seed in 0..SEEDS.len(), edits in edits()) {
        let _ = parse_webhook(&mutate(SEEDS[seed], &edits));
    }
}
