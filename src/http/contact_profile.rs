//! `PATCH /api/contacts/{id}`: an agent edits a contact's name, email, phone, country and
//! language.
//!
//! A phone edit re-runs the unification by phone: the number is normalised to E.164 as the
//! providers' numbers are and must be a valid number; the same number on another inbox makes
//! the two contacts one person (its block and name follow, as for a new contact), while the
//! same number on another contact of this inbox is a 409 `phone_taken` naming it. A valid
//! number also gives the country, unless a person set it. Country and language set here have
//! the source `agent`, which detection never overwrites. The edit and its `profile_edited`
//! entry in the timeline are one transaction.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::contacts::{person, person_view, view, PersonView};
use crate::{
    app::AppState,
    auth::CurrentAgent,
    clock,
    cluster::forward::contact_changed,
    db::queries,
    domain::{
        activity::ActivityKind,
        profile::{phone_is_valid, Country, Language, ProfileSource},
        ContactId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::{
        extract::Json,
        openapi::{BadRequest, NotFound, TooLarge, Unauthorized, Unavailable},
    },
    providers::phone,
};

/// Longest name and email kept.
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 254;

/// Absent stays `None`; `null` is `Some(None)` (clear); a value is `Some(Some(v))`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The fields to change: each optional; `null` clears it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactEdit)]
pub struct ContactEdit {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 254)]
    email: Option<Option<String>>,
    /// E.164 (`+34 612 34 56 78`: spaces, dots, dashes and a `00` prefix are accepted), a
    /// valid number in its country's plan.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    /// ISO 3166-1 alpha-2 (`ES`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    country: Option<Option<String>>,
    /// BCP 47 (`es`, `pt-BR`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    language: Option<Option<String>>,
}

/// A checked edit: `Some(new value or None to clear)` for each field to change.
#[derive(Debug, Default)]
struct Checked {
    name: Option<Option<String>>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    country: Option<Option<String>>,
    language: Option<Option<String>>,
}

fn check_email(raw: &str) -> AppResult<String> {
    let email = raw.trim();
    let bad = || AppError::Validation(format!("email: `{raw}` is not an email address"));
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let ok = email.len() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    match ok {
        true => Ok(email.to_owned()),
        false => Err(bad()),
    }
}

/// A phone as the providers' numbers are stored: E.164 (national numbers take the inbox's
/// `default_country_code`), and a valid number in its country's plan.
fn check_phone(raw: &str, default_country_code: Option<&str>) -> AppResult<String> {
    let e164 = phone::to_e164(raw, default_country_code)
        .map_err(|e| AppError::Validation(format!("phone: {e}")))?;
    match phone_is_valid(&e164) {
        true => Ok(e164),
        false => Err(AppError::Validation(format!(
            "phone: {e164} is not a valid number in its country's numbering plan"
        ))),
    }
}

fn check(edit: ContactEdit, default_country_code: Option<&str>) -> AppResult<Checked> {
    let blank_to_none =
        |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let name = match edit.name.map(blank_to_none) {
        Some(Some(n)) if n.chars().count() > MAX_NAME => {
            return Err(AppError::Validation(format!(
                "name: at most {MAX_NAME} characters"
            )))
        }
        other => other,
    };
    let map = |v: Option<Option<String>>, f: &dyn Fn(&str) -> AppResult<String>| {
        v.map(|v| blank_to_none(v).map(|s| f(&s)).transpose())
            .transpose()
    };
    let country = |s: &str| {
        Country::parse(s)
            .map(|c| c.as_str().to_owned())
            .map_err(|e| AppError::Validation(format!("country: {e}")))
    };
    let language = |s: &str| {
        Language::parse(s)
            .map(|l| l.as_str().to_owned())
            .map_err(|e| AppError::Validation(format!("language: {e}")))
    };
    Ok(Checked {
        name,
        email: map(edit.email, &check_email)?,
        phone: map(edit.phone, &|p| check_phone(p, default_country_code))?,
        country: map(edit.country, &country)?,
        language: map(edit.language, &language)?,
    })
}

/// Applies a checked edit in one transaction: the phone conflict check, the new row, the
/// same person's block and name, the `profile_edited` entry. Returns whether anything changed.
fn apply(
    c: &mut crate::db::DbConnection,
    id: ContactId,
    edit: &Checked,
    me: &CurrentAgent,
) -> AppResult<bool> {
    let mut row = queries::contact(c, id)?.ok_or(AppError::NotFound("contact"))?;
    let mut changes: Vec<Value> = Vec::new();
    let mut change = |field: &str, from: &Option<String>, to: &Option<String>| {
        if from != to {
            changes.push(json!({ "field": field, "from": from, "to": to }));
        }
    };
    if let Some(name) = &edit.name {
        change("name", &row.name, name);
        row.profile.name_source = name.as_ref().map(|_| ProfileSource::Agent);
        row.name = name.clone();
    }
    if let Some(email) = &edit.email {
        change("email", &row.email, email);
        row.email = email.clone();
    }
    let mut phone_changed = false;
    if let Some(phone) = &edit.phone {
        if let Some(p) = phone {
            if let Some(other) = queries::phone_owner(c, &row.inbox_id, p, id)? {
                return Err(AppError::Conflict {
                    code: "phone_taken",
                    message: format!(
                        "{p} is the phone of another contact of this inbox: {} ({})",
                        other.name.as_deref().unwrap_or("unnamed"),
                        other.id
                    ),
                });
            }
        }
        phone_changed = &row.phone != phone;
        change("phone", &row.phone, phone);
        row.phone = phone.clone();
    }
    let p = &mut row.profile;
    if let Some(country) = &edit.country {
        change("country", &p.country, country);
        p.country_source = country.as_ref().map(|_| ProfileSource::Agent);
        p.country = country.clone();
    }
    if let Some(language) = &edit.language {
        change("language", &p.language, language);
        p.language_source = language.as_ref().map(|_| ProfileSource::Agent);
        p.language = language.clone();
    }
    if changes.is_empty() {
        return Ok(false);
    }
    if phone_changed {
        row.profile = queries::detect_country(row.profile, row.phone.as_deref());
        if let Some(phone) = &row.phone {
            // The same number on another inbox is the same person: its block follows, and
            // a name is shared with the person's nameless contacts.
            row.blocked |= queries::phone_blocked(c, phone)?;
            if let Some(name) = &row.name {
                queries::name_same_person(c, phone, name)?;
            }
        }
    }
    queries::update_contact_fields(
        c,
        id,
        row.name.as_deref(),
        row.phone.as_deref(),
        row.email.as_deref(),
        &row.profile,
    )?;
    if row.blocked {
        queries::set_blocked(c, &[id], true)?;
    }
    let detail = json!({ "changes": changes, "by_name": me.name });
    let entry = queries::activity_row(
        id,
        ActivityKind::ProfileEdited,
        clock::now(),
        Some(me.id),
        None,
        &detail,
    );
    queries::insert_activity(c, &[entry])?;
    Ok(true)
}

/// `PATCH /api/contacts/{id}`: edit the profile.
#[utoipa::path(
    operation_id = "edit_contact",
    patch,
    path = "/api/contacts/{id}",
    tag = "contacts",
    summary = "Edit a contact's name, email, phone, country and language (null clears)",
    description = "Agents who may see the contact's conversation may edit it. A phone is \
        normalised to E.164 and must be a valid number; the same number on another inbox makes \
        the contacts one person. Country and language set here have the source `agent`, which \
        detection never overwrites. The edit writes a `profile_edited` entry in the contact's \
        activity, in the same transaction.",
    params(("id" = ContactId, Path, description = "The contact")),
    request_body = ContactEdit,
    responses(
        (status = 200, description = "The person after the edit", body = PersonView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, description = "phone_taken: another contact of this inbox has this \
            phone (the message names it)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "validation_failed: a bad email, a phone that is not a \
            valid number, an unknown country (ISO 3166-1 alpha-2) or language (BCP 47), a name \
            over 200 characters; the message names the field", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn edit(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<ContactEdit>,
) -> AppResult<HttpResponse> {
    let (contact, all, conversations) = person(&state, &id).await?;
    // Refuses a contact the agent may not see, before checking or changing anything.
    view(&state, &me, &contact, &all, &conversations)?;
    let inbox = state.app.inboxes.for_conversation(&contact.inbox_id);
    let edit = check(body.into_inner(), inbox.settings.default_country_code())?;
    let contact_id = contact.id;
    let agent = me.clone();
    let changed = state
        .app
        .store
        .write(move |c| apply(c, contact_id, &edit, &agent))
        .await?;
    if changed {
        // The conversations' actors take the new row (name, phone, block) and tell the agents.
        for row in &conversations {
            let forwarder = state.app.cluster.as_ref().map(|c| &c.forwarder);
            contact_changed(&state.registry, forwarder, row.id).await?;
        }
        tracing::info!(contact_id = %contact_id, "contact profile edited");
    }
    Ok(HttpResponse::Ok().json(person_view(&state, &me, &id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked() {
        let table = [
            ("ana@example.com", true),
            (" ana@example.com ", true),
            ("ana@example", false),
            ("ana", false),
            ("@example.com", false),
            ("a b@example.com", false),
            ("a@b@example.com", false),
        ];
        for (raw, ok) in table {
            assert_eq!(check_email(raw).is_ok(), ok, "{raw}");
        }
    }

    #[test]
    fn phones_are_normalised_and_must_be_valid() {
        let table = [
            ("+34 612 34 56 78", None, Some("+34612345678")),
            ("0034612345678", None, Some("+34612345678")),
            ("612 345 678", Some("34"), Some("+34612345678")),
            ("612345678", None, None),
            ("+1 242 555 1234", None, None),
            ("phone", None, None),
            ("+34 1", None, None),
        ];
        for (raw, cc, want) in table {
            assert_eq!(check_phone(raw, cc).ok().as_deref(), want, "{raw}");
        }
    }
}
