//! E-mail addresses: `local@domain.tld` as RFC 5322's dot-atom form writes them (no quoted
//! local parts, no comments), with a domain of at least two labels and an alphabetic
//! top-level label. Internationalised addresses pass when their non-ASCII characters sit
//! where letters may.

use super::{Finding, Recogniser, RedactionKind};

/// Finds e-mail addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmailAddresses;

fn local_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
}

fn domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '-'
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

impl Recogniser for EmailAddresses {
    fn kind(&self) -> RedactionKind {
        RedactionKind::Email
    }

    fn describe(&self) -> &'static str {
        "e-mail addresses (name@domain.example)"
    }

    fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut done = 0;
        for at in memchr_all(bytes, b'@') {
            if at < done {
                continue;
            }
            let mut start = at;
            for (i, c) in text[done..at].char_indices().rev() {
                if !local_char(c) {
                    break;
                }
                start = done + i;
            }
            // Opening quotes and similar belong to the text, not the address.
            while start < at && matches!(bytes[start], b'\'' | b'`' | b'{' | b'|' | b'*') {
                start += 1;
            }
            let mut end = at + 1;
            for (i, c) in text[at + 1..].char_indices() {
                if !domain_char(c) {
                    break;
                }
                end = at + 1 + i + c.len_utf8();
            }
            while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
                end -= 1;
            }
            if valid_local(&text[start..at]) && valid_domain(&text[at + 1..end]) {
                findings.push(Finding {
                    start,
                    end,
                    kind: RedactionKind::Email,
                });
                done = end;
            }
        }
    }
}

fn memchr_all(bytes: &[u8], needle: u8) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(move |(_, b)| **b == needle)
        .map(|(i, _)| i)
}
