//! A contact's profile beyond name, phone and email: country and language, each with where it
//! came from, and for widget visitors the browser, OS, device category and time zone.
//!
//! Pure: parsing and validating codes, reading a country from a valid phone number, a user
//! agent's browser/OS/device, and the one rule of detection: **a person's edit
//! ([`ProfileSource::Agent`]) is never overwritten by what the platform detects later.**

use std::sync::LazyLock;

use super::types::{text_enum, Network, UnknownName};
use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

text_enum!(
    /// Where a profile field's value came from.
    ProfileSource, "profile source" {
        /// The provider's profile data (a Twilio `FromCountry`, a Meta profile).
        Platform => "platform",
        /// The country of a phone number valid in its numbering plan.
        PhonePrefix => "phone_prefix",
        /// The widget visitor's browser (`navigator.language`).
        Browser => "browser",
        /// A person edited it: detection never overwrites it.
        Agent => "agent",
    }
);

impl ProfileSource {
    /// Whether a value detected from `new` may replace one that came from `self`: anything
    /// replaces anything but a person's edit.
    pub fn yields_to_detection(current: Option<ProfileSource>) -> bool {
        current != Some(ProfileSource::Agent)
    }
}

/// ISO 3166-1 alpha-2 codes (and `XK`, Kosovo, which phone numbering uses).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ \
GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT \
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF \
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA \
ZM ZW";

/// ISO 639-1 language codes, and the few ISO 639-3 ones that have no two-letter code but are
/// common in browsers (`fil`, `yue`, `haw`…).
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce \
ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha \
he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku \
kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv \
ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st \
su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu \
fil yue haw ast ceb ckb gsw kok mni sat";

/// A country: an ISO 3166-1 alpha-2 code, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    /// `es`, ` ES ` → `ES`; an unknown code is refused.
    pub fn parse(raw: &str) -> Result<Country, UnknownName> {
        let code = raw.trim().to_ascii_uppercase();
        match code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code) {
            true => Ok(Country(code)),
            false => Err(UnknownName {
                kind: "country (ISO 3166-1 alpha-2)",
                value: raw.to_owned(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A language: a BCP 47 tag whose primary subtag is a known language (`es`, `pt-BR`,
/// `zh-Hant-TW`), in canonical case (language lower, script title, region upper).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(String);

impl Language {
    pub fn parse(raw: &str) -> Result<Language, UnknownName> {
        let unknown = || UnknownName {
            kind: "language (BCP 47)",
            value: raw.to_owned(),
        };
        let trimmed = raw.trim().replace('_', "-");
        let mut parts = trimmed.split('-');
        let primary = parts.next().unwrap_or_default().to_ascii_lowercase();
        if !LANGUAGES.split(' ').any(|l| l == primary) {
            return Err(unknown());
        }
        let mut tag = primary;
        for sub in parts {
            if sub.is_empty() || sub.len() > 8 || !sub.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(unknown());
            }
            tag.push('-');
            match sub.len() {
                2 if sub.chars().all(|c| c.is_ascii_alphabetic()) => {
                    // A region must be a country.
                    let region = Country::parse(sub).map_err(|_| unknown())?;
                    tag.push_str(region.as_str());
                }
                4 if sub.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let mut chars = sub.chars();
                    if let Some(first) = chars.next() {
                        tag.push(first.to_ascii_uppercase());
                    }
                    tag.push_str(&chars.as_str().to_ascii_lowercase());
                }
                _ => tag.push_str(&sub.to_ascii_lowercase()),
            }
        }
        Ok(Language(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The country of an E.164 number, only when the number is valid in its country's numbering
/// plan: shared calling codes (+1, +44, +7) resolve by range, and an invalid number says
/// nothing (`+1 242 555 1234` looks like the Bahamas but is not a valid number there).
pub fn country_from_phone(e164: &str) -> Option<Country> {
    let number = phonenumber::parse(None, e164).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    let id = number.country().id()?;
    Country::parse(id.as_ref()).ok()
}

/// Loads the numbering-plan metadata and the user-agent parser (both decoded on first use),
/// so the first contact does not pay for it inside a write.
pub fn warm_up() {
    let _ = country_from_phone("+34612345678");
    let _ = parse_user_agent("Mozilla/5.0");
}

/// Whether an E.164 number is a valid number in its numbering plan.
pub fn phone_is_valid(e164: &str) -> bool {
    phonenumber::parse(None, e164).is_ok_and(|n| phonenumber::is_valid(&n))
}

/// What a user agent says about the visitor's browser, OS and device category.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgent {
    /// `Chrome 120`, `Safari 17.4`.
    pub browser: Option<String>,
    /// `Android 14`, `iPhone 17.4`, `Windows 10`, `Mac OSX 10.15.7`.
    pub os: Option<String>,
    /// `desktop`, `mobile`, `tablet` or `other`.
    pub device: Option<String>,
}

static UA_PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// Longest user agent read (browsers send a few hundred bytes).
const MAX_USER_AGENT: usize = 1024;

/// Parses a user agent (woothee: no data file, microseconds a parse). Unknown parts are
/// `None`, never the parser's `UNKNOWN`.
pub fn parse_user_agent(raw: &str) -> UserAgent {
    let raw = match raw.char_indices().nth(MAX_USER_AGENT) {
        Some((i, _)) => &raw[..i],
        None => raw,
    };
    let Some(r) = UA_PARSER.parse(raw) else {
        return UserAgent::default();
    };
    let known = |s: &str| (!s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN).then_some(());
    let with_version = |name: &str, version: &str| {
        known(name)?;
        Some(match known(version) {
            Some(()) => format!("{name} {version}"),
            None => name.to_owned(),
        })
    };
    let device = match (r.category, r.os) {
        (_, "iPad") => Some("tablet"),
        ("pc", _) => Some("desktop"),
        ("smartphone" | "mobilephone", _) => Some("mobile"),
        ("appliance" | "misc" | "crawler", _) => Some("other"),
        _ => None,
    };
    UserAgent {
        browser: with_version(r.name, r.version),
        os: with_version(r.os, &r.os_version),
        device: device.map(str::to_owned),
    }
}

/// The direct link to the person on their channel: `https://wa.me/<digits>` on WhatsApp,
/// `sms:+…` on SMS, `tel:+…` for any other contact with a phone; none otherwise (Messenger
/// and Instagram webhooks give no profile URL).
pub fn direct_link(network: Option<Network>, phone: Option<&str>) -> Option<String> {
    let phone = phone?;
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    match network {
        Some(Network::Whatsapp) => Some(format!("https://wa.me/{digits}")),
        Some(Network::Sms) => Some(format!("sms:+{digits}")),
        Some(Network::Messenger | Network::Instagram) => None,
        None => Some(format!("tel:+{digits}")),
    }
}

/// What the widget tells about a visitor when a session starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebProfile {
    pub language: Option<Language>,
    pub time_zone: Option<String>,
    pub user_agent: UserAgent,
}

impl WebProfile {
    /// From what the browser sent: an unknown language or a malformed time zone is dropped,
    /// never an error (a page must open whatever the browser says).
    pub fn from_browser(
        language: Option<&str>,
        time_zone: Option<&str>,
        user_agent: Option<&str>,
    ) -> WebProfile {
        WebProfile {
            language: language.and_then(|l| Language::parse(l).ok()),
            time_zone: time_zone.and_then(valid_time_zone),
            user_agent: user_agent.map(parse_user_agent).unwrap_or_default(),
        }
    }
}

/// An IANA time zone name (`Europe/Madrid`, `UTC`), checked against the tz database.
pub fn valid_time_zone(raw: &str) -> Option<String> {
    let tz: chrono_tz::Tz = raw.trim().parse().ok()?;
    Some(tz.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_parse_in_upper_case_and_unknown_ones_are_refused() {
        let table = [
            ("es", Some("ES")),
            (" GB ", Some("GB")),
            ("XK", Some("XK")),
            ("UK", None),
            ("ESP", None),
            ("", None),
            ("zz", None),
        ];
        for (raw, want) in table {
            assert_eq!(
                Country::parse(raw).ok().map(|c| c.0),
                want.map(str::to_owned),
                "{raw}"
            );
        }
    }

    #[test]
    fn languages_are_bcp47_with_a_known_primary_tag() {
        let table = [
            ("es", Some("es")),
            ("pt-br", Some("pt-BR")),
            ("en_US", Some("en-US")),
            ("zh-hant-tw", Some("zh-Hant-TW")),
            ("es-419", Some("es-419")),
            ("fil", Some("fil")),
            ("xx", None),
            ("en-ZZ", None),
            ("en--US", None),
            ("", None),
            ("english", None),
        ];
        for (raw, want) in table {
            assert_eq!(
                Language::parse(raw).ok().map(|l| l.0),
                want.map(str::to_owned),
                "{raw}"
            );
        }
    }

    #[test]
    fn country_comes_only_from_a_valid_number() {
        let table = [
            ("+919876543210", Some("IN")),
            ("+5511987654321", Some("BR")),
            ("+14155552671", Some("US")),
            ("+34612345678", Some("ES")),
            // Guernsey's range inside +44.
            ("+447911123456", Some("GG")),
            // Looks like the Bahamas, but is not a valid number there.
            ("+12425551234", None),
            ("+999123456789", None),
            ("not a number", None),
        ];
        for (phone, want) in table {
            assert_eq!(
                country_from_phone(phone).map(|c| c.0),
                want.map(str::to_owned),
                "{phone}"
            );
        }
    }

    #[test]
    fn user_agents_give_browser_os_and_device() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 \
            (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like \
            Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
        let windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
            Gecko) Chrome/120.0.0.0 Safari/537.36";
        let ipad = "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, \
            like Gecko) Version/16.0 Mobile/15E148 Safari/604.1";
        let table = [
            (iphone, Some("Safari"), Some("iPhone"), Some("mobile")),
            (android, Some("Chrome"), Some("Android"), Some("mobile")),
            (windows, Some("Chrome"), Some("Windows"), Some("desktop")),
            (ipad, Some("Safari"), Some("iPad"), Some("tablet")),
            ("", None, None, None),
            // woothee files tools under its crawler category.
            ("curl/8.0", Some("HTTP Library curl"), None, Some("other")),
            ("something else", None, None, None),
        ];
        for (ua, browser, os, device) in table {
            let got = parse_user_agent(ua);
            let starts = |v: &Option<String>, w: Option<&str>| match (v, w) {
                (Some(v), Some(w)) => v.starts_with(w),
                (None, None) => true,
                _ => false,
            };
            assert!(starts(&got.browser, browser), "{ua}: {got:?}");
            assert!(starts(&got.os, os), "{ua}: {got:?}");
            assert_eq!(got.device.as_deref(), device, "{ua}: {got:?}");
        }
    }

    #[test]
    fn links_follow_the_network() {
        let table = [
            (
                Some(Network::Whatsapp),
                Some("+34612345678"),
                Some("https://wa.me/34612345678"),
            ),
            (
                Some(Network::Sms),
                Some("+34612345678"),
                Some("sms:+34612345678"),
            ),
            (None, Some("+34612345678"), Some("tel:+34612345678")),
            (Some(Network::Messenger), Some("+34612345678"), None),
            (Some(Network::Whatsapp), None, None),
        ];
        for (network, phone, want) in table {
            assert_eq!(direct_link(network, phone).as_deref(), want, "{network:?}");
        }
    }

    #[test]
    fn a_persons_edit_is_never_overwritten_by_detection() {
        let table = [
            (None, true),
            (Some(ProfileSource::PhonePrefix), true),
            (Some(ProfileSource::Browser), true),
            (Some(ProfileSource::Platform), true),
            (Some(ProfileSource::Agent), false),
        ];
        for (current, yields) in table {
            assert_eq!(
                ProfileSource::yields_to_detection(current),
                yields,
                "{current:?}"
            );
        }
    }

    #[test]
    fn web_profiles_drop_what_is_not_understood() {
        let p = WebProfile::from_browser(Some("es-ES"), Some("Europe/Madrid"), None);
        assert_eq!(p.language.map(|l| l.0).as_deref(), Some("es-ES"));
        assert_eq!(p.time_zone.as_deref(), Some("Europe/Madrid"));
        let p = WebProfile::from_browser(Some("klingon"), Some("Mars/Olympus"), Some(""));
        assert_eq!(p, WebProfile::default());
    }
}
