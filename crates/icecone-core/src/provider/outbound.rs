//! Where the gateway may connect for a URL a provider's answer gave it (an output's
//! temporary URL, a redirect from it): the address policy against server-side request
//! forgery, as pure functions.
//!
//! A provider's answer is not trusted to name a destination: a compromised or confused
//! provider, or anyone who can shape its answer, could otherwise make the gateway fetch
//! from its own network — the cloud metadata service, a database's HTTP port, an admin
//! page on loopback. So every address such a URL resolves to is classified
//! ([`classify`]), and only public unicast addresses are connected to ([`vet_address`]);
//! IPv4 addresses embedded in IPv6 ones (IPv4-mapped, NAT64, 6to4) are classified as the
//! IPv4 address they reach. In production only `https` is fetched ([`vet_scheme`]).
//!
//! Development and tests may allow listed networks ([`OutboundPolicy::development`]):
//! their mock servers listen on `127.0.0.1`. Cloud metadata addresses are refused even
//! when listed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::Cidr;

/// What kind of address an IP address is, as far as outbound fetches care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// A public unicast address: may be connected to.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 private networks: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// IPv6 unique local addresses, `fc00::/7`.
    UniqueLocal,
    /// Carrier-grade NAT shared address space, `100.64.0.0/10`.
    SharedCgnat,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// A cloud instance metadata service: `169.254.169.254`, `169.254.170.2`,
    /// `100.100.100.200`, `192.0.0.192`, `fd00:ec2::254`. Refused even when listed.
    Metadata,
    /// Anything else that is not public unicast: "this network" `0.0.0.0/8`, broadcast,
    /// `240.0.0.0/4`, documentation, benchmarking and protocol-assignment ranges, IPv6
    /// outside global unicast `2000::/3`, Teredo, deprecated site-local and
    /// IPv4-compatible addresses.
    Reserved,
}

impl AddressClass {
    /// The stable name (for logs: a class, never the address).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link_local",
            Self::UniqueLocal => "unique_local",
            Self::SharedCgnat => "shared_cgnat",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Metadata => "metadata",
            Self::Reserved => "reserved",
        }
    }
}

/// Cloud metadata services, by address.
const METADATA: [IpAddr; 5] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// The IPv4 address an IPv6 address reaches, when it embeds one: IPv4-mapped
/// (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let [a, b, c, d] = ip.octets()[12..] else {
        return None;
    };
    let last = Ipv4Addr::new(a, b, c, d);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(last),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        [0x2002, high, low, ..] => {
            let [a, b] = high.to_be_bytes();
            let [c, d] = low.to_be_bytes();
            Some(Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

/// The address a connection to `ip` really reaches: the embedded IPv4 address of an
/// IPv4-mapped, NAT64 or 6to4 address, otherwise `ip` itself.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn in_v6(ip: Ipv6Addr, network: Ipv6Addr, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(network) & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let ranges: [([u8; 4], u32, AddressClass); 17] = [
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, Reserved),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Reserved),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Reserved),
        ([203, 0, 113, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
        ([255, 255, 255, 255], 32, Reserved),
    ];
    ranges
        .into_iter()
        .find(|(network, prefix, _)| in_v4(ip, *network, *prefix))
        .map_or(Public, |(_, _, class)| class)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let v6 = |a, b| Ipv6Addr::new(a, b, 0, 0, 0, 0, 0, 0);
    let ranges: [(Ipv6Addr, u32, AddressClass); 11] = [
        (Ipv6Addr::UNSPECIFIED, 128, Unspecified),
        (Ipv6Addr::LOCALHOST, 128, Loopback),
        // IPv4-compatible (deprecated) and the rest of ::/8.
        (Ipv6Addr::UNSPECIFIED, 8, Reserved),
        // Local-use NAT64 and discard-only.
        (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, Reserved),
        (v6(0x100, 0), 64, Reserved),
        // IETF protocol assignments (Teredo, benchmarking, ORCHID) and documentation.
        (v6(0x2001, 0), 23, Reserved),
        (v6(0x2001, 0xdb8), 32, Reserved),
        (v6(0xfc00, 0), 7, UniqueLocal),
        (v6(0xfe80, 0), 10, LinkLocal),
        (v6(0xfec0, 0), 10, Reserved),
        (v6(0xff00, 0), 8, Multicast),
    ];
    if let Some((_, _, class)) = ranges
        .into_iter()
        .find(|(network, prefix, _)| in_v6(ip, *network, *prefix))
    {
        return class;
    }
    if in_v6(ip, v6(0x2000, 0), 3) {
        Public
    } else {
        Reserved
    }
}

/// What kind of address `ip` is; an IPv6 address embedding an IPv4 address is classified
/// as the IPv4 address it reaches.
pub fn classify(ip: IpAddr) -> AddressClass {
    let ip = canonical(ip);
    if METADATA.contains(&ip) {
        return AddressClass::Metadata;
    }
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Why an outbound destination is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    /// Not `https` (in production), or neither `http` nor `https`.
    #[error("the URL's scheme is not allowed for outbound fetches")]
    Scheme,
    /// The address is not one the gateway connects to.
    #[error("the URL reaches a {} address, which the gateway does not fetch from", .0.as_str())]
    Address(AddressClass),
}

/// Where outbound fetches of URLs taken from providers' answers may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    https_only: bool,
    allow: Vec<Cidr>,
}

impl OutboundPolicy {
    /// Production: `https` only, public unicast addresses only.
    pub fn production() -> Self {
        Self {
            https_only: true,
            allow: Vec::new(),
        }
    }

    /// Development and tests: `http` too, and the `allow`ed networks besides public
    /// addresses (metadata addresses stay refused).
    pub fn development(allow: Vec<Cidr>) -> Self {
        Self {
            https_only: false,
            allow,
        }
    }

    /// Whether only `https` is fetched.
    pub fn https_only(&self) -> bool {
        self.https_only
    }

    /// The networks allowed besides public addresses.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allow
    }
}

/// Whether a URL with `scheme` (lower-case, without `:`) may be fetched.
pub fn vet_scheme(scheme: &str, policy: &OutboundPolicy) -> Result<(), Refusal> {
    match scheme {
        "https" => Ok(()),
        "http" if !policy.https_only => Ok(()),
        _ => Err(Refusal::Scheme),
    }
}

/// Whether the gateway may connect to `ip`: public unicast addresses, and in development the
/// allowed networks — never a metadata address.
pub fn vet_address(ip: IpAddr, policy: &OutboundPolicy) -> Result<(), Refusal> {
    match classify(ip) {
        AddressClass::Public => Ok(()),
        AddressClass::Metadata => Err(Refusal::Address(AddressClass::Metadata)),
        _ if policy.allow.iter().any(|network| network.contains(ip)) => Ok(()),
        class => Err(Refusal::Address(class)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn every_kind_of_address_gets_its_class() {
        use AddressClass::*;
        let table = [
            // Public.
            ("93.184.216.34", Public),
            ("8.8.8.8", Public),
            ("100.63.255.255", Public),
            ("100.128.0.0", Public),
            ("172.15.255.255", Public),
            ("172.32.0.0", Public),
            ("2606:4700:4700::1111", Public),
            ("2001:4860:4860::8888", Public),
            ("::ffff:93.184.216.34", Public),
            ("64:ff9b::808:808", Public),
            ("2002:5db8:d822::1", Public),
            // Loopback.
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("64:ff9b::7f00:1", Loopback),
            ("2002:7f00:1::", Loopback),
            // Private.
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:192.168.0.1", Private),
            // Link-local, unique-local, CGNAT.
            ("169.254.1.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            // Multicast, unspecified.
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("::ffff:0.0.0.0", Unspecified),
            // Metadata services, also through IPv6 forms.
            ("169.254.169.254", Metadata),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:a9fe:a9fe", Metadata),
            ("64:ff9b::a9fe:a9fe", Metadata),
            ("169.254.170.2", Metadata),
            ("100.100.100.200", Metadata),
            ("192.0.0.192", Metadata),
            ("fd00:ec2::254", Metadata),
            // Reserved.
            ("0.1.2.3", Reserved),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Reserved),
            ("198.18.0.1", Reserved),
            ("198.51.100.7", Reserved),
            ("203.0.113.9", Reserved),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Reserved),
            ("::7f00:1", Reserved),
            ("64:ff9b:1::1", Reserved),
            ("100::1", Reserved),
            ("2001::1", Reserved),
            ("2001:db8::1", Reserved),
            ("fec0::1", Reserved),
            ("4000::1", Reserved),
        ];
        for (address, class) in table {
            assert_eq!(classify(ip(address)), class, "{address}");
        }
    }

    #[test]
    fn only_public_addresses_pass_in_production_and_listed_ones_in_development() {
        let production = OutboundPolicy::production();
        let development = OutboundPolicy::development(vec![
            "127.0.0.1/32".parse().expect("cidr"),
            "fd00::/8".parse().expect("cidr"),
            "169.254.0.0/16".parse().expect("cidr"),
        ]);
        // (address, production, development)
        let table = [
            ("93.184.216.34", true, true),
            ("127.0.0.1", false, true),
            ("::ffff:127.0.0.1", false, true),
            ("127.0.0.2", false, false),
            ("::1", false, false),
            ("10.0.0.1", false, false),
            ("fd12::1", false, true),
            ("169.254.1.1", false, true),
            // Listed or not, never the metadata service.
            ("169.254.169.254", false, false),
            ("fd00:ec2::254", false, false),
        ];
        for (address, in_production, in_development) in table {
            for (policy, expected) in [(&production, in_production), (&development, in_development)]
            {
                let vetted = vet_address(ip(address), policy);
                assert_eq!(vetted.is_ok(), expected, "{address} / {policy:?}");
                if let Err(refusal) = vetted {
                    assert_eq!(refusal, Refusal::Address(classify(ip(address))));
                }
            }
        }
    }

    #[test]
    fn production_fetches_https_only() {
        let production = OutboundPolicy::production();
        let development = OutboundPolicy::development(Vec::new());
        for (scheme, in_production, in_development) in [
            ("https", true, true),
            ("http", false, true),
            ("ftp", false, false),
            ("file", false, false),
            ("", false, false),
        ] {
            assert_eq!(vet_scheme(scheme, &production).is_ok(), in_production);
            assert_eq!(vet_scheme(scheme, &development).is_ok(), in_development);
        }
    }
}
