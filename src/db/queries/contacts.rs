//! Contacts: the customers who write, one row per (inbox, provider id), and "the same person",
//! the contacts of every inbox that share a phone number (stored in E.164).
//!
//! Lookups by provider id use the UNIQUE `(inbox_id, external_id)` constraint; everything
//! about the same person uses `contacts_phone` (`contacts(phone)`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        models::{ContactProfile, ContactRow},
        schema::contacts,
        DbConnection,
    },
    domain::{
        profile::{country_from_phone, ProfileSource},
        types::OptOutSource,
        ContactId, InboxId,
    },
    error::AppResult,
};

/// What a channel knows about the customer who wrote.
#[derive(Debug, Clone)]
pub struct ContactInput {
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub fn insert_contact(conn: &mut DbConnection, row: &ContactRow) -> AppResult<()> {
    diesel::insert_into(contacts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn contact(conn: &mut DbConnection, id: ContactId) -> AppResult<Option<ContactRow>> {
    Ok(contacts::table
        .find(id)
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?)
}

/// The contact with this provider id on this inbox.
pub fn contact_by_external_id(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    external_id: &str,
) -> AppResult<Option<ContactRow>> {
    Ok(contacts::table
        .filter(contacts::inbox_id.eq(inbox_id))
        .filter(contacts::external_id.eq(external_id))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?)
}

/// A known contact, with what the channel now tells us taken and what it does not say kept.
/// A changed contact with a name and a phone number also names the same person's nameless
/// contacts.
pub(super) fn refresh_contact(
    conn: &mut DbConnection,
    mut c: ContactRow,
    input: &ContactInput,
) -> AppResult<ContactRow> {
    // A name a person set stays: the channel's profile name does not replace it.
    let name_from_channel = ProfileSource::yields_to_detection(c.profile.name_source);
    let changed = (name_from_channel && input.name.is_some() && input.name != c.name)
        || (input.phone.is_some() && input.phone != c.phone)
        || (input.email.is_some() && input.email != c.email);
    if changed {
        if name_from_channel {
            c.name = input.name.clone().or(c.name);
        }
        c.phone = input.phone.clone().or(c.phone);
        c.email = input.email.clone().or(c.email);
        c.profile = detect_country(c.profile, c.phone.as_deref());
        diesel::update(contacts::table.find(c.id))
            .set((
                contacts::name.eq(&c.name),
                contacts::phone.eq(&c.phone),
                contacts::email.eq(&c.email),
                &c.profile,
            ))
            .execute(conn)?;
        if let (Some(phone), Some(name)) = (&c.phone, &c.name) {
            name_same_person(conn, phone, name)?;
        }
    }
    Ok(c)
}

/// Stores a contact seen for the first time. Its phone number (E.164) makes it the same
/// person as the contacts of every channel with that number: it starts blocked if one of them
/// is, takes the name they are known by when the channel gives none, and gives its own name
/// to those that have none.
pub(super) fn create_contact(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    input: &ContactInput,
    now: NaiveDateTime,
) -> AppResult<ContactRow> {
    let blocked = match &input.phone {
        Some(phone) => phone_blocked(conn, phone)?,
        None => false,
    };
    // An SMS number says nothing about its owner; the same number's WhatsApp profile
    // (or any other channel's) may: the same person gets the name they are known by.
    let name = match (&input.name, &input.phone) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(phone)) => name_known_for(conn, phone)?,
        (None, None) => None,
    };
    if let (Some(phone), Some(name)) = (&input.phone, &input.name) {
        name_same_person(conn, phone, name)?;
    }
    let c = ContactRow {
        id: ContactId::new(),
        inbox_id: inbox_id.clone(),
        external_id: input.external_id.clone(),
        name,
        phone: input.phone.clone(),
        email: input.email.clone(),
        blocked,
        created_at: now,
        unsubscribed_at: None,
        unsubscribed_reason: None,
        profile: detect_country(ContactProfile::default(), input.phone.as_deref()),
    };
    insert_contact(conn, &c)?;
    Ok(c)
}

/// The profile with the country of `phone` when the number is valid and no person set the
/// country. A country that came from the previous phone goes with it when the new one says
/// nothing (no phone, or an invalid one); one from elsewhere stays.
pub fn detect_country(mut p: ContactProfile, phone: Option<&str>) -> ContactProfile {
    match phone.and_then(country_from_phone) {
        Some(country) if ProfileSource::yields_to_detection(p.country_source) => {
            p.country = Some(country.as_str().to_owned());
            p.country_source = Some(ProfileSource::PhonePrefix);
        }
        None if p.country_source == Some(ProfileSource::PhonePrefix) => {
            p.country = None;
            p.country_source = None;
        }
        _ => {}
    }
    p
}

/// Another contact of this inbox with this phone number: two contacts of one inbox cannot be
/// one person (the same number on other inboxes is the same person, and joins it).
pub fn phone_owner(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    phone: &str,
    except: ContactId,
) -> AppResult<Option<ContactRow>> {
    Ok(contacts::table
        .filter(contacts::inbox_id.eq(inbox_id))
        .filter(contacts::phone.eq(phone))
        .filter(contacts::id.ne(except))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether a contact with this phone number is blocked, on any inbox.
pub fn phone_blocked(conn: &mut DbConnection, phone: &str) -> AppResult<bool> {
    let blocked: i64 = contacts::table
        .filter(contacts::phone.eq(phone))
        .filter(contacts::blocked.eq(true))
        .count()
        .get_result(conn)?;
    Ok(blocked > 0)
}

/// The name of the oldest named contact with this phone number, on any inbox.
fn name_known_for(conn: &mut DbConnection, phone: &str) -> AppResult<Option<String>> {
    Ok(contacts::table
        .filter(contacts::phone.eq(phone))
        .filter(contacts::name.is_not_null())
        .order(contacts::created_at.asc())
        .select(contacts::name)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Gives a name to the contacts of the same phone number (the same person on other channels)
/// that have none.
pub fn name_same_person(conn: &mut DbConnection, phone: &str, name: &str) -> AppResult<()> {
    diesel::update(
        contacts::table
            .filter(contacts::phone.eq(phone))
            .filter(contacts::name.is_null()),
    )
    .set(contacts::name.eq(name))
    .execute(conn)?;
    Ok(())
}

/// The contacts that are the same person as `contact`: itself, and every contact on any
/// inbox with the same phone number (stored in E.164, so SMS, WhatsApp and the API channel
/// match).
pub fn same_person(conn: &mut DbConnection, contact: &ContactRow) -> AppResult<Vec<ContactRow>> {
    let Some(phone) = &contact.phone else {
        return Ok(vec![contact.clone()]);
    };
    let mut rows: Vec<ContactRow> = contacts::table
        .filter(contacts::phone.eq(phone).or(contacts::id.eq(contact.id)))
        .order(contacts::created_at.asc())
        .select(ContactRow::as_select())
        .load(conn)?;
    // The asked-for contact first.
    rows.sort_by_key(|c| c.id != contact.id);
    Ok(rows)
}

pub fn set_blocked(conn: &mut DbConnection, ids: &[ContactId], blocked: bool) -> AppResult<usize> {
    Ok(
        diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
            .set(contacts::blocked.eq(blocked))
            .execute(conn)?,
    )
}

/// Unsubscribes the contacts from broadcasts (`Some`: since when and why; those already
/// unsubscribed keep their first time and reason) or resubscribes them (`None`). Returns how
/// many changed.
pub fn set_unsubscribed(
    conn: &mut DbConnection,
    ids: &[ContactId],
    to: Option<(NaiveDateTime, OptOutSource)>,
) -> AppResult<usize> {
    let targets = contacts::table.filter(contacts::id.eq_any(ids));
    Ok(match to {
        Some((at, source)) => diesel::update(targets.filter(contacts::unsubscribed_at.is_null()))
            .set((
                contacts::unsubscribed_at.eq(Some(at)),
                contacts::unsubscribed_reason.eq(Some(source)),
            ))
            .execute(conn)?,
        None => diesel::update(targets.filter(contacts::unsubscribed_at.is_not_null()))
            .set((
                contacts::unsubscribed_at.eq(None::<NaiveDateTime>),
                contacts::unsubscribed_reason.eq(None::<OptOutSource>),
            ))
            .execute(conn)?,
    })
}
