//! `privacyPolicy { subprocessors }`: who processes personal data on IceCone's behalf, the
//! version in effect and the changes announced with the day each takes effect. Public, made
//! from `icecone_app::subprocessors::published` as the privacy page is.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use icecone_app::subprocessors::{Published, PublishedVersion};
use icecone_core::subprocessor::{self, Origin};

use super::classification::not_personal;
use super::scalars::Date;

/// The subprocessors as published.
pub(crate) struct Subprocessors(pub(crate) Published);

#[Object(directive = not_personal::apply())]
impl Subprocessors {
    /// The list in effect now (null only before the gateway first started).
    async fn current(&self) -> Option<SubprocessorList> {
        self.0.current.as_ref().map(SubprocessorList::from)
    }

    /// Changes announced to every account and not yet in effect, oldest first, each with
    /// the moment it takes effect.
    async fn upcoming(&self) -> Vec<SubprocessorList> {
        self.0.upcoming.iter().map(SubprocessorList::from).collect()
    }
}

/// One version of the list of subprocessors.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct SubprocessorList {
    /// The version, from 1; each change of the list is a new one.
    version: i32,
    /// When it was published (and, for a change, announced to every account).
    published_at: DateTime<Utc>,
    /// When it takes (or took) effect.
    takes_effect_at: DateTime<Utc>,
    /// The subprocessors, by name.
    entries: Vec<Subprocessor>,
    /// Names this version added to the one before.
    added: Vec<String>,
    /// Names this version removed.
    removed: Vec<String>,
    /// Names whose entry this version changed.
    changed: Vec<String>,
}

impl From<&PublishedVersion> for SubprocessorList {
    fn from(version: &PublishedVersion) -> Self {
        let names = |names: &[subprocessor::Name]| {
            names.iter().map(|name| name.as_str().to_owned()).collect()
        };
        Self {
            version: i32::try_from(version.version).unwrap_or(i32::MAX),
            published_at: version.published_at,
            takes_effect_at: version.takes_effect_at,
            entries: version
                .registry
                .entries()
                .iter()
                .map(Subprocessor::from)
                .collect(),
            added: names(&version.changes.added),
            removed: names(&version.changes.removed),
            changed: names(&version.changes.changed),
        }
    }
}

/// A company that processes personal data on IceCone's behalf.
#[derive(SimpleObject)]
#[graphql(directive = not_personal::apply())]
pub(crate) struct Subprocessor {
    /// Its name.
    name: String,
    /// What it does for IceCone.
    purpose: SubprocessorPurpose,
    /// The kinds of personal data it receives (fideslang keys, `user.contact.email`).
    data_categories: Vec<String>,
    /// Where it processes them: a country code (`DE`), `EEA`, or for an AI provider its own
    /// words (or that it commits to none).
    location: String,
    /// What makes the transfer there lawful.
    transfer_mechanism: TransferMechanism,
    /// The data protection agreement's reference (for an AI provider, this deployment's
    /// contract when one is recorded).
    agreement: Option<String>,
    /// Since when it processes IceCone's data, when the operator recorded it.
    since: Option<Date>,
    /// The AI provider's id (`providers { id }`), for an AI provider.
    provider: Option<ID>,
}

impl From<&subprocessor::Subprocessor> for Subprocessor {
    fn from(entry: &subprocessor::Subprocessor) -> Self {
        Self {
            name: entry.name().as_str().to_owned(),
            purpose: entry.purpose().into(),
            data_categories: entry
                .data_categories()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            location: entry.location().to_string(),
            transfer_mechanism: entry.transfer().into(),
            agreement: entry.agreement().map(|a| a.as_str().to_owned()),
            since: entry.since().map(Date),
            provider: match entry.origin() {
                Origin::Operator => None,
                Origin::Adapter(id) => Some(ID(id.to_string())),
            },
        }
    }
}

/// What a subprocessor does for IceCone.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubprocessorPurpose {
    /// Servers, databases, storage.
    Hosting,
    /// Sending e-mail.
    Email,
    /// Taking payments.
    Payments,
    /// Usage analytics.
    Analytics,
    /// Customer support tools.
    Support,
    /// Operational monitoring.
    Monitoring,
    /// Generating content (an AI provider).
    AiGeneration,
}

impl From<subprocessor::SubprocessorPurpose> for SubprocessorPurpose {
    fn from(purpose: subprocessor::SubprocessorPurpose) -> Self {
        use subprocessor::SubprocessorPurpose as P;
        match purpose {
            P::Hosting => Self::Hosting,
            P::Email => Self::Email,
            P::Payments => Self::Payments,
            P::Analytics => Self::Analytics,
            P::Support => Self::Support,
            P::Monitoring => Self::Monitoring,
            P::AiGeneration => Self::AiGeneration,
        }
    }
}

/// What makes a transfer of personal data to a subprocessor's location lawful.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransferMechanism {
    /// The data stays in the European Economic Area.
    NoneNeeded,
    /// An adequacy decision of the European Commission.
    AdequacyDecision,
    /// The Commission's standard contractual clauses.
    StandardContractualClauses,
    /// Binding corporate rules.
    BindingCorporateRules,
    /// This deployment recorded none (an AI provider outside the EEA).
    NotRecorded,
}

impl From<subprocessor::TransferMechanism> for TransferMechanism {
    fn from(mechanism: subprocessor::TransferMechanism) -> Self {
        use subprocessor::TransferMechanism as T;
        match mechanism {
            T::NoneNeeded => Self::NoneNeeded,
            T::AdequacyDecision => Self::AdequacyDecision,
            T::StandardContractualClauses => Self::StandardContractualClauses,
            T::BindingCorporateRules => Self::BindingCorporateRules,
            T::NotRecorded => Self::NotRecorded,
        }
    }
}
