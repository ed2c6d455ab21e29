//! What WhatsApp Cloud API, Messenger and Instagram webhooks share: the `hub.*` GET
//! handshake that subscribes a callback URL, and the `X-Hub-Signature-256` header that signs
//! every POST with the app secret.
//!
//! The signature covers the **raw body bytes**. Meta signs its own escaped serialisation
//! (`\u00e4`, `\/`…), so a body that was parsed and re-serialised no longer verifies: check
//! the bytes as received, before any parsing.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::normalized::secrets_equal;

/// The header carrying `sha256=<lowercase hex HMAC-SHA256(app secret, raw body)>`.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The legacy header carrying the same construction with SHA-1 (`sha1=<hex>`).
pub const LEGACY_SIGNATURE_HEADER: &str = "X-Hub-Signature";

/// Why a webhook signature was refused. All of them mean 401 and no state change; the
/// variant is for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is not `{0}=<hex>`")]
    Malformed(&'static str),
    #[error("the signature does not match the body")]
    Mismatch,
    /// An empty key would make every signature forgeable, so it is refused outright.
    #[error("no app secret is configured")]
    NoSecret,
}

/// `sha256=<hex>` for `body`: what Meta sends, and what tests sign fixtures with.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC accepts keys of any length; this cannot happen.
        Err(_) => String::new(),
    }
}

/// Checks `X-Hub-Signature-256` over the raw body in constant time.
pub fn verify(app_secret: &str, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let expected = decode_header(app_secret, header, "sha256")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .map_err(|_| SignatureError::NoSecret)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Checks the legacy `X-Hub-Signature: sha1=<hex>` header. Prefer [`verify`]; this exists
/// for endpoints that only receive the old header.
pub fn verify_legacy_sha1(
    app_secret: &str,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let expected = decode_header(app_secret, header, "sha1")?;
    let mut mac = Hmac::<Sha1>::new_from_slice(app_secret.as_bytes())
        .map_err(|_| SignatureError::NoSecret)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The digest bytes of `<algo>=<hex>`; the prefix is matched case-insensitively.
fn decode_header(
    app_secret: &str,
    header: Option<&str>,
    algo: &'static str,
) -> Result<Vec<u8>, SignatureError> {
    if app_secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let header = header.ok_or(SignatureError::Missing)?;
    let (prefix, hex_sig) = header
        .split_once('=')
        .ok_or(SignatureError::Malformed(algo))?;
    if !prefix.eq_ignore_ascii_case(algo) {
        return Err(SignatureError::Malformed(algo));
    }
    hex::decode(hex_sig).map_err(|_| SignatureError::Malformed(algo))
}

/// Why a subscription handshake was refused (answer 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("`hub.mode` must be `subscribe`")]
    WrongMode,
    #[error("`hub.challenge` is missing")]
    MissingChallenge,
    #[error("`hub.verify_token` does not match")]
    TokenMismatch,
    /// An empty configured token would accept anyone's subscription.
    #[error("no verify token is configured")]
    NotConfigured,
}

/// Answers Meta's `GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`.
///
/// On success returns the challenge exactly as received: respond 200, `text/plain`, with
/// these bytes as the whole body (it looks numeric but must not be parsed or quoted).
pub fn verify_handshake(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Result<String, HandshakeError> {
    if expected_token.is_empty() {
        return Err(HandshakeError::NotConfigured);
    }
    if mode != Some("subscribe") {
        return Err(HandshakeError::WrongMode);
    }
    let given = verify_token.unwrap_or("");
    if !secrets_equal(given.as_bytes(), expected_token.as_bytes()) {
        return Err(HandshakeError::TokenMismatch);
    }
    match challenge {
        Some(c) if !c.is_empty() => Ok(c.to_owned()),
        _ => Err(HandshakeError::MissingChallenge),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// A compact WhatsApp notification as Meta serialises it: non-ASCII as lowercase
    /// `\uXXXX` escapes and `/` escaped.
    const ESCAPED_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"J\u00f6rg \u00c4h"},"wa_id":"16315551181"}],"messages":[{"from":"16315551181","id":"wamid.ABGGFlA5Fpa","timestamp":"1504902988","text":{"body":"\u00e4\u00f6\u00e5 https:\/\/example.com"},"type":"text"}]},"field":"messages"}]}]}"#;

    /// Independently computed with Python's `hmac` module:
    /// `hmac.new(SECRET, ESCAPED_BODY, sha256).hexdigest()`.
    const ESCAPED_BODY_SHA256: &str =
        "sha256=242dc250fc0dfa71d3e8db01bed4a5d0dd838f503580d9333d3557da96094959";
    const ESCAPED_BODY_SHA1: &str = "sha1=6cafd64b328a7595fe70c8f734061ec05a297c1f";

    #[test]
    fn rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            verify(
                "Jefe",
                b"what do ya want for nothing?",
                Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
            ),
            Ok(())
        );
    }

    #[test]
    fn escaped_body_verifies_with_an_independently_computed_signature() {
        assert_eq!(sign(SECRET, ESCAPED_BODY), ESCAPED_BODY_SHA256);
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, Some(ESCAPED_BODY_SHA256)),
            Ok(())
        );
        // Upper-case hex and surrounding spaces are tolerated.
        let upper = format!(" {} ", ESCAPED_BODY_SHA256.to_uppercase());
        assert_eq!(verify(SECRET, ESCAPED_BODY, Some(&upper)), Ok(()));
    }

    #[test]
    fn re_serialised_bodies_fail() {
        let value: serde_json::Value = serde_json::from_slice(ESCAPED_BODY).unwrap();
        // Literal UTF-8 instead of escapes: same JSON value, different bytes.
        let literal = serde_json::to_vec(&value).unwrap();
        assert!(String::from_utf8_lossy(&literal).contains("äöå"));
        assert_eq!(
            verify(SECRET, &literal, Some(ESCAPED_BODY_SHA256)),
            Err(SignatureError::Mismatch)
        );
        // Pretty-printed: whitespace changes the bytes too.
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(
            verify(SECRET, &pretty, Some(ESCAPED_BODY_SHA256)),
            Err(SignatureError::Mismatch)
        );
        // One extra trailing newline.
        let mut nl = ESCAPED_BODY.to_vec();
        nl.push(b'\n');
        assert_eq!(
            verify(SECRET, &nl, Some(ESCAPED_BODY_SHA256)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn wrong_secret_missing_and_malformed_headers_fail() {
        assert_eq!(
            verify("another-secret", ESCAPED_BODY, Some(ESCAPED_BODY_SHA256)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, Some("  ")),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, Some("sha256=nothex")),
            Err(SignatureError::Malformed("sha256"))
        );
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, Some(&ESCAPED_BODY_SHA256[7..])),
            Err(SignatureError::Malformed("sha256"))
        );
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, Some(ESCAPED_BODY_SHA1)),
            Err(SignatureError::Malformed("sha256"))
        );
        // A truncated digest is a mismatch, not a prefix match.
        assert_eq!(
            verify(SECRET, ESCAPED_BODY, Some(&ESCAPED_BODY_SHA256[..41])),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("", ESCAPED_BODY, Some(&sign("", ESCAPED_BODY))),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn legacy_sha1_header() {
        assert_eq!(
            verify_legacy_sha1(SECRET, ESCAPED_BODY, Some(ESCAPED_BODY_SHA1)),
            Ok(())
        );
        assert_eq!(
            verify_legacy_sha1(SECRET, b"{}", Some(ESCAPED_BODY_SHA1)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_legacy_sha1(SECRET, ESCAPED_BODY, Some(ESCAPED_BODY_SHA256)),
            Err(SignatureError::Malformed("sha1"))
        );
    }

    #[test]
    fn handshake_echoes_the_challenge_verbatim() {
        assert_eq!(
            verify_handshake(Some("subscribe"), Some("tok"), Some("1158201444"), "tok"),
            Ok("1158201444".to_owned())
        );
        // Leading zeros and non-digits survive: it is not parsed.
        assert_eq!(
            verify_handshake(Some("subscribe"), Some("tok"), Some("007abc"), "tok"),
            Ok("007abc".to_owned())
        );
    }

    #[test]
    fn handshake_refusals() {
        use HandshakeError::*;
        let cases = [
            (
                Some("unsubscribe"),
                Some("tok"),
                Some("1"),
                "tok",
                WrongMode,
            ),
            (None, Some("tok"), Some("1"), "tok", WrongMode),
            (
                Some("subscribe"),
                Some("nope"),
                Some("1"),
                "tok",
                TokenMismatch,
            ),
            (
                Some("subscribe"),
                Some("tok2"),
                Some("1"),
                "tok",
                TokenMismatch,
            ),
            (Some("subscribe"), None, Some("1"), "tok", TokenMismatch),
            (
                Some("subscribe"),
                Some("tok"),
                None,
                "tok",
                MissingChallenge,
            ),
            (
                Some("subscribe"),
                Some("tok"),
                Some(""),
                "tok",
                MissingChallenge,
            ),
            (Some("subscribe"), Some(""), Some("1"), "", NotConfigured),
        ];
        for (mode, token, challenge, expected, want) in cases {
            assert_eq!(
                verify_handshake(mode, token, challenge, expected),
                Err(want),
                "{mode:?} {token:?} {challenge:?}"
            );
        }
    }
}
