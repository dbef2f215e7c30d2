//! TOTP as an authenticator app computes it.

use icecone_core::identity::totp::{self, TotpConfig, TotpSecret};

/// Decodes base32 (RFC 4648, padding optional), as TOTP secrets are shown.
pub(crate) fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let index = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32");
        value = (value << 5) | u32::try_from(index).expect("small");
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((value >> bits) & 0xff).expect("byte"));
        }
    }
    out
}

/// The code of `secret` `offset_seconds` from now.
pub(crate) fn code_at(secret: &TotpSecret, offset_seconds: i64) -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp() + offset_seconds).expect("time");
    totp::generate(&TotpConfig::PRODUCTION, secret, now).to_string()
}
