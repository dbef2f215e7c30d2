//! The one place where errors become GraphQL errors.
//!
//! Resolvers return [`ApiError`]; it turns into an `async_graphql::Error` carrying the
//! `extensions.code` of the API sketch. [`ApiError`] deliberately does not implement
//! `Display`, so no other conversion (such as async-graphql's blanket one for displayable
//! errors, which would put an internal message in front of the client) can be used by
//! accident. Errors raised by async-graphql itself (syntax, validation, variable coercion)
//! get their code from [`finish_response`], which the executor applies to every answer.

use async_graphql::{ErrorExtensionValues, Response, Value};
use icecone_core::consent::decision::Denial;
use icecone_core::identity::staff_access::StaffDenial;
use icecone_core::partner::PartnerDenial;
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::ProviderError;
use icecone_core::provider::routing::Missing;

use icecone_app::analytics::QueryError as AnalyticsQueryError;
use icecone_app::analytics::ratings::RateError;
use icecone_app::auth::login::LogInError;
use icecone_app::auth::mfa::MfaError;
use icecone_app::auth::profile::ProfileError;
use icecone_app::auth::sign_up::SignUpError;
use icecone_app::auth::staff::StaffError;
use icecone_app::billing::BillingError;
use icecone_app::campaigns::{CampaignError, SuppressionError};
use icecone_app::disclosures::DisclosureError;
use icecone_app::erasure::ErasureError;
use icecone_app::generation::GenerateError;
use icecone_app::partners::PartnerError;
use icecone_app::providers::credentials::CredentialError;
use icecone_app::providers::router::{Refusal, RouteError};
use icecone_app::rights::RightsError;
use icecone_app::rights::tickets::TicketError;

/// Every error code the gateway answers, the one list: the `extensions.code` of GraphQL
/// errors (over HTTP and WebSocket) and the `error.code` of the other routes' JSON errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No or invalid credentials.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// A second factor is needed.
    MfaRequired,
    /// A recent second factor is needed.
    ReauthenticationRequired,
    /// The data subject has not consented to the purpose (`extensions.purpose`).
    ConsentRequired,
    /// The data subject has restricted processing.
    ProcessingRestricted,
    /// The request's input is invalid.
    BadUserInput,
    /// No such object, or not visible to the caller.
    NotFound,
    /// Too many requests (`extensions.retryAfterSeconds`).
    RateLimited,
    /// No provider satisfies the privacy constraints.
    NoCompliantProvider,
    /// The provider could not be reached.
    ProviderUnavailable,
    /// The caller's quota is used up.
    QuotaExceeded,
    /// The query exceeds a depth, complexity, alias, root-field, batch or token limit.
    QueryTooComplex,
    /// The operation is not possible in the current state (an export while an erasure is
    /// pending, a second extension of a data request, a request changed meanwhile).
    FailedPrecondition,
    /// Something failed inside the gateway; the message says nothing more.
    InternalServerError,
    /// Only a registered (trusted) document may run for this caller.
    TrustedDocumentRequired,
    /// `extensions.persistedQuery` names a hash that is not registered (Apollo's APQ code).
    PersistedQueryNotFound,
    /// `GET /exports/{token}`: the download link was used already.
    ExportLinkUsed,
    /// `GET /exports/{token}`: the download link has expired.
    ExportLinkExpired,
    /// Billing is off on this deployment, or Stripe cannot be reached now.
    BillingUnavailable,
}

impl ErrorCode {
    /// Every code, in the order declared.
    pub const ALL: [Self; 19] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::MfaRequired,
        Self::ReauthenticationRequired,
        Self::ConsentRequired,
        Self::ProcessingRestricted,
        Self::BadUserInput,
        Self::NotFound,
        Self::RateLimited,
        Self::NoCompliantProvider,
        Self::ProviderUnavailable,
        Self::QuotaExceeded,
        Self::QueryTooComplex,
        Self::FailedPrecondition,
        Self::InternalServerError,
        Self::TrustedDocumentRequired,
        Self::PersistedQueryNotFound,
        Self::ExportLinkUsed,
        Self::ExportLinkExpired,
    ];

    /// The code whose wire value is `value`, if any.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == value)
    }

    /// The code of a finished answer's first error ([`finish_response`] gave every error
    /// one); `None` for an answer without errors. A code outside the list, which no
    /// resolver can produce, counts as an internal error.
    pub fn of_response(response: &Response) -> Option<Self> {
        let error = response.errors.first()?;
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"));
        Some(match code {
            Some(Value::String(code)) => Self::parse(code).unwrap_or(Self::InternalServerError),
            _ => Self::InternalServerError,
        })
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::MfaRequired => "MFA_REQUIRED",
            Self::ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
            Self::ConsentRequired => "CONSENT_REQUIRED",
            Self::ProcessingRestricted => "PROCESSING_RESTRICTED",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::RateLimited => "RATE_LIMITED",
            Self::NoCompliantProvider => "NO_COMPLIANT_PROVIDER",
            Self::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::TrustedDocumentRequired => "TRUSTED_DOCUMENT_REQUIRED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::ExportLinkUsed => "EXPORT_LINK_USED",
            Self::ExportLinkExpired => "EXPORT_LINK_EXPIRED",
            Self::BillingUnavailable => "BILLING_UNAVAILABLE",
        }
    }
}

/// The message every internal error shows: nothing about the cause.
pub const INTERNAL_MESSAGE: &str = "internal server error";

/// An error a resolver returns.
#[derive(Debug)]
pub enum ApiError {
    /// The field needs a signed-in account, or the credentials given are wrong.
    Unauthenticated(&'static str),
    /// Signed in, but not allowed.
    Forbidden(&'static str),
    /// The field needs a second factor performed in this session (staff fields).
    MfaRequired,
    /// The action needs a second factor performed within the last five minutes.
    ReauthenticationRequired,
    /// Too many attempts: retry after this many seconds.
    RateLimited {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// The input is invalid; the message says how, without echoing personal data.
    BadUserInput(String),
    /// A limit on the query was exceeded.
    QueryTooComplex(String),
    /// No such object.
    NotFound,
    /// The person the field is about has not consented to the purpose
    /// (`extensions.purpose`).
    ConsentRequired(icecone_core::consent::Purpose),
    /// The person the field is about has restricted processing of their data.
    ProcessingRestricted,
    /// No provider may take the request under the deployment's promises, or the one named
    /// may not: each refused provider with what it lacks (`extensions.refused`).
    NoCompliantProvider(Vec<RefusedProvider>),
    /// No eligible provider answered.
    ProviderUnavailable,
    /// The caller's quota of a resource for this period is used up.
    QuotaExceeded(icecone_core::usage::Resource),
    /// Not possible in the current state; the message says why, without personal data.
    FailedPrecondition(String),
    /// Only a registered (trusted) document may run for this caller.
    TrustedDocumentRequired,
    /// The persisted document named by its hash is not registered.
    PersistedQueryNotFound,
    /// Billing is off, or Stripe cannot be reached now; the message says which.
    BillingUnavailable(&'static str),
    /// An unexpected failure: logged with its cause chain, shown as [`INTERNAL_MESSAGE`].
    Internal(anyhow::Error),
}

/// A provider a request could not go to and what it lacks: public facts, the same that
/// `providers` publishes, so the answer tells a client (and the operator) what would make
/// the provider eligible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedProvider {
    /// The provider's id.
    pub provider: String,
    /// What it lacks: core's [`Missing`], or no credentials here (`None`).
    pub missing: Option<Missing>,
}

impl RefusedProvider {
    fn of(provider: &ProviderId, refusal: Refusal) -> Self {
        Self {
            provider: provider.to_string(),
            missing: match refusal {
                Refusal::Ineligible(_, missing) => Some(missing),
                Refusal::NotAvailable => None,
            },
        }
    }

    /// The wire value of `extensions.refused[].missing`: `CAPABILITY` (it does not generate
    /// this kind), `NO_TRAINING` (terms or an agreement excluding training on our data),
    /// `RETENTION_BOUND` (terms or an agreement keeping our data at most `atMostDays` days)
    /// or `NOT_CONFIGURED` (no credentials here).
    fn code(&self) -> &'static str {
        match self.missing {
            Some(Missing::Capability(_)) => "CAPABILITY",
            Some(Missing::NoTraining) => "NO_TRAINING",
            Some(Missing::RetentionBound { .. }) => "RETENTION_BOUND",
            None => "NOT_CONFIGURED",
        }
    }

    /// For `RETENTION_BOUND`: the deployment's maximum.
    fn at_most_days(&self) -> Option<u32> {
        match self.missing {
            Some(Missing::RetentionBound { at_most_days }) => Some(at_most_days),
            _ => None,
        }
    }

    /// What it lacks, in words.
    fn describe(&self) -> String {
        let provider = &self.provider;
        match self.missing {
            Some(Missing::Capability(_)) => format!("{provider} does not generate this kind"),
            Some(Missing::NoTraining) => {
                format!("{provider} needs terms or an agreement that exclude training on our data")
            }
            Some(Missing::RetentionBound { at_most_days: 0 }) => {
                format!("{provider} needs terms or an agreement under which it keeps nothing")
            }
            Some(Missing::RetentionBound { at_most_days }) => format!(
                "{provider} needs terms or an agreement that keep our data at most {at_most_days} days"
            ),
            None => format!("{provider} is not configured here"),
        }
    }
}

impl ApiError {
    /// The code this error carries.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::MfaRequired => ErrorCode::MfaRequired,
            Self::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            Self::BadUserInput(_) => ErrorCode::BadUserInput,
            Self::QueryTooComplex(_) => ErrorCode::QueryTooComplex,
            Self::NotFound => ErrorCode::NotFound,
            Self::ConsentRequired(_) => ErrorCode::ConsentRequired,
            Self::ProcessingRestricted => ErrorCode::ProcessingRestricted,
            Self::NoCompliantProvider(_) => ErrorCode::NoCompliantProvider,
            Self::ProviderUnavailable => ErrorCode::ProviderUnavailable,
            Self::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::TrustedDocumentRequired => ErrorCode::TrustedDocumentRequired,
            Self::PersistedQueryNotFound => ErrorCode::PersistedQueryNotFound,
            Self::BillingUnavailable(_) => ErrorCode::BillingUnavailable,
            Self::Internal(_) => ErrorCode::InternalServerError,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

/// An infrastructure failure (the database, the vault, the audit trail): `INTERNAL_SERVER_ERROR`,
/// its cause logged, never shown.
pub(crate) fn internal(error: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(error.into())
}

impl From<icecone_core::provider::adapter::InvalidRequest> for ApiError {
    /// The request's input is refused; the message names the rule, never the input.
    fn from(error: icecone_core::provider::adapter::InvalidRequest) -> Self {
        Self::BadUserInput(error.to_string())
    }
}

impl From<Denial> for ApiError {
    /// The consent decision's refusals: restriction, or a consent that is missing.
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Restricted => Self::ProcessingRestricted,
            Denial::ConsentRequired(purpose) => Self::ConsentRequired(purpose),
        }
    }
}

impl From<AnalyticsQueryError> for ApiError {
    /// An `analytics` query that cannot be answered as asked.
    fn from(error: AnalyticsQueryError) -> Self {
        match error {
            AnalyticsQueryError::Period | AnalyticsQueryError::Grouping(_) => {
                Self::BadUserInput(error.to_string())
            }
            AnalyticsQueryError::Internal(cause) => Self::Internal(cause.into()),
        }
    }
}

impl From<RateError> for ApiError {
    /// Why a rating was not recorded.
    fn from(error: RateError) -> Self {
        match error {
            RateError::Denied(denial) => denial.into(),
            RateError::NotFound => Self::NotFound,
            RateError::NotSucceeded => Self::BadUserInput(error.to_string()),
            RateError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<GenerateError> for ApiError {
    /// Why a generation was not made.
    fn from(error: GenerateError) -> Self {
        match error {
            GenerateError::Denied(denial) => denial.into(),
            GenerateError::QuotaExceeded(exceeded) => Self::QuotaExceeded(exceeded.resource),
            GenerateError::Route(route) => route.into(),
            GenerateError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<ErasureError> for ApiError {
    /// Erasure and legal holds: a wrong password or code asks for re-authentication, a
    /// missing code for the second factor; cancelling with no open request is
    /// `NOT_FOUND`, after the grace period `BAD_USER_INPUT`.
    fn from(error: ErasureError) -> Self {
        match error {
            ErasureError::WrongPassword | ErasureError::WrongCode => Self::ReauthenticationRequired,
            ErasureError::CodeRequired => Self::MfaRequired,
            ErasureError::NoRequest | ErasureError::NotFound => Self::NotFound,
            ErasureError::AccountGone => Self::Unauthenticated("sign in first"),
            ErasureError::TooLate => Self::BadUserInput(
                "the grace period is over: the erasure can no longer be cancelled".to_owned(),
            ),
            ErasureError::LogIn(error) => error.into(),
            ErasureError::Store(error) => Self::Internal(error.into()),
            ErasureError::Other(error) => Self::Internal(error),
        }
    }
}

impl From<BillingError> for ApiError {
    /// Billing: off (or Stripe unreachable now) is `BILLING_UNAVAILABLE`; buying `FREE`
    /// is `BAD_USER_INPUT`; checking out with a running subscription, or opening the portal
    /// before any checkout, `FAILED_PRECONDITION`; Stripe refusing the key or the request
    /// is the deployment's fault: internal, logged with Stripe's code only.
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::Unavailable => {
                Self::BillingUnavailable("billing is not available on this deployment")
            }
            BillingError::NotForSale => Self::BadUserInput(error_message(&error)),
            BillingError::AlreadySubscribed | BillingError::NoCustomer => {
                Self::FailedPrecondition(error_message(&error))
            }
            BillingError::Stripe(stripe) if stripe.is_transient() => {
                tracing::warn!(code = stripe.code(), "Stripe could not be reached");
                Self::BillingUnavailable(
                    "the payment provider cannot be reached now: try again later",
                )
            }
            BillingError::Stripe(stripe) => Self::Internal(anyhow::Error::new(stripe)),
            BillingError::Store(error) => Self::Internal(error.into()),
        }
    }
}

impl From<ProfileError> for ApiError {
    /// `updateProfile`: invalid input names the rule (never the value); an e-mail change
    /// without a recent log-in asks for re-authentication.
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::InvalidDisplayName | ProfileError::InvalidEmail => {
                Self::BadUserInput(error_message(&error))
            }
            ProfileError::StaleAuthentication => Self::ReauthenticationRequired,
            ProfileError::SignUp(error) => error.into(),
        }
    }
}

/// The message of a domain error whose text names a rule, never a value.
fn error_message(error: &impl std::fmt::Display) -> String {
    error.to_string()
}

impl From<RouteError> for ApiError {
    /// Routing's refusals: the provider named does not exist (`BAD_USER_INPUT`), none may
    /// take the request (`NO_COMPLIANT_PROVIDER`), none answered (`PROVIDER_UNAVAILABLE`,
    /// also when the configured model is unavailable: the deployment's fault, not the person's),
    /// or the provider refused this request itself — under its content policy or for its
    /// parameters (`BAD_USER_INPUT`). Which providers were refused and why is logged, never
    /// answered in more detail than the public `providers` list gives.
    fn from(error: RouteError) -> Self {
        match error {
            RouteError::UnknownProvider => Self::BadUserInput("no such provider".to_owned()),
            RouteError::NoCompliantProvider { requested, refused } => {
                tracing::info!(
                    requested = requested.as_ref().map(|id| id.as_str()),
                    refused = ?refused,
                    "no compliant provider"
                );
                // Unnamed, the providers that do not generate the kind at all are noise.
                let named = requested.is_some();
                Self::NoCompliantProvider(
                    refused
                        .iter()
                        .map(|(provider, refusal)| RefusedProvider::of(provider, *refusal))
                        .filter(|refused| {
                            named || !matches!(refused.missing, Some(Missing::Capability(_)))
                        })
                        .collect(),
                )
            }
            RouteError::ProviderUnavailable { last } => {
                tracing::warn!(last = ?last, "no provider answered");
                Self::ProviderUnavailable
            }
            RouteError::Refused(ProviderError::ContentPolicy) => Self::BadUserInput(
                "the provider refused the request under its content policy".to_owned(),
            ),
            RouteError::Refused(ProviderError::InvalidRequest(invalid)) => invalid.into(),
            RouteError::Refused(other) => {
                tracing::warn!(error = %other, "the provider refused the operation");
                Self::ProviderUnavailable
            }
        }
    }
}

/// The message of `UNAUTHENTICATED` for a wrong e-mail address or password: one answer for
/// both.
pub(crate) const WRONG_CREDENTIALS: &str = "the e-mail address or the password is wrong";

impl From<LogInError> for ApiError {
    /// Log-in and refresh: wrong credentials and a spent refresh token are
    /// `UNAUTHENTICATED`, throttling `RATE_LIMITED`, a suspended account `FORBIDDEN`.
    fn from(error: LogInError) -> Self {
        match error {
            LogInError::WrongCredentials => Self::Unauthenticated(WRONG_CREDENTIALS),
            LogInError::InvalidRefreshToken => {
                Self::Unauthenticated("the refresh token is not valid: sign in again")
            }
            LogInError::Throttled {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            LogInError::Suspended => Self::Forbidden("the account is suspended"),
            other @ (LogInError::Token(_)
            | LogInError::Vault(_)
            | LogInError::Store(_)
            | LogInError::Audit(_)
            | LogInError::Notify(_)
            | LogInError::Worker) => internal(other),
        }
    }
}

impl From<SignUpError> for ApiError {
    /// Sign-up and e-mail verification: a used link, a taken or verified address are
    /// `BAD_USER_INPUT` (the message names no address).
    fn from(error: SignUpError) -> Self {
        match error {
            SignUpError::Throttled {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            SignUpError::InvalidLink => Self::BadUserInput(
                "the verification link is not valid: it was used already or has expired".to_owned(),
            ),
            SignUpError::AddressTaken => Self::BadUserInput(
                "this address belongs to another account: sign in to that one instead".to_owned(),
            ),
            SignUpError::AlreadyVerified => {
                Self::BadUserInput("the e-mail address is verified already".to_owned())
            }
            SignUpError::Session(error) => error.into(),
            SignUpError::Register(error) => internal(error),
        }
    }
}

impl From<MfaError> for ApiError {
    /// The second factor: a wrong code or challenge is `UNAUTHENTICATED`; a step that needs
    /// a recent log-in or second factor asks for re-authentication.
    fn from(error: MfaError) -> Self {
        match error {
            MfaError::AlreadyActive => {
                Self::BadUserInput("a second factor is already active".to_owned())
            }
            MfaError::NotEnrolled => {
                Self::BadUserInput("no second factor is enrolled: call enrollTotp first".to_owned())
            }
            MfaError::WrongCode => Self::Unauthenticated("the code or the challenge is not valid"),
            MfaError::StaleMfa | MfaError::StaleAuthentication => Self::ReauthenticationRequired,
            MfaError::LogIn(error) => error.into(),
        }
    }
}

impl From<StaffDenial> for ApiError {
    /// Core's `staff_access` refusals, each with its own code.
    fn from(denial: StaffDenial) -> Self {
        match denial {
            StaffDenial::Unauthenticated => Self::Unauthenticated("sign in first"),
            StaffDenial::Forbidden => Self::Forbidden("this needs a staff role you do not hold"),
            StaffDenial::MfaRequired => Self::MfaRequired,
            StaffDenial::ReauthenticationRequired => Self::ReauthenticationRequired,
        }
    }
}

impl From<StaffError> for ApiError {
    /// Staff acting on accounts: an unknown account is `NOT_FOUND`; acting on one's own
    /// account, on a staff account without ADMIN, or on a staff account's plan is
    /// `FORBIDDEN`.
    fn from(error: StaffError) -> Self {
        match error {
            StaffError::NotFound | StaffError::NoSuchStaff => Self::NotFound,
            StaffError::OwnAccount => Self::Forbidden("staff cannot do this to their own account"),
            StaffError::StaffTargetNeedsAdmin => {
                Self::Forbidden("acting on a staff account needs ADMIN")
            }
            StaffError::StaffHasNoPlan => Self::Forbidden("staff accounts have no plan"),
            StaffError::LastAdmin => Self::FailedPrecondition(error_message(&error)),
            other @ (StaffError::Register(_)
            | StaffError::Mfa(_)
            | StaffError::Store(_)
            | StaffError::Audit(_)
            | StaffError::Notify(_)) => internal(other),
        }
    }
}

impl From<PartnerDenial> for ApiError {
    /// Core's `partner_access` refusals: `FORBIDDEN`, saying which of key and grant lacks
    /// the scope.
    fn from(denial: PartnerDenial) -> Self {
        Self::Forbidden(match denial {
            PartnerDenial::NoGrant => "this person has not granted your organisation access",
            PartnerDenial::NotGranted(_) => {
                "this person's grant does not include this field's scope"
            }
            PartnerDenial::KeyLacksScope(_) => "your API key does not carry this field's scope",
        })
    }
}

impl From<PartnerError> for ApiError {
    /// Partners, their keys and people's grants.
    fn from(error: PartnerError) -> Self {
        match error {
            PartnerError::NotFound => Self::NotFound,
            PartnerError::NameTaken => {
                Self::BadUserInput("a partner with this name exists".to_owned())
            }
            PartnerError::NoScopes => Self::BadUserInput("name at least one scope".to_owned()),
            PartnerError::Denied(denial) => denial.into(),
            other @ (PartnerError::Store(_) | PartnerError::Audit(_) | PartnerError::Crypto(_)) => {
                internal(other)
            }
        }
    }
}

impl From<CredentialError> for ApiError {
    /// `setProviderCredential`: an unknown provider is `NOT_FOUND`; one that takes no key,
    /// `BAD_USER_INPUT`.
    fn from(error: CredentialError) -> Self {
        match error {
            CredentialError::UnknownProvider => Self::NotFound,
            CredentialError::TakesNoKey => {
                Self::BadUserInput("this provider takes no API key".to_owned())
            }
            other @ (CredentialError::Store(_)
            | CredentialError::Vault(_)
            | CredentialError::Audit(_)
            | CredentialError::Malformed) => internal(other),
        }
    }
}

impl From<CampaignError> for ApiError {
    /// `sendProductNews`, `sendServiceAnnouncement`: only internal failures (the input was
    /// parsed before).
    fn from(error: CampaignError) -> Self {
        match error {
            other @ (CampaignError::Audit(_) | CampaignError::Store(_)) => internal(other),
        }
    }
}

impl From<SuppressionError> for ApiError {
    /// `mailSuppressions`, `liftMailSuppression`: an unknown account is `NOT_FOUND`; an
    /// address that is not suppressed, `BAD_USER_INPUT`.
    fn from(error: SuppressionError) -> Self {
        match error {
            SuppressionError::UnknownAccount => Self::NotFound,
            SuppressionError::NotSuppressed => {
                Self::BadUserInput("this account's address is not suppressed".to_owned())
            }
            other @ (SuppressionError::Audit(_) | SuppressionError::Store(_)) => internal(other),
        }
    }
}

impl From<RightsError> for ApiError {
    /// Data subject requests; no message carries personal data.
    fn from(error: RightsError) -> Self {
        match error {
            RightsError::ErasurePending => Self::FailedPrecondition(
                "an erasure of this account is pending: nothing is exported from it".to_owned(),
            ),
            RightsError::TooManyExports {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            RightsError::NotFound => Self::NotFound,
            RightsError::Transition(invalid) => Self::FailedPrecondition(error_message(&invalid)),
            RightsError::Extension(refused) => Self::FailedPrecondition(error_message(&refused)),
            RightsError::Changed => Self::FailedPrecondition(
                "the data request changed meanwhile: read it again".to_owned(),
            ),
            RightsError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<TicketError> for ApiError {
    /// Messages to the privacy officer: the input rule broken, throttling, an unknown
    /// ticket or a step a closed ticket does not allow.
    fn from(error: TicketError) -> Self {
        match error {
            TicketError::BadInput(message) => Self::BadUserInput(message.to_owned()),
            TicketError::NotFound => Self::NotFound,
            TicketError::Step(refused) => Self::FailedPrecondition(error_message(&refused)),
            TicketError::Changed => {
                Self::FailedPrecondition("the ticket changed meanwhile: read it again".to_owned())
            }
            TicketError::Throttled {
                retry_after_seconds,
            } => Self::RateLimited {
                retry_after_seconds,
            },
            TicketError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<DisclosureError> for ApiError {
    /// Disclosures: the input rule broken, an unknown request, the four-eyes rule
    /// (`FORBIDDEN`), a request decided already or meanwhile (`FAILED_PRECONDITION`).
    fn from(error: DisclosureError) -> Self {
        match error {
            DisclosureError::BadInput(message) => Self::BadUserInput(message.to_owned()),
            DisclosureError::NotFound => Self::NotFound,
            DisclosureError::SamePerson(_) => Self::Forbidden(
                "the request must be decided by someone other than the one who recorded it",
            ),
            DisclosureError::Decided(refused) => Self::FailedPrecondition(refused.to_string()),
            DisclosureError::Changed => Self::FailedPrecondition(
                "the disclosure request changed meanwhile: read it again".to_owned(),
            ),
            DisclosureError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        let message = match error {
            ApiError::BadUserInput(message)
            | ApiError::QueryTooComplex(message)
            | ApiError::FailedPrecondition(message) => message,
            ApiError::NotFound => "not found".to_owned(),
            ApiError::TrustedDocumentRequired => "only the app's registered documents may run \
                                                  for this caller: send a registered document or \
                                                  its extensions.persistedQuery hash"
                .to_owned(),
            // The message Apollo clients match on to send the document itself.
            ApiError::PersistedQueryNotFound => "PersistedQueryNotFound".to_owned(),
            ApiError::Unauthenticated(message)
            | ApiError::Forbidden(message)
            | ApiError::BillingUnavailable(message) => message.to_owned(),
            ApiError::MfaRequired => {
                "this needs a second factor: log in again and complete it".to_owned()
            }
            ApiError::ReauthenticationRequired => {
                "this needs a second factor within the last five minutes: log in again".to_owned()
            }
            ApiError::ProcessingRestricted => {
                "the person this is about has restricted processing of their data".to_owned()
            }
            ApiError::NoCompliantProvider(refused) => {
                let mut message = "no AI provider may take this request under IceCone's \
                                   privacy promises (see `providers`)"
                    .to_owned();
                if !refused.is_empty() {
                    let reasons: Vec<String> =
                        refused.iter().map(RefusedProvider::describe).collect();
                    message = format!("{message}: {}", reasons.join("; "));
                }
                let mut error = with_code(async_graphql::Error::new(message), code);
                if let Some(extensions) = error.extensions.as_mut() {
                    let list = refused
                        .iter()
                        .map(|refused| {
                            let mut item = async_graphql::indexmap::IndexMap::new();
                            item.insert(
                                async_graphql::Name::new("provider"),
                                Value::from(refused.provider.clone()),
                            );
                            item.insert(
                                async_graphql::Name::new("missing"),
                                Value::from(refused.code()),
                            );
                            if let Some(days) = refused.at_most_days() {
                                item.insert(
                                    async_graphql::Name::new("atMostDays"),
                                    Value::from(days),
                                );
                            }
                            Value::Object(item)
                        })
                        .collect::<Vec<_>>();
                    extensions.set("refused", Value::List(list));
                }
                return error;
            }
            ApiError::ProviderUnavailable => {
                "no AI provider could answer this request: try again later".to_owned()
            }
            ApiError::QuotaExceeded(resource) => {
                format!("this month's quota of {} is used up", resource.as_str())
            }
            ApiError::ConsentRequired(purpose) => {
                let mut error = with_code(
                    async_graphql::Error::new(format!(
                        "this needs consent to {purpose}, which the person this is about has \
                         not given"
                    )),
                    code,
                );
                if let Some(extensions) = error.extensions.as_mut() {
                    extensions.set("purpose", purpose.as_str());
                }
                return error;
            }
            ApiError::RateLimited {
                retry_after_seconds,
            } => {
                let mut error = with_code(
                    async_graphql::Error::new(format!(
                        "too many attempts: try again in {retry_after_seconds} s"
                    )),
                    code,
                );
                if let Some(extensions) = error.extensions.as_mut() {
                    extensions.set("retryAfterSeconds", retry_after_seconds);
                }
                return error;
            }
            ApiError::Internal(cause) => {
                // The request span carries the request id, so this line can be matched with
                // the client's report; the chain is for operators and holds no personal data
                // because domain errors are built without it.
                tracing::error!(error = format!("{cause:#}"), "internal error");
                INTERNAL_MESSAGE.to_owned()
            }
        };
        with_code(async_graphql::Error::new(message), code)
    }
}

/// Puts `code` into an error's extensions.
pub fn with_code(mut error: async_graphql::Error, code: ErrorCode) -> async_graphql::Error {
    let mut extensions = error.extensions.take().unwrap_or_default();
    extensions.set("code", code.as_str());
    error.extensions = Some(extensions);
    error
}

/// Gives every error of a response a code: errors raised by async-graphql itself (syntax,
/// validation, variable coercion, argument parsing) are about the client's input.
pub fn finish_response(response: &mut Response) {
    for error in &mut response.errors {
        let extensions = error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            extensions.set("code", Value::from(ErrorCode::BadUserInput.as_str()));
        }
    }
}

#[cfg(test)]
mod tests {
    use icecone_app::accounts::RegisterError;
    use icecone_app::audit::AuditError;
    use icecone_app::keys::vault::VaultError;
    use icecone_app::notify::NotifyError;
    use icecone_app::tokens::TokenError;
    use icecone_core::consent::Purpose;
    use icecone_core::crypto::CryptoError;
    use icecone_core::partner::PartnerScope;
    use icecone_core::provider::ProviderId;
    use icecone_core::provider::adapter::InvalidRequest;
    use icecone_core::rights::{
        DataRequestEvent, DataRequestStatus, ExtensionRefused, InvalidTransition,
    };
    use icecone_core::usage::{QuotaExceeded, Resource};
    use icecone_store::StoreError;

    use super::*;

    fn code_of(error: impl Into<ApiError>) -> &'static str {
        error.into().code().as_str()
    }

    #[test]
    fn every_code_is_listed_once_and_parses_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        let mut values: Vec<_> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::parse("alice@example.com"), None);
    }

    #[test]
    fn generation_failures_get_the_codes_clients_rely_on() {
        let openai = ProviderId::parse("openai").expect("valid id");
        let cases: Vec<(GenerateError, &str)> = vec![
            (
                GenerateError::Denied(Denial::Restricted),
                "PROCESSING_RESTRICTED",
            ),
            (
                GenerateError::Denied(Denial::ConsentRequired(Purpose::Personalization)),
                "CONSENT_REQUIRED",
            ),
            (
                QuotaExceeded {
                    resource: Resource::Images,
                }
                .into(),
                "QUOTA_EXCEEDED",
            ),
            (
                RouteError::NoCompliantProvider {
                    requested: Some(openai),
                    refused: vec![],
                }
                .into(),
                "NO_COMPLIANT_PROVIDER",
            ),
            (
                RouteError::ProviderUnavailable {
                    last: Some(ProviderError::Timeout),
                }
                .into(),
                "PROVIDER_UNAVAILABLE",
            ),
            (
                RouteError::ProviderUnavailable {
                    last: Some(ProviderError::ModelUnavailable {
                        kind: icecone_core::provider::Capability::Text,
                        setting: "text_model",
                    }),
                }
                .into(),
                "PROVIDER_UNAVAILABLE",
            ),
            (RouteError::UnknownProvider.into(), "BAD_USER_INPUT"),
            (
                RouteError::Refused(ProviderError::ContentPolicy).into(),
                "BAD_USER_INPUT",
            ),
            (
                RouteError::Refused(InvalidRequest::EmptyPrompt.into()).into(),
                "BAD_USER_INPUT",
            ),
            (
                RouteError::Refused(ProviderError::UnsupportedOperation).into(),
                "PROVIDER_UNAVAILABLE",
            ),
            (
                GenerateError::Internal(anyhow::anyhow!("disk full at /var/lib/icecone")),
                "INTERNAL_SERVER_ERROR",
            ),
        ];
        for (error, expected) in cases {
            let label = format!("{error:?}");
            assert_eq!(code_of(error), expected, "{label}");
        }
    }

    /// Every variant of every application error the resolvers return, with the code it must
    /// answer. The `From` impls match without a catch-all, so a new variant needs a line in
    /// them, and here.
    #[test]
    fn every_application_error_gets_the_code_clients_rely_on() {
        let store = || StoreError::Duplicate;
        let throttled = || LogInError::Throttled {
            retry_after_seconds: 30,
        };
        let cases: Vec<(ApiError, &str)> = vec![
            // The consent decision.
            (Denial::Restricted.into(), "PROCESSING_RESTRICTED"),
            (
                Denial::ConsentRequired(Purpose::Marketing).into(),
                "CONSENT_REQUIRED",
            ),
            // Log-in and refresh.
            (LogInError::WrongCredentials.into(), "UNAUTHENTICATED"),
            (LogInError::InvalidRefreshToken.into(), "UNAUTHENTICATED"),
            (throttled().into(), "RATE_LIMITED"),
            (LogInError::Suspended.into(), "FORBIDDEN"),
            (
                LogInError::Token(TokenError::Signing).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                LogInError::Vault(VaultError::SystemKeyMissing).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (LogInError::Store(store()).into(), "INTERNAL_SERVER_ERROR"),
            (
                LogInError::Audit(AuditError::Contended).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                LogInError::Notify(NotifyError::Store(store())).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (LogInError::Worker.into(), "INTERNAL_SERVER_ERROR"),
            // Sign-up and verification.
            (
                SignUpError::Throttled {
                    retry_after_seconds: 30,
                }
                .into(),
                "RATE_LIMITED",
            ),
            (SignUpError::InvalidLink.into(), "BAD_USER_INPUT"),
            (SignUpError::AddressTaken.into(), "BAD_USER_INPUT"),
            (SignUpError::AlreadyVerified.into(), "BAD_USER_INPUT"),
            (
                SignUpError::Register(RegisterError::Store(store())).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                SignUpError::Session(LogInError::Suspended).into(),
                "FORBIDDEN",
            ),
            // The second factor.
            (MfaError::AlreadyActive.into(), "BAD_USER_INPUT"),
            (MfaError::NotEnrolled.into(), "BAD_USER_INPUT"),
            (MfaError::WrongCode.into(), "UNAUTHENTICATED"),
            (MfaError::StaleMfa.into(), "REAUTHENTICATION_REQUIRED"),
            (
                MfaError::StaleAuthentication.into(),
                "REAUTHENTICATION_REQUIRED",
            ),
            (MfaError::LogIn(throttled()).into(), "RATE_LIMITED"),
            // Profile changes.
            (ProfileError::InvalidDisplayName.into(), "BAD_USER_INPUT"),
            (ProfileError::InvalidEmail.into(), "BAD_USER_INPUT"),
            (
                ProfileError::StaleAuthentication.into(),
                "REAUTHENTICATION_REQUIRED",
            ),
            (
                ProfileError::SignUp(SignUpError::InvalidLink).into(),
                "BAD_USER_INPUT",
            ),
            // Erasure and legal holds.
            (
                ErasureError::WrongPassword.into(),
                "REAUTHENTICATION_REQUIRED",
            ),
            (ErasureError::CodeRequired.into(), "MFA_REQUIRED"),
            (ErasureError::WrongCode.into(), "REAUTHENTICATION_REQUIRED"),
            (ErasureError::NoRequest.into(), "NOT_FOUND"),
            (ErasureError::TooLate.into(), "BAD_USER_INPUT"),
            (ErasureError::NotFound.into(), "NOT_FOUND"),
            (ErasureError::AccountGone.into(), "UNAUTHENTICATED"),
            (ErasureError::LogIn(throttled()).into(), "RATE_LIMITED"),
            (ErasureError::Store(store()).into(), "INTERNAL_SERVER_ERROR"),
            (
                ErasureError::Other(anyhow::anyhow!("the vault failed")).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            // Staff fields and staff acts.
            (StaffDenial::Unauthenticated.into(), "UNAUTHENTICATED"),
            (StaffDenial::Forbidden.into(), "FORBIDDEN"),
            (StaffDenial::MfaRequired.into(), "MFA_REQUIRED"),
            (
                StaffDenial::ReauthenticationRequired.into(),
                "REAUTHENTICATION_REQUIRED",
            ),
            (StaffError::NotFound.into(), "NOT_FOUND"),
            (StaffError::NoSuchStaff.into(), "NOT_FOUND"),
            (StaffError::OwnAccount.into(), "FORBIDDEN"),
            (StaffError::StaffTargetNeedsAdmin.into(), "FORBIDDEN"),
            (StaffError::StaffHasNoPlan.into(), "FORBIDDEN"),
            (StaffError::LastAdmin.into(), "FAILED_PRECONDITION"),
            (
                StaffError::Register(RegisterError::EmailTaken).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                StaffError::Mfa(MfaError::NotEnrolled).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (StaffError::Store(store()).into(), "INTERNAL_SERVER_ERROR"),
            (
                StaffError::Audit(AuditError::Contended).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                StaffError::Notify(NotifyError::Store(store())).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            // Partners.
            (PartnerDenial::NoGrant.into(), "FORBIDDEN"),
            (
                PartnerDenial::NotGranted(PartnerScope::Profile).into(),
                "FORBIDDEN",
            ),
            (
                PartnerDenial::KeyLacksScope(PartnerScope::Personalization).into(),
                "FORBIDDEN",
            ),
            (PartnerError::NotFound.into(), "NOT_FOUND"),
            (PartnerError::NameTaken.into(), "BAD_USER_INPUT"),
            (PartnerError::NoScopes.into(), "BAD_USER_INPUT"),
            (
                PartnerError::Denied(PartnerDenial::NoGrant).into(),
                "FORBIDDEN",
            ),
            (PartnerError::Store(store()).into(), "INTERNAL_SERVER_ERROR"),
            (
                PartnerError::Audit(AuditError::Contended).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                PartnerError::Crypto(CryptoError::Truncated).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            // Provider credentials.
            (CredentialError::UnknownProvider.into(), "NOT_FOUND"),
            (CredentialError::TakesNoKey.into(), "BAD_USER_INPUT"),
            (
                CredentialError::Store(store()).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                CredentialError::Vault(VaultError::SystemKeyMissing).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                CredentialError::Audit(AuditError::Contended).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (CredentialError::Malformed.into(), "INTERNAL_SERVER_ERROR"),
            // Data subject requests and messages to the DPO.
            (RightsError::ErasurePending.into(), "FAILED_PRECONDITION"),
            (
                RightsError::TooManyExports {
                    retry_after_seconds: 60,
                }
                .into(),
                "RATE_LIMITED",
            ),
            (RightsError::NotFound.into(), "NOT_FOUND"),
            (
                RightsError::Transition(InvalidTransition {
                    from: DataRequestStatus::Completed,
                    event: DataRequestEvent::Complete,
                })
                .into(),
                "FAILED_PRECONDITION",
            ),
            (
                RightsError::Extension(ExtensionRefused::AlreadyExtended).into(),
                "FAILED_PRECONDITION",
            ),
            (RightsError::Changed.into(), "FAILED_PRECONDITION"),
            (
                RightsError::Internal(anyhow::anyhow!("the bundle did not seal")).into(),
                "INTERNAL_SERVER_ERROR",
            ),
            (
                TicketError::BadInput("the subject is empty").into(),
                "BAD_USER_INPUT",
            ),
            (
                TicketError::Throttled {
                    retry_after_seconds: 60,
                }
                .into(),
                "RATE_LIMITED",
            ),
            (
                TicketError::Internal(anyhow::anyhow!("the outbox is full")).into(),
                "INTERNAL_SERVER_ERROR",
            ),
        ];
        for (error, expected) in cases {
            let label = format!("{error:?}");
            assert_eq!(error.code().as_str(), expected, "{label}");
        }
    }

    #[test]
    fn rate_limits_and_missing_consents_carry_their_extensions() {
        let limited: async_graphql::Error = ApiError::from(LogInError::Throttled {
            retry_after_seconds: 42,
        })
        .into();
        let extensions = limited.extensions.expect("extensions");
        assert_eq!(extensions.get("code"), Some(&Value::from("RATE_LIMITED")));
        assert_eq!(extensions.get("retryAfterSeconds"), Some(&Value::from(42)));
        let consent: async_graphql::Error =
            ApiError::from(Denial::ConsentRequired(Purpose::Personalization)).into();
        let extensions = consent.extensions.expect("extensions");
        assert_eq!(
            extensions.get("code"),
            Some(&Value::from("CONSENT_REQUIRED"))
        );
        assert_eq!(
            extensions.get("purpose"),
            Some(&Value::from(Purpose::Personalization.as_str()))
        );
    }

    #[test]
    fn internal_and_provider_failures_show_no_internals_to_the_client() {
        let internal: async_graphql::Error = ApiError::from(GenerateError::Internal(
            anyhow::anyhow!("disk full at /var/lib/icecone"),
        ))
        .into();
        assert_eq!(internal.message, INTERNAL_MESSAGE);
        let refused: async_graphql::Error =
            ApiError::from(RouteError::Refused(ProviderError::ContentPolicy)).into();
        assert_eq!(
            refused.message,
            "the provider refused the request under its content policy"
        );
        let quota: async_graphql::Error = ApiError::QuotaExceeded(Resource::Tokens).into();
        assert_eq!(
            quota.message,
            "this month's quota of text tokens is used up"
        );
    }
}
