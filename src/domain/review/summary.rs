//! The extractive summary: what was asked, the central details, the outcome.

use super::*;

// ---------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------

pub(super) fn summary(
    turns: &[&ReviewMessage],
    input: &ReviewInput,
    handoffs: &[HandoffAnswer],
    lex: &Lexicon,
) -> String {
    if turns.is_empty() {
        return "No messages yet.".to_owned();
    }
    let mut lines = Vec::with_capacity(3);
    let intent = intent(turns);
    if let Some((_, text)) = &intent {
        lines.push(format!("Asked: {}", sentence(&cut(text))));
    }
    let last_reply = turns.iter().rposition(|m| is_ours(m));
    let details = central_sentences(turns, intent.as_ref().map(|(i, _)| *i), last_reply, lex);
    if !details.is_empty() {
        lines.push(format!("Details: {}", details.join(" ")));
    }
    lines.push(outcome(turns, input, handoffs, last_reply, lex));
    lines.join("\n")
}

/// The first customer message with more than greetings in it, its leading greetings cut
/// ("Hi! My order 123 …" → "My order 123 …"), with its turn's index.
pub(super) fn intent(turns: &[&ReviewMessage]) -> Option<(usize, String)> {
    turns
        .iter()
        .enumerate()
        .filter(|(_, m)| m.author == Author::Customer)
        .find_map(|(i, m)| {
            let kept: Vec<String> = sentences(&m.text)
                .into_iter()
                .map(|s| strip_greeting_clause(&s))
                .skip_while(|s| s.is_empty() || is_greeting_only(s))
                .filter(|s| !s.is_empty())
                .collect();
            (!kept.is_empty()).then(|| (i, kept.join(" ")))
        })
}

/// Drops a greeting before the first comma or dash ("Hola, quiero …" → "quiero …").
pub(super) fn strip_greeting_clause(sentence: &str) -> String {
    if let Some(pos) = sentence.find([',', '-', '–', '—']) {
        let (head, rest) = sentence.split_at(pos);
        if is_greeting_only(head) {
            let rest = rest.trim_start_matches([',', '-', '–', '—']).trim_start();
            return rest.to_owned();
        }
    }
    sentence.to_owned()
}

/// A sentence that can be ranked: who said it, its terms, whether it carries a fact.
pub(super) struct Candidate {
    pub(super) author: Author,
    pub(super) text: String,
    pub(super) terms: HashSet<String>,
    pub(super) has_fact: bool,
}

/// The one or two most central sentences outside the intent and the last reply (both
/// shown already), in conversation order, each labelled with its author.
///
/// TextRank: edges weighted by shared terms over `ln(1 + |a|) + ln(1 + |b|)` (Mihalcea &
/// Tarau's overlap, shifted by one so one-word sentences do not divide by zero), PageRank
/// with damping 0.85 for 50 rounds; then ×1.5 for a sentence with a digit or a date word,
/// so order ids, amounts and dates win near-ties. A sentence linked to nothing and with no
/// fact is not central to anything and is never shown.
pub(super) fn central_sentences(
    turns: &[&ReviewMessage],
    intent: Option<usize>,
    last_reply: Option<usize>,
    lex: &Lexicon,
) -> Vec<String> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, m) in turns.iter().enumerate() {
        if Some(i) == intent || Some(i) == last_reply {
            continue;
        }
        for s in sentences(&m.text) {
            let terms: HashSet<String> = tokenize(&s).into_iter().collect();
            let trivial = terms.len() < 2
                || is_greeting_only(&s)
                || (is_ours(m) && (lex.closing.matches(&s) || lex.no_match.matches(&s)));
            if trivial || candidates.iter().any(|c| c.terms == terms) {
                continue;
            }
            let has_fact = s.chars().any(|c| c.is_ascii_digit())
                || normalize(&s).split(' ').any(|w| DATE_WORDS.contains(&w));
            candidates.push(Candidate {
                author: m.author,
                text: s,
                terms,
                has_fact,
            });
        }
    }
    let skip = candidates.len().saturating_sub(MAX_RANKED_SENTENCES);
    let candidates: Vec<Candidate> = candidates.into_iter().skip(skip).collect();
    let (ranks, linked) = textrank(&candidates);

    let mut scored: Vec<(usize, f64)> = ranks
        .iter()
        .enumerate()
        .filter(|&(i, _)| linked[i] || candidates[i].has_fact)
        .map(|(i, &r)| (i, if candidates[i].has_fact { r * 1.5 } else { r }))
        .collect();
    // Best first; ties go to the earlier sentence.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut picked: Vec<usize> = scored.iter().take(2).map(|&(i, _)| i).collect();
    picked.sort_unstable();
    picked
        .into_iter()
        .map(|i| {
            let c = &candidates[i];
            format!("{}: {}", label(c.author), sentence(&cut(&c.text)))
        })
        .collect()
}

/// PageRank over the overlap graph; also says which sentences share a term with another.
pub(super) fn textrank(candidates: &[Candidate]) -> (Vec<f64>, Vec<bool>) {
    const DAMPING: f64 = 0.85;
    let n = candidates.len();
    let mut weights = vec![vec![0.0_f64; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&candidates[i].terms, &candidates[j].terms);
            let shared = a.intersection(b).count();
            if shared == 0 {
                continue;
            }
            let denominator = (1.0 + a.len() as f64).ln() + (1.0 + b.len() as f64).ln();
            let w = shared as f64 / denominator;
            weights[i][j] = w;
            weights[j][i] = w;
        }
    }
    let out: Vec<f64> = weights.iter().map(|row| row.iter().sum()).collect();
    let linked: Vec<bool> = out.iter().map(|&o| o > 0.0).collect();
    let mut rank = vec![1.0_f64; n];
    for _ in 0..50 {
        let next: Vec<f64> = (0..n)
            .map(|i| {
                let inflow: f64 = (0..n)
                    .filter(|&j| out[j] > 0.0)
                    .map(|j| weights[j][i] / out[j] * rank[j])
                    .sum();
                (1.0 - DAMPING) + DAMPING * inflow
            })
            .collect();
        rank = next;
    }
    (rank, linked)
}

/// The last line: where the conversation stands, then the last reply of ours.
pub(super) fn outcome(
    turns: &[&ReviewMessage],
    input: &ReviewInput,
    handoffs: &[HandoffAnswer],
    last_reply: Option<usize>,
    lex: &Lexicon,
) -> String {
    let unanswered = handoffs.iter().find(|h| h.answered_at.is_none());
    let customer_waits = customer_waiting(turns, lex);
    let state = if input.status == Status::Closed {
        if handoffs.is_empty() {
            "Closed.".to_owned()
        } else if unanswered.is_some() {
            "Closed without a person answering the handoff.".to_owned()
        } else {
            "Closed after a person answered.".to_owned()
        }
    } else if let Some(h) = unanswered {
        format!(
            "Waiting for a person for {}.",
            wait(seconds(h.at, input.now))
        )
    } else if !handoffs.is_empty() {
        if customer_waits {
            "Handed to a person and answered; the customer is waiting again.".to_owned()
        } else {
            "Handed to a person and answered; waiting for the customer.".to_owned()
        }
    } else if customer_waits {
        "Waiting for a reply.".to_owned()
    } else {
        "Waiting for the customer.".to_owned()
    };
    let reply = match last_reply.and_then(|i| turns.get(i)) {
        Some(m) if !m.text.trim().is_empty() => {
            let first_two: Vec<String> = sentences(&m.text).into_iter().take(2).collect();
            format!(
                " Last reply ({}): {}",
                label(m.author).to_lowercase(),
                sentence(&cut(&first_two.join(" ")))
            )
        }
        Some(m) => format!(" Last reply ({}): a file.", label(m.author).to_lowercase()),
        None => " No reply yet.".to_owned(),
    };
    format!("Outcome: {state}{reply}")
}

pub(super) fn label(author: Author) -> &'static str {
    match author {
        Author::Customer => "Customer",
        Author::Assistant => "Assistant",
        Author::Agent => "Agent",
        Author::System => "System",
    }
}

/// Splits text into sentences: after `.`, `!`, `?` or `…` followed by a space, and at line
/// breaks; each with its whitespace collapsed. A decimal ("45.90") or a URL stays whole.
pub(super) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ends = matches!(c, '.' | '!' | '?' | '…')
            && chars.peek().is_none_or(|next| next.is_whitespace());
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        current.push(c);
        if ends {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

pub(super) fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let collapsed = current.split_whitespace().collect::<Vec<_>>().join(" ");
    current.clear();
    if !collapsed.is_empty() {
        out.push(collapsed);
    }
}

/// At most [`MAX_PIECE_CHARS`] characters, cut at a word when one ends near the limit,
/// with "…" when anything was cut; whitespace collapsed to single spaces.
pub(super) fn cut(text: &str) -> String {
    cut_to(text, MAX_PIECE_CHARS)
}

/// [`cut`] to at most `max` characters (at least 4).
pub(super) fn cut_to(text: &str, max: usize) -> String {
    let max = max.max(4);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let hard: String = collapsed.chars().take(max - 1).collect();
    let soft = match hard.rfind(' ') {
        Some(pos) if hard[..pos].chars().count() >= max * 3 / 4 => &hard[..pos],
        _ => hard.as_str(),
    };
    format!("{}…", soft.trim_end())
}

/// Ends the text with a full stop unless it already ends a sentence, or ends with a link
/// (a full stop glued to it would break it for whoever copies or opens it).
pub(super) fn sentence(text: &str) -> String {
    let trimmed = text.trim();
    let ends_with_link = trimmed
        .rsplit(' ')
        .next()
        .is_some_and(|w| w.contains("://") || w.starts_with("www."));
    if trimmed.is_empty() || ends_with_link || trimmed.ends_with(['.', '!', '?', '…']) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}.")
    }
}

/// The text with its first letter in upper case, for notes assembled from pieces.
pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
