//! Billing: each account's Stripe customer and subscription as last observed
//! (`billing_customers`), its invoices (`billing_invoices`), and the webhook events already
//! applied (`billing_events`).
//!
//! A webhook event is applied by [`Store::apply_billing_event`] in one transaction: its id
//! is recorded (a second delivery finds it and changes nothing), the account's row is
//! locked, the subscription state is replaced only when core's
//! `billing::subscription::supersedes` says the event is newer, the invoice is recorded,
//! and the account's plan is set from core's `billing::subscription::plan`. A process killed
//! before the commit leaves nothing; Stripe's next delivery applies the event once.

use chrono::{DateTime, Utc};
use icecone_core::billing::subscription::{self, Observed, Status};
use icecone_core::usage::Plan;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{account, billing_customer, billing_event, billing_invoice};
use crate::erasure::lock_account;
use crate::{Store, StoreError};

/// An account's billing: its pseudonymous reference, its Stripe customer and the
/// subscription as last observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingCustomer {
    /// The account.
    pub account: Uuid,
    /// The random reference Stripe knows the account by.
    pub billing_ref: Uuid,
    /// The Stripe customer (`cus_...`), once created.
    pub customer_id: Option<String>,
    /// The subscription (`sub_...`), once one was observed.
    pub subscription_id: Option<String>,
    /// Its state, once observed.
    pub state: Option<Observed>,
}

/// An invoice as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    /// Stripe's id (`in_...`).
    pub id: String,
    /// The amount in the currency's minor unit (cents).
    pub amount: i64,
    /// The ISO 4217 currency, lowercase as Stripe writes it (`eur`).
    pub currency: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Stripe's status (`paid`, `open`, `void`, `uncollectible`).
    pub status: String,
    /// When the account was erased and the record kept under the statutory retention.
    pub held_since: Option<DateTime<Utc>>,
}

/// How an event names the account it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTarget {
    /// By the billing reference (`client_reference_id` of a Checkout Session), with the
    /// customer it reports.
    BillingRef {
        /// The reference.
        billing_ref: Uuid,
        /// The Stripe customer of the session.
        customer_id: String,
    },
    /// By the Stripe customer.
    Customer(String),
}

/// A webhook event as the application read it: what it says happened.
#[derive(Debug, Clone)]
pub struct BillingEvent {
    /// Stripe's event id (`evt_...`).
    pub id: String,
    /// Its type (`invoice.paid`).
    pub kind: String,
    /// The account it concerns.
    pub target: EventTarget,
    /// The subscription and its state, when the event reports one.
    pub subscription: Option<(String, Observed)>,
    /// The invoice, when the event reports one.
    pub invoice: Option<InvoiceRecord>,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event was applied before: nothing changed.
    Duplicate,
    /// Recorded as processed; it concerns no account known here (erased, or another
    /// deployment's).
    NoAccount,
    /// Applied to the account; the plan it is on now, when the event changed it.
    Applied {
        /// The account.
        account: Uuid,
        /// The new plan, if it changed.
        plan: Option<Plan>,
    },
}

fn observed(row: &billing_customer::Model) -> Option<Observed> {
    let status = Status::parse(row.status.as_deref()?)?;
    Some(Observed {
        status,
        period_end: row.period_end,
        as_of: row.state_as_of?,
    })
}

fn customer_from(row: billing_customer::Model) -> BillingCustomer {
    BillingCustomer {
        state: observed(&row),
        account: row.account_id,
        billing_ref: row.billing_ref,
        customer_id: row.customer_id,
        subscription_id: row.subscription_id,
    }
}

fn invoice_from(row: billing_invoice::Model) -> InvoiceRecord {
    InvoiceRecord {
        id: row.id,
        amount: row.amount,
        currency: row.currency,
        issued_at: row.issued_at,
        status: row.status,
        held_since: row.held_since,
    }
}

impl Store {
    /// The account's billing, if it ever started a checkout.
    pub async fn billing_customer(
        &self,
        account: Uuid,
    ) -> Result<Option<BillingCustomer>, StoreError> {
        Ok(billing_customer::Entity::find_by_id(account)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(customer_from))
    }

    /// The account's billing row, made with `billing_ref` if there is none (a concurrent
    /// first checkout keeps the row made first).
    pub async fn ensure_billing_customer(
        &self,
        account: Uuid,
        billing_ref: Uuid,
        now: DateTime<Utc>,
    ) -> Result<BillingCustomer, StoreError> {
        billing_customer::Entity::insert(billing_customer::ActiveModel {
            account_id: Set(account),
            billing_ref: Set(billing_ref),
            customer_id: Set(None),
            subscription_id: Set(None),
            status: Set(None),
            period_end: Set(None),
            state_as_of: Set(None),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(billing_customer::Column::AccountId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        self.billing_customer(account)
            .await?
            .ok_or(StoreError::OutOfRange("billing customer"))
    }

    /// Records the Stripe customer of the account's billing, unless one is recorded
    /// already; returns the one recorded.
    pub async fn set_billing_customer_id(
        &self,
        account: Uuid,
        customer_id: &str,
    ) -> Result<Option<String>, StoreError> {
        billing_customer::Entity::update_many()
            .col_expr(
                billing_customer::Column::CustomerId,
                Expr::value(customer_id),
            )
            .filter(billing_customer::Column::AccountId.eq(account))
            .filter(billing_customer::Column::CustomerId.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(self
            .billing_customer(account)
            .await?
            .and_then(|customer| customer.customer_id))
    }

    /// The account's invoices, newest first.
    pub async fn billing_invoices(&self, account: Uuid) -> Result<Vec<InvoiceRecord>, StoreError> {
        Ok(billing_invoice::Entity::find()
            .filter(billing_invoice::Column::AccountId.eq(account))
            .order_by_desc(billing_invoice::Column::IssuedAt)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(invoice_from)
            .collect())
    }

    /// The invoice records kept after their accounts were erased, oldest first (at most
    /// `limit`): for DPO staff and tests.
    pub async fn held_invoices(&self, limit: u64) -> Result<Vec<InvoiceRecord>, StoreError> {
        use sea_orm::QuerySelect as _;
        Ok(billing_invoice::Entity::find()
            .filter(billing_invoice::Column::AccountId.is_null())
            .order_by_asc(billing_invoice::Column::IssuedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(invoice_from)
            .collect())
    }

    /// Whether the event with this id was applied.
    pub async fn billing_event_processed(&self, id: &str) -> Result<bool, StoreError> {
        Ok(billing_event::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .is_some())
    }

    /// Applies a webhook event exactly once, in one transaction (see the module's
    /// documentation); `now` decides the plan.
    pub async fn apply_billing_event(
        &self,
        event: &BillingEvent,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        let txn = self.db.begin().await.map_err(StoreError::Query)?;
        let recorded = billing_event::Entity::insert(billing_event::ActiveModel {
            id: Set(event.id.clone()),
            kind: Set(event.kind.clone()),
            processed_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(billing_event::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(StoreError::Query)?;
        if recorded == 0 {
            txn.rollback().await.map_err(StoreError::Query)?;
            return Ok(Applied::Duplicate);
        }
        let condition = match &event.target {
            EventTarget::BillingRef { billing_ref, .. } => {
                Condition::all().add(billing_customer::Column::BillingRef.eq(*billing_ref))
            }
            EventTarget::Customer(customer) => {
                Condition::all().add(billing_customer::Column::CustomerId.eq(customer.as_str()))
            }
        };
        let found = billing_customer::Entity::find()
            .filter(condition.clone())
            .one(&txn)
            .await
            .map_err(StoreError::Query)?;
        let Some(found) = found else {
            txn.commit().await.map_err(StoreError::Query)?;
            return Ok(Applied::NoAccount);
        };
        let account = found.account_id;
        lock_account(&txn, account).await?;
        // Read again under the lock: another event of the account may have committed.
        let row = billing_customer::Entity::find_by_id(account)
            .one(&txn)
            .await
            .map_err(StoreError::Query)?
            .ok_or(StoreError::OutOfRange("billing customer"))?;
        if let EventTarget::BillingRef { customer_id, .. } = &event.target
            && row.customer_id.is_none()
        {
            billing_customer::Entity::update_many()
                .col_expr(
                    billing_customer::Column::CustomerId,
                    Expr::value(customer_id),
                )
                .filter(billing_customer::Column::AccountId.eq(account))
                .exec(&txn)
                .await
                .map_err(StoreError::Query)?;
        }
        let mut plan = None;
        if let Some((subscription_id, incoming)) = &event.subscription {
            let current = observed(&row);
            if subscription::supersedes(current.as_ref(), incoming) {
                let next = subscription::observe(current, *incoming);
                billing_customer::Entity::update_many()
                    .col_expr(
                        billing_customer::Column::SubscriptionId,
                        Expr::value(subscription_id.as_str()),
                    )
                    .col_expr(
                        billing_customer::Column::Status,
                        Expr::value(next.status.as_str()),
                    )
                    .col_expr(
                        billing_customer::Column::PeriodEnd,
                        Expr::value(next.period_end),
                    )
                    .col_expr(billing_customer::Column::StateAsOf, Expr::value(next.as_of))
                    .filter(billing_customer::Column::AccountId.eq(account))
                    .exec(&txn)
                    .await
                    .map_err(StoreError::Query)?;
                let decided = subscription::plan(Some(&next), now);
                account::Entity::update_many()
                    .col_expr(account::Column::Plan, Expr::value(decided.as_str()))
                    .col_expr(account::Column::UpdatedAt, Expr::value(now))
                    .filter(account::Column::Id.eq(account))
                    .exec(&txn)
                    .await
                    .map_err(StoreError::Query)?;
                plan = Some(decided);
            }
        }
        if let Some(invoice) = &event.invoice {
            billing_invoice::Entity::insert(billing_invoice::ActiveModel {
                id: Set(invoice.id.clone()),
                account_id: Set(Some(account)),
                amount: Set(invoice.amount),
                currency: Set(invoice.currency.clone()),
                issued_at: Set(invoice.issued_at),
                status: Set(invoice.status.clone()),
                held_since: Set(None),
            })
            .on_conflict(
                OnConflict::column(billing_invoice::Column::Id)
                    .update_columns([
                        billing_invoice::Column::Amount,
                        billing_invoice::Column::Status,
                    ])
                    // A paid invoice stays paid: a late `payment_failed` of it changes nothing.
                    .action_and_where(billing_invoice::Column::Status.ne("paid"))
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(StoreError::Query)?;
        }
        txn.commit().await.map_err(StoreError::Query)?;
        self.cache.forget_account(account);
        Ok(Applied::Applied { account, plan })
    }

    /// Puts on `FREE` every account whose subscription is past due and whose paid period
    /// ended before `now` (core's `billing::subscription::plan` decides); returns the
    /// accounts downgraded.
    pub async fn lapse_billing(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        let rows = billing_customer::Entity::find()
            .filter(billing_customer::Column::Status.eq(Status::PastDue.as_str()))
            .filter(billing_customer::Column::PeriodEnd.lte(now))
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        let mut downgraded = Vec::new();
        for row in rows {
            let state = observed(&row);
            if subscription::plan(state.as_ref(), now) != Plan::Free {
                continue;
            }
            let changed = account::Entity::update_many()
                .col_expr(account::Column::Plan, Expr::value(Plan::Free.as_str()))
                .col_expr(account::Column::UpdatedAt, Expr::value(now))
                .filter(account::Column::Id.eq(row.account_id))
                .filter(account::Column::Plan.ne(Plan::Free.as_str()))
                .exec(&self.db)
                .await
                .map_err(StoreError::Query)?;
            if changed.rows_affected > 0 {
                self.cache.forget_account(row.account_id);
                downgraded.push(row.account_id);
            }
        }
        Ok(downgraded)
    }

    /// Deletes the invoice records issued before `issued_before` (the billing record
    /// retention, `billing_record_retention`, before now), kept or not; returns how many.
    pub async fn purge_expired_invoices(
        &self,
        issued_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        crate::purge::delete_in_batches::<billing_invoice::Entity>(
            &self.db,
            billing_invoice::Column::Id,
            Condition::all().add(billing_invoice::Column::IssuedAt.lt(issued_before)),
        )
        .await
    }
}
