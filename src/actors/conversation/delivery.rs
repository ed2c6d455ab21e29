//! What happens to messages after they are written: delivery reports and read watermarks,
//! echoes of messages sent from elsewhere, downloaded or failed media.

use super::*;
use crate::channels::opt_outs;

impl Handler<RecordEcho> for ConversationActor {
    type Result = Reply<()>;

    /// A message the business sent from another tool (the Page inbox, a phone) is shown in the
    /// thread as an agent's; an echo of our own send changes nothing.
    fn handle(&mut self, msg: RecordEcho, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().map(|l| {
            let text = msg
                .text
                .clone()
                .unwrap_or_else(|| "[attachment]".to_owned());
            let (at, provider_sent_at) = believable_time(msg.at, clock::now());
            let mut m = self.new_message(l, Direction::Outbound, Author::Agent, text.clone(), at);
            m.provider_sent_at = provider_sent_at;
            m.external_id = Some(msg.provider_message_id.clone());
            m.delivery_status = Some(DeliveryStatus::Sent);
            Plan {
                messages: vec![m],
                dedupe: Dedupe::Echo {
                    external_id: msg.provider_message_id,
                    text,
                },
                ..Plan::state_only(l.state.clone(), Vec::new())
            }
        });
        match plan {
            Ok(plan) => reply(self.commit(plan).map(|res, _, _| res.map(|_| ()))),
            Err(e) => refused(e),
        }
    }
}

impl Handler<ApplyWatermark> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: ApplyWatermark, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        if let Err(e) = self.loaded() {
            return refused(e);
        }
        self.last_active = Instant::now();
        let store = self.deps.store.clone();
        let conversation_id = self.id;
        let audience = self.audience();
        let fence = self.write_fence();
        let write = async move {
            store
                .write(move |c| {
                    fence::guard(c, fence.as_ref())?;
                    let mut events = Vec::new();
                    for m in queries::outbound_before(c, conversation_id, msg.watermark)? {
                        let current = m.delivery_status.unwrap_or(DeliveryStatus::Queued);
                        if let Some(next) = current.advance(msg.status) {
                            queries::set_delivery_status(c, m.id, next, None)?;
                            let event = ServerEvent::MessageStatus {
                                conversation_id,
                                message_id: m.id,
                                status: next,
                                reason: None,
                            };
                            events.push(Publish::new(event, audience));
                        }
                    }
                    kept(c, fence.as_ref(), events)
                })
                .await
        };
        reply(write.into_actor(self).map(|res, act, ctx| {
            act.after_write(&res, ctx);
            act.publish_all(res?);
            Ok(())
        }))
    }
}

impl ConversationActor {
    /// Changes one message of this conversation in the writer (`change` gets the stored row
    /// and returns the new one, or `None` when nothing changed), then pushes
    /// `message.updated`.
    fn update_message<F>(&mut self, id: MessageId, mut change: F) -> Reply<()>
    where
        F: FnMut(&mut DbConnection, MessageRow) -> AppResult<Option<MessageRow>> + Send + 'static,
    {
        if let Err(e) = self.loaded() {
            return refused(e);
        }
        self.last_active = Instant::now();
        let store = self.deps.store.clone();
        let conversation_id = self.id;
        let audience = self.audience();
        let fence = self.write_fence();
        let write = async move {
            store
                .write(move |c| {
                    fence::guard(c, fence.as_ref())?;
                    let m = queries::message(c, id)?
                        .filter(|m| m.conversation_id == conversation_id)
                        .ok_or(AppError::NotFound("message"))?;
                    let events = change(c, m)?
                        .map(|m| {
                            let event = ServerEvent::MessageUpdated {
                                conversation_id,
                                message: MessageView::from(&m),
                            };
                            Publish::new(event, audience)
                        })
                        .into_iter()
                        .collect();
                    kept(c, fence.as_ref(), events)
                })
                .await
        };
        reply(write.into_actor(self).map(|res, act, ctx| {
            act.after_write(&res, ctx);
            act.publish_all(res?);
            Ok(())
        }))
    }
}

impl Handler<MediaFailed> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: MediaFailed, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        self.update_message(msg.message_id, move |c, m| {
            if m.media_path.is_some() {
                // Stored meanwhile (a retry from another start): nothing failed.
                return Ok(None);
            }
            queries::set_media_failure(c, m.id, &msg.reason)?;
            Ok(Some(MessageRow {
                failure_reason: Some(msg.reason.clone()),
                ..m
            }))
        })
    }
}

impl Handler<MediaStored> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: MediaStored, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        self.update_message(msg.message_id, move |c, m| {
            let mime = msg.mime.clone().or(m.media_mime.clone());
            queries::set_media(c, m.id, &msg.path, mime.as_deref())?;
            Ok(Some(MessageRow {
                media_path: Some(msg.path.clone()),
                media_mime: mime,
                failure_reason: None,
                ..m
            }))
        })
    }
}

impl Handler<ReportDelivery> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: ReportDelivery, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        self.last_active = Instant::now();
        let store = self.deps.store.clone();
        let conversation_id = self.id;
        let audience = self.audience();
        let report = msg.clone();
        let fence = self.write_fence();
        let write = async move {
            store
                .write(move |c| {
                    fence::guard(c, fence.as_ref())?;
                    let (changed, merged_echo, opted_out) =
                        record_report(c, conversation_id, &report)?;
                    let deleted = merged_echo.map(|echo| ServerEvent::MessageDeleted {
                        conversation_id,
                        message_id: echo,
                        replaced_by: report.message_id,
                    });
                    let status = changed.map(|(status, reason)| ServerEvent::MessageStatus {
                        conversation_id,
                        message_id: report.message_id,
                        status,
                        reason,
                    });
                    let events = deleted
                        .into_iter()
                        .chain(status)
                        .map(|event| Publish::new(event, audience))
                        .collect();
                    Ok((kept(c, fence.as_ref(), events)?, opted_out))
                })
                .await
        };
        reply(write.into_actor(self).map(move |res, act, ctx| {
            act.after_write(&res, ctx);
            let (events, opted_out) = res?;
            if opted_out {
                // A parked opt-out unsubscribed the contact: take the new row.
                ctx.notify(ContactChanged);
            }
            act.publish_all(events);
            Ok(())
        }))
    }
}

/// What a delivery report changed: the message's new status and failure reason, if it
/// moved, the echo it replaced, if one was stored before the provider's id was known, and
/// whether a parked opt-out status unsubscribed the contact.
type ReportOutcome = (
    Option<(DeliveryStatus, Option<String>)>,
    Option<MessageId>,
    bool,
);

/// Records a delivery report in the writer: ends the outbox job on sent or failed, records
/// the provider's id (merging an echo stored before it was known), and moves the status
/// forward with any statuses the provider sent before the id was recorded.
fn record_report(
    c: &mut DbConnection,
    conversation_id: ConversationId,
    msg: &ReportDelivery,
) -> AppResult<ReportOutcome> {
    let id = msg.message_id;
    let Some(m) = queries::message(c, id)? else {
        return Ok((None, None, false));
    };
    if m.conversation_id != conversation_id {
        return Err(AppError::NotFound("message"));
    }
    // Sent or failed ends the outbox's job; later statuses come from the provider.
    if matches!(msg.status, DeliveryStatus::Sent | DeliveryStatus::Failed) {
        queries::delete_outbox(c, id)?;
    }
    let mut reports = vec![(msg.status, msg.reason.clone())];
    let mut merged_echo = None;
    let mut opted_out = false;
    if let Some(pid) = &msg.provider_message_id {
        merged_echo = record_provider_id(c, &m, pid)?;
        // Statuses the provider sent before we recorded its id.
        for p in queries::take_pending_statuses(c, &m.inbox_id, pid)? {
            // A failure that says the person opted out (131050, 21610) unsubscribes the
            // contact as it would have had it arrived after the id: in this transaction.
            let opt_out = p.status == DeliveryStatus::Failed
                && p.reason.as_deref().is_some_and(opt_outs::is_opt_out_reason);
            if let (true, Some(row)) = (opt_out, queries::conversation(c, conversation_id)?) {
                let detail = json!({ "by": "provider", "reason": p.reason });
                opted_out |= opt_outs::unsubscribe_by_provider(
                    c,
                    row.contact_id,
                    p.created_at,
                    Some(conversation_id),
                    &detail,
                )?;
            }
            reports.push((p.status, p.reason));
        }
    }
    let current = m.delivery_status.unwrap_or(DeliveryStatus::Queued);
    let mut next = current;
    let mut reason = m.failure_reason;
    for (status, why) in reports {
        if let Some(n) = next.advance(status) {
            next = n;
            if n == DeliveryStatus::Failed {
                reason = why;
            }
        }
    }
    if next == current {
        return Ok((None, merged_echo, opted_out));
    }
    queries::set_delivery_status(c, id, next, reason.as_deref())?;
    Ok((Some((next, reason)), merged_echo, opted_out))
}

/// Records the provider's id of our message. A Meta echo of this very send may have been
/// stored before its id was known: it was ours all along, so it is deleted and its id
/// returned. An id that belongs to another message is not recorded.
fn record_provider_id(
    c: &mut DbConnection,
    m: &MessageRow,
    pid: &str,
) -> AppResult<Option<MessageId>> {
    let taken = queries::message_by_external_id(c, &m.inbox_id, pid)?.filter(|o| o.id != m.id);
    let Some(other) = taken else {
        queries::set_external_id(c, m.id, pid)?;
        return Ok(None);
    };
    let stored_echo = other.conversation_id == m.conversation_id
        && other.direction == Direction::Outbound
        && other.author == Author::Agent
        && other.agent_id.is_none()
        && other.client_id.is_none();
    if !stored_echo {
        tracing::warn!(provider_message_id = %pid, "the provider's id already belongs to another message; not recorded");
        return Ok(None);
    }
    queries::delete_message(c, other.id)?;
    queries::set_external_id(c, m.id, pid)?;
    Ok(Some(other.id))
}
