//! The lead stage the customer's own words suggest.

use super::*;

// ---------------------------------------------------------------------------------------
// Lead stage
// ---------------------------------------------------------------------------------------

pub(super) fn lead_stage(turns: &[&ReviewMessage], lex: &Lexicon) -> Option<LeadStage> {
    let texts: Vec<&str> = turns
        .iter()
        .filter(|m| m.author == Author::Customer && !m.text.trim().is_empty())
        .map(|m| m.text.as_str())
        .collect();
    if texts.is_empty() {
        return None;
    }
    let spammy = |t: &&str| is_link_only(t) || lex.spam.matches(t);
    if texts.iter().any(spammy) && texts.iter().all(|t| spammy(t) || is_greeting_only(t)) {
        return Some(LeadStage::Spam);
    }
    for text in texts.iter().rev() {
        if lex.not_interested.matches(text) {
            return Some(LeadStage::NotInterested);
        }
        if lex.opportunity.matches(text) {
            return Some(LeadStage::Opportunity);
        }
        if lex.quote.matches(text) {
            return Some(LeadStage::QuoteRequest);
        }
    }
    let complained = texts.iter().any(|t| lex.complaint.matches(t));
    if !complained && texts.iter().any(|t| is_question(t)) {
        return Some(LeadStage::InfoOnly);
    }
    None
}

/// Nothing but links (`http://`, `https://`, `www.`), as spam often is.
pub(super) fn is_link_only(text: &str) -> bool {
    let mut words = text.split_whitespace().peekable();
    words.peek().is_some()
        && words.all(|w| {
            let w = w
                .trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | '"' | '\'' | ',' | '.'))
                .to_lowercase();
            w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www.")
        })
}

pub(super) fn is_question(text: &str) -> bool {
    if text.contains('?') || text.contains('¿') {
        return true;
    }
    normalize(text)
        .split(' ')
        .next()
        .is_some_and(|first| QUESTION_WORDS.contains(&first))
}

/// Whether the text is only greetings and pleasantries ("Hi!", "olá, tudo bem?").
pub(super) fn is_greeting_only(text: &str) -> bool {
    let normalized = normalize(text);
    !normalized.is_empty() && normalized.split(' ').all(|w| GREETING_WORDS.contains(&w))
}
