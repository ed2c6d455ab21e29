//! Phone normalisation on any text and default country code: never a panic, what comes out
//! is E.164, and normalising it again gives it back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::providers::phone;

fuzz_target!(|data: &str| {
    // `<default country code>|<number>`, or the whole input as a number with none.
    let (cc, raw) = match data.split_once('|') {
        Some((cc, raw)) => (Some(cc), raw),
        None => (None, data),
    };
    if let Ok(e164) = phone::to_e164(raw, cc) {
        assert!(phone::is_e164(&e164), "{e164:?} from {raw:?} is not E.164");
        assert_eq!(phone::to_e164(&e164, cc).as_deref(), Ok(e164.as_str()));
        assert_eq!(phone::to_e164(&e164, None).as_deref(), Ok(e164.as_str()));
        let _ = phone::without_plus(&e164);
    }
    let _ = phone::is_e164(raw);
});
