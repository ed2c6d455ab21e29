//! One `[[inbox]]`: what every inbox has, and its channel's own settings as one variant of
//! [`ChannelSettings`] with typed fields. A channel's keys exist only on its variant, so the
//! code that sends through WhatsApp holds a `phone_number_id` and a token rather than options
//! it must unwrap, and a key of another channel is refused when the file is read.

use std::{
    collections::{BTreeMap, HashSet},
    num::NonZeroU32,
};

use serde::{de::DeserializeOwned, Deserialize};

use super::{
    invalid,
    values::{required_secret, CountryCode, GraphVersion, HttpUrl, NonBlank, Secret, WebhookUrl},
    ArrayEntry, ConfigError,
};
use crate::domain::{hours::BusinessHours, types::ChannelKind, AssistantId};

/// One inbox.
///
/// - `api`: `callback_url` (where replies are POSTed), `window_hours`; `secret` signs both ways.
/// - `widget`: nothing more; `secret` signs visitor tokens.
/// - `whatsapp` (Cloud API): `phone_number_id`, `access_token`, `verify_token`; `secret` is
///   the Meta app secret.
/// - `twilio` (SMS and WhatsApp through Twilio): `account_sid`, `from`, `public_url`;
///   `secret` is the Twilio auth token.
/// - `meta` (Messenger or Instagram): `platform`, `page_id`, `page_access_token`,
///   `verify_token`; `secret` is the Meta app secret.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// Appears in webhook URLs: `/webhooks/{channel}/{id}`.
    pub id: String,
    pub name: Option<String>,
    /// Signs inbound webhooks (`SWITCHBOARD_INBOX_<ID>_SECRET`): the API channel's shared
    /// secret, the Meta app secret, or the Twilio auth token.
    pub secret: Secret,
    /// Country calling code for numbers typed without one.
    pub default_country_code: Option<CountryCode>,
    /// What the customer is told when the conversation goes to a person.
    pub handoff_ack: HandoffAckSettings,
    /// The `[[assistant]]` that answers first; the first one in the file when absent.
    pub assistant: Option<AssistantId>,
    /// Ask the customer for a 1–5 rating when a conversation closes inside their window.
    pub csat: bool,
    /// The survey's question per language (`csat_question = { en = "…", es = "…" }`), keyed
    /// by a primary language tag; a language left out asks the built-in question (English,
    /// Spanish, Portuguese, Hindi), or this table's `en` for any other language.
    pub csat_question: BTreeMap<String, String>,
    /// Follow-ups the AI schedules when the customer goes quiet after a question of ours.
    pub follow_ups: AutoFollowUps,
    pub channel: ChannelSettings,
}

/// An inbox's AI follow-ups: `auto_follow_up`, `max_follow_ups`, `follow_up_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoFollowUps {
    pub enabled: bool,
    /// At most this many AI follow-ups per conversation (default 2).
    pub max: u32,
    /// The approved template (by name) sent instead when the window has closed; without
    /// one, a follow-up due outside the window is skipped.
    pub template: Option<String>,
    /// How long after our unanswered message the follow-up goes (default 23 hours: inside
    /// WhatsApp's and Messenger's 24-hour window).
    pub after_secs: u64,
}

impl Default for AutoFollowUps {
    fn default() -> Self {
        AutoFollowUps {
            enabled: false,
            max: 2,
            template: None,
            after_secs: 23 * 3600,
        }
    }
}

/// The settings of each kind of channel.
#[derive(Debug, Clone)]
pub enum ChannelSettings {
    Api(ApiChannel),
    Widget,
    Whatsapp(WhatsappChannel),
    Twilio(TwilioChannel),
    Meta(MetaChannel),
}

/// The API channel: a system of the business's own relays messages.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiChannel {
    /// Where replies are POSTed; without it nothing is sent.
    #[serde(default)]
    pub callback_url: Option<HttpUrl>,
    /// A service window like WhatsApp's, for systems that relay such a channel.
    #[serde(default)]
    pub window_hours: Option<NonZeroU32>,
    /// POSTs per second to `callback_url`, replies and broadcasts together, for a system that
    /// can take only so many; unset, replies are not paced and broadcasts go at 100 a second.
    #[serde(default)]
    pub throughput_per_second: Option<NonZeroU32>,
}

/// The WhatsApp Cloud API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappChannel {
    /// The business number's id in the Cloud API (not the number itself).
    pub phone_number_id: NonBlank,
    /// A system-user access token (`SWITCHBOARD_INBOX_<ID>_ACCESS_TOKEN`).
    #[serde(deserialize_with = "required_secret")]
    pub access_token: Secret,
    /// The token typed into Meta's webhook settings (`SWITCHBOARD_INBOX_<ID>_VERIFY_TOKEN`).
    #[serde(deserialize_with = "required_secret")]
    pub verify_token: Secret,
    /// Default https://graph.facebook.com; tests point it at a local stand-in.
    #[serde(default)]
    pub api_base_url: Option<HttpUrl>,
    /// Default `v25.0`.
    #[serde(default)]
    pub api_version: Option<GraphVersion>,
    /// Outbound messages per second from this number (WhatsApp default 80).
    #[serde(default)]
    pub throughput_per_second: Option<NonZeroU32>,
    /// The business portfolio's messaging limit: unique people reached by business-initiated
    /// messages in a moving 24 hours (250, 2,000, 10,000, 100,000; unset: unlimited). A
    /// broadcast that would pass it pauses with the reason instead of burning failures.
    #[serde(default)]
    pub messaging_limit: Option<NonZeroU32>,
    /// Approved templates offered in the composer.
    #[serde(default)]
    pub templates: Vec<TemplateSettings>,
}

/// SMS and WhatsApp through Twilio.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioChannel {
    /// The account SID (`AC…`).
    pub account_sid: NonBlank,
    /// Our number, or a Messaging Service.
    pub from: TwilioFrom,
    /// The exact webhook URL typed into Twilio's console; signatures are computed over it,
    /// and `<public_url>/status` receives the status callbacks.
    pub public_url: WebhookUrl,
    /// Twilio's API base URL (default https://api.twilio.com); tests use a local stand-in.
    #[serde(default)]
    pub api_base_url: Option<HttpUrl>,
    /// Outbound messages per second from this number.
    #[serde(default)]
    pub throughput_per_second: Option<NonZeroU32>,
    /// Approved templates, each with its Content SID.
    #[serde(default)]
    pub templates: Vec<TemplateSettings>,
    /// Replace characters outside GSM-7 that have a plain look-alike (curly quotes, dashes,
    /// ellipsis…) before sending, so a reply is not billed as UCS-2 (what Twilio calls Smart
    /// Encoding). The thread shows what was sent.
    #[serde(default)]
    pub smart_encoding: bool,
}

/// Messenger or Instagram.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaChannel {
    pub platform: MetaPlatform,
    /// The Facebook Page id, or the Instagram professional account id.
    pub page_id: NonBlank,
    /// The Page access token (`SWITCHBOARD_INBOX_<ID>_PAGE_ACCESS_TOKEN`).
    #[serde(deserialize_with = "required_secret")]
    pub page_access_token: Secret,
    /// The token typed into Meta's webhook settings (`SWITCHBOARD_INBOX_<ID>_VERIFY_TOKEN`).
    #[serde(deserialize_with = "required_secret")]
    pub verify_token: Secret,
    /// Default https://graph.facebook.com; tests point it at a local stand-in.
    #[serde(default)]
    pub api_base_url: Option<HttpUrl>,
    /// Default `v25.0`.
    #[serde(default)]
    pub api_version: Option<GraphVersion>,
    /// Outbound messages per second from this number (WhatsApp default 80).
    #[serde(default)]
    pub throughput_per_second: Option<NonZeroU32>,
}

/// The Graph API base URL of a WhatsApp or Meta inbox, without a trailing `/`.
fn graph_base(url: &Option<HttpUrl>) -> &str {
    url.as_ref()
        .map_or(crate::providers::meta::GRAPH_BASE_URL, HttpUrl::base)
}

/// The Graph API version of a WhatsApp or Meta inbox.
fn graph_version(version: &Option<GraphVersion>) -> &str {
    version.as_ref().map_or(
        crate::providers::meta::DEFAULT_GRAPH_VERSION,
        GraphVersion::as_str,
    )
}

impl WhatsappChannel {
    pub fn api_base(&self) -> &str {
        graph_base(&self.api_base_url)
    }
    pub fn graph_version(&self) -> &str {
        graph_version(&self.api_version)
    }
}

impl MetaChannel {
    pub fn api_base(&self) -> &str {
        graph_base(&self.api_base_url)
    }
    pub fn graph_version(&self) -> &str {
        graph_version(&self.api_version)
    }
}

impl TwilioChannel {
    pub fn api_base(&self) -> &str {
        self.api_base_url
            .as_ref()
            .map_or(crate::providers::twilio::API_BASE_URL, HttpUrl::base)
    }

    /// Where status callbacks are asked to go, `<public_url>/status`.
    pub fn status_url(&self) -> String {
        format!("{}/status", self.public_url.base())
    }
}

/// Which Meta product a `meta` inbox speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaPlatform {
    Messenger,
    Instagram,
}

/// Where Twilio messages go out from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioFrom {
    /// A number in E.164 (`+1…`); WhatsApp replies go from `whatsapp:+1…`.
    Number(String),
    /// A Messaging Service SID (`MG…`), which picks the number.
    MessagingService(String),
}

impl std::str::FromStr for TwilioFrom {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with("MG") {
            Ok(TwilioFrom::MessagingService(s.to_owned()))
        } else if crate::providers::phone::is_e164(s) {
            Ok(TwilioFrom::Number(s.to_owned()))
        } else {
            Err(
                "must be a number in E.164 (+ and 8-15 digits) or a Messaging Service SID (MG…)"
                    .to_owned(),
            )
        }
    }
}

impl<'de> Deserialize<'de> for TwilioFrom {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The message a customer gets when their conversation goes to a person, so they know one is
/// coming (and when, outside business hours).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandoffAckSettings {
    pub enabled: bool,
    /// Sent within business hours (always, without them).
    pub text: String,
    /// When people answer; without it, people are assumed to be around.
    pub business_hours: Option<BusinessHoursSettings>,
    /// Sent outside business hours; `{hours}` becomes the hours ("Mon-Fri 09:00-18:00 (…)").
    pub out_of_hours_text: String,
    /// The texts for contacts of one language (`[inbox.handoff_ack.languages.es]`), keyed by a
    /// primary language tag (`es`, `pt`, `hi`…). A language left out uses the built-in text
    /// when there is one (Spanish, Portuguese, Hindi), else `text` / `out_of_hours_text`.
    pub languages: BTreeMap<String, AckTexts>,
}

/// One language's handoff acknowledgement; a text left out is the built-in one of that
/// language (or the inbox's default text).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AckTexts {
    pub text: Option<String>,
    pub out_of_hours_text: Option<String>,
}

impl Default for HandoffAckSettings {
    fn default() -> Self {
        HandoffAckSettings {
            enabled: true,
            text: "Thanks for your message. A person from our team will be with you shortly."
                .to_owned(),
            business_hours: None,
            out_of_hours_text: "Thanks for your message. Our team is away right now; \
                                we answer {hours}, and a person will reply as soon as we are back."
                .to_owned(),
            languages: BTreeMap::new(),
        }
    }
}

impl HandoffAckSettings {
    /// The built-in acknowledgement (within hours, outside them) of the languages the
    /// widget speaks besides English, whose default is [`HandoffAckSettings::default`].
    pub fn built_in(language: &str) -> Option<(&'static str, &'static str)> {
        match language {
            "es" => Some((
                "Gracias por tu mensaje. Una persona de nuestro equipo te atenderá en breve.",
                "Gracias por tu mensaje. Ahora mismo nuestro equipo no está disponible; \
                 atendemos {hours} y una persona te responderá en cuanto volvamos.",
            )),
            "pt" => Some((
                "Obrigado pela sua mensagem. Uma pessoa da nossa equipe vai falar com você em breve.",
                "Obrigado pela sua mensagem. Nossa equipe não está disponível agora; \
                 atendemos {hours}, e uma pessoa vai responder assim que voltarmos.",
            )),
            "hi" => Some((
                "आपके संदेश के लिए धन्यवाद। हमारी टीम का कोई सदस्य जल्द ही आपसे बात करेगा।",
                "आपके संदेश के लिए धन्यवाद। हमारी टीम अभी उपलब्ध नहीं है; हम {hours} जवाब देते \
                 हैं, और हमारे लौटते ही कोई व्यक्ति आपको जवाब देगा।",
            )),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursSettings {
    /// IANA name: `Europe/Madrid`, `America/New_York`, `UTC`.
    pub timezone: String,
    /// `["mon-fri"]`, `["mon", "wed", "sat"]`…
    pub days: Vec<String>,
    /// `HH:MM`, local time.
    pub open: String,
    /// `HH:MM`; before `open` means past midnight.
    pub close: String,
}

impl BusinessHoursSettings {
    pub fn parse(&self) -> Result<BusinessHours, String> {
        BusinessHours::parse(&self.timezone, &self.days, &self.open, &self.close)
    }
}

/// One approved message template, as registered with the provider.
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Template)]
pub struct TemplateSettings {
    /// The template's name at the provider (WhatsApp), or a label (Twilio).
    pub name: String,
    /// Language code as approved, e.g. `en_US`.
    pub language: String,
    /// The approved text with `{{1}}`, `{{2}}`… placeholders, shown in the thread.
    pub body: String,
    /// What each placeholder means, in order (shown to the agent filling them in).
    #[serde(default)]
    pub parameters: Vec<String>,
    /// Twilio: the Content Template SID (`HX…`) that sends this template.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sid: Option<String>,
}

impl TemplateSettings {
    /// The body with `{{n}}` replaced by the n-th parameter.
    pub fn render(&self, parameters: &[String]) -> String {
        let mut out = self.body.clone();
        // Highest first, so `{{1}}` never eats the start of `{{10}}`.
        for (i, p) in parameters.iter().enumerate().rev() {
            out = out.replace(&format!("{{{{{}}}}}", i + 1), p);
        }
        out
    }

    /// Refuses parameters that do not fill this template: one per placeholder, each 1-1024
    /// characters (what providers accept in a body parameter).
    pub fn check_parameters(&self, parameters: &[String]) -> Result<(), String> {
        const MAX_PARAMETER_CHARS: usize = 1024;
        if parameters.len() != self.parameters.len() {
            return Err(format!(
                "template `{}` takes {} parameters ({}); {} given",
                self.name,
                self.parameters.len(),
                self.parameters.join(", "),
                parameters.len()
            ));
        }
        if parameters
            .iter()
            .any(|p| p.trim().is_empty() || p.chars().count() > MAX_PARAMETER_CHARS)
        {
            return Err(format!(
                "each parameter must be 1-{MAX_PARAMETER_CHARS} characters"
            ));
        }
        Ok(())
    }

    /// How many `{{n}}` placeholders the body uses (the highest n).
    pub fn placeholder_count(&self) -> usize {
        let mut max = 0;
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("{{") {
            rest = &rest[start + 2..];
            if let Some(end) = rest.find("}}") {
                if let Ok(n) = rest[..end].trim().parse::<usize>() {
                    max = max.max(n);
                }
                rest = &rest[end + 2..];
            }
        }
        max
    }

    /// What is wrong with this template, as (field, problem); `twilio` templates need their
    /// Content SID, others must not have one.
    fn problem(&self, twilio: bool) -> Option<(&'static str, String)> {
        if self.name.trim().is_empty() || self.name.len() > 512 {
            return Some(("name", "must be 1-512 characters".to_owned()));
        }
        if self.language.trim().is_empty() || self.language.len() > 16 {
            return Some((
                "language",
                "must be a language code such as `en_US`".to_owned(),
            ));
        }
        if self.body.trim().is_empty() {
            return Some(("body", "must not be empty".to_owned()));
        }
        if self.placeholder_count() != self.parameters.len() {
            return Some((
                "parameters",
                format!(
                    "names {} parameters but the body uses {{{{1}}}}..{{{{{}}}}}",
                    self.parameters.len(),
                    self.placeholder_count()
                ),
            ));
        }
        match (twilio, &self.content_sid) {
            (true, None) => Some((
                "content_sid",
                "is required for a twilio template (the HX… Content SID)".to_owned(),
            )),
            (false, Some(_)) => {
                Some(("content_sid", "applies to twilio templates only".to_owned()))
            }
            _ => None,
        }
    }
}

impl InboxSettings {
    /// An inbox of the given channel with default name, country and acknowledgement.
    pub fn new(id: impl Into<String>, secret: Secret, channel: ChannelSettings) -> InboxSettings {
        InboxSettings {
            id: id.into(),
            name: None,
            secret,
            default_country_code: None,
            handoff_ack: HandoffAckSettings::default(),
            csat_question: BTreeMap::new(),
            assistant: None,
            csat: false,
            follow_ups: AutoFollowUps::default(),
            channel,
        }
    }

    pub fn kind(&self) -> ChannelKind {
        match self.channel {
            ChannelSettings::Api(_) => ChannelKind::Api,
            ChannelSettings::Widget => ChannelKind::Widget,
            ChannelSettings::Whatsapp(_) => ChannelKind::Whatsapp,
            ChannelSettings::Twilio(_) => ChannelKind::Twilio,
            ChannelSettings::Meta(_) => ChannelKind::Meta,
        }
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    pub fn default_country_code(&self) -> Option<&str> {
        self.default_country_code.as_ref().map(CountryCode::as_str)
    }

    /// The approved templates offered in the composer (WhatsApp and Twilio).
    pub fn templates(&self) -> &[TemplateSettings] {
        match &self.channel {
            ChannelSettings::Whatsapp(w) => &w.templates,
            ChannelSettings::Twilio(t) => &t.templates,
            _ => &[],
        }
    }

    /// The template with this name and language.
    pub fn template(&self, name: &str, language: &str) -> Option<&TemplateSettings> {
        self.templates()
            .iter()
            .find(|t| t.name == name && t.language == language)
    }

    /// Outbound messages per second, when configured.
    pub fn throughput_per_second(&self) -> Option<u32> {
        match &self.channel {
            ChannelSettings::Whatsapp(w) => w.throughput_per_second,
            ChannelSettings::Meta(m) => m.throughput_per_second,
            ChannelSettings::Twilio(t) => t.throughput_per_second,
            ChannelSettings::Api(a) => a.throughput_per_second,
            ChannelSettings::Widget => None,
        }
        .map(NonZeroU32::get)
    }

    /// Whether SMS replies get GSM-7 look-alikes (Twilio only).
    pub fn smart_encoding(&self) -> bool {
        matches!(&self.channel, ChannelSettings::Twilio(t) if t.smart_encoding)
    }

    /// The token Meta's webhook handshake must present (WhatsApp and Meta inboxes).
    pub fn verify_token(&self) -> Option<&Secret> {
        match &self.channel {
            ChannelSettings::Whatsapp(w) => Some(&w.verify_token),
            ChannelSettings::Meta(m) => Some(&m.verify_token),
            _ => None,
        }
    }

    /// The checks of one inbox (the `index`-th) that its types cannot express; `seen` holds
    /// the ids of the inboxes before it.
    fn validate<'a>(
        &'a self,
        index: usize,
        seen: &mut HashSet<&'a str>,
    ) -> Result<(), ConfigError> {
        let key = |field: &str| format!("inbox[{index}].{field}");
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(invalid(
                key("id"),
                "must be 1-64 letters, digits, '-' or '_'",
            ));
        }
        if !seen.insert(self.id.as_str()) {
            return Err(invalid(key("id"), format!("`{}` is used twice", self.id)));
        }
        if self.secret.expose().len() < 16 {
            return Err(invalid(key("secret"), "must be at least 16 characters"));
        }
        let ack = &self.handoff_ack;
        if let Some(hours) = &ack.business_hours {
            hours
                .parse()
                .map_err(|e| invalid(key("handoff_ack.business_hours"), e))?;
        }
        for (field, text) in [
            ("text", &ack.text),
            ("out_of_hours_text", &ack.out_of_hours_text),
        ] {
            if ack.enabled && (text.trim().is_empty() || text.chars().count() > 1000) {
                return Err(invalid(
                    key(&format!("handoff_ack.{field}")),
                    "must be 1-1000 characters",
                ));
            }
        }
        for (lang, texts) in &ack.languages {
            let at = |field: &str| key(&format!("handoff_ack.languages.{lang}{field}"));
            if !is_language_key(lang) {
                return Err(invalid(at(""), LANGUAGE_KEY));
            }
            for (field, text) in [
                (".text", &texts.text),
                (".out_of_hours_text", &texts.out_of_hours_text),
            ] {
                if text
                    .as_ref()
                    .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 1000)
                {
                    return Err(invalid(at(field), "must be 1-1000 characters"));
                }
            }
        }
        for (lang, question) in &self.csat_question {
            let at = key(&format!("csat_question.{lang}"));
            if !is_language_key(lang) {
                return Err(invalid(at, LANGUAGE_KEY));
            }
            // WhatsApp's list body takes 1024; a question is a line.
            if question.trim().is_empty() || question.chars().count() > 500 {
                return Err(invalid(at, "must be 1-500 characters"));
            }
        }
        Ok(())
    }

    /// Reads one `[[inbox]]` table (the `index`-th), naming the key at fault on error.
    pub(super) fn parse(index: usize, value: toml::Value) -> Result<InboxSettings, ConfigError> {
        let (entry, common_keys, channel_keys) =
            ArrayEntry::split("inbox", index, value, Common::KEYS)?;
        let at = |path: &str| entry.at(path);
        let common: Common = typed(common_keys, "an inbox", &at)?;
        let article = match common.channel {
            ChannelKind::Api => "an",
            _ => "a",
        };
        let what = format!("{article} {} inbox `{}`", common.channel, common.id);
        let channel = match common.channel {
            ChannelKind::Api => ChannelSettings::Api(typed(channel_keys, &what, &at)?),
            ChannelKind::Widget => {
                typed::<NoKeys>(channel_keys, &what, &at)?;
                ChannelSettings::Widget
            }
            ChannelKind::Whatsapp => ChannelSettings::Whatsapp(typed(channel_keys, &what, &at)?),
            ChannelKind::Twilio => ChannelSettings::Twilio(typed(channel_keys, &what, &at)?),
            ChannelKind::Meta => ChannelSettings::Meta(typed(channel_keys, &what, &at)?),
        };
        let inbox = InboxSettings {
            id: common.id,
            name: common.name,
            secret: common.secret,
            default_country_code: common.default_country_code,
            handoff_ack: common.handoff_ack,
            assistant: common.assistant,
            csat: common.csat,
            csat_question: common.csat_question,
            follow_ups: AutoFollowUps {
                enabled: common.auto_follow_up,
                max: common.max_follow_ups,
                template: common.follow_up_template,
                after_secs: common.follow_up_after_secs,
            },
            channel,
        };
        if let Some(name) = &inbox.follow_ups.template {
            if !inbox.templates().iter().any(|t| &t.name == name) {
                return Err(invalid(
                    at("follow_up_template"),
                    format!("names no template of this inbox (`{name}`)"),
                ));
            }
        }
        if !(1..=20).contains(&inbox.follow_ups.max) {
            return Err(invalid(at("max_follow_ups"), "must be 1-20"));
        }
        if !(1..=30 * 86_400).contains(&inbox.follow_ups.after_secs) {
            return Err(invalid(
                at("follow_up_after_secs"),
                "must be 1-2592000 (seconds; 30 days at most)",
            ));
        }
        let twilio = inbox.kind() == ChannelKind::Twilio;
        let mut seen = HashSet::new();
        for (t, tpl) in inbox.templates().iter().enumerate() {
            if let Some((field, problem)) = tpl.problem(twilio) {
                return Err(invalid(at(&format!("templates[{t}].{field}")), problem));
            }
            if !seen.insert((tpl.name.as_str(), tpl.language.as_str())) {
                return Err(invalid(
                    at(&format!("templates[{t}].name")),
                    "is listed twice for this language",
                ));
            }
        }
        Ok(inbox)
    }
}

const LANGUAGE_KEY: &str =
    "must be a primary language tag in lower case, such as `es`, `pt` or `hi`";

/// A language as the key of a per-language text: a bare primary tag (`es`, not `es-MX`).
fn is_language_key(key: &str) -> bool {
    crate::domain::profile::Language::parse(key)
        .is_ok_and(|l| l.as_str() == key && !key.contains('-'))
}

/// The keys every inbox has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    id: String,
    channel: ChannelKind,
    #[serde(default)]
    name: Option<String>,
    secret: Secret,
    #[serde(default)]
    default_country_code: Option<CountryCode>,
    #[serde(default)]
    handoff_ack: HandoffAckSettings,
    #[serde(default)]
    assistant: Option<AssistantId>,
    #[serde(default)]
    csat: bool,
    #[serde(default)]
    csat_question: BTreeMap<String, String>,
    #[serde(default)]
    auto_follow_up: bool,
    #[serde(default = "default_max_follow_ups")]
    max_follow_ups: u32,
    #[serde(default)]
    follow_up_template: Option<String>,
    #[serde(default = "default_follow_up_after_secs")]
    follow_up_after_secs: u64,
}

fn default_max_follow_ups() -> u32 {
    AutoFollowUps::default().max
}

fn default_follow_up_after_secs() -> u64 {
    AutoFollowUps::default().after_secs
}

impl Common {
    const KEYS: &'static [&'static str] = &[
        "id",
        "channel",
        "name",
        "secret",
        "default_country_code",
        "handoff_ack",
        "assistant",
        "csat",
        "csat_question",
        "auto_follow_up",
        "max_follow_ups",
        "follow_up_template",
        "follow_up_after_secs",
    ];
}

/// A channel with no keys of its own (the website widget).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoKeys {}

/// Deserializes `keys` into `T`, turning serde's error into one that names the key (through
/// `at`) and says what is wrong for `what` ("a whatsapp inbox `wa`").
pub(super) fn typed<T: DeserializeOwned>(
    keys: toml::Table,
    what: &str,
    at: &dyn Fn(&str) -> String,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(toml::Value::Table(keys)).map_err(|e| {
        let path = e.path().to_string();
        let message = super::first_line(e.inner());
        // serde's own wording for the two structural mistakes; the key is in backquotes.
        let quoted = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        };
        if let Some(key) = quoted("missing field `") {
            invalid(at(&key), format!("is required for {what}"))
        } else if let Some(key) = quoted("unknown field `") {
            invalid(at(&key), format!("does not apply to {what}"))
        } else {
            invalid(at(&path), message)
        }
    })
}

/// The checks of every inbox, in file order, and that no two share an id.
pub(super) fn validate_all(inboxes: &[InboxSettings]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (i, inbox) in inboxes.iter().enumerate() {
        inbox.validate(i, &mut seen)?;
    }
    Ok(())
}
