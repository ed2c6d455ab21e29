//! The customer-service window, once.
//!
//! WhatsApp (Cloud API and through Twilio), Messenger and Instagram let a business send
//! free-form messages only for 24 hours after the customer's last message; outside it only an
//! approved template may go. Messenger and Instagram give a person (never the assistant) 7
//! days, with the `HUMAN_AGENT` tag. A window is open while `now < last + length`, and only
//! the customer's messages open or refresh it. A "last message" in the future (clock skew)
//! simply leaves the window open.
//!
//! The conversation's state (what the dashboard shows, what the actor refuses) and the
//! outbox (how a Messenger reply is labelled) both ask [`Windows::free_form`].

use chrono::{Duration, NaiveDateTime};

/// Free-form messages are allowed this long after the customer's last message on WhatsApp,
/// Messenger and Instagram.
pub const SERVICE_WINDOW_HOURS: i64 = 24;
/// A person may still answer this long on Messenger and Instagram (`HUMAN_AGENT` tag).
pub const AGENT_WINDOW_DAYS: i64 = 7;

/// The windows of one channel. Both `None`: the channel has no window (SMS, the API channel
/// unless configured, the website widget).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Windows {
    /// Anyone may send free-form this long after the customer's last message.
    pub service: Option<Duration>,
    /// A person may still answer this long (longer than `service`), on channels that allow it.
    pub agent: Option<Duration>,
}

/// Who would send the free-form message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Assistant,
    Agent,
}

/// Why a free-form message may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// The channel has no window.
    Always,
    /// Inside the service window.
    InWindow,
    /// Past the service window, inside the agent window: a person, tagged as one.
    AgentWindow,
}

/// A free-form send refused because the window is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", closed_message(self))]
pub struct WindowClosed {
    /// The customer's last message, if they ever wrote.
    pub last_customer_at: Option<NaiveDateTime>,
    /// When the last window that applied to this send closed.
    pub closed_at: Option<NaiveDateTime>,
}

fn closed_message(w: &WindowClosed) -> String {
    match w.closed_at {
        Some(at) => format!(
            "the messaging window closed at {} UTC; only an approved template can be sent \
             until the customer writes again",
            at.format("%Y-%m-%d %H:%M")
        ),
        None => "the customer has never written on this channel; only an approved template \
                 can be sent"
            .to_owned(),
    }
}

impl Windows {
    /// WhatsApp: 24 hours for everyone.
    pub fn whatsapp() -> Windows {
        Windows {
            service: Some(Duration::hours(SERVICE_WINDOW_HOURS)),
            agent: None,
        }
    }

    /// Messenger and Instagram: 24 hours, and 7 days for a person.
    pub fn messenger() -> Windows {
        Windows {
            agent: Some(Duration::days(AGENT_WINDOW_DAYS)),
            ..Windows::whatsapp()
        }
    }

    /// When the service window of a customer's last message closes; `None` without a
    /// window or without a message from the customer.
    pub fn service_closes_at(
        &self,
        last_customer_at: Option<NaiveDateTime>,
    ) -> Option<NaiveDateTime> {
        Some(last_customer_at? + self.service?)
    }

    /// When a person stops being allowed to answer, on channels with an agent window.
    pub fn agent_closes_at(
        &self,
        last_customer_at: Option<NaiveDateTime>,
    ) -> Option<NaiveDateTime> {
        Some(last_customer_at? + self.agent?)
    }

    /// May `sender` send a free-form (non-template) message at `now`?
    pub fn free_form(
        &self,
        last_customer_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
        sender: Sender,
    ) -> Result<Allowed, WindowClosed> {
        if self.service.is_none() {
            return Ok(Allowed::Always);
        }
        let service_end = self.service_closes_at(last_customer_at);
        if service_end.is_some_and(|end| now < end) {
            return Ok(Allowed::InWindow);
        }
        let agent_end = match sender {
            Sender::Agent => self.agent_closes_at(last_customer_at),
            Sender::Assistant => None,
        };
        if agent_end.is_some_and(|end| now < end) {
            return Ok(Allowed::AgentWindow);
        }
        Err(WindowClosed {
            last_customer_at,
            closed_at: agent_end.or(service_end),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(h: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::hours(h)
    }

    fn closed(last: Option<i64>, at: Option<i64>) -> Result<Allowed, WindowClosed> {
        Err(WindowClosed {
            last_customer_at: last.map(t),
            closed_at: at.map(t),
        })
    }

    /// Windows, the customer's last message, now, sender, answer.
    type Case = (
        Windows,
        Option<i64>,
        i64,
        Sender,
        Result<Allowed, WindowClosed>,
    );

    #[test]
    fn the_window_table() {
        use Allowed::*;
        use Sender::*;
        let none = Windows::default();
        let wa = Windows::whatsapp();
        let fb = Windows::messenger();
        let cases: &[Case] = &[
            // No window: always, even if the customer never wrote.
            (none, None, 0, Assistant, Ok(Always)),
            (none, Some(0), 1000, Agent, Ok(Always)),
            // WhatsApp: open until, not at, 24 hours; the same for a person.
            (wa, Some(0), 0, Assistant, Ok(InWindow)),
            (wa, Some(0), 23, Agent, Ok(InWindow)),
            (wa, Some(0), 24, Assistant, closed(Some(0), Some(24))),
            (wa, Some(0), 24, Agent, closed(Some(0), Some(24))),
            // Never wrote: shut, with no closing time to name.
            (wa, None, 0, Agent, closed(None, None)),
            // Clock skew: a last message in the future leaves the window open.
            (wa, Some(5), 0, Assistant, Ok(InWindow)),
            // Messenger: 24 hours for everyone, then 7 days for a person only.
            (fb, Some(0), 23, Assistant, Ok(InWindow)),
            (fb, Some(0), 23, Agent, Ok(InWindow)),
            (fb, Some(0), 24, Assistant, closed(Some(0), Some(24))),
            (fb, Some(0), 24, Agent, Ok(AgentWindow)),
            (fb, Some(0), 167, Agent, Ok(AgentWindow)),
            (fb, Some(0), 168, Agent, closed(Some(0), Some(168))),
            (fb, None, 0, Agent, closed(None, None)),
        ];
        for (i, (w, last, now, sender, want)) in cases.iter().enumerate() {
            assert_eq!(
                w.free_form(last.map(t), t(*now), *sender),
                *want,
                "case {i}"
            );
        }
    }

    #[test]
    fn closing_times() {
        let fb = Windows::messenger();
        assert_eq!(fb.service_closes_at(Some(t(0))), Some(t(24)));
        assert_eq!(fb.agent_closes_at(Some(t(0))), Some(t(168)));
        assert_eq!(Windows::whatsapp().agent_closes_at(Some(t(0))), None);
        assert_eq!(Windows::default().service_closes_at(Some(t(0))), None);
        assert_eq!(fb.service_closes_at(None), None);
    }

    #[test]
    fn a_closed_window_says_what_to_do() {
        let w = WindowClosed {
            last_customer_at: None,
            closed_at: Some(t(3)),
        };
        assert!(w.to_string().contains("2026-06-01 03:00"));
        assert!(w.to_string().contains("template"));
        let never = WindowClosed {
            last_customer_at: None,
            closed_at: None,
        };
        assert!(never.to_string().contains("never written"));
    }
}
