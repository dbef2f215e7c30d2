//! `startCheckout` and `billingPortal`.

use chrono::Utc;
use icecone_billing_stripe::{CheckoutRequest, CustomerId, StripeError};
use icecone_core::billing::subscription::Status;
use icecone_core::usage::Plan;
use uuid::Uuid;

use super::{Billing, BillingError};

/// The Checkout Session URL where the person pays for `plan`. The account's Stripe
/// customer is made on the first checkout, carrying only the account's random billing
/// reference; its creation is idempotent by that reference, so a retry after a failure
/// never makes a second customer.
pub async fn checkout(
    billing: Option<&Billing>,
    account: Uuid,
    plan: Plan,
) -> Result<String, BillingError> {
    let billing = billing.ok_or(BillingError::Unavailable)?;
    if plan != Plan::Pro {
        return Err(BillingError::NotForSale);
    }
    let customer = billing
        .store
        .ensure_billing_customer(account, Uuid::new_v4(), Utc::now())
        .await?;
    let running = customer.state.is_some_and(|state| {
        matches!(
            state.status,
            Status::Active | Status::Trialing | Status::PastDue
        )
    });
    if running {
        return Err(BillingError::AlreadySubscribed);
    }
    let billing_ref = customer.billing_ref.to_string();
    let customer_id = match customer.customer_id {
        Some(id) => id,
        None => {
            let made = billing
                .client
                .create_customer(&billing_ref, &format!("customer-{billing_ref}"))
                .await
                .map_err(BillingError::Stripe)?;
            billing
                .store
                .set_billing_customer_id(account, made.as_str())
                .await?
                .unwrap_or_else(|| made.as_str().to_owned())
        }
    };
    let customer_id =
        CustomerId::parse(&customer_id).ok_or(BillingError::Stripe(StripeError::Malformed))?;
    let session = billing
        .client
        .create_checkout_session(
            &CheckoutRequest {
                customer: &customer_id,
                price: &billing.price_pro,
                client_reference_id: &billing_ref,
                success_url: &billing.success_url,
                cancel_url: &billing.return_url,
            },
            &format!("checkout-{}", Uuid::new_v4()),
        )
        .await
        .map_err(BillingError::Stripe)?;
    Ok(session.url)
}

/// The Customer Portal URL where the person manages their subscription, invoices and
/// payment details.
pub async fn portal(billing: Option<&Billing>, account: Uuid) -> Result<String, BillingError> {
    let billing = billing.ok_or(BillingError::Unavailable)?;
    let customer = billing
        .store
        .billing_customer(account)
        .await?
        .and_then(|customer| customer.customer_id)
        .and_then(|id| CustomerId::parse(&id))
        .ok_or(BillingError::NoCustomer)?;
    billing
        .client
        .create_portal_session(
            &customer,
            &billing.return_url,
            &format!("portal-{}", Uuid::new_v4()),
        )
        .await
        .map_err(BillingError::Stripe)
}
