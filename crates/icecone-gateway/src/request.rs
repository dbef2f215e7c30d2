//! What every request carries into the operations it runs: its id ([`RequestId`]) and what
//! per-address limits count its client by ([`ClientAddress`]). Made by the HTTP layer,
//! read by the GraphQL resolvers.

use actix_web::http::header::HeaderValue;
use icecone_core::client_address::{LimitKey, TrustedProxies, client_ip};

/// What per-address limits count a request by: its client's IP address (the TCP peer, or
/// what the operator's trusted proxies say it forwarded), IPv6 grouped by /64. Personal
/// data: it is only ever stored as a keyed blind index. Every door that runs GraphQL
/// operations attaches one; an operation that needs it and finds none is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientAddress(pub(crate) String);

impl ClientAddress {
    /// The client of `request`; `None` when the connection has no IP peer.
    pub(crate) fn of(request: &actix_web::HttpRequest, trusted: &TrustedProxies) -> Option<Self> {
        let peer = request.peer_addr()?.ip();
        let values = |name: &str| -> Vec<&str> {
            request
                .headers()
                .get_all(name)
                .filter_map(|value| value.to_str().ok())
                .collect()
        };
        // Forwarding headers are read only from a trusted proxy: most requests skip them.
        let client = if trusted.trusts(peer) {
            client_ip(
                peer,
                &values("forwarded"),
                &values("x-forwarded-for"),
                trusted,
            )
        } else {
            peer
        };
        Some(Self(LimitKey::of(client).as_str().to_owned()))
    }
}

/// A request id: the caller's `x-request-id` when it is a short token of safe characters
/// (so nothing personal or hostile can ride on it into the logs), else a fresh UUID.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    pub(crate) fn from_header(value: Option<&HeaderValue>) -> Self {
        let given = value.and_then(|v| v.to_str().ok()).filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        Self(given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_short_request_ids_are_taken_from_the_caller() {
        let cases: &[(&str, bool)] = &[
            ("abc-123_DEF", true),
            ("0f8fad5b-d9cb-469f-a165-70867728950e", true),
            ("", false),
            ("has space", false),
            ("alice@example.com", false),
            ("line\nbreak", false),
            (&"x".repeat(65), false),
        ];
        for (given, kept) in cases {
            let value = HeaderValue::from_str(given).ok();
            let id = RequestId::from_header(value.as_ref());
            assert_eq!(id.0 == *given, *kept, "given {given:?}");
            assert!(!id.0.is_empty());
        }
    }
}
