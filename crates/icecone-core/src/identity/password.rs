//! Passwords chosen at sign-up (or changed later), checked before they are hashed.
//!
//! The rules follow NIST SP 800-63B (5.1.1.2): at least [`MIN_LEN`] characters (NIST asks for
//! 8 at least; IceCone asks for 12), at most [`MAX_LEN`] (NIST asks to allow at least 64), any
//! character including spaces and emoji, no composition rules ("one digit, one symbol"), and
//! no password that is on a list of commonly used ones. Length is counted in Unicode scalar
//! values, so `"pässwörd"` is eight characters however it is encoded.
//!
//! **The list.** `common-passwords.txt` beside this file holds, one per line and in lower
//! case, the entries of at least 12 characters of well-known public lists (the top of the
//! 10k-most-common and NCSC/HIBP 100k lists published in SecLists) and the rule-based variants
//! attackers try first: a very common word with a common suffix (`princess12345`,
//! `football2026!`), doubled words (`passwordpassword`), keyboard walks (`qwertyuiopas`,
//! `1qaz2wsx3edc`) and digit runs (`123456789012`). Shorter entries are irrelevant: the length
//! rule already refuses them. A candidate is refused when its trimmed, lower-cased form is on
//! the list, so `  PasswordPassword ` is refused too.
//!
//! **Not done here.** The text is hashed as given (the gateway hashes [`Password::expose`]
//! with Argon2id); Unicode normalisation, which NIST recommends, would need a normalisation
//! table this crate does not carry, so a password typed on two keyboards that produce
//! different code points for the same letter is two passwords.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use zeroize::Zeroizing;

/// The shortest password accepted, in Unicode scalar values.
pub const MIN_LEN: usize = 12;
/// The longest password accepted, in Unicode scalar values.
pub const MAX_LEN: usize = 128;

const COMMON_PASSWORDS_TEXT: &str = include_str!("common-passwords.txt");

/// The bundled list, built on first use.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| COMMON_PASSWORDS_TEXT.lines().collect());

/// A password that meets the rules of this module, held until it is hashed.
///
/// Its memory is overwritten with zeroes when it is dropped, and its `Debug` output is
/// redacted. There is deliberately no `Display`, `Clone` or comparison: the only thing to do
/// with it is to hash it, or to check it against a stored hash.
pub struct Password(Zeroizing<String>);

/// Why a password was refused. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("the password must be at least {MIN_LEN} characters long")]
    TooShort,
    /// More than [`MAX_LEN`] characters.
    #[error("the password must be at most {MAX_LEN} characters long")]
    TooLong,
    /// On the list of commonly used passwords.
    #[error("the password is too common: it is on a list of frequently used passwords")]
    Common,
}

impl Password {
    /// Checks a candidate password. The text is taken by value so that it is wiped on every
    /// path, refused or accepted.
    pub fn parse(text: String) -> Result<Self, PasswordError> {
        let text = Zeroizing::new(text);
        // Counting stops one past the limit: a huge input costs no more than a long one.
        let len = text.chars().take(MAX_LEN + 1).count();
        if len < MIN_LEN {
            return Err(PasswordError::TooShort);
        }
        if len > MAX_LEN {
            return Err(PasswordError::TooLong);
        }
        if is_common(&text) {
            return Err(PasswordError::Common);
        }
        Ok(Self(text))
    }

    /// The password, for hashing it or checking it against a stored hash, and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether the trimmed, lower-cased `text` is on the bundled list.
fn is_common(text: &str) -> bool {
    let folded = Zeroizing::new(text.trim().to_lowercase());
    COMMON_PASSWORDS.contains(folded.as_str())
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<(), PasswordError>) {
        assert_eq!(
            Password::parse(input.to_owned()).map(|p| assert_eq!(p.expose(), input)),
            expected,
            "input {input:?}"
        );
    }

    #[test]
    fn passwords_are_checked_for_length_and_commonness() {
        let cases = [
            ("correct horse battery", Ok(())),
            ("eleven char", Err(PasswordError::TooShort)),
            ("twelve chars", Ok(())),
            ("", Err(PasswordError::TooShort)),
            // No composition rules: letters only, digits only, spaces only are all fine.
            ("abcdefghijkq", Ok(())),
            ("904137628519", Ok(())),
            ("            ", Ok(())),
            ("passwordpassword", Err(PasswordError::Common)),
            ("PasswordPassword", Err(PasswordError::Common)),
            ("  passwordpassword  ", Err(PasswordError::Common)),
            ("123456789012", Err(PasswordError::Common)),
            ("qwertyuiopas", Err(PasswordError::Common)),
            ("iloveyou1234", Err(PasswordError::Common)),
            ("1qaz2wsx3edc", Err(PasswordError::Common)),
            ("Football2026!", Err(PasswordError::Common)),
        ];
        for (input, expected) in cases {
            check(input, expected);
        }
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        let cases = [
            ("ü".repeat(11), Err(PasswordError::TooShort)),
            ("ü".repeat(12), Ok(())),
            ("😀".repeat(12), Ok(())),
            ("é".repeat(128), Ok(())),
            ("é".repeat(129), Err(PasswordError::TooLong)),
            ("a".repeat(128), Ok(())),
            ("a".repeat(129), Err(PasswordError::TooLong)),
            ("a".repeat(100_000), Err(PasswordError::TooLong)),
        ];
        for (input, expected) in cases {
            check(&input, expected);
        }
    }

    #[test]
    fn the_bundled_list_is_clean_sorted_and_large_enough() {
        let lines: Vec<&str> = COMMON_PASSWORDS_TEXT.lines().collect();
        assert!(lines.len() >= 1_000, "{} entries", lines.len());
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        for line in &lines {
            assert!(line.chars().count() >= MIN_LEN, "too short: {line}");
            assert_eq!(*line, line.trim(), "untrimmed: {line}");
            assert_eq!(*line, line.to_lowercase(), "not lower case: {line}");
        }
        assert_eq!(COMMON_PASSWORDS.len(), lines.len());
    }

    #[test]
    fn debug_output_hides_the_password_and_errors_do_not_repeat_it() {
        let password = Password::parse("a sentinel passphrase".to_owned()).expect("valid");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        for input in ["sentinel", "sentinelsentinel", &"sentinel".repeat(20)] {
            if let Err(error) = Password::parse(input.to_owned()) {
                assert!(!error.to_string().contains("sentinel"));
            }
        }
    }
}
