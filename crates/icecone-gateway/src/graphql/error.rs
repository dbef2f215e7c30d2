//! The one place where errors become GraphQL errors.
//!
//! Resolvers return [`ApiError`]; it turns into an `async_graphql::Error` carrying the
//! `extensions.code` of the API sketch. [`ApiError`] deliberately does not implement
//! `Display`, so no other conversion (such as async-graphql's blanket one for displayable
//! errors, which would put an internal message in front of the client) can be used by
//! accident. Errors raised by async-graphql itself (syntax, validation, variable coercion)
//! get their code from [`finish_response`], which the executor applies to every answer.

use async_graphql::{ErrorExtensionValues, Response, Value};
use icecone_core::provider::adapter::ProviderError;

use icecone_core::consent::decision::Denial;

use icecone_app::auth::profile::ProfileError;
use icecone_app::erasure::ErasureError;
use icecone_app::generation::GenerateError;
use icecone_app::providers::router::RouteError;

/// The `extensions.code` values clients rely on (`../shared/api-sketch.md`).
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
}

impl ErrorCode {
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
    /// may not.
    NoCompliantProvider,
    /// No eligible provider answered.
    ProviderUnavailable,
    /// The caller's quota of a resource for this period is used up.
    QuotaExceeded(icecone_core::usage::Resource),
    /// Not possible in the current state; the message says why, without personal data.
    FailedPrecondition(String),
    /// An unexpected failure: logged with its cause chain, shown as [`INTERNAL_MESSAGE`].
    Internal(anyhow::Error),
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
            Self::NoCompliantProvider => ErrorCode::NoCompliantProvider,
            Self::ProviderUnavailable => ErrorCode::ProviderUnavailable,
            Self::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::Internal(_) => ErrorCode::InternalServerError,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
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
            ErasureError::LogIn(error) => super::auth::log_in_error(error),
            ErasureError::Store(error) => Self::Internal(error.into()),
            ErasureError::Other(error) => Self::Internal(error),
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
            ProfileError::SignUp(error) => super::sign_up::sign_up_error(error),
        }
    }
}

/// The message of a domain error whose text names a rule, never a value.
fn error_message(error: &impl std::fmt::Display) -> String {
    error.to_string()
}

impl From<RouteError> for ApiError {
    /// Routing's refusals: the provider named does not exist (`BAD_USER_INPUT`), none may
    /// take the request (`NO_COMPLIANT_PROVIDER`), none answered (`PROVIDER_UNAVAILABLE`),
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
                Self::NoCompliantProvider
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

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        let message = match error {
            ApiError::BadUserInput(message)
            | ApiError::QueryTooComplex(message)
            | ApiError::FailedPrecondition(message) => message,
            ApiError::NotFound => "not found".to_owned(),
            ApiError::Unauthenticated(message) | ApiError::Forbidden(message) => message.to_owned(),
            ApiError::MfaRequired => {
                "this needs a second factor: log in again and complete it".to_owned()
            }
            ApiError::ReauthenticationRequired => {
                "this needs a second factor within the last five minutes: log in again".to_owned()
            }
            ApiError::ProcessingRestricted => {
                "the person this is about has restricted processing of their data".to_owned()
            }
            ApiError::NoCompliantProvider => "no AI provider may take this request under \
                                              IceCone's privacy promises (see `providers`)"
                .to_owned(),
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
    use icecone_core::consent::Purpose;
    use icecone_core::provider::ProviderId;
    use icecone_core::provider::adapter::InvalidRequest;
    use icecone_core::usage::{QuotaExceeded, Resource};

    use super::*;

    fn code_of(error: impl Into<ApiError>) -> &'static str {
        error.into().code().as_str()
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
