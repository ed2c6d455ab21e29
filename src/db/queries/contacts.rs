//! Contacts: the customers who write, one row per (inbox, provider id), and "the same person",
//! the contacts of every inbox that share a phone number (stored in E.164).
//!
//! Lookups by provider id use the UNIQUE `(inbox_id, external_id)` constraint; everything
//! about the same person uses `contacts_phone` (`contacts(phone)`).

use diesel::prelude::*;

use crate::{
    db::{models::ContactRow, schema::contacts, DbConnection},
    domain::ContactId,
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

/// Gives a name to the contacts of the same phone number (the same person on other channels)
/// that have none.
pub(super) fn name_same_person(conn: &mut DbConnection, phone: &str, name: &str) -> AppResult<()> {
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
