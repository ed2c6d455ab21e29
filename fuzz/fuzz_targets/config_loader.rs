//! The configuration loader on any text: `Settings::parse` (with an environment override
//! or none) and `Settings::from_toml` either give settings or a `ConfigError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::config::Settings;

fuzz_target!(|text: &str| {
    let _ = Settings::parse(text, |_| None);
    if let Ok(settings) = Settings::from_toml(text) {
        let _ = settings.validate();
        let _ = settings.database_url();
        let _ = format!("{settings:?}");
    }
});
