//! E-mail addresses: parsed once at the boundary into one canonical form.
//!
//! [`Email::parse`] trims the input and accepts `local@domain` where the local part is 1 to 64
//! bytes of anything but control characters and whitespace, and the domain is a dotted name
//! of 1 to 253 bytes whose labels are 1 to 63 of `a-z`, `0-9` and `-`, neither starting nor
//! ending with `-`; the whole address is at most 254 bytes (RFC 5321's path limit less the
//! angle brackets). Internationalised domains are accepted in their ASCII form (`xn--` labels);
//! converting a Unicode domain to that form is the client's job. Domain literals (`[192.0.2.1]`)
//! and quoted local parts with spaces are refused: no mailbox people sign up with needs them.
//!
//! This parses, it does not validate: whether the mailbox exists is learned by writing to it.
//!
//! **Normalisation.** The whole address is lower-cased. Strictly, RFC 5321 lets a server treat
//! the local part as case-sensitive, but no mainstream provider does, and IceCone promises one
//! account per mailbox: `Alice@Example.com` and `alice@example.com` must be the same person.
//! The blind index that finds an account by its address (see `crypto::blind_index`) also needs
//! exactly one canonical form, or the same person would get two look-up tokens.

use std::fmt;

/// The longest address accepted, in bytes.
pub const MAX_LEN: usize = 254;
/// The longest local part (before the `@`) accepted, in bytes.
pub const MAX_LOCAL_LEN: usize = 64;
/// The longest domain accepted, in bytes.
pub const MAX_DOMAIN_LEN: usize = 253;
/// The longest domain label accepted, in bytes.
pub const MAX_LABEL_LEN: usize = 63;

/// An e-mail address in its canonical (trimmed, lower-case) form.
///
/// It is personal data: never log it, never put it in an error message or a span. Its
/// `Debug` output is redacted; `Display` and [`Email::as_str`] show it, for storing it
/// encrypted, computing its blind index and sending mail to it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a text is not an e-mail address. Messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Nothing but whitespace was given.
    #[error("the e-mail address is empty")]
    Empty,
    /// The address is longer than [`MAX_LEN`] bytes.
    #[error("the e-mail address is longer than {MAX_LEN} bytes")]
    TooLong,
    /// The address contains a control character or whitespace.
    #[error("the e-mail address contains whitespace or a control character")]
    ForbiddenCharacter,
    /// The address has no `@`, or more than one.
    #[error("the e-mail address must contain exactly one '@'")]
    AtSign,
    /// The part before the `@` is empty or longer than [`MAX_LOCAL_LEN`] bytes.
    #[error("the part before the '@' must be 1 to {MAX_LOCAL_LEN} bytes long")]
    LocalPartLength,
    /// The part after the `@` is empty or longer than [`MAX_DOMAIN_LEN`] bytes.
    #[error("the domain must be 1 to {MAX_DOMAIN_LEN} bytes long")]
    DomainLength,
    /// The domain has no dot: `alice@localhost` is not an address on the internet.
    #[error("the domain must contain at least one dot")]
    DomainWithoutDot,
    /// A domain label is empty, too long, has a character other than letters, digits and
    /// hyphens, or starts or ends with a hyphen.
    #[error(
        "each part of the domain must be 1 to {MAX_LABEL_LEN} letters, digits or hyphens, \
         not starting or ending with a hyphen"
    )]
    DomainLabel,
}

impl Email {
    /// Parses `text` into its canonical form (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(EmailError::ForbiddenCharacter);
        }
        let address = trimmed.to_lowercase();
        if address.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let mut parts = address.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::AtSign);
        };
        if local.is_empty() || local.len() > MAX_LOCAL_LEN {
            return Err(EmailError::LocalPartLength);
        }
        if domain.is_empty() || domain.len() > MAX_DOMAIN_LEN {
            return Err(EmailError::DomainLength);
        }
        if !domain.contains('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        if !domain.split('.').all(is_label) {
            return Err(EmailError::DomainLabel);
        }
        Ok(Self(address))
    }

    /// The canonical address. Personal data: see the type's documentation.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A domain label: 1 to 63 of `[a-z0-9-]`, not starting or ending with `-`. Lower case is
/// all there is by now: the address was lower-cased before.
fn is_label(label: &str) -> bool {
    (1..=MAX_LABEL_LEN).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl fmt::Display for Email {
    /// Shows the address. It is personal data: never log it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, EmailError>) {
        assert_eq!(
            Email::parse(input).as_ref().map(Email::as_str),
            expected.as_deref(),
            "input {input:?}"
        );
    }

    #[test]
    fn well_formed_addresses_are_accepted_in_their_canonical_form() {
        let long_label = "a".repeat(63);
        let cases = [
            ("alice@example.com", "alice@example.com"),
            ("  Alice@Example.COM \n", "alice@example.com"),
            (
                "first.last+tag@mail.example.co.uk",
                "first.last+tag@mail.example.co.uk",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
            ("user@a-b.c0", "user@a-b.c0"),
            ("user@123.example", "user@123.example"),
            ("JÖRG@example.de", "jörg@example.de"),
        ];
        for (input, expected) in cases {
            check(input, Ok(expected));
        }
        let at_label_limit = format!("user@{long_label}.com");
        check(&at_label_limit, Ok(&at_label_limit));
    }

    #[test]
    fn malformed_addresses_are_rejected_with_the_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("   \t", EmailError::Empty),
            ("alice", EmailError::AtSign),
            ("alice@bob@example.com", EmailError::AtSign),
            ("ali ce@example.com", EmailError::ForbiddenCharacter),
            ("alice@exa\u{0}mple.com", EmailError::ForbiddenCharacter),
            ("alice\u{7f}@example.com", EmailError::ForbiddenCharacter),
            ("alice\u{a0}x@example.com", EmailError::ForbiddenCharacter),
            ("@example.com", EmailError::LocalPartLength),
            ("alice@", EmailError::DomainLength),
            ("alice@localhost", EmailError::DomainWithoutDot),
            ("alice@.example.com", EmailError::DomainLabel),
            ("alice@example.com.", EmailError::DomainLabel),
            ("alice@example..com", EmailError::DomainLabel),
            ("alice@-example.com", EmailError::DomainLabel),
            ("alice@example-.com", EmailError::DomainLabel),
            ("alice@exam_ple.com", EmailError::DomainLabel),
            ("alice@[192.0.2.1]", EmailError::DomainLabel),
            ("alice@bücher.example", EmailError::DomainLabel),
        ];
        for (input, expected) in cases {
            check(input, Err(expected));
        }
    }

    #[test]
    fn length_limits_are_enforced_in_bytes() {
        let local_64 = "a".repeat(64);
        let ok = format!("{local_64}@example.com");
        check(&ok, Ok(&ok));
        check(
            &format!("{}@example.com", "a".repeat(65)),
            Err(EmailError::LocalPartLength),
        );
        check(
            &format!("user@{}.com", "a".repeat(64)),
            Err(EmailError::DomainLabel),
        );
        // 5 labels of 49 bytes and ".com": 253 bytes, the longest domain.
        let domain_253 = format!("{}.com", vec!["b".repeat(49); 5].join("."));
        assert_eq!(domain_253.len(), 253);
        check(&format!("a@{domain_253}"), Err(EmailError::TooLong));
        let total_254 = format!("abc@{}", &domain_253[3..]);
        assert_eq!(total_254.len(), 254);
        check(&total_254, Ok(&total_254));
        // Multi-byte characters count as their bytes.
        check(
            &format!("{}@example.com", "é".repeat(33)),
            Err(EmailError::LocalPartLength),
        );
    }

    #[test]
    fn equal_mailboxes_in_different_case_parse_to_equal_values() {
        assert_eq!(
            Email::parse("Alice@Example.com").expect("valid"),
            Email::parse("alice@EXAMPLE.COM").expect("valid")
        );
    }

    #[test]
    fn debug_output_hides_the_address_and_display_shows_it() {
        let email = Email::parse("secret.person@example.com").expect("valid");
        assert_eq!(format!("{email:?}"), "Email(<redacted>)");
        assert_eq!(email.to_string(), "secret.person@example.com");
    }

    #[test]
    fn error_messages_never_repeat_the_input() {
        for input in [
            "sentinel-local@sentinel",
            "sentinel value@x.y",
            "sentinel@-x.y",
        ] {
            let message = Email::parse(input).expect_err("invalid").to_string();
            assert!(!message.contains("sentinel"), "{message}");
        }
    }
}
