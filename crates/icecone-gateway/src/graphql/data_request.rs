//! `DataRequest`: a data subject's request (API sketch, "Data subject rights"). Kept in
//! its own module so the data-requests tracking (export, restriction, objection, DPO
//! queries) can join it; for now it is backed by account deletion requests only (kind
//! `ERASURE`).

use async_graphql::{Enum, ID, Object};
use chrono::{DateTime, Utc};
use icecone_store::erasure::{AccountDeletion, DeletionState};

use super::classification::essential;
use super::consent::PurposeValue;
use crate::erasure::{ANSWER_WITHIN, HoldGround};

/// What a data request asks for.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataRequestKind {
    /// A copy of the data (Art. 15).
    Access,
    /// The data in a machine-readable format (Art. 20).
    Export,
    /// Correcting the data (Art. 16).
    Rectification,
    /// Deleting the account and its data (Art. 17).
    Erasure,
    /// Restricting processing (Art. 18).
    Restriction,
    /// Objecting to processing (Art. 21).
    Objection,
}

/// Where a data request stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataRequestStatus {
    /// Received; for an erasure, waiting for the end of its grace period.
    Received,
    /// Being carried out.
    InProgress,
    /// Done.
    Completed,
    /// The deadline was extended, with reasons told to the person.
    Extended,
    /// Refused — for an erasure, held by a legal hold (`legalHoldGrounds` says why).
    Denied,
    /// Cancelled by the person.
    Cancelled,
}

/// An Art. 17(3) ground on which an erasure is held back.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "LegalHoldGround", remote = "crate::erasure::HoldGround")]
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

/// A data subject's request and its deadline.
pub(crate) struct DataRequest {
    deletion: AccountDeletion,
    grounds: Vec<HoldGround>,
}

impl DataRequest {
    /// An erasure request, with the grounds of the legal holds in force.
    pub(crate) fn erasure(deletion: AccountDeletion, grounds: Vec<HoldGround>) -> Self {
        Self { deletion, grounds }
    }
}

#[Object(directive = essential::apply(PurposeValue::LegalCompliance))]
impl DataRequest {
    /// The request's id (for an erasure, also the id of the tombstone it leaves).
    async fn id(&self) -> ID {
        ID(self.deletion.id.to_string())
    }

    /// What it asks for.
    async fn kind(&self) -> DataRequestKind {
        DataRequestKind::Erasure
    }

    /// Where it stands.
    async fn status(&self) -> DataRequestStatus {
        match self.deletion.state {
            DeletionState::Pending => DataRequestStatus::Received,
            DeletionState::Held => DataRequestStatus::Denied,
            DeletionState::Running => DataRequestStatus::InProgress,
            DeletionState::Cancelled => DataRequestStatus::Cancelled,
        }
    }

    /// When it was received.
    async fn received_at(&self) -> DateTime<Utc> {
        self.deletion.requested_at
    }

    /// The legal deadline to answer it (one month, GDPR Art. 12(3)).
    async fn due_at(&self) -> DateTime<Utc> {
        self.deletion.requested_at + ANSWER_WITHIN
    }

    /// When it was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        None
    }

    /// Where the export can be downloaded (export requests only).
    async fn download_url(&self) -> Option<String> {
        None
    }

    /// For an erasure: when it runs — the end of the grace period, until which
    /// `cancelAccountDeletion` works.
    async fn erasure_runs_at(&self) -> Option<DateTime<Utc>> {
        Some(self.deletion.runs_at)
    }

    /// For an erasure held back: the Art. 17(3) grounds of the legal holds in force.
    async fn legal_hold_grounds(&self) -> Vec<LegalHoldGroundValue> {
        self.grounds.iter().map(|ground| (*ground).into()).collect()
    }
}
