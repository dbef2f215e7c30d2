//! Billing through Stripe: `startCheckout` ([`checkout`]), `billingPortal` ([`portal`]),
//! the webhook ([`webhook`]), `me { billing }` ([`overview`]), the lapse of a past-due
//! subscription at the end of its paid period ([`spawn_lapse`]) and the Stripe customer's
//! deletion on erasure ([`Billing::delete_customer`]).
//!
//! IceCone never sees card data: the person pays on Stripe's Checkout page and manages the
//! subscription on Stripe's Customer Portal. Stripe is told only a random billing
//! reference (the customer's metadata and the session's `client_reference_id`), never
//! the account id, an e-mail address or a name. Billing is off unless a secret key is
//! configured: every billing operation then answers [`BillingError::Unavailable`].

pub mod checkout;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use icecone_billing_stripe::{CustomerId, Deletion, StripeClient, StripeConfig, StripeError};
use icecone_core::billing::subscription::Status;
use icecone_core::billing::webhook::SigningSecret;
use icecone_core::usage::Plan;
use icecone_store::billing::InvoiceRecord;
use icecone_store::{Store, StoreError};
use uuid::Uuid;

pub use checkout::{checkout, portal};

/// How often each instance looks for past-due subscriptions whose paid period ended.
pub const LAPSE_INTERVAL: Duration = Duration::from_secs(3_600);

/// Billing as configured: Stripe's client, the webhook's signing secrets, the price of
/// `PRO`, and where Stripe sends the person back.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// How to reach Stripe (its secret key among it).
    pub stripe: StripeConfig,
    /// The webhook endpoint's signing secrets (two while one is rolled).
    pub webhook_secrets: Vec<SigningSecret>,
    /// The price of the `PRO` plan (`price_...`).
    pub price_pro: String,
    /// Where Stripe sends the person after paying.
    pub success_url: String,
    /// Where Stripe sends the person who gave up, and back from the portal.
    pub return_url: String,
}

/// Billing, when it is on.
#[derive(Debug)]
pub struct Billing {
    store: Store,
    client: StripeClient,
    secrets: Vec<SigningSecret>,
    price_pro: String,
    success_url: String,
    return_url: String,
}

/// Why a billing operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Billing is not configured on this deployment.
    #[error("billing is not available")]
    Unavailable,
    /// The plan cannot be bought (`FREE`).
    #[error("this plan cannot be bought")]
    NotForSale,
    /// The account already has a running subscription: manage it in the portal.
    #[error("the account already has a subscription")]
    AlreadySubscribed,
    /// The account has never checked out: there is nothing to manage.
    #[error("the account has no billing yet")]
    NoCustomer,
    /// Stripe refused or failed.
    #[error("Stripe could not be used")]
    Stripe(#[source] StripeError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Billing {
    /// Billing over `store` with `config`.
    pub fn new(store: Store, config: BillingConfig) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            client: StripeClient::new(config.stripe)?,
            secrets: config.webhook_secrets,
            price_pro: config.price_pro,
            success_url: config.success_url,
            return_url: config.return_url,
        })
    }

    /// Deletes the account's Stripe customer, if it has one. `Ok(None)` when there is none
    /// to delete; the customer's id with the error when Stripe failed.
    pub async fn delete_customer(
        &self,
        account: Uuid,
    ) -> Result<Option<Deletion>, (String, StripeError)> {
        let Ok(Some(customer)) = self.store.billing_customer(account).await else {
            return Ok(None);
        };
        let Some(id) = customer.customer_id else {
            return Ok(None);
        };
        let Some(parsed) = CustomerId::parse(&id) else {
            return Err((id, StripeError::Malformed));
        };
        match self.client.delete_customer(&parsed).await {
            Ok(deletion) => Ok(Some(deletion)),
            Err(error) => Err((id, error)),
        }
    }
}

/// An account's billing as `me { billing }` and the export show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The plan the account is on.
    pub plan: Plan,
    /// The subscription's status, if one was observed.
    pub status: Option<Status>,
    /// When the paid period ends (renews, or ends for a cancelled or past-due one).
    pub renews_on: Option<DateTime<Utc>>,
    /// The invoices, newest first.
    pub invoices: Vec<InvoiceRecord>,
}

/// The account's billing.
pub async fn overview(store: &Store, account: Uuid, plan: Plan) -> Result<Overview, StoreError> {
    let customer = store.billing_customer(account).await?;
    let state = customer.and_then(|customer| customer.state);
    Ok(Overview {
        plan,
        status: state.map(|state| state.status),
        renews_on: state.and_then(|state| state.period_end),
        invoices: store.billing_invoices(account).await?,
    })
}

/// Puts on `FREE` the accounts whose past-due subscription's paid period ended before
/// `now`; returns how many.
pub async fn lapse(store: &Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let downgraded = store.lapse_billing(now).await?;
    Ok(downgraded.len() as u64)
}

/// Starts the lapse check: at once, then every `interval`.
pub fn spawn_lapse(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    crate::periodic::spawn_every("billing lapse", interval, move || {
        let store = store.clone();
        async move { lapse(&store, Utc::now()).await }
    })
}

/// Billing, if it is on.
pub type MaybeBilling = Option<Arc<Billing>>;
