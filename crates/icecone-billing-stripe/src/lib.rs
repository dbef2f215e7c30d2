//! IceCone's Stripe adapter: the few calls billing needs, over Stripe's HTTP API
//! (form-encoded requests, JSON answers, `Authorization: Bearer <secret key>`, the API
//! version pinned by `Stripe-Version`, an `Idempotency-Key` on every `POST`).
//!
//! - [`StripeClient::create_customer`]: a customer that carries nothing but a random
//!   billing reference in its metadata — no e-mail, name or address (Checkout collects
//!   what the payment needs from the person directly, on Stripe's page);
//! - [`StripeClient::create_checkout_session`]: a subscription Checkout Session for one
//!   price, whose URL the person is sent to;
//! - [`StripeClient::create_portal_session`]: a Customer Portal session;
//! - [`StripeClient::delete_customer`]: on erasure;
//! - [`StripeClient::subscription`]: a subscription's status and current period.
//!
//! Wire types are private (`wire`). Errors ([`StripeError`]) keep Stripe's machine codes
//! only (`card_declined`), never its free-text message, which may quote what was sent; no
//! error, log or `Debug` output shows the key.

mod client;
mod wire;

use std::fmt;
use std::time::Duration;

use icecone_core::subprocessor::Written;
use secrecy::SecretString;

pub use client::StripeClient;

/// The API version every request pins (`Stripe-Version`): the answers' shapes this crate
/// reads are those of this version (the subscription's period on its items).
pub const API_VERSION: &str = "2026-07-29.dahlia";

/// Stripe's API.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// Stripe as a subprocessor, as the privacy page lists it when billing is on: payments;
/// what Stripe processes for IceCone is what the person enters on Stripe's own pages
/// (payment details, the cardholder's name, an e-mail address for receipts) and the
/// pseudonymous billing reference IceCone sends. Stripe Payments Europe, Ltd. (Ireland)
/// contracts with EEA businesses.
pub const SUBPROCESSOR: Written<'static> = Written {
    name: "Stripe",
    purpose: "payments",
    data_categories: &[
        "user.payment",
        "user.financial",
        "user.name",
        "user.contact.email",
        "user.unique_id.pseudonymous",
    ],
    location: "IE",
    transfer: "none_needed",
    agreement: "Stripe Data Processing Agreement (part of the Stripe Services Agreement)",
    since: "2026-12-07",
};

/// How the client reaches Stripe.
#[derive(Clone)]
pub struct StripeConfig {
    /// The secret key (`sk_live_...`, `sk_test_...`, or a restricted `rk_...`).
    pub secret_key: SecretString,
    /// Stripe's base URL, without `/v1` ([`DEFAULT_BASE_URL`]; a local mock in tests).
    pub base_url: String,
    /// The longest one call may take.
    pub timeout: Duration,
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"[redacted]")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error(
        "stripe_base_url (ICECONE_STRIPE_BASE_URL) must start with https:// (or http:// for a local mock)"
    )]
    BaseUrl,
    /// The HTTP client could not be initialised.
    #[error("cannot initialise the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// What went wrong with a call. Messages carry no value of the request or the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StripeError {
    /// The key was refused (401) or lacks a permission (403): an operator must fix it.
    #[error("Stripe refused the secret key")]
    Authentication,
    /// A card or payment was declined (402); Stripe's `code` and `decline_code`, when
    /// given, are machine codes (`card_declined`, `insufficient_funds`).
    #[error("Stripe declined the payment")]
    Card {
        /// Stripe's error code.
        code: Option<Code>,
        /// Stripe's decline code.
        decline_code: Option<Code>,
    },
    /// Too many requests (429); `retry_after` when Stripe said how long to wait.
    #[error("Stripe is rate limiting requests")]
    RateLimited {
        /// Stripe's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Stripe failed or could not be reached (5xx, connection refused).
    #[error("Stripe is unavailable")]
    Unavailable,
    /// The call took longer than the configured timeout.
    #[error("Stripe did not answer in time")]
    Timeout,
    /// The object does not exist (404), or no longer does.
    #[error("Stripe has no such object")]
    NotFound,
    /// Stripe refused the request as invalid (400, 409 idempotency conflicts): a mistake in
    /// what was sent or configured (an unknown price, say).
    #[error("Stripe refused the request")]
    InvalidRequest {
        /// Stripe's error code.
        code: Option<Code>,
    },
    /// The answer was not what Stripe's API describes.
    #[error("Stripe's answer could not be read")]
    Malformed,
}

impl StripeError {
    /// Whether trying again later may succeed (rate limiting, unavailability, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable | Self::Timeout
        )
    }

    /// A stable code for logs and records (`STRIPE_UNAVAILABLE`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Authentication => "STRIPE_AUTHENTICATION",
            Self::Card { .. } => "STRIPE_CARD_ERROR",
            Self::RateLimited { .. } => "STRIPE_RATE_LIMITED",
            Self::Unavailable => "STRIPE_UNAVAILABLE",
            Self::Timeout => "STRIPE_TIMEOUT",
            Self::NotFound => "STRIPE_NOT_FOUND",
            Self::InvalidRequest { .. } => "STRIPE_INVALID_REQUEST",
            Self::Malformed => "STRIPE_MALFORMED",
        }
    }
}

/// One of Stripe's machine codes (`card_declined`): lowercase letters, digits and `_`,
/// at most 64 characters. Anything else Stripe might put there is dropped, so free text
/// never travels as a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// Parses a code.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Stripe object id with its prefix (`cus_...`), checked before it goes into a path:
/// the prefix, then 1 to 250 ASCII letters, digits or `_`.
fn checked_id(text: &str, prefix: &str) -> Option<String> {
    let rest = text.strip_prefix(prefix)?;
    let ok = !rest.is_empty()
        && rest.len() <= 250
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| text.to_owned())
}

/// A Stripe customer's id (`cus_...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerId(String);

impl CustomerId {
    /// Parses an id.
    pub fn parse(text: &str) -> Option<Self> {
        checked_id(text, "cus_").map(Self)
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Stripe subscription's id (`sub_...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubscriptionId(String);

impl SubscriptionId {
    /// Parses an id.
    pub fn parse(text: &str) -> Option<Self> {
        checked_id(text, "sub_").map(Self)
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a Checkout Session is made of.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutRequest<'a> {
    /// The customer who pays.
    pub customer: &'a CustomerId,
    /// The price of the plan (`price_...`).
    pub price: &'a str,
    /// IceCone's billing reference, which comes back in `checkout.session.completed`.
    pub client_reference_id: &'a str,
    /// Where Stripe sends the person after paying.
    pub success_url: &'a str,
    /// Where Stripe sends the person who gives up.
    pub cancel_url: &'a str,
}

/// A Checkout Session made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    /// Its id (`cs_...`).
    pub id: String,
    /// The page the person pays on.
    pub url: String,
}

/// A subscription as [`StripeClient::subscription`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// Its customer.
    pub customer: CustomerId,
    /// Its `status`, as Stripe names it (`active`).
    pub status: String,
    /// The end of the current period (the latest of its items'), in Unix seconds.
    pub current_period_end: Option<i64>,
}

/// What deleting a customer came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Stripe deleted it.
    Deleted,
    /// Stripe had no such customer (deleted before).
    AlreadyGone,
}
