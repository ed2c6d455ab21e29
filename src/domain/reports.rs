//! The summary report (`GET /api/reports/summary`): what happened to conversations in a
//! period, computed from what the database records, with no clock and no I/O.
//!
//! # What is counted (the definitions the README repeats)
//!
//! A conversation is one per contact and inbox: a customer who writes again after a
//! resolution reopens the same conversation. The report reads three things the server
//! records: a conversation's `created_at`, its `assignee_id` and `inbox_id` (as they are now),
//! and its thread's system notes (`author = 'system'`, the payload's `event`) and agents'
//! messages (`author = 'agent'`, private notes excluded), up to the end of the period.
//!
//! - **Opened**: conversations created in the period (`created_at`), on the UTC day of their
//!   creation. A reopening is not a new conversation and is not counted as opened.
//! - **Resolved**: resolutions in the period: `closed` notes (an agent, or the system, set
//!   the status to closed), on the UTC day of the note. A conversation resolved, reopened and
//!   resolved again in the period counts twice.
//! - **Resolution time** (of each resolution): from the start of the stretch it closes (the
//!   conversation's creation, or the first `reopened`, `took_over`, `handed_back` or
//!   `reply_took_over` note after its previous resolution) to the `closed` note.
//! - **Handoff**: a `handed_off` note: the assistant or the handoff rules (the customer asked
//!   for a person, a complaint, the assistant missed too often, could not answer, or decided
//!   so) gave the conversation to a person. An agent who takes over on their own is not a
//!   handoff.
//! - **First response time**: for conversations opened in the period that were handed off
//!   by its end, from the first `handed_off` note to the first agent's message (not a
//!   private note) at or after it, when there is one by the end of the period (the others
//!   are not in the figures: `count` says how many are).
//! - **Handoff rate**: conversations opened in the period that were handed off by its end,
//!   over conversations opened in the period.
//! - **Assistant resolution rate**: resolutions whose stretch had no handoff, no agent
//!   message and no takeover by an agent (`took_over`, `reply_took_over`, or a stretch begun
//!   by one), over all resolutions in the period.
//! - **Per agent**: by the conversation's current assignee (unassigned conversations are in
//!   the totals and in no agent's row): an agent's row is the totals of the report filtered
//!   to that agent. **Per inbox** likewise.
//!
//! Medians and 90th percentiles are nearest-rank over whole seconds: the value at rank
//! `ceil(p/100 × n)` of the `n` durations sorted ascending (so the median of an even count is
//! the lower middle). Durations are truncated to whole seconds; a negative one (clocks) is 0.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AgentId, ConversationId, InboxId};

/// The events of a thread the report reads, from the system notes' `event` and the author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `handed_off`: given to a person by the assistant or the rules.
    HandedOff,
    /// `closed`: resolved.
    Closed,
    /// `reopened` (the customer wrote) or `handed_back` (back to the assistant): after a
    /// resolution, a new stretch without a person so far.
    Reopened,
    /// `took_over` or `reply_took_over`: an agent took the conversation.
    TookOver,
    /// An agent's message to the customer.
    AgentReply,
}

impl Step {
    /// The step a system note's `event` stands for; `None` for the events the report ignores.
    pub fn from_event(event: &str) -> Option<Step> {
        match event {
            "handed_off" => Some(Step::HandedOff),
            "closed" => Some(Step::Closed),
            "reopened" | "handed_back" => Some(Step::Reopened),
            "took_over" | "reply_took_over" => Some(Step::TookOver),
            _ => None,
        }
    }

    /// The note events the report reads (for the query's filter).
    pub const EVENTS: &'static [&'static str] = &[
        "handed_off",
        "closed",
        "reopened",
        "handed_back",
        "took_over",
        "reply_took_over",
    ];
}

/// A conversation the report looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConversation {
    pub id: ConversationId,
    pub inbox: InboxId,
    pub assignee: Option<AgentId>,
    pub created_at: NaiveDateTime,
}

/// The period, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

impl Period {
    pub fn contains(&self, t: NaiveDateTime) -> bool {
        self.from <= t && t <= self.to
    }

    /// Every UTC day the period touches, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.from
            .date()
            .iter_days()
            .take_while(|d| *d <= self.to.date())
            .collect()
    }
}

/// What one conversation contributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contribution {
    pub opened: bool,
    pub handed_off: bool,
    /// Seconds from the first handoff to the first agent message after it.
    pub first_response: Option<i64>,
    /// Each resolution in the period: when, how long (seconds), whether by the assistant alone.
    pub resolutions: Vec<Resolution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    pub at: NaiveDateTime,
    pub seconds: i64,
    pub assistant_only: bool,
}

fn seconds(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_seconds().max(0)
}

/// Walks one conversation's steps (in time order, up to the end of the period) as the module
/// doc defines.
pub fn contribution(
    c: &ReportConversation,
    steps: &[(Step, NaiveDateTime)],
    period: &Period,
) -> Contribution {
    let opened = period.contains(c.created_at);
    let mut out = Contribution {
        opened,
        ..Contribution::default()
    };
    let mut stretch_start = c.created_at;
    let mut person = false;
    let mut closed = false;
    let mut handoff: Option<NaiveDateTime> = None;
    for &(step, at) in steps {
        if at > period.to {
            break;
        }
        if closed && step != Step::Closed {
            // The first event after a resolution begins the next stretch.
            closed = false;
            stretch_start = at;
            person = false;
        }
        match step {
            Step::Closed => {
                if !closed && period.contains(at) {
                    out.resolutions.push(Resolution {
                        at,
                        seconds: seconds(stretch_start, at),
                        assistant_only: !person,
                    });
                }
                closed = true;
            }
            Step::Reopened => {}
            Step::TookOver => person = true,
            Step::HandedOff => {
                person = true;
                handoff.get_or_insert(at);
            }
            Step::AgentReply => {
                person = true;
                if let (Some(h), None) = (handoff, out.first_response) {
                    if at >= h {
                        out.first_response = Some(seconds(h, at));
                    }
                }
            }
        }
    }
    if opened {
        out.handed_off = handoff.is_some();
    } else {
        out.first_response = None;
    }
    out
}

/// Nearest-rank percentile `p` (1–100) of ascending `sorted` values; `None` when empty.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (n * p as usize).div_ceil(100).clamp(1, n);
    sorted.get(rank - 1).copied()
}

/// Median and 90th percentile of some durations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Durations {
    /// Nearest-rank median in seconds; `null` when `count` is 0.
    pub median_seconds: Option<i64>,
    /// Nearest-rank 90th percentile in seconds; `null` when `count` is 0.
    pub p90_seconds: Option<i64>,
    /// How many durations the figures are over.
    pub count: u64,
}

impl Durations {
    pub fn of(mut values: Vec<i64>) -> Durations {
        values.sort_unstable();
        Durations {
            median_seconds: nearest_rank(&values, 50),
            p90_seconds: nearest_rank(&values, 90),
            count: values.len() as u64,
        }
    }
}

/// A share: `numerator` of `denominator` ("12 of 40"), and their quotient.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rate {
    /// `numerator / denominator` in 0..1; `null` when the denominator is 0.
    pub rate: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
}

impl Rate {
    pub fn of(numerator: u64, denominator: u64) -> Rate {
        Rate {
            rate: (denominator > 0).then(|| numerator as f64 / denominator as f64),
            numerator,
            denominator,
        }
    }
}

/// The report's figures over the whole filtered set.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Totals {
    /// Conversations created in the period.
    pub opened: u64,
    /// Resolutions (`closed` notes) in the period.
    pub resolved: u64,
    /// From the first handoff to the first agent message, for conversations opened in the
    /// period.
    pub first_response: Durations,
    /// From the start of each resolved stretch to its resolution.
    pub resolution: Durations,
    /// Opened conversations handed off by the end of the period, of the opened ones.
    pub handoff_rate: Rate,
    /// Resolutions no person took part in, of all resolutions.
    pub assistant_resolution_rate: Rate,
}

/// One UTC day of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Day {
    /// YYYY-MM-DD (UTC).
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub opened: u64,
    pub resolved: u64,
}

/// One agent's figures: the totals over the conversations assigned to them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentFigures {
    #[schema(value_type = String, format = Uuid)]
    pub id: AgentId,
    pub name: String,
    /// Conversations created in the period and assigned to them.
    pub conversations: u64,
    /// Resolutions in the period of conversations assigned to them.
    pub resolved: u64,
    pub first_response: Durations,
}

/// One inbox's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InboxFigures {
    #[schema(value_type = String)]
    pub id: InboxId,
    pub name: String,
    pub opened: u64,
    pub resolved: u64,
    pub handoff_rate: Rate,
}

/// `GET /api/reports/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SummaryReport {
    /// Start of the period (RFC 3339, UTC), included.
    pub from: String,
    /// End of the period (RFC 3339, UTC), included.
    pub to: String,
    pub totals: Totals,
    /// Every UTC day the period touches, zeros included, in order.
    pub days: Vec<Day>,
    /// Agents with conversations opened or resolved in the period (or the filtered agent),
    /// by name.
    pub agents: Vec<AgentFigures>,
    /// Every configured inbox (or the filtered one), in configuration order.
    pub inboxes: Vec<InboxFigures>,
}

/// Sums of one group (all, an agent, an inbox).
#[derive(Default)]
struct Acc {
    opened: u64,
    handed_off: u64,
    first_responses: Vec<i64>,
    resolutions: Vec<i64>,
    assistant_only: u64,
}

impl Acc {
    fn add(&mut self, c: &Contribution) {
        self.opened += u64::from(c.opened);
        self.handed_off += u64::from(c.handed_off);
        self.first_responses.extend(c.first_response);
        self.resolutions
            .extend(c.resolutions.iter().map(|r| r.seconds));
        self.assistant_only += c.resolutions.iter().filter(|r| r.assistant_only).count() as u64;
    }

    fn resolved(&self) -> u64 {
        self.resolutions.len() as u64
    }
}

/// Puts the report together. `agents` are the agents to list beside their names (the
/// filtered one, or every agent: only those with figures are listed then); `inboxes` the
/// inboxes to list, with names.
pub fn summarize(
    period: &Period,
    contributions: &[(ReportConversation, Contribution)],
    agents: &[(AgentId, String)],
    list_idle_agents: bool,
    inboxes: &[(InboxId, String)],
) -> SummaryReport {
    let mut all = Acc::default();
    let mut per_agent: HashMap<AgentId, Acc> = HashMap::new();
    let mut per_inbox: HashMap<InboxId, Acc> = HashMap::new();
    let mut days: BTreeMap<NaiveDate, (u64, u64)> =
        period.days().into_iter().map(|d| (d, (0, 0))).collect();
    for (c, contribution) in contributions {
        all.add(contribution);
        if let Some(a) = c.assignee {
            per_agent.entry(a).or_default().add(contribution);
        }
        per_inbox
            .entry(c.inbox.clone())
            .or_default()
            .add(contribution);
        if contribution.opened {
            if let Some(d) = days.get_mut(&c.created_at.date()) {
                d.0 += 1;
            }
        }
        for r in &contribution.resolutions {
            if let Some(d) = days.get_mut(&r.at.date()) {
                d.1 += 1;
            }
        }
    }
    let totals = Totals {
        opened: all.opened,
        resolved: all.resolved(),
        first_response: Durations::of(all.first_responses.clone()),
        resolution: Durations::of(all.resolutions.clone()),
        handoff_rate: Rate::of(all.handed_off, all.opened),
        assistant_resolution_rate: Rate::of(all.assistant_only, all.resolved()),
    };
    let agents = agents
        .iter()
        .filter_map(|(id, name)| {
            let acc = per_agent.remove(id);
            if acc.is_none() && !list_idle_agents {
                return None;
            }
            let acc = acc.unwrap_or_default();
            Some(AgentFigures {
                id: *id,
                name: name.clone(),
                conversations: acc.opened,
                resolved: acc.resolved(),
                first_response: Durations::of(acc.first_responses),
            })
        })
        .collect();
    let inboxes = inboxes
        .iter()
        .map(|(id, name)| {
            let acc = per_inbox.remove(id).unwrap_or_default();
            InboxFigures {
                id: id.clone(),
                name: name.clone(),
                opened: acc.opened,
                resolved: acc.resolved(),
                handoff_rate: Rate::of(acc.handed_off, acc.opened),
            }
        })
        .collect();
    SummaryReport {
        from: period.from.and_utc().to_rfc3339(),
        to: period.to.and_utc().to_rfc3339(),
        totals,
        days: days
            .into_iter()
            .map(|(date, (opened, resolved))| Day {
                date,
                opened,
                resolved,
            })
            .collect(),
        agents,
        inboxes,
    }
}

/// The report as CSV: a header, one row per day (date, opened, resolved), then a `total` row
/// that also carries the times and rates (empty where there is no figure).
pub fn to_csv(r: &SummaryReport) -> String {
    fn opt(v: Option<i64>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    fn rate(r: &Rate) -> String {
        r.rate.map(|v| format!("{v:.4}")).unwrap_or_default()
    }
    let mut out = String::from(
        "date,opened,resolved,first_response_median_seconds,first_response_p90_seconds,\
         first_responses,resolution_median_seconds,resolution_p90_seconds,handed_off,\
         handoff_rate,assistant_resolutions,assistant_resolution_rate\r\n",
    );
    for d in &r.days {
        out.push_str(&format!(
            "{},{},{},,,,,,,,,\r\n",
            d.date.format("%Y-%m-%d"),
            d.opened,
            d.resolved
        ));
    }
    let t = &r.totals;
    out.push_str(&format!(
        "total,{},{},{},{},{},{},{},{},{},{},{}\r\n",
        t.opened,
        t.resolved,
        opt(t.first_response.median_seconds),
        opt(t.first_response.p90_seconds),
        t.first_response.count,
        opt(t.resolution.median_seconds),
        opt(t.resolution.p90_seconds),
        t.handoff_rate.numerator,
        rate(&t.handoff_rate),
        t.assistant_resolution_rate.numerator,
        rate(&t.assistant_resolution_rate),
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(day: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn period() -> Period {
        Period {
            from: t(2, 0, 0),
            to: NaiveDate::from_ymd_opt(2026, 11, 4)
                .unwrap()
                .and_hms_micro_opt(23, 59, 59, 999_999)
                .unwrap(),
        }
    }

    fn conv(created: NaiveDateTime) -> ReportConversation {
        ReportConversation {
            id: ConversationId::new(),
            inbox: InboxId::from("support"),
            assignee: None,
            created_at: created,
        }
    }

    #[test]
    fn nearest_rank_picks_the_value_at_the_rank() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 90), Some(4));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 50), Some(5));
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 50), Some(6));
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
    }

    #[test]
    fn first_response_runs_from_the_handoff_to_the_next_agent_message() {
        let c = conv(t(2, 9, 0));
        let steps = [
            (Step::AgentReply, t(2, 9, 1)),
            (Step::HandedOff, t(2, 9, 5)),
            (Step::HandedOff, t(2, 9, 6)),
            (Step::AgentReply, t(2, 9, 8)),
            (Step::AgentReply, t(2, 9, 30)),
        ];
        let out = contribution(&c, &steps, &period());
        assert!(out.opened && out.handed_off);
        assert_eq!(out.first_response, Some(180));
    }

    #[test]
    fn a_conversation_opened_before_the_period_only_brings_its_resolutions() {
        let c = conv(t(1, 9, 0));
        let steps = [
            (Step::HandedOff, t(1, 9, 5)),
            (Step::AgentReply, t(1, 9, 8)),
            (Step::Closed, t(2, 9, 0)),
        ];
        let out = contribution(&c, &steps, &period());
        assert!(!out.opened && !out.handed_off);
        assert_eq!(out.first_response, None);
        assert_eq!(
            out.resolutions,
            vec![Resolution {
                at: t(2, 9, 0),
                seconds: 24 * 3600,
                assistant_only: false
            }]
        );
    }

    #[test]
    fn each_resolution_counts_from_the_start_of_its_stretch() {
        let c = conv(t(2, 9, 0));
        let steps = [
            (Step::Closed, t(2, 9, 10)),
            (Step::Reopened, t(3, 8, 0)),
            (Step::TookOver, t(3, 8, 1)),
            (Step::Closed, t(3, 8, 30)),
            (Step::Reopened, t(5, 8, 0)),
            (Step::Closed, t(5, 8, 30)),
        ];
        let out = contribution(&c, &steps, &period());
        assert_eq!(
            out.resolutions,
            vec![
                Resolution {
                    at: t(2, 9, 10),
                    seconds: 600,
                    assistant_only: true
                },
                Resolution {
                    at: t(3, 8, 30),
                    seconds: 1800,
                    assistant_only: false
                },
            ]
        );
    }

    #[test]
    fn the_report_adds_up_its_conversations() {
        let p = period();
        let alice = AgentId::new();
        let mut a = conv(t(2, 9, 0));
        a.assignee = Some(alice);
        let b = conv(t(4, 9, 0));
        let ca = contribution(
            &a,
            &[
                (Step::HandedOff, t(2, 9, 0)),
                (Step::AgentReply, t(2, 9, 2)),
                (Step::Closed, t(2, 10, 0)),
            ],
            &p,
        );
        let cb = contribution(&b, &[(Step::Closed, t(4, 9, 30))], &p);
        let r = summarize(
            &p,
            &[(a, ca), (b, cb)],
            &[(alice, "Alice".into()), (AgentId::new(), "Idle".into())],
            false,
            &[("support".into(), "Support".into())],
        );
        assert_eq!(r.totals.opened, 2);
        assert_eq!(r.totals.resolved, 2);
        assert_eq!(r.totals.first_response.median_seconds, Some(120));
        assert_eq!(r.totals.resolution.median_seconds, Some(1800));
        assert_eq!(r.totals.resolution.p90_seconds, Some(3600));
        assert_eq!(r.totals.handoff_rate, Rate::of(1, 2));
        assert_eq!(r.totals.assistant_resolution_rate, Rate::of(1, 2));
        assert_eq!(r.days.len(), 3);
        assert_eq!((r.days[0].opened, r.days[0].resolved), (1, 1));
        assert_eq!((r.days[1].opened, r.days[1].resolved), (0, 0));
        assert_eq!(r.agents.len(), 1);
        assert_eq!(r.agents[0].conversations, 1);
        assert_eq!(r.inboxes[0].opened, 2);
        let csv = to_csv(&r);
        assert!(csv.contains("2026-11-03,0,0,,,,,,,,,\r\n"), "{csv}");
        assert!(
            csv.ends_with("total,2,2,120,120,1,1800,3600,1,0.5000,1,0.5000\r\n"),
            "{csv}"
        );
    }
}
