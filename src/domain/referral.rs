//! Referral attribution: where a person came from when they started (or resumed) a
//! conversation — a Click-to-WhatsApp ad or post, a Messenger / Instagram ad, an m.me or
//! ig.me link, a catalog product's "Message business" button, or a website visit with UTM
//! parameters (CRM.md §4, §3).
//!
//! Pure: the provider modules turn their payloads into a [`Referral`], the widget's report
//! becomes one through [`WidgetAttribution::referral`], and everything is bounded here
//! ([`Referral::bounded`]) before it is stored, because every field comes from outside
//! (an ad's text is the advertiser's, a URL is whatever a page or a browser said).
//!
//! `ctwa_clid` is Meta's click id for the Conversions API. It is kept only as given: a
//! missing click id stays missing and is **never** replaced by the ad's `source_id` (a CRM
//! that did so reported ad ids as clicks).

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::types::{text_enum, Network, UnknownName};

text_enum!(
    /// What brought the person: decides how the panel labels a referral.
    ReferralKind, "referral kind" {
        /// A Click-to-WhatsApp ad (`referral.source_type` `ad`).
        CtwaAd => "ctwa_ad",
        /// A Facebook or Instagram post that links to WhatsApp (`source_type` `post`).
        CtwaPost => "ctwa_post",
        /// A Click-to-Messenger or Click-to-Instagram-Direct ad (an `ad_id`, or source `ADS`).
        MessengerAd => "messenger_ad",
        /// An m.me link (or another Messenger entry point: the chat plugin, a QR code).
        MMe => "m_me",
        /// An ig.me link (`?ref=` on an Instagram account).
        IgMe => "ig_me",
        /// "Message business" on a catalog product (`context.referred_product`).
        Product => "product",
        /// A website visit with UTM parameters, a click id or an external referrer.
        WidgetUtm => "widget_utm",
    }
);

impl ReferralKind {
    /// A WhatsApp (Cloud API or Twilio) referral by its `source_type`: `post` is a post,
    /// anything else (`ad`, or a type Meta adds later) is counted as an ad.
    pub fn of_whatsapp(source_type: Option<&str>) -> ReferralKind {
        match source_type.map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("post") => ReferralKind::CtwaPost,
            _ => ReferralKind::CtwaAd,
        }
    }

    /// A Messenger or Instagram referral: an ad when it names an ad (or says `ADS`),
    /// otherwise the network's short link.
    pub fn of_meta(network: Network, source: Option<&str>, has_ad_id: bool) -> ReferralKind {
        let ad = has_ad_id || source.is_some_and(|s| s.trim().eq_ignore_ascii_case("ADS"));
        match (ad, network) {
            (true, _) => ReferralKind::MessengerAd,
            (false, Network::Instagram) => ReferralKind::IgMe,
            (false, _) => ReferralKind::MMe,
        }
    }
}

/// Longest URL kept (longer ones are dropped, not cut: a cut URL is a wrong URL).
pub const MAX_URL: usize = 2048;
/// Longest headline or body kept, in characters (longer ones are cut).
pub const MAX_TEXT: usize = 1024;
/// Longest id, ref, click id or UTM value kept, in characters (longer ones are dropped).
pub const MAX_ID: usize = 256;
/// Most query-style keys a widget may report; more and its parameters are refused.
pub const MAX_PARAMS: usize = 16;
/// Largest `raw` JSON kept, in bytes; bigger and only the fields above are kept.
pub const MAX_RAW: usize = 8 * 1024;

/// The five UTM parameters (Google Analytics' names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

impl Utm {
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.medium.is_none()
            && self.campaign.is_none()
            && self.term.is_none()
            && self.content.is_none()
    }
}

/// One referral as the providers (or the widget) report it, normalised: the same fields
/// whatever the channel, each absent when the source did not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub kind: ReferralKind,
    /// The ad or post id (WhatsApp `source_id`, Messenger `ad_id`).
    pub source_id: Option<String>,
    /// The provider's own word for the source (`ad`, `post`, `SHORTLINK`, `ADS`…).
    pub source_type: Option<String>,
    /// The ad's or post's URL.
    pub source_url: Option<String>,
    pub headline: Option<String>,
    pub body: Option<String>,
    /// `image` or `video`.
    pub media_type: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    /// Meta's click id (CTWA): only as given, never derived.
    pub ctwa_clid: Option<String>,
    /// The `ref` parameter of an m.me / ig.me link or a Messenger ad.
    pub ref_param: Option<String>,
    pub catalog_id: Option<String>,
    pub product_retailer_id: Option<String>,
    pub utm: Utm,
    /// The first page of the visit (first touch), with its query.
    pub landing_url: Option<String>,
    /// The page the chat started on (last touch).
    pub page_url: Option<String>,
    /// `document.referrer` of the first page.
    pub referrer: Option<String>,
    /// What else the source said (Messenger `ads_context_data`, the CTWA welcome message,
    /// click ids `gclid` / `fbclid`, `utm_id`…), kept as given.
    pub extra: Map<String, Value>,
}

impl Referral {
    /// An empty referral of a kind, to fill in.
    pub fn new(kind: ReferralKind) -> Referral {
        Referral {
            kind,
            source_id: None,
            source_type: None,
            source_url: None,
            headline: None,
            body: None,
            media_type: None,
            image_url: None,
            video_url: None,
            thumbnail_url: None,
            ctwa_clid: None,
            ref_param: None,
            catalog_id: None,
            product_retailer_id: None,
            utm: Utm::default(),
            landing_url: None,
            page_url: None,
            referrer: None,
            extra: Map::new(),
        }
    }

    /// The referral with every field within its bounds: URLs that are not `http(s)` or are
    /// over [`MAX_URL`] are dropped, text is cut to [`MAX_TEXT`] characters, ids over
    /// [`MAX_ID`] are dropped, control characters go, blanks become absent, and an `extra`
    /// over [`MAX_RAW`] bytes is left out. Never fails: attribution is a nice-to-have, a bad
    /// field must not cost the message that carried it.
    pub fn bounded(self) -> Referral {
        let id = |v: Option<String>| v.and_then(|s| bounded_id(&s));
        let text = |v: Option<String>| v.and_then(|s| bounded_text(&s, MAX_TEXT));
        let url = |v: Option<String>| v.and_then(|s| bounded_url(&s));
        let extra_len = serde_json::to_string(&self.extra).map_or(usize::MAX, |s| s.len());
        Referral {
            kind: self.kind,
            source_id: id(self.source_id),
            source_type: id(self.source_type),
            source_url: url(self.source_url),
            headline: text(self.headline),
            body: text(self.body),
            media_type: id(self.media_type),
            image_url: url(self.image_url),
            video_url: url(self.video_url),
            thumbnail_url: url(self.thumbnail_url),
            ctwa_clid: id(self.ctwa_clid),
            ref_param: id(self.ref_param),
            catalog_id: id(self.catalog_id),
            product_retailer_id: id(self.product_retailer_id),
            utm: Utm {
                source: id(self.utm.source),
                medium: id(self.utm.medium),
                campaign: id(self.utm.campaign),
                term: id(self.utm.term),
                content: id(self.utm.content),
            },
            landing_url: url(self.landing_url),
            page_url: url(self.page_url),
            referrer: url(self.referrer),
            extra: match extra_len <= MAX_RAW {
                true => self.extra,
                false => Map::new(),
            },
        }
    }
}

/// Text without control characters (newlines and tabs become spaces), trimmed, cut to
/// `max` characters; `None` when nothing is left.
fn bounded_text(raw: &str, max: usize) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .take(max)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// An id-like value: trimmed, without control characters, at most [`MAX_ID`] characters
/// (a longer one is not an id: dropped).
fn bounded_id(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_ID {
        return None;
    }
    if trimmed.chars().any(char::is_control) {
        return None;
    }
    Some(trimmed.to_owned())
}

/// An absolute `http(s)` URL of at most [`MAX_URL`] bytes, with a host and no whitespace
/// or control characters; anything else is dropped (the panel links only these).
pub fn bounded_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    host_of(url)?;
    Some(url.to_owned())
}

/// The lower-cased host of an `http(s)` URL (no user info, no port), `None` for anything
/// else. Small on purpose: only comparing a referrer with the page needs it.
pub fn host_of(url: &str) -> Option<String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        url.get(8..)?
    } else if lower.starts_with("http://") {
        url.get(7..)?
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8080`.
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// What the widget reports about how the visitor arrived, captured on the first page view
/// of the browser session (first touch) and the page where the chat starts.
///
/// Sent with the visitor's first message; every field is optional, and what is malformed is
/// dropped (see [`WidgetAttribution::referral`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetAttribution {
    /// The first page of the visit (`location.href` on the first page view).
    pub landing_url: Option<String>,
    /// The page where the chat started.
    pub page_url: Option<String>,
    /// `document.referrer` on the first page view.
    pub referrer: Option<String>,
    /// `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`, `utm_id`,
    /// `gclid`, `fbclid` from the first page's query (other keys are ignored; more than 16
    /// keys and all are).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Click ids and the campaign id, kept raw in `extra`.
const RAW_PARAMS: &[&str] = &["utm_id", "gclid", "fbclid"];

impl WidgetAttribution {
    /// A `widget_utm` referral when the visit says something about where it came from: a
    /// UTM parameter, a click id (`gclid`, `fbclid`) or a referrer on another site than the
    /// pages. `None` for a direct visit or an internal referrer, so an ordinary visitor
    /// stores nothing.
    pub fn referral(&self) -> Option<Referral> {
        let mut r = Referral::new(ReferralKind::WidgetUtm);
        r.landing_url = self.landing_url.as_deref().and_then(bounded_url);
        r.page_url = self.page_url.as_deref().and_then(bounded_url);
        r.referrer = self.referrer.as_deref().and_then(bounded_url);
        if self.params.len() <= MAX_PARAMS {
            for (key, value) in &self.params {
                let Some(value) = bounded_id(value) else {
                    continue;
                };
                let slot = match key.as_str() {
                    "utm_source" => &mut r.utm.source,
                    "utm_medium" => &mut r.utm.medium,
                    "utm_campaign" => &mut r.utm.campaign,
                    "utm_term" => &mut r.utm.term,
                    "utm_content" => &mut r.utm.content,
                    k if RAW_PARAMS.contains(&k) => {
                        r.extra.insert(k.to_owned(), Value::String(value));
                        continue;
                    }
                    _ => continue,
                };
                *slot = Some(value);
            }
        }
        if let (Some(page), None) = (&r.page_url, &r.landing_url) {
            r.landing_url = Some(page.clone());
        }
        let own_hosts: Vec<String> = [&r.landing_url, &r.page_url]
            .into_iter()
            .flatten()
            .filter_map(|u| host_of(u))
            .collect();
        let external_referrer = r
            .referrer
            .as_deref()
            .and_then(host_of)
            .is_some_and(|h| !own_hosts.contains(&h));
        let campaign = !r.utm.is_empty() || !r.extra.is_empty();
        (campaign || external_referrer).then_some(r)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attribution(landing: &str, referrer: &str, params: &[(&str, &str)]) -> WidgetAttribution {
        WidgetAttribution {
            landing_url: Some(landing.to_owned()),
            page_url: Some("https://shop.example/contact".to_owned()),
            referrer: Some(referrer.to_owned()).filter(|r| !r.is_empty()),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn kinds_round_trip_and_classify() {
        for k in ReferralKind::ALL {
            assert_eq!(k.as_str().parse::<ReferralKind>().ok(), Some(*k));
        }
        assert_eq!(ReferralKind::of_whatsapp(Some("ad")), ReferralKind::CtwaAd);
        assert_eq!(
            ReferralKind::of_whatsapp(Some("post")),
            ReferralKind::CtwaPost
        );
        assert_eq!(ReferralKind::of_whatsapp(None), ReferralKind::CtwaAd);
        use Network::*;
        assert_eq!(
            ReferralKind::of_meta(Messenger, Some("SHORTLINK"), false),
            ReferralKind::MMe
        );
        assert_eq!(
            ReferralKind::of_meta(Instagram, Some("IGME-SOURCE-LINK"), false),
            ReferralKind::IgMe
        );
        assert_eq!(
            ReferralKind::of_meta(Messenger, Some("ADS"), false),
            ReferralKind::MessengerAd
        );
        assert_eq!(
            ReferralKind::of_meta(Instagram, None, true),
            ReferralKind::MessengerAd
        );
    }

    #[test]
    fn hosts_of_urls() {
        let table = [
            ("https://Shop.Example/a?b", Some("shop.example")),
            ("http://user:pw@shop.example:8080/", Some("shop.example")),
            ("HTTPS://www.google.com", Some("www.google.com")),
            ("https://[::1]:8080/x", Some("::1")),
            ("javascript:alert(1)", None),
            ("ftp://x.example", None),
            ("https://", None),
            ("https:/", None),
            ("", None),
            ("é", None),
        ];
        for (url, want) in table {
            assert_eq!(host_of(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn bounds_drop_or_cut_what_is_too_much() {
        let mut r = Referral::new(ReferralKind::CtwaAd);
        r.source_url = Some("javascript:alert(1)".into());
        r.image_url = Some(format!("https://x.example/{}", "a".repeat(MAX_URL)));
        r.video_url = Some("https://cdn.example/v.mp4".into());
        r.headline = Some(format!(" Big\nsale\u{0}{} ", "!".repeat(2000)));
        r.body = Some("   ".into());
        r.ctwa_clid = Some("c".repeat(MAX_ID + 1));
        r.source_id = Some(" 120208 ".into());
        r.extra
            .insert("big".into(), Value::String("x".repeat(MAX_RAW)));
        let b = r.bounded();
        assert_eq!(b.source_url, None);
        assert_eq!(b.image_url, None);
        assert_eq!(b.video_url.as_deref(), Some("https://cdn.example/v.mp4"));
        let headline = b.headline.unwrap();
        assert!(headline.starts_with("Big sale!"), "{headline}");
        assert_eq!(headline.chars().count(), MAX_TEXT - 1);
        assert_eq!(b.body, None);
        assert_eq!(b.ctwa_clid, None, "a too long click id is dropped, not cut");
        assert_eq!(b.source_id.as_deref(), Some("120208"));
        assert!(b.extra.is_empty());
    }

    #[test]
    fn a_campaign_visit_is_a_widget_referral() {
        let a = attribution(
            "https://shop.example/?utm_source=google&utm_medium=cpc",
            "https://www.google.com/",
            &[
                ("utm_source", "google"),
                ("utm_medium", "cpc"),
                ("utm_campaign", "black-friday"),
                ("gclid", "EAIaIQobChMI"),
                ("color", "red"),
            ],
        );
        let r = a.referral().unwrap();
        assert_eq!(r.kind, ReferralKind::WidgetUtm);
        assert_eq!(r.utm.source.as_deref(), Some("google"));
        assert_eq!(r.utm.campaign.as_deref(), Some("black-friday"));
        assert_eq!(r.extra["gclid"], "EAIaIQobChMI");
        assert!(!r.extra.contains_key("color"));
        assert_eq!(r.referrer.as_deref(), Some("https://www.google.com/"));
        assert_eq!(r.page_url.as_deref(), Some("https://shop.example/contact"));
    }

    #[test]
    fn an_external_referrer_alone_counts_and_an_internal_one_does_not() {
        let external = attribution("https://shop.example/", "https://news.example/post", &[]);
        assert!(external.referral().is_some());
        let internal = attribution("https://shop.example/", "https://shop.example/cart", &[]);
        assert_eq!(internal.referral(), None);
        let direct = attribution("https://shop.example/", "", &[]);
        assert_eq!(direct.referral(), None);
        assert_eq!(WidgetAttribution::default().referral(), None);
    }

    #[test]
    fn bad_widget_input_is_dropped() {
        // Too many keys: all parameters are ignored (and the visit says nothing else).
        let many: Vec<(String, String)> = (0..=MAX_PARAMS)
            .map(|i| (format!("utm_{i}"), "x".to_owned()))
            .chain([("utm_source".to_owned(), "google".to_owned())])
            .collect();
        let a = WidgetAttribution {
            params: many.into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(a.referral(), None);
        // A bad URL or value is dropped, the rest kept.
        let a = WidgetAttribution {
            landing_url: Some("javascript:alert(1)".into()),
            page_url: Some(format!("https://shop.example/{}", "a".repeat(MAX_URL))),
            referrer: Some("not a url".into()),
            params: [
                ("utm_source".to_owned(), "x".repeat(MAX_ID + 1)),
                ("utm_campaign".to_owned(), "spring".to_owned()),
            ]
            .into_iter()
            .collect(),
        };
        let r = a.referral().unwrap();
        assert_eq!((r.landing_url, r.page_url, r.referrer), (None, None, None));
        assert_eq!(r.utm.source, None);
        assert_eq!(r.utm.campaign.as_deref(), Some("spring"));
    }

    #[test]
    fn attribution_refuses_unknown_fields() {
        let bad = serde_json::from_str::<WidgetAttribution>(r#"{"landing":"x"}"#);
        assert!(bad.is_err());
        let ok: WidgetAttribution = serde_json::from_str(
            r#"{"page_url":"https://a.example/","params":{"utm_source":"x"}}"#,
        )
        .unwrap();
        assert_eq!(ok.params.len(), 1);
    }
}
