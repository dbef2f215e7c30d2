//! Repositories for accounts and staff roles.
//!
//! An account's e-mail arrives sealed by the gateway's vault, with its blind index for
//! look-ups; the password arrives as an Argon2id hash. Nothing here is personal in clear.
//! Every method that changes an account row drops it from the read cache first.

use std::fmt;

use chrono::{DateTime, Utc};
use icecone_core::subject::SubjectId;
use icecone_core::usage::Plan;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::convert::bytes32_from_db;
use crate::entity::{account, staff_role};
use crate::{Store, StoreError};

/// Who an account belongs to: a user of the product, or a member of IceCone's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A user of the product.
    User,
    /// A member of IceCone's staff (roles in `staff_roles`, TOTP required by the gateway).
    Staff,
}

impl AccountKind {
    fn to_db(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Staff => "staff",
        }
    }

    fn from_db(value: &str) -> Result<Self, StoreError> {
        match value {
            "user" => Ok(Self::User),
            "staff" => Ok(Self::Staff),
            _ => Err(StoreError::OutOfRange("account kind")),
        }
    }
}

/// An account to create. Its data subject must exist (see [`Store::create_data_subject`]).
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// The account's id.
    pub id: Uuid,
    /// The data subject whose key seals the account's personal fields.
    pub subject: SubjectId,
    /// The normalised e-mail address, sealed by the vault.
    pub email_sealed: Vec<u8>,
    /// The e-mail's blind index once the address is verified: unique across accounts. An
    /// unverified account holds a random value here that no look-up can match, so the
    /// unique constraint says nothing about which addresses have accounts.
    pub email_index: [u8; 32],
    /// The password's Argon2id hash (PHC string).
    pub password_hash: String,
    /// The privacy policy version the person accepted.
    pub policy_version: String,
    /// User or staff.
    pub kind: AccountKind,
    /// When the e-mail address was verified (`None`: not yet; it cannot sign in by
    /// password until it is).
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("kind", &self.kind)
            .field("policy_version", &self.policy_version)
            .finish_non_exhaustive()
    }
}

/// An account as stored (every column).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The account's id.
    pub id: Uuid,
    /// The data subject whose key seals the account's personal fields.
    pub subject: SubjectId,
    /// The normalised e-mail address, sealed.
    pub email_sealed: Vec<u8>,
    /// The e-mail's blind index.
    pub email_index: [u8; 32],
    /// The display name, sealed, if one was given.
    pub display_name_sealed: Option<Vec<u8>>,
    /// The password's Argon2id hash (PHC string).
    pub password_hash: String,
    /// The privacy policy version the person accepted.
    pub policy_version: String,
    /// User or staff.
    pub kind: AccountKind,
    /// When the account was suspended, if it is.
    pub suspended_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account row last changed.
    pub updated_at: DateTime<Utc>,
    /// When the password was last set.
    pub password_changed_at: DateTime<Utc>,
    /// When the e-mail address was verified, if it was.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// The plan, which sets the generation quota.
    pub plan: Plan,
    /// Whether the person's prompts are minimised unless a request says otherwise.
    pub minimize_prompts: bool,
    /// Changes to the person's generation history so far (a trigger counts every insert,
    /// delete and change of a generation, from any code path or instance): what a cached
    /// personalization profile is checked against.
    pub history_version: i64,
}

impl fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password hash stays out of debug output (and so out of logs).
        f.debug_struct("AccountRecord")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("kind", &self.kind)
            .field("policy_version", &self.policy_version)
            .field("suspended_at", &self.suspended_at)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("password_changed_at", &self.password_changed_at)
            .field("verified_at", &self.email_verified_at)
            .finish_non_exhaustive()
    }
}

impl TryFrom<account::Model> for AccountRecord {
    type Error = StoreError;

    fn try_from(row: account::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            subject: SubjectId::from_uuid(row.subject_id),
            email_sealed: row.email_sealed,
            email_index: bytes32_from_db(row.email_index, "e-mail index")?,
            display_name_sealed: row.display_name_sealed,
            password_hash: row.password_hash,
            policy_version: row.policy_version,
            kind: AccountKind::from_db(&row.kind)?,
            suspended_at: row.suspended_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            password_changed_at: row.password_changed_at,
            email_verified_at: row.email_verified_at,
            plan: Plan::parse(&row.plan).map_err(|_| StoreError::OutOfRange("plan"))?,
            minimize_prompts: row.minimize_prompts,
            history_version: row.history_version,
        })
    }
}

impl Store {
    /// Creates an account.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when an account with the same e-mail index, id or subject
    /// exists (the unique constraints decide, so two concurrent sign-ups with one e-mail
    /// cannot both succeed).
    pub async fn create_account(&self, new: NewAccount) -> Result<(), StoreError> {
        let now = Utc::now();
        account::Entity::insert(account::ActiveModel {
            id: Set(new.id),
            subject_id: Set(new.subject.as_uuid()),
            email_sealed: Set(new.email_sealed),
            email_index: Set(new.email_index.to_vec()),
            display_name_sealed: Set(None),
            password_hash: Set(new.password_hash),
            policy_notified_version: Set(new.policy_version.clone()),
            // Told of no version yet: an announced change not yet in effect reaches it too.
            subprocessors_notified_version: Set(0),
            policy_version: Set(new.policy_version),
            kind: Set(new.kind.to_db().to_owned()),
            suspended_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            password_changed_at: Set(now),
            email_verified_at: Set(new.email_verified_at),
            plan: Set(Plan::default().as_str().to_owned()),
            minimize_prompts: Set(true),
            history_version: Set(0),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// An account by id.
    pub async fn account(&self, id: Uuid) -> Result<Option<AccountRecord>, StoreError> {
        account::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(AccountRecord::try_from)
            .transpose()
    }

    /// The account whose verified e-mail has this blind index.
    pub async fn account_by_email_index(
        &self,
        email_index: &[u8; 32],
    ) -> Result<Option<AccountRecord>, StoreError> {
        account::Entity::find()
            .filter(account::Column::EmailIndex.eq(email_index.to_vec()))
            .one(&self.db)
            .await
            .map_err(StoreError::Query)?
            .map(AccountRecord::try_from)
            .transpose()
    }

    /// Makes a verified address the account's e-mail: its ciphertext, its blind index and
    /// the time of verification. Returns whether the account exists.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when another account has verified the same address.
    pub async fn set_verified_email(
        &self,
        id: Uuid,
        email_sealed: Vec<u8>,
        email_index: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = account::Entity::update_many()
            .col_expr(account::Column::EmailSealed, Expr::value(email_sealed))
            .col_expr(
                account::Column::EmailIndex,
                Expr::value(email_index.to_vec()),
            )
            .col_expr(account::Column::EmailVerifiedAt, Expr::value(at))
            .col_expr(account::Column::UpdatedAt, Expr::value(at))
            .filter(account::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::from_insert)?;
        self.cache.forget_account(id);
        Ok(result.rows_affected > 0)
    }

    /// Replaces (or, with `None`, clears) an account's sealed display name. Returns whether
    /// the account exists.
    pub async fn set_display_name(
        &self,
        id: Uuid,
        display_name_sealed: Option<Vec<u8>>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = account::Entity::update_many()
            .col_expr(
                account::Column::DisplayNameSealed,
                Expr::value(display_name_sealed),
            )
            .col_expr(account::Column::UpdatedAt, Expr::value(at))
            .filter(account::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_account(id);
        Ok(result.rows_affected > 0)
    }

    /// Sets whether an account's prompts are minimised unless a request says otherwise.
    /// Returns whether the account exists.
    pub async fn set_minimize_prompts(
        &self,
        id: Uuid,
        minimize: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = account::Entity::update_many()
            .col_expr(account::Column::MinimizePrompts, Expr::value(minimize))
            .col_expr(account::Column::UpdatedAt, Expr::value(at))
            .filter(account::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_account(id);
        Ok(result.rows_affected > 0)
    }

    /// Replaces an account's password hash. Returns whether the account exists.
    pub async fn set_password_hash(
        &self,
        id: Uuid,
        password_hash: String,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = account::Entity::update_many()
            .col_expr(account::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(account::Column::PasswordChangedAt, Expr::value(at))
            .col_expr(account::Column::UpdatedAt, Expr::value(at))
            .filter(account::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_account(id);
        Ok(result.rows_affected > 0)
    }

    /// Suspends an account. Returns whether this call suspended it (`false` when it does
    /// not exist or was already suspended; the first suspension time is kept).
    pub async fn suspend_account(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = account::Entity::update_many()
            .col_expr(account::Column::SuspendedAt, Expr::value(at))
            .col_expr(account::Column::UpdatedAt, Expr::value(at))
            .filter(account::Column::Id.eq(id))
            .filter(account::Column::SuspendedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_account(id);
        Ok(result.rows_affected > 0)
    }

    /// Puts an account on `plan`; whether an account has the id.
    pub async fn set_account_plan(
        &self,
        id: Uuid,
        plan: Plan,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = account::Entity::update_many()
            .col_expr(account::Column::Plan, Expr::value(plan.as_str()))
            .col_expr(account::Column::UpdatedAt, Expr::value(at))
            .filter(account::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        self.cache.forget_account(id);
        Ok(result.rows_affected > 0)
    }

    /// Grants a staff role (its name as `StaffRole::as_str` spells it, at most 16 bytes).
    /// Returns whether it was newly granted; granting a held role changes nothing.
    ///
    /// The store does not check that the account is a staff account: the gateway does.
    pub async fn grant_staff_role(&self, id: Uuid, role: &str) -> Result<bool, StoreError> {
        let inserted = staff_role::Entity::insert(staff_role::ActiveModel {
            account_id: Set(id),
            role: Set(role.to_owned()),
            granted_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([staff_role::Column::AccountId, staff_role::Column::Role])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(StoreError::Query)?;
        Ok(inserted > 0)
    }

    /// Revokes a staff role. Returns whether it was held.
    pub async fn revoke_staff_role(&self, id: Uuid, role: &str) -> Result<bool, StoreError> {
        let result = staff_role::Entity::delete_many()
            .filter(staff_role::Column::AccountId.eq(id))
            .filter(staff_role::Column::Role.eq(role))
            .exec(&self.db)
            .await
            .map_err(StoreError::Query)?;
        Ok(result.rows_affected > 0)
    }

    /// How many accounts hold a staff role.
    pub async fn staff_role_holders(&self, role: &str) -> Result<u64, StoreError> {
        staff_role::Entity::find()
            .filter(staff_role::Column::Role.eq(role))
            .count(&self.db)
            .await
            .map_err(StoreError::Query)
    }

    /// The staff roles an account holds, sorted by name.
    pub async fn staff_roles(&self, id: Uuid) -> Result<Vec<String>, StoreError> {
        staff_role::Entity::find()
            .select_only()
            .column(staff_role::Column::Role)
            .filter(staff_role::Column::AccountId.eq(id))
            .order_by_asc(staff_role::Column::Role)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)
    }

    /// Up to `limit` accounts, oldest first, whose e-mail address was never verified, that
    /// were made before `cutoff` and have no open deletion request: what the purge of
    /// unverified accounts erases. (Staff accounts are verified when they are made.)
    pub async fn unverified_accounts_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Uuid>, StoreError> {
        let open_deletions = sea_orm::sea_query::Query::select()
            .column(crate::entity::account_deletion::Column::OpenAccount)
            .from(crate::entity::account_deletion::Entity)
            .and_where(crate::entity::account_deletion::Column::OpenAccount.is_not_null())
            .to_owned();
        account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .filter(account::Column::EmailVerifiedAt.is_null())
            .filter(account::Column::CreatedAt.lt(cutoff))
            .filter(account::Column::Id.not_in_subquery(open_deletions))
            .order_by_asc(account::Column::CreatedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(StoreError::Query)
    }
}
