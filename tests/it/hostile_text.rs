//! A property: arbitrary Unicode — NUL and other controls, lone surrogates escaped in JSON,
//! bidi controls, zero-width and 4-byte characters, SQL and LIKE symbols, very long strings —
//! sent through every channel's webhook and the agents' routes never yields a 5xx, on either
//! backend, and leaves the server answering ordinary customers.
//!
//! The inputs come from a seeded generator: a failure prints the seed and the request, and
//! `SWITCHBOARD_PROPERTY_SEED=<seed>` replays it (`SWITCHBOARD_PROPERTY_CASES` sets how many
//! cases run; 24 by default).

use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use switchboard::providers::{api, meta as meta_channel, twilio as twilio_channel, whatsapp as wa};

use crate::{
    both_backends,
    helpers::{customer, status_json, Backend, TestApp, SECRET},
    meta, twilio,
    unstorable_text::{all_channels, post_signed},
    whatsapp,
};

/// One piece of generated text: a character, or half a surrogate pair (valid only as a JSON
/// escape, which is exactly how a hostile client would send it).
#[derive(Debug, Clone, Copy)]
enum Piece {
    Char(char),
    Lone(u16),
}

const NASTY: &[char] = &[
    '\u{0}',
    '\u{1}',
    '\u{8}',
    '\u{b}',
    '\u{1b}',
    '\u{1f}',
    '\u{7f}',
    '\u{85}',
    '\u{9f}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200e}',
    '\u{200f}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{feff}',
    '\u{ad}',
    '\u{301}',
    '\u{fffd}',
    '\u{fffe}',
    '\u{ffff}',
    '😀',
    '𝕏',
    '🏳',
    '\u{10ffff}',
    '%',
    '_',
    '\\',
    '\'',
    '"',
    ';',
    '-',
    '*',
    '/',
    '<',
    '>',
    '&',
    '\n',
    '\r',
    '\t',
    ' ',
    'é',
    'ß',
    'ع',
    '中',
    '0',
    '9',
    '+',
    '@',
    '#',
    '?',
    '=',
];

struct Gen(StdRng);

impl Gen {
    fn pieces(&mut self) -> Vec<Piece> {
        let rng = &mut self.0;
        match rng.gen_range(0..10) {
            // Very long: one character repeated, or a long mix.
            0 => {
                let c = *NASTY.choose(rng).unwrap_or(&'a');
                vec![Piece::Char(c); rng.gen_range(4_000..20_000)]
            }
            1 => Vec::new(),
            _ => (0..rng.gen_range(1..24))
                .map(|_| match rng.gen_range(0..12) {
                    0 => Piece::Lone(
                        *[0xd800u16, 0xdbff, 0xdc00, 0xdfff]
                            .choose(rng)
                            .unwrap_or(&0xd800),
                    ),
                    1..=3 => Piece::Char(rng.gen_range('a'..='z')),
                    _ => Piece::Char(*NASTY.choose(rng).unwrap_or(&'a')),
                })
                .collect(),
        }
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.0.gen_range(0..100) < percent
    }
}

/// The pieces as a JSON string literal (quotes included), lone surrogates as `\uXXXX`.
fn literal(pieces: &[Piece]) -> String {
    let mut out = String::from("\"");
    for p in pieces {
        match p {
            Piece::Char(c) => {
                let encoded = serde_json::to_string(&c.to_string()).unwrap_or_default();
                out.push_str(&encoded[1..encoded.len() - 1]);
            }
            Piece::Lone(u) => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out.push('"');
    out
}

/// The pieces as a Rust string (lone surrogates cannot be: they become U+FFFD).
fn plain(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Char(c) => *c,
            Piece::Lone(_) => '\u{fffd}',
        })
        .collect()
}

/// Percent-encodes for a URL query, sometimes with the UTF-8 bytes of a lone surrogate
/// (invalid UTF-8), as a hostile client could.
fn query_value(pieces: &[Piece]) -> String {
    let mut out = String::new();
    // URLs stay under what an HTTP client sends at all (a few KiB of request line).
    for p in pieces.iter().take(1_000) {
        match p {
            Piece::Char(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            Piece::Lone(_) => out.push_str("%ED%A0%80"),
        }
    }
    out
}

fn never_5xx(status: u16, what: &str, seed: u64, case: usize) {
    assert!(
        status < 500,
        "{what} gave {status} (seed {seed}, case {case}: SWITCHBOARD_PROPERTY_SEED={seed})"
    );
}

async fn raw_post(app: &TestApp, token: Option<&str>, path: &str, body: String) -> u16 {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request").status().as_u16()
}

async fn arbitrary_unicode_never_yields_a_5xx(b: Backend) {
    let seed = std::env::var("SWITCHBOARD_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let cases: usize = std::env::var("SWITCHBOARD_PROPERTY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let mut g = Gen(StdRng::seed_from_u64(seed));
    let (app, _provider) = all_channels(b).await;
    let token = app.login().await;
    let id = app.customer_writes("base", "base", "talk to a human").await;

    for case in 0..cases {
        let mut t = || g.pieces();
        let (t1, t2, t3, t4, t5) = (t(), t(), t(), t(), t());
        let what = |w: &str| {
            format!(
                "{w} with {:?}",
                plain(&t1).chars().take(80).collect::<String>()
            )
        };

        // The API channel, raw JSON (lone surrogates included).
        let body = format!(
            r#"{{"external_id":{},"contact":{{"external_id":{},"name":{},"phone":{},"email":{}}},"text":{},"timestamp":{}}}"#,
            literal(&t2),
            literal(&t3),
            literal(&t1),
            literal(&t4),
            literal(&t5),
            literal(&t1),
            if g.chance(50) {
                literal(&t4)
            } else {
                "null".to_owned()
            }
        );
        let (s, _) = post_signed(
            &app,
            "/webhooks/api/support",
            api::SIGNATURE_HEADER,
            &api::sign(SECRET, body.as_bytes()),
            body.as_bytes(),
        )
        .await;
        never_5xx(s, &what("the API channel"), seed, case);

        // WhatsApp: text, profile name, ids.
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"{}"}},"contacts":[{{"profile":{{"name":{}}},"wa_id":{}}}],"messages":[{{"from":{},"id":{},"timestamp":"1700000000","type":"text","text":{{"body":{}}}}}]}}}}]}}]}}"#,
            whatsapp::PNID,
            literal(&t2),
            literal(&t3),
            if g.chance(50) {
                literal(&t3)
            } else {
                format!("\"{}\"", whatsapp::CUSTOMER)
            },
            literal(&t4),
            literal(&t1),
        );
        let sig = wa::sign(whatsapp::APP_SECRET, body.as_bytes());
        let (s, _) = post_signed(
            &app,
            "/webhooks/whatsapp/wa",
            "X-Hub-Signature-256",
            &sig,
            body.as_bytes(),
        )
        .await;
        never_5xx(s, &what("WhatsApp"), seed, case);

        // Messenger.
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"{page}","time":1,"messaging":[{{"sender":{{"id":{}}},"recipient":{{"id":"{page}"}},"timestamp":1700000000000,"message":{{"mid":{},"text":{}}}}}]}}]}}"#,
            if g.chance(50) {
                literal(&t2)
            } else {
                format!("\"{}\"", meta::PSID)
            },
            literal(&t3),
            literal(&t1),
            page = meta::PAGE,
        );
        let sig = meta_channel::sign(meta::APP_SECRET, body.as_bytes());
        let (s, _) = post_signed(
            &app,
            "/webhooks/meta/fb",
            "X-Hub-Signature-256",
            &sig,
            body.as_bytes(),
        )
        .await;
        never_5xx(s, &what("Messenger"), seed, case);

        // Twilio: form fields, sometimes with bytes that are not UTF-8.
        let mut raw = twilio::sms(&format!("SM{case:032}"), twilio::PHONE, "x")
            .iter()
            .filter(|(k, _)| k != "Body")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k,
                    query_value(&v.chars().map(Piece::Char).collect::<Vec<_>>())
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        raw.push_str(&format!("&Body={}", query_value(&t1)));
        if g.chance(30) {
            raw.push_str(&format!("&ProfileName={}", query_value(&t2)));
        }
        let params = twilio_channel::parse_form(raw.as_bytes());
        let resp = app
            .client
            .post(format!("{}/webhooks/twilio/sms", app.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header(
                "X-Twilio-Signature",
                twilio_channel::expected_signature(twilio::AUTH_TOKEN, twilio::PUBLIC, &params),
            )
            .body(raw)
            .send()
            .await
            .expect("twilio");
        never_5xx(resp.status().as_u16(), &what("Twilio"), seed, case);

        // Agents' routes: bodies as raw JSON, queries percent-encoded.
        for (path, body) in [
            (
                format!("/api/conversations/{id}/messages"),
                format!(r#"{{"text":{},"private":true}}"#, literal(&t1)),
            ),
            (
                format!("/api/conversations/{id}/messages"),
                format!(
                    r#"{{"text":"ok","client_id":{},"private":true}}"#,
                    literal(&t2)
                ),
            ),
            (
                format!("/api/conversations/{id}/follow-up"),
                format!(r#"{{"preset":"1h","reason":{}}}"#, literal(&t3)),
            ),
            (
                format!("/api/conversations/{id}/follow-up"),
                format!(r#"{{"at":{}}}"#, literal(&t4)),
            ),
            (
                "/api/sms/segments".to_owned(),
                format!(r#"{{"text":{},"inbox":{}}}"#, literal(&t1), literal(&t5)),
            ),
            (
                format!("/api/conversations/{id}/assign"),
                format!(r#"{{"agent_id":{}}}"#, literal(&t2)),
            ),
            (
                "/api/conversations".to_owned(),
                format!(
                    r#"{{"inbox":{},"to":{},"template":"x","language":"en","parameters":[{}]}}"#,
                    literal(&t1),
                    literal(&t2),
                    literal(&t3)
                ),
            ),
        ] {
            let s = raw_post(&app, Some(&token), &path, body).await;
            never_5xx(s, &what(&path), seed, case);
        }
        let s = app
            .client
            .put(format!("{}/api/conversations/{id}/tags", app.base))
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .body(format!(r#"{{"tags":[{},{}]}}"#, literal(&t1), literal(&t2)))
            .send()
            .await
            .expect("tags")
            .status()
            .as_u16();
        never_5xx(s, &what("tags"), seed, case);
        for path in [
            format!("/api/conversations?q={}", query_value(&t1)),
            format!(
                "/api/conversations?inbox={}&tag={}",
                query_value(&t2),
                query_value(&t3)
            ),
            format!(
                "/api/conversations?from={}&cursor={}",
                query_value(&t4),
                query_value(&t5)
            ),
            format!(
                "/api/conversations/{id}/messages?before={}",
                query_value(&t1)
            ),
            format!("/api/events?since={}", query_value(&t2)),
            format!("/api/files/{}", query_value(&t3)),
            format!("/api/contacts/{}", query_value(&t4)),
            format!("/api/conversations/{}", query_value(&t5)),
        ] {
            let resp = app
                .client
                .get(format!("{}{path}", app.base))
                .bearer_auth(&token)
                .send()
                .await
                .expect("get");
            never_5xx(resp.status().as_u16(), &what(&path), seed, case);
        }
        // Public routes: login and the widget's session.
        let s = raw_post(
            &app,
            None,
            "/api/auth/login",
            format!(
                r#"{{"email":{},"password":{}}}"#,
                literal(&t1),
                literal(&t2)
            ),
        )
        .await;
        never_5xx(s, &what("login"), seed, case);
        let s = raw_post(
            &app,
            None,
            "/widget/website/session",
            format!(r#"{{"visitor_token":{}}}"#, literal(&t3)),
        )
        .await;
        never_5xx(s, &what("the widget session"), seed, case);
    }

    // The server still answers an ordinary customer after all that.
    let (s, ack) = status_json(
        app.inbound(&customer("after", "after", "What are your opening hours?"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{ack}");
    let after = ack["conversation_id"].as_str().expect("id").to_owned();
    app.message_where(&token, &after, "the assistant still answers", |m| {
        m["author"] == "assistant"
    })
    .await;
    let (s, _) = app.get(&token, "/healthz").await;
    assert_eq!(s, 200);
}

both_backends!(arbitrary_unicode_never_yields_a_5xx);
