//! Payments: `startCheckout`, `billingPortal` and `me { billing }`
//! (`icecone_app::billing`). IceCone never sees card data: both mutations answer a Stripe
//! page's URL, where the person pays or manages their subscription.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_store::accounts::AccountRecord;
use icecone_store::billing::InvoiceRecord;

use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, internal};
use super::generation::PlanValue;

/// A subscription's status, as Stripe names it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "SubscriptionStatus",
    remote = "icecone_core::billing::subscription::Status"
)]
pub(crate) enum SubscriptionStatusValue {
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded.
    IncompleteExpired,
    /// In a trial period.
    Trialing,
    /// Paid and running.
    Active,
    /// A renewal payment failed; `PRO` stays until `renewsOn`, then the plan is `FREE`.
    PastDue,
    /// Cancelled.
    Canceled,
    /// Unpaid after every retry.
    Unpaid,
    /// Paused.
    Paused,
}

/// An invoice of the subscription (its PDF and payment details are on Stripe's portal).
#[derive(SimpleObject, Debug)]
#[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
pub(crate) struct Invoice {
    /// Stripe's invoice number (`in_...`).
    id: String,
    /// The amount in the currency's smallest unit (cents).
    amount: i64,
    /// The ISO 4217 currency code, lowercase (`eur`).
    currency: String,
    /// When it was issued.
    issued_at: DateTime<Utc>,
    /// Stripe's status: `paid`, `open`, `void` or `uncollectible`.
    status: String,
}

impl From<InvoiceRecord> for Invoice {
    fn from(record: InvoiceRecord) -> Self {
        Self {
            id: record.id,
            amount: record.amount,
            currency: record.currency,
            issued_at: record.issued_at,
            status: record.status,
        }
    }
}

/// The account's plan and its subscription.
#[derive(SimpleObject, Debug)]
#[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
pub(crate) struct BillingInfo {
    /// The plan the account is on (set by the subscription, or by staff for a comped
    /// account).
    plan: PlanValue,
    /// The subscription's status; `null` before the first checkout.
    status: Option<SubscriptionStatusValue>,
    /// When the period paid for ends: the subscription renews then, or ends.
    renews_on: Option<DateTime<Utc>>,
    /// The invoices, newest first.
    invoices: Vec<Invoice>,
}

/// `Account.billing`.
pub(crate) async fn billing_of(
    ctx: &Context<'_>,
    record: &AccountRecord,
) -> Result<BillingInfo, ApiError> {
    let overview = icecone_app::billing::overview(&services(ctx)?.store, record.id, record.plan)
        .await
        .map_err(internal)?;
    Ok(BillingInfo {
        plan: overview.plan.into(),
        status: overview.status.map(Into::into),
        renews_on: overview.renews_on,
        invoices: overview.invoices.into_iter().map(Invoice::from).collect(),
    })
}

#[derive(Debug, Default)]
pub(crate) struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Starts paying for `plan` (`PRO`): answers the URL of a Stripe Checkout page where
    /// the signed-in person subscribes. The plan changes when Stripe confirms the payment
    /// (`me { billing }`). `BILLING_UNAVAILABLE` when billing is off on this deployment (or
    /// Stripe cannot be reached now); `BAD_USER_INPUT` for `FREE`; `FAILED_PRECONDITION`
    /// while a subscription is running (manage it with `billingPortal`). Stripe is told
    /// only a random billing reference, never who the person is.
    #[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
    async fn start_checkout(&self, ctx: &Context<'_>, plan: PlanValue) -> Result<String, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let billing = services(ctx)?.billing.clone();
        Ok(icecone_app::billing::checkout(billing.as_deref(), account.id, plan.into()).await?)
    }

    /// The URL of Stripe's Customer Portal, where the signed-in person manages their
    /// subscription, payment details and invoices (a mutation: it opens a portal session).
    /// `BILLING_UNAVAILABLE` when billing is off; `FAILED_PRECONDITION` before the first
    /// checkout.
    #[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
    async fn billing_portal(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        let (_, account) = viewer_account(ctx).await?;
        let billing = services(ctx)?.billing.clone();
        Ok(icecone_app::billing::portal(billing.as_deref(), account.id).await?)
    }
}
