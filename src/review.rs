//! The reviewer: reviews every conversation `[review] after_secs` after its latest message,
//! in a bounded pool off the conversation actors.
//!
//! The due time is a column (`review_due_at`) the conversation actor sets in the same
//! commit as each message, so a review due while the server was down happens after it
//! starts. A sweep over the partial index of due conversations hands at most
//! `[review] concurrency` of them to reviews at once; each review reads the conversation on
//! the database's blocking pool, computes the offline review there (CPU, never on an
//! actor's thread), asks the conversation's language model when it has one (falling back to
//! the offline review on any failure), and sends the result to the conversation's actor,
//! which stores it only if no new message made another review due meanwhile. A review whose
//! transcript hash equals the stored one is not made again: only the due time is cleared.

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Notify, Semaphore};

use crate::{
    actors::{
        messages::{ReviewResult, StoreReview},
        registry::{self, Conversations},
    },
    app::AppContext,
    clock,
    db::{
        models::ReviewRecord,
        queries::{self, ReviewedMessage},
    },
    domain::{
        conversation::AiFollowUp,
        review::{
            review, suggest_follow_up, Criterion, CriterionName, Review, ReviewInput, ReviewMessage,
        },
        types::Author,
        ConversationId,
    },
    error::AppResult,
};

/// The latest messages a review reads: enough for any real conversation, bounded so that
/// one endless thread cannot stall the pool.
const MAX_MESSAGES: i64 = 500;
/// Who made a review without a model.
pub const OFFLINE: &str = "offline";

/// Starts the sweep.
pub fn start(app: Arc<AppContext>, registry: Conversations) {
    actix_rt::spawn(run(app, registry));
}

/// How often the sweep looks: a quarter of the delay, between 200 ms and 5 s (so a review
/// with the default ten minutes is at most 5 s late, and a test's one second is on time).
fn sweep_every(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_millis(200), Duration::from_secs(5))
}

/// A review that failed (the database or the actor refused) is not tried again for this long,
/// so it cannot crowd the conversations due after it out of the sweep.
const RETRY_AFTER: Duration = Duration::from_secs(30);

async fn run(app: Arc<AppContext>, registry: Conversations) {
    let settings = app.settings.review.clone();
    let pool = Arc::new(Semaphore::new(settings.concurrency));
    let in_flight: Rc<RefCell<HashSet<ConversationId>>> = Rc::default();
    let failed: Rc<RefCell<HashMap<ConversationId, Instant>>> = Rc::default();
    // A finished review sweeps again at once: a backlog drains as fast as the pool works,
    // not one batch per tick.
    let finished = Rc::new(Notify::new());
    let mut tick = tokio::time::interval(sweep_every(settings.after()));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = finished.notified() => {}
        }
        let free = pool.available_permits();
        if free == 0 {
            continue;
        }
        failed
            .borrow_mut()
            .retain(|_, at| at.elapsed() < RETRY_AFTER);
        let skip = in_flight.borrow().len() + failed.borrow().len();
        let limit = i64::try_from((free + skip).min(10_000)).unwrap_or(i64::MAX);
        let now = clock::now();
        let due = match app
            .store
            .read(move |c| queries::reviews_due(c, now, limit))
            .await
        {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for reviews due");
                continue;
            }
        };
        // Cluster mode: each node reviews the conversations it holds, so none is reviewed
        // (and paid for) twice.
        for id in due.into_iter().filter(|id| registry.holds(*id)) {
            if failed.borrow().contains_key(&id) || !in_flight.borrow_mut().insert(id) {
                continue;
            }
            let Ok(permit) = pool.clone().try_acquire_owned() else {
                in_flight.borrow_mut().remove(&id);
                break;
            };
            let (app, registry) = (app.clone(), registry.clone());
            let (in_flight, failed, finished) =
                (in_flight.clone(), failed.clone(), finished.clone());
            actix_rt::spawn(async move {
                app.metrics.reviews_in_progress.inc();
                let outcome = review_one(&app, &registry, id).await;
                app.metrics.reviews_in_progress.dec();
                match outcome {
                    Ok(()) => finished.notify_one(),
                    Err(e) => {
                        tracing::warn!(conversation_id = %id, error = %e, "review failed; it stays due");
                        failed.borrow_mut().insert(id, Instant::now());
                    }
                }
                in_flight.borrow_mut().remove(&id);
                drop(permit);
            });
        }
    }
}

/// What one review read, and the offline review made of it.
struct Material {
    due_at: chrono::NaiveDateTime,
    input: ReviewInput,
    offline: Review,
    unchanged: bool,
    follow_up: Option<AiFollowUp>,
    assistant: Option<crate::domain::AssistantId>,
}

/// Reviews one conversation and hands the result to its actor.
async fn review_one(
    app: &AppContext,
    registry: &Conversations,
    id: ConversationId,
) -> AppResult<()> {
    let inboxes = app.inboxes.clone();
    let now = clock::now();
    let material = app
        .store
        .read(move |c| {
            let Some((row, messages)) = queries::review_material(c, id, MAX_MESSAGES)? else {
                return Ok(None);
            };
            let Some(due_at) = row.review_due_at else {
                return Ok(None);
            };
            let inbox = inboxes.for_conversation(&row.inbox_id);
            let input = input_of(&row, &messages, now);
            let offline = review(&input);
            let unchanged = row
                .review_record()
                .is_some_and(|r| r.hash == offline.transcript_hash);
            let follow_ups = &inbox.settings.follow_ups;
            let follow_up = match follow_ups.enabled && !unchanged {
                true => {
                    let name = queries::contact(c, row.contact_id)?.and_then(|c| c.name);
                    let after = chrono::Duration::seconds(
                        i64::try_from(follow_ups.after_secs).unwrap_or(i64::MAX / 1_000_000),
                    );
                    suggest_follow_up(&input, after, name.as_deref()).map(|s| AiFollowUp {
                        at: s.at,
                        message: s.message,
                        reason: s.reason,
                    })
                }
                false => None,
            };
            let assistant = row.assistant_id.clone().or(Some(inbox.assistant.clone()));
            Ok(Some(Material {
                due_at,
                input,
                offline,
                unchanged,
                follow_up,
                assistant,
            }))
        })
        .await?;
    let Some(m) = material else {
        return Ok(());
    };
    let result = match m.unchanged {
        true => None,
        false => Some(Arc::new(judge(app, id, &m).await)),
    };
    let msg = StoreReview {
        due_at: m.due_at,
        review: result,
    };
    registry::ask(registry, id, msg).await?;
    Ok(())
}

/// The review to store: the model's when the conversation's assistant is a language model
/// and it answered well, else the offline one.
async fn judge(app: &AppContext, id: ConversationId, m: &Material) -> ReviewResult {
    let offline = &m.offline;
    let mut result = ReviewResult {
        quality_score: i32::from(offline.quality_score),
        record: ReviewRecord {
            summary: offline.summary.clone(),
            rubric: offline.rubric.clone(),
            reviewed_by: OFFLINE.to_owned(),
            hash: offline.transcript_hash.clone(),
            suggested_lead_stage: offline.lead_stage,
        },
        follow_up: m.follow_up.clone(),
    };
    let Some(assistant) = app.assistants.get_or_default(m.assistant.as_ref()) else {
        return result;
    };
    let Some(llm) = assistant.llm.clone() else {
        return result;
    };
    let (answer, usage) = llm.review(&m.input, offline).await;
    if usage.requests > 0 {
        let by = assistant.id().clone();
        let write = app
            .store
            .write(move |c| queries::record_usage(c, id, &by, usage, clock::now()));
        if let Err(e) = write.await {
            tracing::warn!(conversation_id = %id, error = %e, "cannot record the tokens the review used");
        }
    }
    match answer {
        Ok(mut r) => {
            // Agents' marks are facts the model did not see: its accuracy is no higher than
            // the offline one they set, and the score drops by what that takes away.
            if m.input.wrong_answers > 0 {
                let cut = cap_accuracy(&mut r.rubric, &offline.rubric);
                r.quality_score = r.quality_score.saturating_sub(cut);
            }
            result.quality_score = i32::from(r.quality_score);
            result.record.summary = r.summary;
            result.record.rubric = r.rubric;
            result.record.reviewed_by = assistant.id().to_string();
            result.record.suggested_lead_stage = r.lead_stage.or(offline.lead_stage);
        }
        Err(reason) => {
            tracing::info!(conversation_id = %id, %reason, "the model's review failed; keeping the offline one");
        }
    }
    result
}

/// Lowers the model's accuracy criterion to the offline one (which counts agents' marks)
/// when that is lower; the points taken away.
fn cap_accuracy(model: &mut [Criterion], offline: &[Criterion]) -> u8 {
    let Some(floor) = offline.iter().find(|c| c.name == CriterionName::Accuracy) else {
        return 0;
    };
    let Some(c) = model.iter_mut().find(|c| c.name == CriterionName::Accuracy) else {
        return 0;
    };
    if c.score <= floor.score {
        return 0;
    }
    let cut = c.score - floor.score;
    c.score = floor.score;
    c.note = floor.note.clone();
    cut
}

/// The review's view of a conversation: its messages (system events kept for the hash),
/// when it went to a person, and its status.
fn input_of(
    row: &crate::db::models::ConversationRow,
    messages: &[ReviewedMessage],
    now: chrono::NaiveDateTime,
) -> ReviewInput {
    let events = system_events(messages);
    ReviewInput {
        messages: messages
            .iter()
            .map(|m| ReviewMessage {
                author: m.author,
                text: m.body.clone(),
                at: m.sent_at,
            })
            .collect(),
        status: row.status,
        handoffs: events.handoffs,
        resolved_at: row.resolved_at,
        now,
        wrong_answers: events.wrong.len(),
    }
}

/// What the review reads from the thread's system events, each payload parsed once.
struct SystemEvents {
    /// When the conversation went to a person.
    handoffs: Vec<chrono::NaiveDateTime>,
    /// The answers marked wrong now: mark notes in time order, a later "took back" undoing an
    /// earlier mark of the same answer.
    wrong: HashSet<String>,
}

fn system_events(messages: &[ReviewedMessage]) -> SystemEvents {
    let mut events = SystemEvents {
        handoffs: Vec::new(),
        wrong: HashSet::new(),
    };
    for m in messages.iter().filter(|m| m.author == Author::System) {
        let Some(p) = m
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        else {
            continue;
        };
        let id = p["message_id"].as_str();
        match (p["event"].as_str(), id) {
            (Some("handed_off"), _) => events.handoffs.push(m.sent_at),
            (Some("answer_marked_wrong"), Some(id)) => {
                events.wrong.insert(id.to_owned());
            }
            (Some("answer_mark_cleared"), Some(id)) => {
                events.wrong.remove(id);
            }
            _ => {}
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_follows_the_delay_within_bounds() {
        assert_eq!(
            sweep_every(Duration::from_secs(1)),
            Duration::from_millis(250)
        );
        assert_eq!(
            sweep_every(Duration::from_millis(100)),
            Duration::from_millis(200)
        );
        assert_eq!(
            sweep_every(Duration::from_secs(600)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn handoffs_and_marks_are_read_from_system_events() {
        let at = |minute: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .and_then(|d| d.and_hms_opt(10, minute, 0))
                .unwrap_or_default()
        };
        let system = |minute: u32, payload: Option<&str>| ReviewedMessage {
            author: Author::System,
            body: String::new(),
            sent_at: at(minute),
            payload: payload.map(str::to_owned),
        };
        let handoff = r#"{"event":"handed_off","reason":"customer_asked"}"#;
        let mut customer = system(0, Some(handoff));
        customer.author = Author::Customer;
        let events = system_events(&[
            system(1, Some(handoff)),
            system(2, Some(r#"{"event":"closed"}"#)),
            system(3, Some("not json")),
            system(4, None),
            // Not a system event: its payload is not read.
            customer,
            system(
                5,
                Some(r#"{"event":"answer_marked_wrong","message_id":"a"}"#),
            ),
            system(
                6,
                Some(r#"{"event":"answer_marked_wrong","message_id":"b"}"#),
            ),
            system(
                7,
                Some(r#"{"event":"answer_mark_cleared","message_id":"a"}"#),
            ),
            // A mark without the answer it is about counts for nothing.
            system(8, Some(r#"{"event":"answer_marked_wrong"}"#)),
        ]);
        assert_eq!(events.handoffs, vec![at(1)]);
        assert_eq!(events.wrong, HashSet::from(["b".to_owned()]));
    }
}
