//! Every signature check on arbitrary secrets, headers and bodies: Meta's
//! `X-Hub-Signature-256` (and legacy SHA-1) and subscription handshake, Twilio's
//! `X-Twilio-Signature` (form and JSON webhooks), the API channel's
//! `X-Switchboard-Signature` and the widget's visitor tokens. None may panic, and what a
//! signer produces must verify while the same signature over a changed body must not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::providers::{api, hub_signature, twilio, widget};

fuzz_target!(|data: &[u8]| {
    // Layout: one selector byte, then `secret \n header \n body` (the body may hold more
    // newlines). Secrets and headers are text in every caller, so they are decoded lossily.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let secret = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    let header = (pick & 0x80 == 0).then_some(header.as_ref());

    match pick % 5 {
        0 => hub(&secret, header, body),
        1 => twilio_form(&secret, header, body),
        2 => twilio_json(&secret, header, body),
        3 => api_channel(&secret, header, body),
        _ => widget_token(&secret, header, body),
    }
});

/// The body with one byte changed (or one added, when empty).
fn tampered(body: &[u8]) -> Vec<u8> {
    let mut changed = body.to_vec();
    match changed.first_mut() {
        Some(b) => *b ^= 0x01,
        None => changed.push(b'x'),
    }
    changed
}

fn hub(secret: &str, header: Option<&str>, body: &[u8]) {
    let _ = hub_signature::verify(secret, body, header);
    let _ = hub_signature::verify_legacy_sha1(secret, body, header);
    let text = String::from_utf8_lossy(body);
    let _ = hub_signature::verify_handshake(Some("subscribe"), header, Some(&text), secret);
    let _ = hub_signature::verify_handshake(header, Some(secret), Some(&text), secret);

    let signed = hub_signature::sign(secret, body);
    let ok = hub_signature::verify(secret, body, Some(&signed));
    if secret.is_empty() {
        assert!(
            ok.is_err(),
            "an empty app secret must refuse every signature"
        );
    } else {
        assert_eq!(ok, Ok(()), "a body signed with the app secret must verify");
        let changed = hub_signature::verify(secret, &tampered(body), Some(&signed));
        assert!(changed.is_err(), "a changed body must not verify");
    }
}

fn twilio_form(token: &str, header: Option<&str>, body: &[u8]) {
    // The body is `url \n form`.
    let (url, form) = match body.iter().position(|&b| b == b'\n') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[][..]),
    };
    let url = String::from_utf8_lossy(url);
    let params = twilio::parse_form(form);
    let _ = twilio::verify_signature(token, &url, &params, header);

    let signed = twilio::expected_signature(token, &url, &params);
    let ok = twilio::verify_signature(token, &url, &params, Some(&signed));
    if token.is_empty() {
        assert!(!ok, "an empty auth token must refuse every signature");
    } else {
        assert!(ok, "params signed with the auth token must verify");
        let mut changed = params.clone();
        changed.push(("Tampered".to_owned(), "1".to_owned()));
        assert!(
            !twilio::verify_signature(token, &url, &changed, Some(&signed)),
            "an added param must not verify"
        );
    }
}

fn twilio_json(token: &str, header: Option<&str>, body: &[u8]) {
    let (url, json) = match body.iter().position(|&b| b == b'\n') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[][..]),
    };
    let url = String::from_utf8_lossy(url);
    let _ = twilio::verify_json_signature(token, &url, json, header);
}

fn api_channel(secret: &str, header: Option<&str>, body: &[u8]) {
    let _ = api::verify(secret, body, header);
    let signed = api::sign(secret, body);
    assert!(
        api::verify(secret, body, Some(&signed)),
        "a body signed with the inbox secret must verify"
    );
    assert!(
        !api::verify(secret, &tampered(body), Some(&signed)),
        "a changed body must not verify"
    );
}

fn widget_token(secret: &str, header: Option<&str>, body: &[u8]) {
    if let Some(token) = header {
        let _ = widget::verify(secret, token);
    }
    let _ = widget::verify(secret, &String::from_utf8_lossy(body));
    let mut id = [0u8; 16];
    for (slot, b) in id.iter_mut().zip(body) {
        *slot = *b;
    }
    let visitor = uuid::Uuid::from_bytes(id);
    let token = widget::issue(secret, visitor);
    assert_eq!(
        widget::verify(secret, &token),
        Some(visitor),
        "an issued token must verify"
    );
    let mut forged = token.into_bytes();
    if let Some(last) = forged.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    let forged = String::from_utf8_lossy(&forged);
    assert_eq!(
        widget::verify(secret, &forged),
        None,
        "an altered token must not verify"
    );
}
