//! Properties of Meta's `X-Hub-Signature-256` (and legacy SHA-1) checks and the `hub.*`
//! handshake: what `sign` produces verifies, a changed body or secret does not, and no
//! header makes them panic. The fuzz target `signatures` checks the same on a much larger
//! budget.

use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha1::Sha1;

use super::hub_signature::{
    sign, verify, verify_handshake, verify_legacy_sha1, HandshakeError, SignatureError,
};
use super::prop_strategies::one_byte_changed;

fn sign_sha1(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

proptest! {
    #[test]
    fn signed_bodies_verify_and_changed_ones_do_not(
        secret in ".{1,40}",
        body in prop::collection::vec(any::<u8>(), 0..256),
        at in any::<usize>(),
        flip in 1u8..=255,
    ) {
        let header = sign(&secret, &body);
        prop_assert_eq!(verify(&secret, &body, Some(&header)), Ok(()));
        let shouted = header.to_uppercase();
        prop_assert_eq!(verify(&secret, &body, Some(&shouted)), Ok(()));
        let legacy = sign_sha1(&secret, &body);
        prop_assert_eq!(verify_legacy_sha1(&secret, &body, Some(&legacy)), Ok(()));

        let changed = one_byte_changed(&body, at, flip);
        prop_assert_eq!(verify(&secret, &changed, Some(&header)), Err(SignatureError::Mismatch));
        prop_assert_eq!(
            verify_legacy_sha1(&secret, &changed, Some(&legacy)),
            Err(SignatureError::Mismatch)
        );
        let other_secret = format!("{secret}x");
        prop_assert_eq!(
            verify(&other_secret, &body, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        prop_assert_eq!(verify("", &body, Some(&header)), Err(SignatureError::NoSecret));
    }

    #[test]
    fn arbitrary_headers_never_panic(
        secret in any::<String>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        header in proptest::option::of(any::<String>()),
    ) {
        let _ = verify(&secret, &body, header.as_deref());
        let _ = verify_legacy_sha1(&secret, &body, header.as_deref());
    }

    #[test]
    fn the_handshake_echoes_the_challenge_only_to_the_right_token(
        token in ".{1,32}",
        given in proptest::option::of(".{0,32}"),
        mode in proptest::option::of(prop_oneof![Just("subscribe".to_owned()), any::<String>()]),
        challenge in proptest::option::of(any::<String>()),
    ) {
        let answer = verify_handshake(mode.as_deref(), given.as_deref(), challenge.as_deref(), &token);
        let right = mode.as_deref() == Some("subscribe") && given.as_deref() == Some(token.as_str());
        match (&answer, challenge.as_deref()) {
            (Ok(echoed), Some(c)) => prop_assert!(right && echoed == c),
            (Ok(_), None) => prop_assert!(false, "no challenge, yet accepted"),
            (Err(HandshakeError::MissingChallenge), _) => prop_assert!(right),
            (Err(_), c) => prop_assert!(!right || c.is_none_or(str::is_empty)),
        }
        prop_assert_eq!(
            verify_handshake(mode.as_deref(), given.as_deref(), challenge.as_deref(), ""),
            Err(HandshakeError::NotConfigured)
        );
    }
}
