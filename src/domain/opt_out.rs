//! Unsubscribe and resubscribe by keyword: a customer who answers "STOP" (or BAJA, PARAR…)
//! stops broadcasts; "START" (ALTA, INICIAR…) takes them back. Pure: text in, decision out.
//!
//! Only a **whole message** that is one of the keywords counts (spaces, case, accents and
//! trailing punctuation aside): "Stop!" and "bája" do, "please stop sending me the wrong
//! size" never does (Braze acts on exact single keywords only, CRM.md §6.3). Ambiguous
//! words a support inbox hears about orders (CANCEL, END, QUIT) are left out on purpose;
//! CANCELAR is in, as asked for Spanish-speaking customers.
//!
//! A template's opt-out quick-reply button counts by its payload
//! ([`classify_button`]), which the business chose: the same keywords, or one containing
//! `opt_out`/`optout`/`unsubscribe` (`STOP_PROMOS` too, as any payload starting with `STOP`).
//!
//! Unsubscribing stops broadcasts only; blocking a contact stops everything. Twilio answers
//! STOP on SMS itself; we only record it.

/// What a customer's message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOut {
    Unsubscribe,
    Resubscribe,
}

const STOP_WORDS: &[&str] = &[
    "stop",
    "stopall",
    "unsubscribe",
    "optout",
    "opt out",
    "opt-out",
    "revoke",
    "baja",
    "darme de baja",
    "parar",
    "cancelar",
];

const START_WORDS: &[&str] = &["start", "unstop", "subscribe", "alta", "iniciar"];

/// The message read as an opt-out keyword, or `None` for anything else.
pub fn classify(text: &str) -> Option<OptOut> {
    let folded = fold(text);
    if STOP_WORDS.contains(&folded.as_str()) {
        return Some(OptOut::Unsubscribe);
    }
    if START_WORDS.contains(&folded.as_str()) {
        return Some(OptOut::Resubscribe);
    }
    None
}

/// A quick-reply button's payload read as an opt-out (see the module doc).
pub fn classify_button(payload: &str) -> Option<OptOut> {
    if let Some(k) = classify(payload) {
        return Some(k);
    }
    let p = fold(payload).replace([' ', '-'], "_");
    let opt_out = p.starts_with("stop_")
        || p.contains("opt_out")
        || p.contains("optout")
        || p.contains("unsubscribe");
    opt_out.then_some(OptOut::Unsubscribe)
}

/// Lower case, accents removed, inner spaces collapsed, surrounding spaces and punctuation
/// (`.!¡?¿`, quotes) dropped. Longer than 40 characters is never a keyword (returns "").
fn fold(text: &str) -> String {
    let trimmed = text.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '.' | '!' | '¡' | '?' | '¿' | '"' | '\'' | ',' | ';')
    });
    if trimmed.chars().count() > 40 {
        return String::new();
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut space = false;
    for c in trimmed.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        // Combining marks (a decomposed accent) are dropped.
        if ('\u{0300}'..='\u{036f}').contains(&c) {
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        for l in c.to_lowercase() {
            out.push(strip_accent(l));
        }
    }
    out
}

fn strip_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_messages_only() {
        use OptOut::*;
        let cases: &[(&str, Option<OptOut>)] = &[
            ("STOP", Some(Unsubscribe)),
            ("stop", Some(Unsubscribe)),
            ("  Stop!  ", Some(Unsubscribe)),
            ("Stop.", Some(Unsubscribe)),
            ("UNSUBSCRIBE", Some(Unsubscribe)),
            ("baja", Some(Unsubscribe)),
            ("BÁJA", Some(Unsubscribe)),
            ("Darme  de baja", Some(Unsubscribe)),
            ("PARAR", Some(Unsubscribe)),
            ("Cancelar", Some(Unsubscribe)),
            ("¡Parar!", Some(Unsubscribe)),
            ("pa\u{0301}rar", Some(Unsubscribe)),
            ("START", Some(Resubscribe)),
            ("start", Some(Resubscribe)),
            ("Alta", Some(Resubscribe)),
            ("INICIAR", Some(Resubscribe)),
            ("SUBSCRIBE", Some(Resubscribe)),
            ("please stop sending me the wrong size", None),
            ("stop it", None),
            ("I want to unsubscribe", None),
            ("stopped", None),
            ("nonstop", None),
            ("cancel", None),
            ("end", None),
            ("", None),
            ("   ", None),
            ("hola", None),
            ("starting", None),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text), *want, "{text:?}");
        }
    }

    #[test]
    fn button_payloads() {
        let cases: &[(&str, Option<OptOut>)] = &[
            ("STOP_PROMOS", Some(OptOut::Unsubscribe)),
            ("opt_out", Some(OptOut::Unsubscribe)),
            ("marketing-optout", Some(OptOut::Unsubscribe)),
            ("UNSUBSCRIBE", Some(OptOut::Unsubscribe)),
            ("START", Some(OptOut::Resubscribe)),
            ("confirm_order_123", None),
            ("stopwatch_offer", None),
        ];
        for (payload, want) in cases {
            assert_eq!(classify_button(payload), *want, "{payload:?}");
        }
    }

    #[test]
    fn long_text_is_never_a_keyword() {
        assert_eq!(classify(&format!("stop {}", "x".repeat(50))), None);
        assert_eq!(
            classify(&format!("stop{}", " ".repeat(50))),
            Some(OptOut::Unsubscribe)
        );
    }
}
