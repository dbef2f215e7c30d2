//! `POST /webhooks/stripe`: an event verified by core's `billing::webhook::verify`, read
//! into what it says happened, and applied exactly once by the store
//! (`Store::apply_billing_event`, one transaction with the event's id).
//!
//! | event | what it does |
//! | --- | --- |
//! | `checkout.session.completed` (mode `subscription`) | ties the Stripe customer to the account named by the session's `client_reference_id` (its billing reference), reads the subscription from Stripe and applies its state |
//! | `customer.subscription.created` / `.updated` / `.deleted` | applies the subscription's status and period end |
//! | `invoice.paid` | records the invoice; the subscription is active until the end of the period paid for |
//! | `invoice.payment_failed` | records the invoice; the subscription is past due (`PRO` until the end of the period already paid for) |
//!
//! Every state is applied with the event's `created` time, so an older event never
//! overwrites a newer state. Other event types are acknowledged and ignored. Nothing of
//! the body is logged: only the event's type and the outcome.

use chrono::{DateTime, Utc};
use icecone_billing_stripe::{StripeError, SubscriptionId};
use icecone_core::billing::subscription::{Observed, Status};
use icecone_core::billing::webhook::{self, Refusal};
use icecone_store::StoreError;
use icecone_store::billing::{Applied, BillingEvent, EventTarget, InvoiceRecord};
use serde::Deserialize;
use uuid::Uuid;

use super::Billing;

/// Why a webhook request is not applied.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Billing is not configured.
    #[error("billing is not available")]
    Unavailable,
    /// The signature is missing, forged, stale or malformed: answered 400, nothing changes.
    #[error("the webhook signature is refused: {0}")]
    Refused(#[from] Refusal),
    /// The body is not a Stripe event this version can read: answered 400.
    #[error("the webhook body is not a readable Stripe event")]
    Malformed,
    /// Stripe could not be asked for the subscription: answered 500, so Stripe retries.
    #[error("Stripe could not be read")]
    Stripe(#[source] StripeError),
    /// The database failed: answered 500, so Stripe retries.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a verified event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Applied now.
    Applied(Applied),
    /// A type billing does not act on.
    Ignored,
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct Session {
    mode: Option<String>,
    customer: Option<String>,
    subscription: Option<String>,
    client_reference_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Subscription {
    id: String,
    customer: String,
    status: String,
    #[serde(default)]
    items: Option<List<SubscriptionItem>>,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    data: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionItem {
    current_period_end: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Invoice {
    id: String,
    customer: String,
    amount_due: i64,
    amount_paid: i64,
    currency: String,
    created: i64,
    status: Option<String>,
    #[serde(default)]
    lines: Option<List<InvoiceLine>>,
    #[serde(default)]
    parent: Option<InvoiceParent>,
}

#[derive(Debug, Deserialize)]
struct InvoiceLine {
    period: Option<Period>,
}

#[derive(Debug, Deserialize)]
struct Period {
    end: i64,
}

#[derive(Debug, Deserialize)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionDetails {
    subscription: Option<String>,
}

fn time(seconds: i64) -> Result<DateTime<Utc>, WebhookError> {
    DateTime::from_timestamp(seconds, 0).ok_or(WebhookError::Malformed)
}

fn object<T: for<'de> Deserialize<'de>>(event: &Event) -> Result<T, WebhookError> {
    T::deserialize(&event.data.object).map_err(|_| WebhookError::Malformed)
}

/// A short, checked text from an event (ids, codes): at most 255 printable ASCII bytes.
fn checked(text: &str) -> Result<String, WebhookError> {
    let ok = !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_owned()).ok_or(WebhookError::Malformed)
}

impl Billing {
    /// Verifies and applies one webhook request: `signature` is the `Stripe-Signature`
    /// header, `body` the raw body as received, `now` the time it arrived.
    pub async fn handle_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Handled, WebhookError> {
        webhook::verify(signature.unwrap_or_default(), body, &self.secrets, now)?;
        let event: Event = serde_json::from_slice(body).map_err(|_| WebhookError::Malformed)?;
        let id = checked(&event.id)?;
        let as_of = time(event.created)?;
        // A delivery of an event applied before asks Stripe nothing (the store's
        // transaction still decides, for deliveries that race).
        if self.store.billing_event_processed(&id).await? {
            tracing::info!(kind = %event.kind, outcome = "duplicate", "Stripe event");
            return Ok(Handled::Applied(Applied::Duplicate));
        }
        let read = match event.kind.as_str() {
            "checkout.session.completed" => self.completed_checkout(&event, as_of).await?,
            "customer.subscription.created"
            | "customer.subscription.updated"
            | "customer.subscription.deleted" => {
                let subscription: Subscription = object(&event)?;
                Some(observed_subscription(subscription, as_of)?)
            }
            "invoice.paid" | "invoice.payment_failed" => {
                let invoice: Invoice = object(&event)?;
                Some(invoice_event(invoice, event.kind == "invoice.paid", as_of)?)
            }
            _ => None,
        };
        let Some((target, subscription, invoice)) = read else {
            tracing::info!(kind = %event.kind, "a Stripe event billing does not act on");
            return Ok(Handled::Ignored);
        };
        let applied = self
            .store
            .apply_billing_event(
                &BillingEvent {
                    id,
                    kind: checked(&event.kind)?,
                    target,
                    subscription,
                    invoice,
                },
                now,
            )
            .await?;
        tracing::info!(kind = %event.kind, outcome = ?outcome(applied), "Stripe event");
        Ok(Handled::Applied(applied))
    }

    async fn completed_checkout(
        &self,
        event: &Event,
        as_of: DateTime<Utc>,
    ) -> Result<Option<Read>, WebhookError> {
        let session: Session = object(event)?;
        if session.mode.as_deref() != Some("subscription") {
            return Ok(None);
        }
        let billing_ref = session
            .client_reference_id
            .as_deref()
            .and_then(|text| Uuid::try_parse(text).ok())
            .ok_or(WebhookError::Malformed)?;
        let customer_id = checked(session.customer.as_deref().unwrap_or_default())?;
        let subscription_id = session
            .subscription
            .as_deref()
            .and_then(SubscriptionId::parse)
            .ok_or(WebhookError::Malformed)?;
        // The session does not say the subscription's state: Stripe does.
        let subscription = self
            .client
            .subscription(&subscription_id)
            .await
            .map_err(WebhookError::Stripe)?;
        let status = Status::parse(&subscription.status).ok_or(WebhookError::Malformed)?;
        let period_end = subscription.current_period_end.map(time).transpose()?;
        Ok(Some((
            EventTarget::BillingRef {
                billing_ref,
                customer_id,
            },
            Some((
                subscription_id.as_str().to_owned(),
                Observed {
                    status,
                    period_end,
                    as_of,
                },
            )),
            None,
        )))
    }
}

/// The account an event concerns, the subscription state it reports, its invoice.
type Read = (
    EventTarget,
    Option<(String, Observed)>,
    Option<InvoiceRecord>,
);

fn observed_subscription(
    subscription: Subscription,
    as_of: DateTime<Utc>,
) -> Result<Read, WebhookError> {
    let status = Status::parse(&subscription.status).ok_or(WebhookError::Malformed)?;
    let period_end = subscription
        .items
        .iter()
        .flat_map(|items| items.data.iter())
        .filter_map(|item| item.current_period_end)
        .max()
        .map(time)
        .transpose()?;
    Ok((
        EventTarget::Customer(checked(&subscription.customer)?),
        Some((
            checked(&subscription.id)?,
            Observed {
                status,
                period_end,
                as_of,
            },
        )),
        None,
    ))
}

fn invoice_event(invoice: Invoice, paid: bool, as_of: DateTime<Utc>) -> Result<Read, WebhookError> {
    let currency = invoice.currency.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(WebhookError::Malformed);
    }
    let subscription = invoice
        .parent
        .as_ref()
        .and_then(|parent| parent.subscription_details.as_ref())
        .and_then(|details| details.subscription.as_deref())
        .map(checked)
        .transpose()?;
    let period_end = invoice
        .lines
        .iter()
        .flat_map(|lines| lines.data.iter())
        .filter_map(|line| line.period.as_ref().map(|period| period.end))
        .max()
        .map(time)
        .transpose()?;
    let record = InvoiceRecord {
        id: checked(&invoice.id)?,
        amount: if paid {
            invoice.amount_paid
        } else {
            invoice.amount_due
        },
        currency,
        issued_at: time(invoice.created)?,
        status: checked(
            invoice
                .status
                .as_deref()
                .unwrap_or(if paid { "paid" } else { "open" }),
        )?,
        held_since: None,
    };
    let observed = subscription.map(|id| {
        (
            id,
            Observed {
                status: if paid {
                    Status::Active
                } else {
                    Status::PastDue
                },
                // A failed renewal says nothing new about the period paid for.
                period_end: if paid { period_end } else { None },
                as_of,
            },
        )
    });
    Ok((
        EventTarget::Customer(checked(&invoice.customer)?),
        observed,
        Some(record),
    ))
}

fn outcome(applied: Applied) -> &'static str {
    match applied {
        Applied::Duplicate => "duplicate",
        Applied::NoAccount => "no account",
        Applied::Applied { plan: Some(_), .. } => "applied, plan set",
        Applied::Applied { plan: None, .. } => "applied",
    }
}
