//! The server clock in the one form stored everywhere: UTC, naive, microsecond precision
//! (what both SQLite and PostgreSQL keep, so a time read back equals the time written).

use chrono::{NaiveDateTime, Timelike, Utc};

pub fn now() -> NaiveDateTime {
    truncate(Utc::now().naive_utc())
}

/// Drops sub-microsecond digits.
pub fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}
