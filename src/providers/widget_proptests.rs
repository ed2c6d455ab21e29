//! Properties of the widget's visitor tokens: an issued token verifies to its visitor, an
//! altered one or one under another secret does not, and no string makes `verify` panic.
//! The fuzz target `signatures` checks the same on a much larger budget.

use proptest::prelude::*;
use uuid::Uuid;

use super::widget::{issue, verify};

proptest! {
    #[test]
    fn issued_tokens_verify_and_altered_ones_do_not(
        secret in any::<String>(),
        id in any::<u128>(),
        at in any::<usize>(),
        replacement in "[A-Za-z0-9_.-]",
    ) {
        let visitor = Uuid::from_u128(id);
        let token = issue(&secret, visitor);
        prop_assert_eq!(verify(&secret, &token), Some(visitor));
        let other_secret = format!("{secret}x");
        prop_assert_eq!(verify(&other_secret, &token), None);
        let mut altered: Vec<char> = token.chars().collect();
        let i = at % altered.len();
        let new = replacement.chars().next().expect("one character");
        prop_assume!(!altered[i].eq_ignore_ascii_case(&new) || i > 32);
        prop_assume!(altered[i] != new);
        altered[i] = new;
        let altered: String = altered.into_iter().collect();
        prop_assert_eq!(verify(&secret, &altered), None);
    }

    #[test]
    fn arbitrary_tokens_never_panic(secret in any::<String>(), token in any::<String>()) {
        let _ = verify(&secret, &token);
    }
}
