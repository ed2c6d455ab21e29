//! The keyset cursor of pages ordered by a time and an id (the conversation list, a contact's
//! timeline): `<microseconds since 1970>_<id>`, opaque to clients.

use std::{fmt::Display, str::FromStr};

use chrono::{DateTime, NaiveDateTime};

use crate::error::{AppError, AppResult};

/// The cursor after the row at `at` with `id`.
pub fn encode(at: NaiveDateTime, id: impl Display) -> String {
    format!("{}_{id}", at.and_utc().timestamp_micros())
}

/// The time and id a cursor names; a 400 for anything else.
pub fn decode<I: FromStr>(c: &str) -> AppResult<(NaiveDateTime, I)> {
    let bad = || AppError::BadRequest("invalid `cursor`".to_owned());
    let (micros, id) = c.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(bad)?
        .naive_utc();
    Ok((at, id.parse().map_err(|_| bad())?))
}
