//! Mail campaigns and the suppression list: `sendProductNews` and
//! `sendServiceAnnouncement` (ADMIN, fresh second factor, audited), `mailSuppressions`
//! (SUPPORT and above, audited read) and `liftMailSuppression` (ADMIN, fresh second
//! factor, audited).

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_core::campaign::{CampaignKind, Subject, Text};
use icecone_core::identity::roles::RoleRule;
use icecone_store::campaigns::SuppressionRecord;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::arguments;
use crate::graphql::auth::login_context;
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::{essential, not_personal};
use crate::graphql::consent::PurposeValue;
use crate::graphql::error::ApiError;
use icecone_app::campaigns::{self, Campaign};

/// `sendProductNews`, `sendServiceAnnouncement`: ADMIN, a second factor in the last five
/// minutes.
const SEND_CAMPAIGN: StaffField = StaffField::fresh(RoleRule::Admin);
/// `mailSuppressions`: SUPPORT, DPO or ADMIN, a second factor in the session.
const READ_SUPPRESSIONS: StaffField = StaffField::new(RoleRule::SupportOrAbove);
/// `liftMailSuppression`: ADMIN, a second factor in the last five minutes.
const LIFT_SUPPRESSION: StaffField = StaffField::fresh(RoleRule::Admin);

/// What a campaign is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "MailCampaignKind",
    remote = "icecone_core::campaign::CampaignKind"
)]
pub(crate) enum MailCampaignKindValue {
    /// News about IceCone's products: marketing, only to verified accounts whose
    /// `MARKETING` consent counts, with a one-click unsubscribe.
    ProductNews,
    /// An essential notice about the service: to every verified account whose processing
    /// is not restricted, under the contract, without an unsubscribe.
    ServiceAnnouncement,
}

/// A campaign as sent.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct MailCampaign {
    /// Its id: the same kind, subject and text are the same campaign.
    id: ID,
    /// What it is.
    kind: MailCampaignKindValue,
    /// Its subject line.
    subject: String,
    /// How many accounts a message of it is queued for or was sent to (each once).
    queued_for: u32,
    /// When it was first sent.
    created_at: DateTime<Utc>,
}

impl From<Campaign> for MailCampaign {
    fn from(campaign: Campaign) -> Self {
        Self {
            id: ID(campaign.id.to_string()),
            kind: campaign.kind.into(),
            subject: campaign.subject,
            queued_for: u32::try_from(campaign.queued_for).unwrap_or(u32::MAX),
            created_at: campaign.created_at,
        }
    }
}

/// An address mail servers refused for good, as staff see it: never the address.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::ServiceProvision))]
pub(crate) struct MailSuppression {
    /// The account whose mail was refused.
    account_id: ID,
    /// The mail server's reply code (5xx; `0` when the gateway itself could not write the
    /// address into a message).
    reply_code: u16,
    /// When.
    suppressed_at: DateTime<Utc>,
}

impl From<SuppressionRecord> for MailSuppression {
    fn from(record: SuppressionRecord) -> Self {
        Self {
            account_id: ID(record.account.to_string()),
            reply_code: record.reply_code,
            suppressed_at: record.suppressed_at,
        }
    }
}

fn parse(subject: &str, text: &str) -> Result<(Subject, Text), ApiError> {
    let subject = Subject::parse(subject)
        .map_err(|error| ApiError::BadUserInput(format!("subject: {error}")))?;
    let text =
        Text::parse(text).map_err(|error| ApiError::BadUserInput(format!("text: {error}")))?;
    Ok((subject, text))
}

#[derive(Debug, Default)]
pub(crate) struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// Addresses mail servers refused for good (a 5xx reply), newest first, at most 500:
    /// no mail is tried to them again. Recorded in the audit trail before it is read.
    #[graphql(
        guard = READ_SUPPRESSIONS.guard(),
        directive = requires_role::apply(READ_SUPPRESSIONS.roles()),
        directive = requires_mfa::apply(READ_SUPPRESSIONS.fresh_mfa())
    )]
    async fn mail_suppressions(&self, ctx: &Context<'_>) -> Result<Vec<MailSuppression>, ApiError> {
        let staff_member = signed_in(ctx)?.account;
        let list = campaigns::suppressions(login_context(ctx)?, staff_member).await?;
        Ok(list.into_iter().map(MailSuppression::from).collect())
    }
}

#[derive(Debug, Default)]
pub(crate) struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Sends product news (marketing): `subject` (one line, at most 200 characters) and
    /// `text` (at most 20,000 characters, paragraphs separated by blank lines) to every
    /// verified account whose `MARKETING` consent counts now — not withdrawn (also by
    /// Global Privacy Control or an unsubscribe), not objected to, processing not
    /// restricted, the address not suppressed, the account not suspended — once per
    /// account: the same subject and text sent again are the same campaign, and reach
    /// only those not reached yet. Each mail has a one-click unsubscribe (RFC 8058).
    /// Recorded in the audit trail before anything is queued.
    #[graphql(
        guard = SEND_CAMPAIGN.guard(),
        directive = requires_role::apply(SEND_CAMPAIGN.roles()),
        directive = requires_mfa::apply(SEND_CAMPAIGN.fresh_mfa())
    )]
    async fn send_product_news(
        &self,
        ctx: &Context<'_>,
        subject: String,
        text: String,
    ) -> Result<MailCampaign, ApiError> {
        send(ctx, CampaignKind::ProductNews, &subject, &text).await
    }

    /// Sends a service announcement — an essential notice about the service (terms,
    /// outages, security), never advertising — to every verified account whose processing
    /// is not restricted and whose address is not suppressed, under the contract (no
    /// consent asked, no unsubscribe; the mail says why it is sent). Once per account, as
    /// for `sendProductNews`. Recorded in the audit trail before anything is queued.
    #[graphql(
        guard = SEND_CAMPAIGN.guard(),
        directive = requires_role::apply(SEND_CAMPAIGN.roles()),
        directive = requires_mfa::apply(SEND_CAMPAIGN.fresh_mfa())
    )]
    async fn send_service_announcement(
        &self,
        ctx: &Context<'_>,
        subject: String,
        text: String,
    ) -> Result<MailCampaign, ApiError> {
        send(ctx, CampaignKind::ServiceAnnouncement, &subject, &text).await
    }

    /// Takes an account's address off the suppression list, for ADMIN, once its owner has
    /// fixed their mailbox: mail is tried to it again. Recorded in the audit trail before it
    /// happens. An unknown account is `NOT_FOUND`; an address not suppressed,
    /// `BAD_USER_INPUT`.
    #[graphql(
        guard = LIFT_SUPPRESSION.guard(),
        directive = requires_role::apply(LIFT_SUPPRESSION.roles()),
        directive = requires_mfa::apply(LIFT_SUPPRESSION.fresh_mfa()),
        directive = essential::apply(PurposeValue::ServiceProvision)
    )]
    async fn lift_mail_suppression(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
    ) -> Result<bool, ApiError> {
        let account = arguments::account_id(&account_id, "accountId")?;
        let admin = signed_in(ctx)?.account;
        campaigns::lift_suppression(login_context(ctx)?, admin, account).await?;
        Ok(true)
    }
}

async fn send(
    ctx: &Context<'_>,
    kind: CampaignKind,
    subject: &str,
    text: &str,
) -> Result<MailCampaign, ApiError> {
    let (subject, text) = parse(subject, text)?;
    let admin = signed_in(ctx)?.account;
    let policy = services(ctx)?.policy;
    let campaign =
        campaigns::send(login_context(ctx)?, admin, kind, &subject, &text, policy).await?;
    Ok(campaign.into())
}
