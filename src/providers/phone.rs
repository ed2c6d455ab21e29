//! E.164 phone numbers: the one form a number is stored and compared in, so the same person
//! writing over SMS and WhatsApp (`whatsapp:+44…`, `447…`, `0044 …`) is one contact.
//!
//! This is normalisation, not validation against numbering plans: it checks shape only
//! (`+`, a non-zero first digit, 8–15 digits in all). Whether a number exists is the
//! provider's call.

/// Fewest digits accepted (country code included). A few small territories have 7-digit
/// numbers (e.g. Niue, +683 xxxx); they are refused, as the product decided.
pub const MIN_DIGITS: usize = 8;
/// E.164 allows at most 15 digits, country code included.
pub const MAX_DIGITS: usize = 15;

/// Why a string is not a phone number we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("the phone number contains `{0}`; only digits, spaces, `-`, `.`, `(`, `)` and a leading `+` are allowed")]
    InvalidCharacter(char),
    #[error("the phone number has no country code (start it with `+` or `00`)")]
    MissingCountryCode,
    #[error("`{0}` is not a country calling code (1 to 3 digits, not starting with 0)")]
    InvalidCountryCode(String),
    #[error("a phone number cannot start with 0 after the country code prefix")]
    LeadingZero,
    #[error("the phone number has {digits} digits; at least {MIN_DIGITS} are needed")]
    TooShort { digits: usize },
    #[error("the phone number has {digits} digits; E.164 allows at most {MAX_DIGITS}")]
    TooLong { digits: usize },
}

/// Normalises `raw` to E.164 (`+` followed by 8–15 digits).
///
/// - A `whatsapp:` or `tel:` prefix (any case) is removed; spaces, `-`, `.`, `(` and `)` are
///   dropped.
/// - `+…` is kept; an international `00` prefix becomes `+`.
/// - Otherwise the number is national: with `default_country_code` (`"34"` or `"+34"`) it is
///   prefixed with it, after dropping one national trunk `0` (`07700 900123` in the UK is
///   `+44 7700 900123`). Italy (39) and the countries sharing its plan (378, 379) keep the
///   `0`, which is part of their numbers. Without a default country code it is an error.
pub fn to_e164(raw: &str, default_country_code: Option<&str>) -> Result<String, PhoneError> {
    let compact = compact(strip_scheme(raw.trim()))?;
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else {
        let cc = country_code(default_country_code.ok_or(PhoneError::MissingCountryCode)?)?;
        national_to_international(cc, &compact)
    };
    check_digits(&digits)?;
    Ok(format!("+{digits}"))
}

/// Whether `s` is already in the exact form [`to_e164`] produces.
pub fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| check_digits(d).is_ok())
}

/// The digits of an E.164 number without its `+` (the form WhatsApp's `to` and `wa_id` use).
pub fn without_plus(e164: &str) -> &str {
    e164.strip_prefix('+').unwrap_or(e164)
}

fn strip_scheme(s: &str) -> &str {
    for scheme in ["whatsapp:", "tel:"] {
        if s.len() >= scheme.len()
            && s.is_char_boundary(scheme.len())
            && s[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            return s[scheme.len()..].trim_start();
        }
    }
    s
}

/// Drops separators and refuses anything else that is not a digit or a leading `+`.
fn compact(s: &str) -> Result<String, PhoneError> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c),
            '+' if out.is_empty() => out.push(c),
            '-' | '.' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            c => return Err(PhoneError::InvalidCharacter(c)),
        }
    }
    if out.is_empty() || out == "+" {
        return Err(PhoneError::Empty);
    }
    Ok(out)
}

fn country_code(cc: &str) -> Result<&str, PhoneError> {
    let digits = cc.trim().trim_start_matches('+');
    let ok = (1..=3).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(digits)
    } else {
        Err(PhoneError::InvalidCountryCode(cc.to_owned()))
    }
}

fn national_to_international(cc: &str, national: &str) -> String {
    let keeps_zero = matches!(cc, "39" | "378" | "379");
    let national = if keeps_zero {
        national
    } else {
        national.strip_prefix('0').unwrap_or(national)
    };
    format!("{cc}{national}")
}

fn check_digits(digits: &str) -> Result<(), PhoneError> {
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(PhoneError::InvalidCharacter(c));
    }
    if digits.starts_with('0') {
        return Err(PhoneError::LeadingZero);
    }
    let n = digits.len();
    if n < MIN_DIGITS {
        return Err(PhoneError::TooShort { digits: n });
    }
    if n > MAX_DIGITS {
        return Err(PhoneError::TooLong { digits: n });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_forms_normalise() {
        let cases = [
            ("+1 (415) 555-2671", "+14155552671"),
            ("whatsapp:+447700900123", "+447700900123"),
            ("WhatsApp:+44 7700 900123", "+447700900123"),
            ("tel:+1-415-555-2671", "+14155552671"),
            ("0044 7700 900123", "+447700900123"),
            ("+34.612.345.678", "+34612345678"),
            ("  +4915112345678\t", "+4915112345678"),
            ("+1\u{a0}415\u{a0}555\u{a0}2671", "+14155552671"),
        ];
        for (raw, want) in cases {
            assert_eq!(to_e164(raw, None).as_deref(), Ok(want), "{raw}");
            // A default country code never overrides an explicit one.
            assert_eq!(to_e164(raw, Some("34")).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn national_numbers_take_the_default_country_code() {
        assert_eq!(
            to_e164("612 345 678", Some("34")).as_deref(),
            Ok("+34612345678")
        );
        assert_eq!(
            to_e164("612345678", Some("+34")).as_deref(),
            Ok("+34612345678")
        );
        // The UK trunk 0 is dropped; Italy keeps its leading 0.
        assert_eq!(
            to_e164("07700 900123", Some("44")).as_deref(),
            Ok("+447700900123")
        );
        assert_eq!(
            to_e164("06 6982 1234", Some("39")).as_deref(),
            Ok("+390669821234")
        );
        assert_eq!(
            to_e164("(415) 555-2671", Some("1")).as_deref(),
            Ok("+14155552671")
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let cases = [
            ("", None, PhoneError::Empty),
            ("  ", None, PhoneError::Empty),
            ("+", None, PhoneError::Empty),
            ("whatsapp:", None, PhoneError::Empty),
            ("call me", None, PhoneError::InvalidCharacter('c')),
            (
                "+1 415 555 2671 ext 9",
                None,
                PhoneError::InvalidCharacter('e'),
            ),
            ("+1+4155552671", None, PhoneError::InvalidCharacter('+')),
            ("+١٢٣٤٥٦٧٨٩", None, PhoneError::InvalidCharacter('١')),
            ("4155552671", None, PhoneError::MissingCountryCode),
            (
                "4155552671",
                Some("0"),
                PhoneError::InvalidCountryCode("0".into()),
            ),
            (
                "4155552671",
                Some("1234"),
                PhoneError::InvalidCountryCode("1234".into()),
            ),
            (
                "4155552671",
                Some("x1"),
                PhoneError::InvalidCountryCode("x1".into()),
            ),
            ("+0441234567", None, PhoneError::LeadingZero),
            ("000441234567", None, PhoneError::LeadingZero),
            ("+1234567", None, PhoneError::TooShort { digits: 7 }),
            (
                "+1234567890123456",
                None,
                PhoneError::TooLong { digits: 16 },
            ),
        ];
        for (raw, cc, want) in cases {
            assert_eq!(to_e164(raw, cc), Err(want.clone()), "{raw:?}");
            assert!(!want.to_string().is_empty());
        }
    }

    #[test]
    fn boundaries_of_length() {
        assert!(to_e164("+12345678", None).is_ok());
        assert!(to_e164("+123456789012345", None).is_ok());
    }

    #[test]
    fn helpers() {
        assert!(is_e164("+14155552671"));
        assert!(!is_e164("14155552671"));
        assert!(!is_e164("+1 415 555 2671"));
        assert_eq!(without_plus("+14155552671"), "14155552671");
        assert_eq!(without_plus("14155552671"), "14155552671");
    }
}
