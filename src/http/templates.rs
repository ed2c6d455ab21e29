//! What the composer needs to write first: the inboxes with their approved templates, sending
//! a template (allowed outside the service window), and starting a conversation with a
//! customer who has never written.

use crate::http::extract::Json;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::conversations::visible;
use crate::{
    actors::{
        messages::{SendAgentReply, SendTemplate},
        registry::{ask, Conversations},
    },
    app::AppState,
    auth::CurrentAgent,
    channels::media,
    clock,
    config::TemplateSettings,
    db::queries::{self, ContactInput},
    domain::{types::ChannelKind, ConversationId},
    error::{AppError, AppResult, ErrorBody},
    http::openapi::{AgentRefusals, ChangeRefusals},
    inbox::Inbox,
    providers::{api::MAX_TEXT_CHARS, normalized::Network, phone, twilio},
    views::{ConversationView, MessageView},
};

const MAX_NAME_CHARS: usize = 200;

/// An inbox, for the composer and for starting conversations.
#[derive(Serialize, ToSchema)]
#[schema(as = Inbox)]
pub struct InboxView<'a> {
    id: &'a str,
    name: &'a str,
    channel: ChannelKind,
    /// The networks its conversations use (Twilio: SMS and WhatsApp).
    networks: Vec<Network>,
    /// Free-form messages are allowed this long after the customer's last message.
    #[schema(required = true)]
    service_window_hours: Option<i64>,
    /// A person may answer this long (Messenger / Instagram `HUMAN_AGENT`).
    #[schema(required = true)]
    agent_window_days: Option<i64>,
    #[schema(value_type = Vec<TemplateSettings>)]
    templates: &'a [TemplateSettings],
    /// `POST /api/conversations` can start a conversation here, identified by this field.
    #[schema(value_type = Option<StartWith>, required = true)]
    start_with: Option<&'static str>,
    /// Whether a first message must be a template (channels with a service window).
    start_needs_template: bool,
    /// A closing asks the customer for a 1–5 rating (`csat = true`).
    csat: bool,
    /// The AI follows up on quiet customers (`auto_follow_up = true`).
    auto_follow_up: bool,
    /// What the composer may attach here (`POST /api/conversations/{id}/attachments`);
    /// `null` on the text-only channels (api, widget).
    #[schema(required = true)]
    attachments: Option<AttachmentRules>,
}

/// The attachments an inbox takes, for the composer to refuse early what the server refuses.
#[derive(Serialize, ToSchema)]
pub struct AttachmentRules {
    /// The largest file, in bytes (`server.max_media_bytes`).
    max_bytes: usize,
    /// Whether a caption may go with the file (not on Messenger/Instagram).
    caption: bool,
    /// The audio types (MIME essences) the channel plays, preferred first; audio of any
    /// other type is refused. Voice notes are recorded in one of these.
    audio_types: &'static [&'static str],
}

/// What starting a conversation needs (documents `InboxView::start_with`; `null`:
/// conversations start when the customer writes).
#[derive(ToSchema)]
#[allow(dead_code)]
enum StartWith {
    #[schema(rename = "phone")]
    Phone,
    #[schema(rename = "phone_or_email")]
    PhoneOrEmail,
}

#[derive(Serialize, ToSchema)]
pub struct InboxList<'a> {
    items: Vec<InboxView<'a>>,
}

fn inbox_view(inbox: &Inbox, max_bytes: usize) -> InboxView<'_> {
    let networks = match inbox.channel {
        ChannelKind::Twilio => vec![Network::Sms, Network::Whatsapp],
        _ => inbox.fixed_network().into_iter().collect(),
    };
    let (start_with, start_needs_template) = match inbox.channel {
        ChannelKind::Whatsapp => (Some("phone"), true),
        // SMS may start with text; WhatsApp through Twilio needs a template.
        ChannelKind::Twilio => (Some("phone"), false),
        ChannelKind::Api | ChannelKind::Widget => (Some("phone_or_email"), false),
        // Messenger and Instagram only let a business answer people who wrote first.
        ChannelKind::Meta => (None, false),
    };
    InboxView {
        id: inbox.id.as_str(),
        name: inbox.settings.display_name(),
        channel: inbox.channel,
        networks,
        service_window_hours: inbox.policy.windows.service.map(|d| d.num_hours()),
        agent_window_days: inbox.policy.windows.agent.map(|d| d.num_days()),
        templates: inbox.settings.templates(),
        start_with,
        start_needs_template,
        csat: inbox.settings.csat,
        auto_follow_up: inbox.settings.follow_ups.enabled,
        attachments: (!matches!(inbox.channel, ChannelKind::Api | ChannelKind::Widget)).then(
            || AttachmentRules {
                max_bytes,
                caption: inbox.channel != ChannelKind::Meta,
                audio_types: media::audio_types(inbox.channel),
            },
        ),
    }
}

/// `GET /api/inboxes`: every inbox with its channel and approved templates, for the composer.
#[utoipa::path(
    operation_id = "list_inboxes",
    get,
    path = "/api/inboxes",
    tag = "inboxes",
    summary = "Inboxes with their channel and approved templates, for the composer",
    responses(
        (status = 200, description = "Every inbox", body = InboxList<'_>),
        AgentRefusals,
    ),
)]
pub async fn list(state: web::Data<AppState>, _me: CurrentAgent) -> AppResult<HttpResponse> {
    let inboxes = state.app.inboxes.all();
    let max_bytes = state.app.settings.server.max_media_bytes;
    let items: Vec<InboxView<'_>> = inboxes.iter().map(|i| inbox_view(i, max_bytes)).collect();
    Ok(HttpResponse::Ok().json(InboxList { items }))
}

/// The template by name, and by language when given (needed only when the name exists in
/// several languages).
pub(crate) fn find_template<'a>(
    inbox: &'a Inbox,
    name: &str,
    language: Option<&str>,
) -> AppResult<&'a TemplateSettings> {
    let mut matching = inbox
        .settings
        .templates()
        .iter()
        .filter(|t| t.name == name && language.is_none_or(|l| t.language == l));
    match (matching.next(), matching.next()) {
        (Some(t), None) => Ok(t),
        (Some(_), Some(_)) => Err(AppError::Validation(format!(
            "template `{name}` exists in several languages; give `language`"
        ))),
        (None, _) => Err(AppError::Validation(format!(
            "inbox `{}` has no approved template `{name}`{}",
            inbox.id,
            language.map(|l| format!(" in `{l}`")).unwrap_or_default()
        ))),
    }
}

fn check_parameters(template: &TemplateSettings, parameters: &[String]) -> AppResult<()> {
    template
        .check_parameters(parameters)
        .map_err(AppError::Validation)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// An approved template's name.
    name: String,
    /// Needed only when the template exists in several languages.
    language: Option<String>,
    /// One per `{{n}}`, in order.
    #[serde(default)]
    parameters: Vec<String>,
    /// Makes retries safe: the same id twice sends once. 1-128 bytes.
    #[schema(min_length = 1, max_length = 128)]
    client_id: Option<String>,
}

/// `POST /api/conversations/{id}/template`: send an approved template, also outside the
/// service window.
#[utoipa::path(
    operation_id = "send_template",
    post,
    path = "/api/conversations/{id}/template",
    tag = "messages",
    summary = "Send an approved template (also outside the service window)",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = TemplateRequest,
    responses(
        (status = 201, description = "The message", body = MessageView),
        (status = 409, description = "not_assignee; contact_blocked", body = ErrorBody),
        (status = 422, description = "validation_failed: unknown template or language, wrong \
            parameters, a bad client_id", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn send(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<TemplateRequest>,
) -> AppResult<HttpResponse> {
    let id: ConversationId = id.parse().map_err(|_| AppError::NotFound("conversation"))?;
    let (row, _) = visible(&state, &me, id).await?;
    let inbox = state.app.inboxes.for_conversation(&row.inbox_id);
    let TemplateRequest {
        name,
        language,
        parameters,
        client_id,
    } = body.into_inner();
    if client_id
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > 128)
    {
        return Err(AppError::Validation(
            "`client_id` must be 1-128 bytes".to_owned(),
        ));
    }
    let template = find_template(&inbox, &name, language.as_deref())?;
    check_parameters(template, &parameters)?;
    let msg = SendTemplate {
        agent: me.id,
        only_assignee: state.app.only_assignee(&me),
        name: template.name.clone(),
        language: template.language.clone(),
        parameters,
        client_id,
    };
    let message = ask(&state.registry, id, msg).await?;
    Ok(HttpResponse::Created().json(message))
}

/// Who to write to, and the first message: `template` (with `parameters`) or `text`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The inbox id.
    inbox: String,
    /// The contact's name.
    #[schema(max_length = 200)]
    name: Option<String>,
    /// Normalised to E.164 (the inbox's default_country_code for national numbers).
    phone: Option<String>,
    /// API and widget inboxes.
    email: Option<String>,
    /// Twilio inboxes: `sms` (default) or `whatsapp`.
    network: Option<Network>,
    /// An approved template's name…
    template: Option<String>,
    /// Needed when the template's name exists in several languages.
    language: Option<String>,
    /// One per `{{n}}` of the template, in order.
    #[serde(default)]
    parameters: Vec<String>,
    /// …or, where no window applies (SMS, the API channel), free text.
    #[schema(max_length = 4096)]
    text: Option<String>,
}

/// The conversation and its first message.
#[derive(Serialize, ToSchema)]
pub struct Started {
    conversation: ConversationView,
    message: MessageView,
    /// A new conversation (201), or the customer's existing one (200).
    created: bool,
}

/// Who the customer is on this inbox, from what the agent typed.
fn contact_for(inbox: &Inbox, req: &StartRequest) -> AppResult<(ContactInput, Option<Network>)> {
    let (name, phone, email) = typed_fields(inbox, req)?;
    let (external_id, network) = address_on(inbox, req.network, &phone, &email)?;
    Ok((
        ContactInput {
            external_id,
            name,
            phone,
            email,
        },
        network,
    ))
}

/// The name, phone (in E.164, with the inbox's default country) and email the agent typed,
/// trimmed; blank ones are absent.
fn typed_fields(
    inbox: &Inbox,
    req: &StartRequest,
) -> AppResult<(Option<String>, Option<String>, Option<String>)> {
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let name = present(&req.name);
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
    {
        return Err(AppError::Validation(format!(
            "`name` must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    let phone = present(&req.phone)
        .map(|p| {
            phone::to_e164(&p, inbox.settings.default_country_code())
                .map_err(|e| AppError::Validation(format!("`phone`: {e}")))
        })
        .transpose()?;
    let email = present(&req.email);
    if email
        .as_ref()
        .is_some_and(|e| !e.contains('@') || e.chars().count() > 254)
    {
        return Err(AppError::Validation(
            "`email` is not an email address".to_owned(),
        ));
    }
    Ok((name, phone, email))
}

/// The customer's address on this inbox's channel (what its webhooks call them), and the
/// network for a Twilio inbox (SMS unless WhatsApp is asked for).
fn address_on(
    inbox: &Inbox,
    network: Option<Network>,
    phone: &Option<String>,
    email: &Option<String>,
) -> AppResult<(String, Option<Network>)> {
    if network.is_some() && inbox.channel != ChannelKind::Twilio {
        return Err(AppError::Validation(
            "`network` applies to Twilio inboxes only".to_owned(),
        ));
    }
    let need_phone =
        || AppError::Validation(format!("a {} conversation needs `phone`", inbox.channel));
    match inbox.channel {
        ChannelKind::Whatsapp => {
            let e164 = phone.as_deref().ok_or_else(need_phone)?;
            // The WhatsApp id is the number without its `+`, as in the webhooks.
            Ok((
                phone::without_plus(e164).to_owned(),
                Some(Network::Whatsapp),
            ))
        }
        ChannelKind::Twilio => {
            let e164 = phone.as_deref().ok_or_else(need_phone)?;
            let network = match network {
                None | Some(Network::Sms) => Network::Sms,
                Some(Network::Whatsapp) => Network::Whatsapp,
                Some(other) => {
                    return Err(AppError::Validation(format!(
                        "`network` must be sms or whatsapp for a Twilio inbox, not {other}"
                    )))
                }
            };
            Ok((twilio::address(network, e164), Some(network)))
        }
        ChannelKind::Meta => Err(AppError::Validation(
            "Messenger and Instagram conversations start when the customer writes".to_owned(),
        )),
        ChannelKind::Api | ChannelKind::Widget => {
            let id = email
                .clone()
                .or(phone.clone())
                .ok_or_else(|| AppError::Validation("give `phone` or `email`".to_owned()))?;
            Ok((id, None))
        }
    }
}

/// The first message of a conversation an agent starts, validated before anything is stored
/// so that a refused one leaves no empty conversation.
enum First {
    Template(SendTemplate),
    Text(SendAgentReply),
}

impl First {
    /// An approved template, or free text where no service window applies.
    fn of(
        inbox: &Inbox,
        req: &StartRequest,
        me: &CurrentAgent,
        windowed: bool,
    ) -> AppResult<First> {
        match (&req.template, &req.text) {
            (Some(name), None) => {
                let template = find_template(inbox, name, req.language.as_deref())?;
                check_parameters(template, &req.parameters)?;
                Ok(First::Template(SendTemplate {
                    agent: me.id,
                    only_assignee: false,
                    name: template.name.clone(),
                    language: template.language.clone(),
                    parameters: req.parameters.clone(),
                    client_id: None,
                }))
            }
            (None, Some(text)) if !windowed => {
                let text = text.trim().to_owned();
                if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                    return Err(AppError::Validation(format!(
                        "`text` must be 1-{MAX_TEXT_CHARS} characters"
                    )));
                }
                Ok(First::Text(SendAgentReply {
                    agent: me.id,
                    only_assignee: false,
                    text,
                    client_id: None,
                    private_note: false,
                }))
            }
            (None, Some(_)) | (None, None) if windowed => Err(AppError::Validation(
                "this channel only allows an approved `template` as the first message".to_owned(),
            )),
            _ => Err(AppError::Validation(
                "give either `template` (with `parameters`) or `text`".to_owned(),
            )),
        }
    }

    /// Sends it through the conversation's actor, under the reply policy.
    async fn send(
        self,
        registry: &Conversations,
        id: ConversationId,
        only_assignee: bool,
    ) -> AppResult<MessageView> {
        match self {
            First::Template(mut m) => {
                m.only_assignee = only_assignee;
                ask(registry, id, m).await
            }
            First::Text(mut m) => {
                m.only_assignee = only_assignee;
                ask(registry, id, m).await
            }
        }
    }
}

/// `POST /api/conversations`: write first to a customer who has never written (or find the
/// conversation they have). On channels with a service window the first message must be an
/// approved template; on SMS and the API channel it may be text.
#[utoipa::path(
    operation_id = "start_conversation",
    post,
    path = "/api/conversations",
    tag = "conversations",
    summary = "Write first to a customer (or find their conversation): an approved template, or \
        text where no window applies (SMS, API)",
    request_body = StartRequest,
    responses(
        (status = 200, description = "The customer already had a conversation here; the \
            message was added to it", body = Started),
        (status = 201, description = "Started", body = Started),
        (status = 409, description = "not_assignee; contact_blocked", body = ErrorBody),
        (status = 422, description = "validation_failed: unknown inbox or template, wrong \
            parameters, bad phone, text where a template is required, Messenger/Instagram",
            body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn start(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<StartRequest>,
) -> AppResult<HttpResponse> {
    let req = body.into_inner();
    let inbox = state
        .app
        .inboxes
        .get(&req.inbox)
        .cloned()
        .ok_or_else(|| AppError::Validation(format!("`inbox`: no inbox `{}`", req.inbox)))?;
    let (contact, network) = contact_for(&inbox, &req)?;
    let windowed = inbox.policy_for(network).windows.service.is_some();
    let first = First::of(&inbox, &req, &me, windowed)?;
    let (inbox_id, now) = (inbox.id.clone(), clock::now());
    let (id, created) = state
        .app
        .store
        .write(move |c| queries::resolve_conversation(c, &inbox_id, &contact, network, now))
        .await?;
    if !created {
        // Someone already talks with this customer here: the reply policy applies.
        visible(&state, &me, id).await?;
    }
    let message = first
        .send(&state.registry, id, state.app.only_assignee(&me))
        .await?;
    let (row, contact) = visible(&state, &me, id).await?;
    let (conversation_id, store) = (row.id, &state.app.store);
    let tags = store
        .read(move |c| queries::tags_of(c, std::slice::from_ref(&conversation_id)))
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    let conversation = ConversationView::from_rows(&row, &contact, &tags, &inbox, clock::now());
    let status = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(Started {
        conversation,
        message,
        created,
    });
    Ok(status)
}
