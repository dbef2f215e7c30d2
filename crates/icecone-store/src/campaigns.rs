//! Repositories for mail campaigns (product news, service announcements): the campaign as
//! ADMIN wrote it, the pages of accounts its audience is decided on, and its messages
//! queued in the notification outbox once per account (a unique key on the campaign and
//! the account, so a repeated or concurrent send queues nobody twice).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::entity::{account, mail_campaign, mail_suppression, notification};
use crate::outbox::queued_row;
use crate::{Store, StoreError};

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    /// Its id (derived from its kind, subject and text by the caller).
    pub id: Uuid,
    /// `product_news` or `service_announcement`.
    pub kind: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub body: String,
    /// The staff account that sent it first.
    pub created_by: Uuid,
    /// When it was first sent.
    pub created_at: DateTime<Utc>,
}

impl From<mail_campaign::Model> for CampaignRecord {
    fn from(row: mail_campaign::Model) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            subject: row.subject,
            body: row.body,
            created_by: row.created_by,
            created_at: row.created_at,
        }
    }
}

/// What a campaign's audience is decided on, for one user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignCandidate {
    /// The account.
    pub account: Uuid,
    /// Whether its address was verified.
    pub verified: bool,
    /// Whether it is suspended.
    pub suspended: bool,
    /// Whether its (verified) address is on the suppression list.
    pub suppressed: bool,
}

/// A suppressed address as staff see it: never the address or its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionRecord {
    /// The account whose mail was refused.
    pub account: Uuid,
    /// The mail server's reply code (e.g. 550).
    pub reply_code: u16,
    /// When.
    pub suppressed_at: DateTime<Utc>,
}

/// An account's id, e-mail index, verification and suspension times.
type CandidateRow = (Uuid, Vec<u8>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

impl Store {
    /// Stores a campaign unless one with its id exists, and answers the stored one (the
    /// first sender and time stay).
    pub async fn put_mail_campaign(
        &self,
        campaign: &CampaignRecord,
    ) -> Result<CampaignRecord, StoreError> {
        mail_campaign::Entity::insert(mail_campaign::ActiveModel {
            id: Set(campaign.id),
            kind: Set(campaign.kind.clone()),
            subject: Set(campaign.subject.clone()),
            body: Set(campaign.body.clone()),
            created_by: Set(campaign.created_by),
            created_at: Set(campaign.created_at),
        })
        .on_conflict(
            OnConflict::column(mail_campaign::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        self.mail_campaign(campaign.id)
            .await?
            .ok_or(StoreError::OutOfRange("mail campaign"))
    }

    /// A campaign by id.
    pub async fn mail_campaign(&self, id: Uuid) -> Result<Option<CampaignRecord>, StoreError> {
        Ok(mail_campaign::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(CampaignRecord::from))
    }

    /// Up to `limit` user accounts with ids after `after`, in id order, with what a
    /// campaign's audience is decided on: a page of a walk over every user account.
    pub async fn campaign_candidates(
        &self,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<CampaignCandidate>, StoreError> {
        let mut query = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::EmailIndex)
            .column(account::Column::EmailVerifiedAt)
            .column(account::Column::SuspendedAt)
            .filter(account::Column::Kind.eq("user"));
        if let Some(after) = after {
            query = query.filter(account::Column::Id.gt(after));
        }
        let rows: Vec<CandidateRow> = query
            .order_by_asc(account::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?;
        // An unverified account's stored index is random: only verified ones are looked up.
        let verified_indexes: Vec<Vec<u8>> = rows
            .iter()
            .filter(|(_, _, verified, _)| verified.is_some())
            .map(|(_, index, _, _)| index.clone())
            .collect();
        let suppressed: std::collections::HashSet<Vec<u8>> = if verified_indexes.is_empty() {
            std::collections::HashSet::new()
        } else {
            mail_suppression::Entity::find()
                .select_only()
                .column(mail_suppression::Column::EmailIndex)
                .filter(mail_suppression::Column::EmailIndex.is_in(verified_indexes))
                .into_tuple::<Vec<u8>>()
                .all(&self.db)
                .await
                .map_err(StoreError::Query)?
                .into_iter()
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(
                |(account, index, verified_at, suspended_at)| CampaignCandidate {
                    account,
                    verified: verified_at.is_some(),
                    suspended: suspended_at.is_some(),
                    suppressed: verified_at.is_some() && suppressed.contains(&index),
                },
            )
            .collect())
    }

    /// Queues the campaign's message of kind `kind` for each of `accounts`, in one
    /// statement; an account queued for this campaign before is skipped (the unique key
    /// on campaign and account). Returns how many were queued now.
    pub async fn queue_campaign_messages(
        &self,
        campaign: Uuid,
        kind: &str,
        accounts: &[Uuid],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if accounts.is_empty() {
            return Ok(0);
        }
        let rows = accounts.iter().map(|account| notification::ActiveModel {
            account_id: Set(Some(*account)),
            campaign_id: Set(Some(campaign)),
            ..queued_row(Uuid::new_v4(), kind.to_owned(), at)
        });
        let inserted = notification::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    notification::Column::CampaignId,
                    notification::Column::AccountId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(inserted)
    }

    /// How many messages of the campaign are queued or sent (one per account).
    pub async fn campaign_message_count(&self, campaign: Uuid) -> Result<u64, StoreError> {
        notification::Entity::find()
            .filter(notification::Column::CampaignId.eq(campaign))
            .count(&self.db)
            .await
            .map_err(StoreError::Query)
    }

    /// The suppression list, newest first, at most `limit` entries.
    pub async fn mail_suppressions(
        &self,
        limit: u64,
    ) -> Result<Vec<SuppressionRecord>, StoreError> {
        Ok(mail_suppression::Entity::find()
            .order_by_desc(mail_suppression::Column::SuppressedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(StoreError::Query)?
            .into_iter()
            .map(|row| SuppressionRecord {
                account: row.account_id,
                reply_code: u16::try_from(row.reply_code).unwrap_or(0),
                suppressed_at: row.suppressed_at,
            })
            .collect())
    }

    /// Takes an address, by its blind index, off the suppression list (its owner fixed
    /// their mailbox). Returns whether it was on it.
    pub async fn lift_suppression(&self, email_index: &[u8; 32]) -> Result<bool, StoreError> {
        let result = mail_suppression::Entity::delete_by_id(email_index.to_vec())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }
}
