//! A person's files: `GET /api/contacts/{id}/files` lists every file exchanged with the person
//! (both directions, every channel: the files of their conversations' messages) and every file
//! agents uploaded to them directly, newest first, in one keyset-paged list searchable by name;
//! `POST /api/contacts/{id}/files` uploads one; `GET /api/contacts/{id}/files/{file_id}`
//! downloads an upload (a message's file downloads from `GET /api/files/{message_id}`).
//!
//! The person is the contact and the contacts linked to it (same E.164 phone), as for the
//! profile and the timeline; the same access check applies. Message files are those of the
//! conversations this agent may see. A message whose file is still downloading, or could not
//! be downloaded, is listed with its `state` (`downloading`, `failed`) and no `url`, so the
//! list says the customer sent something rather than hiding it until it arrives.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    body::read_limited,
    contacts::{may_see, person, view},
    cursor,
    files::{checked_filename, file_response, file_type},
};
use crate::{
    app::AppState,
    auth::CurrentAgent,
    channels::media,
    clock,
    db::{
        models::{ContactFileRow, MessageRow},
        queries,
    },
    domain::{
        activity::ActivityKind,
        types::{ChannelKind, Direction},
        AgentId, ContactFileId, ContactId, ConversationId, MessageId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::{
        extract::Query,
        openapi::{NotFound, RawFile, Unauthorized, Unavailable},
    },
    views::UtcTime,
};

/// Files per page unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;
/// Longest search: names are at most 200 characters, and a search is a few words of one.
const MAX_Q_CHARS: usize = 100;

/// A place in the list: the time and id of the last file of the previous page.
type Position = (NaiveDateTime, Uuid);

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilesQuery {
    /// Only files whose name contains this (case-insensitive for ASCII letters). Files without
    /// a name (most photos and voice notes) match no search.
    #[param(max_length = 100)]
    q: Option<String>,
    /// `next_cursor` of the previous page (`<microseconds>_<id>`).
    #[param(
        pattern = "^-?[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    cursor: Option<String>,
    /// Page size (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

impl FilesQuery {
    /// The search (trimmed; blank is none), the cursor and the page size; a 400 for a
    /// malformed cursor or size, a 422 for a search too long or with control characters.
    fn checked(&self) -> AppResult<(Option<String>, Option<Position>, i64)> {
        let q = self
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        if q.as_ref()
            .is_some_and(|q| q.chars().count() > MAX_Q_CHARS || q.chars().any(char::is_control))
        {
            // A value that breaks a rule, as for the conversation list's `q`.
            return Err(AppError::Validation(format!(
                "`q` must be at most {MAX_Q_CHARS} characters, without control characters"
            )));
        }
        let before = self.cursor.as_deref().map(cursor::decode).transpose()?;
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!(
                "`limit` must be 1-{MAX_LIMIT}"
            )));
        }
        Ok((q, before, limit))
    }
}

/// Where a file of the list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileSource {
    /// Sent or received in a conversation (`conversation_id`, `message_id`, `direction`).
    Message,
    /// Uploaded to the contact by an agent (`uploaded_by`).
    Upload,
}

/// Whether the file can be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Stored: `url` serves it.
    Stored,
    /// A customer's file still being fetched from the provider.
    Downloading,
    /// A customer's file that could not be fetched (`error` says why and whether it is tried
    /// again).
    Failed,
}

/// The agent who uploaded a file.
#[derive(Serialize, ToSchema)]
pub struct Uploader {
    id: AgentId,
    /// `null` when the agent no longer exists.
    #[schema(required = true)]
    name: Option<String>,
}

/// One file of a person.
#[derive(Serialize, ToSchema)]
#[schema(as = ContactFile)]
pub struct FileView {
    /// The message's id (`source: message`) or the upload's.
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    source: FileSource,
    /// The file's name; for a message file without one, its kind and type (`image.jpeg`).
    name: String,
    #[schema(required = true)]
    mime: Option<String>,
    /// Bytes, for uploads; `null` for message files.
    #[schema(required = true)]
    size: Option<i64>,
    /// The contact it belongs to (one of the person's contacts).
    contact_id: ContactId,
    /// Message files: `inbound` (from the customer) or `outbound` (from the business).
    #[schema(required = true)]
    direction: Option<Direction>,
    /// Message files: the channel of their conversation.
    #[schema(required = true)]
    channel: Option<ChannelKind>,
    #[schema(required = true)]
    conversation_id: Option<ConversationId>,
    #[schema(required = true)]
    message_id: Option<MessageId>,
    /// Uploads: who uploaded it.
    #[schema(required = true)]
    uploaded_by: Option<Uploader>,
    /// When it was sent or uploaded (the list's order).
    #[schema(value_type = UtcTime)]
    created_at: NaiveDateTime,
    state: FileState,
    /// Why a customer's file could not be fetched (`state: failed`).
    #[schema(required = true)]
    error: Option<String>,
    /// Where to fetch it (with the agent's token); `null` until it is stored.
    #[schema(required = true)]
    url: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ContactFilePage)]
pub struct FilesPage {
    items: Vec<FileView>,
    /// The `cursor` of the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// A message file's name when the customer's channel gave none: its kind, and its type's
/// subtype as an extension when that is a plain word (`image.jpeg`, `voice.ogg`).
fn message_file_name(m: &MessageRow) -> String {
    if let Some(name) = &m.media_filename {
        return name.clone();
    }
    let ext = m
        .media_mime
        .as_deref()
        .and_then(|t| t.split(';').next())
        .and_then(|t| t.split_once('/'))
        .map(|(_, sub)| sub.trim())
        .filter(|sub| {
            !sub.is_empty() && sub.len() <= 8 && sub.chars().all(|c| c.is_ascii_alphanumeric())
        });
    match ext {
        Some(ext) => format!("{}.{ext}", m.kind.as_str()),
        None => m.kind.as_str().to_owned(),
    }
}

/// One entry of the merged list, keyed by what orders it.
enum Entry {
    Message(MessageRow),
    Upload(ContactFileRow),
}

impl Entry {
    /// `(time, id)`: the order of the list (both descending) and of its cursor. Ids compare as
    /// their bytes, which is the order of their lowercase text in the database.
    fn key(&self) -> Position {
        match self {
            Entry::Message(m) => (m.sent_at, m.id.0),
            Entry::Upload(f) => (f.created_at, f.id.0),
        }
    }
}

/// The newest `limit` of both sources (each read with `limit + 1` rows after the cursor), and
/// whether more follow.
fn merge(
    messages: Vec<MessageRow>,
    uploads: Vec<ContactFileRow>,
    limit: usize,
) -> (Vec<Entry>, bool) {
    let mut all: Vec<Entry> = messages
        .into_iter()
        .map(Entry::Message)
        .chain(uploads.into_iter().map(Entry::Upload))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.key()));
    let more = all.len() > limit;
    all.truncate(limit);
    (all, more)
}

fn upload_url(f: &ContactFileRow) -> String {
    format!("/api/contacts/{}/files/{}", f.contact_id, f.id)
}

fn upload_view(f: ContactFileRow, uploader: Option<String>) -> FileView {
    FileView {
        id: f.id.0,
        source: FileSource::Upload,
        url: Some(upload_url(&f)),
        name: f.name,
        mime: Some(f.mime),
        size: Some(f.size_bytes),
        contact_id: f.contact_id,
        direction: None,
        channel: None,
        conversation_id: None,
        message_id: None,
        uploaded_by: Some(Uploader {
            id: f.uploaded_by,
            name: uploader,
        }),
        created_at: f.created_at,
        state: FileState::Stored,
        error: None,
    }
}

fn message_view(m: MessageRow, contact_id: ContactId, channel: ChannelKind) -> FileView {
    let state = match (&m.media_path, &m.failure_reason) {
        (Some(_), _) => FileState::Stored,
        (None, Some(_)) => FileState::Failed,
        (None, None) => FileState::Downloading,
    };
    FileView {
        id: m.id.0,
        source: FileSource::Message,
        name: message_file_name(&m),
        mime: m.media_mime.clone(),
        size: None,
        contact_id,
        direction: Some(m.direction),
        channel: Some(channel),
        conversation_id: Some(m.conversation_id),
        message_id: Some(m.id),
        uploaded_by: None,
        created_at: m.sent_at,
        state,
        error: m
            .failure_reason
            .clone()
            .filter(|_| state == FileState::Failed),
        url: m
            .media_path
            .as_ref()
            .map(|_| format!("/api/files/{}", m.id)),
    }
}

/// `GET /api/contacts/{id}/files`: the person's files, newest first.
#[utoipa::path(
    operation_id = "contact_files",
    get,
    path = "/api/contacts/{id}/files",
    tag = "contacts",
    summary = "Every file of the person, newest first (keyset pages): files sent and received \
        in their conversations on every channel, and files agents uploaded to them",
    description = "The person is the contact and the contacts with the same phone. Message \
        files come from the conversations this agent may see; one still downloading or that \
        could not be downloaded is listed with its `state` and no `url`. `q` searches names \
        (a file without a name matches no search).",
    params(("id" = ContactId, Path, description = "The contact"), FilesQuery),
    responses(
        (status = 200, description = "A page", body = FilesPage),
        (status = 400, description = "bad_request: a malformed `cursor`, `limit` out of \
            range, an unknown parameter", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, description = "validation_failed: `q` over 100 characters or with a \
            control character", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<FilesQuery>,
) -> AppResult<HttpResponse> {
    let (search, before, limit) = q.checked()?;
    let (contact, all, conversations) = person(&state, &id).await?;
    view(&state, &me, &contact, &all, &conversations)?;
    let contact_ids: Vec<ContactId> = all.iter().map(|c| c.id).collect();
    let visible: Vec<_> = conversations
        .iter()
        .filter(|r| may_see(&state, &me, r))
        .collect();
    let conversation_ids: Vec<ConversationId> = visible.iter().map(|r| r.id).collect();
    let contact_of: HashMap<ConversationId, ContactId> =
        visible.iter().map(|r| (r.id, r.contact_id)).collect();
    let (messages, uploads, names) = state
        .app
        .store
        .read(move |c| {
            let q = search.as_deref();
            let messages = queries::message_files_page(c, &conversation_ids, q, before, limit + 1)?;
            let uploads = queries::contact_files_page(c, &contact_ids, q, before, limit + 1)?;
            let mut uploaders: Vec<AgentId> = uploads.iter().map(|f| f.uploaded_by).collect();
            uploaders.sort();
            uploaders.dedup();
            let names = queries::agent_names(c, &uploaders)?;
            Ok((messages, uploads, names))
        })
        .await?;
    let names: HashMap<AgentId, String> = names.into_iter().collect();
    // `limit` is 1-100, so the conversion cannot fail.
    let (entries, more) = merge(messages, uploads, usize::try_from(limit).unwrap_or(0));
    let next_cursor = more.then(|| entries.last()).flatten().map(|e| {
        let (at, id) = e.key();
        cursor::encode(at, id)
    });
    let items = entries
        .into_iter()
        .map(|e| match e {
            Entry::Upload(f) => {
                let name = names.get(&f.uploaded_by).cloned();
                upload_view(f, name)
            }
            Entry::Message(m) => {
                let channel = state.app.inboxes.for_conversation(&m.inbox_id).channel;
                let contact_id = contact_of
                    .get(&m.conversation_id)
                    .copied()
                    .unwrap_or(contact.id);
                message_view(m, contact_id, channel)
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(FilesPage { items, next_cursor }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name; no slashes or control characters. Without one the file is named by
    /// its type (`file.pdf`).
    #[param(max_length = 200)]
    filename: Option<String>,
}

/// A name for a file uploaded without one: `file`, with its type's subtype as an extension
/// when that is a plain word.
fn default_name(mime: &str) -> String {
    match mime.split_once('/').map(|(_, sub)| sub) {
        Some(sub)
            if !sub.is_empty()
                && sub.len() <= 8
                && sub.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            format!("file.{sub}")
        }
        _ => "file".to_owned(),
    }
}

/// `POST /api/contacts/{id}/files?filename=`: the raw file as the body, its type in
/// `Content-Type`, as for conversation attachments. The file is written first, then its row and
/// its `file_uploaded` timeline entry commit together; if they cannot, the file is removed.
#[utoipa::path(
    operation_id = "upload_contact_file",
    post,
    path = "/api/contacts/{id}/files",
    tag = "contacts",
    summary = "Upload a file to the contact (the raw file as the body, its type as \
        Content-Type); written with a `file_uploaded` entry in the contact's activity",
    params(("id" = ContactId, Path, description = "The contact"), UploadQuery),
    request_body(content = RawFile, content_type = "application/octet-stream",
        description = "The file itself, sent with its own type as Content-Type (`image/png`, \
            `application/pdf`…; `application/octet-stream` when unknown)"),
    responses(
        (status = 201, description = "The file as the list shows it", body = FileView),
        (status = 400, description = "bad_request: no usable Content-Type, multipart, or a \
            malformed query", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, description = "payload_too_large: over server.max_media_bytes",
            body = ErrorBody),
        (status = 422, description = "validation_failed: an empty file, or a filename over \
            200 characters or with a slash or control character", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn upload(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<UploadQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (contact, all, conversations) = person(&state, &id).await?;
    // Refuses a contact the agent may not see, before reading or storing anything.
    view(&state, &me, &contact, &all, &conversations)?;
    let mime = file_type(&req)?.essence_str().to_owned();
    let name = checked_filename(q.into_inner().filename)?.unwrap_or_else(|| default_name(&mime));
    let limit = state.app.settings.server.max_media_bytes;
    let bytes = read_limited(payload, limit).await?;
    if bytes.is_empty() {
        return Err(AppError::Validation("the file is empty".to_owned()));
    }
    let bytes = bytes.to_vec();
    let (bytes, sha256) = tokio::task::spawn_blocking(move || {
        let digest = hex::encode(Sha256::digest(&bytes));
        (bytes, digest)
    })
    .await
    .map_err(AppError::internal)?;
    let file_id = ContactFileId::new();
    let path = media::contact_file_path(contact.id, file_id);
    let size_bytes = i64::try_from(bytes.len()).map_err(|_| AppError::PayloadTooLarge { limit })?;
    media::write_file(&state.app, &path, bytes).await?;
    let row = ContactFileRow {
        id: file_id,
        contact_id: contact.id,
        name,
        mime,
        size_bytes,
        sha256,
        path: path.clone(),
        uploaded_by: me.id,
        created_at: clock::now(),
    };
    let detail = json!({
        "file_id": row.id,
        "name": row.name,
        "mime": row.mime,
        "size": row.size_bytes,
        "by_name": me.name,
    });
    let entry = queries::activity_row(
        contact.id,
        ActivityKind::FileUploaded,
        row.created_at,
        Some(me.id),
        None,
        &detail,
    );
    let written = row.clone();
    let committed = state
        .app
        .store
        .write(move |c| {
            queries::insert_contact_file(c, &written)?;
            queries::insert_activity(c, std::slice::from_ref(&entry))
        })
        .await;
    if let Err(e) = committed {
        // No row points at the file: it must not stay.
        media::remove_file(&state.app, &path).await;
        return Err(e);
    }
    tracing::info!(contact_id = %contact.id, file_id = %row.id, size = row.size_bytes, "file uploaded to a contact");
    Ok(HttpResponse::Created().json(upload_view(row, Some(me.name.clone()))))
}

/// `GET /api/contacts/{id}/files/{file_id}`: a file uploaded to the person.
#[utoipa::path(
    operation_id = "get_contact_file",
    get,
    path = "/api/contacts/{id}/files/{file_id}",
    tag = "contacts",
    summary = "A file uploaded to the contact (or to a contact of the same person)",
    description = "Files of conversations are served by GET /api/files/{message_id}, which the \
        list's `url` names.",
    params(
        ("id" = ContactId, Path, description = "The contact"),
        ("file_id" = ContactFileId, Path, description = "The uploaded file"),
    ),
    responses(
        (status = 200, description = "The file, with its type; images, audio and video inline, \
            anything else as a download", content_type = "*/*", body = Vec<u8>),
        (status = 401, response = Unauthorized),
        (status = 404, description = "not_found: no such contact or file, a file of another \
            person, or a contact this agent may not see", body = ErrorBody),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn download(
    state: web::Data<AppState>,
    me: CurrentAgent,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, file_id) = path.into_inner();
    let file_id: ContactFileId = file_id.parse().map_err(|_| AppError::NotFound("file"))?;
    let (contact, all, conversations) = person(&state, &id).await?;
    view(&state, &me, &contact, &all, &conversations)?;
    let row = state
        .app
        .store
        .read(move |c| queries::contact_file(c, file_id))
        .await?
        .filter(|f| all.iter().any(|c| c.id == f.contact_id))
        .ok_or(AppError::NotFound("file"))?;
    let bytes = media::read_file(&state.app, &row.path).await?;
    Ok(file_response(Some(&row.mime), &row.name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(secs, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    fn upload(secs: i64) -> ContactFileRow {
        ContactFileRow {
            id: ContactFileId::new(),
            contact_id: ContactId::new(),
            name: "a.pdf".to_owned(),
            mime: "application/pdf".to_owned(),
            size_bytes: 1,
            sha256: String::new(),
            path: String::new(),
            uploaded_by: AgentId::new(),
            created_at: at(secs),
        }
    }

    #[test]
    fn merging_keeps_the_newest_and_says_whether_more_follow() {
        let uploads = vec![upload(50), upload(30), upload(10)];
        let keys: Vec<_> = uploads.iter().map(|u| u.created_at).collect();
        let (page, more) = merge(Vec::new(), uploads.clone(), 2);
        assert!(more);
        assert_eq!(
            page.iter().map(|e| e.key().0).collect::<Vec<_>>(),
            keys[..2].to_vec()
        );
        let (page, more) = merge(Vec::new(), uploads, 3);
        assert!(!more);
        assert_eq!(page.len(), 3);
    }

    #[test]
    fn names_and_searches_are_checked() {
        assert_eq!(default_name("application/pdf"), "file.pdf");
        assert_eq!(default_name("application/vnd.ms-excel"), "file");
        let q = |q: &str| FilesQuery {
            q: Some(q.to_owned()),
            cursor: None,
            limit: None,
        };
        assert!(q(&"a".repeat(100)).checked().is_ok());
        assert!(q(&"a".repeat(101)).checked().is_err());
        assert!(q("a\u{0}b").checked().is_err());
        assert_eq!(q("  ").checked().ok().and_then(|c| c.0), None);
    }
}
