//! The review's result, stored by the conversation's single writer: the summary, score and
//! rubric, the suggested lead stage (taken only when none is set) and the AI's follow-up —
//! and the follow-up's template when it comes due after the window closed.

use super::*;

impl Handler<StoreReview> for ConversationActor {
    type Result = Reply<bool>;

    /// A review is of the conversation as it was when it became due: if a change made a new
    /// review due since (the due time moved), this one is dropped and the next one follows.
    fn handle(&mut self, msg: StoreReview, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let l = match self.loaded() {
            Ok(l) => l,
            Err(e) => return refused(e),
        };
        if l.row.review_due_at != Some(msg.due_at) {
            return reply(fut::ready(Ok(false)));
        }
        let plan = match &msg.review {
            // Unchanged since the last review: only the due time goes.
            None => Plan {
                reviewed: true,
                ..Plan::state_only(l.state.clone(), Vec::new())
            },
            Some(review) => {
                let event = Event::ReviewSuggested {
                    lead_stage: review.record.suggested_lead_stage,
                    follow_up: review.follow_up.clone(),
                };
                match transition(&l.state, &event, clock::now(), l.policy()) {
                    Ok((state, effects)) => Plan {
                        reviewed: true,
                        review: Some(review.clone()),
                        ..Plan::state_only(state, effects)
                    },
                    Err(e) => return refused(e.into()),
                }
            }
        };
        let stored = msg.review.is_some();
        reply(self.commit(plan).map(move |res, act, _| {
            res?;
            if stored {
                tracing::debug!(parent: &act.span, "review stored");
            }
            Ok(true)
        }))
    }
}

impl ConversationActor {
    /// The inbox's follow-up template, addressed to this customer: each of its parameters is
    /// the contact's name (or "there" without one). `None` when the template is gone from the
    /// configuration.
    pub(super) fn follow_up_template(
        &self,
        l: &Loaded,
        now: NaiveDateTime,
    ) -> Option<(MessageRow, bool)> {
        let name = l.inbox.settings.follow_ups.template.as_deref()?;
        let template = l
            .inbox
            .settings
            .templates()
            .iter()
            .find(|t| t.name == name)?;
        let who = l
            .contact
            .name
            .as_deref()
            .and_then(|n| n.split_whitespace().next())
            .unwrap_or("there")
            .to_owned();
        let parameters = vec![who; template.parameters.len()];
        let (mut m, send) = self.outbound(l, Author::Assistant, template.render(&parameters), now);
        m.kind = MessageKind::Template;
        m.payload = Some(
            json!({
                "automatic": "follow_up",
                "template": {
                    "name": template.name,
                    "language": template.language,
                    "parameters": parameters,
                    "content_sid": template.content_sid,
                },
            })
            .to_string(),
        );
        Some((m, send))
    }
}
