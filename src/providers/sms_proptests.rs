//! Properties of the SMS segmenter, for any text: the parts add up to the whole message (no
//! unit lost or counted twice), each part fits its encoding's limit, the unit count is the
//! encoding's (septets for GSM-7, UTF-16 code units for UCS-2), and the look-alike encoding
//! is idempotent and only ever yields GSM-7 when it changes anything. The fuzz target
//! `sms_segments` checks the same on a much larger budget.

use proptest::prelude::*;

use super::sms::{
    is_gsm7, segments, smart_encode, Encoding, GSM7_MULTI, GSM7_SINGLE, UCS2_MULTI, UCS2_SINGLE,
};

/// Text mixing GSM-7 (basic and extension), look-alikes, accents, emoji sequences, flags and
/// combining marks, long enough to need several parts.
fn sms_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 @£€{}\\[\\]~^|\\\\\n]{0,400}",
        "[a-z €–—“”‘’…\u{00A0}\u{FF01}-\u{FF5E}]{0,400}",
        "[a-zé😀👍🏽\u{1F3FB}\u{200D}\u{FE0F}\u{1F1EA}\u{1F1F8}\u{0301}\u{E0067}]{0,300}",
    ]
}

proptest! {
    #[test]
    fn parts_add_up_and_fit_their_limit(text in sms_text()) {
        let info = segments(&text);
        prop_assert_eq!(info.segments, info.per_segment.len());
        prop_assert_eq!(info.per_segment.iter().sum::<usize>(), info.units);
        let (single, multi) = match info.encoding {
            Encoding::Gsm7 => (GSM7_SINGLE, GSM7_MULTI),
            Encoding::Ucs2 => (UCS2_SINGLE, UCS2_MULTI),
        };
        let limit = if info.segments > 1 { multi } else { single };
        prop_assert!(info.per_segment.iter().all(|&n| n > 0 && n <= limit), "{:?}", info);
        prop_assert_eq!(info.segments == 0, text.is_empty());
        match info.encoding {
            Encoding::Gsm7 => {
                prop_assert!(text.chars().all(is_gsm7));
                prop_assert!(info.units >= text.chars().count());
            }
            Encoding::Ucs2 => {
                prop_assert!(!text.chars().all(is_gsm7));
                prop_assert_eq!(info.units, text.encode_utf16().count());
            }
        }
        // No part could have taken more: packing is greedy, so two neighbours never fit in one.
        for pair in info.per_segment.windows(2) {
            prop_assert!(pair[0] + pair[1] > limit);
        }
    }

    #[test]
    fn the_look_alike_encoding_is_gsm7_and_idempotent(text in sms_text()) {
        let encoded = smart_encode(&text);
        if encoded != text {
            prop_assert!(encoded.chars().all(is_gsm7), "{:?}", encoded);
            prop_assert_eq!(segments(&encoded).encoding, Encoding::Gsm7);
        }
        let again = smart_encode(&encoded);
        prop_assert_eq!(again.as_ref(), encoded.as_ref());
    }
}
