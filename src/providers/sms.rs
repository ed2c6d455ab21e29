//! SMS segment counting, so the reply box can show "2 segments, UCS-2" before an agent
//! sends, and the count agrees with Twilio's segment calculator (and its bill).
//!
//! Rules (GSM 03.38 / 3GPP TS 23.038 and TS 23.040):
//! - If every character is in the GSM-7 basic set or its extension table, the message is
//!   GSM-7: basic characters take 1 septet, extension characters (`^ { } \ [ ~ ] | €` and
//!   form feed) take 2 (ESC + code).
//! - Otherwise the **whole** message is UCS-2 and every character takes its UTF-16 code
//!   units (an emoji outside the BMP is a surrogate pair, 2 units).
//! - One part holds 160 septets / 70 units. Longer messages are split into parts of 153
//!   septets / 67 units (the rest carries the concatenation header).
//! - Nothing is split across parts: an extension character's ESC pair, a surrogate pair, or
//!   (as Twilio's calculator does) a grapheme cluster such as a ZWJ family emoji, a flag or
//!   a letter with combining accents, moves whole to the next part. So the count is not
//!   always `ceil(units / 153)`.
//!
//! [`smart_encode`] optionally replaces look-alikes such as en dashes and curly quotes first,
//! so that text which only *looks* like GSM-7 is sent as GSM-7.
//!
//! Grapheme clusters are approximated without a Unicode segmentation table: a cluster is a
//! character followed by combining marks, variation selectors, emoji modifiers, tag
//! characters, or a zero-width joiner and the character after it; regional-indicator
//! letters pair into flags. That covers emoji and accented Latin text; a cluster longer than
//! a whole part (only possible with pathological input) is split between code points.

use std::borrow::Cow;

use serde::Serialize;

/// Septets in a single-part GSM-7 message.
pub const GSM7_SINGLE: usize = 160;
/// Septets per part of a concatenated GSM-7 message.
pub const GSM7_MULTI: usize = 153;
/// UTF-16 code units in a single-part UCS-2 message.
pub const UCS2_SINGLE: usize = 70;
/// UTF-16 code units per part of a concatenated UCS-2 message.
pub const UCS2_MULTI: usize = 67;

/// The character set the whole message is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

/// How a text splits into SMS parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SegmentInfo {
    pub encoding: Encoding,
    /// Number of parts; 0 for empty text (nothing would be sent).
    pub segments: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) in the whole text.
    pub units: usize,
    /// Units in each part, in order; `segments` entries.
    pub per_segment: Vec<usize>,
}

/// Counts the parts `text` is sent in. Empty text is GSM-7 with 0 segments.
pub fn segments(text: &str) -> SegmentInfo {
    match gsm7_units(text) {
        Some(units) => pack(Encoding::Gsm7, &units, GSM7_SINGLE, GSM7_MULTI),
        None => pack(Encoding::Ucs2, &ucs2_units(text), UCS2_SINGLE, UCS2_MULTI),
    }
}

/// Whether `c` can be sent in GSM-7 at all.
pub fn is_gsm7(c: char) -> bool {
    septets(c).is_some()
}

/// Replaces characters outside GSM-7 with their GSM-7 look-alikes ("smart encoding", after
/// Twilio's Messaging Service feature of that name), when that makes the **whole** text
/// GSM-7; otherwise returns it unchanged.
///
/// What word processors and phone keyboards slip in is the usual reason a short reply costs
/// two or three segments: an en dash in "9:00–18:00" makes a 113-character reply UCS-2 (2
/// segments) instead of GSM-7 (1). The replacements, modelled on Twilio's Smart Encoding list:
///
/// - dashes and hyphens (`‐ ‑ ‒ – — ― −`, the hyphen bullet `⁃`) and the bullets `• ∙` →
///   `-`;
/// - single quotes, apostrophes, primes and accents used as apostrophes
///   (`‘ ’ ‚ ‛ ′ ‹ › ʹ ʻ ʼ ʽ ˈ ˊ ˋ ´` and the backtick) → `'`; double quotes and primes
///   (`“ ” „ ‟ ″ « » ʺ ˮ 〝 〞 〟`) → `"`;
/// - the ellipsis `…` → `...`;
/// - the no-break, narrow, figure, thin, hair, em and other Unicode spaces and the tab → a
///   space; the line and paragraph separators → a line feed; invisible characters (soft
///   hyphen, zero-width space, word joiner, byte-order mark) are dropped;
/// - fullwidth forms (`！ ＃ Ａ ０ ～`…) → their ASCII letter, digit or sign; Latin small
///   capitals (`ᴀ ʙ ᴄ`…) → the capital letter; small, heavy and ornamental variants of
///   punctuation and signs (`﹐ ﹒ ❨ ✱ ∕ ∣`…) and `÷` → the plain sign.
///
/// Left alone on purpose:
///
/// - letters with accents (`ç ê á`): they are not look-alikes but other letters, and a
///   customer's name or a Spanish reply must not lose them;
/// - combining marks (Twilio maps a few, e.g. a combining tilde to `~`): they belong to the
///   letter before them, so "São" written decomposed would become "Sa~o";
/// - vulgar fractions: "1½" would become "11/2".
///
/// All or nothing: when any character has no look-alike (an emoji, Arabic, an accented
/// letter), the message is UCS-2 whatever is replaced, and in UCS-2 replacing only makes it
/// longer ("…" is one unit, "..." three) and less faithful, so the text is returned as it is.
/// That is also what Twilio does. The result borrows `text` whenever nothing changes.
pub fn smart_encode(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_gsm7) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_gsm7(c) {
            out.push(c);
        } else if let Some(ascii) = fullwidth_ascii(c) {
            out.push(ascii);
        } else if let Some(replacement) = look_alike(c) {
            out.push_str(replacement);
        } else {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(out)
}

/// The ASCII character a fullwidth form (U+FF01–U+FF5E) stands for; the backtick, the one
/// printable ASCII character outside GSM-7, becomes an apostrophe.
fn fullwidth_ascii(c: char) -> Option<char> {
    if !('\u{FF01}'..='\u{FF5E}').contains(&c) {
        return None;
    }
    match char::from_u32(u32::from(c) - 0xFEE0)? {
        '`' => Some('\''),
        ascii => Some(ascii),
    }
}

/// The GSM-7 look-alike of a character outside GSM-7 (other than the fullwidth forms), if
/// it has one; see [`smart_encode`] for the list and what is left out.
fn look_alike(c: char) -> Option<&'static str> {
    let replacement = match c {
        // Dashes, hyphens, minus and bullets.
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' | '\u{2043}' | '\u{2022}' | '\u{2219}' | '\u{FE58}' | '\u{FE63}'
        | '\u{23BC}' | '\u{23BD}' => "-",
        // Single quotes, apostrophes and primes.
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}'
        | '\u{2039}' | '\u{203A}' | '\u{02B9}' | '\u{02BB}' | '\u{02BC}' | '\u{02BD}'
        | '\u{02C8}' | '\u{02CA}' | '\u{02CB}' | '\u{00B4}' | '`' | '\u{275B}' | '\u{275C}'
        | '\u{FE10}' | '\u{FE11}' => "'",
        // Double quotes and primes.
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{2036}'
        | '\u{00AB}' | '\u{00BB}' | '\u{02BA}' | '\u{02EE}' | '\u{275D}' | '\u{275E}'
        | '\u{301D}' | '\u{301E}' | '\u{301F}' => "\"",
        '\u{2026}' => "...",
        // Spaces, and the tab, which is not in GSM-7 either.
        '\t' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2028}' | '\u{2029}' => "\n",
        // Invisible: soft hyphen, zero-width space, word joiner, byte-order mark. (Not the
        // zero-width joiners, which hold emoji and some scripts together; such text is UCS-2
        // anyway.)
        '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => "",
        // Small, heavy, ornamental and mathematical variants of GSM-7 signs.
        '\u{00F7}' | '\u{2044}' | '\u{2215}' | '\u{29F8}' => "/",
        '\u{29F5}' | '\u{29F9}' | '\u{FE68}' => "\\",
        '\u{2223}' | '\u{23B8}' | '\u{23B9}' | '\u{23D0}' | '\u{239C}' | '\u{239F}' => "|",
        '\u{FE6B}' => "@",
        '\u{FE69}' => "$",
        '\u{01C3}' | '\u{FE15}' | '\u{FE57}' => "!",
        '\u{FE5F}' => "#",
        '\u{FE6A}' => "%",
        '\u{FE60}' => "&",
        '\u{3001}' | '\u{FE50}' | '\u{FE51}' | '\u{FF64}' => ",",
        '\u{2768}' | '\u{276A}' | '\u{27EE}' | '\u{2985}' | '\u{FE59}' => "(",
        '\u{2769}' | '\u{276B}' | '\u{27EF}' | '\u{2986}' | '\u{FE5A}' => ")",
        '\u{204E}'
        | '\u{2217}'
        | '\u{229B}'
        | '\u{2722}'..='\u{2725}'
        | '\u{2731}'..='\u{2733}'
        | '\u{273A}'..='\u{273D}'
        | '\u{2743}'
        | '\u{2749}'..='\u{274B}'
        | '\u{29C6}'
        | '\u{FE61}' => "*",
        '\u{02D6}' | '\u{FE62}' => "+",
        '\u{3002}' | '\u{FE52}' | '\u{FF61}' => ".",
        '\u{02D0}' | '\u{02F8}' | '\u{2982}' | '\u{A789}' | '\u{FE13}' => ":",
        '\u{204F}' | '\u{FE14}' | '\u{FE54}' => ";",
        '\u{FE64}' => "<",
        '\u{A78A}' | '\u{FE66}' => "=",
        '\u{FE65}' => ">",
        '\u{FE16}' | '\u{FE56}' => "?",
        '\u{2774}' | '\u{FE5B}' => "{",
        '\u{2775}' | '\u{FE5C}' => "}",
        '\u{02C6}' => "^",
        '\u{02DC}' | '\u{02F7}' | '\u{223C}' => "~",
        // Latin letter small capitals.
        '\u{1D00}' => "A",
        '\u{0299}' => "B",
        '\u{1D04}' => "C",
        '\u{1D05}' => "D",
        '\u{1D07}' => "E",
        '\u{A730}' => "F",
        '\u{0262}' => "G",
        '\u{029C}' => "H",
        '\u{026A}' => "I",
        '\u{1D0A}' => "J",
        '\u{1D0B}' => "K",
        '\u{029F}' => "L",
        '\u{1D0D}' => "M",
        '\u{0274}' => "N",
        '\u{1D0F}' => "O",
        '\u{1D18}' => "P",
        '\u{0280}' => "R",
        '\u{A731}' => "S",
        '\u{1D1B}' => "T",
        '\u{1D1C}' => "U",
        '\u{1D20}' => "V",
        '\u{1D21}' => "W",
        '\u{028F}' => "Y",
        '\u{1D22}' => "Z",
        _ => return None,
    };
    Some(replacement)
}

/// Septets per character, or `None` as soon as one character is not GSM-7.
fn gsm7_units(text: &str) -> Option<Vec<Vec<usize>>> {
    text.chars().map(|c| septets(c).map(|n| vec![n])).collect()
}

/// Units of each grapheme cluster, one entry per code point inside it.
fn ucs2_units(text: &str) -> Vec<Vec<usize>> {
    clusters(text)
        .into_iter()
        .map(|cl| cl.iter().map(|c| c.len_utf16()).collect())
        .collect()
}

/// Packs unbreakable items (each a list of code-point sizes) into parts.
fn pack(encoding: Encoding, items: &[Vec<usize>], single: usize, multi: usize) -> SegmentInfo {
    let units: usize = items.iter().flatten().sum();
    let per_segment = if units == 0 {
        Vec::new()
    } else if units <= single {
        vec![units]
    } else {
        split(items, multi)
    };
    SegmentInfo {
        encoding,
        segments: per_segment.len(),
        units,
        per_segment,
    }
}

fn split(items: &[Vec<usize>], limit: usize) -> Vec<usize> {
    let mut parts = Vec::new();
    let mut current = 0;
    for item in items {
        let size: usize = item.iter().sum();
        if size <= limit {
            if current + size > limit {
                parts.push(current);
                current = 0;
            }
            current += size;
        } else {
            // Only a pathological cluster is bigger than a whole part: split it between
            // code points, which still never splits a surrogate pair.
            for &cp in item {
                if current + cp > limit {
                    parts.push(current);
                    current = 0;
                }
                current += cp;
            }
        }
    }
    if current > 0 {
        parts.push(current);
    }
    parts
}

/// Septets for one character: 1 in the basic set, 2 in the extension table.
fn septets(c: char) -> Option<usize> {
    if is_basic(c) {
        Some(1)
    } else if is_extension(c) {
        Some(2)
    } else {
        None
    }
}

/// The GSM 03.38 basic character set (0x1B, the escape itself, is not a character).
fn is_basic(c: char) -> bool {
    matches!(c,
        '@' | '£' | '$' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | '\n' | 'Ø' | 'ø' | '\r' | 'Å' | 'å'
        | 'Δ' | '_' | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É'
        | ' ' | '!' | '"' | '#' | '¤' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/'
        | '0'..='9' | ':' | ';' | '<' | '=' | '>' | '?'
        | '¡' | 'A'..='Z' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§'
        | '¿' | 'a'..='z' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à')
}

/// The GSM 03.38 extension table (sent as ESC + code, 2 septets).
fn is_extension(c: char) -> bool {
    matches!(
        c,
        '\u{0C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€'
    )
}

/// Splits text into approximate grapheme clusters (see the module docs).
fn clusters(text: &str) -> Vec<Vec<char>> {
    let mut out: Vec<Vec<char>> = Vec::new();
    let mut after_zwj = false;
    let mut open_flag = false;
    for c in text.chars() {
        let joins = match out.last() {
            None => false,
            Some(_) if after_zwj || is_extender(c) => true,
            Some(_) => is_regional_indicator(c) && open_flag,
        };
        if joins {
            if let Some(last) = out.last_mut() {
                last.push(c);
            }
            if is_regional_indicator(c) {
                open_flag = false;
            }
        } else {
            out.push(vec![c]);
            open_flag = is_regional_indicator(c);
        }
        after_zwj = c == '\u{200D}';
    }
    out
}

/// Characters that attach to the one before them.
fn is_extender(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'     // combining diacritical marks
        | '\u{1AB0}'..='\u{1AFF}'   // combining diacritical marks extended
        | '\u{1DC0}'..='\u{1DFF}'   // combining diacritical marks supplement
        | '\u{20D0}'..='\u{20FF}'   // combining marks for symbols (incl. keycap U+20E3)
        | '\u{FE20}'..='\u{FE2F}'   // combining half marks
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
        | '\u{1F3FB}'..='\u{1F3FF}' // emoji skin-tone modifiers
        | '\u{E0020}'..='\u{E007F}' // tag characters (subdivision flags)
        | '\u{200D}'                // zero-width joiner
    )
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str) -> (Encoding, usize, usize, Vec<usize>) {
        let s = segments(text);
        assert_eq!(s.segments, s.per_segment.len());
        assert_eq!(s.units, s.per_segment.iter().sum::<usize>());
        (s.encoding, s.segments, s.units, s.per_segment)
    }

    #[test]
    fn empty_text_is_zero_segments() {
        assert_eq!(info(""), (Encoding::Gsm7, 0, 0, vec![]));
    }

    #[test]
    fn gsm7_single_part_limit() {
        assert_eq!(info(&"a".repeat(160)), (Encoding::Gsm7, 1, 160, vec![160]));
        assert_eq!(
            info(&"a".repeat(161)),
            (Encoding::Gsm7, 2, 161, vec![153, 8])
        );
    }

    #[test]
    fn gsm7_multipart_boundaries() {
        assert_eq!(
            info(&"a".repeat(306)),
            (Encoding::Gsm7, 2, 306, vec![153, 153])
        );
        assert_eq!(
            info(&"a".repeat(307)),
            (Encoding::Gsm7, 3, 307, vec![153, 153, 1])
        );
        assert_eq!(info(&"a".repeat(459)).1, 3);
        assert_eq!(info(&"a".repeat(460)).1, 4);
    }

    #[test]
    fn extension_characters_count_two() {
        assert_eq!(info("€"), (Encoding::Gsm7, 1, 2, vec![2]));
        assert_eq!(info("{^}"), (Encoding::Gsm7, 1, 6, vec![6]));
        // 80 extension characters fill one part exactly.
        assert_eq!(info(&"€".repeat(80)), (Encoding::Gsm7, 1, 160, vec![160]));
        assert_eq!(info(&"|".repeat(81)).1, 2);
    }

    #[test]
    fn extension_character_at_the_single_part_limit() {
        // 159 + € = 161 septets: two parts; the € is in part 2 whole.
        let text = format!("{}€", "a".repeat(159));
        assert_eq!(info(&text), (Encoding::Gsm7, 2, 161, vec![153, 8]));
        // 158 + € = 160 septets: still one part.
        let text = format!("{}€", "a".repeat(158));
        assert_eq!(info(&text), (Encoding::Gsm7, 1, 160, vec![160]));
    }

    #[test]
    fn extension_character_straddling_a_part_boundary_moves_whole() {
        // 152 + € would put ESC at septet 153 and the code at 154: it moves to part 2,
        // so part 1 has 152 septets.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        assert_eq!(info(&text), (Encoding::Gsm7, 2, 164, vec![152, 12]));
        // The naive ceil(units / 153) is wrong here: 152 + € + 152 = 306 septets need 3.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(152));
        assert_eq!(info(&text), (Encoding::Gsm7, 3, 306, vec![152, 153, 1]));
        // 151 + € fits exactly.
        let text = format!("{}€{}", "a".repeat(151), "b".repeat(10));
        assert_eq!(info(&text), (Encoding::Gsm7, 2, 163, vec![153, 10]));
    }

    #[test]
    fn ucs2_single_part_limit() {
        assert_eq!(info(&"ê".repeat(70)), (Encoding::Ucs2, 1, 70, vec![70]));
        assert_eq!(info(&"ê".repeat(71)), (Encoding::Ucs2, 2, 71, vec![67, 4]));
        assert_eq!(
            info(&"ж".repeat(134)),
            (Encoding::Ucs2, 2, 134, vec![67, 67])
        );
        assert_eq!(info(&"ж".repeat(135)).1, 3);
    }

    #[test]
    fn one_non_gsm_character_makes_the_whole_message_ucs2() {
        let gsm = format!("{}é", "a".repeat(100)); // é is GSM 0x05
        assert_eq!(info(&gsm), (Encoding::Gsm7, 1, 101, vec![101]));
        let ucs = format!("{}ê", "a".repeat(100)); // ê is not GSM
        assert_eq!(info(&ucs), (Encoding::Ucs2, 2, 101, vec![67, 34]));
        // An extension character counts 1 unit once the message is UCS-2.
        assert_eq!(info("€ê"), (Encoding::Ucs2, 1, 2, vec![2]));
    }

    #[test]
    fn emoji_at_a_ucs2_boundary_moves_whole() {
        // 66 units + a surrogate pair: 68 > 67, so the emoji opens part 2.
        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(10));
        assert_eq!(info(&text), (Encoding::Ucs2, 2, 78, vec![66, 12]));
        // 65 + emoji fits exactly in 67.
        let text = format!("{}😀{}", "ж".repeat(65), "ж".repeat(10));
        assert_eq!(info(&text), (Encoding::Ucs2, 2, 77, vec![67, 10]));
        // 35 emoji = 70 units: one part.
        assert_eq!(info(&"😀".repeat(35)), (Encoding::Ucs2, 1, 70, vec![70]));
        // 36 emoji = 72 units: 33 per part (66 units), never a split pair.
        assert_eq!(info(&"😀".repeat(36)), (Encoding::Ucs2, 2, 72, vec![66, 6]));
    }

    #[test]
    fn zwj_family_is_not_split_as_twilio_counts_it() {
        // 👨‍👩‍👧‍👦 is 4 emoji + 3 ZWJ = 11 units; with 65 before it, Twilio gives 3 parts.
        let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
        assert_eq!(family.encode_utf16().count(), 11);
        let text = format!("{}{family}{}", "ж".repeat(65), "ж".repeat(60));
        assert_eq!(info(&text), (Encoding::Ucs2, 3, 136, vec![65, 67, 4]));
    }

    #[test]
    fn flags_and_modifiers_stay_whole() {
        // Flag = two regional indicators (4 units); three flags in a row stay as pairs.
        let flags = "🇪🇸🇬🇧🇫🇷";
        let text = format!("{}{flags}", "ж".repeat(65));
        assert_eq!(info(&text), (Encoding::Ucs2, 2, 77, vec![65, 12]));
        // Thumbs up + skin tone = 4 units, one cluster.
        let text = format!("{}👍🏽{}", "ж".repeat(64), "ж".repeat(10));
        assert_eq!(info(&text), (Encoding::Ucs2, 2, 78, vec![64, 14]));
        // e + combining acute (2 units) is not split either.
        let text = format!("{}e\u{301}{}", "ж".repeat(66), "ж".repeat(10));
        assert_eq!(info(&text), (Encoding::Ucs2, 2, 78, vec![66, 12]));
    }

    #[test]
    fn oversized_cluster_is_split_between_code_points() {
        let text = format!("a{}", "\u{301}".repeat(100));
        let s = segments(&text);
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(s.per_segment, vec![67, 34]);
    }

    #[test]
    fn gsm_table_spot_checks() {
        for c in "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà".chars()
        {
            assert_eq!(septets(c), Some(1), "{c:?}");
        }
        for c in "\u{0C}^{}\\[~]|€".chars() {
            assert_eq!(septets(c), Some(2), "{c:?}");
        }
        // Frequent look-alikes that are NOT GSM-7.
        for c in "çêâîôûÀÈ`’‘“”…–—\u{1B}\t😀".chars() {
            assert!(!is_gsm7(c), "{c:?}");
        }
    }

    #[track_caller]
    fn assert_smart(text: &str, expected: &str) {
        let encoded = smart_encode(text);
        assert_eq!(encoded, expected, "{text:?}");
        assert!(
            matches!(encoded, Cow::Owned(_)),
            "{text:?} changed, so it is owned"
        );
        assert_eq!(segments(&encoded).encoding, Encoding::Gsm7, "{text:?}");
    }

    #[test]
    fn smart_encoding_replaces_look_alikes() {
        for (text, expected) in [
            // Dashes and hyphens.
            ("9:00–18:00", "9:00-18:00"),
            ("yes — really", "yes - really"),
            (
                "e\u{2010}mail, non\u{2011}stop, 555\u{2012}0100",
                "e-mail, non-stop, 555-0100",
            ),
            ("\u{2015}\u{2212}5", "--5"),
            // Quotes, apostrophes, primes.
            ("It’s ‘fine’", "It's 'fine'"),
            ("“Hello”", "\"Hello\""),
            ("„Hallo“ ‚du‘", "\"Hallo\" 'du'"),
            ("«Hola» ‹x›", "\"Hola\" 'x'"),
            ("5′ 11″", "5' 11\""),
            ("don`t", "don't"),
            ("caf´s", "caf's"),
            ("Hawaiʻi, ʼokina", "Hawai'i, 'okina"),
            // Ellipsis, bullets.
            ("Wait…", "Wait..."),
            ("• one\n• two", "- one\n- two"),
            // Spaces and invisible characters.
            ("10\u{00A0}€", "10 €"),
            ("1\u{202F}000\u{2009}km", "1 000 km"),
            ("a\u{2003}b\u{3000}c\td", "a b c d"),
            ("zero\u{200B}width\u{FEFF}\u{00AD}\u{2060}", "zerowidth"),
            ("line\u{2028}break", "line\nbreak"),
            // Fullwidth forms and small capitals.
            ("ＯＫ！ ＃１", "OK! #1"),
            ("（ｆｕｌｌ）～｀", "(full)~'"),
            ("ᴏʀᴅᴇʀ", "ORDER"),
            // Ornamental and mathematical signs.
            ("6 ÷ 2 ∕ 1", "6 / 2 / 1"),
            ("❨note❩ ✱ ﹖", "(note) * ?"),
        ] {
            assert_smart(text, expected);
        }
    }

    #[test]
    fn smart_encoding_borrows_when_nothing_changes() {
        for text in [
            "",
            "Plain GSM-7 text: @£$¥ èé ÄÖÑÜ äöñüà € {braces} [brackets] ~ ^ | \\",
            "We're open Monday to Friday, 9:00-18:00.",
        ] {
            assert!(
                matches!(smart_encode(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn smart_encoding_leaves_text_that_stays_ucs2_alone() {
        for text in [
            // Emoji: nothing to gain, and "…" -> "..." would add two units.
            "Thanks! 😀",
            "Thanks… we’ll be in touch 😀",
            "👨\u{200D}👩\u{200D}👧 family",
            // Other scripts, with look-alikes in them.
            "مرحبا، أين طلبي؟",
            "Привет — как дела?",
            "注文はどこですか。",
            // Accented letters are letters, not look-alikes.
            "ça va? très bien – merci",
            "São Paulo",
            "Sa\u{0303}o Paulo",
            // Vulgar fractions: "1½" must not become "11/2".
            "1½ hours",
        ] {
            let encoded = smart_encode(text);
            assert!(
                matches!(encoded, Cow::Borrowed(t) if t == text),
                "{text:?} -> {encoded:?}"
            );
            assert_eq!(segments(text).encoding, Encoding::Ucs2, "{text:?}");
        }
    }

    #[test]
    fn smart_encoding_saves_a_segment_on_an_en_dash_reply() {
        let reply = "We’re open Monday to Friday, 9:00–18:00, and Saturday 10:00–14:00. We’re closed on Sundays and all bank holidays.";
        assert_eq!(reply.chars().count(), 113);
        let before = segments(reply);
        assert_eq!((before.encoding, before.segments), (Encoding::Ucs2, 2));
        let encoded = smart_encode(reply);
        assert_eq!(encoded.chars().count(), 113, "one character for one");
        let after = segments(&encoded);
        assert_eq!((after.encoding, after.segments), (Encoding::Gsm7, 1));
    }

    #[test]
    fn every_look_alike_is_gsm7_and_replaces_only_non_gsm7_characters() {
        let mut replaced = 0;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let replacement = fullwidth_ascii(c)
                .map(String::from)
                .or_else(|| look_alike(c).map(String::from));
            let Some(replacement) = replacement else {
                continue;
            };
            replaced += 1;
            assert!(!is_gsm7(c), "{c:?} is GSM-7 already");
            assert!(replacement.chars().all(is_gsm7), "{c:?} -> {replacement:?}");
            assert!(replacement.chars().count() <= 3, "{c:?} -> {replacement:?}");
            // No combining marks: they belong to the letter before them.
            assert!(!is_extender(c), "{c:?}");
        }
        assert!(replaced > 200, "{replaced}");
    }

    #[test]
    fn serialises_with_the_documented_names() {
        let json = serde_json::to_value(segments("hi €")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"encoding": "GSM-7", "segments": 1, "units": 5, "per_segment": [5]})
        );
        let json = serde_json::to_value(segments("ê")).unwrap();
        assert_eq!(json["encoding"], "UCS-2");
    }
}
