//! `me`: the signed-in account, its fields resolved (and decrypted) only when asked for.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_store::accounts::AccountRecord;
use uuid::Uuid;

use icecone_core::consent::Purpose;
use icecone_core::generation::GenerationKind;
use icecone_core::personalization::Profile;

use super::billing::{BillingInfo, billing_of};
use super::caller::{services, viewer_account};
use super::classification::essential;
use super::consent::{
    Consent, ConsentField, PurposeValue, consents_of, consents_to_renew, requires_consent,
};
use super::error::{ApiError, internal};
use super::generation::{Generation, GenerationCursor, UsageInfo, generations_of, usage_of};
use super::partners::{PartnerGrant, grants_of};
use icecone_app::accounts;
use icecone_app::consent;

#[derive(Debug, Default)]
pub(crate) struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in account. `UNAUTHENTICATED` when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> Result<Account, ApiError> {
        let (viewer, record) = viewer_account(ctx).await?;
        Ok(Account::new(record, viewer.session))
    }
}

/// An IceCone account, as its owner sees it.
pub(crate) struct Account {
    record: AccountRecord,
    /// The session the request came with.
    session: Uuid,
}

/// `Account.personalization` processes the person's history for personalisation.
const PERSONALIZATION: ConsentField = ConsentField(Purpose::Personalization);

impl Account {
    pub(crate) fn new(record: AccountRecord, session: Uuid) -> Self {
        Self { record, session }
    }

    pub(crate) fn created_at(&self) -> DateTime<Utc> {
        self.record.created_at
    }

    pub(crate) fn account_id(&self) -> Uuid {
        self.record.id
    }
}

#[Object(directive = essential::apply(PurposeValue::ServiceProvision))]
impl Account {
    /// The account's id.
    async fn id(&self) -> ID {
        ID(self.record.id.to_string())
    }

    /// The e-mail address (stored encrypted with the person's own key).
    async fn email(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        accounts::email_of(&services(ctx)?.vault, &self.record)
            .await
            .map_err(internal)
    }

    /// The display name, if one was given (stored encrypted with the person's own key);
    /// `updateProfile` changes it.
    async fn display_name(&self, ctx: &Context<'_>) -> Result<Option<String>, ApiError> {
        let Some(sealed) = &self.record.display_name_sealed else {
            return Ok(None);
        };
        let id = self.record.id.to_string();
        let name = services(ctx)?
            .vault
            .open_field(
                self.record.subject,
                icecone_app::auth::profile::display_name_field(&id),
                sealed,
            )
            .await
            .map_err(internal)?;
        String::from_utf8(name.to_vec())
            .map(Some)
            .map_err(|_| internal(anyhow::anyhow!("a sealed display name is not UTF-8")))
    }

    /// Whether the e-mail address is verified. Until it is, the account cannot sign in by
    /// password (only through the session `signUp` gave); see `resendVerificationEmail`.
    async fn email_verified(&self) -> bool {
        self.record.email_verified_at.is_some()
    }

    /// Whether a second factor (TOTP) is active.
    async fn mfa_enabled(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        let factor = services(ctx)?
            .store
            .totp_factor(self.record.id)
            .await
            .map_err(internal)?;
        Ok(factor.is_some_and(|factor| factor.confirmed_at.is_some()))
    }

    /// Every purpose of processing and where the person stands on it, defaults included.
    async fn consents(&self, ctx: &Context<'_>) -> Result<Vec<Consent>, ApiError> {
        consents_of(ctx, self.record.id, self.record.created_at).await
    }

    /// The consent-based purposes the person consented to under an earlier privacy policy
    /// version that has since changed what they cover: their consent no longer counts
    /// (`consents` shows them not granted) until they give it again with `setConsent`,
    /// which removes them from this list. Empty when nothing is to be renewed. The
    /// policy-change e-mail names the same purposes.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn consents_to_renew(&self, ctx: &Context<'_>) -> Result<Vec<PurposeValue>, ApiError> {
        consents_to_renew(ctx, self.record.id).await
    }

    /// Whether the person's prompts are minimised before they reach a provider when a
    /// generation does not say (`setPromptMinimization`): on for every account until the
    /// person turns it off.
    async fn prompt_minimization(&self) -> bool {
        self.record.minimize_prompts
    }

    /// Whether the person has restricted processing of their data (`restrictProcessing`).
    async fn processing_restricted(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        let state = consent::state(&services(ctx)?.store, self.record.id)
            .await
            .map_err(internal)?;
        Ok(state.restricted)
    }

    /// Personalised features, derived from the person's own generation history when asked
    /// for, and only while they consent to `PERSONALIZATION`: nothing is computed without
    /// it, and nothing is kept, so withdrawing it leaves no profile behind.
    #[graphql(
        guard = PERSONALIZATION.guard(self.record.id),
        directive = requires_consent::apply(PERSONALIZATION.purpose())
    )]
    async fn personalization(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Personalization>, ApiError> {
        personalization_of(ctx, &self.record).await.map(Some)
    }

    /// The partners the person granted access to their data, newest first, revoked grants
    /// included (`grantPartnerAccess`, `revokePartnerAccess`).
    async fn partner_grants(&self, ctx: &Context<'_>) -> Result<Vec<PartnerGrant>, ApiError> {
        grants_of(ctx, self.record.id).await
    }

    /// The account's plan, its subscription and its invoices (`startCheckout`,
    /// `billingPortal`).
    async fn billing(&self, ctx: &Context<'_>) -> Result<BillingInfo, ApiError> {
        billing_of(ctx, &self.record).await
    }

    /// This month's generation usage against the quota of the account's plan.
    async fn usage(&self, ctx: &Context<'_>) -> Result<UsageInfo, ApiError> {
        usage_of(ctx, &self.record).await
    }

    /// The account's generations, newest first: `first` of them (1 to 100, default 20)
    /// after the cursor `after`.
    #[graphql(directive = essential::apply(PurposeValue::AiGeneration))]
    async fn generations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<GenerationCursor, Generation, EmptyFields, EmptyFields>, ApiError> {
        generations_of(ctx, self.record.id, self.record.subject, first, after).await
    }

    /// The person's data subject requests (export, restriction, objection, erasure), newest
    /// first, each with its status and due date, and — but for an erasure, followed on its
    /// account deletion request — its history.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn data_requests(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::rights::DataRequest>, ApiError> {
        super::rights::requests_of(ctx, self.record.id).await
    }

    /// The person's messages to the data protection officer, newest first, with where each
    /// stands and the DPO's replies: those sent while signed in, and those sent without an
    /// account from the account's verified address.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn privacy_tickets(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::rights::PrivacyTicket>, ApiError> {
        super::rights::tickets_of(ctx, &self.record).await
    }

    /// Disclosures of the person's data required by law, newest first, once they may be
    /// shown: approved, and not under a live confidentiality order (then listed once it
    /// ends). The authority, its type, legal basis and reference, the data disclosed and
    /// when.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn disclosures(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::disclosures::Disclosure>, ApiError> {
        super::disclosures::shown_to(ctx, self.record.id).await
    }

    /// The account's open deletion request (`requestAccountDeletion`), if any: when it
    /// runs, and the grounds of a legal hold that keeps it from running.
    #[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
    async fn account_deletion(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::rights::DataRequest>, ApiError> {
        let open = services(ctx)?
            .store
            .open_account_deletion(self.record.id)
            .await
            .map_err(internal)?;
        match open {
            Some(deletion) => super::erasure::data_request_of(ctx, deletion)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// The account's live sessions, newest first; end one with `revokeSession`.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<SessionInfo>, ApiError> {
        let sessions = services(ctx)?
            .store
            .sessions_of(self.record.id)
            .await
            .map_err(internal)?;
        Ok(sessions
            .into_iter()
            .filter(|session| session.revoked_at.is_none())
            .map(|session| SessionInfo {
                id: ID(session.id.to_string()),
                created_at: session.created_at,
                last_refreshed_at: session.last_refreshed_at,
                mfa: session.mfa_at.is_some(),
                current: session.id == self.session,
            })
            .collect())
    }
}

/// The personalised features of `account`, derived when asked for; callers have checked the
/// `PERSONALIZATION` consent (by the field's guard).
pub(crate) async fn personalization_of(
    ctx: &Context<'_>,
    account: &AccountRecord,
) -> Result<Personalization, ApiError> {
    let profile = services(ctx)?
        .generations
        .profile(account)
        .await
        .map_err(internal)?;
    Ok(profile.into())
}

/// A signed-in session of the account.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::Security))]
pub(crate) struct SessionInfo {
    /// The session's id.
    id: ID,
    /// When it began.
    created_at: DateTime<Utc>,
    /// When its tokens were last refreshed.
    last_refreshed_at: DateTime<Utc>,
    /// Whether a second factor was used in it.
    mfa: bool,
    /// Whether it is the session of this request.
    current: bool,
}

/// What a generation produces.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "GenerationKind",
    remote = "icecone_core::generation::GenerationKind"
)]
pub(crate) enum GenerationKindValue {
    /// Text.
    Text,
    /// An image.
    Image,
    /// A video.
    Video,
}

/// Personalised features, derived from the person's own generation history.
#[derive(SimpleObject)]
#[graphql(directive = requires_consent::apply(PurposeValue::Personalization))]
pub(crate) struct Personalization {
    /// The kinds the person generates most, most used first.
    favourite_kinds: Vec<GenerationKindValue>,
    /// Recent distinct prompts to start from, newest first.
    suggested_prompts: Vec<String>,
    /// The providers the person uses most, most used first.
    preferred_providers: Vec<ID>,
}

impl From<Profile> for Personalization {
    fn from(profile: Profile) -> Self {
        Self {
            favourite_kinds: profile
                .favourite_kinds
                .into_iter()
                .map(|kind: GenerationKind| kind.into())
                .collect(),
            suggested_prompts: profile.suggested_prompts,
            preferred_providers: profile
                .preferred_providers
                .iter()
                .map(|id| ID(id.to_string()))
                .collect(),
        }
    }
}
