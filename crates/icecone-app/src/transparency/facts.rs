//! [`Facts`]: everything the privacy page states, as one typed value serialised as
//! `privacy.json` (`docs/schemas/privacy-v1.schema.json`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::consent::{LegalBasis, Purpose};
use icecone_core::crypto::aead::Algorithm;
use icecone_core::disclosure::report::{self, ReportRow};
use icecone_core::provider::ModelRoute;
use icecone_core::provider::agreement::Clause;
use icecone_core::provider::policy::{
    ClaimName, EffectivePolicy, OutputRetention, Processors, Region, Retention, TrainingUse,
    ZdrArrangement,
};
use icecone_core::rights::{DUE_MONTHS, DataRequestKind, MAX_EXTENSION_MONTHS};
use icecone_core::subprocessor::{Origin, Subprocessor, SubprocessorPurpose, TransferMechanism};
use icecone_store::{Store, StoreError};
use serde::Serialize;

use super::promises::{self, Promise};
use crate::providers::router::Router;
use crate::retention::schedule::{self, ScheduleEntry};
use crate::settings::RetentionConfig;
use crate::subprocessors::{self, Published, PublishedVersion, SubprocessorsError};

/// The DPO's contact as the page shows it (`ICECONE_DPO_CONTACT`): an address, a postal
/// address or a URL, one line of at most 300 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpoContact(String);

/// Why a DPO contact cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDpoContact {
    /// Blank.
    #[error("the DPO contact is blank")]
    Blank,
    /// Longer than 300 characters.
    #[error("the DPO contact is longer than 300 characters")]
    TooLong,
    /// Holds a line break or another control character.
    #[error("the DPO contact is one line without control characters")]
    ControlCharacter,
}

impl DpoContact {
    /// Parses a contact, trimmed.
    pub fn parse(text: &str) -> Result<Self, InvalidDpoContact> {
        let text = text.trim();
        if text.is_empty() {
            Err(InvalidDpoContact::Blank)
        } else if text.chars().count() > 300 {
            Err(InvalidDpoContact::TooLong)
        } else if text.chars().any(char::is_control) {
            Err(InvalidDpoContact::ControlCharacter)
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// The contact.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How clients reach the gateway, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The gateway serves HTTPS itself: TLS 1.3 only, with HSTS.
    Tls13,
    /// A TLS-terminating proxy is the only way in (`ICECONE_BEHIND_TLS_PROXY`).
    TlsProxy,
    /// Plain HTTP: a development deployment, or production on a loopback address.
    Plain {
        /// Whether this is a development deployment.
        development: bool,
    },
}

impl Transport {
    /// The transport of a deployment: its own TLS first, then a declared proxy.
    pub fn of(serves_tls: bool, behind_tls_proxy: bool, development: bool) -> Self {
        match (serves_tls, behind_tls_proxy) {
            (true, _) => Self::Tls13,
            (false, true) => Self::TlsProxy,
            (false, false) => Self::Plain { development },
        }
    }

    fn mode(self) -> &'static str {
        match self {
            Self::Tls13 => "TLS_1_3",
            Self::TlsProxy => "TLS_PROXY",
            Self::Plain { development: true } => "PLAIN_DEVELOPMENT",
            Self::Plain { development: false } => "PLAIN_LOOPBACK",
        }
    }

    fn statement(self) -> &'static str {
        match self {
            Self::Tls13 => {
                "Connections to this service use TLS 1.3 only (older versions are refused), and browsers are told to keep to HTTPS (HSTS)."
            }
            Self::TlsProxy => {
                "TLS is terminated by a proxy in front of this service, the only way in; the proxy's TLS settings are not set by this software."
            }
            Self::Plain { development: true } => {
                "This is a development deployment: it serves plain HTTP, without TLS."
            }
            Self::Plain { development: false } => {
                "This service serves plain HTTP on a loopback address only, without TLS."
            }
        }
    }
}

/// What the deployment's configuration says, for the page.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The AEAD new ciphertexts are sealed with.
    pub cipher: Algorithm,
    /// How clients reach the gateway.
    pub transport: Transport,
    /// The DPO's contact (always set in production).
    pub dpo_contact: Option<DpoContact>,
}

/// The typed sources the facts are made from: the same the promises are enforced with.
#[derive(Debug, Clone)]
pub struct Sources {
    deployment: Deployment,
    policy: PolicyHistory,
    providers: Arc<Router>,
    retention: RetentionConfig,
    store: Store,
}

/// Why the facts cannot be assembled: a stored part could not be read. The page answers
/// an internal error then, never a section left empty.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// The published subprocessors could not be read.
    #[error(transparent)]
    Subprocessors(#[from] SubprocessorsError),
    /// The transparency report could not be counted.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sources {
    /// The sources of a running gateway.
    pub fn new(
        deployment: Deployment,
        policy: PolicyHistory,
        providers: Arc<Router>,
        retention: RetentionConfig,
        store: Store,
    ) -> Self {
        Self {
            deployment,
            policy,
            providers,
            retention,
            store,
        }
    }

    /// The policy versions the gateway runs with.
    pub fn policy(&self) -> PolicyHistory {
        self.policy
    }

    /// The router whose entries are the published providers.
    pub fn providers(&self) -> &Arc<Router> {
        &self.providers
    }

    /// The facts as they are at `now`; the subprocessors and the transparency report are
    /// read from the store.
    pub async fn facts(&self, now: DateTime<Utc>) -> Result<Facts, FactsError> {
        let subprocessors =
            SubprocessorsFacts::of(subprocessors::published(&self.store, now).await?);
        let transparency_report = TransparencyReportFacts::of(
            &crate::disclosures::transparency_report(&self.store, now).await?,
        );
        let current = self.policy.current();
        Ok(Facts {
            policy: PolicyFacts {
                version: current.version,
                effective_on: current.effective_on.to_string(),
                summary: current.summary,
                history: self
                    .policy
                    .versions()
                    .iter()
                    .rev()
                    .map(|version| VersionFacts {
                        changed: version.changed,
                        version: version.version,
                        effective_on: version.effective_on.to_string(),
                        summary: version.summary,
                        changed_purposes: version.changed.iter().map(|p| p.as_str()).collect(),
                    })
                    .collect(),
            },
            purposes: Purpose::ALL
                .into_iter()
                .map(|purpose| PurposeFacts::of(purpose, self.policy))
                .collect(),
            providers: self
                .providers
                .entries()
                .iter()
                .map(|entry| {
                    ProviderFacts::of(
                        entry.adapter().id().as_str(),
                        entry.adapter().name(),
                        entry.effective(),
                        entry.models(),
                    )
                })
                .collect(),
            security: SecurityFacts::of(&self.deployment),
            minimisation: MinimisationFacts::now(),
            rights: RightsFacts::now(),
            dpo: DpoFacts {
                contact: self
                    .deployment
                    .dpo_contact
                    .as_ref()
                    .map(|contact| contact.as_str().to_owned()),
                operation: "contactPrivacyOfficer",
            },
            retention: schedule::schedule(&self.retention)
                .iter()
                .map(RetentionFacts::of)
                .collect(),
            subprocessors,
            transparency_report,
            promises: promises::matrix(),
        })
    }
}

/// Everything the privacy page states. Serialised, it is `privacy.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// The policy in force and every version before it.
    pub policy: PolicyFacts,
    /// Why data is processed, on which legal basis, and which data.
    pub purposes: Vec<PurposeFacts>,
    /// Every AI provider with the policy our requests to it are held to.
    pub providers: Vec<ProviderFacts>,
    /// The security measures as configured now.
    pub security: SecurityFacts,
    /// What is withheld from providers at the prompt.
    pub minimisation: MinimisationFacts,
    /// Each right, how to exercise it and its deadline.
    pub rights: RightsFacts,
    /// Who to ask.
    pub dpo: DpoFacts,
    /// How long each kind of personal data is kept, and why.
    pub retention: Vec<RetentionFacts>,
    /// The companies that process personal data on IceCone's behalf.
    pub subprocessors: SubprocessorsFacts,
    /// The disclosures required by law, counted per quarter and authority type.
    pub transparency_report: TransparencyReportFacts,
    /// How each line of the policy is kept.
    pub promises: &'static [Promise],
}

/// The policy in force and its history.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFacts {
    /// The version in force (`YYYY-MM-DD`).
    pub version: &'static str,
    /// When it took effect (`YYYY-MM-DD`).
    pub effective_on: String,
    /// What it changed from the version before.
    pub summary: &'static str,
    /// Every version, newest first.
    pub history: Vec<VersionFacts>,
}

/// One published version.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionFacts {
    /// The purposes it changed, typed.
    #[serde(skip)]
    pub changed: &'static [Purpose],
    /// Its name.
    pub version: &'static str,
    /// When it took effect.
    pub effective_on: String,
    /// What it changed.
    pub summary: &'static str,
    /// The purposes whose consents it made count no longer.
    pub changed_purposes: Vec<&'static str>,
}

/// One purpose of processing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurposeFacts {
    /// The purpose, typed.
    #[serde(skip)]
    pub kind: Purpose,
    /// Its name (`AI_GENERATION`).
    pub purpose: &'static str,
    /// Its legal basis (`CONTRACT`, `LEGITIMATE_INTEREST`, `CONSENT`, `LEGAL_OBLIGATION`).
    pub legal_basis: &'static str,
    /// What the policy says it is.
    pub description: &'static str,
    /// Its fideslang data use.
    pub data_use: &'static str,
    /// The fideslang data categories it uses.
    pub data_categories: &'static [&'static str],
    /// Whether it happens without consent.
    pub on_by_default: bool,
    /// Whether the person can withdraw it or object to it.
    pub withdrawable: bool,
    /// Whether it continues while processing is restricted.
    pub continues_while_restricted: bool,
    /// The version that last changed it.
    pub revised_in: &'static str,
}

impl PurposeFacts {
    fn of(purpose: Purpose, history: PolicyHistory) -> Self {
        Self {
            kind: purpose,
            purpose: purpose.as_str(),
            legal_basis: legal_basis_name(purpose.legal_basis()),
            description: purpose.description(),
            data_use: purpose.data_use(),
            data_categories: purpose.data_categories(),
            on_by_default: purpose.on_by_default(),
            withdrawable: purpose.needs_consent(),
            continues_while_restricted: purpose.survives_restriction(),
            revised_in: history
                .versions()
                .iter()
                .rev()
                .find(|version| version.changed.contains(&purpose))
                .map_or(history.current().version, |version| version.version),
        }
    }
}

/// A legal basis's API name.
pub fn legal_basis_name(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Contract => "CONTRACT",
        LegalBasis::LegitimateInterest => "LEGITIMATE_INTEREST",
        LegalBasis::Consent => "CONSENT",
        LegalBasis::LegalObligation => "LEGAL_OBLIGATION",
    }
}

/// An AI provider and the effective policy our requests to it are held to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderFacts {
    /// Its id (`local`, `openai`, ...).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it generates.
    pub capabilities: Vec<&'static str>,
    /// The fideslang data categories sent to it.
    pub data_categories: Vec<&'static str>,
    /// `NO`, `YES` or `UNKNOWN`.
    pub training_use: &'static str,
    /// How long it keeps our requests and its outputs, in words.
    pub retention: String,
    /// Whether it keeps nothing once a request is answered (contracts included).
    pub zero_data_retention: bool,
    /// Whether this deployment holds a zero-data-retention contract with it.
    pub zero_data_retention_contract: bool,
    /// This deployment's agreements with it, which can make a claim stronger than its terms.
    pub agreements: Vec<AgreementFacts>,
    /// The model used for each kind it generates, with the model's family.
    pub models: Vec<ModelFacts>,
    /// How zero data retention can be had from it, in words.
    pub zero_data_retention_arrangement: &'static str,
    /// What becomes of outputs it holds for us, in words.
    pub output_retention: String,
    /// Where it processes the data, in words.
    pub region: String,
    /// Whom it passes the data on to, in words.
    pub onward_processors: String,
    /// The source and verification date of every claim.
    pub sources: Vec<SourceFacts>,
}

/// What a claim rests on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceFacts {
    /// The claim (`trainingUse`, `retention`, ...).
    pub claim: &'static str,
    /// The page it rests on.
    pub url: &'static str,
    /// When the page was read (`YYYY-MM-DD`).
    pub checked_on: String,
    /// The sentence, verbatim, when the page could be read.
    pub quote: Option<&'static str>,
    /// The reference of this deployment's agreement that sets the claim instead of the
    /// provider's terms, where one does.
    pub agreement: Option<String>,
}

/// A deployment's agreement with a provider.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementFacts {
    /// The operator's reference.
    pub reference: String,
    /// The day it was signed (`YYYY-MM-DD`), when recorded.
    pub signed_on: Option<String>,
    /// What it grants, in words.
    pub clauses: Vec<String>,
}

/// A model a provider runs for one kind of content.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelFacts {
    /// The kind of content.
    pub kind: &'static str,
    /// The provider's id of the model.
    pub model: String,
    /// The model's family (the same models reached by another route share it).
    pub family: &'static str,
}

/// An agreement's clause in words.
pub fn describe_clause(clause: Clause) -> String {
    match clause {
        Clause::NoTraining => "our data is not used for training".to_owned(),
        Clause::ZeroDataRetention => {
            "the provider's zero-data-retention arrangement applies".to_owned()
        }
        Clause::RetentionAtMostDays(0) => "nothing is kept once a request is answered".to_owned(),
        Clause::RetentionAtMostDays(days) => format!("our data is kept at most {days} days"),
        Clause::Region(region) => format!("processing stays in the {}", region.name()),
    }
}

impl ProviderFacts {
    fn of(id: &str, name: &str, policy: &EffectivePolicy, models: &[ModelRoute]) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            capabilities: policy.capabilities.iter().map(|c| c.as_str()).collect(),
            data_categories: policy.data_categories.iter().map(|c| c.as_str()).collect(),
            training_use: match policy.training_use.value() {
                TrainingUse::No => "NO",
                TrainingUse::Yes => "YES",
                TrainingUse::Unknown => "UNKNOWN",
            },
            retention: describe_retention(policy.retention.value()),
            zero_data_retention: policy.zero_data_retention(),
            zero_data_retention_contract: policy.zero_data_retention_agreement(),
            agreements: policy
                .agreements
                .iter()
                .map(|agreement| AgreementFacts {
                    reference: agreement.reference().to_owned(),
                    signed_on: agreement.signed_on().map(|day| day.to_string()),
                    clauses: agreement
                        .clause_list()
                        .into_iter()
                        .map(describe_clause)
                        .collect(),
                })
                .collect(),
            models: models
                .iter()
                .map(|model| ModelFacts {
                    kind: model.capability.as_str(),
                    model: model.model.clone(),
                    family: model.family.as_str(),
                })
                .collect(),
            zero_data_retention_arrangement: match policy.zero_data_retention_arrangement.value() {
                ZdrArrangement::Inherent => "nothing is kept whatever is arranged",
                ZdrArrangement::PerRequest => "asked for with each request",
                ZdrArrangement::ByContract { .. } => "only by a contract with the provider",
                ZdrArrangement::Unavailable => "not offered",
                ZdrArrangement::Unknown => "unknown",
            },
            output_retention: match policy.output_retention.value() {
                OutputRetention::Inline => "outputs come in the answer: none held".to_owned(),
                OutputRetention::DeleteOnRequest => {
                    "held until we fetch them, then deleted on our request".to_owned()
                }
                OutputRetention::Expires { max_hours } => {
                    format!("held at a temporary URL for at most {max_hours} hours")
                }
                OutputRetention::Unknown => "unknown".to_owned(),
            },
            region: match policy.region.value() {
                Region::Disclosed(region) => region.to_owned(),
                Region::NotCommitted => "not committed to a region".to_owned(),
                Region::Unknown => "unknown".to_owned(),
            },
            onward_processors: match policy.onward_processors.value() {
                Processors::None => "none".to_owned(),
                Processors::Disclosed(processors) => processors
                    .iter()
                    .map(|processor| format!("{} ({})", processor.name, processor.purpose))
                    .collect::<Vec<_>>()
                    .join("; "),
                Processors::Unknown => "unknown".to_owned(),
            },
            sources: policy
                .sources()
                .into_iter()
                .map(|(claim, source)| SourceFacts {
                    claim: match claim {
                        ClaimName::TrainingUse => "trainingUse",
                        ClaimName::Retention => "retention",
                        ClaimName::ZeroDataRetention => "zeroDataRetention",
                        ClaimName::OutputRetention => "outputRetention",
                        ClaimName::Region => "region",
                        ClaimName::OnwardProcessors => "onwardProcessors",
                    },
                    url: source.url,
                    checked_on: source.checked_on.to_string(),
                    quote: source.quote,
                    agreement: policy
                        .granted_by(claim)
                        .map(|agreement| agreement.reference().to_owned()),
                })
                .collect(),
        }
    }
}

/// A provider's retention in words.
fn describe_retention(retention: Retention) -> String {
    let exceptions = |list: &[&str]| {
        if list.is_empty() {
            String::new()
        } else {
            format!("; exceptions: {}", list.join("; "))
        }
    };
    match retention {
        Retention::None { exceptions: list } => {
            format!(
                "nothing kept once a request is answered{}",
                exceptions(list)
            )
        }
        Retention::Bounded {
            max_days,
            condition,
        } => format!("at most {max_days} days: {condition}"),
        Retention::Unbounded {
            usual_days,
            condition,
            exceptions: list,
        } => format!(
            "no bound{}: {condition}{}",
            usual_days.map_or(String::new(), |days| format!(" (usually {days} days)")),
            exceptions(list)
        ),
        Retention::Unknown => "unknown: the provider's terms do not say".to_owned(),
    }
}

/// The security measures as configured now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityFacts {
    /// The cipher new data is sealed with.
    pub cipher: CipherFacts,
    /// How clients reach the service.
    pub transport: TransportFacts,
    /// The second factor of staff.
    pub staff_mfa: &'static str,
    /// The audit trail.
    pub audit_trail: &'static str,
}

/// The cipher of new ciphertexts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CipherFacts {
    /// `AES-256-GCM` or `XChaCha20-Poly1305`.
    pub algorithm: &'static str,
    /// Whether it is AES-256, as the policy says.
    pub aes256: bool,
    /// What it means, in words; says plainly when it is not AES-256.
    pub statement: String,
}

/// The transport as configured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportFacts {
    /// `TLS_1_3`, `TLS_PROXY`, `PLAIN_DEVELOPMENT` or `PLAIN_LOOPBACK`.
    pub mode: &'static str,
    /// What it means, in words.
    pub statement: &'static str,
}

impl SecurityFacts {
    fn of(deployment: &Deployment) -> Self {
        let (algorithm, aes256) = match deployment.cipher {
            Algorithm::Aes256Gcm => ("AES-256-GCM", true),
            Algorithm::XChaCha20Poly1305 => ("XChaCha20-Poly1305", false),
        };
        let statement = if aes256 {
            "New personal data is encrypted at rest with AES-256-GCM, under a key of its own person, itself wrapped by a root key. Data sealed earlier keeps the cipher it was sealed with.".to_owned()
        } else {
            format!(
                "New personal data is encrypted at rest with {algorithm}, under a key of its own person, itself wrapped by a root key. This is not AES-256: {algorithm} uses 256-bit keys too, but it is a different cipher from the AES-256 the policy names. Data sealed earlier keeps the cipher it was sealed with."
            )
        };
        Self {
            cipher: CipherFacts {
                algorithm,
                aes256,
                statement,
            },
            transport: TransportFacts {
                mode: deployment.transport.mode(),
                statement: deployment.transport.statement(),
            },
            staff_mfa: "Every staff account is created with a second factor (TOTP), and staff operations that change or reveal personal data need one performed within the last minutes.",
            audit_trail: "Staff reads and actions, sign-ins and key changes are recorded, before they happen, in a tamper-evident audit trail (each entry chained to the one before by an HMAC).",
        }
    }
}

/// Minimisation at the prompt: what the recognisers find, and what they do not.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MinimisationFacts {
    /// What happens, in words.
    pub statement: &'static str,
    /// Each recogniser: the kind of data and what it recognises.
    pub recognisers: Vec<RecogniserFacts>,
    /// What is not recognised, in words.
    pub not_recognised: &'static str,
    /// The GraphQL operation that changes the account's default.
    pub operation: &'static str,
}

/// One recogniser of minimisation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecogniserFacts {
    /// The kind of data (`EMAIL`, `PHONE`, ...), as `Generation.redactions` names it.
    pub kind: &'static str,
    /// What it recognises.
    pub description: &'static str,
}

impl MinimisationFacts {
    fn now() -> Self {
        Self {
            statement: "Before a prompt leaves IceCone for an AI provider, the personal data recognised in it is replaced by placeholders such as [EMAIL_1]; the provider sees only those. In a text answer the placeholders are replaced by your data again before it is stored and shown to you; image and video prompts are only redacted. Each generation lists what was withheld (kind and count, never the values). It is on unless you turn it off for one request (minimize: false) or for your account (setPromptMinimization).",
            recognisers: icecone_core::minimise::catalogue()
                .into_iter()
                .map(|(kind, description)| RecogniserFacts {
                    kind: kind.as_str(),
                    description,
                })
                .collect(),
            not_recognised: "Names in free text other than your own display name, and postal addresses without a recognisable structure, are not recognised: telling a name or an address from ordinary words needs guessing that would alter ordinary prompts. Phone numbers written without their country code in countries without a leading 0, and values written in words or with spaces between their characters, are not recognised either.",
            operation: "setPromptMinimization",
        }
    }
}

/// The rights and their deadline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RightsFacts {
    /// Calendar months a request has before it is due.
    pub due_months: u32,
    /// The most months one extension may add.
    pub max_extension_months: u32,
    /// The deadline, in words.
    pub deadline: String,
    /// Each right.
    pub rights: Vec<RightFacts>,
}

/// One right and how it is exercised.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RightFacts {
    /// The right, typed.
    #[serde(skip)]
    pub kind: DataRequestKind,
    /// The right (`ACCESS`, `EXPORT`, ...).
    pub right: &'static str,
    /// The article of the GDPR that grants it.
    pub article: &'static str,
    /// What the policy says it is.
    pub description: &'static str,
    /// The GraphQL operation that exercises it.
    pub operation: &'static str,
}

impl RightsFacts {
    fn now() -> Self {
        Self {
            due_months: DUE_MONTHS,
            max_extension_months: MAX_EXTENSION_MONTHS,
            deadline: format!(
                "Answered within {DUE_MONTHS} calendar month of receipt; the DPO may extend that once, by up to {MAX_EXTENSION_MONTHS} further months, only within the first month and with the reason told to you."
            ),
            rights: DataRequestKind::ALL
                .into_iter()
                .map(|right| {
                    let (description, operation) = how_to_exercise(right);
                    RightFacts {
                        kind: right,
                        right: right.as_str(),
                        article: right.article(),
                        description,
                        operation,
                    }
                })
                .collect(),
        }
    }
}

/// What the policy calls a right, and the GraphQL operation that exercises it.
fn how_to_exercise(right: DataRequestKind) -> (&'static str, &'static str) {
    match right {
        DataRequestKind::Access => (
            "Request a copy of all data we have about you",
            "requestDataExport",
        ),
        DataRequestKind::Export => (
            "Export your data in a machine-readable format",
            "requestDataExport",
        ),
        DataRequestKind::Rectification => (
            "Update or correct any inaccurate information",
            "updateProfile",
        ),
        DataRequestKind::Erasure => (
            "Request deletion of your personal data",
            "requestAccountDeletion",
        ),
        DataRequestKind::Restriction => ("Limit how we process your data", "restrictProcessing"),
        DataRequestKind::Objection => (
            "Object to processing for marketing purposes",
            "objectToProcessing",
        ),
    }
}

/// Who to ask.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DpoFacts {
    /// The DPO's contact (`ICECONE_DPO_CONTACT`); absent only in development.
    pub contact: Option<String>,
    /// The GraphQL operation that writes to the DPO.
    pub operation: &'static str,
}

/// One line of the retention schedule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionFacts {
    /// The table (a stable key for the line).
    pub table: &'static str,
    /// What it holds.
    pub what: &'static str,
    /// How long this deployment keeps it, in words.
    pub how_long: String,
    /// Why it is kept that long.
    pub why: &'static str,
}

impl RetentionFacts {
    fn of(entry: &ScheduleEntry) -> Self {
        Self {
            table: entry.table,
            what: entry.what,
            how_long: entry.how_long.clone(),
            why: entry.why,
        }
    }
}

/// The subprocessors as published: the list in effect and the changes announced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubprocessorsFacts {
    /// The published versions, typed (what `privacyPolicy { subprocessors }` reads).
    #[serde(skip)]
    pub published: Published,
    /// The list in effect (`null` only before the gateway first started).
    pub current: Option<SubprocessorListFacts>,
    /// Changes announced and not yet in effect, oldest first.
    pub upcoming: Vec<SubprocessorListFacts>,
}

/// One published version of the list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubprocessorListFacts {
    /// The version, from 1.
    pub version: u32,
    /// When it was published (RFC 3339, UTC).
    pub published_at: String,
    /// When it takes (or took) effect (RFC 3339, UTC).
    pub takes_effect_at: String,
    /// The subprocessors, by name.
    pub entries: Vec<SubprocessorFacts>,
    /// Names it added to the version before.
    pub added: Vec<String>,
    /// Names it removed.
    pub removed: Vec<String>,
    /// Names whose entry it changed.
    pub changed: Vec<String>,
}

/// A company that processes personal data on IceCone's behalf.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubprocessorFacts {
    /// Its name.
    pub name: String,
    /// What it does (`HOSTING`, `AI_GENERATION`, ...), as GraphQL names it.
    pub purpose: &'static str,
    /// The fideslang categories of personal data it receives.
    pub data_categories: Vec<&'static str>,
    /// Where it processes them.
    pub location: String,
    /// What makes the transfer there lawful (`NONE_NEEDED`, `STANDARD_CONTRACTUAL_CLAUSES`, ...).
    pub transfer_mechanism: &'static str,
    /// The data protection agreement's reference.
    pub agreement: Option<String>,
    /// Since when it processes IceCone's data (`YYYY-MM-DD`), when recorded.
    pub since: Option<String>,
    /// The AI provider's id, for an AI provider.
    pub provider: Option<String>,
}

impl SubprocessorsFacts {
    fn of(published: Published) -> Self {
        Self {
            current: published.current.as_ref().map(SubprocessorListFacts::of),
            upcoming: published
                .upcoming
                .iter()
                .map(SubprocessorListFacts::of)
                .collect(),
            published,
        }
    }
}

/// As GraphQL's `DateTime` writes it.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

impl SubprocessorListFacts {
    fn of(version: &PublishedVersion) -> Self {
        let names = |names: &[icecone_core::subprocessor::Name]| {
            names.iter().map(|name| name.as_str().to_owned()).collect()
        };
        Self {
            version: version.version,
            published_at: rfc3339(version.published_at),
            takes_effect_at: rfc3339(version.takes_effect_at),
            entries: version
                .registry
                .entries()
                .iter()
                .map(SubprocessorFacts::of)
                .collect(),
            added: names(&version.changes.added),
            removed: names(&version.changes.removed),
            changed: names(&version.changes.changed),
        }
    }
}

impl SubprocessorFacts {
    fn of(entry: &Subprocessor) -> Self {
        Self {
            name: entry.name().as_str().to_owned(),
            purpose: subprocessor_purpose_name(entry.purpose()),
            data_categories: entry.data_categories().iter().map(|c| c.as_str()).collect(),
            location: entry.location().to_string(),
            transfer_mechanism: transfer_mechanism_name(entry.transfer()),
            agreement: entry.agreement().map(|a| a.as_str().to_owned()),
            since: entry.since().map(|day| day.to_string()),
            provider: match entry.origin() {
                Origin::Operator => None,
                Origin::Adapter(id) => Some(id.to_string()),
            },
        }
    }
}

/// A subprocessor purpose's API name.
pub fn subprocessor_purpose_name(purpose: SubprocessorPurpose) -> &'static str {
    match purpose {
        SubprocessorPurpose::Hosting => "HOSTING",
        SubprocessorPurpose::Email => "EMAIL",
        SubprocessorPurpose::Payments => "PAYMENTS",
        SubprocessorPurpose::Analytics => "ANALYTICS",
        SubprocessorPurpose::Support => "SUPPORT",
        SubprocessorPurpose::Monitoring => "MONITORING",
        SubprocessorPurpose::AiGeneration => "AI_GENERATION",
    }
}

/// A transfer mechanism's API name.
pub fn transfer_mechanism_name(mechanism: TransferMechanism) -> &'static str {
    match mechanism {
        TransferMechanism::NoneNeeded => "NONE_NEEDED",
        TransferMechanism::AdequacyDecision => "ADEQUACY_DECISION",
        TransferMechanism::StandardContractualClauses => "STANDARD_CONTRACTUAL_CLAUSES",
        TransferMechanism::BindingCorporateRules => "BINDING_CORPORATE_RULES",
        TransferMechanism::NotRecorded => "NOT_RECORDED",
    }
}

/// The transparency report: approved disclosures required by law, per quarter and
/// authority type, small counts suppressed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyReportFacts {
    /// How many quarters it covers, the current one included.
    pub quarters: u32,
    /// The smallest count published as a number; smaller ones read "fewer than" it.
    pub suppressed_below: u32,
    /// Every quarter's row for every authority type, newest quarter first.
    pub rows: Vec<ReportRowFacts>,
}

/// One row of the transparency report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRowFacts {
    /// The row, typed.
    #[serde(skip)]
    pub row: ReportRow,
    /// The quarter (`2026-Q4`).
    pub quarter: String,
    /// Who asked (`COURT`, `POLICE`, `REGULATOR`, `TAX`, `OTHER`).
    pub authority: &'static str,
    /// How many were approved, as published: `12` or `fewer than 5`.
    pub count: String,
}

impl TransparencyReportFacts {
    fn of(rows: &[ReportRow]) -> Self {
        Self {
            quarters: u32::try_from(report::QUARTERS).unwrap_or(u32::MAX),
            suppressed_below: report::SUPPRESS_BELOW,
            rows: rows
                .iter()
                .map(|row| ReportRowFacts {
                    row: *row,
                    quarter: row.quarter.label(),
                    authority: row.authority.as_str(),
                    count: row.count.label(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(cipher: Algorithm, transport: Transport) -> SecurityFacts {
        SecurityFacts::of(&Deployment {
            cipher,
            transport,
            dpo_contact: None,
        })
    }

    #[test]
    fn the_page_states_the_cipher_in_use_and_says_when_it_is_not_aes_256() {
        // (configured cipher, published name, AES-256, says "not AES-256")
        let cases = [
            (Algorithm::Aes256Gcm, "AES-256-GCM", true, false),
            (
                Algorithm::XChaCha20Poly1305,
                "XChaCha20-Poly1305",
                false,
                true,
            ),
        ];
        for (cipher, name, aes256, says_not) in cases {
            let facts = security(cipher, Transport::Tls13).cipher;
            assert_eq!(facts.algorithm, name);
            assert_eq!(facts.aes256, aes256);
            assert!(facts.statement.contains(name), "{}", facts.statement);
            assert_eq!(
                facts.statement.contains("This is not AES-256"),
                says_not,
                "{}",
                facts.statement
            );
        }
    }

    #[test]
    fn the_page_states_the_transport_as_configured() {
        // (serves TLS, behind a TLS proxy, development, mode)
        let cases = [
            (true, false, false, "TLS_1_3"),
            (true, true, true, "TLS_1_3"),
            (false, true, false, "TLS_PROXY"),
            (false, false, true, "PLAIN_DEVELOPMENT"),
            (false, false, false, "PLAIN_LOOPBACK"),
        ];
        for (tls, proxy, development, mode) in cases {
            let transport = Transport::of(tls, proxy, development);
            let facts = security(Algorithm::Aes256Gcm, transport).transport;
            assert_eq!(facts.mode, mode, "{tls} {proxy} {development}");
            assert_eq!(facts.statement.contains("TLS 1.3"), mode == "TLS_1_3");
        }
    }

    #[test]
    fn a_dpo_contact_is_one_trimmed_line_of_at_most_300_characters() {
        // (input, accepted as)
        let long = "a".repeat(301);
        let cases: [(&str, Result<&str, InvalidDpoContact>); 6] = [
            (" dpo@icecone.example ", Ok("dpo@icecone.example")),
            (
                "Data Protection Officer, IceCone, 1 Main St, Berlin",
                Ok("Data Protection Officer, IceCone, 1 Main St, Berlin"),
            ),
            ("", Err(InvalidDpoContact::Blank)),
            ("   ", Err(InvalidDpoContact::Blank)),
            (
                "dpo@a.example\nBcc: x",
                Err(InvalidDpoContact::ControlCharacter),
            ),
            (&long, Err(InvalidDpoContact::TooLong)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                DpoContact::parse(input).as_ref().map(DpoContact::as_str),
                expected.as_ref().map(|s| *s),
                "{input:?}"
            );
        }
    }

    #[test]
    fn the_transparency_report_section_reads_each_row_as_published() {
        use icecone_core::disclosure::AuthorityType;
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let approvals = std::iter::repeat_n((now, AuthorityType::Police), 6)
            .chain([(now, AuthorityType::Court)]);
        let facts = TransparencyReportFacts::of(&report::transparency_report(approvals, now));
        assert_eq!(
            facts.rows.len(),
            report::QUARTERS * AuthorityType::ALL.len()
        );
        assert_eq!((facts.quarters, facts.suppressed_below), (8, 5));
        // (quarter, authority, published count)
        let cases = [
            ("2026-Q4", "COURT", "fewer than 5"),
            ("2026-Q4", "POLICE", "6"),
            ("2026-Q3", "POLICE", "fewer than 5"),
            ("2025-Q1", "TAX", "fewer than 5"),
        ];
        for (quarter, authority, count) in cases {
            let row = facts
                .rows
                .iter()
                .find(|row| row.quarter == quarter && row.authority == authority)
                .unwrap_or_else(|| panic!("no row {quarter} {authority}"));
            assert_eq!(row.count, count, "{quarter} {authority}");
        }
    }

    #[test]
    fn every_right_names_its_article_and_an_operation() {
        let rights = RightsFacts::now();
        assert_eq!(rights.rights.len(), DataRequestKind::ALL.len());
        assert_eq!((rights.due_months, rights.max_extension_months), (1, 2));
        assert!(
            rights.deadline.contains("1 calendar month"),
            "{}",
            rights.deadline
        );
        for right in &rights.rights {
            assert!(right.article.starts_with("Art. "));
            assert!(!right.operation.is_empty());
        }
    }
}
