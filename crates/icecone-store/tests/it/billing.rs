//! Billing: webhook events applied exactly once and in order of their state, invoices
//! unlinked on erasure and purged after the retention.

use chrono::{DateTime, TimeDelta, Utc};
use icecone_core::billing::subscription::{Observed, Status};
use icecone_core::usage::Plan;
use icecone_store::Store;
use icecone_store::billing::{Applied, BillingEvent, EventTarget, InvoiceRecord};
use icecone_store::testing::TestDatabase;
use uuid::Uuid;

use crate::personal_data::deletion;
use crate::support::{create_user, now};

fn at(seconds: i64) -> DateTime<Utc> {
    now() + TimeDelta::seconds(seconds)
}

fn subscription_event(
    id: &str,
    customer: &str,
    status: Status,
    as_of: DateTime<Utc>,
    period_end: Option<DateTime<Utc>>,
) -> BillingEvent {
    BillingEvent {
        id: id.to_owned(),
        kind: "customer.subscription.updated".to_owned(),
        target: EventTarget::Customer(customer.to_owned()),
        subscription: Some((
            "sub_1".to_owned(),
            Observed {
                status,
                period_end,
                as_of,
            },
        )),
        invoice: None,
    }
}

fn invoice(id: &str, status: &str, issued_at: DateTime<Utc>) -> InvoiceRecord {
    InvoiceRecord {
        id: id.to_owned(),
        amount: 1_900,
        currency: "eur".to_owned(),
        issued_at,
        status: status.to_owned(),
        held_since: None,
    }
}

async fn plan_of(store: &Store, account: Uuid) -> Plan {
    store
        .account(account)
        .await
        .expect("read")
        .expect("account")
        .plan
}

/// An account whose checkout completed: customer `cus_1`, subscription active.
async fn subscribed(store: &Store) -> Uuid {
    let person = create_user(store, 1).await;
    let billing_ref = Uuid::new_v4();
    store
        .ensure_billing_customer(person, billing_ref, now())
        .await
        .expect("billing row");
    let applied = store
        .apply_billing_event(
            &BillingEvent {
                id: "evt_checkout".to_owned(),
                kind: "checkout.session.completed".to_owned(),
                target: EventTarget::BillingRef {
                    billing_ref,
                    customer_id: "cus_1".to_owned(),
                },
                subscription: Some((
                    "sub_1".to_owned(),
                    Observed {
                        status: Status::Active,
                        period_end: Some(at(30 * 86_400)),
                        as_of: at(0),
                    },
                )),
                invoice: None,
            },
            now(),
        )
        .await
        .expect("applied");
    assert_eq!(
        applied,
        Applied::Applied {
            account: person,
            plan: Some(Plan::Pro)
        }
    );
    person
}

#[tokio::test]
async fn a_billing_event_is_applied_once_and_an_older_one_never_undoes_a_newer_state() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = subscribed(store).await;
    assert_eq!(plan_of(store, person).await, Plan::Pro);
    let customer = store
        .billing_customer(person)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(customer.customer_id.as_deref(), Some("cus_1"));

    let cancelled = subscription_event("evt_cancel", "cus_1", Status::Canceled, at(20), None);
    assert_eq!(
        store
            .apply_billing_event(&cancelled, now())
            .await
            .expect("apply"),
        Applied::Applied {
            account: person,
            plan: Some(Plan::Free)
        }
    );
    assert_eq!(
        store
            .apply_billing_event(&cancelled, now())
            .await
            .expect("again"),
        Applied::Duplicate
    );
    let late = subscription_event(
        "evt_late",
        "cus_1",
        Status::Active,
        at(10),
        Some(at(99_999)),
    );
    assert_eq!(
        store.apply_billing_event(&late, now()).await.expect("late"),
        Applied::Applied {
            account: person,
            plan: None
        }
    );
    assert_eq!(plan_of(store, person).await, Plan::Free);
    let state = store
        .billing_customer(person)
        .await
        .expect("read")
        .expect("row")
        .state;
    assert_eq!(state.map(|state| state.status), Some(Status::Canceled));
    assert!(
        store
            .billing_event_processed("evt_late")
            .await
            .expect("read")
    );

    let stranger = subscription_event("evt_other", "cus_unknown", Status::Active, at(30), None);
    assert_eq!(
        store
            .apply_billing_event(&stranger, now())
            .await
            .expect("unknown"),
        Applied::NoAccount
    );
}

#[tokio::test]
async fn a_past_due_subscription_lapses_to_free_once_its_period_ends() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = subscribed(store).await;
    let failed = subscription_event("evt_failed", "cus_1", Status::PastDue, at(60), None);
    store
        .apply_billing_event(&failed, now())
        .await
        .expect("apply");
    assert_eq!(
        plan_of(store, person).await,
        Plan::Pro,
        "paid period still running"
    );
    assert!(
        store
            .lapse_billing(at(29 * 86_400))
            .await
            .expect("lapse")
            .is_empty()
    );
    assert_eq!(
        store.lapse_billing(at(31 * 86_400)).await.expect("lapse"),
        vec![person]
    );
    assert_eq!(plan_of(store, person).await, Plan::Free);
    assert!(
        store
            .lapse_billing(at(32 * 86_400))
            .await
            .expect("again")
            .is_empty()
    );
}

#[tokio::test]
async fn a_paid_invoice_stays_paid_and_erasure_keeps_invoices_without_the_account_until_purged() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let person = subscribed(store).await;
    for (event, status) in [("evt_paid", "paid"), ("evt_failed_late", "open")] {
        store
            .apply_billing_event(
                &BillingEvent {
                    id: event.to_owned(),
                    kind: "invoice.paid".to_owned(),
                    target: EventTarget::Customer("cus_1".to_owned()),
                    subscription: None,
                    invoice: Some(invoice("in_1", status, at(0))),
                },
                now(),
            )
            .await
            .expect("apply");
    }
    let invoices = store.billing_invoices(person).await.expect("read");
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].status, "paid");

    let erased_at = at(5);
    let (request, job) = deletion(person, 0);
    store
        .request_account_deletion(&request, &job, now())
        .await
        .expect("request");
    assert!(
        store
            .erase_account(request.id, person, request.requested_at, erased_at)
            .await
            .expect("erase")
    );
    assert!(
        store
            .billing_customer(person)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .billing_invoices(person)
            .await
            .expect("read")
            .is_empty()
    );
    let held = store.held_invoices(10).await.expect("held");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, "in_1");
    assert_eq!(held[0].amount, 1_900);
    assert_eq!(held[0].held_since, Some(erased_at));

    assert_eq!(
        store.purge_expired_invoices(at(-1)).await.expect("purge"),
        0
    );
    assert_eq!(store.purge_expired_invoices(at(1)).await.expect("purge"), 1);
    assert!(store.held_invoices(10).await.expect("held").is_empty());
}
