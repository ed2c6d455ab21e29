//! Files in conversations: agents read them (`GET /api/files/{message_id}`) and attach them
//! (`POST /api/conversations/{id}/attachments`); providers fetch what agents attached from a
//! signed public link (`GET /media/{message_id}?sig=…`).

use crate::http::extract::Query;
use actix_web::{http::header, mime, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{body::read_limited, conversations::visible};
use crate::{
    actors::{messages::SendAttachment, registry::ask},
    app::{AppContext, AppState},
    auth::CurrentAgent,
    channels::media,
    db::{models::MessageRow, queries},
    domain::{
        types::{ChannelKind, Direction},
        ConversationId, MessageId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::openapi::{AgentRefusals, BadRequest, ReadRefusals, Unavailable, Unprocessable},
    providers::normalized::MediaKind,
    views::MessageView,
};

const MAX_FILENAME_CHARS: usize = 200;
const MAX_CAPTION_CHARS: usize = 1024;

/// A stored file as an HTTP answer (a message's file, or one uploaded to a contact). Only
/// images, audio and video are shown inline; anything else downloads, and nothing served here
/// may run script (sandbox, no sniffing). `name` is customer or agent text: it only reaches the
/// header as printable ASCII without quotes or backslashes.
pub(super) fn file_response(mime: Option<&str>, name: &str, bytes: Vec<u8>) -> HttpResponse {
    let mime = mime
        .filter(|t| t.parse::<mime::Mime>().is_ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let inline = matches!(mime.split('/').next(), Some("image" | "audio" | "video"));
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    HttpResponse::Ok()
        .content_type(mime)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "{}; filename=\"{name}\"",
                if inline { "inline" } else { "attachment" }
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        ))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes)
}

/// A message's file as an HTTP answer, named by its file name or else its message id.
fn message_file_response(m: &MessageRow, bytes: Vec<u8>) -> HttpResponse {
    let fallback = m.id.to_string();
    let name = m.media_filename.as_deref().unwrap_or(&fallback);
    file_response(m.media_mime.as_deref(), name, bytes)
}

async fn message_with_file(app: &AppContext, raw_id: &str) -> AppResult<MessageRow> {
    let id: MessageId = raw_id.parse().map_err(|_| AppError::NotFound("file"))?;
    app.store
        .read(move |c| queries::message(c, id))
        .await?
        .filter(|m| m.media_path.is_some())
        .ok_or(AppError::NotFound("file"))
}

/// `GET /api/files/{message_id}`: the file of a message the agent may see.
#[utoipa::path(
    operation_id = "get_file",
    get,
    path = "/api/files/{message_id}",
    tag = "messages",
    summary = "The file of a message (inbound download or attachment)",
    params(("message_id" = MessageId, Path, description = "The message")),
    responses(
        (status = 200, description = "The file, with its type; images, audio and video inline, \
            anything else as a download", content_type = "*/*", body = Vec<u8>),
        (status = 404, description = "not_found: no such message, no file (yet), or not one \
            this agent may see", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let m = message_with_file(&state.app, &id).await?;
    visible(&state, &me, m.conversation_id)
        .await
        .map_err(|_| AppError::NotFound("file"))?;
    let path = m.media_path.clone().unwrap_or_default();
    let bytes = media::read_file(&state.app, &path).await?;
    Ok(message_file_response(&m, bytes))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// The link's signature, as the server wrote it in the link it gave the provider
    /// (HMAC-SHA256 of the message id, keyed by the inbox secret).
    sig: Option<String>,
}

/// `GET /media/{message_id}?sig=…`: a file an agent sent, for the provider to fetch. Only
/// outbound files, only with the link's signature.
#[utoipa::path(
    operation_id = "public_media",
    get,
    path = "/media/{message_id}",
    tag = "media",
    summary = "A file an agent sent, fetched by the provider from the signed link it was given",
    description = "No credentials but the link itself: only files of outbound messages, only \
        with the signature the server put in the link (`sig`).",
    security(()),
    params(("message_id" = MessageId, Path, description = "The message"), PublicQuery),
    responses(
        (status = 200, description = "The file, with its type; images, audio and video inline, \
            anything else as a download", content_type = "*/*", body = Vec<u8>),
        (status = 400, response = BadRequest),
        (status = 403, description = "forbidden: no `sig`, a wrong one, or the file of a \
            customer's message", body = ErrorBody),
        (status = 404, description = "not_found: no such message, or it has no file",
            body = ErrorBody),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn public(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: Query<PublicQuery>,
) -> AppResult<HttpResponse> {
    let m = message_with_file(&state.app, &id).await?;
    let inbox = state.app.inboxes.for_conversation(&m.inbox_id);
    let signed = q
        .sig
        .as_deref()
        .is_some_and(|sig| media::link_signature_ok(&inbox, m.id, sig));
    if m.direction != Direction::Outbound || !signed {
        return Err(AppError::Forbidden("missing or invalid link signature"));
    }
    let path = m.media_path.clone().unwrap_or_default();
    let bytes = media::read_file(&state.app, &path).await?;
    Ok(message_file_response(&m, bytes))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttachQuery {
    /// The file's name as the customer sees it (documents); no slashes.
    #[param(max_length = 200)]
    filename: Option<String>,
    /// Not on Messenger/Instagram.
    #[param(max_length = 1024)]
    caption: Option<String>,
}

/// The file's type, from the body's Content-Type: a single concrete type, not multipart.
pub(super) fn file_type(req: &HttpRequest) -> AppResult<mime::Mime> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .filter(|m| m.type_() != mime::MULTIPART && m.subtype() != mime::STAR)
        .ok_or_else(|| {
            AppError::BadRequest(
                "send the file itself as the body, with its type as Content-Type (e.g. image/jpeg)"
                    .to_owned(),
            )
        })
}

/// A file's name as an agent gives it (`?filename=`): trimmed (blank is absent), refused
/// when longer than 200 characters or holding a path separator or control character, so it
/// can be shown and offered for download as it is.
pub(super) fn checked_filename(filename: Option<String>) -> AppResult<Option<String>> {
    let filename = filename
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty());
    if filename.as_ref().is_some_and(|f| {
        f.chars().count() > MAX_FILENAME_CHARS
            || f.chars().any(|c| c.is_control() || c == '/' || c == '\\')
    }) {
        return Err(AppError::Validation(format!(
            "`filename` must be 1-{MAX_FILENAME_CHARS} characters without slashes"
        )));
    }
    Ok(filename)
}

impl AttachQuery {
    /// The filename and caption, trimmed (blank ones absent), refused when too long, when a
    /// filename holds a path or control character, or for a caption Messenger and Instagram
    /// cannot carry.
    fn checked(self, channel: ChannelKind) -> AppResult<(Option<String>, Option<String>)> {
        let filename = checked_filename(self.filename)?;
        let caption = self
            .caption
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if caption
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CAPTION_CHARS)
        {
            return Err(AppError::Validation(format!(
                "`caption` must be at most {MAX_CAPTION_CHARS} characters"
            )));
        }
        if caption.is_some() && channel == ChannelKind::Meta {
            return Err(AppError::Validation(
                "Messenger and Instagram attachments cannot carry a caption; send the text as a reply"
                    .to_owned(),
            ));
        }
        Ok((filename, caption))
    }
}

/// `POST /api/conversations/{id}/attachments?filename=&caption=`: the raw file as the body,
/// its type in `Content-Type`. Stored, then sent like a reply (the service window applies).
#[utoipa::path(
    operation_id = "attach_file",
    post,
    path = "/api/conversations/{id}/attachments",
    tag = "messages",
    summary = "Send a file (the raw file as the body, its type as Content-Type); stored, then \
        sent like a reply",
    params(("id" = ConversationId, Path, description = "The conversation"), AttachQuery),
    request_body(content = Vec<u8>, content_type = "*/*", description = "The file itself"),
    responses(
        (status = 201, description = "The message", body = MessageView),
        (status = 400, description = "bad_request: no usable Content-Type, multipart, or a \
            malformed query", body = ErrorBody),
        (status = 409, description = "not_assignee; contact_blocked", body = ErrorBody),
        (status = 413, description = "payload_too_large: over server.max_media_bytes",
            body = ErrorBody),
        (status = 422, description = "validation_failed: an API or widget inbox (text only), \
            no server.public_url, an empty file, audio of a type the channel does not play (see \
            `attachments.audio_types` of the inbox), a bad filename or caption, a caption on \
            Messenger/Instagram; window_closed", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn attach(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<AttachQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let conversation: ConversationId =
        id.parse().map_err(|_| AppError::NotFound("conversation"))?;
    let (row, _) = visible(&state, &me, conversation).await?;
    let inbox = state.app.inboxes.for_conversation(&row.inbox_id);
    if matches!(inbox.channel, ChannelKind::Api | ChannelKind::Widget) {
        return Err(AppError::Validation(
            "the api channel carries text only; attachments go to WhatsApp, Twilio and Meta inboxes"
                .to_owned(),
        ));
    }
    if state.app.settings.server.public_url.is_none() {
        return Err(AppError::Validation(
            "server.public_url must be set so that the provider can fetch the file".to_owned(),
        ));
    }
    let mime = file_type(&req)?;
    let essence = mime.essence_str().to_owned();
    media::accepts(inbox.channel, &essence).map_err(AppError::Validation)?;
    let (filename, caption) = q.into_inner().checked(inbox.channel)?;
    let limit = state.app.settings.server.max_media_bytes;
    let bytes = read_limited(payload, limit).await?;
    if bytes.is_empty() {
        return Err(AppError::Validation("the file is empty".to_owned()));
    }
    let message_id = MessageId::new();
    let path = media::relative_path(conversation, message_id);
    media::write_file(&state.app, &path, bytes.to_vec()).await?;
    let msg = SendAttachment {
        agent: me.id,
        only_assignee: state.app.only_assignee(&me),
        message_id,
        kind: MediaKind::from_mime(&essence).into(),
        path: path.clone(),
        mime: essence,
        filename,
        caption,
    };
    match ask(&state.registry, conversation, msg).await {
        Ok(view) => Ok(HttpResponse::Created().json(view)),
        Err(e) => {
            media::remove_file(&state.app, &path).await;
            Err(e)
        }
    }
}
