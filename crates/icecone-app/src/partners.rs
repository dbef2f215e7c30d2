//! Partners: organisations that read people's data with an API key, and only with each
//! person's grant.
//!
//! ADMIN staff add partners and issue and revoke their keys; people grant a partner some
//! scopes and revoke the grant; a partner opens a person's account only through
//! [`open_account`], which needs that person's live grant. Every one of these is recorded
//! in the audit trail before it happens. Which fields a partner then sees is decided per
//! field by `icecone_core::partner::partner_access` and, for the data's purpose, the consent
//! decision (see `graphql::partners`).

use chrono::Utc;
use icecone_core::crypto::CryptoError;
use icecone_core::partner::{ApiKey, PartnerDenial, PartnerName, ScopeSet};
use icecone_store::accounts::{AccountKind, AccountRecord};
use icecone_store::partners::{GrantRecord, NewPartnerKey, PartnerRecord};
use icecone_store::{Store, StoreError};
use uuid::Uuid;

use crate::audit::{self, AuditError, AuditEvent};

/// A request made with a live partner API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerCaller {
    /// The partner.
    pub partner: Uuid,
    /// The key it used.
    pub key: Uuid,
    /// The scopes the key carries.
    pub scopes: ScopeSet,
}

/// A key just issued: the only time the key itself exists outside the partner's hands.
#[derive(Debug)]
pub struct IssuedKey {
    /// The key's id (to revoke it).
    pub id: Uuid,
    /// The key.
    pub key: ApiKey,
    /// The scopes it carries.
    pub scopes: ScopeSet,
}

/// A person's account opened for a partner, with what the partner may see of it.
#[derive(Debug, Clone)]
pub struct PartnerView {
    /// The account.
    pub record: AccountRecord,
    /// The scopes of the partner's key.
    pub key_scopes: ScopeSet,
    /// The scopes of the person's grant.
    pub grant_scopes: ScopeSet,
}

/// Why a partner operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// No randomness for a key.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// No partner (or key) has this id.
    #[error("no such partner or key")]
    NotFound,
    /// Another partner has this name.
    #[error("a partner with this name exists")]
    NameTaken,
    /// A key or a grant must name at least one scope.
    #[error("name at least one scope")]
    NoScopes,
    /// The partner may not open this account.
    #[error(transparent)]
    Denied(#[from] PartnerDenial),
}

fn account_actor(account: Uuid) -> String {
    format!("account:{account}")
}

/// The partner, refusing an empty scope set and a partner that does not exist.
async fn scopes_for_known_partner(
    store: &Store,
    partner: Uuid,
    scopes: ScopeSet,
) -> Result<PartnerRecord, PartnerError> {
    if scopes.is_empty() {
        return Err(PartnerError::NoScopes);
    }
    store.partner(partner).await?.ok_or(PartnerError::NotFound)
}

/// Records a partner action in the audit trail, before it happens.
async fn audited(
    cx: crate::context::Context<'_>,
    actor: &str,
    action: &str,
    target: &str,
) -> Result<(), AuditError> {
    let event = AuditEvent {
        actor,
        action,
        target: Some(target),
        reason: None,
        request_id: cx.request_id,
    };
    audit::record(cx.store, cx.vault, event).await.map(|_| ())
}

/// The caller for an API key, if the key is live.
pub async fn caller(store: &Store, key: &ApiKey) -> Result<Option<PartnerCaller>, StoreError> {
    Ok(store
        .live_partner_key(&key.digest())
        .await?
        .map(|record| PartnerCaller {
            partner: record.partner,
            key: record.id,
            scopes: record.scopes,
        }))
}

/// Adds a partner, for ADMIN `admin`, and issues its first key.
pub async fn create_partner(
    cx: crate::context::Context<'_>,
    admin: Uuid,
    name: &PartnerName,
    scopes: ScopeSet,
) -> Result<(PartnerRecord, IssuedKey), PartnerError> {
    if scopes.is_empty() {
        return Err(PartnerError::NoScopes);
    }
    let record = PartnerRecord {
        id: Uuid::new_v4(),
        name: name.as_str().to_owned(),
        created_at: Utc::now(),
    };
    let target = format!("partner:{}", record.id);
    audited(cx, &account_actor(admin), "partner.create", &target).await?;
    match cx.store.create_partner(&record).await {
        Err(StoreError::Duplicate) => return Err(PartnerError::NameTaken),
        other => other?,
    }
    let (record, key) = issue_key(cx, admin, record.id, scopes).await?;
    Ok((record, key))
}

/// Issues a new key to `partner`, for ADMIN `admin`; answers the partner and the key.
pub async fn issue_key(
    cx: crate::context::Context<'_>,
    admin: Uuid,
    partner: Uuid,
    scopes: ScopeSet,
) -> Result<(PartnerRecord, IssuedKey), PartnerError> {
    let record = scopes_for_known_partner(cx.store, partner, scopes).await?;
    let issued = IssuedKey {
        id: Uuid::new_v4(),
        key: ApiKey::generate()?,
        scopes,
    };
    let target = format!("partner_key:{}", issued.id);
    audited(cx, &account_actor(admin), "partner.issue_key", &target).await?;
    cx.store
        .create_partner_key(&NewPartnerKey {
            id: issued.id,
            partner,
            digest: issued.key.digest(),
            hint: issued.key.hint(),
            scopes,
            created_at: Utc::now(),
        })
        .await?;
    Ok((record, issued))
}

/// Revokes a key at once, for ADMIN `admin`; whether this call revoked it (`false`: it was
/// revoked before).
pub async fn revoke_key(
    cx: crate::context::Context<'_>,
    admin: Uuid,
    key: Uuid,
) -> Result<bool, PartnerError> {
    let target = format!("partner_key:{key}");
    audited(cx, &account_actor(admin), "partner.revoke_key", &target).await?;
    let (_, revoked) = cx
        .store
        .revoke_partner_key(key, Utc::now())
        .await?
        .ok_or(PartnerError::NotFound)?;
    Ok(revoked)
}

/// `account` grants `partner` the `scopes`, replacing any grant it gave before; answers
/// the partner and the grant.
pub async fn grant(
    cx: crate::context::Context<'_>,
    account: Uuid,
    partner: Uuid,
    scopes: ScopeSet,
) -> Result<(PartnerRecord, GrantRecord), PartnerError> {
    let known = scopes_for_known_partner(cx.store, partner, scopes).await?;
    let target = format!("partner:{partner}");
    audited(cx, &account_actor(account), "partner.grant", &target).await?;
    let record = GrantRecord {
        id: Uuid::new_v4(),
        account,
        partner,
        scopes,
        granted_at: Utc::now(),
        revoked_at: None,
    };
    cx.store.grant_partner(&record).await?;
    Ok((known, record))
}

/// `account` revokes its grant to `partner`, at once; whether there was a live one.
pub async fn revoke_grant(
    cx: crate::context::Context<'_>,
    account: Uuid,
    partner: Uuid,
) -> Result<bool, PartnerError> {
    let target = format!("partner:{partner}");
    audited(cx, &account_actor(account), "partner.revoke_grant", &target).await?;
    Ok(cx
        .store
        .revoke_partner_grant(account, partner, Utc::now())
        .await?)
}

/// Opens `account` for the partner `caller`, which needs the person's live grant to that
/// partner: without one — or when no user account has the id, answered alike — the
/// partner is refused. The read is recorded in the audit trail (`partner.read_account`)
/// before anything is returned.
pub async fn open_account(
    cx: crate::context::Context<'_>,
    caller: &PartnerCaller,
    account: Uuid,
) -> Result<PartnerView, PartnerError> {
    let grant = cx
        .store
        .live_partner_grant(account, caller.partner)
        .await?
        .ok_or(PartnerDenial::NoGrant)?;
    let record = cx
        .store
        .account(account)
        .await?
        .filter(|record| record.kind == AccountKind::User)
        .ok_or(PartnerDenial::NoGrant)?;
    let actor = format!("partner:{}", caller.partner);
    let target = account_actor(account);
    audited(cx, &actor, "partner.read_account", &target).await?;
    Ok(PartnerView {
        record,
        key_scopes: caller.scopes,
        grant_scopes: grant.scopes,
    })
}
