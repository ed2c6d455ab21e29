//! Contact memories: what was learned about a customer, typed (`fact`, `preference`, `goal`,
//! `experience`), and how a new finding is reconciled with what is already known.
//!
//! Two pure steps, table-tested here; the store applies their result (`db::queries::remember`):
//!
//! 1. [`extract`] reads one customer message with pattern rules, offline and deterministic,
//!    in English, Spanish, Portuguese and Hinglish ("my name is Ana", "vivo en Madrid",
//!    "prefiro pix", "mujhe laptop chahiye"). A fact about the person that can only have one
//!    value at a time (name, city, email, phone, employer) names its *slot*.
//! 2. [`reconcile`] compares the findings with the person's live memories: a duplicate (same
//!    kind, same first [`DEDUPE_TOKENS`] normalized content words) adds nothing; a new value
//!    for a slot replaces the old one (which the store keeps, invalidated, never deleted);
//!    past [`MAX_LIVE`] live memories the oldest is invalidated.
//!
//! The rules are for recall, not for understanding: a memory is a line an agent or the
//! assistant reads, so each is kept short and in the customer's words ("Name: Ana",
//! "I prefer email over phone calls"). An LLM extractor can produce the same
//! [`MemoryCandidate`]s and goes through the same reconciliation.

use chrono::NaiveDateTime;

use super::{ids::MemoryId, types::MemoryKind};

/// Live memories kept per person; over it, the oldest live one is invalidated (Invent keeps 50
/// per user).
pub const MAX_LIVE: usize = 50;
/// The longest memory text, in characters (what the API accepts).
pub const MAX_TEXT_CHARS: usize = 500;
/// Two memories of one kind whose first this-many normalized content words agree are the same
/// memory.
pub const DEDUPE_TOKENS: usize = 6;
/// Extracted texts are cut to about this many characters (at a word), to stay a readable line.
const MAX_EXTRACTED_CHARS: usize = 160;

/// The slots: facts a person has one value of at a time. A new value replaces the old one.
pub mod slot {
    pub const NAME: &str = "name";
    pub const CITY: &str = "city";
    pub const EMAIL: &str = "email";
    pub const PHONE: &str = "phone";
    pub const EMPLOYER: &str = "employer";
}

/// Something worth remembering, found in a message (or written by an agent), not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryCandidate {
    pub kind: MemoryKind,
    pub text: String,
    /// Set for facts with one value at a time ([`slot`]): a new value replaces the old one.
    pub slot: Option<String>,
}

/// A live memory of the person, as reconciliation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingMemory {
    pub id: MemoryId,
    pub kind: MemoryKind,
    pub text: String,
    pub slot: Option<String>,
    pub created_at: NaiveDateTime,
}

/// What to do to the stored memories. A duplicate produces nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryOp {
    /// Store a new memory.
    Add(MemoryCandidate),
    /// Invalidate `old` (a value of the same slot) and store `new` in its place.
    Replace { old: MemoryId, new: MemoryCandidate },
    /// Invalidate this memory (over the cap, or a second value of a slot).
    Invalidate(MemoryId),
}

// ---------------------------------------------------------------------------------------------
// Extraction

/// How a rule turns its match into a memory's text.
#[derive(Debug, Clone, Copy)]
enum Take {
    /// `label` followed by a few words after the trigger: "Name: Ana". Names a slot.
    Value {
        label: &'static str,
        slot: &'static str,
        max_words: usize,
    },
    /// The customer's clause from the trigger on: "I prefer email".
    Clause,
    /// The whole clause the trigger is in: "The charger broke after a week".
    Sentence,
    /// A phone number after the trigger: "Phone: +44 7700 900123".
    Phone,
    /// An order id after the trigger: "Order: A-12345".
    Order,
}

/// Triggers are lowercase and matched on word boundaries. `{}` marks where the customer's own
/// words go when they come *before* the end of the phrase (Hinglish puts the verb last:
/// "main Mumbai mein rehta hoon"); a trigger without it is followed by them.
struct Rule {
    kind: MemoryKind,
    take: Take,
    triggers: &'static [&'static str],
}

const NAME: Take = Take::Value {
    label: "Name: ",
    slot: slot::NAME,
    max_words: 4,
};
const CITY: Take = Take::Value {
    label: "City: ",
    slot: slot::CITY,
    max_words: 4,
};
const EMPLOYER: Take = Take::Value {
    label: "Works at: ",
    slot: slot::EMPLOYER,
    max_words: 5,
};

const RULES: &[Rule] = &[
    Rule {
        kind: MemoryKind::Fact,
        take: NAME,
        triggers: &[
            "my name is",
            "my name's",
            "my full name is",
            "me llamo",
            "mi nombre es",
            "meu nome é",
            "meu nome e",
            "me chamo",
            "mera naam",
            "mera name",
            "my naam",
        ],
    },
    Rule {
        kind: MemoryKind::Fact,
        take: CITY,
        triggers: &[
            "i live in",
            "i'm based in",
            "i am based in",
            "i'm living in",
            "i am living in",
            "vivo en",
            "resido en",
            "eu moro em",
            "moro em",
            "moro no",
            "moro na",
            "{} mein rehta",
            "{} mein rehti",
            "{} me rehta",
            "{} me rehti",
            "{} mein rahta",
            "{} mein rahti",
            "{} me rahta",
            "{} me rahti",
            "{} mein rehte",
        ],
    },
    Rule {
        kind: MemoryKind::Fact,
        take: EMPLOYER,
        triggers: &[
            "i work at",
            "i work for",
            "i'm working at",
            "i am working at",
            "trabajo en",
            "trabajo para",
            "trabalho na",
            "trabalho no",
            "trabalho em",
            "trabalho para",
            "{} mein kaam karta",
            "{} mein kaam karti",
            "{} me kaam karta",
            "{} me kaam karti",
            "{} mein job karta",
            "{} mein job karti",
        ],
    },
    Rule {
        kind: MemoryKind::Fact,
        take: Take::Phone,
        triggers: &[
            "my number is",
            "my phone number is",
            "my phone is",
            "my mobile is",
            "my mobile number is",
            "my cell is",
            "my whatsapp is",
            "my whatsapp number is",
            "mi número es",
            "mi numero es",
            "mi teléfono es",
            "mi telefono es",
            "mi celular es",
            "mi móvil es",
            "meu número é",
            "meu numero é",
            "meu numero e",
            "meu telefone é",
            "meu telefone e",
            "meu celular é",
            "meu celular e",
            "mera number",
            "mera phone number",
            "mera mobile number",
        ],
    },
    Rule {
        kind: MemoryKind::Fact,
        take: Take::Order,
        triggers: &["order", "pedido", "encomenda"],
    },
    Rule {
        kind: MemoryKind::Preference,
        take: Take::Clause,
        triggers: &[
            "i prefer",
            "i'd prefer",
            "i would prefer",
            "i like",
            "i love",
            "i don't like",
            "i do not like",
            "i dislike",
            "i hate",
            "please only",
            "only contact me",
            "call me after",
            "call me before",
            "don't call me",
            "i'm allergic",
            "i am allergic",
            "i'm vegetarian",
            "i am vegetarian",
            "i'm vegan",
            "i am vegan",
            "i'm lactose intolerant",
            "i can't eat",
            "prefiero",
            "me gusta",
            "me gustan",
            "me encanta",
            "no me gusta",
            "soy alérgico",
            "soy alérgica",
            "soy alergico",
            "soy alergica",
            "tengo alergia",
            "soy vegetariano",
            "soy vegetariana",
            "soy vegano",
            "soy vegana",
            "llámame después",
            "llamame despues",
            "prefiro",
            "eu gosto",
            "gosto de",
            "adoro",
            "não gosto",
            "nao gosto",
            "sou alérgico",
            "sou alérgica",
            "sou alergico",
            "sou alergica",
            "tenho alergia",
            "sou vegetariano",
            "sou vegetariana",
            "sou vegano",
            "sou vegana",
            "me ligue depois",
            "mujhe {} pasand",
            "{} pasand hai",
            "{} pasand nahi",
            "mujhe {} se allergy",
            "{} se allergy",
            "mujhe allergy",
            "main vegetarian",
            "mai vegetarian",
            "main veg hoon",
            "{} ke baad call",
            "{} ke baad phone",
        ],
    },
    Rule {
        kind: MemoryKind::Goal,
        take: Take::Clause,
        triggers: &[
            "i want to",
            "i want a",
            "i want an",
            "i'd like to",
            "i would like to",
            "i'd like a",
            "i'm looking for",
            "i am looking for",
            "i'm planning to",
            "i am planning to",
            "i plan to",
            "planning to",
            "need a quote for",
            "i need a quote",
            "i'm interested in",
            "i am interested in",
            "quiero",
            "quisiera",
            "me gustaría",
            "me gustaria",
            "estoy buscando",
            "busco",
            "planeo",
            "necesito una cotización",
            "necesito una cotizacion",
            "necesito un presupuesto",
            "me interesa",
            "quero",
            "gostaria de",
            "estou procurando",
            "procuro",
            "pretendo",
            "planejo",
            "estou planejando",
            "preciso de um orçamento",
            "preciso de orçamento",
            "tenho interesse",
            "mujhe {} chahiye",
            "{} chahta hoon",
            "{} chahti hoon",
            "{} chahta hu",
            "{} chahti hu",
            "{} dhoondh raha",
            "{} dhoondh rahi",
            "{} dhund raha",
            "{} dhund rahi",
            "mujhe {} lena hai",
            "{} kharidna hai",
        ],
    },
    Rule {
        kind: MemoryKind::Experience,
        take: Take::Sentence,
        triggers: &[
            "last time",
            "i bought",
            "i ordered",
            "i purchased",
            "broke",
            "is broken",
            "was broken",
            "arrived broken",
            "arrived damaged",
            "didn't work",
            "did not work",
            "doesn't work",
            "does not work",
            "stopped working",
            "i was charged",
            "i got charged",
            "never arrived",
            "la última vez",
            "la ultima vez",
            "compré",
            "pedí",
            "se rompió",
            "se rompio",
            "llegó roto",
            "llegó rota",
            "no funciona",
            "no funcionó",
            "dejó de funcionar",
            "me cobraron",
            "nunca llegó",
            "da última vez",
            "da ultima vez",
            "na última vez",
            "comprei",
            "eu pedi",
            "quebrou",
            "chegou quebrado",
            "chegou quebrada",
            "não funciona",
            "nao funciona",
            "não funcionou",
            "parou de funcionar",
            "fui cobrado",
            "fui cobrada",
            "me cobraram",
            "nunca chegou",
            "pichli baar",
            "pichhli baar",
            "maine {} kharida",
            "maine {} kharidi",
            "maine {} order kiya",
            "maine {} mangaya",
            "kaam nahi kar raha",
            "kaam nahi kar rahi",
            "kaam nahi karta",
            "toot gaya",
            "toot gayi",
            "tut gaya",
            "kharab ho gaya",
            "kharab ho gayi",
            "paise kat gaye",
            "paisa kat gaya",
        ],
    },
];

/// Words a value ends before ("my name is Ana *and* I…", "mera naam Ravi *hai*").
const VALUE_STOPS: &[&str] = &[
    "and",
    "but",
    "so",
    "because",
    "since",
    "for",
    "with",
    "now",
    "currently",
    "too",
    "also",
    "please",
    "thanks",
    "thank",
    "here",
    "i",
    "i'm",
    "im",
    "i've",
    "my",
    "y",
    "pero",
    "porque",
    "desde",
    "con",
    "ahora",
    "también",
    "gracias",
    "aquí",
    "e",
    "mas",
    "com",
    "agora",
    "também",
    "obrigado",
    "obrigada",
    "aqui",
    "aur",
    "lekin",
    "hai",
    "hain",
    "hoon",
    "hu",
    "hun",
    "ho",
    "tha",
    "thi",
    "abhi",
    "se",
    "shukriya",
    "dhanyavaad",
];

/// Words a goal about reaching a person is recognised by: "I want to talk to a human" is a
/// handoff, not something to remember.
const HANDOFF_WORDS: &[&str] = &[
    "human",
    "person",
    "agent",
    "representative",
    "someone",
    "operator",
    "humano",
    "persona",
    "pessoa",
    "alguien",
    "alguém",
    "atendente",
    "agente",
    "operador",
    "insaan",
];

/// Connectors a clause is split at ("…Madrid *but* I…"), and those that split only before a
/// new subject ("…Madrid *and I* prefer…").
const ALWAYS_SPLIT: &[&str] = &["but", "pero", "mas", "lekin", "however"];
const SPLIT_BEFORE_SUBJECT: &[&str] = &["and", "y", "e", "aur"];
const SUBJECTS: &[&str] = &[
    "i", "i'm", "i'd", "i've", "my", "mi", "yo", "me", "eu", "meu", "minha", "main", "mai", "mera",
    "meri", "mujhe", "maine", "also",
];

/// The memories one customer message holds, by the rules above, in the order found.
/// Duplicates within the message are dropped (see [`dedupe_key`]).
pub fn extract(text: &str) -> Vec<MemoryCandidate> {
    // Curly apostrophes as straight ones: the triggers are written with `'`.
    let text = text.replace(['\u{2019}', '\u{2018}', '`'], "'");
    let mut out: Vec<MemoryCandidate> = Vec::new();
    let mut push = |c: MemoryCandidate| {
        let key = dedupe_key(c.kind, &c.text);
        if !out.iter().any(|o| dedupe_key(o.kind, &o.text) == key) {
            out.push(c);
        }
    };
    for clause in clauses(&text) {
        for c in extract_clause(clause) {
            push(c);
        }
    }
    for email in emails(&text) {
        push(MemoryCandidate {
            kind: MemoryKind::Fact,
            text: format!("Email: {email}"),
            slot: Some(slot::EMAIL.to_owned()),
        });
    }
    out
}

/// The clauses of a message: split at sentence ends, commas, semicolons and connectors, so a
/// memory holds one thing ("my name is Ana, I live in Madrid" is two).
fn clauses(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let ends = match c {
            '!' | '?' | ';' | ',' | '\n' | '\r' | '¡' | '¿' | '…' | '(' | ')' => true,
            // A full stop ends a sentence; one inside an email, a number or a domain does not.
            '.' => next.is_none_or(|n| n.is_whitespace() || n == '.'),
            _ => false,
        };
        if ends {
            sentences.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    sentences.push(&text[start..]);
    sentences
        .into_iter()
        .flat_map(split_connectors)
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect()
}

/// Splits a sentence before "but" and before "and I"/"y mi"/"aur main".
fn split_connectors(sentence: &str) -> Vec<&str> {
    let words = words_with_offsets(sentence);
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // (end of this part, start of the next)
    for (n, &(at, word)) in words.iter().enumerate() {
        let w = word.to_lowercase();
        let next = words.get(n + 1).map(|&(_, w)| w.to_lowercase());
        let split = ALWAYS_SPLIT.contains(&w.as_str())
            || (SPLIT_BEFORE_SUBJECT.contains(&w.as_str())
                && next.as_deref().is_some_and(|n| SUBJECTS.contains(&n)));
        if split && n > 0 {
            cuts.push((at, at + word.len()));
        }
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for (end, next) in cuts {
        parts.push(&sentence[start..end]);
        start = next.min(sentence.len());
    }
    parts.push(&sentence[start..]);
    parts
}

/// The words of `s` with their byte offsets (split at whitespace).
fn words_with_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, &s[b..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, &s[b..]));
    }
    out
}

/// Every trigger's fixed words (a trigger with `{}` has two parts), in one automaton, and for
/// each rule's each trigger the ids of its parts: a trigger can match only where all of them
/// occur, which one pass over the clause tells.
struct TriggerIndex {
    parts: aho_corasick::AhoCorasick,
    of_trigger: Vec<Vec<Vec<usize>>>,
}

static TRIGGERS: std::sync::LazyLock<Option<TriggerIndex>> = std::sync::LazyLock::new(|| {
    let mut parts: Vec<&'static str> = Vec::new();
    let mut id_of = |part: &'static str| match parts.iter().position(|p| *p == part) {
        Some(i) => i,
        None => {
            parts.push(part);
            parts.len() - 1
        }
    };
    let of_trigger = RULES
        .iter()
        .map(|rule| {
            rule.triggers
                .iter()
                .map(|t| match t.split_once("{}") {
                    None => vec![id_of(t)],
                    Some((pre, post)) => [pre.trim(), post.trim()]
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .map(&mut id_of)
                        .collect(),
                })
                .collect()
        })
        .collect();
    // Built from constants: it cannot fail, but if it did, every trigger is simply tried.
    let parts = aho_corasick::AhoCorasick::new(&parts).ok()?;
    Some(TriggerIndex { parts, of_trigger })
});

/// Which trigger parts occur in `lower` (anywhere, not yet on word boundaries); `None` means
/// try every trigger.
fn parts_present(lower: &str) -> Option<(Vec<bool>, &'static TriggerIndex)> {
    let index = TRIGGERS.as_ref()?;
    let mut present = vec![false; index.parts.patterns_len()];
    for m in index.parts.find_overlapping_iter(lower) {
        present[m.pattern().as_usize()] = true;
    }
    Some((present, index))
}

/// One clause against every rule: at most one memory per rule.
fn extract_clause(clause: &str) -> Vec<MemoryCandidate> {
    let lower = clause.to_lowercase();
    let present = parts_present(&lower);
    let possible = |rule: usize, trigger: usize| match &present {
        Some((present, index)) => index.of_trigger[rule][trigger].iter().all(|&p| present[p]),
        None => true,
    };
    // Values are cut from the clause as written; should lowercasing have moved the offsets
    // (a few letters change length), they are cut from the lowercase copy instead.
    let original = if lower.len() == clause.len() {
        clause
    } else {
        lower.as_str()
    };
    let mut out = Vec::new();
    for (r, rule) in RULES.iter().enumerate() {
        let found = rule
            .triggers
            .iter()
            .enumerate()
            .filter(|&(t, _)| possible(r, t))
            .filter_map(|(_, t)| find_trigger(&lower, t))
            .min_by_key(|m| m.start);
        let Some(m) = found else { continue };
        if let Some(c) = take(rule, original, &lower, &m) {
            out.push(c);
        }
    }
    out
}

/// Where a trigger matched: the clause's part it starts (`start`), and where the customer's
/// words are (`value`).
#[derive(Debug, Clone, Copy)]
struct Match {
    start: usize,
    value: (usize, usize),
    /// The value comes before the trigger's last words (a `{}` trigger).
    before: bool,
}

fn find_trigger(lower: &str, trigger: &str) -> Option<Match> {
    match trigger.split_once("{}") {
        None => {
            let at = find_word(lower, trigger, 0)?;
            Some(Match {
                start: at,
                value: (at + trigger.len(), lower.len()),
                before: false,
            })
        }
        Some((pre, post)) => {
            let (pre, post) = (pre.trim(), post.trim());
            let post_at = find_word(lower, post, 0)?;
            if pre.is_empty() {
                return Some(Match {
                    start: 0,
                    value: (0, post_at),
                    before: true,
                });
            }
            let pre_at = find_word(&lower[..post_at], pre, 0)?;
            Some(Match {
                start: pre_at,
                value: (pre_at + pre.len(), post_at),
                before: true,
            })
        }
    }
}

/// The first occurrence of `needle` in `hay` from `from` on, on word boundaries.
fn find_word(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let mut from = from;
    while from <= hay.len() {
        let at = from + hay.get(from..)?.find(needle)?;
        let end = at + needle.len();
        let before_ok = hay[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '\'');
        let after_ok = hay[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + needle.chars().next().map_or(1, char::len_utf8);
    }
    None
}

fn take(rule: &Rule, original: &str, lower: &str, m: &Match) -> Option<MemoryCandidate> {
    let (from, to) = m.value;
    let value = original.get(from..to)?;
    let text = match rule.take {
        Take::Value {
            label,
            slot,
            max_words,
        } => {
            let v = match m.before {
                true => value_before(value, max_words)?,
                false => value_after(value, max_words)?,
            };
            return Some(MemoryCandidate {
                kind: rule.kind,
                text: format!("{label}{}", capitalize_words(&v)),
                slot: Some(slot.to_owned()),
            });
        }
        Take::Phone => {
            let phone = phone_after(value)?;
            return Some(MemoryCandidate {
                kind: rule.kind,
                text: format!("Phone: {phone}"),
                slot: Some(slot::PHONE.to_owned()),
            });
        }
        Take::Order => {
            let id = order_id_after(value)?;
            return Some(MemoryCandidate {
                kind: rule.kind,
                text: format!("Order: {id}"),
                slot: None,
            });
        }
        Take::Clause => {
            // Something must follow (or, for a `{}` trigger, sit inside) the trigger.
            if !value.chars().any(char::is_alphanumeric) {
                return None;
            }
            let clause = original.get(m.start..)?;
            if rule.kind == MemoryKind::Goal && about_reaching_a_person(&lower[m.start..]) {
                return None;
            }
            clause.to_owned()
        }
        Take::Sentence => original.to_owned(),
    };
    let text = readable(&text)?;
    Some(MemoryCandidate {
        kind: rule.kind,
        text,
        slot: None,
    })
}

/// Whether a goal is a request for a person ("I want to talk to a human").
fn about_reaching_a_person(lower: &str) -> bool {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| HANDOFF_WORDS.contains(&w))
}

/// The first few words after a trigger, up to a stop word or punctuation: "Ana Lopez".
fn value_after(value: &str, max_words: usize) -> Option<String> {
    let mut words: Vec<&str> = Vec::new();
    for w in value.split_whitespace() {
        let bare = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-');
        // A leading ":" or "-" ("my name is: Ana") is no word.
        if bare.is_empty() {
            if words.is_empty() {
                continue;
            }
            break;
        }
        if VALUE_STOPS.contains(&bare.to_lowercase().as_str()) || words.len() == max_words {
            break;
        }
        words.push(bare);
        // A word ending in punctuation ends the value ("Ana: …").
        if w.ends_with(|c: char| !c.is_alphanumeric() && c != '\'') {
            break;
        }
    }
    meaningful(words.join(" "))
}

/// The last few words before a Hinglish trigger's verb: "(main) Navi Mumbai (mein rehta)".
fn value_before(value: &str, max_words: usize) -> Option<String> {
    let words: Vec<&str> = value
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut kept: Vec<&str> = Vec::new();
    for w in words.iter().rev() {
        let l = w.to_lowercase();
        if kept.len() == max_words
            || VALUE_STOPS.contains(&l.as_str())
            || ["main", "mai", "hum", "mein", "me", "abhi"].contains(&l.as_str())
        {
            break;
        }
        kept.push(w);
    }
    kept.reverse();
    meaningful(kept.join(" "))
}

/// A value with at least two characters, one a letter.
fn meaningful(v: String) -> Option<String> {
    (v.chars().count() >= 2 && v.chars().any(char::is_alphabetic)).then_some(v)
}

/// A value written all in lowercase gets capitals ("ana lopez" → "Ana Lopez"); one the
/// customer capitalised is kept as written ("iPhone", "McDonald").
fn capitalize_words(v: &str) -> String {
    if v.chars().any(char::is_uppercase) {
        return v.to_owned();
    }
    const SMALL: &[&str] = &[
        "de", "da", "do", "dos", "das", "del", "la", "van", "von", "e",
    ];
    v.split(' ')
        .enumerate()
        .map(|(i, w)| match i > 0 && SMALL.contains(&w) {
            true => w.to_owned(),
            false => capitalize(w),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A phone number right after the trigger (7 to 15 digits, with `+`, spaces, dashes,
/// brackets or dots between).
fn phone_after(value: &str) -> Option<String> {
    let rest = value.trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '-');
    let rest = ["is ", "es ", "é ", "e ", "hai "]
        .iter()
        .find_map(|p| rest.strip_prefix(p))
        .unwrap_or(rest)
        .trim_start();
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || " +-().".contains(*c))
        .collect();
    let number = number.trim().trim_end_matches(['-', '(', '.']).trim();
    let digits = number.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits).then(|| number.to_owned())
}

/// An order id after "order"/"pedido": the next word with digits, past "number", "#", "id"…
/// ("order #A-1234", "pedido número 5521").
fn order_id_after(value: &str) -> Option<String> {
    const SKIP: &[&str] = &[
        "number", "no", "id", "is", "nr", "num", "número", "numero", "nº", "n°", "de", "do", "es",
        "é", "was", "hai", "",
    ];
    for w in value.split_whitespace().take(4) {
        let bare = w.trim_matches(|c: char| !c.is_alphanumeric());
        if SKIP.contains(&bare.to_lowercase().as_str()) {
            continue;
        }
        let digits = bare.chars().filter(char::is_ascii_digit).count();
        let id_like = bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/');
        return (id_like && bare.len() >= 4 && digits >= 2).then(|| bare.to_uppercase());
    }
    None
}

/// Email addresses in the message (`ana@example.com`), lowercased.
fn emails(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| {
            super::text::is_email_address(w)
                && w.rsplit_once('@').is_some_and(|(_, d)| d.contains('.'))
        })
        .collect()
}

/// The clause as a memory's line: trimmed, no trailing punctuation, a capital first letter,
/// at most about [`MAX_EXTRACTED_CHARS`] characters (cut at a word, with "…").
fn readable(s: &str) -> Option<String> {
    let s = s
        .trim()
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '"');
    if !s.chars().any(char::is_alphanumeric) {
        return None;
    }
    let s = if s.chars().count() > MAX_EXTRACTED_CHARS {
        let cut: String = s.chars().take(MAX_EXTRACTED_CHARS).collect();
        let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
        format!("{}…", cut.trim_end())
    } else {
        s.to_owned()
    };
    Some(capitalize(&s))
}

// ---------------------------------------------------------------------------------------------
// Reconciliation

/// Words that carry no content, dropped before comparing ("I prefer *the* email" and
/// "I prefer email" are one memory). Negations are content and are kept.
const STOP_WORDS: &[&str] = &[
    "i", "im", "id", "ive", "my", "me", "the", "a", "an", "to", "is", "am", "are", "was", "of",
    "in", "on", "at", "for", "and", "or", "it", "its", "that", "this", "with", "el", "la", "los",
    "las", "un", "una", "de", "del", "en", "y", "o", "mi", "yo", "es", "soy", "que", "por", "con",
    "lo", "al", "os", "as", "um", "uma", "do", "da", "dos", "das", "em", "e", "meu", "minha", "eu",
    "sou", "com", "pra", "para", "hai", "hoon", "hu", "mera", "meri", "mujhe", "main", "mai", "ka",
    "ki", "ke", "aur",
];

/// What makes two memories the same: the kind and the first [`DEDUPE_TOKENS`] content words,
/// lowercased and without accents ("Name: Ana" and "name: ana." are one).
pub fn dedupe_key(kind: MemoryKind, text: &str) -> (MemoryKind, Vec<String>) {
    let folded: String = text
        .chars()
        .filter(|c| *c != '\'')
        .flat_map(char::to_lowercase)
        .map(fold_accent)
        .collect();
    let all: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let content: Vec<String> = all
        .iter()
        .filter(|w| !STOP_WORDS.contains(w))
        .take(DEDUPE_TOKENS)
        .map(|w| (*w).to_owned())
        .collect();
    // A text of stop words only is compared whole.
    let tokens = match content.is_empty() {
        true => all.iter().map(|w| (*w).to_owned()).collect(),
        false => content,
    };
    (kind, tokens)
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

/// The slot a memory written by hand fills, when it is written as the extractor writes it:
/// "Name: Ana" fills `name`, so an agent's correction replaces the learned value.
pub fn slot_of(kind: MemoryKind, text: &str) -> Option<String> {
    const LABELS: &[(&str, &str)] = &[
        ("name:", slot::NAME),
        ("city:", slot::CITY),
        ("email:", slot::EMAIL),
        ("phone:", slot::PHONE),
        ("works at:", slot::EMPLOYER),
    ];
    if kind != MemoryKind::Fact {
        return None;
    }
    let lower = text.trim_start().to_lowercase();
    LABELS
        .iter()
        .find(|(label, _)| {
            lower
                .strip_prefix(label)
                .is_some_and(|rest| rest.chars().any(char::is_alphanumeric))
        })
        .map(|(_, slot)| (*slot).to_owned())
}

/// What to do with `candidates` given the person's live memories (`existing`, any order):
/// nothing for a duplicate (of a live memory or of an earlier candidate), `Replace` for a new
/// value of a slot that has one, `Add` otherwise; then `Invalidate` the oldest live memories
/// while more than [`MAX_LIVE`] would be live. Of two candidates for one slot, the last wins;
/// candidates beyond [`MAX_LIVE`] new ones are dropped.
pub fn reconcile(existing: &[ExistingMemory], candidates: &[MemoryCandidate]) -> Vec<MemoryOp> {
    // Later values of a slot win over earlier ones in the same batch.
    let batch: Vec<&MemoryCandidate> = candidates
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.slot.as_ref().is_none_or(|s| {
                !candidates[i + 1..]
                    .iter()
                    .any(|later| later.kind == c.kind && later.slot.as_ref() == Some(s))
            })
        })
        .map(|(_, c)| c)
        .collect();

    let mut ops: Vec<MemoryOp> = Vec::new();
    let mut gone: Vec<MemoryId> = Vec::new();
    let mut known: Vec<(MemoryKind, Vec<String>)> = existing
        .iter()
        .map(|e| dedupe_key(e.kind, &e.text))
        .collect();
    let mut added = 0usize;
    for c in batch {
        let key = dedupe_key(c.kind, &c.text);
        if known.contains(&key) {
            continue;
        }
        if added == MAX_LIVE {
            break;
        }
        known.push(key);
        added += 1;
        let mut same_slot: Vec<&ExistingMemory> = match &c.slot {
            Some(s) => existing
                .iter()
                .filter(|e| e.kind == c.kind && e.slot.as_ref() == Some(s))
                .filter(|e| !gone.contains(&e.id))
                .collect(),
            None => Vec::new(),
        };
        // The newest value is the one replaced; any older ones of the slot go too.
        same_slot.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
        match same_slot.split_first() {
            Some((newest, older)) => {
                gone.push(newest.id);
                ops.push(MemoryOp::Replace {
                    old: newest.id,
                    new: c.clone(),
                });
                for e in older {
                    gone.push(e.id);
                    ops.push(MemoryOp::Invalidate(e.id));
                }
            }
            None => ops.push(MemoryOp::Add(c.clone())),
        }
    }

    // Over the cap: the oldest live memories make room.
    let live = existing.len() - gone.len() + added;
    if live > MAX_LIVE {
        let mut oldest: Vec<&ExistingMemory> =
            existing.iter().filter(|e| !gone.contains(&e.id)).collect();
        oldest.sort_by_key(|e| (e.created_at, e.id));
        ops.extend(
            oldest
                .into_iter()
                .take(live - MAX_LIVE)
                .map(|e| MemoryOp::Invalidate(e.id)),
        );
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(message: &str) -> Vec<(MemoryKind, String, Option<String>)> {
        extract(message)
            .into_iter()
            .map(|c| (c.kind, c.text, c.slot))
            .collect()
    }

    fn one(
        kind: MemoryKind,
        text: &str,
        slot: Option<&str>,
    ) -> (MemoryKind, String, Option<String>) {
        (kind, text.to_owned(), slot.map(str::to_owned))
    }

    use MemoryKind::{Experience, Fact, Goal, Preference};

    /// A memory expected from a message: kind, text, slot.
    type Found = (MemoryKind, &'static str, Option<&'static str>);
    /// A reconciliation case: what, the live memories, the candidates, the operations.
    type Case = (
        &'static str,
        Vec<ExistingMemory>,
        Vec<MemoryCandidate>,
        Vec<MemoryOp>,
    );

    #[test]
    fn facts_in_four_languages() {
        let name = Some(slot::NAME);
        let city = Some(slot::CITY);
        let cases: &[(&str, &[Found])] = &[
            ("My name is Ana", &[(Fact, "Name: Ana", name)]),
            (
                "hi, my name is ana lopez and I need help",
                &[(Fact, "Name: Ana Lopez", name)],
            ),
            ("Me llamo María José.", &[(Fact, "Name: María José", name)]),
            (
                "Olá, meu nome é João da Silva",
                &[(Fact, "Name: João da Silva", name)],
            ),
            ("mera naam Ravi hai", &[(Fact, "Name: Ravi", name)]),
            (
                "I live in London, near the river",
                &[(Fact, "City: London", city)],
            ),
            (
                "vivo en Ciudad de México",
                &[(Fact, "City: Ciudad de México", city)],
            ),
            ("Eu moro em São Paulo", &[(Fact, "City: São Paulo", city)]),
            (
                "main navi mumbai mein rehta hoon",
                &[(Fact, "City: Navi Mumbai", city)],
            ),
            (
                "I work at Acme Corp",
                &[(Fact, "Works at: Acme Corp", Some(slot::EMPLOYER))],
            ),
            (
                "main Infosys mein kaam karta hoon",
                &[(Fact, "Works at: Infosys", Some(slot::EMPLOYER))],
            ),
            (
                "my number is +44 7700 900123.",
                &[(Fact, "Phone: +44 7700 900123", Some(slot::PHONE))],
            ),
            (
                "mera number 98765 43210 hai",
                &[(Fact, "Phone: 98765 43210", Some(slot::PHONE))],
            ),
            (
                "Where is my order #A-12345?",
                &[(Fact, "Order: A-12345", None)],
            ),
            (
                "mi pedido número 5521 no llegó",
                &[(Fact, "Order: 5521", None)],
            ),
            (
                "write to me at Ana.Lopez@Example.com please",
                &[(Fact, "Email: ana.lopez@example.com", Some(slot::EMAIL))],
            ),
        ];
        for (message, want) in cases {
            let want: Vec<_> = want.iter().map(|(k, t, s)| one(*k, t, *s)).collect();
            assert_eq!(texts(message), want, "{message:?}");
        }
    }

    #[test]
    fn preferences_goals_and_experiences_keep_the_customers_words() {
        let cases: &[(&str, &[(MemoryKind, &str)])] = &[
            (
                "I prefer email over phone calls.",
                &[(Preference, "I prefer email over phone calls")],
            ),
            (
                "I’m allergic to peanuts",
                &[(Preference, "I'm allergic to peanuts")],
            ),
            (
                "Soy alérgica al maní",
                &[(Preference, "Soy alérgica al maní")],
            ),
            (
                "prefiro pagar com pix",
                &[(Preference, "Prefiro pagar com pix")],
            ),
            (
                "mujhe spicy khana pasand hai",
                &[(Preference, "Mujhe spicy khana pasand hai")],
            ),
            (
                "please only call me after 6pm",
                &[(Preference, "Please only call me after 6pm")],
            ),
            (
                "I'm looking for a red sofa",
                &[(Goal, "I'm looking for a red sofa")],
            ),
            (
                "Estoy buscando un regalo para mi madre",
                &[(Goal, "Estoy buscando un regalo para mi madre")],
            ),
            (
                "quero trocar meu plano",
                &[(Goal, "Quero trocar meu plano")],
            ),
            (
                "mujhe naya laptop chahiye",
                &[(Goal, "Mujhe naya laptop chahiye")],
            ),
            (
                "Last time the delivery was late",
                &[(Experience, "Last time the delivery was late")],
            ),
            (
                "The charger broke after a week",
                &[(Experience, "The charger broke after a week")],
            ),
            (
                "comprei um celular e quebrou",
                &[(Experience, "Comprei um celular e quebrou")],
            ),
            (
                "maine phone order kiya tha",
                &[(Experience, "Maine phone order kiya tha")],
            ),
        ];
        for (message, want) in cases {
            let want: Vec<_> = want.iter().map(|(k, t)| one(*k, t, None)).collect();
            assert_eq!(texts(message), want, "{message:?}");
        }
    }

    #[test]
    fn one_message_can_hold_several_things_each_in_its_own_clause() {
        assert_eq!(
            texts("Hi! My name is Ana, I live in Madrid and I prefer WhatsApp."),
            vec![
                one(Fact, "Name: Ana", Some(slot::NAME)),
                one(Fact, "City: Madrid", Some(slot::CITY)),
                one(Preference, "I prefer WhatsApp", None),
            ]
        );
    }

    #[test]
    fn nothing_is_made_up_from_ordinary_messages() {
        for message in [
            "",
            "Hi.",
            "What are your opening hours?",
            "I want to talk to a human",
            "quiero hablar con una persona",
            "I prefer",
            "my name is",
            "order 2 pizzas",
            "call me at 5",
            "[image]",
            "my army name is great",
        ] {
            assert_eq!(texts(message), vec![], "{message:?}");
        }
    }

    #[test]
    fn long_clauses_are_cut_at_a_word() {
        let long = format!("I prefer {}", "very ".repeat(60));
        let got = extract(&long);
        assert_eq!(got.len(), 1);
        assert!(got[0].text.ends_with('…'), "{}", got[0].text);
        assert!(got[0].text.chars().count() <= MAX_EXTRACTED_CHARS + 1);
    }

    #[test]
    fn the_same_thing_twice_is_one_memory() {
        assert_eq!(extract("My name is Ana. my name is ana!").len(), 1);
        assert_eq!(
            dedupe_key(Preference, "I prefer the email"),
            dedupe_key(Preference, "i prefer email.")
        );
        assert_ne!(
            dedupe_key(Preference, "me gusta el café"),
            dedupe_key(Preference, "no me gusta el café")
        );
        assert_ne!(dedupe_key(Fact, "Name: Ana"), dedupe_key(Goal, "Name: Ana"));
    }

    #[test]
    fn slots_of_hand_written_facts() {
        for (kind, text, want) in [
            (Fact, "Name: Anna", Some(slot::NAME)),
            (Fact, "  email: a@b.co", Some(slot::EMAIL)),
            (Fact, "Works at: Acme", Some(slot::EMPLOYER)),
            (Fact, "Name:", None),
            (Fact, "Has two dogs", None),
            (Preference, "Name: Anna", None),
        ] {
            assert_eq!(slot_of(kind, text).as_deref(), want, "{text}");
        }
    }

    fn at(n: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000 + n, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    fn mem(n: i64, kind: MemoryKind, text: &str, slot: Option<&str>) -> ExistingMemory {
        ExistingMemory {
            id: MemoryId(uuid::Uuid::from_u128(n as u128)),
            kind,
            text: text.to_owned(),
            slot: slot.map(str::to_owned),
            created_at: at(n),
        }
    }

    fn cand(kind: MemoryKind, text: &str, slot: Option<&str>) -> MemoryCandidate {
        MemoryCandidate {
            kind,
            text: text.to_owned(),
            slot: slot.map(str::to_owned),
        }
    }

    #[test]
    fn reconcile_table() {
        let ana = mem(1, Fact, "Name: Ana", Some(slot::NAME));
        let tea = mem(2, Preference, "I prefer tea", None);
        let name = |t: &str| cand(Fact, t, Some(slot::NAME));
        let cases: Vec<Case> = vec![
            (
                "new",
                vec![],
                vec![name("Name: Ana")],
                vec![MemoryOp::Add(name("Name: Ana"))],
            ),
            (
                "duplicate",
                vec![ana.clone()],
                vec![name("name: ana")],
                vec![],
            ),
            (
                "duplicate in the batch",
                vec![],
                vec![
                    cand(Goal, "I want a sofa", None),
                    cand(Goal, "i want a sofa!", None),
                ],
                vec![MemoryOp::Add(cand(Goal, "I want a sofa", None))],
            ),
            (
                "a new value replaces the slot's",
                vec![ana.clone(), tea.clone()],
                vec![name("Name: Anna")],
                vec![MemoryOp::Replace {
                    old: ana.id,
                    new: name("Name: Anna"),
                }],
            ),
            (
                "the last value of a slot in a batch wins",
                vec![],
                vec![name("Name: Ana"), name("Name: Anna")],
                vec![MemoryOp::Add(name("Name: Anna"))],
            ),
            (
                "two stored values of a slot: the newest is replaced, the other invalidated",
                vec![ana.clone(), mem(3, Fact, "Name: Ann", Some(slot::NAME))],
                vec![name("Name: Anna")],
                vec![
                    MemoryOp::Replace {
                        old: MemoryId(uuid::Uuid::from_u128(3)),
                        new: name("Name: Anna"),
                    },
                    MemoryOp::Invalidate(ana.id),
                ],
            ),
            (
                "no slot: added beside",
                vec![tea.clone()],
                vec![cand(Preference, "I prefer coffee", None)],
                vec![MemoryOp::Add(cand(Preference, "I prefer coffee", None))],
            ),
        ];
        for (what, existing, candidates, want) in cases {
            assert_eq!(reconcile(&existing, &candidates), want, "{what}");
        }
    }

    #[test]
    fn over_the_cap_the_oldest_live_memory_goes() {
        // Stored newest first, as the store reads them: order does not matter.
        let full: Vec<ExistingMemory> = (1..=MAX_LIVE as i64)
            .rev()
            .map(|n| mem(n, Fact, &format!("Order: A{n:04}"), None))
            .collect();
        let new = cand(Goal, "I want a sofa", None);
        assert_eq!(
            reconcile(&full, std::slice::from_ref(&new)),
            vec![
                MemoryOp::Add(new.clone()),
                MemoryOp::Invalidate(MemoryId(uuid::Uuid::from_u128(1))),
            ]
        );
        // A replacement keeps the count: nothing else goes.
        let mut with_name = full[1..].to_vec();
        with_name.push(mem(100, Fact, "Name: Ana", Some(slot::NAME)));
        let anna = cand(Fact, "Name: Anna", Some(slot::NAME));
        assert_eq!(
            reconcile(&with_name, std::slice::from_ref(&anna)),
            vec![MemoryOp::Replace {
                old: MemoryId(uuid::Uuid::from_u128(100)),
                new: anna
            }]
        );
        // Below the cap nothing goes; a duplicate at the cap changes nothing.
        assert_eq!(
            reconcile(&full[1..], std::slice::from_ref(&new)),
            vec![MemoryOp::Add(new)]
        );
        let dup = cand(Fact, "Order: A0007", None);
        assert_eq!(reconcile(&full, &[dup]), vec![]);
    }
}
