//! Rules for text that comes from outside, the same whichever database stores it.
//!
//! PostgreSQL cannot store U+0000 (NUL) in text at all, while SQLite stores it; other control
//! characters and zero-width characters are storable but invisible, and bidi controls reorder
//! what is shown around them. So text is made valid before it reaches either backend:
//! - what a customer wrote through a provider or the widget is **cleaned**: the customer
//!   cannot be asked to write again, and refusing the webhook would only make the provider
//!   retry it for days ([`clean`], [`clean_json`]);
//! - what an integrator or an agent sends to our API is **refused** with an error naming the
//!   field ([`has_nul`]), since the sender can fix it.

use std::borrow::Cow;

use serde_json::Value;

/// Whether `s` holds U+0000, which no backend may receive.
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// Refuses a field holding U+0000, with the message the API answers (a 422 naming the field).
pub fn refuse_nul(field: &str, value: &str) -> Result<(), String> {
    match has_nul(value) {
        true => Err(nul_message(field)),
        false => Ok(()),
    }
}

/// Why a field holding U+0000 is refused.
pub fn nul_message(field: &str) -> String {
    format!("`{field}` must not contain the NUL character (U+0000)")
}

/// A control character that carries nothing a reader sees: C0 controls other than tab, line
/// feed and carriage return, DEL, and the C1 controls.
fn is_noise(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Customer text without NUL and other invisible control characters (tab and line breaks
/// stay). Borrows when there is nothing to remove, which is almost always.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_noise) {
        Cow::Owned(s.chars().filter(|c| !is_noise(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// [`clean`] for an owned string.
pub fn clean_owned(s: String) -> String {
    match clean(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(cleaned) => cleaned,
    }
}

/// A provider's JSON body with every string (keys included) [`clean`]ed. In JSON a control
/// character can only be written as a `\u00XX` escape, so bodies without such an escape are
/// returned as they are, unparsed.
pub fn clean_json(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.windows(6).any(escapes_noise) {
        return Cow::Borrowed(raw);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(raw) else {
        // Not JSON: the provider's parser gives the error.
        return Cow::Borrowed(raw);
    };
    clean_value(&mut value);
    match serde_json::to_vec(&value) {
        Ok(bytes) => Cow::Owned(bytes),
        Err(_) => Cow::Borrowed(raw),
    }
}

/// `\u00XX` naming a character [`is_noise`] may remove (C0, DEL or C1), in either case.
fn escapes_noise(w: &[u8]) -> bool {
    match w {
        [b'\\', b'u', b'0', b'0', x, y] => match x {
            b'0' | b'1' | b'8' | b'9' => true,
            b'7' => matches!(y, b'f' | b'F'),
            _ => false,
        },
        _ => false,
    }
}

fn clean_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(c) = clean(s) {
                *s = c;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_value),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut item) in entries {
                clean_value(&mut item);
                map.insert(clean(&k).into_owned(), item);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Characters that take no room on screen: zero-width spaces and joiners, the byte-order mark,
/// the soft hyphen, and the bidi marks and controls.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
    )
}

/// Whether `s` shows nothing: only whitespace, control and zero-width characters. Such a
/// message is refused like an empty one.
pub fn is_blank(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
}

/// `s` without the whitespace and invisible characters around it.
pub fn trim_visible(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c.is_control() || is_invisible(c))
}

/// Whether `s` has the shape of an email address: one `@` with something on both sides, a
/// domain without empty labels (`admin@localhost` is fine), no spaces or controls, at most
/// 254 bytes. Whether it exists is for a mail server to say.
pub fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !local.contains('@')
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_invisible_controls_only() {
        for (input, want) in [
            ("hello", "hello"),
            ("a\0b", "ab"),
            ("line 1\nline 2\r\n\ttabbed", "line 1\nline 2\r\n\ttabbed"),
            ("bell\u{7}del\u{7f}c1\u{85}", "belldelc1"),
            ("\0\0", ""),
            ("emoji 👩‍💻 and é", "emoji 👩‍💻 and é"),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
        assert!(matches!(clean("nothing to do"), Cow::Borrowed(_)));
        assert_eq!(clean_owned("x\0y".to_owned()), "xy");
    }

    #[test]
    fn clean_json_cleans_every_string_and_leaves_clean_bodies_alone() {
        let raw = br#"{"a":"x\u0000y","b":["\u0001z"],"k\u0000":{"n":1,"t":"\\u0000 stays"}}"#;
        let cleaned: Value = serde_json::from_slice(&clean_json(raw)).unwrap_or_default();
        assert_eq!(
            cleaned,
            serde_json::json!({"a": "xy", "b": ["z"], "k": {"n": 1, "t": "\\u0000 stays"}})
        );
        let accented = br#"{"a":"\u00e9\u001F"}"#;
        assert_eq!(&*clean_json(accented), "{\"a\":\"é\"}".as_bytes());
        assert!(matches!(clean_json(br#"{"a":"\u00e9"}"#), Cow::Borrowed(_)));
        assert!(matches!(clean_json(br#"{"a":"b"}"#), Cow::Borrowed(_)));
        assert!(matches!(clean_json(b"{not json \\u0000"), Cow::Borrowed(_)));
    }

    #[test]
    fn blank_means_nothing_visible() {
        for s in [
            "",
            "   ",
            "\u{200b}\u{200b}",
            "\u{feff} \u{200d}",
            "\u{202e}",
            "\0\t\n",
        ] {
            assert!(is_blank(s), "{s:?}");
        }
        for s in ["a", " . ", "\u{200b}x", "👍", "مرحبا"] {
            assert!(!is_blank(s), "{s:?}");
        }
        assert_eq!(trim_visible("\u{200b} hi \u{feff}"), "hi");
    }

    #[test]
    fn email_addresses_by_shape() {
        for ok in [
            "a@b.co",
            "ana.lopez+shop@example.com",
            "x@sub.example.org",
            "admin@localhost",
        ] {
            assert!(is_email_address(ok), "{ok}");
        }
        for bad in [
            "not-an-email",
            "@b.co",
            "a@",
            "a@.b.co",
            "a@b.co.",
            "a b@c.de",
            "a@@b.co",
            "a@b..co",
            "a\u{200b}@b.co",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }

    #[test]
    fn nul_is_found() {
        assert!(has_nul("a\0"));
        assert!(!has_nul("a\\u0000"));
    }
}
