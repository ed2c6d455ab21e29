//! Properties of the configuration loader, for any text and environment: `Settings::parse`
//! and `Settings::from_toml` give settings or a `ConfigError` naming the fault, never a panic;
//! and what `parse` accepts (file, then environment, then checks) `from_toml` accepts too
//! and passes `validate`. The fuzz target `config_loader` checks the same on a much larger
//! budget.

use proptest::prelude::*;

use super::Settings;

/// The shipped example, the loader's richest valid input.
const EXAMPLE: &str = include_str!("../../switchboard.toml");

const SECTIONS: &[&str] = &[
    "server",
    "admin",
    "conversations",
    "outbox",
    "access",
    "realtime",
    "assignment",
    "review",
    "broadcasts",
    "assistant",
    "inbox",
];

/// Keys of the settings structs (sections, inboxes and assistants).
const KEYS: &[&str] = &[
    "bind",
    "public_url",
    "data_dir",
    "database_url",
    "db_pool_size",
    "max_body_bytes",
    "shutdown_secs",
    "trust_forwarded_for",
    "id",
    "channel",
    "secret",
    "callback_url",
    "window_hours",
    "default_country_code",
    "phone_number_id",
    "access_token",
    "verify_token",
    "account_sid",
    "from",
    "page_id",
    "page_access_token",
    "platform",
    "api_version",
    "api_base_url",
    "timezone",
    "business_hours",
    "handoff_ack",
    "enabled",
    "text",
    "out_of_hours_text",
    "assistant",
    "kind",
    "name",
    "base_url",
    "model",
    "reply_delay_ms",
    "max_tokens",
    "temperature",
    "knowledge_base",
    "workers",
    "max_attempts",
    "initial_backoff_ms",
    "max_backoff_ms",
    "heartbeat_secs",
    "after_secs",
    "languages",
    "language",
    "templates",
    "smart_encoding",
    "csat",
    "follow_ups",
    "days",
    "open",
    "close",
    "password",
    "email",
    "messaging_limit",
    "throughput_per_second",
];

const CHANNELS: &[&str] = &["api", "whatsapp", "twilio", "meta", "widget", "fax"];

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "-?[0-9]{1,3}\\.[0-9]{1,3}",
        any::<bool>().prop_map(|b| b.to_string()),
        proptest::sample::select(CHANNELS).prop_map(|c| format!("{c:?}")),
        Just("\"0123456789abcdef0123456789abcdef\"".to_owned()),
        Just("\"https://inbox.example.com/hook\"".to_owned()),
        Just("\"127.0.0.1:0\"".to_owned()),
        Just("\"+14155550100\"".to_owned()),
        Just("\"Europe/Madrid\"".to_owned()),
        Just("[\"en\", \"es\"]".to_owned()),
        Just("{ enabled = true }".to_owned()),
        any::<String>().prop_map(|s| format!("{s:?}")),
    ]
}

/// A TOML document of known sections (some as arrays of tables) and known keys.
fn toml_document() -> impl Strategy<Value = String> {
    let section = (
        proptest::sample::select(SECTIONS),
        any::<bool>(),
        prop::collection::vec((proptest::sample::select(KEYS), toml_value()), 0..8),
    );
    prop::collection::vec(section, 0..6).prop_map(|sections| {
        let mut out = String::new();
        for (name, array, keys) in sections {
            if array {
                out.push_str(&format!("[[{name}]]\n"));
            } else {
                out.push_str(&format!("[{name}]\n"));
            }
            let mut seen = std::collections::HashSet::new();
            for (key, value) in keys {
                if seen.insert(key) {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
        }
        out
    })
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let parsed = Settings::parse(text, |_| None);
    let typed = Settings::from_toml(text);
    if parsed.is_ok() {
        let typed =
            typed.map_err(|e| TestCaseError::fail(format!("parse accepted, from_toml: {e}")))?;
        prop_assert!(typed.validate().is_ok());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn generated_documents_never_panic(text in toml_document()) {
        check(&text)?;
    }

    /// Every override variable (`SWITCHBOARD_BIND`, `DATABASE_URL`,
    /// `SWITCHBOARD_INBOX_<ID>_SECRET`…) set to one value, valid or not.
    #[test]
    fn environment_overrides_never_panic(
        text in toml_document(),
        value in prop_oneof![
            any::<String>(),
            Just("0123456789abcdef0123456789abcdef".to_owned()),
            Just("127.0.0.1:0".to_owned()),
        ],
    ) {
        let _ = Settings::parse(&text, |_| Some(value.clone()));
    }

    #[test]
    fn edited_example_never_panics(at in any::<usize>(), cut in 0usize..200, insert in toml_document()) {
        // The example with a piece cut out and a generated document put in its place, on a
        // line boundary so the result is still mostly TOML.
        let lines: Vec<&str> = EXAMPLE.lines().collect();
        let start = at % (lines.len() + 1);
        let end = (start + cut % 20).min(lines.len());
        let text = format!("{}\n{}\n{}", lines[..start].join("\n"), insert, lines[end..].join("\n"));
        check(&text)?;
    }
}
