//! The configuration loader on any text: `Settings::parse` (with no environment, and with
//! every override variable set) and `Settings::from_toml` either give settings or a
//! `ConfigError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::config::Settings;

fuzz_target!(|text: &str| {
    let _ = Settings::parse(text, |_| None);
    // A first line `#!<value>` (a TOML comment) sets every variable the loader reads
    // (SWITCHBOARD_BIND, DATABASE_URL, SWITCHBOARD_INBOX_<ID>_SECRET…) to `<value>`.
    if let Some(value) = text.lines().next().and_then(|l| l.strip_prefix("#!")) {
        let _ = Settings::parse(text, |_| Some(value.to_owned()));
    }
    if let Ok(settings) = Settings::from_toml(text) {
        let _ = settings.validate();
        let _ = settings.database_url();
        let _ = format!("{settings:?}");
    }
});
