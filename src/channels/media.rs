//! Files in conversations: inbound attachments downloaded through the provider's API after the
//! webhook was answered, files agents attach, and their removal with the conversation.
//!
//! Every file lives at `<data_dir>/media/<conversation_id>/<message_id>`; the message row
//! keeps that path (relative to the data directory), the MIME type and the original name.
//! Agents read files through `GET /api/files/{message_id}`; providers fetch the files agents
//! send from `<server.public_url>/media/{message_id}?sig=<hex HMAC-SHA256>` (signed with the
//! inbox secret, so links cannot be guessed).

use std::{path::PathBuf, sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::http_client::{execute, FetchError};
use crate::domain::types::ChannelKind;
use crate::providers::{
    normalized::{ProviderRequest, RequestBody},
    whatsapp,
};
use crate::{
    actors::{
        messages::{MediaDownload, MediaFailed, MediaStored},
        registry::{ask, Conversations},
    },
    app::AppContext,
    clock,
    config::ChannelSettings,
    db::{models::MediaSource, queries},
    domain::{ContactFileId, ContactId, ConversationId, MessageId},
    error::{AppError, AppResult},
    inbox::Inbox,
};

/// Quick attempts in one round of a download.
const DOWNLOAD_ATTEMPTS: u32 = 4;
/// Rounds before a file that keeps failing is left for the next start; between rounds the
/// wait grows (1, 2, 3… times `outbox.max_backoff_ms`, 5 minutes by default).
const DOWNLOAD_ROUNDS: u32 = 5;
/// Downloads resumed at start: files of messages received within this many days.
const RESUME_DAYS: i64 = 7;
/// A file may take longer than a send: at least this long per request.
const MIN_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The folder of the data directory that holds conversations' files, one folder each.
pub const MEDIA_DIR: &str = "media";

/// The folder of `media/` that holds the files agents upload to contacts, one folder per
/// contact. Conversations' folders are named by their UUID, so the two cannot meet.
pub const CONTACTS_DIR: &str = "contacts";

/// The audio types (MIME essences) a channel delivers as an audio or voice message, as its
/// provider documents them; empty for the text-only channels. WhatsApp (Cloud API and through
/// Twilio) takes Opus only in Ogg, AAC, MP3, AMR and MP4 audio; Messenger and Instagram take
/// MP3, MP4/M4A, AAC and WAV. The dashboard records voice notes in the first of these its
/// browser can produce (`GET /api/inboxes`: `attachments.audio_types`).
pub fn audio_types(channel: ChannelKind) -> &'static [&'static str] {
    match channel {
        ChannelKind::Whatsapp | ChannelKind::Twilio => &[
            "audio/ogg",
            "audio/mp4",
            "audio/mpeg",
            "audio/aac",
            "audio/amr",
        ],
        ChannelKind::Meta => &["audio/mp4", "audio/mpeg", "audio/aac", "audio/wav"],
        ChannelKind::Api | ChannelKind::Widget => &[],
    }
}

/// Whether a channel takes an attachment of this type (a MIME essence): the text-only
/// channels take none; audio must be of a type the channel plays ([`audio_types`]); images,
/// video and documents are left to the provider.
pub fn accepts(channel: ChannelKind, essence: &str) -> Result<(), String> {
    if matches!(channel, ChannelKind::Api | ChannelKind::Widget) {
        return Err("the api channel carries text only; attachments go to WhatsApp, Twilio and Meta inboxes".to_owned());
    }
    let types = audio_types(channel);
    if essence.starts_with("audio/") && !types.contains(&essence) {
        return Err(format!(
            "this channel does not take {essence} audio; send one of: {}",
            types.join(", ")
        ));
    }
    Ok(())
}

/// `media/<conversation_id>/<message_id>`, relative to the data directory.
pub fn relative_path(conversation: ConversationId, message: MessageId) -> String {
    format!("{MEDIA_DIR}/{conversation}/{message}")
}

/// `media/contacts/<contact_id>/<file_id>`, relative to the data directory.
pub fn contact_file_path(contact: ContactId, file: ContactFileId) -> String {
    format!("{MEDIA_DIR}/{CONTACTS_DIR}/{contact}/{file}")
}

/// Whether a stored path has one of the two shapes this module writes:
/// `media/<uuid>/<uuid>` or `media/contacts/<uuid>/<uuid>`. A path read from the database
/// is never trusted further than that (no `..`, no absolute path, nothing else under `media/`).
fn stored_path_ok(relative: &str) -> bool {
    // The canonical form only, as `Display` writes ids (no braces, `urn:` or uppercase).
    let uuid = |part: &str| Uuid::parse_str(part).is_ok_and(|u| u.to_string() == part);
    let parts: Vec<&str> = relative.split('/').collect();
    match parts.as_slice() {
        [MEDIA_DIR, folder, file] => uuid(folder) && uuid(file),
        [MEDIA_DIR, CONTACTS_DIR, contact, file] => uuid(contact) && uuid(file),
        _ => false,
    }
}

/// The absolute path of a stored file, refusing anything but the shapes above.
pub fn absolute_path(app: &AppContext, relative: &str) -> AppResult<PathBuf> {
    if !stored_path_ok(relative) {
        return Err(AppError::internal(format!("stored media path {relative}")));
    }
    Ok(app.settings.server.data_dir.join(relative))
}

/// Writes a file (to a temporary name, then renamed, so a reader never sees half a file).
pub async fn write_file(app: &AppContext, relative: &str, bytes: Vec<u8>) -> AppResult<()> {
    let path = absolute_path(app, relative)?;
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("part");
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::internal(format!("cannot store a file: {e}")))
}

/// Reads a stored file.
pub async fn read_file(app: &AppContext, relative: &str) -> AppResult<Vec<u8>> {
    let path = absolute_path(app, relative)?;
    tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AppError::NotFound("file"),
            _ => AppError::internal(format!("cannot read a file: {e}")),
        })
}

/// Removes one stored file (a send refused after the upload was written).
pub async fn remove_file(app: &AppContext, relative: &str) {
    if let Ok(path) = absolute_path(app, relative) {
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
    }
}

fn link_mac(secret: &str, message: MessageId) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"media:");
    mac.update(
        message
            .0
            .hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
    Some(mac)
}

/// The signature that lets a provider fetch an outbound file without logging in.
pub fn link_signature(inbox: &Inbox, message: MessageId) -> String {
    link_mac(inbox.secret.expose(), message)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Checks a link signature in constant time.
pub fn link_signature_ok(inbox: &Inbox, message: MessageId, sig: &str) -> bool {
    let (Some(mac), Ok(given)) = (link_mac(inbox.secret.expose(), message), hex::decode(sig))
    else {
        return false;
    };
    inbox.configured && !inbox.secret.expose().is_empty() && mac.verify_slice(&given).is_ok()
}

/// The public URL of an outbound file, or `None` without `server.public_url`.
pub fn public_link(app: &AppContext, inbox: &Inbox, message: MessageId) -> Option<String> {
    let base = app.settings.server.public_url.as_ref()?.base();
    Some(format!(
        "{base}/media/{message}?sig={}",
        link_signature(inbox, message)
    ))
}

/// Downloads each file in the background (the webhook has been answered already).
pub fn spawn_downloads(
    app: &Arc<AppContext>,
    registry: &Conversations,
    inbox: &Arc<Inbox>,
    downloads: Vec<MediaDownload>,
) {
    for job in downloads {
        let (app, registry, inbox) = (app.clone(), registry.clone(), inbox.clone());
        actix_rt::spawn(async move { download(&app, &registry, &inbox, job).await });
    }
}

/// Resumes the downloads a stop interrupted: at start on a single node; in cluster mode,
/// those of each shard this node takes, whose previous holder may have left them unfinished.
pub fn resume_downloads(app: Arc<AppContext>, registry: Conversations) {
    if app.cluster.is_none() {
        actix_rt::spawn(resume_in(app, registry, None));
        return;
    }
    let mut taken = registry.taken_news();
    actix_rt::spawn(async move {
        loop {
            match taken.recv().await {
                Ok(shards) => resume_in(app.clone(), registry.clone(), Some(shards)).await,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        batches = n,
                        "missed taken shards; their downloads resume at their next take"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Starts the unfinished downloads of the conversations of `shards` (all: `None`).
async fn resume_in(
    app: Arc<AppContext>,
    registry: Conversations,
    shards: Option<Arc<std::collections::BTreeSet<crate::cluster::Shard>>>,
) {
    let since = clock::now() - chrono::Duration::days(RESUME_DAYS);
    let rows = match app
        .store
        .read(move |c| queries::media_downloads_pending(c, since, 1000))
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "cannot look for unfinished downloads");
            return;
        }
    };
    let in_shards = |id| {
        shards
            .as_ref()
            .is_none_or(|s| s.contains(&crate::cluster::Shard::of(id)))
    };
    for m in rows.into_iter().filter(|m| in_shards(m.conversation_id)) {
        let Some(inbox) = app.inboxes.get(&m.inbox_id).cloned() else {
            continue;
        };
        let Some(source) = m.media_source.as_deref().and_then(MediaSource::decode) else {
            continue;
        };
        let job = MediaDownload {
            conversation_id: m.conversation_id,
            message_id: m.id,
            source,
            mime: m.media_mime,
        };
        spawn_downloads(&app, &registry, &inbox, vec![job]);
    }
}

/// Fetches, stores and records one file. A failure is recorded on the message (the thread
/// says "could not download: why" instead of "downloading…"); a temporary one is tried again
/// in rounds with growing pauses, then at the next start.
async fn download(
    app: &Arc<AppContext>,
    registry: &Conversations,
    inbox: &Inbox,
    job: MediaDownload,
) {
    let round_pause = Duration::from_millis(app.settings.outbox.max_backoff_ms);
    for round in 1..=DOWNLOAD_ROUNDS {
        let error = match download_round(app, inbox, &job).await {
            Ok((bytes, mime)) => {
                let stored = store(app, registry, &job, bytes, mime.or(job.mime.clone())).await;
                if let Err(AppError::Moved { .. }) = stored {
                    // Another node holds the conversation now, and resumes the download.
                    tracing::info!(message_id = %job.message_id, "a download's conversation moved to another node");
                    return;
                }
                if let Err(e) = stored {
                    // Our own disk or database: worth another round.
                    tracing::warn!(message_id = %job.message_id, error = %e, round, "cannot keep a downloaded file");
                    failed(
                        registry,
                        &job,
                        &format!("could not store the attachment ({e}); trying again"),
                    )
                    .await;
                    tokio::time::sleep(round_pause * round).await;
                    continue;
                }
                return;
            }
            Err(Failure::Permanent(e)) => {
                tracing::warn!(message_id = %job.message_id, error = %e, "media download failed");
                failed(
                    registry,
                    &job,
                    &format!("could not download the attachment: {e}"),
                )
                .await;
                return;
            }
            Err(Failure::Transient(e)) => e,
        };
        if round == DOWNLOAD_ROUNDS {
            tracing::warn!(message_id = %job.message_id, error = %error, "media download failed; will try again at the next start");
            failed(registry, &job, &format!("could not download the attachment ({error}); it is tried again when the server restarts")).await;
            return;
        }
        tracing::info!(message_id = %job.message_id, error = %error, round, "media download failed; trying again later");
        let pause = round_pause * round;
        failed(
            registry,
            &job,
            &format!(
                "could not download the attachment yet ({error}); trying again in {}",
                human(pause)
            ),
        )
        .await;
        tokio::time::sleep(pause).await;
    }
}

/// A few quick attempts; the last failure if none worked.
async fn download_round(
    app: &Arc<AppContext>,
    inbox: &Inbox,
    job: &MediaDownload,
) -> Result<(Vec<u8>, Option<String>), Failure> {
    let mut delay = Duration::from_millis(app.settings.outbox.initial_backoff_ms);
    let mut attempt = 1;
    loop {
        match fetch(app, inbox, &job.source).await {
            Err(Failure::Transient(e)) if attempt < DOWNLOAD_ATTEMPTS => {
                tracing::debug!(message_id = %job.message_id, error = %e, attempt, "media download failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 4).min(Duration::from_millis(app.settings.outbox.max_backoff_ms));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// "3 min", "40 s": how long until the next round, for the message.
fn human(d: Duration) -> String {
    match d.as_secs() {
        0 => format!("{} ms", d.as_millis()),
        s if s < 120 => format!("{s} s"),
        s => format!("{} min", s / 60),
    }
}

/// Records a download failure on its message (through its conversation's actor).
async fn failed(registry: &Conversations, job: &MediaDownload, reason: &str) {
    let msg = MediaFailed {
        message_id: job.message_id,
        reason: reason.to_owned(),
    };
    match ask(registry, job.conversation_id, msg).await {
        Ok(()) | Err(AppError::NotFound(_)) => {}
        Err(e) => {
            tracing::warn!(message_id = %job.message_id, error = %e, "cannot record a failed download");
        }
    }
}

/// Writes the file and records it on its message. `Err` when that could not be done and is
/// worth trying again; a conversation deleted meanwhile is not an error (its file goes).
async fn store(
    app: &Arc<AppContext>,
    registry: &Conversations,
    job: &MediaDownload,
    bytes: Vec<u8>,
    mime: Option<String>,
) -> AppResult<()> {
    let path = relative_path(job.conversation_id, job.message_id);
    write_file(app, &path, bytes).await?;
    let stored = MediaStored {
        message_id: job.message_id,
        path: path.clone(),
        mime,
    };
    match ask(registry, job.conversation_id, stored).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // The file must not stay without its message.
            remove_file(app, &path).await;
            match e {
                AppError::NotFound(_) => Ok(()),
                e => Err(e),
            }
        }
    }
}

enum Failure {
    Transient(String),
    Permanent(String),
}

/// The bytes and MIME type of a provider's file.
async fn fetch(
    app: &AppContext,
    inbox: &Inbox,
    source: &MediaSource,
) -> Result<(Vec<u8>, Option<String>), Failure> {
    let url = match (source, &inbox.settings.channel) {
        (MediaSource::ProviderId(id), ChannelSettings::Whatsapp(s)) => {
            // Step 1: where the file is (a short-lived URL).
            let token = s.access_token.expose();
            let req = whatsapp::media_download_request(s.api_base(), s.graph_version(), id, token);
            let answer = get(app, &req, 64 * 1024).await?;
            whatsapp::parse_media_url_response(&answer)
                .map_err(|e| Failure::Permanent(format!("media lookup answer: {e}")))?
                .url
        }
        (MediaSource::ProviderId(_), _) => {
            return Err(Failure::Permanent(
                "a provider media id on an inbox that is not WhatsApp".to_owned(),
            ))
        }
        (MediaSource::Url(url), _) => url.clone(),
    };
    let req = match &inbox.settings.channel {
        // Step 2 needs the same token; so do `url` sources in newer WhatsApp webhooks.
        ChannelSettings::Whatsapp(s) => {
            whatsapp::media_fetch_request(&url, s.access_token.expose())
        }
        // Twilio's media need the account's credentials when media protection is on; they
        // are only ever sent to Twilio's own API host.
        ChannelSettings::Twilio(s) if url.starts_with(&format!("{}/", s.api_base())) => {
            let sid = s.account_sid.as_str();
            let auth = BASE64.encode(format!("{sid}:{}", inbox.secret.expose()));
            ProviderRequest::new("GET", url, format!("Basic {auth}"), RequestBody::Empty)
        }
        // Meta's CDN URLs are pre-signed.
        _ => ProviderRequest {
            method: "GET",
            url,
            headers: Vec::new(),
            body: RequestBody::Empty,
        },
    };
    let limit = app.settings.server.max_media_bytes;
    match execute(app, &req, limit, download_timeout(app)).await {
        Ok(a) if (200..300).contains(&a.status) => Ok((a.body, a.content_type)),
        Ok(a) => Err(status_failure(a.status)),
        Err(FetchError::TooLarge { limit }) => Err(Failure::Permanent(format!(
            "the file is larger than server.max_media_bytes ({limit})"
        ))),
        Err(e) => Err(Failure::Transient(e.to_string())),
    }
}

fn download_timeout(app: &AppContext) -> Duration {
    Duration::from_millis(app.settings.outbox.request_timeout_ms).max(MIN_DOWNLOAD_TIMEOUT)
}

async fn get(app: &AppContext, req: &ProviderRequest, limit: usize) -> Result<Vec<u8>, Failure> {
    match execute(app, req, limit, download_timeout(app)).await {
        Ok(a) if (200..300).contains(&a.status) => Ok(a.body),
        Ok(a) => Err(status_failure(a.status)),
        Err(e) => Err(Failure::Transient(e.to_string())),
    }
}

fn status_failure(status: u16) -> Failure {
    let e = format!("the provider answered HTTP {status}");
    if status >= 500 || matches!(status, 408 | 429) {
        Failure::Transient(e)
    } else {
        Failure::Permanent(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_refused_in_a_type_the_channel_does_not_play() {
        assert!(accepts(ChannelKind::Whatsapp, "audio/ogg").is_ok());
        assert!(accepts(ChannelKind::Whatsapp, "audio/mp4").is_ok());
        assert!(accepts(ChannelKind::Whatsapp, "image/png").is_ok());
        let e = accepts(ChannelKind::Whatsapp, "audio/webm").expect_err("webm");
        assert!(e.contains("audio/ogg"), "{e}");
        assert!(accepts(ChannelKind::Meta, "audio/ogg").is_err());
        assert!(accepts(ChannelKind::Api, "image/png").is_err());
        assert!(audio_types(ChannelKind::Widget).is_empty());
    }

    #[test]
    fn only_the_paths_this_module_writes_are_read() {
        let (c, m) = (ConversationId::new(), MessageId::new());
        let (contact, file) = (ContactId::new(), ContactFileId::new());
        assert!(stored_path_ok(&relative_path(c, m)));
        assert!(stored_path_ok(&contact_file_path(contact, file)));
        for bad in [
            "".to_owned(),
            "media".to_owned(),
            format!("media/{c}"),
            format!("media/{c}/../{m}"),
            format!("media/../{c}/{m}"),
            format!("/media/{c}/{m}"),
            format!("media/{c}/{m}/x"),
            format!("media/contacts/{contact}"),
            format!("media/contacts/../{file}"),
            format!("media/other/{contact}/{file}"),
            format!("media/contacts/{contact}/{file}/.."),
            format!("media//{c}/{m}"),
        ] {
            assert!(!stored_path_ok(&bad), "{bad}");
        }
    }
}
