//! Canned responses (saved replies).
//!
//! A short code is unique within its scope (one inbox, or the shared ones), ignoring case:
//! `canned_responses_scope_code` enforces it, over `COALESCE(inbox_id, '')` because NULLs are
//! distinct in a unique index. The checks here come first so the usual case gets a clear 409;
//! the index catches two creations at once. There are few canned responses (tens, hundreds),
//! so a listing loads its scope whole and the caller filters and orders it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{models::CannedResponseRow, schema::canned_responses, DbConnection},
    domain::{CannedResponseId, InboxId},
    error::{AppError, AppResult},
};

pub fn insert_canned(conn: &mut DbConnection, row: &CannedResponseRow) -> AppResult<()> {
    ensure_code_free(conn, row.inbox_id.as_ref(), &row.short_code, None)?;
    diesel::insert_into(canned_responses::table)
        .values(row)
        .execute(conn)
        .map_err(code_taken)?;
    Ok(())
}

pub fn canned(
    conn: &mut DbConnection,
    id: CannedResponseId,
) -> AppResult<Option<CannedResponseRow>> {
    Ok(canned_responses::table
        .find(id)
        .select(CannedResponseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every canned response (`inbox` `None`), or those of one inbox and the shared ones.
pub fn canned_responses_of(
    conn: &mut DbConnection,
    inbox: Option<&InboxId>,
) -> AppResult<Vec<CannedResponseRow>> {
    let mut q = canned_responses::table
        .select(CannedResponseRow::as_select())
        .into_boxed();
    if let Some(inbox) = inbox {
        q = q.filter(
            canned_responses::inbox_id
                .eq(inbox.clone())
                .or(canned_responses::inbox_id.is_null()),
        );
    }
    Ok(q.load(conn)?)
}

/// Writes the row's code, text and scope over the stored one (the caller merged the edit).
pub fn update_canned(
    conn: &mut DbConnection,
    row: &CannedResponseRow,
    now: NaiveDateTime,
) -> AppResult<()> {
    ensure_code_free(conn, row.inbox_id.as_ref(), &row.short_code, Some(row.id))?;
    diesel::update(canned_responses::table.find(row.id))
        .set((
            canned_responses::short_code.eq(&row.short_code),
            canned_responses::text.eq(&row.text),
            canned_responses::inbox_id.eq(row.inbox_id.clone()),
            canned_responses::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(code_taken)?;
    Ok(())
}

/// False when there was none.
pub fn delete_canned(conn: &mut DbConnection, id: CannedResponseId) -> AppResult<bool> {
    Ok(diesel::delete(canned_responses::table.find(id)).execute(conn)? > 0)
}

fn ensure_code_free(
    conn: &mut DbConnection,
    inbox: Option<&InboxId>,
    code: &str,
    except: Option<CannedResponseId>,
) -> AppResult<()> {
    let mut q = canned_responses::table
        .select((canned_responses::id, canned_responses::short_code))
        .into_boxed();
    q = match inbox {
        Some(inbox) => q.filter(canned_responses::inbox_id.eq(inbox.clone())),
        None => q.filter(canned_responses::inbox_id.is_null()),
    };
    let taken = q
        .load::<(CannedResponseId, String)>(conn)?
        .into_iter()
        .any(|(id, c)| Some(id) != except && c.to_lowercase() == code.to_lowercase());
    match taken {
        true => Err(conflict(format!(
            "a canned response with short code `{code}` exists already in this scope"
        ))),
        false => Ok(()),
    }
}

fn conflict(message: String) -> AppError {
    AppError::Conflict {
        code: "duplicate_short_code",
        message,
    }
}

/// A unique violation (two writes at once) is the same 409.
fn code_taken(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => conflict(
            "a canned response with this short code exists already in this scope".to_owned(),
        ),
        other => other.into(),
    }
}
