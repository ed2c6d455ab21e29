//! The settings' own tests: parsing, environment overrides and the checks, each refusal
//! naming its key.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::domain::types::ChannelKind;

const GOOD: &str = r#"
    [server]
    bind = "127.0.0.1:9000"
    [[inbox]]
    id = "support"
    channel = "api"
    secret = "0123456789abcdef"
    callback_url = "http://127.0.0.1:9999/cb"
    window_hours = 24
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> Settings {
    Settings::parse(text, no_env).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn refused(text: &str) -> String {
    match Settings::parse(text, no_env) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_good_file_loads_typed() {
    let s = load(GOOD);
    assert_eq!(s.server.bind, "127.0.0.1:9000".parse().unwrap());
    let ChannelSettings::Api(api) = &s.inboxes[0].channel else {
        panic!("not an api inbox")
    };
    assert_eq!(api.window_hours.map(|h| h.get()), Some(24));
    assert_eq!(
        api.callback_url.as_ref().map(HttpUrl::as_str),
        Some("http://127.0.0.1:9999/cb")
    );
    assert_eq!(
        s.inbox("support").map(InboxSettings::kind),
        Some(ChannelKind::Api)
    );
}

#[test]
fn the_shipped_example_is_valid() {
    let s = load(include_str!("../../switchboard.toml"));
    assert!(!s.inboxes.is_empty());
}

#[test]
fn the_shipped_channel_examples_are_valid_once_uncommented() {
    let text = include_str!("../../switchboard.toml");
    let (_, examples) = text.split_once("---- Real channels").unwrap();
    let uncommented: String = examples
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("# ")?;
            let key = rest.split(" = ").next().unwrap_or_default();
            let is_toml = rest.starts_with("[[")
                || (rest.contains(" = ")
                    && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            is_toml.then(|| format!("{rest}\n"))
        })
        .collect();
    let s = load(&uncommented);
    let channels: Vec<ChannelKind> = s.inboxes.iter().map(InboxSettings::kind).collect();
    assert_eq!(
        channels,
        [
            ChannelKind::Whatsapp,
            ChannelKind::Twilio,
            ChannelKind::Meta
        ]
    );
}

#[test]
fn the_shipped_language_model_example_is_valid_once_uncommented() {
    let text = include_str!("../../switchboard.toml");
    let (_, from) = text.split_once("---- A language model").unwrap();
    let block: String = from
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("# "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    let s = load(&block);
    let llm = s.assistants.list[0].llm().unwrap();
    assert_eq!(llm.model.as_str(), "llama3.1");
    assert_eq!(s.assistants.list[0].debounce_ms, 1500);
}

#[test]
fn the_shipped_handoff_acknowledgement_example_is_valid_once_uncommented() {
    let text = include_str!("../../switchboard.toml");
    let (_, from) = text.split_once("# [inbox.handoff_ack]").unwrap();
    let block: String = std::iter::once("[inbox.handoff_ack]\n".to_owned())
        .chain(
            from.lines()
                .skip(1)
                .take_while(|l| l.starts_with("# "))
                .map(|l| format!("{}\n", &l[2..])),
        )
        .collect();
    let toml =
        format!("[[inbox]]\nid = \"a\"\nchannel = \"api\"\nsecret = \"0123456789abcdef\"\n{block}");
    let s = load(&toml);
    let hours = s.inboxes[0].handoff_ack.business_hours.as_ref().unwrap();
    assert_eq!(
        hours.parse().unwrap().describe(),
        "Mon-Fri 09:00-18:00 (Europe/Madrid)"
    );
    let err = refused(&toml.replace("Europe/Madrid", "Mars/Base"));
    assert!(err.contains("handoff_ack.business_hours"), "{err}");
}

#[test]
fn unknown_keys_are_named() {
    let err = refused("[server]\nbnd = \"x\"\n");
    assert!(err.contains("bnd"), "{err}");
    let err = refused(
        "[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ncalback_url=\"x\"\n",
    );
    assert!(err.contains("`inbox[0].calback_url`"), "{err}");
    assert!(err.contains("inbox `a`"), "{err}");
    let err = refused("[[inbox]]\nid=\"a\"\nchannel=\"fax\"\nsecret=\"0123456789abcdef\"\n");
    assert!(
        err.contains("fax") && err.contains("inbox[0].channel"),
        "{err}"
    );
    let err = refused("[[inbox]]\nid=\"a\"\nsecret=\"0123456789abcdef\"\n");
    assert!(err.contains("`inbox[0].channel` is required"), "{err}");
    let err = refused("inbox = 3");
    assert!(err.contains("[[inbox]]"), "{err}");
    assert!(refused("[server\n").contains("TOML"));
}

#[test]
fn checks_name_the_bad_key() {
    let cases = [
        ("[server]\nbind = \"nope\"", "server.bind"),
        ("[server]\npublic_url = \"not a url\"", "server.public_url"),
        ("[server]\npublic_url = \"https://x.example/?a=1\"", "server.public_url"),
        ("[[inbox]]\nid=\"a b\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"", "inbox[0].id"),
        ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"short\"", "inbox[0].secret"),
        ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ncallback_url=\"ftp://x\"", "inbox[0].callback_url"),
        ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\nwindow_hours=0", "inbox[0].window_hours"),
        ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\n[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"", "inbox[1].id"),
        ("[server]\ndatabase_url = \"mysql://x\"", "server.database_url"),
        ("[server]\nshutdown_secs = 0", "server.shutdown_secs"),
        ("[server]\nshutdown_secs = 301", "server.shutdown_secs"),
        ("[server]\ndb_deadline_ms = 99", "server.db_deadline_ms"),
        ("[outbox]\nmax_attempts = 0", "outbox.max_attempts"),
    ];
    for (text, key) in cases {
        let err = refused(text);
        assert!(err.contains(&format!("`{key}`")), "{text} -> {err}");
    }
}

const WHATSAPP: &str = r#"
    [[inbox]]
    id = "wa"
    channel = "whatsapp"
    secret = "0123456789abcdef0123456789abcdef"
    phone_number_id = "106540352242922"
    access_token = "EAAG-token"
    verify_token = "verify-me"
    api_base_url = "http://127.0.0.1:9/"
    throughput_per_second = 20
    default_country_code = "34"
    [[inbox.templates]]
    name = "order_update"
    language = "en_US"
    body = "Your order {{1}} ships on {{2}}."
    parameters = ["order number", "date"]
"#;

const TWILIO: &str = r#"
    [[inbox]]
    id = "sms"
    channel = "twilio"
    secret = "0123456789abcdef0123456789abcdef"
    account_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    from = "+14155550100"
    public_url = "https://inbox.example.com/webhooks/twilio/sms"
    [[inbox.templates]]
    name = "appointment"
    language = "en"
    body = "Your appointment is on {{1}}."
    parameters = ["date"]
    content_sid = "HXb5b62575e6e4ff6129ad7c8efe1f983e"
"#;

const META: &str = r#"
    [[inbox]]
    id = "fb"
    channel = "meta"
    platform = "messenger"
    secret = "0123456789abcdef0123456789abcdef"
    page_id = "1234567890"
    page_access_token = "EAAB-page-token"
    verify_token = "verify-me"
"#;

#[test]
fn every_channel_loads_with_its_keys() {
    let wa = load(WHATSAPP);
    let inbox = &wa.inboxes[0];
    let ChannelSettings::Whatsapp(w) = &inbox.channel else {
        panic!("not whatsapp")
    };
    assert_eq!(w.api_base(), "http://127.0.0.1:9");
    assert_eq!(w.graph_version(), "v25.0");
    assert_eq!(w.phone_number_id.as_str(), "106540352242922");
    assert_eq!(inbox.throughput_per_second(), Some(20));
    assert_eq!(inbox.default_country_code(), Some("34"));
    let t = inbox.template("order_update", "en_US").unwrap();
    assert_eq!(t.placeholder_count(), 2);
    assert_eq!(
        t.render(&["#42".into(), "Monday".into()]),
        "Your order #42 ships on Monday."
    );
    assert!(inbox.template("order_update", "es").is_none());
    let tw = load(TWILIO);
    let ChannelSettings::Twilio(t) = &tw.inboxes[0].channel else {
        panic!("not twilio")
    };
    assert_eq!(t.api_base(), "https://api.twilio.com");
    assert_eq!(t.from, TwilioFrom::Number("+14155550100".into()));
    assert_eq!(
        t.status_url(),
        "https://inbox.example.com/webhooks/twilio/sms/status"
    );
    let service = load(&TWILIO.replace("+14155550100", "MG0123"));
    let ChannelSettings::Twilio(t) = &service.inboxes[0].channel else {
        panic!("not twilio")
    };
    assert_eq!(t.from, TwilioFrom::MessagingService("MG0123".into()));
    let meta = load(META);
    let ChannelSettings::Meta(m) = &meta.inboxes[0].channel else {
        panic!("not meta")
    };
    assert_eq!(m.platform, MetaPlatform::Messenger);
    assert_eq!(m.api_base(), "https://graph.facebook.com");
    assert_eq!(
        meta.inboxes[0].verify_token().map(Secret::expose),
        Some("verify-me")
    );
}

#[test]
fn channel_keys_are_required_and_named() {
    let without = |text: &str, line: &str| text.replace(line, "");
    let cases = [
        (without(WHATSAPP, "phone_number_id = \"106540352242922\""), "inbox[0].phone_number_id"),
        (without(WHATSAPP, "access_token = \"EAAG-token\""), "inbox[0].access_token"),
        (WHATSAPP.replace("access_token = \"EAAG-token\"", "access_token = \" \""), "inbox[0].access_token"),
        (without(WHATSAPP, "verify_token = \"verify-me\""), "inbox[0].verify_token"),
        (WHATSAPP.replace("api_base_url = \"http://127.0.0.1:9/\"", "api_base_url = \"ftp://x\""), "inbox[0].api_base_url"),
        (WHATSAPP.replace("api_base_url = \"http://127.0.0.1:9/\"", "api_version = \"25\""), "inbox[0].api_version"),
        (WHATSAPP.replace("throughput_per_second = 20", "throughput_per_second = 0"), "inbox[0].throughput_per_second"),
        (WHATSAPP.replace("default_country_code = \"34\"", "default_country_code = \"abc\""), "inbox[0].default_country_code"),
        (WHATSAPP.replace("parameters = [\"order number\", \"date\"]", "parameters = [\"order number\"]"), "inbox[0].templates[0].parameters"),
        (WHATSAPP.replace("id = \"wa\"", "id = \"wa\"\ncallback_url = \"http://x\""), "inbox[0].callback_url"),
        (without(TWILIO, "account_sid = \"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\""), "inbox[0].account_sid"),
        (without(TWILIO, "from = \"+14155550100\""), "inbox[0].from"),
        (TWILIO.replace("from = \"+14155550100\"", "from = \"4155550100\""), "inbox[0].from"),
        (without(TWILIO, "public_url = \"https://inbox.example.com/webhooks/twilio/sms\""), "inbox[0].public_url"),
        (TWILIO.replace("/webhooks/twilio/sms\"", "/webhooks/twilio/sms?x=1\""), "inbox[0].public_url"),
        (without(TWILIO, "content_sid = \"HXb5b62575e6e4ff6129ad7c8efe1f983e\""), "inbox[0].templates[0].content_sid"),
        (without(META, "platform = \"messenger\""), "inbox[0].platform"),
        (without(META, "page_id = \"1234567890\""), "inbox[0].page_id"),
        (without(META, "page_access_token = \"EAAB-page-token\""), "inbox[0].page_access_token"),
        (format!("{META}\nphone_number_id = \"1\""), "inbox[0].phone_number_id"),
        (format!("{META}\nsmart_encoding = true"), "inbox[0].smart_encoding"),
        ("[[inbox]]\nid=\"w\"\nchannel=\"widget\"\nsecret=\"0123456789abcdef\"\ncallback_url=\"http://x\"".to_owned(), "inbox[0].callback_url"),
        ("[[inbox]]\nid=\"a\"\nchannel=\"api\"\nsecret=\"0123456789abcdef\"\ntemplates=[{name=\"x\",language=\"en\",body=\"hi\"}]".to_owned(), "inbox[0].templates"),
    ];
    for (text, key) in cases {
        let err = refused(&text);
        assert!(err.contains(&format!("`{key}`")), "{text} -> {err}");
    }
    // The message says which inbox, and what is wrong.
    let err = refused(&without(WHATSAPP, "phone_number_id = \"106540352242922\""));
    assert!(
        err.contains("is required for a whatsapp inbox `wa`"),
        "{err}"
    );
    let err = refused(&format!("{META}\nphone_number_id = \"1\""));
    assert!(err.contains("does not apply to a meta inbox `fb`"), "{err}");
}

#[test]
fn channel_tokens_come_from_the_environment_and_stay_secret() {
    // Tokens left out of the file entirely, supplied by the environment.
    let text = WHATSAPP
        .replace("access_token = \"EAAG-token\"", "")
        .replace("verify_token = \"verify-me\"", "");
    let s = Settings::parse(&text, |k| match k {
        "SWITCHBOARD_INBOX_WA_ACCESS_TOKEN" => Some("token-from-env".into()),
        "SWITCHBOARD_INBOX_WA_VERIFY_TOKEN" => Some("verify-from-env".into()),
        _ => None,
    })
    .unwrap();
    let ChannelSettings::Whatsapp(w) = &s.inboxes[0].channel else {
        panic!("not whatsapp")
    };
    assert_eq!(w.access_token.expose(), "token-from-env");
    assert_eq!(w.verify_token.expose(), "verify-from-env");
    let dbg = format!("{s:?}");
    assert!(
        !dbg.contains("token-from-env") && !dbg.contains("EAAG"),
        "{dbg}"
    );
    assert!(!format!("{:?}", load(META)).contains("EAAB-page-token"));
}

#[test]
fn environment_overrides_the_file_and_is_checked_like_it() {
    let env = |k: &str| match k {
        "SWITCHBOARD_BIND" => Some("0.0.0.0:1234".into()),
        "DATABASE_URL" => Some("postgres://db/x".into()),
        "SWITCHBOARD_INBOX_SUPPORT_SECRET" => Some("from-the-environment".into()),
        _ => None,
    };
    let s = Settings::parse(GOOD, env).unwrap();
    assert_eq!(s.server.bind, "0.0.0.0:1234".parse().unwrap());
    assert_eq!(s.database_url(), "postgres://db/x");
    assert_eq!(s.inboxes[0].secret.expose(), "from-the-environment");
    let bad = Settings::parse(GOOD, |k| (k == "SWITCHBOARD_BIND").then(|| "nope".into()));
    assert!(bad.unwrap_err().to_string().contains("`server.bind`"));
    let default = Settings::parse("", |k| {
        (k == "SWITCHBOARD_BIND").then(|| "0.0.0.0:80".into())
    });
    assert_eq!(default.unwrap().server.bind.port(), 80);
}

#[test]
fn secrets_never_show_in_debug_output() {
    let dbg = format!("{:?}", load(GOOD));
    assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
    assert!(dbg.contains("redacted"));
}

#[test]
fn default_database_is_sqlite_under_data() {
    assert_eq!(
        Settings::default().database_url(),
        "sqlite://data/switchboard.db"
    );
    assert_eq!(
        inbox_secret_var("eu-support"),
        "SWITCHBOARD_INBOX_EU_SUPPORT_SECRET"
    );
}

const ASSISTANTS: &str = r#"
    [[assistant]]
    id = "help"
    name = "Help desk"
    reply_delay_ms = 200
    [[assistant]]
    id = "sales"
    kind = "llm"
    base_url = "http://127.0.0.1:11434/v1"
    model = "llama3.1"
    instructions = "Sell bikes."
    json_mode = "json_object"
    daily_token_budget = 100000
    [[inbox]]
    id = "shop"
    channel = "widget"
    secret = "0123456789abcdef"
    assistant = "sales"
    [[inbox]]
    id = "support"
    channel = "widget"
    secret = "0123456789abcdef"
"#;

#[test]
fn assistants_load_typed_and_inboxes_name_theirs() {
    let s = load(ASSISTANTS);
    let list = &s.assistants.list;
    assert_eq!(list.len(), 2);
    assert_eq!(
        (
            list[0].name.as_str(),
            list[0].reply_delay_ms,
            list[0].kind_name()
        ),
        ("Help desk", 200, "knowledge_base")
    );
    assert_eq!(list[0].debounce_ms, 0);
    let llm = list[1].llm().unwrap();
    assert_eq!(
        (
            llm.model.as_str(),
            llm.json_mode,
            llm.timeout_secs.get(),
            llm.max_retries
        ),
        ("llama3.1", JsonMode::JsonObject, 20, 2)
    );
    assert_eq!(llm.daily_token_budget.map(|b| b.get()), Some(100_000));
    assert_eq!(
        list[1].debounce_ms, 1500,
        "a model waits for a burst by default"
    );
    assert_eq!(list[1].instructions, "Sell bikes.");
    assert_eq!(
        s.inboxes[0].assistant.as_ref().map(|a| a.as_str()),
        Some("sales")
    );
    assert_eq!(s.inboxes[1].assistant, None);
    assert_eq!(s.assistants.default_id().as_str(), "help");
    assert!(!s.assistants.legacy_table);
}

#[test]
fn without_assistants_the_built_in_one_answers() {
    let s = load(GOOD);
    let effective = s.assistants.effective();
    assert_eq!(effective.len(), 1);
    assert_eq!(effective[0].id.as_str(), DEFAULT_ASSISTANT);
    assert_eq!(effective[0].handoff_after_misses, 2);
}

#[test]
fn the_old_assistant_table_is_read_as_the_built_in_assistant() {
    let s = load("[assistant]\nreply_delay_ms = 30\nhandoff_after_misses = 0\n");
    assert!(s.assistants.legacy_table);
    let a = &s.assistants.list[0];
    assert_eq!(a.id.as_str(), DEFAULT_ASSISTANT);
    assert_eq!((a.reply_delay_ms, a.handoff_after_misses), (30, 0));
    let err = refused("[assistant]\nmodel = \"x\"\n");
    assert!(err.contains("`assistant.model`"), "{err}");
}

#[test]
fn assistant_mistakes_are_named() {
    let llm = "[[assistant]]\nid = \"sales\"\nkind = \"llm\"\nbase_url = \"http://x/v1\"\n";
    for (text, expected) in [
        (
            llm.to_owned(),
            "`assistant[0].model` is required for an llm assistant `sales`",
        ),
        (
            "[[assistant]]\nid = \"a\"\nkind = \"gpt\"\n".to_owned(),
            "`assistant[0].kind`",
        ),
        (
            "[[assistant]]\nid = \"a\"\nmodel = \"m\"\n".to_owned(),
            "`assistant[0].model` does not apply to a knowledge_base assistant `a`",
        ),
        (
            format!("{llm}model = \"m\"\ntemperature = 3.0\n"),
            "`assistant[0].temperature`",
        ),
        (
            format!("{llm}model = \"m\"\njson_mode = \"xml\"\n"),
            "`assistant[0].json_mode`",
        ),
        (format!("{llm}model = \" \"\n"), "`assistant[0].model`"),
        (
            "[[assistant]]\nid = \"a b\"\n".to_owned(),
            "`assistant[0].id`",
        ),
        (
            "[[assistant]]\nname = \"x\"\n".to_owned(),
            "`assistant[0].id`",
        ),
        (
            "[[assistant]]\nid = \"a\"\n[[assistant]]\nid = \"a\"\n".to_owned(),
            "`assistant[1].id` `a` is used twice",
        ),
        (
            GOOD.replace(
                "window_hours = 24",
                "window_hours = 24\nassistant = \"nobody\"",
            ),
            "`inbox[0].assistant` names `nobody`",
        ),
    ] {
        let err = refused(&text);
        assert!(err.contains(expected), "{expected}\n{err}");
    }
}

#[test]
fn an_assistants_key_comes_from_the_environment_and_stays_secret() {
    let s = Settings::parse(ASSISTANTS, |k| {
        (k == "SWITCHBOARD_ASSISTANT_SALES_API_KEY").then(|| "sk-from-env".into())
    })
    .unwrap();
    let key = s.assistants.list[1]
        .llm()
        .unwrap()
        .api_key
        .as_ref()
        .unwrap();
    assert_eq!(key.expose(), "sk-from-env");
    assert!(!format!("{s:?}").contains("sk-from-env"));
    assert_eq!(
        assistant_key_var("my-bot"),
        "SWITCHBOARD_ASSISTANT_MY_BOT_API_KEY"
    );
}

#[test]
fn the_knowledge_base_variable_sets_the_first_assistants() {
    let env = |k: &str| (k == "SWITCHBOARD_KNOWLEDGE_BASE").then(|| "kb.toml".into());
    let s = Settings::parse(ASSISTANTS, env).unwrap();
    assert_eq!(s.assistants.list[0].knowledge_base, Some("kb.toml".into()));
    let s = Settings::parse("", env).unwrap();
    assert_eq!(
        s.assistants.effective()[0].knowledge_base,
        Some("kb.toml".into())
    );
}

#[test]
fn review_and_follow_up_settings_have_defaults_and_are_checked() {
    let s = load(GOOD);
    assert_eq!(s.review.after_secs, 600);
    assert!(!s.review.hide_unreviewed);
    assert_eq!(s.inboxes[0].follow_ups, AutoFollowUps::default());
    assert!(!s.inboxes[0].csat);

    let s = load(&format!(
        "{GOOD}auto_follow_up = true\nmax_follow_ups = 3\nfollow_up_after_secs = 60\ncsat = true\n[review]\nafter_secs = 1\nhide_unreviewed = true\n"
    ));
    assert_eq!(s.review.after_secs, 1);
    assert!(s.review.hide_unreviewed);
    let f = &s.inboxes[0].follow_ups;
    assert!(f.enabled && f.max == 3 && f.after_secs == 60 && f.template.is_none());
    assert!(s.inboxes[0].csat);

    for (extra, key) in [
        ("[review]\nafter_secs = 0\n", "review.after_secs"),
        ("[review]\nconcurrency = 0\n", "review.concurrency"),
        ("max_follow_ups = 0\n", "inbox[0].max_follow_ups"),
        (
            "follow_up_after_secs = 0\n",
            "inbox[0].follow_up_after_secs",
        ),
        (
            "follow_up_template = \"nope\"\n",
            "inbox[0].follow_up_template",
        ),
    ] {
        let e = refused(&format!("{GOOD}{extra}"));
        assert!(e.contains(key), "{extra}: {e}");
    }
}

#[test]
fn the_first_response_target_is_read_and_never_zero() {
    assert_eq!(load(GOOD).conversations.first_response_target_secs, 300);
    let set = format!("{GOOD}\n[conversations]\nfirst_response_target_secs = 120\n");
    assert_eq!(load(&set).conversations.first_response_target_secs, 120);
    let zero = format!("{GOOD}\n[conversations]\nfirst_response_target_secs = 0\n");
    assert!(refused(&zero).contains("conversations.first_response_target_secs"));
    // An API inbox's throughput, for its callback POSTs.
    let paced = GOOD.replace("window_hours = 24", "throughput_per_second = 50");
    assert_eq!(load(&paced).inboxes[0].throughput_per_second(), Some(50));
}

#[test]
fn cluster_settings_are_checked_and_refused_on_sqlite() {
    const PG: &str = "[server]\ndatabase_url = \"postgres://db/sb\"\n";
    let s = load(&format!(
        "{PG}[cluster]\nnats_url = \"nats://127.0.0.1:4222\"\nnode_id = \"web-1\"\n"
    ));
    let cluster = s.cluster.as_ref().unwrap();
    assert_eq!(cluster.node_id(8080).as_str(), "web-1");
    assert_eq!(
        cluster.lease_timing().ttl,
        std::time::Duration::from_secs(3)
    );
    assert_eq!(
        cluster.lease_timing().renew_every,
        std::time::Duration::from_secs(1)
    );
    // Without a name: the host name and the port, as a valid node id.
    let s = load(&format!("{PG}[cluster]\nnats_url = \"nats://n:4222\"\n"));
    let id = s.cluster.unwrap().node_id(9001);
    assert!(id.as_str().ends_with("-9001"), "{id}");
    assert!(crate::cluster::NodeId::parse(id.as_str()).is_ok());

    for (body, key) in [
        ("nats_url = \"http://n:4222\"", "`cluster.nats_url`"),
        ("nats_url = \"nats://\"", "`cluster.nats_url`"),
        (
            "nats_url = \"nats://n\"\nnode_id = \"a.b\"",
            "`cluster.node_id`",
        ),
        (
            "nats_url = \"nats://n\"\nlease_ttl_ms = 100",
            "`cluster.lease_ttl_ms`",
        ),
        ("nats_url = \"nats://n\"\nnats = 1", "nats"),
        ("node_id = \"a\"", "nats_url"),
    ] {
        let e = refused(&format!("{PG}[cluster]\n{body}\n"));
        assert!(e.contains(key), "{body}: {e}");
    }
    // SQLite (the default) runs one node: a cluster section is refused with the reason.
    let e = refused("[cluster]\nnats_url = \"nats://127.0.0.1:4222\"\n");
    assert!(e.contains("`cluster` needs PostgreSQL"), "{e}");
    // …and the environment can name the NATS server and the node.
    let env = |k: &str| match k {
        "DATABASE_URL" => Some("postgres://db/sb".to_owned()),
        "SWITCHBOARD_NATS_URL" => Some("nats://10.0.0.5:4222".to_owned()),
        "SWITCHBOARD_NODE_ID" => Some("n7".to_owned()),
        _ => None,
    };
    let s = Settings::parse("", env).unwrap();
    let cluster = s.cluster.unwrap();
    assert_eq!(cluster.nats_url, "nats://10.0.0.5:4222");
    assert_eq!(cluster.node_id(1).as_str(), "n7");
}
