//! Referrals (`referrals`): where a person came from. Message-borne ones are inserted by the
//! conversation actor's write job with their message (UNIQUE `message_id`); the ones that came
//! without a message are keyed by `event_key` (UNIQUE). The panel's first and latest use
//! `referrals_contact` `(contact_id, created_at)`.

use diesel::prelude::*;

use crate::{
    db::{models::ReferralRow, schema::referrals, DbConnection},
    domain::ContactId,
    error::AppResult,
};

pub fn insert_referral(conn: &mut DbConnection, row: &ReferralRow) -> AppResult<()> {
    diesel::insert_into(referrals::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Whether a referral without a message was stored under this key already (a retried
/// webhook).
pub fn referral_event_known(conn: &mut DbConnection, event_key: &str) -> AppResult<bool> {
    let found: Option<String> = referrals::table
        .filter(referrals::event_key.eq(event_key))
        .select(referrals::event_key.assume_not_null())
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The first and the latest referral of these contacts (one person), by when they were
/// captured; both the same row when there is one.
pub fn first_and_latest_referrals(
    conn: &mut DbConnection,
    contact_ids: &[ContactId],
) -> AppResult<(Option<ReferralRow>, Option<ReferralRow>)> {
    let of_person = || {
        referrals::table
            .filter(referrals::contact_id.eq_any(contact_ids.to_vec()))
            .select(ReferralRow::as_select())
    };
    let first = of_person()
        .order((referrals::created_at.asc(), referrals::id.asc()))
        .first(conn)
        .optional()?;
    let latest = of_person()
        .order((referrals::created_at.desc(), referrals::id.desc()))
        .first(conn)
        .optional()?;
    Ok((first, latest))
}
