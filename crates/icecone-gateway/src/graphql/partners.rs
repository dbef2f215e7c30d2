//! Partners as the schema shows them: the public `partners` list, a person's grants
//! (`grantPartnerAccess`, `revokePartnerAccess`, `Account.partnerGrants`) and the partner's
//! own read, `partnerAccount`, with `@requiresPartnerScope` on each field it may see.
//!
//! A partner field declares one [`PartnerField`]; its guard and its directive are both made
//! from it. The guard asks core's `partner_access` (the key's scopes and the person's
//! grant) and the consent decision for the purpose the data is processed for, for the
//! person the field is about — so a restricted person's data reaches no partner.

use async_graphql::{Context, Enum, Guard, ID, Object, SimpleObject, TypeDirective};
use chrono::{DateTime, Utc};
use icecone_core::consent::Purpose;
use icecone_core::consent::decision::Activity;
use icecone_core::partner::{PartnerScope, ScopeSet};
use icecone_store::partners::{GrantRecord, PartnerRecord};
use uuid::Uuid;

use super::account::Personalization;
use super::arguments;
use super::auth::login_context;
use super::caller::{services, signed_in};
use super::classification::{essential, not_personal};
use super::consent::{ConsentField, PurposeValue, require, requires_consent};
use super::error::{ApiError, internal};
use icecone_app::accounts;
use icecone_app::auth::viewer::Viewer;
use icecone_app::partners::{self, PartnerCaller, PartnerView};

/// What kind of a person's data a partner may read.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "PartnerScope", remote = "icecone_core::partner::PartnerScope")]
pub(crate) enum PartnerScopeValue {
    /// The account: its id, e-mail address and when it was created.
    Profile,
    /// The personalised features derived from the person's generation history (which
    /// also needs the person's `PERSONALIZATION` consent).
    Personalization,
}

/// A partner reads this field only when its API key carries `scope` and the person's live
/// grant to that partner names it (`FORBIDDEN` otherwise), and only while the person allows
/// processing for the field's purpose (`PROCESSING_RESTRICTED` / `CONSENT_REQUIRED`).
#[TypeDirective(location = "FieldDefinition", name = "requiresPartnerScope")]
pub(crate) fn requires_partner_scope(scope: PartnerScopeValue) {}

pub(crate) fn scope_set(scopes: &[PartnerScopeValue]) -> ScopeSet {
    scopes
        .iter()
        .map(|scope| PartnerScope::from(*scope))
        .collect()
}

pub(crate) fn scope_values(scopes: ScopeSet) -> Vec<PartnerScopeValue> {
    scopes.scopes().into_iter().map(Into::into).collect()
}

pub(crate) fn partner_id(id: &ID) -> Result<Uuid, ApiError> {
    arguments::uuid(id, "partner", "a partner id")
}

/// The one declaration of what a partner field needs: a scope, and the purpose the data is
/// processed for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartnerField {
    scope: PartnerScope,
    purpose: Purpose,
}

impl PartnerField {
    /// The `scope` argument of `@requiresPartnerScope`.
    pub(crate) fn scope(self) -> PartnerScopeValue {
        self.scope.into()
    }

    /// The guard that enforces it on `view`.
    fn guard(self, view: &PartnerView) -> PartnerGuard {
        PartnerGuard {
            field: self,
            subject: view.record.id,
            key: view.key_scopes,
            grant: view.grant_scopes,
        }
    }
}

/// Enforces a [`PartnerField`] for one person before the field resolves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartnerGuard {
    field: PartnerField,
    subject: Uuid,
    key: ScopeSet,
    grant: ScopeSet,
}

impl Guard for PartnerGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        icecone_core::partner::partner_access(self.key, Some(self.grant), self.field.scope)
            .map_err(ApiError::from)?;
        require(ctx, self.subject, Activity::Process(self.field.purpose)).await?;
        Ok(())
    }
}

/// `PartnerAccountView.email` and `createdAt`: the profile, shared to provide the service
/// the person asked the partner for.
const PROFILE: PartnerField = PartnerField {
    scope: PartnerScope::Profile,
    purpose: Purpose::ServiceProvision,
};
/// `PartnerAccountView.personalization`.
const PERSONALIZATION: PartnerField = PartnerField {
    scope: PartnerScope::Personalization,
    purpose: Purpose::Personalization,
};
/// The consent `PartnerAccountView.personalization` needs, as on `Account.personalization`.
const PERSONALIZATION_CONSENT: ConsentField = ConsentField(Purpose::Personalization);

fn partner_caller<'a>(ctx: &Context<'a>) -> Result<&'a PartnerCaller, ApiError> {
    match ctx.data_opt::<Viewer>() {
        Some(Viewer::Partner(caller)) => Ok(caller),
        Some(Viewer::Account(_)) => Err(ApiError::Forbidden("this needs a partner API key")),
        _ => Err(ApiError::Unauthenticated("send a partner API key")),
    }
}

#[derive(Debug, Default)]
pub(crate) struct PartnerQuery;

#[Object]
impl PartnerQuery {
    /// Every partner organisation, by name: whom a person can grant access to. Public.
    async fn partners(&self, ctx: &Context<'_>) -> Result<Vec<Partner>, ApiError> {
        let partners = services(ctx)?.store.partners().await.map_err(internal)?;
        Ok(partners.into_iter().map(Partner).collect())
    }

    /// For partners (`Authorization: ApiKey ...`): the account of a person who granted
    /// your organisation access. Without a live grant from that person — or when no user
    /// has the id, answered alike — `FORBIDDEN`. Each read is recorded in the audit trail,
    /// which the person can see in their export. Each field also needs its scope on both
    /// your key and the person's grant (`@requiresPartnerScope`).
    async fn partner_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<PartnerAccountView, ApiError> {
        let caller = partner_caller(ctx)?;
        let account = arguments::account_id(&id, "id")?;
        let view = partners::open_account(login_context(ctx)?, caller, account).await?;
        Ok(PartnerAccountView(view))
    }
}

#[derive(Debug, Default)]
pub(crate) struct PartnerMutation;

#[Object]
impl PartnerMutation {
    /// Lets a partner read your data of the given scopes, replacing any grant you gave it
    /// before. Each read by the partner is recorded; revoke with `revokePartnerAccess`.
    /// An unknown partner is `NOT_FOUND`; no scopes, `BAD_USER_INPUT`.
    async fn grant_partner_access(
        &self,
        ctx: &Context<'_>,
        partner: ID,
        scopes: Vec<PartnerScopeValue>,
    ) -> Result<PartnerGrant, ApiError> {
        let account = signed_in(ctx)?.account;
        let partner = partner_id(&partner)?;
        let (partner, grant) =
            partners::grant(login_context(ctx)?, account, partner, scope_set(&scopes)).await?;
        Ok(PartnerGrant::of(grant, partner))
    }

    /// Ends a partner's access to your data at once. `false` when you had given it none.
    #[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
    async fn revoke_partner_access(
        &self,
        ctx: &Context<'_>,
        partner: ID,
    ) -> Result<bool, ApiError> {
        let account = signed_in(ctx)?.account;
        let partner = partner_id(&partner)?;
        Ok(partners::revoke_grant(login_context(ctx)?, account, partner).await?)
    }
}

/// A partner organisation.
pub(crate) struct Partner(pub(crate) PartnerRecord);

#[Object(directive = not_personal::apply())]
impl Partner {
    /// The partner's id, to pass to `grantPartnerAccess`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
}

/// A grant a person gave a partner.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
pub(crate) struct PartnerGrant {
    /// The partner.
    partner: Partner,
    /// What the partner may read.
    scopes: Vec<PartnerScopeValue>,
    /// When it was given.
    granted_at: DateTime<Utc>,
    /// When it was revoked (`null` while it lasts).
    revoked_at: Option<DateTime<Utc>>,
}

impl PartnerGrant {
    fn of(grant: GrantRecord, partner: PartnerRecord) -> Self {
        Self {
            partner: Partner(partner),
            scopes: scope_values(grant.scopes),
            granted_at: grant.granted_at,
            revoked_at: grant.revoked_at,
        }
    }
}

/// The partner a grant names, which the store keeps as long as grants name it.
fn partner_of(partners: &[PartnerRecord], grant: &GrantRecord) -> Result<PartnerRecord, ApiError> {
    partners
        .iter()
        .find(|partner| partner.id == grant.partner)
        .cloned()
        .ok_or_else(|| internal(anyhow::anyhow!("a grant names a missing partner")))
}

/// Every grant `account` gave, newest first, revoked ones included.
pub(crate) async fn grants_of(
    ctx: &Context<'_>,
    account: Uuid,
) -> Result<Vec<PartnerGrant>, ApiError> {
    let store = &services(ctx)?.store;
    let grants = store.partner_grants_of(account).await.map_err(internal)?;
    let partners = store.partners().await.map_err(internal)?;
    grants
        .into_iter()
        .map(|grant| {
            let partner = partner_of(&partners, &grant)?;
            Ok(PartnerGrant::of(grant, partner))
        })
        .collect()
}

/// A person's account as a partner they granted access sees it.
pub(crate) struct PartnerAccountView(PartnerView);

#[Object(directive = essential::apply(PurposeValue::ServiceProvision))]
impl PartnerAccountView {
    /// The account's id.
    async fn id(&self) -> ID {
        ID(self.0.record.id.to_string())
    }

    /// The e-mail address.
    #[graphql(
        guard = PROFILE.guard(&self.0),
        directive = requires_partner_scope::apply(PROFILE.scope())
    )]
    async fn email(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        accounts::email_of(&services(ctx)?.vault, &self.0.record)
            .await
            .map_err(internal)
    }

    /// When the account was created.
    #[graphql(
        guard = PROFILE.guard(&self.0),
        directive = requires_partner_scope::apply(PROFILE.scope())
    )]
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.record.created_at
    }

    /// The person's personalised features, as on `Account.personalization`.
    #[graphql(
        guard = PERSONALIZATION.guard(&self.0).and(PERSONALIZATION_CONSENT.guard(self.0.record.id)),
        directive = requires_partner_scope::apply(PERSONALIZATION.scope()),
        directive = requires_consent::apply(PERSONALIZATION_CONSENT.purpose())
    )]
    async fn personalization(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Personalization>, ApiError> {
        super::account::personalization_of(ctx, &self.0.record)
            .await
            .map(Some)
    }
}
