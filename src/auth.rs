//! Agents' passwords (argon2) and login tokens (random, stored only as a SHA-256 hash, so a
//! leaked database does not leak usable tokens).

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    clock,
    db::models::AgentRow,
    domain::{
        types::{Availability, Role},
        AgentId,
    },
    error::{AppError, AppResult},
};

pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random token: 32 bytes, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random password for the first admin when none is configured.
pub fn generate_password() -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The longest password, in bytes: login refuses longer ones without hashing them.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// An agent's name as stored: 1-100 characters with something visible, trimmed.
pub fn checked_name(name: &str) -> AppResult<String> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::Validation(format!(
            "`name` must be 1-{MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.trim().to_owned())
}

/// Checks a new password (`field` names it in the error): long enough to resist guessing,
/// short enough to log in with.
pub fn check_new_password(field: &str, password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::Validation(format!(
            "`{field}` must be at least {MIN_PASSWORD_CHARS} characters and at most \
             {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Checks a new agent's fields; the error names the field.
pub fn validate_new_agent(email: &str, name: &str, password: &str) -> AppResult<()> {
    if email.chars().count() > 254 || !crate::domain::text::is_email_address(email.trim()) {
        return Err(AppError::Validation(
            "`email` is not an email address".to_owned(),
        ));
    }
    checked_name(name)?;
    check_new_password("password", password)
}

/// Builds the row of a new agent (hashing the password: call off the async threads).
pub fn new_agent_row(email: &str, name: &str, role: Role, password: &str) -> AppResult<AgentRow> {
    validate_new_agent(email, name, password)?;
    Ok(AgentRow {
        id: AgentId::new(),
        email: email.trim().to_lowercase(),
        name: name.trim().to_owned(),
        role,
        password_hash: hash_password(password)?,
        availability: Availability::Offline,
        created_at: clock::now(),
        notify_desktop: false,
        notify_sound: false,
        deactivated_at: None,
    })
}

/// The agent making a request, from `Authorization: Bearer <token>`. Extracting it is the
/// authentication check: a handler that takes a `CurrentAgent` cannot run for anyone else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurrentAgent {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// How this agent wants to be told of handoffs and new messages (their own setting).
    pub notifications: Notifications,
    #[serde(skip)]
    pub token_hash: String,
}

/// An agent's notification setting: browser notifications and a sound, each on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Browser notifications while the dashboard's tab is not in front.
    pub desktop: bool,
    /// A short sound.
    pub sound: bool,
}

impl CurrentAgent {
    pub(crate) fn from_row(row: AgentRow, token_hash: String) -> CurrentAgent {
        CurrentAgent {
            id: row.id,
            role: row.role,
            email: row.email,
            name: row.name,
            notifications: Notifications {
                desktop: row.notify_desktop,
                sound: row.notify_sound,
            },
            token_hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn new_agent_fields_are_checked() {
        assert!(validate_new_agent("a@b.c", "Ann", "12345678").is_ok());
        for (email, name, pw, field) in [
            ("nope", "Ann", "12345678", "email"),
            ("@b.c", "Ann", "12345678", "email"),
            ("a@b.c", " ", "12345678", "name"),
            ("a@b.c", "Ann", "short", "password"),
        ] {
            let err = validate_new_agent(email, name, pw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(field), "{email}/{name}/{pw}: {err}");
        }
    }
}
