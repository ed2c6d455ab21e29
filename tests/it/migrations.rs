//! Migrations run up → down → up on each backend, and every model loads from the empty tables
//! (a guard against drift between `schema.rs` and the SQL).

use diesel::prelude::*;
use switchboard::db::{
    models::{
        AgentRow, AuthTokenRow, CannedResponseRow, ContactFileRow, ContactRow, ConversationRow,
        MemoryRow, MessageRow, OutboxRow, PendingStatusRow, ReferralRow, SegmentMemberRow,
        SegmentRow,
    },
    revert_all_migrations, run_migrations,
    schema::{
        agents, auth_tokens, canned_responses, contact_files, contact_memories, contacts,
        conversations, messages, outbox, pending_statuses, referrals, segment_members, segments,
    },
    Backend as DbBackend,
};

use crate::{
    both_backends,
    helpers::{Backend, TestDb},
};

async fn up_down_up_and_every_model_loads(b: Backend) {
    let db = TestDb::new(b);
    let backend = DbBackend::from_url(&db.url).expect("url");
    let mut conn = backend.connect().expect("connect");
    run_migrations(&mut conn).expect("up");
    revert_all_migrations(&mut conn).expect("down");
    run_migrations(&mut conn).expect("up again");
    assert!(agents::table
        .select(AgentRow::as_select())
        .load(&mut conn)
        .expect("agents")
        .is_empty());
    assert!(canned_responses::table
        .select(CannedResponseRow::as_select())
        .load(&mut conn)
        .expect("canned responses")
        .is_empty());
    assert!(auth_tokens::table
        .select(AuthTokenRow::as_select())
        .load(&mut conn)
        .expect("tokens")
        .is_empty());
    assert!(contacts::table
        .select(ContactRow::as_select())
        .load(&mut conn)
        .expect("contacts")
        .is_empty());
    assert!(conversations::table
        .select(ConversationRow::as_select())
        .load(&mut conn)
        .expect("conversations")
        .is_empty());
    assert!(messages::table
        .select(MessageRow::as_select())
        .load(&mut conn)
        .expect("messages")
        .is_empty());
    assert!(outbox::table
        .select(OutboxRow::as_select())
        .load(&mut conn)
        .expect("outbox")
        .is_empty());
    assert!(pending_statuses::table
        .select(PendingStatusRow::as_select())
        .load(&mut conn)
        .expect("pending statuses")
        .is_empty());
    assert!(contact_memories::table
        .select(MemoryRow::as_select())
        .load(&mut conn)
        .expect("memories")
        .is_empty());
    assert!(segments::table
        .select(SegmentRow::as_select())
        .load(&mut conn)
        .expect("segments")
        .is_empty());
    assert!(segment_members::table
        .select(SegmentMemberRow::as_select())
        .load(&mut conn)
        .expect("segment members")
        .is_empty());
    assert!(referrals::table
        .select(ReferralRow::as_select())
        .load(&mut conn)
        .expect("referrals")
        .is_empty());
    assert!(contact_files::table
        .select(ContactFileRow::as_select())
        .load(&mut conn)
        .expect("contact files")
        .is_empty());
}

both_backends!(up_down_up_and_every_model_loads);
