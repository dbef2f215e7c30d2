//! The Art. 17(3) grounds of a legal hold, as the schema names them (`LegalHoldGround`):
//! shown on an erasure request that a hold keeps from running, and set by DPO.

use async_graphql::Enum;

/// An Art. 17(3) ground on which an erasure is held back.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "LegalHoldGround", remote = "icecone_app::erasure::HoldGround")]
pub(crate) enum LegalHoldGroundValue {
    /// Art. 17(3)(a): freedom of expression and information.
    FreedomOfExpression,
    /// Art. 17(3)(b): a legal obligation.
    LegalObligation,
    /// Art. 17(3)(c): public interest in public health.
    PublicHealth,
    /// Art. 17(3)(d): archiving, research or statistics in the public interest.
    ArchivingResearch,
    /// Art. 17(3)(e): legal claims.
    LegalClaims,
}
