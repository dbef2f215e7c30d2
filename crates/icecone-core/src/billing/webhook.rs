//! Stripe's webhook signature: the `Stripe-Signature` header is `t=<unix seconds>` and one
//! or more `v1=<hex>` (one per endpoint secret in use while a secret is rolled), each the
//! HMAC-SHA256 of `"<t>.<raw body>"` under an endpoint's signing secret. A request is
//! authentic when any `v1` matches a computed signature under any configured secret
//! (compared in constant time) and `t` is within [`TOLERANCE`] of now, either way (a
//! replayed request is stale; a timestamp from the future is refused too). Other schemes
//! (`v0`, Stripe's test-mode scheme) are ignored and never suffice.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// How far a signature's timestamp may be from now (Stripe's libraries use 300 s).
pub const TOLERANCE: TimeDelta = TimeDelta::seconds(300);

/// Most signatures one header may carry (Stripe sends one per live secret: two while a
/// secret is rolled); more is not a header Stripe sends.
const MAX_SIGNATURES: usize = 8;

/// An endpoint's signing secret (`whsec_...`), held as the bytes the HMAC is keyed with.
/// Its `Debug` output shows nothing of it; it is wiped on drop.
#[derive(Clone)]
pub struct SigningSecret(Zeroizing<Vec<u8>>);

impl SigningSecret {
    /// A secret as Stripe shows it; `None` when blank. The whole text (with its `whsec_`
    /// prefix) is the key, as Stripe's libraries use it.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self(Zeroizing::new(text.as_bytes().to_vec())))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

/// Why a webhook request is refused. None names a value of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The header is missing, empty, or not `key=value` pairs with exactly one integer `t`.
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    /// The header carries no `v1` signature (only `v0`, say).
    #[error("the Stripe-Signature header carries no v1 signature")]
    NoSignature,
    /// No `v1` signature matches the payload under any configured secret.
    #[error("no signature matches")]
    Mismatch,
    /// The signature is older than the tolerance: a replay.
    #[error("the signature is too old")]
    Stale,
    /// The signature's timestamp is further in the future than the tolerance.
    #[error("the signature's timestamp is in the future")]
    FromTheFuture,
}

/// A verified request: when Stripe signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signature's timestamp.
    pub signed_at: DateTime<Utc>,
}

/// The parts of a header: the timestamp as written (it is what was signed) and its value,
/// and the `v1` signatures that decode as 32 bytes.
struct Header<'a> {
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<[u8; 32]>,
    any_v1: bool,
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        let high = digit(pair[0])?;
        let low = digit(pair[1])?;
        out[i] = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

fn parse(header: &str) -> Result<Header<'_>, Refusal> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    let mut v1_count = 0usize;
    if header.trim().is_empty() {
        return Err(Refusal::Malformed);
    }
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(Refusal::Malformed)?;
        match key {
            "t" => {
                if timestamp.is_some()
                    || value.is_empty()
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(Refusal::Malformed);
                }
                let seconds: i64 = value.parse().map_err(|_| Refusal::Malformed)?;
                timestamp = Some((value, seconds));
            }
            "v1" => {
                v1_count += 1;
                if v1_count > MAX_SIGNATURES {
                    return Err(Refusal::Malformed);
                }
                // A value that is not 64 hex digits matches nothing.
                if let Some(signature) = decode_hex(value) {
                    signatures.push(signature);
                }
            }
            _ => {}
        }
    }
    let (timestamp_text, timestamp) = timestamp.ok_or(Refusal::Malformed)?;
    Ok(Header {
        timestamp_text,
        timestamp,
        signatures,
        any_v1: v1_count > 0,
    })
}

fn signature(secret: &SigningSecret, timestamp: &str, payload: &[u8]) -> [u8; 32] {
    let mut mac = secret.mac();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// Whether `header` (the `Stripe-Signature` value) authenticates `payload` (the raw body,
/// exactly as received) under any of `secrets`, at `now`.
pub fn verify(
    header: &str,
    payload: &[u8],
    secrets: &[SigningSecret],
    now: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    let header = parse(header)?;
    if !header.any_v1 {
        return Err(Refusal::NoSignature);
    }
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let expected = signature(secret, header.timestamp_text, payload);
        for candidate in &header.signatures {
            matched |= expected.ct_eq(candidate);
        }
    }
    if !bool::from(matched) {
        return Err(Refusal::Mismatch);
    }
    let signed_at = DateTime::from_timestamp(header.timestamp, 0).ok_or(Refusal::Malformed)?;
    if signed_at < now - TOLERANCE {
        return Err(Refusal::Stale);
    }
    if signed_at > now + TOLERANCE {
        return Err(Refusal::FromTheFuture);
    }
    Ok(Verified { signed_at })
}

/// The header Stripe would send for `payload` signed with `secret` at `at`: what tests
/// and local tools sign with.
pub fn sign(secret: &SigningSecret, at: DateTime<Utc>, payload: &[u8]) -> String {
    let timestamp = at.timestamp().to_string();
    let digest = signature(secret, &timestamp, payload);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    fn secret(text: &str) -> SigningSecret {
        SigningSecret::new(text).expect("a secret")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    /// A `v1` value for `payload` under `key` at `at`.
    fn v1(key: &str, at: DateTime<Utc>, payload: &[u8]) -> String {
        sign(&secret(key), at, payload)
            .split_once(",v1=")
            .expect("v1")
            .1
            .to_owned()
    }

    #[test]
    fn a_signed_request_is_accepted_under_any_of_the_secrets_and_any_of_its_signatures() {
        let at = now() - TimeDelta::seconds(10);
        let t = at.timestamp();
        let good = v1("whsec_new", at, BODY);
        let other = v1("whsec_unrelated", at, BODY);
        let cases: Vec<(&str, String, Vec<&str>)> = vec![
            (
                "one signature, one secret",
                format!("t={t},v1={good}"),
                vec!["whsec_new"],
            ),
            (
                "second of two secrets",
                format!("t={t},v1={good}"),
                vec!["whsec_old", "whsec_new"],
            ),
            (
                "second of two signatures",
                format!("t={t},v1={other},v1={good}"),
                vec!["whsec_new"],
            ),
            (
                "a v0 beside it is ignored",
                format!("t={t},v0={other},v1={good}"),
                vec!["whsec_new"],
            ),
            (
                "spaces after commas",
                format!("t={t}, v1={good}"),
                vec!["whsec_new"],
            ),
            (
                "t after the signature",
                format!("v1={good},t={t}"),
                vec!["whsec_new"],
            ),
        ];
        for (name, header, keys) in cases {
            let secrets: Vec<_> = keys.iter().map(|key| secret(key)).collect();
            assert_eq!(
                verify(&header, BODY, &secrets, now()),
                Ok(Verified { signed_at: at }),
                "{name}"
            );
        }
    }

    #[test]
    fn forged_stale_and_malformed_requests_are_refused_with_their_reason() {
        let at = now() - TimeDelta::seconds(10);
        let t = at.timestamp();
        let good = v1("whsec_new", at, BODY);
        let stale_at = now() - TOLERANCE - TimeDelta::seconds(1);
        let future_at = now() + TOLERANCE + TimeDelta::seconds(1);
        let wrong_secret = v1("whsec_guess", at, BODY);
        let other_body = v1("whsec_new", at, br#"{"id":"evt_1","type":"invoice.paid "}"#);
        let cases: Vec<(&str, String, &[u8], Refusal)> = vec![
            (
                "wrong secret",
                format!("t={t},v1={wrong_secret}"),
                BODY,
                Refusal::Mismatch,
            ),
            (
                "modified payload",
                format!("t={t},v1={good}"),
                br#"{"id":"evt_2","type":"invoice.paid"}"#,
                Refusal::Mismatch,
            ),
            (
                "signature of another payload",
                format!("t={t},v1={other_body}"),
                BODY,
                Refusal::Mismatch,
            ),
            (
                "timestamp changed after signing",
                format!("t={},v1={good}", t + 1),
                BODY,
                Refusal::Mismatch,
            ),
            (
                "stale",
                format!(
                    "t={},v1={}",
                    stale_at.timestamp(),
                    v1("whsec_new", stale_at, BODY)
                ),
                BODY,
                Refusal::Stale,
            ),
            (
                "future beyond tolerance",
                format!(
                    "t={},v1={}",
                    future_at.timestamp(),
                    v1("whsec_new", future_at, BODY)
                ),
                BODY,
                Refusal::FromTheFuture,
            ),
            ("missing t", format!("v1={good}"), BODY, Refusal::Malformed),
            ("missing v1", format!("t={t}"), BODY, Refusal::NoSignature),
            (
                "v0 only",
                format!("t={t},v0={good}"),
                BODY,
                Refusal::NoSignature,
            ),
            (
                "duplicated t",
                format!("t={t},t={t},v1={good}"),
                BODY,
                Refusal::Malformed,
            ),
            (
                "t not a number",
                format!("t=soon,v1={good}"),
                BODY,
                Refusal::Malformed,
            ),
            (
                "negative t",
                format!("t=-{t},v1={good}"),
                BODY,
                Refusal::Malformed,
            ),
            (
                "an item without =",
                format!("t={t},v1{good}"),
                BODY,
                Refusal::Malformed,
            ),
            (
                "v1 not hex",
                format!("t={t},v1={}", "z".repeat(64)),
                BODY,
                Refusal::Mismatch,
            ),
            (
                "v1 truncated",
                format!("t={t},v1={}", &good[..63]),
                BODY,
                Refusal::Mismatch,
            ),
            (
                "too many signatures",
                format!("t={t}{}", ",v1=00".repeat(9)),
                BODY,
                Refusal::Malformed,
            ),
            ("empty", String::new(), BODY, Refusal::Malformed),
            ("blank", "  ".to_owned(), BODY, Refusal::Malformed),
        ];
        for (name, header, body, refusal) in cases {
            assert_eq!(
                verify(&header, body, &[secret("whsec_new")], now()),
                Err(refusal),
                "{name}"
            );
        }
    }

    #[test]
    fn without_a_configured_secret_nothing_verifies() {
        let at = now();
        let header = sign(&secret("whsec_new"), at, BODY);
        assert_eq!(verify(&header, BODY, &[], now()), Err(Refusal::Mismatch));
    }

    #[test]
    fn the_tolerance_is_inclusive_at_five_minutes_either_way() {
        for offset in [-300, 300] {
            let at = now() + TimeDelta::seconds(offset);
            let header = sign(&secret("whsec_new"), at, BODY);
            assert!(
                verify(&header, BODY, &[secret("whsec_new")], now()).is_ok(),
                "{offset}"
            );
        }
    }

    #[test]
    fn a_secret_shows_nothing_in_debug_output_and_a_blank_one_is_none() {
        assert_eq!(format!("{:?}", secret("whsec_canary")), "SigningSecret(..)");
        assert!(SigningSecret::new(" ").is_none());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_payload() {
        // A known answer computed independently (Python's `hmac` module):
        // HMAC-SHA256(key = "whsec_test", message = "1.{}").
        let header = sign(
            &secret("whsec_test"),
            DateTime::from_timestamp(1, 0).expect("t"),
            b"{}",
        );
        assert_eq!(
            header,
            "t=1,v1=7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094"
        );
    }
}
