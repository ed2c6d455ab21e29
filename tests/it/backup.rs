//! `switchboard backup PATH` while the server runs: the copy opens as a database with every
//! message acknowledged before it; an existing target is refused and left alone; PostgreSQL
//! is told to use its own tools.

use std::process::Command;

use crate::helpers::{binary_config, post_customer, Backend, ServerProcess, TestDb};

fn backup_command(config: &std::path::Path, to: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env("SWITCHBOARD_CONFIG", config)
        .env_remove("DATABASE_URL")
        .args(["backup", &to.display().to_string()])
        .output()
        .expect("run the backup")
}

fn count_messages(url: &str) -> i64 {
    use diesel::prelude::*;
    let mut conn = switchboard::db::Backend::from_url(url)
        .and_then(|b| b.connect())
        .expect("open the copy");
    let switchboard::db::DbConnection::Sqlite(c) = &mut conn else {
        panic!("not SQLite");
    };
    switchboard::db::schema::messages::table
        .filter(switchboard::db::schema::messages::author.eq("customer"))
        .count()
        .get_result(c)
        .expect("count")
}

#[actix_rt::test]
async fn a_backup_taken_while_serving_holds_everything_acknowledged() {
    let db = TestDb::new(Backend::Sqlite);
    let config = binary_config(&db, "");
    let server = ServerProcess::start(&config, &[]);
    let client = reqwest::Client::new();
    for i in 0..30 {
        assert!(post_customer(&client, &server.base, &format!("bk-{i}"), "hello").await);
    }
    let to = db.dir.join("copy.db");
    let out = backup_command(&config, &to);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("Backed up to "), "{said}");
    assert!(!db.dir.join("copy.db.partial").exists());
    assert_eq!(count_messages(&format!("sqlite://{}", to.display())), 30);

    // The server keeps serving; a second backup to the same file is refused.
    assert!(post_customer(&client, &server.base, "bk-after", "hello").await);
    let before = std::fs::read(&to).expect("the copy");
    let out = backup_command(&config, &to);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read(&to).expect("the copy"), before, "left alone");
    server.kill9();
}

#[actix_rt::test]
async fn postgres_is_told_to_use_pg_dump() {
    let db = TestDb::new(Backend::Sqlite);
    let path = db.dir.join("pg.toml");
    std::fs::write(
        &path,
        "[server]\ndatabase_url = \"postgres://nobody@127.0.0.1:1/none\"\n",
    )
    .expect("config");
    let out = backup_command(&path, &db.dir.join("x.db"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pg_dump"), "{err}");
}
