//! The website chat widget channel: visitors are identified by a token the server signs with
//! the inbox secret, kept in the visitor's browser so history survives a reload. Stateless: no
//! table of visitors, and a forged or altered token is simply refused.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// What a visitor may see of a message's payload: only that it is the satisfaction survey
/// (`{"automatic": "csat_survey"}`, shown as five stars); nothing else of what agents see
/// (which assistant answered, and so on) leaves the server.
pub fn visitor_payload(payload: Option<&serde_json::Value>) -> Option<serde_json::Value> {
    let automatic = payload?.get("automatic")?.as_str()?;
    (automatic == "csat_survey").then(|| serde_json::json!({ "automatic": automatic }))
}

/// The contact `external_id` of a visitor.
pub fn contact_external_id(visitor: Uuid) -> String {
    format!("visitor:{visitor}")
}

fn mac(secret: &str, visitor: &Uuid) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"switchboard-visitor:");
    mac.update(visitor.as_bytes());
    Some(mac)
}

/// A new visitor's token: `<visitor id>.<signature>`.
pub fn issue(secret: &str, visitor: Uuid) -> String {
    let sig = mac(secret, &visitor)
        .map(|m| URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("{}.{sig}", visitor.simple())
}

/// The visitor a token names, if the signature holds (checked in constant time).
pub fn verify(secret: &str, token: &str) -> Option<Uuid> {
    let (id, sig) = token.split_once('.')?;
    if id.len() != 32 || sig.len() > 64 {
        return None;
    }
    let visitor = Uuid::try_parse(id).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    mac(secret, &visitor)?.verify_slice(&sig).ok()?;
    Some(visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_resist_tampering() {
        let v = Uuid::new_v4();
        let t = issue("widget-secret-0123456789", v);
        assert_eq!(verify("widget-secret-0123456789", &t), Some(v));
        assert_eq!(verify("another-secret-0123456789", &t), None);
        let other = issue("widget-secret-0123456789", Uuid::new_v4());
        let (_, sig) = other.split_once('.').unwrap();
        assert_eq!(
            verify("widget-secret-0123456789", &format!("{}.{sig}", v.simple())),
            None
        );
        for bad in ["", ".", "abc", "x.y", &t[..t.len() - 2]] {
            assert_eq!(verify("widget-secret-0123456789", bad), None, "{bad}");
        }
        assert_eq!(contact_external_id(v), format!("visitor:{v}"));
    }
}
