//! One integration binary: every scenario starts the real server on a free port and talks to it
//! over HTTP; scenarios marked with `both_backends!` run on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod cli;
mod engine;
mod input_validation;
mod migrations;
mod outbox;
mod restart;
