//! Who a request comes from, as the per-address limits see it.
//!
//! The TCP peer is the client unless it is one of the operator's trusted proxies
//! (`ICECONE_TRUSTED_PROXIES`); only then are `Forwarded` (RFC 7239) or, without it,
//! `X-Forwarded-For` believed, read right to left: each hop a trusted proxy appended is
//! skipped, and the first address not in the trusted set is the client. A client cannot
//! choose its own address by sending the header, because the proxies append to it and the
//! entries left of the first untrusted one are never read.
//!
//! Limits group IPv6 clients by their /64 ([`LimitKey`]): one subscriber usually holds a
//! whole /64, so per-address limits on single IPv6 addresses would limit nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::{Cidr, InvalidCidr, canonical, masked};

/// The proxies whose forwarding headers are believed; empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8, 192.168.1.7`); blank: none.
    pub fn parse(list: &str) -> Result<Self, InvalidCidr> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client of a request from `peer`, given its `Forwarded` and `X-Forwarded-For`
/// header values (every occurrence, in order). `Forwarded` wins when both are present.
/// A forwarding entry that is not an IP address (`unknown`, an obfuscated name, garbage)
/// stops the walk: the last trusted hop before it is taken as the client, since nothing
/// further left can be believed.
pub fn client_ip(
    peer: IpAddr,
    forwarded: &[&str],
    x_forwarded_for: &[&str],
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.trusts(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = if forwarded.iter().any(|v| !v.trim().is_empty()) {
        forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(forwarded_for)
            .collect()
    } else {
        x_forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .map(|hop| parse_node(hop.trim()))
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        if !trusted.trusts(client) {
            break;
        }
        match hop {
            Some(address) => client = canonical(address),
            None => break,
        }
    }
    client
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http`), if an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// A node: `192.0.2.60`, `192.0.2.60:8080`, `[2001:db8::1]`, `[2001:db8::1]:8080` or a bare
/// IPv6 address (as `X-Forwarded-For` writes them).
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (address, _) = rest.split_once(']')?;
        return address.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    let (address, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// What per-address limits count by: an IPv4 address, or the /64 of an IPv6 one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LimitKey(String);

impl LimitKey {
    /// The key of `address`.
    pub fn of(address: IpAddr) -> Self {
        match canonical(address) {
            IpAddr::V4(v4) => Self(v4.to_string()),
            v6 @ IpAddr::V6(_) => Self(format!("{}/64", masked(v6, 64))),
        }
    }

    /// The key as text (personal data: store only a keyed blind index of it).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list_of_networks() {
        assert_eq!(
            TrustedProxies::parse(" 10.0.0.0/8 , ::1 ,").expect("a list"),
            TrustedProxies(vec![
                "10.0.0.0/8".parse().expect("a network"),
                "::1".parse().expect("an address"),
            ])
        );
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/8, nonsense").is_err());
    }

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies_right_to_left() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 2001:db8:ffff::/48").expect("list");
        let none = TrustedProxies::default();
        // (peer, Forwarded, X-Forwarded-For, trusted, client)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            &'a TrustedProxies,
            &'a str,
        );
        let cases: &[Case<'_>] = &[
            // No trusted proxies: the headers are ignored.
            ("203.0.113.9", &[], &["198.51.100.1"], &none, "203.0.113.9"),
            ("10.0.0.1", &["for=198.51.100.1"], &[], &none, "10.0.0.1"),
            // From an untrusted peer, a forged header changes nothing.
            ("203.0.113.9", &[], &["10.0.0.5"], &trusted, "203.0.113.9"),
            // One trusted proxy.
            ("10.0.0.1", &[], &["198.51.100.1"], &trusted, "198.51.100.1"),
            // The client forged an entry; the proxy appended the real one on the right.
            (
                "10.0.0.1",
                &[],
                &["6.6.6.6, 198.51.100.1"],
                &trusted,
                "198.51.100.1",
            ),
            // Two trusted proxies, the entries split over two header lines.
            (
                "10.0.0.1",
                &[],
                &["6.6.6.6, 198.51.100.1", "10.0.0.2"],
                &trusted,
                "198.51.100.1",
            ),
            // RFC 7239, with ports, quotes, IPv6 and case.
            (
                "10.0.0.1",
                &["for=6.6.6.6, For=\"[2001:db8::17]:4711\";proto=https"],
                &[],
                &trusted,
                "2001:db8::17",
            ),
            (
                "10.0.0.1",
                &["for=198.51.100.1:8080"],
                &[],
                &trusted,
                "198.51.100.1",
            ),
            // Forwarded wins over X-Forwarded-For.
            (
                "10.0.0.1",
                &["for=198.51.100.1"],
                &["198.51.100.2"],
                &trusted,
                "198.51.100.1",
            ),
            // An entry that is no address ends the walk at the last trusted hop.
            ("10.0.0.1", &["for=unknown"], &[], &trusted, "10.0.0.1"),
            ("10.0.0.1", &[], &["garbage"], &trusted, "10.0.0.1"),
            // Every hop trusted: the leftmost is the client.
            (
                "10.0.0.1",
                &[],
                &["10.0.0.3, 10.0.0.2"],
                &trusted,
                "10.0.0.3",
            ),
            // No header from a trusted proxy: the proxy itself.
            ("10.0.0.1", &[], &[], &trusted, "10.0.0.1"),
            // IPv4-mapped peers and proxies in an IPv6 network.
            (
                "::ffff:10.0.0.1",
                &[],
                &["198.51.100.1"],
                &trusted,
                "198.51.100.1",
            ),
            (
                "2001:db8:ffff:1::1",
                &[],
                &["2001:db8::9"],
                &trusted,
                "2001:db8::9",
            ),
        ];
        for (peer, forwarded, xff, trusted, client) in cases {
            assert_eq!(
                client_ip(ip(peer), forwarded, xff, trusted),
                ip(client),
                "{peer} {forwarded:?} {xff:?}"
            );
        }
    }

    #[test]
    fn limits_count_ipv6_clients_by_their_64() {
        // (address, key)
        let cases = [
            ("203.0.113.9", "203.0.113.9"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::1", "::/64"),
        ];
        for (address, key) in cases {
            assert_eq!(LimitKey::of(ip(address)).as_str(), key, "{address}");
        }
    }
}
