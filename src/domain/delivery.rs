//! Delivery status of an outbound message. It only moves forward, because providers retry
//! and reorder their status callbacks: a late "sent" must never undo a "read".

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::types::UnknownName;

/// queued < sent < delivered < read; `failed` ends a message that never got further than sent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
    utoipa::ToSchema,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: &'static [DeliveryStatus] = &[
        DeliveryStatus::Queued,
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Position on the forward path; `failed` has none.
    fn rank(self) -> Option<u8> {
        match self {
            DeliveryStatus::Queued => Some(0),
            DeliveryStatus::Sent => Some(1),
            DeliveryStatus::Delivered => Some(2),
            DeliveryStatus::Read => Some(3),
            DeliveryStatus::Failed => None,
        }
    }

    /// The status after `next` is reported, or `None` when the report must be ignored
    /// (a step backwards, a repeat, or anything after `failed`).
    ///
    /// `failed` is accepted only before the recipient got the message: a message that was
    /// delivered or read did reach the customer, whatever a late callback says.
    pub fn advance(self, next: DeliveryStatus) -> Option<DeliveryStatus> {
        match (self.rank(), next.rank()) {
            (None, _) => None,
            (Some(cur), None) => (cur <= 1).then_some(DeliveryStatus::Failed),
            (Some(cur), Some(new)) => (new > cur).then_some(next),
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, DeliveryStatus::Read | DeliveryStatus::Failed)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "delivery status",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::{self, *};

    #[test]
    fn every_pair_follows_the_forward_rule() {
        // (current, reported) -> result, for all 25 pairs.
        let table: &[(DeliveryStatus, DeliveryStatus, Option<DeliveryStatus>)] = &[
            (Queued, Queued, None),
            (Queued, Sent, Some(Sent)),
            (Queued, Delivered, Some(Delivered)),
            (Queued, Read, Some(Read)),
            (Queued, Failed, Some(Failed)),
            (Sent, Queued, None),
            (Sent, Sent, None),
            (Sent, Delivered, Some(Delivered)),
            (Sent, Read, Some(Read)),
            (Sent, Failed, Some(Failed)),
            (Delivered, Queued, None),
            (Delivered, Sent, None),
            (Delivered, Delivered, None),
            (Delivered, Read, Some(Read)),
            (Delivered, Failed, None),
            (Read, Queued, None),
            (Read, Sent, None),
            (Read, Delivered, None),
            (Read, Read, None),
            (Read, Failed, None),
            (Failed, Queued, None),
            (Failed, Sent, None),
            (Failed, Delivered, None),
            (Failed, Read, None),
            (Failed, Failed, None),
        ];
        assert_eq!(table.len(), 25);
        for (cur, next, want) in table {
            assert_eq!(cur.advance(*next), *want, "{cur} + {next}");
        }
    }

    #[test]
    fn out_of_order_callbacks_end_at_the_furthest_status() {
        let mut s = Queued;
        for reported in [Read, Sent, Delivered, Sent] {
            if let Some(n) = s.advance(reported) {
                s = n;
            }
        }
        assert_eq!(s, Read);
    }

    #[test]
    fn names_round_trip() {
        for d in DeliveryStatus::ALL {
            assert_eq!(d.as_str().parse::<DeliveryStatus>(), Ok(*d));
        }
        assert!("bounced".parse::<DeliveryStatus>().is_err());
        assert!(Read.is_final() && Failed.is_final() && !Sent.is_final());
    }
}
