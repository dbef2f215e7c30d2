//! Partner management for ADMIN: `createPartner`, `issuePartnerKey`, `revokePartnerKey` and
//! `partnerKeys`. A key is shown once, when it is issued; the gateway keeps only its digest.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;
use icecone_core::partner::PartnerName;
use icecone_store::partners::PartnerKeyRecord;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::arguments;
use crate::graphql::auth::login_context;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::not_personal;
use crate::graphql::error::{ApiError, internal};
use crate::graphql::partners::{Partner, PartnerScopeValue, partner_id, scope_set, scope_values};
use icecone_app::partners::{self, IssuedKey};

/// `partnerKeys`: ADMIN, with a second factor in the session.
const LIST_KEYS: StaffField = StaffField::new(RoleRule::Admin);
/// Adding partners and issuing or revoking keys: ADMIN, with a fresh second factor.
const MANAGE_KEYS: StaffField = StaffField::fresh(RoleRule::Admin);

#[derive(Debug, Default)]
pub(crate) struct PartnerKeysQuery;

#[Object]
impl PartnerKeysQuery {
    /// A partner's API keys, newest first, revoked ones included — never the keys
    /// themselves. An unknown partner is `NOT_FOUND`.
    #[graphql(
        guard = LIST_KEYS.guard(),
        directive = requires_role::apply(LIST_KEYS.roles()),
        directive = requires_mfa::apply(LIST_KEYS.fresh_mfa())
    )]
    async fn partner_keys(
        &self,
        ctx: &Context<'_>,
        partner: ID,
    ) -> Result<Vec<PartnerKeyInfo>, ApiError> {
        let store = &services(ctx)?.store;
        let partner = partner_id(&partner)?;
        store
            .partner(partner)
            .await
            .map_err(internal)?
            .ok_or(ApiError::NotFound)?;
        let keys = store.partner_keys(partner).await.map_err(internal)?;
        Ok(keys.into_iter().map(PartnerKeyInfo::from).collect())
    }
}

#[derive(Debug, Default)]
pub(crate) struct PartnerKeysMutation;

#[Object]
impl PartnerKeysMutation {
    /// Adds a partner organisation (`name`: 2 to 100 characters, unique) and issues its
    /// first API key with `scopes`. Recorded in the audit trail.
    #[graphql(
        guard = MANAGE_KEYS.guard(),
        directive = requires_role::apply(MANAGE_KEYS.roles()),
        directive = requires_mfa::apply(MANAGE_KEYS.fresh_mfa())
    )]
    async fn create_partner(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<PartnerScopeValue>,
    ) -> Result<IssuedPartnerKey, ApiError> {
        let name =
            PartnerName::parse(&name).map_err(|error| ApiError::BadUserInput(error.to_string()))?;
        let admin = signed_in(ctx)?.account;
        let (partner, key) =
            partners::create_partner(login_context(ctx)?, admin, &name, scope_set(&scopes)).await?;
        Ok(IssuedPartnerKey::new(Partner(partner), key))
    }

    /// Issues another API key to a partner (to rotate keys: issue, switch, revoke the old
    /// one). Recorded in the audit trail.
    #[graphql(
        guard = MANAGE_KEYS.guard(),
        directive = requires_role::apply(MANAGE_KEYS.roles()),
        directive = requires_mfa::apply(MANAGE_KEYS.fresh_mfa())
    )]
    async fn issue_partner_key(
        &self,
        ctx: &Context<'_>,
        partner: ID,
        scopes: Vec<PartnerScopeValue>,
    ) -> Result<IssuedPartnerKey, ApiError> {
        let partner = partner_id(&partner)?;
        let admin = signed_in(ctx)?.account;
        let (record, key) =
            partners::issue_key(login_context(ctx)?, admin, partner, scope_set(&scopes)).await?;
        Ok(IssuedPartnerKey::new(Partner(record), key))
    }

    /// Revokes an API key: requests with it are refused from now on. `false` when it was
    /// revoked before; an unknown key is `NOT_FOUND`. Recorded in the audit trail.
    #[graphql(
        guard = MANAGE_KEYS.guard(),
        directive = requires_role::apply(MANAGE_KEYS.roles()),
        directive = requires_mfa::apply(MANAGE_KEYS.fresh_mfa()),
        directive = not_personal::apply()
    )]
    async fn revoke_partner_key(&self, ctx: &Context<'_>, id: ID) -> Result<bool, ApiError> {
        let key = arguments::uuid(&id, "id", "a key id")?;
        let admin = signed_in(ctx)?.account;
        Ok(partners::revoke_key(login_context(ctx)?, admin, key).await?)
    }
}

/// A partner API key just issued.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct IssuedPartnerKey {
    /// The key's id, to revoke it.
    id: ID,
    /// The key, for `Authorization: ApiKey <key>`. Shown this once: IceCone keeps only its
    /// digest.
    key: String,
    /// The start of the key, as `partnerKeys` shows it.
    hint: String,
    /// The scopes it carries.
    scopes: Vec<PartnerScopeValue>,
    /// The partner it belongs to.
    partner: Partner,
}

impl IssuedPartnerKey {
    fn new(partner: Partner, issued: IssuedKey) -> Self {
        Self {
            id: ID(issued.id.to_string()),
            key: issued.key.expose().to_owned(),
            hint: issued.key.hint(),
            scopes: scope_values(issued.scopes),
            partner,
        }
    }
}

/// A partner API key as it is kept: never the key itself.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PartnerKeyInfo {
    /// The key's id.
    id: ID,
    /// The start of the key.
    hint: String,
    /// The scopes it carries.
    scopes: Vec<PartnerScopeValue>,
    /// When it was issued.
    created_at: DateTime<Utc>,
    /// When it was revoked (`null` while it works).
    revoked_at: Option<DateTime<Utc>>,
}

impl From<PartnerKeyRecord> for PartnerKeyInfo {
    fn from(record: PartnerKeyRecord) -> Self {
        Self {
            id: ID(record.id.to_string()),
            hint: record.hint,
            scopes: scope_values(record.scopes),
            created_at: record.created_at,
            revoked_at: record.revoked_at,
        }
    }
}
