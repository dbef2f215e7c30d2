//! Consent: `privacyPolicy`, `setConsent`, `objectToProcessing`, `restrictProcessing`, the
//! `Consent` type, and `@requiresConsent` — the directive and guard that gate a field on a
//! purpose for the person the field is about.
//!
//! A gated field declares one [`ConsentField`]; its guard and its directive are both made
//! from it, so the SDL shows exactly the purpose that is enforced.

use async_graphql::{Context, Enum, Guard, Object, SimpleObject, TypeDirective};
use chrono::{DateTime, Utc};
use icecone_core::consent::decision::Activity;
use icecone_core::consent::ledger::{Change, ConsentSource, ConsentState};
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::consent::{LegalBasis, Purpose};
use icecone_core::rights::DataRequestKind;
use std::sync::Arc;
use uuid::Uuid;

use super::account::Account;
use super::caller::{services, viewer_account};
use super::classification::{essential, not_personal};
use super::error::{ApiError, internal};
use super::providers::Provider;
use super::rights::DataRequestKindValue;
use super::scalars::Date;
use crate::request::RequestId;
use icecone_app::analytics::Happened;
use icecone_app::audit::{self, AuditEvent};
use icecone_app::consent;
use icecone_app::transparency::{Facts, Sources};

/// Why personal data is processed.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Purpose", remote = "icecone_core::consent::Purpose")]
pub(crate) enum PurposeValue {
    /// Providing the service: the account, customer support (contract).
    ServiceProvision,
    /// Generating what the person asks for through AI providers (contract).
    AiGeneration,
    /// Keeping the service and its accounts secure (legitimate interest).
    Security,
    /// Improving IceCone's algorithms with the person's content (consent).
    Improvement,
    /// Personalised features from the person's own history (consent).
    Personalization,
    /// Optional marketing communications (consent).
    Marketing,
    /// Anonymised, aggregated analytics (consent).
    Analytics,
    /// Complying with the law, protecting against fraud or abuse (legal obligation).
    LegalCompliance,
}

/// Why processing for a purpose is lawful (GDPR Art. 6(1)).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "LegalBasis", remote = "icecone_core::consent::LegalBasis")]
pub(crate) enum LegalBasisValue {
    /// Necessary for the contract with the person.
    Contract,
    /// IceCone's legitimate interest, balanced against the person's.
    LegitimateInterest,
    /// The person's consent: off until given, withdrawable at any time.
    Consent,
    /// A legal obligation.
    LegalObligation,
}

/// Who recorded a consent.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "ConsentSource",
    remote = "icecone_core::consent::ledger::ConsentSource"
)]
pub(crate) enum ConsentSourceValue {
    /// Nobody: the purpose's default.
    Default,
    /// The person, when signing up.
    SignUp,
    /// The person.
    User,
    /// The person's browser, by Global Privacy Control (`Sec-GPC: 1`).
    Gpc,
    /// IceCone's staff, on the person's documented request.
    Staff,
    /// The person, by the one-click unsubscribe link of a marketing mail (withdraws
    /// `MARKETING` only).
    Unsubscribe,
}

/// This field processes the data of the person it is about for `purpose`, which rests on
/// their consent: without a consent that counts it is `null` with `CONSENT_REQUIRED` (and
/// `extensions.purpose`); while processing is restricted, `PROCESSING_RESTRICTED`. On a type:
/// the type is reached only through fields gated on the same purpose.
#[TypeDirective(
    location = "FieldDefinition",
    location = "Object",
    name = "requiresConsent"
)]
pub(crate) fn requires_consent(purpose: PurposeValue) {}

/// The one declaration of the purpose a gated field processes data for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsentField(pub(crate) Purpose);

impl ConsentField {
    /// The `purpose` argument of `@requiresConsent`.
    pub(crate) fn purpose(self) -> PurposeValue {
        self.0.into()
    }

    /// The guard that enforces it for `subject`, the account the field is about.
    pub(crate) fn guard(self, subject: Uuid) -> ConsentGuard {
        ConsentGuard {
            purpose: self.0,
            subject,
        }
    }
}

/// Enforces a purpose's consent for one person before the field resolves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsentGuard {
    purpose: Purpose,
    subject: Uuid,
}

impl Guard for ConsentGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        require(ctx, self.subject, Activity::Process(self.purpose))
            .await
            .map_err(Into::into)
    }
}

/// Refuses `activity` for `subject` unless the consent decision allows it.
pub(crate) async fn require(
    ctx: &Context<'_>,
    subject: Uuid,
    activity: Activity,
) -> Result<(), ApiError> {
    let services = services(ctx)?;
    consent::check(&services.store, subject, activity, services.policy)
        .await
        .map_err(internal)?
        .map_err(ApiError::from)
}

/// Where the person stands on one purpose.
#[derive(SimpleObject)]
#[graphql(directive = essential::apply(PurposeValue::LegalCompliance))]
pub(crate) struct Consent {
    /// The purpose.
    purpose: PurposeValue,
    /// Whether processing for the purpose may happen now, as far as consent goes: always
    /// for purposes that do not rest on consent; for the others, only with a consent given
    /// under a policy version that still counts for it.
    granted: bool,
    /// The legal basis of the purpose.
    legal_basis: LegalBasisValue,
    /// Whether the person can withdraw it (`setConsent`) or object to it.
    withdrawable: bool,
    /// Who recorded the current state.
    source: ConsentSourceValue,
    /// The policy version it was recorded under (`null` for the default).
    policy_version: Option<String>,
    /// Whether the person objected to the purpose and has not consented since.
    objected: bool,
    /// When it was recorded (the account's creation for the default).
    updated_at: DateTime<Utc>,
}

impl Consent {
    pub(crate) fn of(
        state: &ConsentState,
        purpose: Purpose,
        created: DateTime<Utc>,
        history: PolicyHistory,
    ) -> Self {
        let own = state.purpose(purpose);
        Self {
            purpose: purpose.into(),
            granted: state.allows(purpose, history.versions()),
            legal_basis: purpose.legal_basis().into(),
            withdrawable: purpose.needs_consent(),
            source: own.source.into(),
            policy_version: own.policy_version.clone(),
            objected: own.objected,
            updated_at: own.updated_at.unwrap_or(created),
        }
    }
}

/// Every purpose's consent for a person, in the order of the `Purpose` enum.
pub(crate) async fn consents_of(
    ctx: &Context<'_>,
    account: Uuid,
    created: DateTime<Utc>,
) -> Result<Vec<Consent>, ApiError> {
    let services = services(ctx)?;
    let state = consent::state(&services.store, account)
        .await
        .map_err(internal)?;
    Ok(Purpose::ALL
        .into_iter()
        .map(|purpose| Consent::of(&state, purpose, created, services.policy))
        .collect())
}

/// The consents a person must give again under the policy version in force, in the order
/// of the `Purpose` enum.
pub(crate) async fn consents_to_renew(
    ctx: &Context<'_>,
    account: Uuid,
) -> Result<Vec<PurposeValue>, ApiError> {
    let services = services(ctx)?;
    let purposes = consent::to_renew(&services.store, account, services.policy)
        .await
        .map_err(internal)?;
    Ok(purposes.into_iter().map(PurposeValue::from).collect())
}

/// A purpose as the privacy policy describes it.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PolicyPurpose {
    /// The purpose.
    purpose: PurposeValue,
    /// Its legal basis.
    legal_basis: LegalBasisValue,
    /// What the policy says it is.
    description: &'static str,
    /// Its data use in the fideslang taxonomy (`essential.service`, `personalize`, ...).
    data_use: &'static str,
    /// The categories of personal data it uses, in the fideslang taxonomy
    /// (`user.contact.email`, `user.content.private`, ...).
    data_categories: Vec<&'static str>,
    /// Whether it happens without the person's consent; consent-based purposes are off
    /// until given.
    on_by_default: bool,
    /// Whether the person can withdraw it or object to it.
    withdrawable: bool,
    /// Whether it continues while the person restricts processing (GDPR Art. 18).
    continues_while_restricted: bool,
    /// The policy version that last changed it: consents given under older versions no
    /// longer count.
    revised_in: &'static str,
}

/// A published version of the privacy policy.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PolicyVersion {
    /// The version (`YYYY-MM-DD`).
    version: &'static str,
    /// When it took effect.
    effective_on: Date,
    /// What it changed from the version before.
    summary: &'static str,
    /// The purposes it changed: consents to them given before it no longer count.
    changed_purposes: Vec<PurposeValue>,
}

/// The cipher new personal data is sealed with.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct CipherMeasure {
    /// `AES-256-GCM` or `XChaCha20-Poly1305`.
    algorithm: &'static str,
    /// Whether it is AES-256, as the policy says.
    aes256: bool,
    /// What it means; says plainly when it is not AES-256.
    statement: String,
}

/// How clients reach the service, as configured.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct TransportMeasure {
    /// `TLS_1_3` (the gateway serves TLS 1.3 only), `TLS_PROXY` (a TLS-terminating proxy is
    /// the only way in), `PLAIN_DEVELOPMENT` or `PLAIN_LOOPBACK`.
    mode: &'static str,
    /// What it means.
    statement: &'static str,
}

/// The security measures as configured now.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct SecurityMeasures {
    /// Encryption at rest of new data.
    cipher: CipherMeasure,
    /// Encryption in transit.
    transport: TransportMeasure,
    /// Staff's second factor.
    staff_mfa: &'static str,
    /// The audit trail.
    audit_trail: &'static str,
}

/// A right of the person and how to exercise it.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PolicyRight {
    /// The right.
    right: DataRequestKindValue,
    /// The article of the GDPR that grants it.
    article: &'static str,
    /// What the policy says it is.
    description: &'static str,
    /// The GraphQL operation that exercises it.
    operation: &'static str,
}

/// The rights and their deadline.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PolicyRights {
    /// The deadline, in words.
    deadline: String,
    /// Calendar months a request has before it is due.
    due_months: u32,
    /// The most months one extension may add.
    max_extension_months: u32,
    /// Each right.
    rights: Vec<PolicyRight>,
}

/// How far the code makes a line of the policy true.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "PromiseStatus",
    remote = "icecone_app::transparency::promises::PromiseStatus"
)]
pub(crate) enum PromiseStatusValue {
    /// The whole line is true of this code.
    Enforced,
    /// The part the mechanism names is enforced.
    Partly,
    /// People and contracts make it true; the evidence the software gives is stated.
    Organisational,
    /// Not yet true; what is missing is stated, with the issue that will make it true.
    NotYet,
}

/// One line of the policy and how it is kept.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct PolicyPromise {
    /// The policy line as quoted (markdown), with the aspect in parentheses.
    line: &'static str,
    /// The full lines of the policy it is about.
    covers: Vec<&'static str>,
    /// How far it is true.
    status: PromiseStatusValue,
    /// The mechanism, the evidence or what is missing, by status (markdown).
    text: &'static str,
    /// The open issue that will make it true.
    issue: Option<u32>,
    /// The tests that prove it.
    tests: Vec<&'static str>,
}

/// One line of the retention schedule.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct RetentionEntry {
    /// The table (a stable key for the line).
    table: &'static str,
    /// What it holds.
    what: &'static str,
    /// How long this deployment keeps it, in words.
    how_long: String,
    /// Why it is kept that long.
    why: &'static str,
}

/// The transparency report of disclosures required by law.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct TransparencyReport {
    /// How many quarters it covers, the current one included.
    quarters: u32,
    /// The smallest count published as a number; smaller ones read "fewer than" it.
    suppressed_below: u32,
    /// Every quarter's row for every authority type, newest quarter first.
    rows: Vec<TransparencyReportRow>,
}

/// How many disclosures one type of authority obtained in one quarter.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct TransparencyReportRow {
    /// The quarter (`2026-Q4`).
    quarter: String,
    /// Who asked.
    authority_type: super::disclosures::AuthorityTypeValue,
    /// How many were approved, as published: `12` or `fewer than 5`.
    count: String,
}

/// The privacy policy in force: the same facts as `GET /privacy` and `GET /privacy.json`.
pub(crate) struct PrivacyPolicy(Arc<Sources>, Facts);

#[Object(directive = not_personal::apply())]
impl PrivacyPolicy {
    /// The version (`YYYY-MM-DD`): what `signUp(acceptedPolicyVersion)` must name and what
    /// every consent records.
    async fn version(&self) -> &'static str {
        self.1.policy.version
    }

    /// When it took effect.
    async fn effective_on(&self) -> Date {
        Date(self.0.policy().current().effective_on)
    }

    /// What this version changed from the one before (the first version says it is the
    /// first). Every account is told of it once, by e-mail.
    async fn summary(&self) -> &'static str {
        self.1.policy.summary
    }

    /// Every version published, newest first, with what it changed.
    async fn history(&self) -> Vec<PolicyVersion> {
        self.0
            .policy()
            .versions()
            .iter()
            .rev()
            .zip(&self.1.policy.history)
            .map(|(published, version)| PolicyVersion {
                version: version.version,
                effective_on: Date(published.effective_on),
                summary: version.summary,
                changed_purposes: version.changed.iter().map(|&p| p.into()).collect(),
            })
            .collect()
    }

    /// The companies that process personal data on IceCone's behalf: the list in effect
    /// and the changes announced, each told to every account before it takes effect.
    async fn subprocessors(&self) -> super::subprocessors::Subprocessors {
        super::subprocessors::Subprocessors(self.1.subprocessors.published.clone())
    }

    /// How long each kind of personal data is kept and why, with this deployment's
    /// periods: one entry per table of personal data.
    async fn retention(&self) -> Vec<RetentionEntry> {
        self.1
            .retention
            .iter()
            .map(|entry| RetentionEntry {
                table: entry.table,
                what: entry.what,
                how_long: entry.how_long.clone(),
                why: entry.why,
            })
            .collect()
    }

    /// The disclosures required by law that were approved, per quarter and type of
    /// authority, over the last quarters; small counts are published as "fewer than".
    async fn transparency_report(&self) -> TransparencyReport {
        let report = &self.1.transparency_report;
        TransparencyReport {
            quarters: report.quarters,
            suppressed_below: report.suppressed_below,
            rows: report
                .rows
                .iter()
                .map(|row| TransparencyReportRow {
                    quarter: row.quarter.clone(),
                    authority_type: row.row.authority.into(),
                    count: row.count.clone(),
                })
                .collect(),
        }
    }

    /// Every purpose of processing, with its legal basis and the data it uses.
    async fn purposes(&self) -> Vec<PolicyPurpose> {
        self.1
            .purposes
            .iter()
            .map(|purpose| PolicyPurpose {
                purpose: purpose.kind.into(),
                legal_basis: purpose.kind.legal_basis().into(),
                description: purpose.description,
                data_use: purpose.data_use,
                data_categories: purpose.data_categories.to_vec(),
                on_by_default: purpose.on_by_default,
                withdrawable: purpose.withdrawable,
                continues_while_restricted: purpose.continues_while_restricted,
                revised_in: purpose.revised_in,
            })
            .collect()
    }

    /// Every AI provider with the effective policy our requests to it are held to (the
    /// same list as `providers`).
    async fn providers(&self) -> Vec<Provider> {
        self.0
            .providers()
            .entries()
            .iter()
            .cloned()
            .map(Provider::new)
            .collect()
    }

    /// The security measures as configured now.
    async fn security(&self) -> SecurityMeasures {
        let security = &self.1.security;
        SecurityMeasures {
            cipher: CipherMeasure {
                algorithm: security.cipher.algorithm,
                aes256: security.cipher.aes256,
                statement: security.cipher.statement.clone(),
            },
            transport: TransportMeasure {
                mode: security.transport.mode,
                statement: security.transport.statement,
            },
            staff_mfa: security.staff_mfa,
            audit_trail: security.audit_trail,
        }
    }

    /// Each right, how to exercise it and its deadline.
    async fn rights(&self) -> PolicyRights {
        let rights = &self.1.rights;
        PolicyRights {
            deadline: rights.deadline.clone(),
            due_months: rights.due_months,
            max_extension_months: rights.max_extension_months,
            rights: rights
                .rights
                .iter()
                .map(|right| PolicyRight {
                    right: right.kind.into(),
                    article: right.article,
                    description: right.description,
                    operation: right.operation,
                })
                .collect(),
        }
    }

    /// The Data Protection Officer's contact (`null` only in development).
    async fn dpo_contact(&self) -> Option<&str> {
        self.1.dpo.contact.as_deref()
    }

    /// How each line of the policy is kept: its status, the mechanism (or the evidence, or
    /// what is missing) and the tests that prove it.
    async fn promises(&self) -> Vec<PolicyPromise> {
        self.1
            .promises
            .iter()
            .map(|promise| PolicyPromise {
                line: &promise.line,
                covers: promise.covers.iter().map(String::as_str).collect(),
                status: promise.status.into(),
                text: &promise.text,
                issue: promise.issue,
                tests: promise.tests.iter().map(String::as_str).collect(),
            })
            .collect()
    }
}

#[derive(Debug, Default)]
pub(crate) struct ConsentQuery;

#[Object]
impl ConsentQuery {
    /// The privacy policy in force: its version, purposes, providers, security measures,
    /// rights, DPO contact, history and how each promise is kept — the facts of `GET
    /// /privacy`. Public.
    async fn privacy_policy(&self, ctx: &Context<'_>) -> Result<PrivacyPolicy, ApiError> {
        let sources = services(ctx)?.transparency.clone();
        let facts = sources.facts(Utc::now()).await.map_err(internal)?;
        Ok(PrivacyPolicy(sources, facts))
    }
}

#[derive(Debug, Default)]
pub(crate) struct ConsentMutation;

fn withdrawable(purpose: Purpose) -> Result<(), ApiError> {
    if purpose.needs_consent() {
        Ok(())
    } else {
        Err(ApiError::BadUserInput(format!(
            "{purpose} does not rest on consent ({}): it cannot be given, withdrawn or objected to",
            match purpose.legal_basis() {
                LegalBasis::Contract => "it is needed to provide the service",
                LegalBasis::LegitimateInterest => "it protects the service and its users",
                LegalBasis::LegalObligation => "the law requires it",
                LegalBasis::Consent => "it rests on consent",
            }
        )))
    }
}

/// Appends one change to the viewer's ledger, records it in the audit trail, and answers
/// the new state.
async fn change_own(
    ctx: &Context<'_>,
    change: Change,
    action: &str,
) -> Result<(Account, ConsentState), ApiError> {
    let (viewer, record) = viewer_account(ctx).await?;
    let services = services(ctx)?;
    let entry = consent::entry_now(change, ConsentSource::User, services.policy);
    let state = consent::record(&services.store, record.id, &[entry])
        .await
        .map_err(internal)?;
    // Analytics stops at once: the person's raw events of the day go with the consent.
    services
        .analytics
        .after_consent_change(record.id, &state)
        .await
        .map_err(internal)?;
    let actor = format!("account:{}", record.id);
    audit::record(
        &services.store,
        &services.vault,
        AuditEvent {
            actor: &actor,
            action,
            target: Some(&actor),
            reason: None,
            request_id: ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
        },
    )
    .await
    .map_err(internal)?;
    Ok((Account::new(record, viewer.session), (*state).clone()))
}

#[Object]
impl ConsentMutation {
    /// Gives (`true`) or withdraws (`false`) consent to a purpose that rests on consent;
    /// other purposes are `BAD_USER_INPUT`. Recorded in the ledger (source `USER`, the
    /// current policy version) and in the audit trail. Withdrawing takes effect at once.
    async fn set_consent(
        &self,
        ctx: &Context<'_>,
        purpose: PurposeValue,
        granted: bool,
    ) -> Result<Consent, ApiError> {
        let purpose = Purpose::from(purpose);
        withdrawable(purpose)?;
        let (account, state) = change_own(
            ctx,
            Change::Consent { purpose, granted },
            if granted {
                "consent.given"
            } else {
                "consent.withdrawn"
            },
        )
        .await?;
        Ok(Consent::of(
            &state,
            purpose,
            account.created_at(),
            services(ctx)?.policy,
        ))
    }

    /// Objects to processing for a purpose (GDPR Art. 21): it stops at once, and only a
    /// consent the person gives again themselves lifts the objection. Objection to
    /// `MARKETING` is unconditional. Tracked as a completed `OBJECTION` data request.
    async fn object_to_processing(
        &self,
        ctx: &Context<'_>,
        purpose: PurposeValue,
    ) -> Result<Consent, ApiError> {
        let purpose = Purpose::from(purpose);
        withdrawable(purpose)?;
        let (account, state) =
            change_own(ctx, Change::Objection { purpose }, "consent.objection").await?;
        record_request(ctx, &account, DataRequestKind::Objection, purpose.as_str()).await?;
        Ok(Consent::of(
            &state,
            purpose,
            account.created_at(),
            services(ctx)?.policy,
        ))
    }

    /// Restricts processing of the viewer's data (GDPR Art. 18), or lifts the restriction.
    /// While restricted, only storage, the person's own access, export and correction, and
    /// the purposes that continue while restricted (`SECURITY`, `LEGAL_COMPLIANCE`) run;
    /// everything else answers `PROCESSING_RESTRICTED`. Tracked as a completed
    /// `RESTRICTION` data request.
    async fn restrict_processing(
        &self,
        ctx: &Context<'_>,
        restricted: bool,
    ) -> Result<Account, ApiError> {
        let (account, _) = change_own(
            ctx,
            Change::Restriction { restricted },
            if restricted {
                "processing.restricted"
            } else {
                "processing.restriction_lifted"
            },
        )
        .await?;
        record_request(
            ctx,
            &account,
            DataRequestKind::Restriction,
            if restricted {
                "restricted"
            } else {
                "restriction_lifted"
            },
        )
        .await?;
        Ok(account)
    }
}

/// Records a right that took effect at once as a completed data request, so that it is
/// tracked with the others (`me { dataRequests }`, DPO's `dataRequests`).
async fn record_request(
    ctx: &Context<'_>,
    account: &Account,
    kind: DataRequestKind,
    note_code: &str,
) -> Result<(), ApiError> {
    let services = services(ctx)?;
    icecone_app::rights::record_immediate(&services.store, account.account_id(), kind, note_code)
        .await?;
    services
        .analytics
        .capture(account.account_id(), &Happened::RightExercised(kind))
        .await;
    Ok(())
}
