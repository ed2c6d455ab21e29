//! When the AI should follow up: our last message asked the customer something (or promised
//! something) and the customer went quiet. Pure; the state machine decides whether the
//! suggestion is taken (the inbox allows it, none is scheduled, the cap is not reached).

use super::*;

/// A follow-up the reviewer suggests: when, what to send, and why (shown to agents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpSuggestion {
    pub at: NaiveDateTime,
    pub message: String,
    pub reason: String,
}

/// The longest quote of our message the reason carries.
const QUOTE_CHARS: usize = 80;

/// A follow-up `after` our last message when the conversation is open and that message —
/// the latest of anyone's — asks the customer something or promises something; `None`
/// otherwise (the customer answered, nobody asked, it is closed). `customer_name` greets
/// the customer by name in the message.
pub fn suggest_follow_up(
    input: &ReviewInput,
    after: chrono::Duration,
    customer_name: Option<&str>,
) -> Option<FollowUpSuggestion> {
    if input.status == Status::Closed {
        return None;
    }
    let last = input
        .messages
        .iter()
        .filter(|m| m.author != Author::System)
        .max_by_key(|m| m.at)?;
    if !rubric::is_ours(last) {
        return None;
    }
    let lex = Lexicon::get();
    let asked = lead::is_question(&last.text);
    let promised = lex.promise.matches(&last.text);
    if !asked && !promised {
        return None;
    }
    let quote = summary::cut_to(&last.text, QUOTE_CHARS);
    let reason = match asked {
        true => format!("our last message asked the customer \u{201c}{quote}\u{201d} and they have not answered"),
        false => format!("our last message promised \u{201c}{quote}\u{201d} and the customer has not written since"),
    };
    let language = customer_language(input);
    Some(FollowUpSuggestion {
        at: last.at + after,
        message: follow_up_text(language, customer_name),
        reason,
    })
}

/// The languages the follow-up is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    English,
    Spanish,
    Portuguese,
}

/// The customer's language, guessed from their own words: accents and common words of
/// Spanish and Portuguese; English otherwise.
fn customer_language(input: &ReviewInput) -> Language {
    const SPANISH: &[&str] = &[
        "hola", "gracias", "quiero", "necesito", "pedido", "por", "favor", "como", "donde",
        "cuando", "tengo", "buenas", "buenos", "usted", "precio",
    ];
    const PORTUGUESE: &[&str] = &[
        "ola", "obrigado", "obrigada", "quero", "preciso", "pedido", "voce", "onde", "quando",
        "tenho", "bom", "boa", "tudo", "preco", "nao",
    ];
    let (mut es, mut pt) = (0usize, 0usize);
    for m in input
        .messages
        .iter()
        .filter(|m| m.author == Author::Customer)
    {
        let lower = m.text.to_lowercase();
        es += lower.matches(['ñ', '¿', '¡']).count() * 2;
        pt += lower.matches(['ã', 'õ', 'ç']).count() * 2;
        for word in normalize(&m.text).split(' ') {
            es += usize::from(SPANISH.contains(&word));
            pt += usize::from(PORTUGUESE.contains(&word));
        }
    }
    match (es, pt) {
        (0, 0) => Language::English,
        (es, pt) if es > pt => Language::Spanish,
        (es, pt) if pt > es => Language::Portuguese,
        _ => Language::English,
    }
}

fn follow_up_text(language: Language, name: Option<&str>) -> String {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 40)
        .and_then(|n| n.split_whitespace().next());
    let hello = |word: &str| match name {
        Some(n) => format!("{word} {n}"),
        None => word.to_owned(),
    };
    match language {
        Language::English => format!(
            "{}, just following up on my last message. Is there anything else I can help you with?",
            hello("Hi")
        ),
        Language::Spanish => format!(
            "{}, le escribo para dar seguimiento a mi último mensaje. ¿Hay algo más en lo que pueda ayudarle?",
            hello("Hola")
        ),
        Language::Portuguese => format!(
            "{}, passando para dar continuidade à minha última mensagem. Posso ajudar em algo mais?",
            hello("Olá")
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(9, min, 0)
            .unwrap()
    }

    fn input(status: Status, turns: &[(Author, &str)]) -> ReviewInput {
        ReviewInput {
            wrong_answers: 0,
            messages: turns
                .iter()
                .zip(0..)
                .map(|((author, text), i)| ReviewMessage {
                    author: *author,
                    text: (*text).to_owned(),
                    at: t(i),
                })
                .collect(),
            status,
            handoffs: vec![],
            resolved_at: None,
            now: t(30),
        }
    }

    #[test]
    fn follow_up_when_our_last_message_asked_or_promised_and_the_customer_is_quiet() {
        use Author::*;
        let after = chrono::Duration::hours(23);
        // (case, status, turns, expected reason start or None)
        type Case<'a> = (&'a str, Status, Vec<(Author, &'a str)>, Option<&'a str>);
        let cases: [Case<'_>; 7] = [
            (
                "we asked",
                Status::Human,
                vec![
                    (Customer, "my order is late"),
                    (Agent, "Could you send me the order number?"),
                ],
                Some("our last message asked"),
            ),
            (
                "we promised",
                Status::Human,
                vec![
                    (Customer, "my order is late"),
                    (Agent, "I'll check with the warehouse and get back to you"),
                ],
                Some("our last message promised"),
            ),
            (
                "the assistant asked",
                Status::Bot,
                vec![
                    (Customer, "hi"),
                    (Assistant, "Hello! What size do you need?"),
                ],
                Some("our last message asked"),
            ),
            (
                "the customer answered",
                Status::Human,
                vec![(Agent, "Which size?"), (Customer, "M")],
                None,
            ),
            (
                "nothing asked",
                Status::Human,
                vec![(Customer, "thanks"), (Agent, "You're welcome.")],
                None,
            ),
            (
                "closed",
                Status::Closed,
                vec![(Customer, "hi"), (Agent, "Anything else?")],
                None,
            ),
            ("empty", Status::Bot, vec![], None),
        ];
        for (case, status, turns, expected) in cases {
            let s = suggest_follow_up(&input(status, &turns), after, Some("Ana Lima"));
            match expected {
                None => assert!(s.is_none(), "{case}: {s:?}"),
                Some(start) => {
                    let s = s.unwrap_or_else(|| panic!("{case}"));
                    assert!(s.reason.starts_with(start), "{case}: {}", s.reason);
                    assert_eq!(
                        s.at,
                        t(u32::try_from(turns.len()).unwrap() - 1) + after,
                        "{case}"
                    );
                    assert!(s.message.starts_with("Hi Ana,"), "{case}: {}", s.message);
                }
            }
        }
    }

    #[test]
    fn the_follow_up_is_written_in_the_customers_language() {
        use Author::*;
        let after = chrono::Duration::hours(1);
        let es = input(
            Status::Human,
            &[
                (Customer, "Hola, necesito ayuda con mi pedido"),
                (Agent, "¿Cuál es el número?"),
            ],
        );
        let pt = input(
            Status::Human,
            &[
                (Customer, "Olá, não recebi o meu pedido"),
                (Agent, "Qual é o número?"),
            ],
        );
        let en = input(
            Status::Human,
            &[
                (Customer, "Hello, where is my parcel"),
                (Agent, "What is the number?"),
            ],
        );
        assert!(suggest_follow_up(&es, after, None)
            .unwrap()
            .message
            .starts_with("Hola,"));
        assert!(suggest_follow_up(&pt, after, None)
            .unwrap()
            .message
            .starts_with("Olá,"));
        assert!(suggest_follow_up(&en, after, None)
            .unwrap()
            .message
            .starts_with("Hi,"));
        // A long quote is cut in the reason.
        let long = "Could you tell me ".to_owned() + &"more ".repeat(60) + "?";
        let s = suggest_follow_up(
            &input(Status::Human, &[(Customer, "hi"), (Agent, long.as_str())]),
            after,
            None,
        )
        .unwrap();
        assert!(s.reason.chars().count() < 200, "{}", s.reason);
    }
}
