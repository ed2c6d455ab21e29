//! The audience of a broadcast: the contacts of its segments read page by page, each turned
//! into one recipient row — with the address the broadcast's inbox sends to and the message
//! rendered for them — or skipped with the reason (`domain::broadcast::snapshot`).

use std::collections::HashSet;

use chrono::NaiveDateTime;

use crate::{
    app::AppContext,
    db::{
        models::{BroadcastRow, ContactRow, RecipientRow, SegmentRow},
        queries::{self, ResolvedFilter},
    },
    domain::{
        access::Viewer,
        broadcast::{
            render_parameters, snapshot, Candidate, ContactFields, Planned, RecipientStatus,
            SkipReason,
        },
        segment::SegmentFilter,
        types::{ChannelKind, Network, OptOutSource, SegmentKind},
        AgentId, ContactId, InboxId, RecipientId,
    },
    error::AppResult,
    inbox::Inbox,
    providers::{phone, twilio},
};

/// Contacts read per query while the audience is gathered.
const PAGE: i64 = 500;

/// Where `inbox` sends to this contact, if anywhere: its own id when the contact is the
/// inbox's (a WhatsApp id without a phone number works too); otherwise the person's phone
/// in the form the channel addresses (the API channel: email, then phone, as a conversation
/// an agent starts there).
pub fn address_on(inbox: &Inbox, network: Option<Network>, c: &ContactRow) -> Option<String> {
    let own = (c.inbox_id == inbox.id).then(|| c.external_id.clone());
    let phone = c.phone.as_deref().filter(|p| !p.trim().is_empty());
    match inbox.channel {
        ChannelKind::Whatsapp => own.or(phone.map(|p| phone::without_plus(p).to_owned())),
        ChannelKind::Twilio => {
            let network = match network {
                Some(Network::Whatsapp) => Network::Whatsapp,
                _ => Network::Sms,
            };
            phone.map(|p| twilio::address(network, p))
        }
        ChannelKind::Api => own.or(c.email.clone()).or(phone.map(str::to_owned)),
        ChannelKind::Meta | ChannelKind::Widget => None,
    }
}

/// The fields a broadcast's `{{placeholders}}` may name.
pub fn fields_of(c: &ContactRow) -> ContactFields {
    let name = c.name.clone().filter(|n| !n.trim().is_empty());
    ContactFields {
        first_name: name
            .as_deref()
            .and_then(|n| n.split_whitespace().next())
            .map(str::to_owned),
        name,
        phone: c.phone.clone(),
        email: c.email.clone(),
    }
}

/// What a broadcast sends, before it is rendered for each contact.
#[derive(Debug, Clone)]
pub enum Message {
    Text(String),
    Template { parameters: Vec<String> },
}

impl Message {
    pub fn of(row: &BroadcastRow) -> Message {
        match &row.text {
            Some(t) => Message::Text(t.clone()),
            None => Message::Template {
                parameters: row.parameter_list(),
            },
        }
    }

    /// The message for one contact as stored in its row (a JSON string or array), or why it
    /// cannot be sent to them.
    pub fn render(&self, fields: &ContactFields, fallback: Option<&str>) -> Option<String> {
        match self {
            Message::Text(t) => render_parameters(std::slice::from_ref(t), fields, fallback)
                .ok()
                .and_then(|mut v| v.pop())
                .map(|t| serde_json::Value::String(t).to_string()),
            Message::Template { parameters } => render_parameters(parameters, fields, fallback)
                .ok()
                .map(|v| serde_json::json!(v).to_string()),
        }
    }
}

/// The recipient rows for these contacts (in order); `taken` holds the addresses already
/// given to earlier contacts of the same audience.
pub fn plan(
    broadcast: &BroadcastRow,
    inbox: &Inbox,
    contacts: &[ContactRow],
    taken: &mut HashSet<String>,
    now: NaiveDateTime,
) -> Vec<RecipientRow> {
    let message = Message::of(broadcast);
    let candidates: Vec<Candidate> = contacts
        .iter()
        .map(|c| Candidate {
            contact: c.id,
            address: address_on(inbox, broadcast.network, c),
            blocked: c.blocked,
            unsubscribed: c.unsubscribed_at.is_some()
                && c.unsubscribed_reason != Some(OptOutSource::Provider),
            provider_opted_out: c.unsubscribed_at.is_some()
                && c.unsubscribed_reason == Some(OptOutSource::Provider),
        })
        .collect();
    let by_id: std::collections::HashMap<ContactId, &ContactRow> =
        contacts.iter().map(|c| (c.id, c)).collect();
    snapshot(&candidates, taken)
        .into_iter()
        .map(|planned| {
            let row = |contact, address, status, skip_reason, rendered| RecipientRow {
                id: RecipientId::new(),
                broadcast_id: broadcast.id,
                contact_id: contact,
                address,
                status,
                skip_reason,
                rendered,
                provider_message_id: None,
                error_code: None,
                error_title: None,
                attempts: 0,
                next_attempt_at: None,
                sent_at: None,
                delivered_at: None,
                read_at: None,
                failed_at: None,
                replied_at: None,
                created_at: now,
                updated_at: now,
            };
            match planned {
                Planned::Skip { contact, reason } => {
                    row(contact, None, RecipientStatus::Skipped, Some(reason), None)
                }
                Planned::Send { contact, address } => {
                    let fields = by_id
                        .get(&contact)
                        .map(|c| fields_of(c))
                        .unwrap_or_default();
                    match message.render(&fields, broadcast.fallback.as_deref()) {
                        Some(rendered) => row(
                            contact,
                            Some(address),
                            RecipientStatus::Queued,
                            None,
                            Some(rendered),
                        ),
                        // The address stays free: another contact with it may still get it.
                        None => {
                            taken.remove(&address);
                            row(
                                contact,
                                None,
                                RecipientStatus::Skipped,
                                Some(SkipReason::MissingField),
                                None,
                            )
                        }
                    }
                }
            }
        })
        .collect()
}

/// A segment with its filter resolved against the configured inboxes.
pub struct AudienceSegment {
    pub row: SegmentRow,
    pub filter: Option<(SegmentFilter, Option<Vec<InboxId>>)>,
}

/// The broadcast's segments as they are now (a deleted segment contributes nobody).
pub async fn segments_of(
    app: &AppContext,
    broadcast: &BroadcastRow,
) -> AppResult<Vec<AudienceSegment>> {
    let ids = broadcast.segments();
    let rows = app
        .store
        .read(move |c| {
            let mut rows = Vec::new();
            for id in ids {
                if let Some(row) = queries::segment(c, id)? {
                    rows.push(row);
                }
            }
            Ok(rows)
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let filter = crate::http::segments::stored_filter(app, &row);
            AudienceSegment { row, filter }
        })
        .collect())
}

/// Every contact of the segments, each once, in segment then contact order.
pub async fn contacts_of(
    app: &AppContext,
    segments: &[AudienceSegment],
) -> AppResult<Vec<ContactRow>> {
    let everyone = Viewer {
        agent: AgentId(uuid::Uuid::nil()),
        sees_all: true,
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for segment in segments {
        if segment.row.kind == SegmentKind::Dynamic && segment.filter.is_none() {
            continue;
        }
        let mut after: Option<ContactId> = None;
        loop {
            let (row, filter) = (segment.row.clone(), segment.filter.clone());
            let page = app
                .store
                .read(move |c| {
                    let resolved = filter.as_ref().map(|(f, inboxes)| ResolvedFilter {
                        filter: f,
                        inboxes: inboxes.clone(),
                    });
                    queries::segment_contacts(c, &row, resolved.as_ref(), everyone, after, PAGE)
                })
                .await?;
            let full = page.len() as i64 == PAGE;
            after = page.last().map(|c| c.id);
            out.extend(page.into_iter().filter(|c| seen.insert(c.id)));
            if !full {
                break;
            }
        }
    }
    Ok(out)
}
