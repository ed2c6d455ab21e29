//! The conversation itself: status events through the state machine, due follow-ups, the
//! closing window, auto-assignment, tags, the contact's block, permanent deletion.

use super::*;
use crate::domain::notes::Note;

impl Handler<ApplyEvent> for ConversationActor {
    type Result = Reply<ConversationView>;

    fn handle(&mut self, msg: ApplyEvent, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        match self.apply_event(&msg.0) {
            Ok(plan) => reply(self.commit(plan).map(|res, act, _| {
                res.and_then(|_| {
                    act.view()
                        .ok_or_else(|| AppError::internal("conversation not loaded"))
                })
            })),
            Err(e) => refused(e),
        }
    }
}

impl Handler<FollowUpFired> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: FollowUpFired, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        match self.apply_event(&Event::FollowUpDue) {
            Ok(plan) => AtomicResponse::new(Box::pin(self.commit(plan).map(|res, act, ctx| {
                if let Err(e) = res {
                    // The follow-up is still due in the row: try again shortly (the registry's
                    // scan only starts actors that are not running).
                    tracing::error!(parent: &act.span, error = %e, "could not record the due follow-up; trying again");
                    let delay = retry_delay(3);
                    act.follow_up_timer = Some(ctx.run_later(delay, |act, ctx| {
                        act.follow_up_timer = None;
                        ctx.notify(FollowUpFired);
                    }));
                }
            }))),
            Err(e) => {
                tracing::error!(parent: &self.span, error = %e, "follow-up could not fire");
                AtomicResponse::new(Box::pin(fut::ready(())))
            }
        }
    }
}

impl Handler<SnoozeFired> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: SnoozeFired, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        match self.apply_event(&Event::SnoozeDue) {
            Ok(plan) => AtomicResponse::new(Box::pin(self.commit(plan).map(|res, act, ctx| {
                if let Err(e) = res {
                    // The row still says snoozed until a past time: try again shortly.
                    tracing::error!(parent: &act.span, error = %e, "could not end the snooze; trying again");
                    act.arm_snooze(retry_delay(3), ctx);
                }
            }))),
            Err(e) => {
                tracing::error!(parent: &self.span, error = %e, "snooze could not end");
                AtomicResponse::new(Box::pin(fut::ready(())))
            }
        }
    }
}

impl Handler<WindowClosed> for ConversationActor {
    type Result = ();

    fn handle(&mut self, _: WindowClosed, _: &mut Self::Context) {
        self.publish_updated();
    }
}

impl Handler<AutoAssign> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: AutoAssign, _: &mut Self::Context) -> Self::Result {
        // Someone may have taken it meanwhile: only an unassigned conversation is auto-assigned.
        if self
            .loaded
            .as_ref()
            .is_none_or(|l| l.state.assignee.is_some())
        {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        match self.apply_event(&Event::Assigned {
            agent: Some(msg.0),
            by: By::System,
        }) {
            Ok(plan) => AtomicResponse::new(Box::pin(self.commit(plan).map(|res, act, ctx| {
                if let Err(e) = res {
                    // Still unassigned and waiting: pick again shortly (the agent picked may
                    // be gone by then).
                    tracing::warn!(parent: &act.span, error = %e, "auto-assignment not stored; trying again");
                    ctx.run_later(retry_delay(3), |act, ctx| act.auto_assign(ctx));
                }
            }))),
            Err(_) => AtomicResponse::new(Box::pin(fut::ready(()))),
        }
    }
}

impl Handler<SetTags> for ConversationActor {
    type Result = Reply<ConversationView>;

    fn handle(&mut self, msg: SetTags, _: &mut Self::Context) -> Self::Result {
        let plan = match self.loaded() {
            Ok(l) => Plan {
                tags: Some(msg.0),
                ..Plan::state_only(l.state.clone(), Vec::new())
            },
            Err(e) => return refused(e),
        };
        reply(self.commit(plan).map(|res, act, _| {
            res.and_then(|_| {
                act.view()
                    .ok_or_else(|| AppError::internal("conversation not loaded"))
            })
        }))
    }
}

impl Handler<MarkAnswer> for ConversationActor {
    type Result = Reply<()>;

    /// The mark and a note in the thread saying who marked it, in one commit; the review is
    /// due again, since the mark changes its accuracy score.
    fn handle(&mut self, msg: MarkAnswer, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let l = match self.loaded() {
            Ok(l) => l,
            Err(e) => return refused(e),
        };
        let now = clock::now();
        let note = Note::AnswerMarked {
            message: msg.message,
            by: msg.by,
            wrong: msg.wrong,
            reason: msg.reason.clone(),
        };
        let names = &self.deps.agent_names;
        let text = note.text(&|id| names.get(id));
        let mut m = self.new_message(l, Direction::Internal, Author::System, text, now);
        m.payload = Some(note.payload().to_string());
        let plan = Plan {
            messages: vec![m],
            mark: Some(AnswerMark {
                message: msg.message,
                wrong: msg.wrong.then_some((msg.by, now, msg.reason)),
            }),
            ..Plan::state_only(l.state.clone(), Vec::new())
        };
        reply(self.commit(plan).map(|res, _, _| res.map(|_| ())))
    }
}

impl Handler<DeleteConversation> for ConversationActor {
    type Result = Reply<()>;

    /// Permanent: the row goes, and with it (by cascade) messages, tags and pending deliveries.
    /// The audit log keeps who did it, when, and whose conversation it was, in the same
    /// transaction.
    fn handle(&mut self, msg: DeleteConversation, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let l = match self.loaded() {
            Ok(l) => l,
            Err(e) => return refused(e),
        };
        let audit = AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            at: clock::now(),
            agent_id: Some(msg.by),
            agent_email: msg.by_email.clone(),
            action: "conversation.deleted".to_owned(),
            subject: self.id.to_string(),
            detail: Some(
                json!({
                    "inbox_id": l.row.inbox_id,
                    "contact_id": l.contact.id,
                    "contact_name": l.contact.name,
                    "created_at": l.row.created_at,
                    "last_message_at": l.row.last_message_at,
                })
                .to_string(),
            ),
        };
        tracing::info!(agent_id = %msg.by, agent = %msg.by_email, "conversation deleted for good");
        let store = self.deps.store.clone();
        let id = self.id;
        let audience = self.audience();
        let fence = self.write_fence();
        let write = async move {
            store
                .write(move |c| {
                    fence::guard(c, fence.as_ref())?;
                    queries::insert_audit(c, &audit)?;
                    queries::delete_conversation(c, id)?;
                    let event = ServerEvent::ConversationDeleted {
                        conversation_id: id,
                    };
                    kept(c, fence.as_ref(), vec![Publish::new(event, audience)])
                })
                .await
        };
        reply(write.into_actor(self).map(|res, act, ctx| {
            act.after_write(&res, ctx);
            let events = res?;
            // Its files go with it (inbound downloads and attachments).
            remove_files(act.deps.media_dir.join(act.id.to_string()), act.id);
            let needed_reply = act.loaded.as_ref().is_some_and(|l| l.state.needs_reply());
            act.publish_all(events);
            if needed_reply {
                act.deps.badge.do_send(Recount);
            }
            act.loaded = None;
            act.load_error = Some(AppError::NotFound("conversation"));
            act.leave_registry(ctx);
            Ok(())
        }))
    }
}

impl Handler<crate::actors::messages::Relinquished> for ConversationActor {
    type Result = ();

    fn handle(&mut self, _: crate::actors::messages::Relinquished, ctx: &mut Self::Context) {
        tracing::info!(parent: &self.span, "the shard moved to another node; stopping");
        ctx.stop();
    }
}

impl Handler<InjectPanic> for ConversationActor {
    type Result = ();

    #[allow(clippy::panic)]
    fn handle(&mut self, _: InjectPanic, _: &mut Self::Context) {
        panic!("injected panic (test hook)");
    }
}
impl Handler<WhichThread> for ConversationActor {
    type Result = MessageResult<WhichThread>;

    fn handle(&mut self, _: WhichThread, _: &mut Self::Context) -> Self::Result {
        MessageResult(std::thread::current().id())
    }
}

impl Handler<ContactChanged> for ConversationActor {
    type Result = Reply<()>;

    /// The contact was blocked or unblocked: take the stored row and tell the agents.
    fn handle(&mut self, _: ContactChanged, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let id = match self.loaded() {
            Ok(l) => l.contact.id,
            Err(e) => return refused(e),
        };
        let store = self.deps.store.clone();
        let read = async move { store.read(move |c| queries::contact(c, id)).await };
        reply(read.into_actor(self).map(|res, act, _| {
            let contact = res?.ok_or(AppError::NotFound("contact"))?;
            if let Some(l) = act.loaded.as_mut() {
                l.contact = contact;
            }
            act.publish_updated();
            Ok(())
        }))
    }
}

/// Removes every file of a deleted conversation, in the background.
fn remove_files(dir: PathBuf, conversation: ConversationId) {
    actix_rt::spawn(async move {
        let result = tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::error!(conversation_id = %conversation, error = %e, "cannot remove the files of a deleted conversation");
        }
    });
}
