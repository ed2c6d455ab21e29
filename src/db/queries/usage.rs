//! Tokens language models used: per conversation (`conversation_usage`, keyed by the
//! conversation) and per assistant and UTC day (`assistant_usage`, keyed by both; the daily
//! budget is read from it at start). Both are counters, added to with an upsert.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::{prelude::*, upsert::excluded};

use crate::{
    assistant::Usage,
    db::{
        schema::{assistant_usage, conversation_usage},
        DbConnection,
    },
    domain::{AssistantId, ConversationId},
    error::AppResult,
};

/// Tokens used by a conversation, or an assistant on a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TokenCounts {
    /// Calls made to the model (retries included).
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds `usage` to the conversation's and the assistant's counters.
pub fn record_usage(
    conn: &mut DbConnection,
    conversation: ConversationId,
    assistant: &AssistantId,
    usage: Usage,
    now: NaiveDateTime,
) -> AppResult<()> {
    let (requests, prompt, completion) = (
        i64::from(usage.requests),
        as_i64(usage.prompt_tokens),
        as_i64(usage.completion_tokens),
    );
    let day = now.date().format("%Y-%m-%d").to_string();
    macro_rules! upsert {
        ($c:expr) => {{
            diesel::insert_into(assistant_usage::table)
                .values((
                    assistant_usage::assistant_id.eq(assistant),
                    assistant_usage::day.eq(&day),
                    assistant_usage::requests.eq(requests),
                    assistant_usage::prompt_tokens.eq(prompt),
                    assistant_usage::completion_tokens.eq(completion),
                ))
                .on_conflict((assistant_usage::assistant_id, assistant_usage::day))
                .do_update()
                .set((
                    assistant_usage::requests
                        .eq(assistant_usage::requests + excluded(assistant_usage::requests)),
                    assistant_usage::prompt_tokens
                        .eq(assistant_usage::prompt_tokens
                            + excluded(assistant_usage::prompt_tokens)),
                    assistant_usage::completion_tokens.eq(assistant_usage::completion_tokens
                        + excluded(assistant_usage::completion_tokens)),
                ))
                .execute($c)?;
            diesel::insert_into(conversation_usage::table)
                .values((
                    conversation_usage::conversation_id.eq(conversation),
                    conversation_usage::requests.eq(requests),
                    conversation_usage::prompt_tokens.eq(prompt),
                    conversation_usage::completion_tokens.eq(completion),
                    conversation_usage::updated_at.eq(now),
                ))
                .on_conflict(conversation_usage::conversation_id)
                .do_update()
                .set((
                    conversation_usage::requests
                        .eq(conversation_usage::requests + excluded(conversation_usage::requests)),
                    conversation_usage::prompt_tokens.eq(conversation_usage::prompt_tokens
                        + excluded(conversation_usage::prompt_tokens)),
                    conversation_usage::completion_tokens.eq(conversation_usage::completion_tokens
                        + excluded(conversation_usage::completion_tokens)),
                    conversation_usage::updated_at.eq(now),
                ))
                .execute($c)?;
        }};
    }
    match conn {
        DbConnection::Pg(c) => upsert!(c),
        DbConnection::Sqlite(c) => upsert!(c),
    }
    Ok(())
}

/// Each assistant's tokens on `day`.
pub fn usage_on(
    conn: &mut DbConnection,
    day: NaiveDate,
) -> AppResult<Vec<(AssistantId, TokenCounts)>> {
    let rows: Vec<(AssistantId, i64, i64, i64)> = assistant_usage::table
        .filter(assistant_usage::day.eq(day.format("%Y-%m-%d").to_string()))
        .select((
            assistant_usage::assistant_id,
            assistant_usage::requests,
            assistant_usage::prompt_tokens,
            assistant_usage::completion_tokens,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, requests, prompt_tokens, completion_tokens)| {
            let counts = TokenCounts {
                requests,
                prompt_tokens,
                completion_tokens,
            };
            (id, counts)
        })
        .collect())
}

/// The tokens a conversation used (zero when no model answered it).
pub fn conversation_usage(
    conn: &mut DbConnection,
    conversation: ConversationId,
) -> AppResult<TokenCounts> {
    let row: Option<(i64, i64, i64)> = conversation_usage::table
        .find(conversation)
        .select((
            conversation_usage::requests,
            conversation_usage::prompt_tokens,
            conversation_usage::completion_tokens,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map_or_else(
        TokenCounts::default,
        |(requests, prompt_tokens, completion_tokens)| TokenCounts {
            requests,
            prompt_tokens,
            completion_tokens,
        },
    ))
}
