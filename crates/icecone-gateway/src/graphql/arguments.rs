//! Arguments parsed into the types resolvers work with, written once: a refusal is
//! `BAD_USER_INPUT` naming the argument and the rule, never the value given.

use icecone_core::identity::staff_access::StaffReason;
use uuid::Uuid;

use super::error::ApiError;

/// An id argument that must be a UUID: `kind` says what it names ("an account id").
pub(crate) fn uuid(id: &str, argument: &str, kind: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(id).map_err(|_| ApiError::BadUserInput(format!("`{argument}` is not {kind}")))
}

/// An account id given as `argument`.
pub(crate) fn account_id(id: &str, argument: &str) -> Result<Uuid, ApiError> {
    uuid(id, argument, "an account id")
}

/// The documented reason (or note) staff give for an act, given as `argument`. The message
/// never repeats the text: it may name a person.
pub(crate) fn staff_reason(text: &str, argument: &str) -> Result<StaffReason, ApiError> {
    StaffReason::parse(text).map_err(|error| ApiError::BadUserInput(format!("{argument}: {error}")))
}
