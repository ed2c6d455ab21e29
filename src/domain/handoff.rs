//! Detecting when a customer asks to talk to a person, or complains.
//!
//! Customers rarely use one fixed command, so the bot's "offer a human" flow has
//! to recognise the many ways people phrase it, in the languages our inboxes
//! actually receive. The detector is a plain phrase list rather than a model so
//! that operators can reason about (and extend) exactly what triggers a handoff.
//!
//! # Matching rules
//!
//! Both the configured phrases and the incoming text are [`normalize`]d:
//! lowercased, Latin diacritics folded (`á` → `a`, `ç` → `c`, `ñ` → `n`, …),
//! apostrophes dropped (`don't` → `dont`, so typing with or without them is the
//! same), every other non-alphanumeric character turned into a space, and
//! whitespace collapsed.
//!
//! * A normal phrase matches when its words appear as a **contiguous run of whole
//!   words** in the text: `"talk to someone"` matches `"I need to talk to someone!!"`,
//!   but `"agente"` does not match `"agentes"`.
//! * A phrase ending in `$` is **exact**: it only matches when the whole
//!   normalised message equals it. This is how single, otherwise ambiguous words
//!   such as `human$` or `agent$` are supported: the message `"Human!"` hands off,
//!   while `"I am human resources manager"` does not.
//!
//! Phrases that normalise to nothing (e.g. `"!!!"`) are ignored, and duplicates
//! (after normalisation) are kept only once.
//!
//! # Two built-in lists
//!
//! * [`HandoffPhrases::default_list`]: the customer asks for a person.
//! * [`HandoffPhrases::complaint_list`]: the customer complains (a double
//!   charge, fraud, a broken delivery, anger, a legal threat). The assistant
//!   must not answer these with a knowledge-base entry: they go to a person.
//!
//! Both are [`HandoffPhrases`] built the same way, so the same rules apply
//! and operators can log which phrase matched.

/// Normalised, configurable multilingual list of phrases asking for a human.
///
/// Built once (at startup or on config reload) so that per-message matching only
/// has to normalise the message itself.
#[derive(Debug, Clone)]
pub struct HandoffPhrases {
    phrases: Vec<Phrase>,
}

#[derive(Debug, Clone)]
struct Phrase {
    /// The entry as configured (trimmed), so logs show what the operator wrote.
    original: String,
    /// Normalised words; never empty.
    words: Vec<String>,
    /// Whole-message match only (entry ended with `$`).
    exact: bool,
}

impl HandoffPhrases {
    /// Builds a matcher from configured phrases; see the module docs for the
    /// `$` (exact match) suffix.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(phrases: I) -> Self {
        let mut out: Vec<Phrase> = Vec::new();
        for phrase in phrases {
            let original = phrase.as_ref().trim();
            let (body, exact) = match original.strip_suffix('$') {
                Some(body) => (body, true),
                None => (original, false),
            };
            let words: Vec<String> = normalize(body)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            if words.is_empty() {
                continue;
            }
            if out.iter().any(|p| p.exact == exact && p.words == words) {
                continue;
            }
            out.push(Phrase {
                original: original.to_owned(),
                words,
                exact,
            });
        }
        Self { phrases: out }
    }

    /// The built-in list: English, Hinglish (romanised Hindi), Spanish and
    /// Portuguese.
    ///
    /// Deliberately excludes bare ambiguous words ("agent", "help", "human",
    /// "person") except as exact whole-message entries, because customers use
    /// them in ordinary questions ("what does your agent fee cost?").
    pub fn default_list() -> Vec<&'static str> {
        vec![
            // --- English: whole-message short forms ---
            "human$",
            "a human$",
            "agent$",
            "an agent$",
            "person$",
            "a person$",
            "operator$",
            "representative$",
            "live chat$",
            "someone$",
            // --- English: phrases ---
            "human please",
            "human pls",
            "agent please",
            "agent pls",
            "operator please",
            "representative please",
            "person please",
            "real person",
            "real human",
            "actual person",
            "actual human",
            "human being",
            "live agent",
            "live person",
            "human agent",
            "talk to someone",
            "talk to somebody",
            "talk to a human",
            "talk to human",
            "talk to a person",
            "talk to an agent",
            "talk to agent",
            "talk to a representative",
            "talk to an operator",
            "talk with someone",
            "talk with a human",
            "talk with a person",
            "talk with an agent",
            "speak to someone",
            "speak to somebody",
            "speak to a human",
            "speak to human",
            "speak to a person",
            "speak to an agent",
            "speak to agent",
            "speak to a representative",
            "speak to an operator",
            "speak with someone",
            "speak with a human",
            "speak with a person",
            "speak with an agent",
            "chat with a human",
            "chat with a person",
            "chat with an agent",
            "connect me to an agent",
            "connect me with an agent",
            "connect me to a human",
            "connect me to a person",
            "transfer me to an agent",
            "transfer me to a human",
            "transfer me to a person",
            "get me a human",
            "get me a person",
            "get me an agent",
            "i want a human",
            "i need a human",
            "i want an agent",
            "i need an agent",
            "customer service representative",
            "customer representative",
            "contact customer service",
            "not a bot",
            "not a robot",
            "stop the bot",
            // --- Hinglish (romanised Hindi) ---
            "agent se baat",
            "agent se bat",
            "agent se baat karao",
            "insaan se baat",
            "insan se baat",
            "kisi insaan se baat karni hai",
            "kisi insan se baat",
            "human se baat",
            "person se baat",
            "real person se baat",
            "kisi se baat karni hai",
            "kisi se baat karao",
            "kisi se baat karwao",
            "customer care se baat",
            "customer care se baat karao",
            "customer care wale se baat",
            "customer care se bat",
            "representative se baat",
            "executive se baat",
            "agent chahiye",
            "insaan chahiye",
            "insan chahiye",
            "human chahiye",
            "agent ko bulao",
            "agent se connect karo",
            "agent se milao",
            "mujhe agent se baat karni hai",
            "bot se baat nahi karni",
            // --- Spanish (accents are optional: text is folded) ---
            "agente$",
            "humano$",
            "una persona$",
            "hablar con un agente",
            "hablar con una persona",
            "quiero hablar con una persona",
            "hablar con un humano",
            "hablar con un ser humano",
            "hablar con alguien",
            "hablar con un asesor",
            "hablar con una asesora",
            "hablar con un representante",
            "hablar con un operador",
            "hablar con atención al cliente",
            "hablar con servicio al cliente",
            "persona real",
            "agente humano",
            "un agente por favor",
            "una persona por favor",
            "un humano por favor",
            "pásame con un agente",
            "pásame con una persona",
            "comunicarme con un agente",
            "comunicarme con una persona",
            "necesito un agente",
            "necesito una persona",
            "no quiero hablar con un bot",
            // --- Portuguese (accents are optional: text is folded) ---
            "atendente$",
            "humano por favor",
            "falar com um atendente",
            "falar com atendente",
            "falar com uma atendente",
            "falar com uma pessoa",
            "quero falar com uma pessoa",
            "falar com um humano",
            "falar com um ser humano",
            "falar com alguém",
            "falar com um agente",
            "falar com um operador",
            "falar com um representante",
            "falar com o atendimento",
            "falar com o suporte",
            "atendente humano",
            "atendimento humano",
            "pessoa real",
            "atendente por favor",
            "me transfere para um atendente",
            "transferir para um atendente",
            "quero um atendente",
            "preciso de um atendente",
            "não quero falar com robô",
        ]
    }

    /// The built-in multilingual list, see [`HandoffPhrases::default_list`].
    pub fn defaults() -> Self {
        Self::new(Self::default_list())
    }

    /// The built-in complaint list: billing, fraud, damage and anger phrases
    /// in the languages of [`HandoffPhrases::default_list`] (English, Hinglish,
    /// Spanish, Portuguese). A customer who writes one of these is upset or
    /// has a problem a canned answer cannot fix (a double charge, a broken
    /// delivery), so the message should go to a person instead of the
    /// assistant, whose best guess would read as not listening.
    ///
    /// Matched with the same [normalisation and rules](self) as the handoff
    /// list. Chosen to avoid ordinary questions that share a word:
    ///
    /// * single words only where they are a complaint on their own ("fraud",
    ///   "scam", "unacceptable", "chargeback", "lawyer"); words with an
    ///   everyday meaning only in a phrase: "charged twice", not "charged"
    ///   ("do you charge for delivery?"); "is broken" and "arrived broken",
    ///   not "broken" ("do you sell broken-in leather boots?");
    /// * damage as the customer reports it ("arrived damaged", "was
    ///   damaged", "is broken"), not as a category or a future ("are damaged
    ///   items covered?", "what if it arrives damaged?"), which the assistant
    ///   can answer;
    /// * asking about a refund is not a complaint ("when will I get my
    ///   refund?", "I want my money back" are for the assistant); demanding
    ///   the money back is ("refund my money", "give me my money back").
    pub fn complaint_list() -> Vec<&'static str> {
        vec![
            // --- English: billing ---
            "charged twice",
            "charged me twice",
            "charged my card twice",
            "charged two times",
            "charged me two times",
            "billed twice",
            "billed me twice",
            "double charged",
            "double charge",
            "double billed",
            "charged double",
            "duplicate charge",
            "two charges",
            "overcharged",
            "over charged",
            "charged too much",
            "charged the wrong amount",
            "wrong charge",
            "unauthorized charge",
            "unauthorised charge",
            "did not authorize",
            "didn't authorize",
            "didn't authorise",
            "never authorized",
            "refund my money",
            "give me my money back",
            "give me back my money",
            "return my money",
            "chargeback",
            "charge back",
            "dispute the charge",
            "dispute with my bank",
            // --- English: fraud ---
            "fraud",
            "fraudulent",
            "fraudsters",
            "scam",
            "scammed",
            "scammers",
            "scamming",
            "rip off",
            "ripoff",
            "ripped off",
            "stole my money",
            "stealing my money",
            "stolen my money",
            "thieves",
            // --- English: damage ---
            "arrived damaged",
            "arrived broken",
            "arrived smashed",
            "arrived cracked",
            "came damaged",
            "came broken",
            "delivered damaged",
            "delivered broken",
            "received damaged",
            "received it damaged",
            "received it broken",
            "damaged on arrival",
            "broken on arrival",
            "dead on arrival",
            "was damaged",
            "were damaged",
            "is damaged",
            "is broken",
            "it's broken",
            "was broken",
            "were broken",
            "box was crushed",
            // --- English: anger, complaints and legal threats ---
            "ridiculous",
            "unacceptable",
            "outrageous",
            "disgraceful",
            "disgusting",
            "pathetic",
            "useless",
            "worst service",
            "worst customer service",
            "worst company",
            "worst experience",
            "terrible service",
            "horrible service",
            "awful service",
            "terrible customer service",
            "i'm furious",
            "i am furious",
            "furious",
            "i'm angry",
            "i am angry",
            "so angry",
            "very angry",
            "fed up",
            "sick of this",
            "very disappointed",
            "extremely disappointed",
            "make a complaint",
            "file a complaint",
            "formal complaint",
            "i want to complain",
            "lawyer",
            "attorney",
            "legal action",
            "sue you",
            "take you to court",
            "small claims",
            "consumer protection",
            "trading standards",
            "better business bureau",
            "report you",
            "never buying from you again",
            "never ordering again",
            // --- Hinglish (romanised Hindi) ---
            "do baar paise kat",
            "do baar paise kate",
            "paise do baar kat",
            "paise do baar kate",
            "do baar charge",
            "do baar payment",
            "double payment",
            "paise kat gaye",
            "paisa kat gaya",
            "paise wapas karo",
            "paisa wapas karo",
            "mera paisa wapas",
            "mere paise wapas",
            "fraud hai",
            "froud",
            "dhokha",
            "dhoka",
            "dhokebaaz",
            "dhokhebaaz",
            "chor ho",
            "chor hai",
            "chor log",
            "loot rahe",
            "toota hua",
            "tuta hua",
            "toot gaya",
            "tut gaya",
            "toota aaya",
            "kharab aaya",
            "kharab nikla",
            "damaged aaya",
            "damage aaya",
            "phata hua",
            "bakwas",
            "bekar service",
            "bekaar service",
            "ghatiya",
            "faltu service",
            "pagal bana rahe",
            "bewakoof bana rahe",
            "bahut gussa",
            "gussa aa raha",
            "consumer court",
            "shikayat",
            "complaint karunga",
            "complaint karungi",
            "police complaint",
            "case karunga",
            // --- Spanish (accents are optional: text is folded) ---
            "me cobraron dos veces",
            "cobraron dos veces",
            "cobrado dos veces",
            "cobro doble",
            "doble cobro",
            "cobro duplicado",
            "cargo duplicado",
            "me cobraron de más",
            "cobro indebido",
            "cargo no autorizado",
            "contracargo",
            "fraude",
            "estafa",
            "estafadores",
            "me estafaron",
            "es un robo",
            "ladrones",
            "quiero mi dinero de vuelta",
            "devuélvanme mi dinero",
            "devuelvan mi dinero",
            "llegó roto",
            "llegó rota",
            "llegó dañado",
            "llegó dañada",
            "llegó en mal estado",
            "vino roto",
            "vino rota",
            "vino dañado",
            "vino dañada",
            "está roto",
            "está rota",
            "está dañado",
            "está dañada",
            "es ridículo",
            "una vergüenza",
            "qué vergüenza",
            "inaceptable",
            "pésimo servicio",
            "pésima atención",
            "el peor servicio",
            "servicio terrible",
            "estoy furioso",
            "estoy furiosa",
            "estoy harto",
            "estoy harta",
            "poner una queja",
            "presentar una queja",
            "hoja de reclamaciones",
            "abogado",
            "los voy a demandar",
            "voy a demandar",
            "los voy a denunciar",
            "profeco",
            // --- Portuguese (accents are optional: text is folded) ---
            "cobrado duas vezes",
            "cobraram duas vezes",
            "cobrança duplicada",
            "cobrança em dobro",
            "cobraram em dobro",
            "cobrança indevida",
            "não autorizei",
            "contestar a cobrança",
            // "fraude" is in the Spanish list above.
            "golpe",
            "golpistas",
            "ladrões",
            "roubaram meu dinheiro",
            "quero meu dinheiro de volta",
            "devolvam meu dinheiro",
            "chegou quebrado",
            "chegou quebrada",
            "chegou danificado",
            "chegou danificada",
            "chegou com defeito",
            "veio quebrado",
            "veio quebrada",
            "veio danificado",
            "veio danificada",
            "veio com defeito",
            "está quebrado",
            "está quebrada",
            "é ridículo",
            "ridículo",
            "um absurdo",
            "inaceitável",
            "péssimo atendimento",
            "atendimento horrível",
            "pior atendimento",
            "pior serviço",
            "estou furioso",
            "estou furiosa",
            "estou revoltado",
            "estou revoltada",
            "advogado",
            "vou processar",
            "processar vocês",
            "procon",
            "reclame aqui",
        ]
    }

    /// The built-in complaint matcher, see [`HandoffPhrases::complaint_list`].
    pub fn complaints() -> Self {
        Self::new(Self::complaint_list())
    }

    /// The phrase that matched, as it was configured (including a trailing `$`
    /// for exact entries), so callers can log why a handoff was triggered.
    /// When several phrases match, the first in configuration order wins.
    pub fn find(&self, text: &str) -> Option<&str> {
        let normalized = normalize(text);
        if normalized.is_empty() {
            return None;
        }
        let words: Vec<&str> = normalized.split(' ').collect();
        self.phrases
            .iter()
            .find(|phrase| phrase.matches(&words))
            .map(|phrase| phrase.original.as_str())
    }

    /// Whether the text asks for a person.
    pub fn matches(&self, text: &str) -> bool {
        self.find(text).is_some()
    }

    /// Number of distinct phrases after normalisation; mostly useful to check
    /// that a configured list was not silently emptied.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// Whether no usable phrase was configured (handoff detection disabled).
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }
}

impl Default for HandoffPhrases {
    fn default() -> Self {
        Self::defaults()
    }
}

impl Phrase {
    fn matches(&self, text_words: &[&str]) -> bool {
        if self.exact {
            return text_words.len() == self.words.len()
                && text_words.iter().zip(&self.words).all(|(t, p)| *t == p);
        }
        text_words
            .windows(self.words.len())
            .any(|window| window.iter().zip(&self.words).all(|(t, p)| *t == p))
    }
}

/// Normalises text for phrase matching (see the module docs).
///
/// Public so that other components (e.g. config validation or tests in other
/// modules) can see exactly what a phrase or message reduces to.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Separators only become a space once the next word starts, so leading
    // and trailing separators vanish and runs collapse to one space.
    let mut pending_space = false;
    for upper in text.chars() {
        for c in upper.to_lowercase() {
            if is_combining_mark(c) || is_apostrophe(c) {
                // Decomposed accents and apostrophes vanish without splitting
                // the word they belong to.
                continue;
            }
            if let Some(folded) = fold_latin(c) {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push_str(folded);
            } else if c.is_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c);
            } else {
                pending_space = true;
            }
        }
    }
    out
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

/// Folds lowercase Latin letters with diacritics to their ASCII base.
///
/// A hand-written table instead of Unicode decomposition keeps the crate free
/// of a normalisation dependency; it covers Latin-1 and the Latin Extended-A
/// letters used by the languages we ship phrases for (and their neighbours).
fn fold_latin(c: char) -> Option<&'static str> {
    let folded = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    };
    Some(folded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn defaults() -> HandoffPhrases {
        HandoffPhrases::defaults()
    }

    fn assert_all_match(texts: &[&str]) {
        let phrases = defaults();
        for text in texts {
            assert!(
                phrases.matches(text),
                "expected a handoff match for {text:?}"
            );
        }
    }

    fn assert_none_match(texts: &[&str]) {
        let phrases = defaults();
        for text in texts {
            assert_eq!(phrases.find(text), None, "unexpected match for {text:?}");
        }
    }

    #[test]
    fn normalize_lowercases_folds_and_collapses() {
        assert_eq!(normalize("  Hello,   WORLD!! "), "hello world");
        assert_eq!(normalize("Atención al cliente"), "atencion al cliente");
        assert_eq!(normalize("ÁÉÍÓÚ ãõ ç ñ ü âêô à"), "aeiou ao c n u aeo a");
        assert_eq!(normalize("Straße"), "strasse");
        assert_eq!(normalize("don't / can’t"), "dont cant");
        assert_eq!(normalize("e\u{301}xito"), "exito");
        assert_eq!(normalize("agent...please"), "agent please");
        assert_eq!(normalize("¿¡!?"), "");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("order #123"), "order 123");
    }

    #[test]
    fn english_phrases_match() {
        assert_all_match(&[
            "human please",
            "Human please!",
            "I want a real person",
            "can I talk to a real human?",
            "I need to talk to someone!!",
            "Can I speak to an agent?",
            "let me speak with a person please",
            "representative",
            "Representative.",
            "agent",
            "AGENT",
            "a human",
            "Human?",
            "operator",
            "live agent",
            "please connect me to an agent",
            "transfer me to a human now",
            "I don't want a bot, get me a human",
            "Are you a bot? I want a human",
            "you're not helping, talk to human",
            "I'd like a customer service representative",
        ]);
    }

    #[test]
    fn hinglish_phrases_match() {
        assert_all_match(&[
            "agent se baat karao",
            "Agent se baat karao please",
            "mujhe agent se baat karni hai",
            "kisi insaan se baat karni hai",
            "kisi insan se baat karni hai",
            "customer care se baat karao",
            "bhai customer care se baat karni hai",
            "kisi se baat karni hai",
            "agent chahiye",
            "mujhe koi insaan chahiye",
            "real person se baat karao",
            "agent ko bulao yaar",
        ]);
    }

    #[test]
    fn spanish_phrases_match() {
        assert_all_match(&[
            "Quiero hablar con un agente",
            "quiero hablar con una persona",
            "¿Puedo hablar con un humano?",
            "Necesito hablar con alguien, por favor",
            "hablar con un asesor",
            "¡Quiero hablar con atención al cliente!",
            "quiero hablar con atencion al cliente",
            "una persona real por favor",
            "pásame con un agente",
            "pasame con un agente",
            "agente",
            "Humano!",
            "no quiero hablar con un bot",
        ]);
    }

    #[test]
    fn portuguese_phrases_match() {
        assert_all_match(&[
            "Quero falar com um atendente, por favor",
            "quero falar com uma pessoa",
            "Posso falar com um humano?",
            "preciso falar com alguém",
            "preciso falar com alguem",
            "falar com atendente",
            "quero atendimento humano",
            "me transfere para um atendente",
            "atendente",
            "ATENDENTE POR FAVOR",
            "não quero falar com robô",
            "nao quero falar com robo",
        ]);
    }

    #[test]
    fn punctuation_case_and_accents_do_not_matter() {
        let phrases = defaults();
        for text in [
            "TALK TO SOMEONE",
            "talk...to...someone",
            "talk\tto\nsomeone",
            "«talk to someone»",
            "talk-to-someone",
        ] {
            assert_eq!(phrases.find(text), Some("talk to someone"), "{text:?}");
        }
        // Accents on the text side and on the phrase side are both optional.
        assert_eq!(
            phrases.find("FALAR COM ALGUEM"),
            phrases.find("falar com alguém")
        );
        assert!(phrases.matches("Pásame con una persona"));
        assert!(phrases.matches("pasame con una persona"));
    }

    #[test]
    fn whole_words_only() {
        let custom = HandoffPhrases::new(["agente", "talk to someone"]);
        assert!(custom.matches("un agente"));
        assert!(!custom.matches("agentes de ventas"));
        assert!(!custom.matches("subagente"));
        assert!(!custom.matches("talk to someones"));
        assert!(!custom.matches("stalk to someone"));
        assert!(!custom.matches("talk to some one"));
    }

    #[test]
    fn ordinary_questions_do_not_match() {
        assert_none_match(&[
            "what does your agent fee cost?",
            "I am human resources manager",
            "Is the agent fee included?",
            "human resources",
            "help",
            "I need help with my order",
            "Can you help me?",
            "what are your opening hours?",
            "how long does shipping take",
            "my person is not home, can someone else sign?",
            "agentes de viagem",
            "quiero cambiar mi dirección",
            "cuanto cuesta el envio",
            "qual o prazo de entrega?",
            "order kab tak aayega?",
            "The representative on the phone was great",
            "agent 47 is my favourite game",
            "",
            "   ",
            "?!",
        ]);
    }

    #[test]
    fn exact_entries_only_match_the_whole_message() {
        let phrases = HandoffPhrases::new(["human$"]);
        assert!(phrases.matches("human"));
        assert!(phrases.matches("  Human!! "));
        assert!(!phrases.matches("human resources"));
        assert!(!phrases.matches("a human"));
        assert_eq!(phrases.find("HUMAN"), Some("human$"));
    }

    #[test]
    fn exact_and_contained_entries_are_distinct() {
        let phrases = HandoffPhrases::new(["human$", "human"]);
        assert_eq!(phrases.len(), 2);
        assert_eq!(phrases.find("human"), Some("human$"));
        assert_eq!(phrases.find("a human"), Some("human"));
    }

    #[test]
    fn custom_lists() {
        let phrases = HandoffPhrases::new(vec![
            String::from("Mensch bitte"),
            String::from("mit einem Menschen sprechen"),
        ]);
        assert!(phrases.matches("Ich möchte mit einem Menschen sprechen."));
        assert!(phrases.matches("MENSCH, BITTE!"));
        assert!(
            !phrases.matches("talk to someone"),
            "defaults are not included"
        );
        assert_eq!(
            phrases.find("bitte: mit einem menschen sprechen"),
            Some("mit einem Menschen sprechen")
        );
    }

    #[test]
    fn find_returns_first_configured_phrase() {
        let phrases = HandoffPhrases::new(["speak to", "speak to an agent"]);
        assert_eq!(phrases.find("Speak to an agent"), Some("speak to"));
        let phrases = HandoffPhrases::new(["  speak to an agent  ", "speak to"]);
        assert_eq!(phrases.find("Speak to an agent"), Some("speak to an agent"));
    }

    #[test]
    fn empty_and_duplicate_phrases_are_ignored() {
        let phrases =
            HandoffPhrases::new(["", "   ", "!!!", "$", "Agent Please", "agent, please!"]);
        assert_eq!(phrases.len(), 1);
        assert!(!phrases.matches(""));
        assert!(phrases.matches("agent please"));

        let none = HandoffPhrases::new(Vec::<String>::new());
        assert!(none.is_empty());
        assert!(!none.matches("talk to a human"));
    }

    #[test]
    fn defaults_cover_each_language_generously() {
        let list = HandoffPhrases::default_list();
        let phrases = HandoffPhrases::defaults();
        // Every built-in entry survives normalisation and is distinct.
        assert_eq!(phrases.len(), list.len());
        // Every built-in (non-exact) phrase matches itself inside a sentence.
        for entry in &list {
            match entry.strip_suffix('$') {
                Some(exact) => assert!(phrases.matches(exact), "{entry:?}"),
                None => assert!(
                    phrases.matches(&format!("well, {entry}, thanks")),
                    "{entry:?}"
                ),
            }
        }
        assert!(list.iter().filter(|p| p.contains("hablar")).count() >= 12);
        assert!(list.iter().filter(|p| p.contains("falar")).count() >= 12);
        assert!(list.iter().filter(|p| p.contains(" se ")).count() >= 12);
        assert!(
            list.iter()
                .filter(|p| p.contains("speak") || p.contains("talk"))
                .count()
                >= 12
        );
        assert_eq!(HandoffPhrases::default().len(), phrases.len());
    }

    fn complaints() -> HandoffPhrases {
        HandoffPhrases::complaints()
    }

    #[track_caller]
    fn assert_complaints(texts: &[&str]) {
        let phrases = complaints();
        for text in texts {
            assert!(
                phrases.matches(text),
                "expected a complaint match for {text:?}"
            );
        }
    }

    #[test]
    fn english_complaints_match() {
        assert_complaints(&[
            "I was charged twice, this is fraud!!",
            "You charged my card twice for one order",
            "I've been double charged",
            "There are two charges on my statement",
            "I was overcharged by 10 euros",
            "I never authorized this payment, I didn't authorize it",
            "Refund my money now",
            "Just give me my money back",
            "I'm going to file a chargeback",
            "this is a SCAM",
            "you scammed me",
            "what a rip-off",
            "My package arrived damaged",
            "the parcel arrived damaged and the box was open",
            "the mug came broken",
            "my blender is broken",
            "It's broken!",
            "the screen was broken when I opened it",
            "This is ridiculous",
            "worst service ever",
            "Worst customer service I have ever had",
            "I'm furious",
            "This is unacceptable.",
            "I'm fed up with waiting",
            "I will contact my lawyer",
            "I'll take you to court",
            "I want to make a complaint",
        ]);
    }

    #[test]
    fn hinglish_complaints_match() {
        assert_complaints(&[
            "mere paise do baar kat gaye",
            "paise do baar kate hai",
            "double payment ho gaya bhai",
            "paise kat gaye lekin order nahi hua",
            "mera paisa wapas karo",
            "ye fraud hai",
            "tum log dhokebaaz ho",
            "dhokha hai ye",
            "product toota hua aaya",
            "phone kharab nikla",
            "bakwas service hai",
            "ghatiya company",
            "consumer court jaunga",
            "main shikayat karunga",
        ]);
    }

    #[test]
    fn spanish_complaints_match() {
        assert_complaints(&[
            "¡Me cobraron dos veces!",
            "tengo un cobro duplicado en mi tarjeta",
            "me cobraron de más",
            "esto es una estafa",
            "¡Fraude!",
            "quiero mi dinero de vuelta YA",
            "El paquete llegó roto",
            "la taza llego rota",
            "el producto vino dañado",
            "La pantalla está rota",
            "es ridículo",
            "pésimo servicio",
            "esto es inaceptable",
            "estoy harta de esperar",
            "voy a poner una queja",
            "hablaré con mi abogado",
        ]);
    }

    #[test]
    fn portuguese_complaints_match() {
        assert_complaints(&[
            "Fui cobrado duas vezes",
            "cobrança em dobro no meu cartão",
            "isso é fraude",
            "isso é golpe",
            "quero meu dinheiro de volta",
            "o pedido chegou quebrado",
            "veio com defeito",
            "a caixa chegou danificada",
            "que absurdo, péssimo atendimento",
            "isso é ridículo",
            "estou revoltada",
            "vou reclamar no Procon",
            "vou postar no Reclame Aqui",
            "vou processar vocês",
        ]);
    }

    #[test]
    fn ordinary_questions_are_not_complaints() {
        let phrases = complaints();
        for text in [
            // Billing and payment questions.
            "how much is shipping",
            "Do you charge for delivery?",
            "is there a charge for returns?",
            "can I pay by card",
            "do you take visa",
            "will I be charged in euros?",
            // Refund questions, not demands.
            "when will I get my refund?",
            "I want my money back",
            "how long do refunds take",
            // Damage as a category or a future, and look-alike words.
            "do you sell broken-in leather boots?",
            "what if it arrives damaged?",
            "are damaged items covered by the warranty?",
            "can I return a damaged item?",
            "does the warranty cover accidental damage?",
            // Everything else the assistant answers.
            "where is my order",
            "my package is late",
            "what are your opening hours?",
            "can I double check my address?",
            "I ordered twice by mistake, can you cancel one?",
            "is express delivery available?",
            "do you have a returns policy?",
            "I'd like to speak to an agent",
            "cuanto cuesta el envio",
            "¿puedo pagar con tarjeta?",
            "¿dónde está mi pedido?",
            "¿qué pasa si llega roto?",
            "¿cuándo llega mi reembolso?",
            "qual o prazo de entrega?",
            "posso pagar com cartão?",
            "e se chegar quebrado?",
            "onde está meu pedido?",
            "order kab aayega?",
            "shipping kitne ka hai?",
            "refund kab milega?",
            "",
            "?!",
        ] {
            assert_eq!(
                phrases.find(text),
                None,
                "unexpected complaint match for {text:?}"
            );
        }
    }

    #[test]
    fn complaint_list_is_distinct_and_each_entry_matches_in_a_sentence() {
        let list = HandoffPhrases::complaint_list();
        let phrases = complaints();
        assert_eq!(
            phrases.len(),
            list.len(),
            "an entry is empty or a duplicate"
        );
        for entry in &list {
            assert!(
                !entry.ends_with('$'),
                "{entry:?}: complaints are never exact-only"
            );
            assert!(
                phrases.matches(&format!("well, {entry}, really")),
                "{entry:?}"
            );
        }
        // Each language has a real list, not a token entry.
        assert!(list.iter().filter(|p| p.contains("charge")).count() >= 12);
        assert!(
            list.iter()
                .filter(|p| p.contains("paise") || p.contains("paisa"))
                .count()
                >= 6
        );
        assert!(list.iter().filter(|p| p.contains("cobr")).count() >= 6);
        assert!(
            list.iter()
                .filter(|p| p.contains("chegou") || p.contains("veio"))
                .count()
                >= 6
        );
        assert_eq!(phrases.find("I was charged twice"), Some("charged twice"));
    }

    #[test]
    fn complaints_and_requests_for_a_person_are_separate_lists() {
        // Neither built-in list matches the other's typical message, so the
        // caller can tell a complaint from a request for a person.
        assert!(!defaults().matches("I was charged twice, this is fraud!!"));
        assert!(!complaints().matches("talk to a human"));
        assert!(!complaints().matches("agent"));
    }

    #[test]
    fn default_no_match_reply_suggestions_trigger_handoff() {
        // The built-in assistant tells customers to say these.
        let phrases = defaults();
        assert!(phrases.matches("agent"));
        assert!(phrases.matches("\"agent\""));
        assert!(phrases.matches("talk to a human"));
    }
}
