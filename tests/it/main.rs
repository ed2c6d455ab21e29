//! One integration binary: every scenario starts the real server on a free port and talks to it
//! over HTTP; scenarios marked with `both_backends!` run on SQLite and on PostgreSQL.

// A failed expectation in a test is a test failure: panicking is how tests report it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod fixtures;
mod helpers;

mod access;
mod answers;
mod api_fuzz;
mod assistants;
mod auth;
mod backup;
mod broadcasts;
mod browser;
mod browser_a11y;
mod browser_answers;
mod browser_attach;
mod browser_broadcasts;
mod browser_bulk;
mod browser_canned;
mod browser_keys;
mod browser_new_conversation;
mod browser_notify;
mod browser_profile;
mod browser_reports;
mod browser_review;
mod browser_segments;
mod browser_snooze;
mod browser_spanish;
mod browser_widget_language;
mod bulk;
mod canned_responses;
mod cdp;
mod cli;
mod contact_files;
mod contact_profile;
mod contacts;
mod csat;
mod engine;
mod follow_ups;
mod graceful_stop;
mod handoff_ack;
mod hostile_text;
mod input_validation;
mod late_messages;
mod memories;
mod meta;
mod migrations;
mod never_unanswered;
mod notifications;
mod outbox;
mod realtime;
mod referral;
mod reports;
mod restart;
mod reviews;
mod segments;
mod snooze;
mod storage;
mod twilio;
mod unstorable_text;
mod urgency;
mod whatsapp;
mod widget;
mod widget_language;
