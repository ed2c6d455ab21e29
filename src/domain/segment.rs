//! Segments: named audiences of contacts, for the panel and (later) broadcasts.
//!
//! A **static** segment has members that agents add and remove; a **dynamic** one is a saved
//! [`SegmentFilter`], evaluated whenever it is read (CRM.md §5: a broadcast will snapshot it at
//! start). The filter is data, never SQL: a closed set of conditions, each optional, combined
//! with AND, checked once by [`SegmentFilter::validate`] before it is stored or run, and
//! translated to one boxed diesel query in `db::queries::segments`.
//!
//! Country and language are not conditions yet: the contact has no such columns on this
//! branch (the profile work adds them); an unknown field in a filter is refused (400), so a
//! client cannot believe it filtered on them.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    csat::CsatScore,
    text,
    types::{ChannelKind, SegmentKind},
    InboxId,
};

/// A segment's name, as stored: trimmed, 1-80 characters, something visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentName(String);

pub const MAX_NAME_CHARS: usize = 80;
/// The longest text a `…_contains` condition may hold.
pub const MAX_CONTAINS_CHARS: usize = 100;
/// The most tags, channels or inboxes one condition may list.
pub const MAX_LIST: usize = 20;
/// Times outside these years are a typo, and some would not bind on PostgreSQL.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;
/// Contact ids one bulk add or remove may carry.
pub const MAX_BULK_IDS: usize = 1_000;

impl SegmentName {
    pub fn parse(raw: &str) -> Result<SegmentName, String> {
        let trimmed = text::trim_visible(raw);
        if text::is_blank(trimmed) || trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(format!("`name` must be 1-{MAX_NAME_CHARS} characters"));
        }
        Ok(SegmentName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A dynamic segment's conditions over a contact and its conversation; every condition given
/// must hold (AND). At least one is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilter {
    /// The name contains this (case-insensitive for ASCII letters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100)]
    pub name_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100)]
    pub email_contains: Option<String>,
    /// The E.164 phone contains this (digits and `+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100)]
    pub phone_contains: Option<String>,
    /// `true`: has a phone number; `false`: has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_phone: Option<bool>,
    /// Its conversation carries every one of these tags (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    /// On an inbox of one of these channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub channels: Vec<ChannelKind>,
    /// On one of these inboxes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub inboxes: Vec<InboxId>,
    /// Last message at or after this time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::views::UtcTime>)]
    pub last_activity_after: Option<NaiveDateTime>,
    /// Last message before this time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::views::UtcTime>)]
    pub last_activity_before: Option<NaiveDateTime>,
    /// The conversation's CSAT score is at least this (1-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub csat_at_least: Option<CsatScore>,
    /// The conversation's CSAT score is at most this (1-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub csat_at_most: Option<CsatScore>,
    /// `true`: unsubscribed from broadcasts; `false`: subscribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribed: Option<bool>,
    /// `true`: blocked; `false`: not blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
}

/// Why a filter cannot be stored; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidFilter(pub String);

fn invalid(msg: impl Into<String>) -> InvalidFilter {
    InvalidFilter(msg.into())
}

impl SegmentFilter {
    /// The filter as stored and run: texts trimmed, tags deduplicated; refused when empty,
    /// contradictory (at least > at most, after ≥ before) or with a text or list too long.
    /// `known_inbox` says whether an inbox id is configured.
    pub fn validate(
        mut self,
        known_inbox: &dyn Fn(&InboxId) -> bool,
    ) -> Result<Self, InvalidFilter> {
        for (field, value) in [
            ("name_contains", &mut self.name_contains),
            ("email_contains", &mut self.email_contains),
            ("phone_contains", &mut self.phone_contains),
        ] {
            if let Some(v) = value {
                let t = text::trim_visible(v);
                if text::is_blank(t) || t.chars().count() > MAX_CONTAINS_CHARS || text::has_nul(t) {
                    return Err(invalid(format!(
                        "`filter.{field}` must be 1-{MAX_CONTAINS_CHARS} characters"
                    )));
                }
                *v = t.to_owned();
            }
        }
        if self.tags.len() > MAX_LIST
            || self.channels.len() > MAX_LIST
            || self.inboxes.len() > MAX_LIST
        {
            return Err(invalid(format!(
                "`filter.tags`, `filter.channels` and `filter.inboxes` hold at most {MAX_LIST} each"
            )));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in &self.tags {
            let t = text::trim_visible(tag);
            if text::is_blank(t) || t.chars().count() > 40 || text::has_nul(t) {
                return Err(invalid("each of `filter.tags` must be 1-40 characters"));
            }
            if !tags.iter().any(|k| k.to_lowercase() == t.to_lowercase()) {
                tags.push(t.to_owned());
            }
        }
        self.tags = tags;
        self.channels.sort_by_key(|c| c.as_str());
        self.channels.dedup();
        if let Some(unknown) = self.inboxes.iter().find(|i| !known_inbox(i)) {
            return Err(invalid(format!("`filter.inboxes`: no inbox `{unknown}`")));
        }
        if let (Some(least), Some(most)) = (self.csat_at_least, self.csat_at_most) {
            if least > most {
                return Err(invalid(
                    "`filter.csat_at_least` is above `filter.csat_at_most`",
                ));
            }
        }
        for (field, at) in [
            ("last_activity_after", self.last_activity_after),
            ("last_activity_before", self.last_activity_before),
        ] {
            if at.is_some_and(|t| !YEARS.contains(&chrono::Datelike::year(&t))) {
                return Err(invalid(format!(
                    "`filter.{field}` must be between the years {} and {}",
                    YEARS.start(),
                    YEARS.end()
                )));
            }
        }
        if let (Some(after), Some(before)) = (self.last_activity_after, self.last_activity_before) {
            if after >= before {
                return Err(invalid(
                    "`filter.last_activity_after` must be before `filter.last_activity_before`",
                ));
            }
        }
        if self == SegmentFilter::default() {
            return Err(invalid("`filter` needs at least one condition"));
        }
        Ok(self)
    }

    /// The stored JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// A stored filter; `None` when it cannot be read (it was written by this code, so only a
    /// hand-edited row gets here).
    pub fn from_json(raw: &str) -> Option<SegmentFilter> {
        serde_json::from_str(raw).ok()
    }

    /// Whether it narrows by conversation (then a contact without one never matches).
    pub fn uses_conversation(&self) -> bool {
        !self.tags.is_empty()
            || self.last_activity_after.is_some()
            || self.last_activity_before.is_some()
            || self.csat_at_least.is_some()
            || self.csat_at_most.is_some()
    }
}

/// A request's kind and filter together: a dynamic segment needs a filter, a static one takes
/// none.
pub fn check_kind_and_filter(
    kind: SegmentKind,
    filter: Option<&SegmentFilter>,
) -> Result<(), InvalidFilter> {
    match (kind, filter) {
        (SegmentKind::Dynamic, None) => Err(invalid("a dynamic segment needs a `filter`")),
        (SegmentKind::Static, Some(_)) => Err(invalid("a static segment takes no `filter`")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(i: &InboxId) -> bool {
        i.as_str() == "support"
    }

    fn parse(json: &str) -> Result<SegmentFilter, String> {
        let f: SegmentFilter = serde_json::from_str(json).map_err(|e| format!("parse: {e}"))?;
        f.validate(&known).map_err(|e| e.0)
    }

    #[test]
    fn filters_are_checked_as_a_table() {
        let cases: &[(&str, Result<(), &str>)] = &[
            (r#"{"tags": ["vip"]}"#, Ok(())),
            (
                r#"{"channels": ["api", "whatsapp"], "has_phone": true}"#,
                Ok(()),
            ),
            (r#"{"inboxes": ["support"]}"#, Ok(())),
            (r#"{"inboxes": ["nope"]}"#, Err("no inbox `nope`")),
            (r#"{"csat_at_least": 4}"#, Ok(())),
            (r#"{"csat_at_least": 0}"#, Err("parse")),
            (r#"{"csat_at_most": 6}"#, Err("parse")),
            (r#"{"csat_at_least": 4, "csat_at_most": 2}"#, Err("above")),
            (
                r#"{"last_activity_after": "2026-11-01T00:00:00", "last_activity_before": "2026-12-01T00:00:00"}"#,
                Ok(()),
            ),
            (
                r#"{"last_activity_after": "2026-12-01T00:00:00", "last_activity_before": "2026-11-01T00:00:00"}"#,
                Err("must be before"),
            ),
            (r#"{}"#, Err("at least one condition")),
            (r#"{"tags": []}"#, Err("at least one condition")),
            (r#"{"name_contains": "   "}"#, Err("1-100")),
            (r#"{"name_contains": " ann "}"#, Ok(())),
            (r#"{"country": "ES"}"#, Err("parse")),
            (r#"{"sql": "1=1"}"#, Err("parse")),
            (r#"{"tags": ["  "]}"#, Err("1-40")),
            (r#"{"unsubscribed": false, "blocked": false}"#, Ok(())),
            (
                r#"{"last_activity_after": "1900-01-01T00:00:00"}"#,
                Err("between the years"),
            ),
            (r#"{"channels": ["fax"]}"#, Err("parse")),
        ];
        for (json, want) in cases {
            let got = parse(json);
            match (want, &got) {
                (Ok(()), Ok(_)) => {}
                (Err(part), Err(msg)) => assert!(msg.contains(part), "{json}: {msg}"),
                _ => panic!("{json}: expected {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn texts_are_trimmed_and_tags_deduplicated() {
        let f = parse(r#"{"name_contains": " ann ", "tags": ["VIP", "vip", " lead "]}"#);
        let f = f.unwrap_or_default();
        assert_eq!(f.name_contains.as_deref(), Some("ann"));
        assert_eq!(f.tags, vec!["VIP".to_owned(), "lead".to_owned()]);
        assert_eq!(SegmentFilter::from_json(&f.to_json()), Some(f));
    }

    #[test]
    fn names_and_kinds() {
        assert!(SegmentName::parse("  VIPs ").is_ok_and(|n| n.as_str() == "VIPs"));
        assert!(SegmentName::parse(" ").is_err());
        assert!(SegmentName::parse(&"x".repeat(81)).is_err());
        let f = SegmentFilter {
            blocked: Some(false),
            ..SegmentFilter::default()
        };
        assert!(check_kind_and_filter(SegmentKind::Dynamic, None).is_err());
        assert!(check_kind_and_filter(SegmentKind::Static, Some(&f)).is_err());
        assert!(check_kind_and_filter(SegmentKind::Dynamic, Some(&f)).is_ok());
        assert!(check_kind_and_filter(SegmentKind::Static, None).is_ok());
    }
}
