//! The offline reviewer's tests: each criterion, the cap, the summary, lead stages, the hash.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
use chrono::{Duration, NaiveDate};

use super::*;

use Author::{Agent, Assistant, Customer, System};

fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(h, m, s))
        .unwrap()
}

fn msg(author: Author, at: NaiveDateTime, text: &str) -> ReviewMessage {
    ReviewMessage {
        author,
        text: text.to_owned(),
        at,
    }
}

/// Messages a minute apart from 10:00, in a conversation of the given status, reviewed
/// ten minutes after the last one.
fn thread(status: Status, turns: &[(Author, &str)]) -> ReviewInput {
    let messages: Vec<ReviewMessage> = turns
        .iter()
        .enumerate()
        .map(|(i, (a, t))| msg(*a, at(10, 0, 0) + Duration::minutes(i as i64), t))
        .collect();
    let now = messages.last().map_or(at(10, 0, 0), |m| m.at) + Duration::minutes(10);
    ReviewInput {
        wrong_answers: 0,
        messages,
        status,
        handoffs: Vec::new(),
        resolved_at: None,
        now,
    }
}

fn score(review: &Review, name: CriterionName) -> u8 {
    review
        .rubric
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.score)
        .unwrap()
}

fn note(review: &Review, name: CriterionName) -> String {
    review
        .rubric
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.note.clone())
        .unwrap()
}

fn rubric_sum(review: &Review) -> u32 {
    review.rubric.iter().map(|c| u32::from(c.score)).sum()
}

/// A conversation that does everything right, for tests that change one thing.
fn model_thread() -> ReviewInput {
    thread(
        Status::Closed,
        &[
            (Customer, "Hi"),
            (Customer, "Where is my order 4521?"),
            (
                Assistant,
                "Hello! Thanks for reaching out. Order 4521 shipped on 3 March with DHL.",
            ),
            (Customer, "Great, thank you"),
            (
                Assistant,
                "Happy to help. Is there anything else I can do for you?",
            ),
        ],
    )
}

#[test]
fn weights_add_up_to_100_and_names_are_snake_case() {
    let total: u32 = CriterionName::ALL
        .iter()
        .map(|c| u32::from(c.weight()))
        .sum();
    assert_eq!(total, 100);
    for name in CriterionName::ALL {
        let json = serde_json::to_value(name).unwrap();
        assert_eq!(json, serde_json::Value::String(name.as_str().to_owned()));
    }
    let review = review(&model_thread());
    let names: Vec<CriterionName> = review.rubric.iter().map(|c| c.name).collect();
    assert_eq!(names, CriterionName::ALL);
    let json = serde_json::to_value(&review).unwrap();
    assert_eq!(json["rubric"][4]["name"], "greeting_closing");
    assert_eq!(json["rubric"][4]["weight"], 10);
    assert!(json["rubric"][0]["note"].as_str().is_some());
    assert_eq!(json["critical"], serde_json::json!([]));
    assert_eq!(json["lead_stage"], "info_only");
}

#[test]
fn a_model_conversation_scores_full_marks() {
    let review = review(&model_thread());
    for c in &review.rubric {
        assert_eq!(c.score, c.weight, "{c:?}");
    }
    assert_eq!(review.quality_score, 100);
    assert!(review.critical.is_empty());
}

#[test]
fn responsiveness_after_a_handoff_falls_linearly_from_5_to_60_minutes() {
    // (minutes:seconds until a person answered, expected score)
    let cases = [
        (0, 25),
        (2 * 60, 25),
        (5 * 60, 25),
        (5 * 60 + 1, 25),   // 24.99… rounds to 25
        (20 * 60, 18),      // 25 × 40/55 = 18.2
        (32 * 60 + 30, 13), // 12.5 rounds up
        (50 * 60, 5),       // 4.5 rounds up
        (59 * 60, 0),       // 0.45 rounds down
        (60 * 60, 0),
        (3 * 3600, 0),
    ];
    for (secs, expected) in cases {
        let handoff = at(10, 0, 0);
        let mut input = thread(Status::Human, &[]);
        input.messages = vec![
            msg(Customer, handoff, "I want to talk to a person"),
            msg(
                Agent,
                handoff + Duration::seconds(secs),
                "Hi, Ana here. How can I help?",
            ),
        ];
        input.handoffs = vec![handoff];
        input.now = handoff + Duration::hours(5);
        let review = review(&input);
        assert_eq!(
            score(&review, CriterionName::Responsiveness),
            expected,
            "answered after {secs} s"
        );
        assert!(review.critical.is_empty(), "answered after {secs} s");
    }
}

#[test]
fn responsiveness_without_a_handoff_judges_the_first_reply_to_the_customer() {
    let mut input = thread(Status::Bot, &[]);
    input.messages = vec![
        msg(Customer, at(10, 0, 0), "Do you ship to Porto?"),
        msg(Assistant, at(10, 0, 4), "Yes, we ship to all of Portugal."),
    ];
    assert_eq!(score(&review(&input), CriterionName::Responsiveness), 25);

    input.messages[1].at = at(10, 20, 0);
    let r = review(&input);
    assert_eq!(score(&r, CriterionName::Responsiveness), 18);
    assert_eq!(
        note(&r, CriterionName::Responsiveness),
        "The customer got a first reply after 20 min."
    );

    // Nobody answered: the wait so far counts, and no handoff means no critical cap.
    input.messages.truncate(1);
    input.now = at(12, 0, 0);
    let r = review(&input);
    assert_eq!(score(&r, CriterionName::Responsiveness), 0);
    assert_eq!(
        note(&r, CriterionName::Responsiveness),
        "The customer has had no reply for 2 h 0 min."
    );
    assert!(r.critical.is_empty());

    // Nothing to answer is not a failure.
    let r = review(&thread(
        Status::Human,
        &[(Agent, "Your invoice is attached.")],
    ));
    assert_eq!(score(&r, CriterionName::Responsiveness), 25);
}

#[test]
fn the_slowest_handoff_counts() {
    let mut input = thread(Status::Human, &[]);
    input.messages = vec![
        msg(Customer, at(10, 0, 0), "agent"),
        msg(Agent, at(10, 1, 0), "Hi! Ana here, how can I help?"),
        msg(Customer, at(11, 0, 0), "agent please, again"),
        msg(Agent, at(11, 20, 0), "Sorry for the wait, I'm back."),
    ];
    input.handoffs = vec![at(11, 0, 0), at(10, 0, 0)];
    input.now = at(12, 0, 0);
    let r = review(&input);
    assert_eq!(score(&r, CriterionName::Responsiveness), 18);
    assert_eq!(
        note(&r, CriterionName::Responsiveness),
        "The slowest of 2 handoffs was answered after 20 min."
    );
    // An assistant turn or a note after the handoff is not a person answering.
    input.messages.truncate(3);
    input
        .messages
        .push(msg(Assistant, at(11, 0, 5), "A person will answer soon."));
    input
        .messages
        .push(msg(System, at(11, 0, 6), "Handed off to a person."));
    let r = review(&input);
    assert_eq!(r.critical, vec![CriticalFail::UnansweredHandoff]);
    assert_eq!(score(&r, CriterionName::Responsiveness), 0);
    assert_eq!(
        note(&r, CriterionName::Responsiveness),
        "Nobody has answered the handoff after 60 min."
    );
}

#[test]
fn an_unanswered_handoff_caps_the_score_at_40() {
    let mut input = model_thread();
    input.status = Status::Human;
    input.handoffs = vec![input.now - Duration::minutes(2)];
    let r = review(&input);
    assert_eq!(r.critical, vec![CriticalFail::UnansweredHandoff]);
    assert!(rubric_sum(&r) > u32::from(CRITICAL_CAP), "{:?}", r.rubric);
    assert_eq!(r.quality_score, CRITICAL_CAP);
}

#[test]
fn a_broken_promise_caps_the_score_at_40_in_every_language() {
    for promise in [
        "Let me check with the warehouse and get back to you.",
        "I'll check the tracking for you.",
        "Déjame revisar y te aviso.",
        "Vou verificar com a transportadora.",
        "Main check karke batata hoon.",
    ] {
        let mut input = model_thread();
        input.messages.push(msg(Agent, input.now, promise));
        input.now += Duration::minutes(30);
        let r = review(&input);
        assert_eq!(r.critical, vec![CriticalFail::BrokenPromise], "{promise}");
        assert!(r.quality_score <= CRITICAL_CAP, "{promise}");

        // A later agent turn keeps it.
        input
            .messages
            .push(msg(Agent, input.now, "Found it: it arrives on Monday."));
        assert!(review(&input).critical.is_empty(), "{promise}");
    }
    // The assistant saying it is not a person's promise.
    let mut input = model_thread();
    input
        .messages
        .push(msg(Assistant, input.now, "Let me check that for you."));
    assert!(review(&input).critical.is_empty());
}

#[test]
fn both_critical_failures_are_named() {
    let mut input = thread(
        Status::Human,
        &[
            (Customer, "agent"),
            (Agent, "Hi, let me check."),
            (Customer, "agent!!"),
        ],
    );
    input.handoffs = vec![at(10, 0, 0), at(10, 2, 0)];
    let r = review(&input);
    assert_eq!(
        r.critical,
        vec![CriticalFail::UnansweredHandoff, CriticalFail::BrokenPromise]
    );
    assert!(r.quality_score <= CRITICAL_CAP);
}

/// A thread as written in the tables: who said what, a minute apart.
type Turns<'a> = &'a [(Author, &'a str)];

#[test]
fn resolution_rules() {
    let q = "Can I pay on delivery?";
    let a = "Yes, cash or card on delivery.";
    // (status, turns, expected resolution score)
    let cases: &[(Status, Turns<'_>, u8)] = &[
        // Closed and the customer ended content.
        (
            Status::Closed,
            &[(Customer, q), (Assistant, a), (Customer, "ok, thanks")],
            25,
        ),
        // Closed after an answered question the customer never confirmed.
        (Status::Closed, &[(Customer, q), (Assistant, a)], 20),
        // Closed on a complaint.
        (
            Status::Closed,
            &[
                (Customer, q),
                (Agent, a),
                (Customer, "You charged me twice!"),
            ],
            15,
        ),
        // Open, answered, customer content: not closed.
        (
            Status::Bot,
            &[(Customer, q), (Assistant, a), (Customer, "perfect")],
            20,
        ),
        // Open and the customer's question is unanswered.
        (Status::Bot, &[(Customer, q)], 0),
        // Chasers cost 5 each.
        (
            Status::Human,
            &[
                (Customer, q),
                (Customer, "any update?"),
                (Customer, "??"),
                (Agent, a),
                (Customer, "ok"),
            ],
            10,
        ),
        (
            Status::Human,
            &[
                (Customer, q),
                (Customer, "sigo esperando"),
                (Agent, a),
                (Customer, "ok"),
            ],
            15,
        ),
        // A repeated question costs 5 too, on top of being unanswered.
        (
            Status::Closed,
            &[
                (Customer, "Can I pay on delivery?"),
                (Agent, "One moment."),
                (Customer, "can I pay on delivery??"),
                (Agent, a),
                (Customer, "thanks"),
            ],
            20,
        ),
        // Nothing can go below zero.
        (
            Status::Bot,
            &[
                (Customer, q),
                (Customer, "still waiting"),
                (Customer, "any update?"),
                (Customer, "hello?? anyone there?"),
                (Customer, "alguma novidade?"),
            ],
            0,
        ),
        // Nothing to resolve.
        (Status::Human, &[(Agent, "Your invoice is attached.")], 25),
    ];
    for (status, turns, expected) in cases {
        let r = review(&thread(*status, turns));
        assert_eq!(
            score(&r, CriterionName::Resolution),
            *expected,
            "{turns:?}: {}",
            note(&r, CriterionName::Resolution)
        );
    }
}

#[test]
fn resolution_notes_say_why_in_one_sentence() {
    let r = review(&thread(
        Status::Human,
        &[
            (Customer, "Can I pay on delivery?"),
            (Customer, "any update?"),
            (Agent, "Yes, cash or card."),
            (Customer, "Can I pay on delivery with a card?"),
        ],
    ));
    assert_eq!(
        note(&r, CriterionName::Resolution),
        "The customer is waiting for a reply; the customer's last question is unanswered; \
         1 chaser(s) like \"any update?\"; 1 repeated question(s)."
    );
    assert_eq!(score(&r, CriterionName::Resolution), 0);
}

#[test]
fn resolution_judges_the_words_before_the_close() {
    // A rating after the close does not reopen the conversation; what counts is what the
    // customer said before it.
    let mut input = thread(
        Status::Closed,
        &[
            (Customer, "Can I pay on delivery?"),
            (Agent, "Yes, cash or card."),
            (Customer, "You charged me twice!"),
            (Agent, "Sorry, refunded now."),
            (Customer, "Good, thanks"),
            (Customer, "Why did it take so long?"),
        ],
    );
    input.resolved_at = Some(at(10, 4, 30));
    assert_eq!(score(&review(&input), CriterionName::Resolution), 25);
    input.resolved_at = Some(at(10, 5, 30));
    assert_eq!(score(&review(&input), CriterionName::Resolution), 15);
}

#[test]
fn accuracy_counts_the_assistant_saying_it_cannot_answer() {
    let miss = "I'm not sure I can answer that. Would you like to talk to a person?";
    let cases: &[(&[&str], u8)] = &[
        (&["We open at 9."], 15),
        (&[miss, "We open at 9."], 15),
        (&[miss, "No entendí, ¿puedes reformular?"], 8),
        (
            &[
                miss,
                "Não sei responder isso.",
                "Sorry, I could not find that.",
            ],
            0,
        ),
    ];
    for (answers, expected) in cases {
        let mut turns = Vec::new();
        for a in *answers {
            turns.push((Customer, "When do you open on Sunday?"));
            turns.push((Assistant, *a));
        }
        let r = review(&thread(Status::Bot, &turns));
        assert_eq!(score(&r, CriterionName::Accuracy), *expected, "{answers:?}");
    }
    // A person's "not sure" is not the assistant guessing.
    let r = review(&thread(
        Status::Human,
        &[
            (Customer, "When?"),
            (Agent, "Not sure yet."),
            (Agent, "Not sure, sorry."),
        ],
    ));
    assert_eq!(score(&r, CriterionName::Accuracy), 15);
}

#[test]
fn empathy_in_four_languages() {
    let cases: &[(&str, &str, u8)] = &[
        (
            "You charged me twice!",
            "I'm sorry about that, the refund is on its way.",
            15,
        ),
        (
            "Me cobraron dos veces",
            "Lo siento mucho, ya lo corregimos.",
            15,
        ),
        (
            "Fui cobrado duas vezes",
            "Desculpe o transtorno, já estornamos.",
            15,
        ),
        (
            "Paisa kat gaya do baar",
            "Maaf kijiye, refund ho gaya hai.",
            15,
        ),
        ("You charged me twice!", "The refund is on its way.", 0),
        (
            "Do you ship to Pune?",
            "Yes, we ship to Pune. Thanks for asking!",
            15,
        ),
        ("¿Envían a Lima?", "Sí, con gusto enviamos a Lima.", 15),
        ("Do you ship to Pune?", "Yes, we ship to Pune.", 8),
    ];
    for (customer, reply, expected) in cases {
        let r = review(&thread(
            Status::Human,
            &[(Customer, customer), (Agent, reply)],
        ));
        assert_eq!(
            score(&r, CriterionName::Empathy),
            *expected,
            "{customer} → {reply}"
        );
    }
    // An apology before the complaint does not count for it.
    let r = review(&thread(
        Status::Human,
        &[
            (Customer, "Hi"),
            (Agent, "Sorry for the wait, how can I help?"),
            (Customer, "You charged me twice!"),
            (Agent, "The refund is on its way."),
        ],
    ));
    assert_eq!(score(&r, CriterionName::Empathy), 0);
    // No reply, nothing to judge.
    let r = review(&thread(Status::Bot, &[(Customer, "hello?")]));
    assert_eq!(score(&r, CriterionName::Empathy), 0);
}

#[test]
fn greeting_and_closing_in_four_languages() {
    let cases: &[(&str, &str, u8)] = &[
        (
            "Hello! Yes, we deliver.",
            "Anything else I can help with?",
            10,
        ),
        (
            "¡Hola! Sí, enviamos.",
            "¿Algo más en que pueda ayudarte?",
            10,
        ),
        ("Olá! Sim, entregamos.", "Tenha um bom dia!", 10),
        (
            "Namaste! Haan, delivery hoti hai.",
            "Aur kuch madad chahiye?",
            10,
        ),
        ("Good morning, yes we deliver.", "It arrives Monday.", 5),
        ("Yes, we deliver.", "Have a great day!", 5),
        ("Yes, we deliver.", "It arrives Monday.", 0),
    ];
    for (first, last, expected) in cases {
        let r = review(&thread(
            Status::Human,
            &[
                (Customer, "Do you deliver?"),
                (Agent, first),
                (Customer, "When?"),
                (Agent, "Within three days."),
                (Customer, "ok"),
                (Agent, last),
            ],
        ));
        assert_eq!(
            score(&r, CriterionName::GreetingClosing),
            *expected,
            "{first} … {last}"
        );
    }
}

#[test]
fn clarity_is_the_share_of_readable_replies() {
    let wall = "word ".repeat(200);
    let cases: &[(&[&str], u8)] = &[
        (&["We open at nine.", "Yes, on Sundays too."], 10),
        (&["Yes.", "We open at nine on Sundays too."], 5),
        (&["Yes.", "No.", "Ok", "We open at nine."], 3),
        (&[wall.as_str(), "We open at nine."], 5),
        (&["Yes."], 0),
    ];
    for (replies, expected) in cases {
        let mut turns = vec![(Customer, "When do you open?")];
        turns.extend(replies.iter().map(|r| (Agent, *r)));
        let r = review(&thread(Status::Human, &turns));
        assert_eq!(score(&r, CriterionName::Clarity), *expected, "{replies:?}");
    }
}

#[test]
fn lead_stages_in_several_languages() {
    let cases: &[(&[&str], Option<LeadStage>)] = &[
        (
            &["What's the price of the blue sofa?"],
            Some(LeadStage::QuoteRequest),
        ),
        (
            &["Hola, necesito una cotización para 20 sillas"],
            Some(LeadStage::QuoteRequest),
        ),
        (&["Quanto custa o frete?"], Some(LeadStage::QuoteRequest)),
        (
            &["Pode me mandar um orçamento?"],
            Some(LeadStage::QuoteRequest),
        ),
        (&["ye sofa kitne ka hai?"], Some(LeadStage::QuoteRequest)),
        (&["I want to buy two of them"], Some(LeadStage::Opportunity)),
        (
            &["Can I book a table for 4 tonight?"],
            Some(LeadStage::Opportunity),
        ),
        (&["How do I pay?"], Some(LeadStage::Opportunity)),
        (
            &["Quiero comprar el modelo rojo"],
            Some(LeadStage::Opportunity),
        ),
        (
            &["Quero reservar para sábado"],
            Some(LeadStage::Opportunity),
        ),
        (&["Mujhe ye kharidna hai"], Some(LeadStage::Opportunity)),
        (&["Not interested, thanks"], Some(LeadStage::NotInterested)),
        (&["STOP"], Some(LeadStage::NotInterested)),
        (&["unsubscribe me please"], Some(LeadStage::NotInterested)),
        (&["No me interesa"], Some(LeadStage::NotInterested)),
        (&["Não tenho interesse"], Some(LeadStage::NotInterested)),
        (&["https://bit.ly/3xYz"], Some(LeadStage::Spam)),
        (&["hi", "www.cheap-pills.example"], Some(LeadStage::Spam)),
        (
            &["Congratulations you have won! Click here"],
            Some(LeadStage::Spam),
        ),
        (
            &["Ganhe dinheiro em casa, clique aqui"],
            Some(LeadStage::Spam),
        ),
        (&["What are your opening hours?"], Some(LeadStage::InfoOnly)),
        (&["¿Dónde están ubicados?"], Some(LeadStage::InfoOnly)),
        (&["Vocês abrem no domingo?"], Some(LeadStage::InfoOnly)),
        // The latest intent wins.
        (
            &["How much is it?", "not interested anymore"],
            Some(LeadStage::NotInterested),
        ),
        (
            &["stop", "actually, I want to buy it"],
            Some(LeadStage::Opportunity),
        ),
        (
            &["How much is it?", "ok I want to buy it"],
            Some(LeadStage::Opportunity),
        ),
        // A link with words around it is not link-only.
        (
            &["Is this yours? https://example.com/item/4"],
            Some(LeadStage::InfoOnly),
        ),
        // A complaint is support, not a lead.
        (&["You charged me twice, why?"], None),
        (&["My parcel arrived."], None),
        (&["hola"], None),
        (&[], None),
    ];
    for (texts, expected) in cases {
        let turns: Vec<(Author, &str)> = texts
            .iter()
            .flat_map(|t| [(Customer, *t), (Assistant, "Thanks for writing!")])
            .collect();
        let r = review(&thread(Status::Bot, &turns));
        assert_eq!(r.lead_stage, *expected, "{texts:?}");
    }
    // Our own words never set the stage.
    let r = review(&thread(
        Status::Human,
        &[
            (Customer, "My parcel arrived."),
            (Agent, "Great! Want to buy a second one? Our price is 20."),
        ],
    ));
    assert_eq!(r.lead_stage, None);
}

#[test]
fn summary_intent_skips_greetings() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["hi", "Where is my order 4521?"],
            "Asked: Where is my order 4521?",
        ),
        (
            &["Hola!", "¿Dónde está mi pedido?"],
            "Asked: ¿Dónde está mi pedido?",
        ),
        (
            &["olá, tudo bem?", "Meu pedido não chegou"],
            "Asked: Meu pedido não chegou.",
        ),
        (
            &["Namaste ji", "mera order kab aayega"],
            "Asked: mera order kab aayega.",
        ),
        (
            &["Hi! My order 4521 never came."],
            "Asked: My order 4521 never came.",
        ),
        (
            &["Hola, quiero cambiar la talla"],
            "Asked: quiero cambiar la talla.",
        ),
        (
            &["Good morning", "hey", "Can I return shoes?"],
            "Asked: Can I return shoes?",
        ),
    ];
    for (texts, expected) in cases {
        let mut turns: Vec<(Author, &str)> = texts.iter().map(|t| (Customer, *t)).collect();
        turns.push((Agent, "Hello, checking now: it ships today."));
        let r = review(&thread(Status::Human, &turns));
        let first = r.summary.lines().next().unwrap();
        assert_eq!(first, *expected, "{texts:?}");
    }
    // Only greetings: no intent line.
    let r = review(&thread(
        Status::Bot,
        &[(Customer, "hi"), (Assistant, "Hello! How can I help?")],
    ));
    assert!(!r.summary.contains("Asked:"), "{}", r.summary);
}

#[test]
fn summary_details_prefer_central_sentences_with_numbers() {
    let r = review(&thread(
        Status::Human,
        &[
            (Customer, "Hi, my parcel did not arrive."),
            (Agent, "Hello! Sorry about the parcel. Which address did you use?"),
            (Customer, "The parcel should go to Rua Augusta 120, Lisboa. The parcel is a gift."),
            (Agent, "Thanks. The parcel was sent to Rua Augusta 12, so the courier returned the parcel."),
            (Customer, "The parcel courier never called me either."),
            (Agent, "I re-sent the parcel to Rua Augusta 120; it arrives on 5 March. Anything else?"),
        ],
    ));
    let lines: Vec<&str> = r.summary.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.summary);
    assert_eq!(lines[0], "Asked: my parcel did not arrive.");
    // The sentences with the address numbers beat the equally central ones without.
    assert_eq!(
        lines[1],
        "Details: Customer: The parcel should go to Rua Augusta 120, Lisboa. \
         Agent: The parcel was sent to Rua Augusta 12, so the courier returned the parcel.",
    );
    assert_eq!(
        lines[2],
        "Outcome: Waiting for the customer. Last reply (agent): I re-sent the parcel to \
         Rua Augusta 120; it arrives on 5 March. Anything else?",
    );
}

#[test]
fn summary_details_need_a_link_or_a_fact() {
    // Nothing connects these sentences and none carries a number: no details line.
    let r = review(&thread(
        Status::Bot,
        &[
            (Customer, "Do you sell umbrellas?"),
            (Assistant, "Yes, we sell umbrellas."),
            (Customer, "Nice colours though."),
            (Assistant, "We open at nine."),
        ],
    ));
    assert!(!r.summary.contains("Details:"), "{}", r.summary);
    assert_eq!(r.summary.lines().count(), 2);
}

#[test]
fn summary_outcome_names_the_final_state() {
    let base = [
        (Customer, "Where is my order 4521?"),
        (Assistant, "Order 4521 is on its way."),
        (Customer, "agent"),
    ];
    // Waiting for a person.
    let mut input = thread(Status::Human, &base);
    input.handoffs = vec![at(10, 2, 0)];
    let r = review(&input);
    let last = r.summary.lines().last().unwrap();
    assert_eq!(
        last,
        "Outcome: Waiting for a person for 10 min. Last reply (assistant): Order 4521 is on its way."
    );
    // A person answered; waiting for the customer.
    input.messages.push(msg(
        Agent,
        at(10, 4, 0),
        "Hi, Ana here. It arrives tomorrow",
    ));
    let r = review(&input);
    assert_eq!(
        r.summary.lines().last().unwrap(),
        "Outcome: Handed to a person and answered; waiting for the customer. \
         Last reply (agent): Hi, Ana here. It arrives tomorrow."
    );
    // Closed.
    input.status = Status::Closed;
    let r = review(&input);
    assert!(
        r.summary
            .lines()
            .last()
            .unwrap()
            .starts_with("Outcome: Closed after a person answered. Last reply (agent):"),
        "{}",
        r.summary
    );
    // Waiting for a reply, no reply at all.
    let r = review(&thread(
        Status::Bot,
        &[(Customer, "Where is my order 4521?")],
    ));
    assert_eq!(
        r.summary,
        "Asked: Where is my order 4521?\nOutcome: Waiting for a reply. No reply yet."
    );
    assert_eq!(
        review(&thread(Status::Bot, &[])).summary,
        "No messages yet."
    );
}

#[test]
fn summary_keeps_text_as_text_cut_and_on_three_lines() {
    let long = format!("<b>My order</b>\n\nhas {} problems", "many ".repeat(80));
    let r = review(&thread(
        Status::Bot,
        &[
            (Customer, &long),
            (Assistant, "Line one\nline two\r\nline three"),
        ],
    ));
    let lines: Vec<&str> = r.summary.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.summary);
    assert!(
        lines[0].starts_with("Asked: <b>My order</b> has many many"),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with('…'));
    assert!(lines[0].chars().count() <= "Asked: ".len() + MAX_PIECE_CHARS);
    assert_eq!(
        lines[1],
        "Outcome: Waiting for the customer. Last reply (assistant): Line one line two."
    );
}

#[test]
fn sentences_split_on_ends_and_lines_only() {
    assert_eq!(
        sentences("It costs 45.90 EUR. See https://shop.example/a.b?x=1 now!  Ok?\nBye"),
        vec![
            "It costs 45.90 EUR.",
            "See https://shop.example/a.b?x=1 now!",
            "Ok?",
            "Bye"
        ]
    );
    assert_eq!(sentences("   \n\n "), Vec::<String>::new());
    assert_eq!(
        sentence("Pay here: https://shop.example/pay"),
        "Pay here: https://shop.example/pay"
    );
    assert_eq!(sentence("  it ships today "), "it ships today.");
    assert_eq!(sentence("Done!"), "Done!");
    assert_eq!(capitalize("closed; ok"), "Closed; ok");
    assert_eq!(capitalize("ótimo"), "Ótimo");
    assert_eq!(cut("short"), "short");
    let cut_text = cut(&"ab ".repeat(100));
    assert!(cut_text.ends_with("ab…"), "{cut_text}");
    assert!(cut_text.chars().count() <= MAX_PIECE_CHARS);
    // No space to cut at: cut mid-word, on a character boundary.
    let cut_text = cut(&"é".repeat(500));
    assert_eq!(cut_text.chars().count(), MAX_PIECE_CHARS);
}

#[test]
fn the_hash_is_stable_and_follows_the_transcript() {
    let input = model_thread();
    let hash = review(&input).transcript_hash;
    assert_eq!(hash.len(), 64);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(review(&input.clone()).transcript_hash, hash);

    // The clock is not part of it; the order messages are given in is not either.
    let mut later = input.clone();
    later.now += Duration::days(3);
    assert_eq!(review(&later).transcript_hash, hash);
    let mut shuffled = input.clone();
    shuffled.messages.reverse();
    assert_eq!(review(&shuffled).transcript_hash, hash);

    let mut changes: Vec<ReviewInput> = Vec::new();
    let mut added = input.clone();
    added
        .messages
        .push(msg(Customer, input.now, "one more thing"));
    changes.push(added);
    let mut note = input.clone();
    note.messages.push(msg(System, input.now, "Closed by Ana"));
    changes.push(note);
    let mut edited = input.clone();
    edited.messages[1].text.push('!');
    changes.push(edited);
    let mut moved = input.clone();
    moved.messages[1].at += Duration::seconds(1);
    changes.push(moved);
    let mut reopened = input.clone();
    reopened.status = Status::Bot;
    changes.push(reopened);
    let mut handed = input.clone();
    handed.handoffs.push(at(10, 1, 0));
    changes.push(handed);
    let mut resolved = input.clone();
    resolved.resolved_at = Some(at(10, 5, 0));
    changes.push(resolved);
    // Text moved across a message boundary must not collide.
    let mut split = input.clone();
    split.messages[1].text = "Where is my".into();
    split.messages[2].text = format!("order 4521?{}", input.messages[2].text);
    changes.push(split);

    let mut seen = HashSet::from([hash]);
    for (i, changed) in changes.iter().enumerate() {
        assert!(
            seen.insert(review(changed).transcript_hash),
            "change {i} kept the hash or collided"
        );
    }
}

/// A small deterministic generator (64-bit LCG), so the property test needs no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn any_conversation_scores_0_to_100_and_the_rubric_adds_up() {
    let wall = "a ".repeat(400);
    let pool: &[&str] = &[
        "",
        "hi",
        "hola",
        "olá, tudo bem?",
        "namaste",
        "Where is my order 4521?",
        "You charged me twice!",
        "any update?",
        "??",
        "still waiting",
        "ok thanks",
        "Let me check and get back to you.",
        "Vou verificar.",
        "te aviso",
        "I'm not sure I can answer that.",
        "Sorry about that! Anything else?",
        "Hello, welcome! It ships on 3 March.",
        "https://spam.example",
        "How much is it?",
        "I want to buy it",
        "stop",
        "Ok",
        wall.as_str(),
        "¿Cuánto cuesta?\n\nGracias.",
        "emoji 🎉 only 🙂",
        "\u{200b}",
        "....",
    ];
    let authors = [Customer, Assistant, Agent, System];
    let statuses = [Status::Bot, Status::Human, Status::Closed];
    let mut rng = Lcg(14);
    for case in 0..1000 {
        let start = at(9, 0, 0);
        let mut t = start;
        let mut messages = Vec::new();
        for _ in 0..rng.below(14) {
            t += Duration::seconds(rng.below(7200) as i64);
            messages.push(msg(
                authors[rng.below(authors.len())],
                t,
                pool[rng.below(pool.len())],
            ));
        }
        let handoffs = (0..rng.below(3))
            .map(|_| start + Duration::seconds(rng.below(30_000) as i64))
            .collect();
        let resolved_at =
            (rng.below(2) == 0).then(|| start + Duration::seconds(rng.below(30_000) as i64));
        // Sometimes the clock is behind the messages: it must not matter.
        let now = start + Duration::seconds(rng.below(40_000) as i64);
        let input = ReviewInput {
            wrong_answers: 0,
            messages,
            status: statuses[rng.below(statuses.len())],
            handoffs,
            resolved_at,
            now,
        };
        let r = review(&input);
        assert!(r.quality_score <= 100, "case {case}: {input:?}");
        for c in &r.rubric {
            assert_eq!(c.weight, c.name.weight(), "case {case}");
            assert!(c.score <= c.weight, "case {case}: {c:?}");
            assert!(!c.note.is_empty(), "case {case}: {c:?}");
        }
        let sum = rubric_sum(&r);
        let expected = if r.critical.is_empty() {
            sum
        } else {
            sum.min(u32::from(CRITICAL_CAP))
        };
        assert_eq!(
            u32::from(r.quality_score),
            expected,
            "case {case}: {input:?}"
        );
        assert!(r.summary.lines().count() <= 3, "case {case}: {}", r.summary);
        assert!(!r.summary.is_empty(), "case {case}");
        assert_eq!(review(&input), r, "case {case}: not deterministic");
    }
}
