//! The rubric: each criterion scored from what happened, and the critical failures.

use super::*;

// ---------------------------------------------------------------------------------------
// Handoffs and critical failures
// ---------------------------------------------------------------------------------------

/// One handoff and the first agent turn at or after it.
#[derive(Debug, Clone, Copy)]
pub(super) struct HandoffAnswer {
    pub(super) at: NaiveDateTime,
    pub(super) answered_at: Option<NaiveDateTime>,
}

pub(super) fn handoff_answers(turns: &[&ReviewMessage], input: &ReviewInput) -> Vec<HandoffAnswer> {
    let mut handoffs = input.handoffs.clone();
    handoffs.sort();
    handoffs
        .into_iter()
        .map(|at| HandoffAnswer {
            at,
            answered_at: turns
                .iter()
                .find(|m| m.author == Author::Agent && m.at >= at)
                .map(|m| m.at),
        })
        .collect()
}

/// Whether the last agent turn promises to check or come back: an earlier promise followed
/// by any agent turn was kept or at least followed up.
pub(super) fn broken_promise(turns: &[&ReviewMessage], lex: &Lexicon) -> bool {
    turns
        .iter()
        .rev()
        .find(|m| m.author == Author::Agent)
        .is_some_and(|m| lex.promise.matches(&m.text))
}

// ---------------------------------------------------------------------------------------
// The rubric
// ---------------------------------------------------------------------------------------

pub(super) fn criterion(name: CriterionName, score: u8, note: impl Into<String>) -> Criterion {
    let weight = name.weight();
    Criterion {
        name,
        weight,
        score: score.min(weight),
        note: note.into(),
    }
}

pub(super) fn is_ours(m: &ReviewMessage) -> bool {
    matches!(m.author, Author::Agent | Author::Assistant)
}

pub(super) fn seconds(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_seconds().max(0)
}

/// Full marks within [`FULL_WITHIN_SECS`], none from [`ZERO_AFTER_SECS`], linear (rounded)
/// between.
pub(super) fn delay_score(weight: u8, secs: i64) -> u8 {
    if secs <= FULL_WITHIN_SECS {
        return weight;
    }
    if secs >= ZERO_AFTER_SECS {
        return 0;
    }
    let span = ZERO_AFTER_SECS - FULL_WITHIN_SECS;
    let scaled = (i64::from(weight) * (ZERO_AFTER_SECS - secs) + span / 2) / span;
    u8::try_from(scaled.clamp(0, i64::from(weight))).unwrap_or(0)
}

/// A wait in words: "40 s", "12 min", "3 h 5 min".
pub(super) fn wait(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 120 * 60 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

pub(super) fn responsiveness(
    turns: &[&ReviewMessage],
    handoffs: &[HandoffAnswer],
    input: &ReviewInput,
) -> Criterion {
    let name = CriterionName::Responsiveness;
    let weight = name.weight();
    if !handoffs.is_empty() {
        // The slowest handoff decides: a quick answer to the first does not excuse a
        // second one left waiting.
        let delays = handoffs.iter().map(|h| match h.answered_at {
            Some(reply) => (seconds(h.at, reply), true),
            None => (seconds(h.at, input.now), false),
        });
        let (secs, answered) = delays
            .max_by_key(|&(secs, answered)| (!answered, secs))
            .unwrap_or((0, true));
        let note = if !answered {
            format!("Nobody has answered the handoff after {}.", wait(secs))
        } else if handoffs.len() == 1 {
            format!("A person answered the handoff after {}.", wait(secs))
        } else {
            format!(
                "The slowest of {} handoffs was answered after {}.",
                handoffs.len(),
                wait(secs)
            )
        };
        return criterion(name, delay_score(weight, secs), note);
    }
    let Some(first) = turns.iter().position(|m| m.author == Author::Customer) else {
        return criterion(name, weight, "No customer message to answer.");
    };
    let asked = turns[first].at;
    match turns[first..].iter().find(|m| is_ours(m)) {
        Some(reply) => {
            let secs = seconds(asked, reply.at);
            let note = format!("The customer got a first reply after {}.", wait(secs));
            criterion(name, delay_score(weight, secs), note)
        }
        None => {
            let secs = seconds(asked, input.now);
            let note = format!("The customer has had no reply for {}.", wait(secs));
            criterion(name, delay_score(weight, secs), note)
        }
    }
}

pub(super) fn resolution(
    turns: &[&ReviewMessage],
    input: &ReviewInput,
    lex: &Lexicon,
) -> Criterion {
    let name = CriterionName::Resolution;
    let customers: Vec<usize> = turns
        .iter()
        .enumerate()
        .filter(|(_, m)| m.author == Author::Customer)
        .map(|(i, _)| i)
        .collect();
    if customers.is_empty() {
        return criterion(name, name.weight(), "No customer message to resolve.");
    }
    let closed = input.status == Status::Closed;
    let customer_waiting = customer_waiting(turns, lex);

    let mut score: i32 = 0;
    let mut parts: Vec<String> = Vec::new();
    if closed {
        score += 15;
        parts.push("closed".into());
    } else if customer_waiting {
        parts.push("the customer is waiting for a reply".into());
    } else {
        score += 10;
        parts.push("answered but not closed".into());
    }

    // After a close the customer may still rate it (a rating does not reopen): the words
    // judged are the last ones before the close.
    let last_customer = customers
        .iter()
        .rev()
        .copied()
        .find(|&i| match (closed, input.resolved_at) {
            (true, Some(resolved)) => turns[i].at <= resolved,
            _ => true,
        })
        .or(customers.last().copied());
    if let Some(i) = last_customer {
        let text = &turns[i].text;
        let answered_after = turns[i + 1..].iter().any(|m| is_ours(m));
        if lex.complaint.matches(text) {
            parts.push("the customer's last words are a complaint".into());
        } else if is_question(text) {
            if answered_after {
                score += 5;
                parts.push("the customer's last question was answered, not confirmed".into());
            } else {
                parts.push("the customer's last question is unanswered".into());
            }
        } else {
            score += 10;
            parts.push("the customer's last words are neither a question nor a complaint".into());
        }
    }

    let chasers = count_chasers(turns, &customers, lex);
    let repeats = count_repeated_questions(turns, &customers, lex);
    if chasers > 0 {
        parts.push(format!("{chasers} chaser(s) like \"any update?\""));
    }
    if repeats > 0 {
        parts.push(format!("{repeats} repeated question(s)"));
    }
    let deduction = 5 * i32::try_from(chasers + repeats).unwrap_or(i32::MAX / 5);
    score = score.saturating_sub(deduction).max(0);
    criterion(
        name,
        u8::try_from(score).unwrap_or(0),
        sentence(&capitalize(&parts.join("; "))),
    )
}

/// Whether the customer is owed a reply: they wrote last, and not merely to acknowledge an
/// answer ("ok", "perfect, thanks" after a reply ends a thread; it does not ask for more).
pub(super) fn customer_waiting(turns: &[&ReviewMessage], lex: &Lexicon) -> bool {
    let Some(last) = turns.last().filter(|m| m.author == Author::Customer) else {
        return false;
    };
    let acknowledgement = turns.iter().any(|m| is_ours(m))
        && !is_question(&last.text)
        && !lex.complaint.matches(&last.text)
        && !is_chaser(&last.text, lex);
    !acknowledgement
}

/// Customer turns after their first that chase an answer: a chaser phrase, or only
/// question marks ("??").
pub(super) fn count_chasers(turns: &[&ReviewMessage], customers: &[usize], lex: &Lexicon) -> usize {
    customers
        .iter()
        .skip(1)
        .filter(|&&i| is_chaser(&turns[i].text, lex))
        .count()
}

pub(super) fn is_chaser(text: &str, lex: &Lexicon) -> bool {
    lex.chaser.matches(text) || (normalize(text).is_empty() && text.contains('?'))
}

/// Customer questions that ask again what an earlier one asked: at least two terms, and
/// most of them (Jaccard ≥ 0.6) shared. Chasers are counted apart, not twice.
pub(super) fn count_repeated_questions(
    turns: &[&ReviewMessage],
    customers: &[usize],
    lex: &Lexicon,
) -> usize {
    let mut seen: Vec<HashSet<String>> = Vec::new();
    let mut repeats = 0;
    for &i in customers {
        let text = &turns[i].text;
        if !is_question(text) || is_chaser(text, lex) {
            continue;
        }
        let terms: HashSet<String> = tokenize(text).into_iter().collect();
        if terms.len() < 2 {
            continue;
        }
        if seen.iter().any(|earlier| jaccard(earlier, &terms) >= 0.6) {
            repeats += 1;
        }
        seen.push(terms);
    }
    repeats
}

pub(super) fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

pub(super) fn accuracy(turns: &[&ReviewMessage], wrong: usize, lex: &Lexicon) -> Criterion {
    let name = CriterionName::Accuracy;
    let answers: Vec<&&ReviewMessage> = turns
        .iter()
        .filter(|m| m.author == Author::Assistant)
        .collect();
    if answers.is_empty() && wrong == 0 {
        return criterion(name, name.weight(), "No assistant answers to judge.");
    }
    let misses = answers
        .iter()
        .filter(|m| lex.no_match.matches(&m.text))
        .count();
    let (score, said): (u8, String) = match misses {
        0 => (
            15,
            "The assistant never said it could not answer.".to_owned(),
        ),
        1 => (
            15,
            "The assistant said once that it could not answer.".to_owned(),
        ),
        2 => (
            8,
            "The assistant said twice that it could not answer.".to_owned(),
        ),
        n => (
            0,
            format!("The assistant said {n} times that it could not answer."),
        ),
    };
    if wrong == 0 {
        return criterion(name, score, said);
    }
    let cost = u8::try_from(wrong)
        .unwrap_or(u8::MAX)
        .saturating_mul(crate::domain::answer::POINTS_PER_WRONG_ANSWER);
    let marked = match wrong {
        1 => "An agent marked one of the assistant's answers wrong.".to_owned(),
        n => format!("Agents marked {n} of the assistant's answers wrong."),
    };
    criterion(name, score.saturating_sub(cost), format!("{marked} {said}"))
}

pub(super) fn empathy(turns: &[&ReviewMessage], lex: &Lexicon) -> Criterion {
    let name = CriterionName::Empathy;
    if !turns.iter().any(|m| is_ours(m)) {
        return criterion(name, 0, "No reply to judge.");
    }
    let complaint = turns
        .iter()
        .position(|m| m.author == Author::Customer && lex.complaint.matches(&m.text));
    let kind_after = |from: usize| {
        turns[from..]
            .iter()
            .any(|m| is_ours(m) && lex.empathy.matches(&m.text))
    };
    match complaint {
        Some(i) if kind_after(i) => criterion(
            name,
            15,
            "The complaint was met with an apology or empathy.",
        ),
        Some(_) => criterion(
            name,
            0,
            "The customer complained and no reply apologised or showed empathy.",
        ),
        None if kind_after(0) => {
            criterion(name, 15, "Our replies thanked or reassured the customer.")
        }
        None => criterion(
            name,
            8,
            "Neutral replies, with no thanks, apology or reassurance.",
        ),
    }
}

pub(super) fn greeting_closing(turns: &[&ReviewMessage], lex: &Lexicon) -> Criterion {
    let name = CriterionName::GreetingClosing;
    let ours: Vec<&&ReviewMessage> = turns.iter().filter(|m| is_ours(m)).collect();
    if ours.is_empty() {
        return criterion(name, 0, "No reply to judge.");
    }
    let greeted = ours.iter().take(2).any(|m| lex.greeting.matches(&m.text));
    let closed = ours
        .iter()
        .rev()
        .take(2)
        .any(|m| lex.closing.matches(&m.text));
    let (score, note) = match (greeted, closed) {
        (true, true) => (10, "Our replies greeted the customer and closed politely."),
        (true, false) => (5, "Our replies greeted the customer but did not close."),
        (false, true) => (5, "Our replies closed politely but never greeted."),
        (false, false) => (0, "Our replies neither greeted nor closed."),
    };
    criterion(name, score, note)
}

/// A reply of one word says too little; past 150 words (or 1,000 characters, for scripts
/// without spaces) it is a wall of text on a phone.
pub(super) fn readable_length(text: &str) -> bool {
    let words = text.split_whitespace().count();
    (2..=150).contains(&words) && text.chars().count() <= 1000
}

pub(super) fn clarity(turns: &[&ReviewMessage]) -> Criterion {
    let name = CriterionName::Clarity;
    let texts: Vec<&str> = turns
        .iter()
        .filter(|m| is_ours(m) && !m.text.trim().is_empty())
        .map(|m| m.text.as_str())
        .collect();
    if texts.is_empty() {
        return criterion(name, 0, "No text reply to judge.");
    }
    let good = texts.iter().filter(|t| readable_length(t)).count();
    let weight = usize::from(name.weight());
    let score = (weight * good + texts.len() / 2) / texts.len();
    let note = if good == texts.len() {
        "Every reply was of a readable length.".to_owned()
    } else {
        format!(
            "{good} of {} replies were of a readable length (not one word, not a wall of text).",
            texts.len()
        )
    };
    criterion(name, u8::try_from(score).unwrap_or(0), note)
}
