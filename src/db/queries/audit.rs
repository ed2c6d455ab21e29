//! The audit log: who did what, for what cannot be seen afterwards (today a deleted
//! conversation, written in the same transaction as the delete). Read newest first through
//! `audit_log_at` `(at)`.

use diesel::prelude::*;

use crate::{
    db::{models::AuditRow, schema::audit_log, DbConnection},
    error::AppResult,
};

pub fn insert_audit(conn: &mut DbConnection, row: &AuditRow) -> AppResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The audit log, newest first.
pub fn audit_entries(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<AuditRow>> {
    Ok(audit_log::table
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}
