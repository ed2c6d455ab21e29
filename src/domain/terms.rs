//! The one tokenizer for ranking and comparing text: the knowledge-base
//! assistant's BM25 index (`assistant::bm25`) and the offline reviewer's
//! sentence ranking (`domain::review`) reduce words the same way.
//!
//! It lives in the pure core, not beside BM25, because the domain imports
//! nothing from the layers below it (see ARCHITECTURE.md), and the reviewer
//! needs the same terms the assistant ranks with rather than a second
//! tokenizer that would drift from it.

/// Function words that carry no intent in customer questions. Kept short and
/// explicit on purpose: question words that *do* carry intent ("where",
/// "when", "long", "much" as in "how much is shipping") are not in here.
///
/// Greetings and the verbs of asking ("hello", "thanks", "I'd like", "I want",
/// "I need") are in here: they carry no topic, and left in they would count
/// as words the knowledge base does not know (see
/// [`Bm25Index::known_share`](crate::assistant::bm25::Bm25Index::known_share)),
/// so "I'd like to cancel my purchase" would look mostly foreign.
pub const STOPWORDS: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "d", "did", "do", "does", "doing", "for", "from", "get", "got", "had", "has", "have",
    "he", "her", "hi", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just",
    "ll", "m", "many", "me", "my", "of", "on", "or", "our", "please", "re", "s", "she", "should",
    "so", "t", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "to", "too", "us", "ve", "was", "we", "were", "what", "which", "who", "whom", "why",
    "will", "with", "would", "you", "your", "yours",
    // Greetings, thanks and the verbs of asking.
    "hello", "hey", "like", "need", "ok", "okay", "thank", "thanks", "want",
    // Halves of contractions once the apostrophe splits them ("don't" -> "don" + "t").
    "aren", "couldn", "didn", "doesn", "don", "hasn", "haven", "isn", "wasn", "weren", "won",
    "wouldn",
];

/// Splits text into index terms.
///
/// Lowercases, splits on every non-alphanumeric Unicode character, drops
/// [stopwords](STOPWORDS) and single letters, then applies [`stem`]. The same
/// function is used for documents and queries, which is what makes the light
/// stemming safe: both sides are reduced identically.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| {
            let single_letter = {
                let mut chars = word.chars();
                matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
            };
            !single_letter && !STOPWORDS.contains(&word.as_str())
        })
        .map(|word| stem(&word))
        .collect()
}

/// Very light, predictable English suffix stripping.
///
/// The goal is only that the everyday inflections customers type
/// ("shipping", "ships", "shipped", "returns", "deliveries", "closing") meet
/// the forms used in the knowledge base. Rules, applied once, in order, and
/// only to words longer than three letters:
///
/// 1. `-ies` → `-y` (`deliveries` → `delivery`);
///    `-sses` → `-ss` (`addresses` → `address`);
///    `-ing` / `-ed` are removed when at least three letters remain, then a
///    doubled final consonant other than `l`, `s`, `z` is undoubled
///    (`shipping` → `ship`, `returned` → `return`); words ending in `-eed` keep
///    it (`need`, `speed`);
///    `-es` after `s`, `x`, `z`, `ch`, `sh` is removed (`boxes` → `box`);
///    otherwise a final `-s` is removed unless the word ends in `ss`, `us` or
///    `is` (`hours` → `hour`, but `address`, `status` stay).
/// 2. A final `-e` after a consonant is removed when at least three letters
///    remain, so `close`, `closes`, `closed` and `closing` all become `clos`,
///    while `shoe`, `free` and `true` keep theirs.
pub fn stem(word: &str) -> String {
    if word.chars().count() <= 3 {
        return word.to_owned();
    }
    let mut w = strip_suffix(word);
    let chars: Vec<char> = w.chars().collect();
    if let [.., before, 'e'] = chars.as_slice() {
        if chars.len() >= 4 && before.is_alphabetic() && !"aeiouy".contains(*before) {
            w.pop();
        }
    }
    w
}

fn strip_suffix(word: &str) -> String {
    if let Some(base) = word.strip_suffix("ies") {
        if base.chars().count() >= 2 {
            return format!("{base}y");
        }
    }
    if let Some(base) = word.strip_suffix("sses") {
        return format!("{base}ss");
    }
    for suffix in ["ing", "ed"] {
        if let Some(base) = word.strip_suffix(suffix) {
            if suffix == "ed" && word.ends_with("eed") {
                return word.to_owned();
            }
            if base.chars().count() >= 3 {
                return undouble(base);
            }
            return word.to_owned();
        }
    }
    if let Some(base) = word.strip_suffix("es") {
        if ["s", "x", "z", "ch", "sh"]
            .iter()
            .any(|s| base.ends_with(s))
        {
            return base.to_owned();
        }
    }
    if word.ends_with('s') && !["ss", "us", "is"].iter().any(|s| word.ends_with(s)) {
        let mut w = word.to_owned();
        w.pop();
        return w;
    }
    word.to_owned()
}

fn undouble(base: &str) -> String {
    let bytes = base.as_bytes();
    if let [.., a, b] = bytes {
        if a == b && a.is_ascii_lowercase() && !b"aeiouylsz".contains(a) {
            return base[..base.len() - 1].to_owned();
        }
    }
    base.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_lowercases_splits_and_drops_stopwords() {
        assert_eq!(
            tokenize("What are your Opening-Hours?"),
            vec!["open", "hour"]
        );
        assert_eq!(tokenize("Can I return my shoes?"), vec!["return", "shoe"]);
        assert_eq!(
            tokenize("what's the weather on Mars"),
            vec!["weather", "mar"]
        );
        assert_eq!(tokenize("I don't know"), vec!["know"]);
        assert_eq!(tokenize("  ...  "), Vec::<String>::new());
        assert_eq!(
            tokenize("order #12345, 2 items"),
            vec!["order", "12345", "2", "item"]
        );
        assert_eq!(tokenize("Envío gratis"), vec!["envío", "gratis"]);
        // "much" asks for a price; greetings and the verbs of asking say nothing.
        assert_eq!(tokenize("How much is shipping?"), vec!["much", "ship"]);
        assert_eq!(
            tokenize("Hello! I'd like to cancel, I need it gone, thanks"),
            vec!["cancel", "gon"]
        );
        assert_eq!(tokenize("hey, ok, I want a refund"), vec!["refund"]);
    }

    #[test]
    fn stemming_is_light_and_predictable() {
        let cases = [
            ("shipping", "ship"),
            ("shipped", "ship"),
            ("ships", "ship"),
            ("ship", "ship"),
            ("returns", "return"),
            ("returned", "return"),
            ("returning", "return"),
            ("deliveries", "delivery"),
            ("delivery", "delivery"),
            ("addresses", "address"),
            ("address", "address"),
            ("status", "status"),
            ("boxes", "box"),
            ("matches", "match"),
            ("hours", "hour"),
            ("close", "clos"),
            ("closes", "clos"),
            ("closed", "clos"),
            ("closing", "clos"),
            ("opening", "open"),
            ("tracking", "track"),
            ("need", "need"),
            ("free", "free"),
            ("calling", "call"),
            ("sing", "sing"),
            ("bed", "bed"),
            ("red", "red"),
            ("use", "use"),
            ("take", "tak"),
            ("taking", "tak"),
            ("takes", "tak"),
            ("shoes", "shoe"),
            ("coupons", "coupon"),
            ("warranties", "warranty"),
        ];
        for (word, expected) in cases {
            assert_eq!(stem(word), expected, "stem({word:?})");
        }
    }
}
