//! Time-based one-time passwords (RFC 6238), each code accepted once only.
//!
//! The production configuration is [`TotpConfig::PRODUCTION`]: HMAC-SHA1, 6 digits, 30-second
//! steps and one step of skew either way, which is what every authenticator app understands.
//! Secrets are 20 random bytes (160 bits, RFC 4226's recommendation) made by this crate;
//! `totp-rs` only computes codes and writes the enrolment URI.
//!
//! **Single use.** RFC 6238 (5.2), NIST SP 800-63B (5.1.4.2) and OWASP ASVS 2.8.4 want a code
//! accepted once within its validity period. [`verify`] returns the time step a code matched;
//! the gateway stores it per account as `last_accepted_step`, and any later code that matches
//! that step or an earlier one is [`TotpCheck::Replayed`]. Storing it must be a conditional
//! update (only if the stored step is still lower), so that two gateway instances racing with
//! the same code cannot both accept it.
//!
//! Codes are compared in constant time; malformed codes (anything but exactly `digits` ASCII
//! digits) are [`TotpCheck::Wrong`] without being compared at all.

use std::fmt;

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::CryptoError;

/// The issuer shown by authenticator apps next to the account label.
pub const ISSUER: &str = "IceCone";

/// The HMAC behind the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1: the production choice; the only one every app supports.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl TotpAlgorithm {
    fn to_totp_rs(self) -> Algorithm {
        match self {
            Self::Sha1 => Algorithm::SHA1,
            Self::Sha256 => Algorithm::SHA256,
            Self::Sha512 => Algorithm::SHA512,
        }
    }
}

/// Why a TOTP secret, configuration or enrolment URI was refused. Messages never repeat the
/// input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The secret is not between [`TotpSecret::MIN_LEN`] and [`TotpSecret::MAX_LEN`] bytes.
    #[error(
        "a TOTP secret must be {} to {} bytes long",
        TotpSecret::MIN_LEN,
        TotpSecret::MAX_LEN
    )]
    SecretLength,
    /// Codes must have 6 to 8 digits (RFC 4226).
    #[error("TOTP codes must have 6 to 8 digits")]
    Digits,
    /// The time step must be at least one second.
    #[error("the TOTP time step must be at least one second")]
    Step,
    /// More than [`TotpConfig::MAX_SKEW`] steps of skew.
    #[error("the TOTP skew must be at most {} steps", TotpConfig::MAX_SKEW)]
    Skew,
    /// The label of an enrolment URI is empty or contains a colon.
    #[error("the TOTP label must be non-empty and contain no colon")]
    Label,
}

/// A shared TOTP secret. Overwritten with zeroes when dropped; `Debug` is redacted; equality
/// is decided in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret(Vec<u8>);

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TotpSecret {}

impl TotpSecret {
    /// The length of the secrets [`TotpSecret::generate`] makes: 160 bits.
    pub const LEN: usize = 20;
    /// The shortest secret accepted: 128 bits (RFC 4226, section 4).
    pub const MIN_LEN: usize = 16;
    /// The longest secret accepted (the RFC 6238 test secret for HMAC-SHA512).
    pub const MAX_LEN: usize = 64;

    /// A fresh random secret of [`TotpSecret::LEN`] bytes.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = vec![0; Self::LEN];
        crate::crypto::random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// A secret from its bytes (as decrypted from storage).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        if (Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            Ok(Self(bytes.to_vec()))
        } else {
            Err(TotpError::SecretLength)
        }
    }

    /// The bytes, for encrypting them at rest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in unpadded RFC 4648 base32, for typing it into an app by hand.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(totp(&TotpConfig::PRODUCTION, self).get_secret_base32())
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// How codes are computed and how much clock skew is tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TotpConfig {
    algorithm: TotpAlgorithm,
    digits: u8,
    step: u64,
    skew: u8,
}

impl TotpConfig {
    /// HMAC-SHA1, 6 digits, 30-second steps, one step of skew either way.
    pub const PRODUCTION: TotpConfig = TotpConfig {
        algorithm: TotpAlgorithm::Sha1,
        digits: 6,
        step: 30,
        skew: 1,
    };

    /// The largest skew accepted, in steps either way.
    pub const MAX_SKEW: u8 = 2;

    /// A configuration: `digits` 6 to 8, `step` at least one second, `skew` at most
    /// [`TotpConfig::MAX_SKEW`] steps either way.
    pub fn new(
        algorithm: TotpAlgorithm,
        digits: u8,
        step: u64,
        skew: u8,
    ) -> Result<Self, TotpError> {
        if !(6..=8).contains(&digits) {
            return Err(TotpError::Digits);
        }
        if step == 0 {
            return Err(TotpError::Step);
        }
        if skew > Self::MAX_SKEW {
            return Err(TotpError::Skew);
        }
        Ok(Self {
            algorithm,
            digits,
            step,
            skew,
        })
    }

    /// The HMAC.
    pub fn algorithm(&self) -> TotpAlgorithm {
        self.algorithm
    }

    /// The number of digits of a code.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// The length of a time step, in seconds.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The steps of skew tolerated either way.
    pub fn skew(&self) -> u8 {
        self.skew
    }

    /// The time step `unix_time` (seconds since the epoch) falls in.
    pub fn step_at(&self, unix_time: u64) -> u64 {
        unix_time / self.step
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// The code is right and fresh: store `step` as the account's last accepted step.
    Accepted {
        /// The time step the code belongs to.
        step: u64,
    },
    /// The code is right but its step was already used: refuse it, and log the reuse (ASVS
    /// 2.8.5) — someone may have watched the code being typed.
    Replayed,
    /// The code is wrong or malformed.
    Wrong,
}

/// The `totp-rs` value for `config` and `secret`. Its copy of the secret is wiped on drop
/// (`totp-rs`'s `zeroize` feature).
fn totp(config: &TotpConfig, secret: &TotpSecret) -> TOTP {
    // Unchecked: `TotpConfig` and `TotpSecret` already enforce what `TOTP::new` checks (6 to
    // 8 digits, a secret of 128 bits or more) and what it does not (a non-zero step).
    TOTP::new_unchecked(
        config.algorithm.to_totp_rs(),
        usize::from(config.digits),
        config.skew,
        config.step,
        secret.0.clone(),
        Some(ISSUER.to_owned()),
        String::new(),
    )
}

/// The code of `secret` for the time step of `unix_time`. Verification uses the same path.
pub fn generate(config: &TotpConfig, secret: &TotpSecret, unix_time: u64) -> Zeroizing<String> {
    Zeroizing::new(totp(config, secret).generate(unix_time))
}

/// Checks `code` at `now_unix` (seconds since the epoch) against the steps within the skew,
/// refusing a step at or before `last_accepted_step`.
///
/// Every step in the window is computed and compared, in constant time, whatever matches. If
/// the code matches several fresh steps (a one-in-a-million coincidence) the latest is
/// accepted, so that the code cannot be used twice.
pub fn verify(
    config: &TotpConfig,
    secret: &TotpSecret,
    code: &str,
    now_unix: u64,
    last_accepted_step: Option<u64>,
) -> TotpCheck {
    if code.len() != usize::from(config.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return TotpCheck::Wrong;
    }
    let totp = totp(config, secret);
    let current = config.step_at(now_unix);
    let first = current.saturating_sub(u64::from(config.skew));
    let last = current.saturating_add(u64::from(config.skew));
    let mut accepted = None;
    let mut replayed = false;
    for step in first..=last {
        let Some(time) = step.checked_mul(config.step) else {
            continue;
        };
        let expected = Zeroizing::new(totp.generate(time));
        let matches = bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
        let fresh = last_accepted_step.is_none_or(|used| step > used);
        if matches && fresh {
            accepted = Some(step);
        } else if matches {
            replayed = true;
        }
    }
    match (accepted, replayed) {
        (Some(step), _) => TotpCheck::Accepted { step },
        (None, true) => TotpCheck::Replayed,
        (None, false) => TotpCheck::Wrong,
    }
}

/// The `otpauth://totp/...` URI an authenticator app scans (as a QR code) at enrolment, with
/// issuer [`ISSUER`] and `label` naming the account (e.g. the e-mail address).
///
/// The URI contains the secret: show it once, never log or store it.
pub fn otpauth_uri(
    config: &TotpConfig,
    secret: &TotpSecret,
    label: &str,
) -> Result<Zeroizing<String>, TotpError> {
    if label.is_empty() || label.contains(':') {
        return Err(TotpError::Label);
    }
    let mut totp = totp(config, secret);
    totp.account_name = label.to_owned();
    Ok(Zeroizing::new(totp.get_url()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1_SECRET: &[u8] = b"12345678901234567890";
    const SHA256_SECRET: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SECRET: &[u8] =
        b"1234567890123456789012345678901234567890123456789012345678901234";

    fn rfc_config(algorithm: TotpAlgorithm) -> TotpConfig {
        TotpConfig::new(algorithm, 8, 30, 1).expect("valid")
    }

    fn secret(bytes: &[u8]) -> TotpSecret {
        TotpSecret::from_bytes(bytes).expect("valid length")
    }

    #[test]
    fn rfc_6238_appendix_b_vectors_pass_through_generate_and_verify() {
        use TotpAlgorithm::{Sha1, Sha256, Sha512};
        // (T, algorithm, expected code) from RFC 6238, Appendix B.
        let table = [
            (59, Sha1, "94287082"),
            (59, Sha256, "46119246"),
            (59, Sha512, "90693936"),
            (1_111_111_109, Sha1, "07081804"),
            (1_111_111_109, Sha256, "68084774"),
            (1_111_111_109, Sha512, "25091201"),
            (1_111_111_111, Sha1, "14050471"),
            (1_111_111_111, Sha256, "67062674"),
            (1_111_111_111, Sha512, "99943326"),
            (1_234_567_890, Sha1, "89005924"),
            (1_234_567_890, Sha256, "91819424"),
            (1_234_567_890, Sha512, "93441116"),
            (2_000_000_000, Sha1, "69279037"),
            (2_000_000_000, Sha256, "90698825"),
            (2_000_000_000, Sha512, "38618901"),
            (20_000_000_000, Sha1, "65353130"),
            (20_000_000_000, Sha256, "77737706"),
            (20_000_000_000, Sha512, "47863826"),
        ];
        for (time, algorithm, expected) in table {
            let key = secret(match algorithm {
                Sha1 => SHA1_SECRET,
                Sha256 => SHA256_SECRET,
                Sha512 => SHA512_SECRET,
            });
            let config = rfc_config(algorithm);
            assert_eq!(
                generate(&config, &key, time).as_str(),
                expected,
                "T={time} {algorithm:?}"
            );
            assert_eq!(
                verify(&config, &key, expected, time, None),
                TotpCheck::Accepted { step: time / 30 },
                "T={time} {algorithm:?}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_once_and_then_replayed() {
        let config = TotpConfig::PRODUCTION;
        let key = secret(SHA1_SECRET);
        let now = 1_800_000_015;
        let step = now / 30;
        let code = generate(&config, &key, now);
        // (last accepted step, outcome)
        let table = [
            (None, TotpCheck::Accepted { step }),
            (Some(step - 1), TotpCheck::Accepted { step }),
            (Some(step), TotpCheck::Replayed),
            (Some(step + 1), TotpCheck::Replayed),
            (Some(u64::MAX), TotpCheck::Replayed),
        ];
        for (last, expected) in table {
            assert_eq!(
                verify(&config, &key, &code, now, last),
                expected,
                "{last:?}"
            );
        }
        // The same code a few seconds later in the same step: still a replay.
        assert_eq!(
            verify(&config, &key, &code, now + 10, Some(step)),
            TotpCheck::Replayed
        );
    }

    #[test]
    fn one_step_of_skew_is_tolerated_and_two_are_not() {
        let config = TotpConfig::PRODUCTION;
        let key = secret(SHA1_SECRET);
        let now: u64 = 1_800_000_015;
        // (offset of the code's step from now's, accepted?)
        let table = [(-2, false), (-1, true), (0, true), (1, true), (2, false)];
        for (offset, accepted) in table {
            let code_time = now.checked_add_signed(offset * 30).expect("in range");
            let code = generate(&config, &key, code_time);
            let expected = if accepted {
                TotpCheck::Accepted {
                    step: code_time / 30,
                }
            } else {
                TotpCheck::Wrong
            };
            assert_eq!(
                verify(&config, &key, &code, now, None),
                expected,
                "{offset}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_wrong_without_panicking() {
        let config = TotpConfig::PRODUCTION;
        let key = secret(SHA1_SECRET);
        let now = 1_800_000_015;
        let good = generate(&config, &key, now);
        let cases = [
            String::new(),
            "12345".to_owned(),
            "1234567".to_owned(),
            format!(" {}", good.as_str()),
            format!("{} ", good.as_str()),
            good.replace(|_: char| true, "a"),
            "12 345".to_owned(),
            "１２３４５６".to_owned(),
            "-12345".to_owned(),
            "+12345".to_owned(),
            "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}".to_owned(),
            "9".repeat(10_000),
        ];
        for code in cases {
            assert_eq!(
                verify(&config, &key, &code, now, None),
                TotpCheck::Wrong,
                "{code:?}"
            );
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let config = TotpConfig::PRODUCTION;
        let key = secret(SHA1_SECRET);
        for now in [0, 1, 29, u64::MAX - 1, u64::MAX] {
            let code = generate(&config, &key, now);
            assert_eq!(
                verify(&config, &key, &code, now, None),
                TotpCheck::Accepted { step: now / 30 },
                "{now}"
            );
        }
    }

    #[test]
    fn configurations_and_secrets_are_checked() {
        use TotpAlgorithm::Sha1;
        let table = [
            (5, 30, 1, Err(TotpError::Digits)),
            (9, 30, 1, Err(TotpError::Digits)),
            (6, 0, 1, Err(TotpError::Step)),
            (6, 30, 3, Err(TotpError::Skew)),
            (6, 30, 1, Ok(TotpConfig::PRODUCTION)),
        ];
        for (digits, step, skew, expected) in table {
            assert_eq!(TotpConfig::new(Sha1, digits, step, skew), expected);
        }
        for (len, ok) in [
            (0, false),
            (15, false),
            (16, true),
            (20, true),
            (64, true),
            (65, false),
        ] {
            let result = TotpSecret::from_bytes(&vec![7; len]);
            assert_eq!(result.is_ok(), ok, "{len} bytes");
        }
    }

    #[test]
    fn generated_secrets_are_20_random_bytes_with_a_redacted_debug() {
        let a = TotpSecret::generate().expect("randomness");
        let b = TotpSecret::generate().expect("randomness");
        assert_eq!(a.as_bytes().len(), TotpSecret::LEN);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "TotpSecret(<redacted>)");
        assert_eq!(TotpSecret::from_bytes(a.as_bytes()).expect("round trip"), a);
    }

    #[test]
    fn the_secret_is_shown_in_base32_and_in_the_otpauth_uri() {
        let key = secret(SHA1_SECRET);
        assert_eq!(key.base32().as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri(&TotpConfig::PRODUCTION, &key, "alice@example.com").expect("uri");
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/IceCone:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=IceCone"
        );
        for label in ["", "alice:bob@example.com"] {
            assert_eq!(
                otpauth_uri(&TotpConfig::PRODUCTION, &key, label).map(|u| u.to_string()),
                Err(TotpError::Label)
            );
        }
    }
}
