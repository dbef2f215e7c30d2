//! IP addresses: IPv4 in dotted-quad form (each part 0 to 255, no leading zeros) and IPv6
//! in any form RFC 4291 and RFC 5952 allow (`2001:db8::8a2e:370:7334`, `::ffff:192.0.2.1`,
//! bracketed with a port), parsed by the standard library. A port after an address stays.
//!
//! Addresses that identify no one are left alone: the unspecified and loopback addresses,
//! IPv4's limited broadcast, and IPv4 netmasks (`255.255.255.0`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::scan::{closes, opens};
use super::{Finding, Recogniser, RedactionKind};

/// Finds IPv4 addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ipv4Addresses;

/// Finds IPv6 addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ipv6Addresses;

/// Whether an address may end at `end`: where any value may, or before `:port`.
fn ends(text: &str, end: usize) -> bool {
    closes(text, end) || {
        let rest = &text.as_bytes()[end..];
        rest.first() == Some(&b':') && rest.get(1).is_some_and(u8::is_ascii_digit)
    }
}

/// Reads an IPv4 address at `start`: its end, if one is there.
fn ipv4_at(text: &str, start: usize) -> Option<(Ipv4Addr, usize)> {
    let bytes = text.as_bytes();
    let mut octets = [0u8; 4];
    let mut i = start;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if bytes.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let from = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() && i - from < 4 {
            i += 1;
        }
        let part = &text[from..i];
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    Some((Ipv4Addr::from(octets), i))
}

fn identifies(address: Ipv4Addr) -> bool {
    let bits = u32::from(address);
    let netmask = bits.leading_ones() + bits.trailing_zeros() == 32 && bits != 0;
    !(address.is_unspecified() || address.is_loopback() || address.is_broadcast() || netmask)
}

impl Recogniser for Ipv4Addresses {
    fn kind(&self) -> RedactionKind {
        RedactionKind::IpAddress
    }

    fn describe(&self) -> &'static str {
        "IPv4 addresses (other than loopback, unspecified, broadcast and netmasks)"
    }

    fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit()
                && opens(text, i)
                && let Some((address, end)) = ipv4_at(text, i)
                && ends(text, end)
                && identifies(address)
            {
                findings.push(Finding {
                    start: i,
                    end,
                    kind: RedactionKind::IpAddress,
                });
                i = end;
                continue;
            }
            let in_run = bytes[i].is_ascii_digit();
            i += 1;
            while in_run && i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
        }
    }

    fn normalise(&self, found: &str) -> String {
        found.to_owned()
    }
}

fn ipv6_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

impl Recogniser for Ipv6Addresses {
    fn kind(&self) -> RedactionKind {
        RedactionKind::IpAddress
    }

    fn describe(&self) -> &'static str {
        "IPv6 addresses (other than loopback and unspecified)"
    }

    fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        let bytes = text.as_bytes();
        let mut done = 0;
        // Every address has a colon: each colon's run of hex digits, colons and dots is a
        // candidate, read from where the run starts.
        for colon in bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b':')
            .map(|(at, _)| at)
        {
            if colon < done {
                continue;
            }
            let mut i = colon;
            while i > done && ipv6_byte(bytes[i - 1]) {
                i -= 1;
            }
            // A run that starts with a dot is the tail of something else.
            while i < colon && bytes[i] == b'.' {
                i += 1;
            }
            if !opens_v6(text, i) {
                done = colon + 1;
                continue;
            }
            let mut end = i;
            while end < bytes.len() && ipv6_byte(bytes[end]) {
                end += 1;
            }
            // A full stop after the address ends the sentence.
            while end > i && bytes[end - 1] == b'.' {
                end -= 1;
            }
            let candidate = &text[i..end];
            let colons = candidate.bytes().filter(|&b| b == b':').count();
            let found = colons >= 2
                && candidate.bytes().any(|b| b.is_ascii_digit())
                && closes(text, end)
                && candidate
                    .parse::<Ipv6Addr>()
                    .is_ok_and(|address| !address.is_loopback() && !address.is_unspecified());
            if found {
                findings.push(Finding {
                    start: i,
                    end,
                    kind: RedactionKind::IpAddress,
                });
            }
            done = end.max(colon + 1);
        }
    }

    fn normalise(&self, found: &str) -> String {
        found
            .parse::<Ipv6Addr>()
            .map_or_else(|_| found.to_lowercase(), |address| address.to_string())
    }
}

/// Where an IPv6 address may begin: as any value, but never after a colon or a dot (the
/// middle of an address or of a time).
fn opens_v6(text: &str, start: usize) -> bool {
    opens(text, start) && !matches!(text[..start].chars().next_back(), Some(':' | '.'))
}
