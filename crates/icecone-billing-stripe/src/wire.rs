//! Stripe's JSON answers, as far as this crate reads them (API version
//! [`crate::API_VERSION`]); unknown fields are ignored, as Stripe adds fields without a new
//! version.

use serde::Deserialize;

/// `{"error": {...}}`, Stripe's error body.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorObject,
}

/// The error object. `message` is free text and never read.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorObject {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) decline_code: Option<String>,
}

/// A customer (`object: customer`), or a deleted one (`deleted: true`).
#[derive(Debug, Deserialize)]
pub(crate) struct Customer {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) deleted: bool,
}

/// A Checkout Session.
#[derive(Debug, Deserialize)]
pub(crate) struct CheckoutSession {
    pub(crate) id: String,
    pub(crate) url: Option<String>,
}

/// A Customer Portal session.
#[derive(Debug, Deserialize)]
pub(crate) struct PortalSession {
    pub(crate) url: String,
}

/// A subscription; since `2025-03-31.basil` its period is on its items.
#[derive(Debug, Deserialize)]
pub(crate) struct Subscription {
    pub(crate) id: String,
    pub(crate) customer: String,
    pub(crate) status: String,
    pub(crate) items: List<SubscriptionItem>,
}

/// A list object's page.
#[derive(Debug, Deserialize)]
pub(crate) struct List<T> {
    pub(crate) data: Vec<T>,
}

/// A subscription item.
#[derive(Debug, Deserialize)]
pub(crate) struct SubscriptionItem {
    pub(crate) current_period_end: Option<i64>,
}
