//! The command line: adding agents, and refusing a bad configuration with the key named.

use std::process::Command;

use crate::helpers::{login, Backend, ServerProcess, TestDb};

fn switchboard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_remove("SWITCHBOARD_CONFIG")
        .env("RUST_LOG", "error");
    cmd
}

#[actix_rt::test]
async fn agent_add_creates_an_agent_who_can_log_in() {
    let db = TestDb::new(Backend::Sqlite);
    let run = |email: &str, password: &str| {
        switchboard()
            .current_dir(&db.dir)
            .env("DATABASE_URL", &db.url)
            .args([
                "agent",
                "add",
                "--email",
                email,
                "--name",
                "Sam Agent",
                "--role",
                "agent",
                "--password",
                password,
            ])
            .output()
            .expect("run")
    };
    let out = run("sam@test.local", "sam-password-1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Added agent sam@test.local"));

    let dup = run("sam@test.local", "sam-password-1");
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let short = run("kim@test.local", "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));

    let config = db.dir.join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndatabase_url = \"{}\"\n[admin]\npassword = \"admin-password-1\"\n",
            db.url
        ),
    )
    .expect("write");
    let server = ServerProcess::start(&config, &[]);
    let token = login(
        &reqwest::Client::new(),
        &server.base,
        "sam@test.local",
        "sam-password-1",
    )
    .await;
    assert_eq!(token.len(), 64);
}

#[test]
fn a_bad_config_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    for (text, key) in [
        ("[server]\nbindd = \"127.0.0.1:1\"\n", "bindd"),
        (
            "[[inbox]]\nid = \"x\"\nchannel = \"api\"\nsecret = \"short\"\n",
            "inbox[0].secret",
        ),
        (
            "[assistant]\nknowledge_base = \"/no/such/file.toml\"\n",
            "assistant.knowledge_base",
        ),
        (
            "[[assistant]]\nid = \"a\"\nknowledge_base = \"/no/such/file.toml\"\n",
            "assistant[0].knowledge_base",
        ),
        (
            "[[assistant]]\nid = \"sales\"\nkind = \"llm\"\nbase_url = \"http://127.0.0.1:9/v1\"\n",
            "assistant[0].model",
        ),
        (
            "[[assistant]]\nid = \"sales\"\nkind = \"gpt\"\n",
            "assistant[0].kind",
        ),
        (
            "[[assistant]]\nid = \"a\"\n[[inbox]]\nid = \"x\"\nchannel = \"widget\"\nsecret = \"0123456789abcdef0\"\nassistant = \"b\"\n",
            "inbox[0].assistant",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("write");
        let out = switchboard()
            .current_dir(dir.path())
            .env("SWITCHBOARD_CONFIG", &path)
            .env("SWITCHBOARD_BIND", "127.0.0.1:0")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("x.db").display()),
            )
            .output()
            .expect("run");
        assert!(!out.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{text}: {stderr}");
    }
}
