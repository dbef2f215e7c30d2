//! Subprocessors: the companies that process personal data on IceCone's behalf (hosting,
//! e-mail, payments, analytics, support and the AI providers), each with the purpose, the
//! data categories, where it processes them, the transfer mechanism that makes that lawful
//! and the data protection agreement that binds it.
//!
//! An entry is parsed from its parts ([`Subprocessor::parse`]) into newtypes, and the whole
//! list into a [`Registry`] (names unique, ordered by name). A change to the list is a new
//! version, announced to every account before it takes effect: [`announcement::decide`] is
//! that decision.

pub mod announcement;

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::provider::ProviderId;
use crate::provider::policy::DataCategory;

/// What a subprocessor does for IceCone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubprocessorPurpose {
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
    /// Operational monitoring (logs, traces, error reports).
    Monitoring,
    /// Generating content (the AI providers).
    AiGeneration,
}

impl SubprocessorPurpose {
    /// Every purpose, in a fixed order.
    pub const ALL: [Self; 7] = [
        Self::Hosting,
        Self::Email,
        Self::Payments,
        Self::Analytics,
        Self::Support,
        Self::Monitoring,
        Self::AiGeneration,
    ];

    /// The name a subprocessors file uses (`ai_generation`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hosting => "hosting",
            Self::Email => "email",
            Self::Payments => "payments",
            Self::Analytics => "analytics",
            Self::Support => "support",
            Self::Monitoring => "monitoring",
            Self::AiGeneration => "ai_generation",
        }
    }

    /// Parses [`SubprocessorPurpose::as_str`]'s names.
    pub fn parse(text: &str) -> Result<Self, SubprocessorError> {
        Self::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == text)
            .ok_or(SubprocessorError::UnknownPurpose)
    }
}

/// A fideslang data category (`user.contact.email`): the kinds of personal data a
/// subprocessor receives. Only the categories of the fideslang taxonomy listed in
/// [`Category::KNOWN`] parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(&'static str);

impl Category {
    /// The fideslang `user.*` categories IceCone's processing can involve.
    pub const KNOWN: [&'static str; 16] = [
        "user",
        "user.account",
        "user.authorization",
        "user.behavior",
        "user.contact",
        "user.contact.email",
        "user.content",
        "user.content.private",
        "user.device",
        "user.device.ip_address",
        "user.financial",
        "user.name",
        "user.payment",
        "user.unique_id",
        "user.unique_id.pseudonymous",
        "user.sensor",
    ];

    /// Parses a fideslang key.
    pub fn parse(text: &str) -> Result<Self, SubprocessorError> {
        Self::KNOWN
            .into_iter()
            .find(|known| *known == text)
            .map(Self)
            .ok_or(SubprocessorError::UnknownCategory)
    }

    /// The fideslang key.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl From<DataCategory> for Category {
    fn from(category: DataCategory) -> Self {
        Self(category.as_str())
    }
}

/// The countries of the European Economic Area (ISO 3166-1 alpha-2; Greece as `GR`).
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The countries with an adequacy decision of the European Commission (GDPR Art. 45). The
/// United States' decision (the Data Privacy Framework) covers certified companies only: an
/// operator who relies on it says so by choosing `adequacy` for a certified company.
const ADEQUATE: [&str; 15] = [
    "AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY",
];

/// Where a subprocessor processes the data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A country, by ISO 3166-1 alpha-2 code (`DE`).
    Country(String),
    /// Within the European Economic Area, in countries the subprocessor chooses.
    Eea,
    /// What an AI provider's adapter declares, in its own words.
    Declared(String),
    /// The provider commits to no region.
    NotCommitted,
    /// Not established from the provider's own text.
    Unknown,
}

impl Location {
    /// Parses what a subprocessors file may say: `EEA` (or `EU`), or a country's two-letter
    /// code in capitals.
    pub fn parse(text: &str) -> Result<Self, SubprocessorError> {
        match text {
            "EEA" | "EU" => Ok(Self::Eea),
            code if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
                Ok(Self::Country(code.to_owned()))
            }
            _ => Err(SubprocessorError::InvalidLocation),
        }
    }

    /// Whether the data stays within the European Economic Area.
    pub fn in_eea(&self) -> bool {
        match self {
            Self::Eea => true,
            Self::Country(code) => EEA.contains(&code.as_str()),
            Self::Declared(_) | Self::NotCommitted | Self::Unknown => false,
        }
    }

    /// Whether the European Commission found the country's protection adequate.
    fn adequate(&self) -> bool {
        matches!(self, Self::Country(code) if ADEQUATE.contains(&code.as_str()))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Country(code) => f.write_str(code),
            Self::Eea => f.write_str("EEA"),
            Self::Declared(words) => f.write_str(words),
            Self::NotCommitted => f.write_str("no region committed"),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// What makes a transfer of personal data to the subprocessor's location lawful (GDPR
/// Chapter V).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferMechanism {
    /// The data stays in the European Economic Area.
    NoneNeeded,
    /// An adequacy decision of the European Commission (Art. 45).
    AdequacyDecision,
    /// The Commission's standard contractual clauses (Art. 46(2)(c)).
    StandardContractualClauses,
    /// Binding corporate rules (Art. 47).
    BindingCorporateRules,
    /// Not recorded by this deployment (an AI provider for which the operator recorded
    /// none); published as such.
    NotRecorded,
}

impl TransferMechanism {
    /// The name a subprocessors file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoneNeeded => "none_needed",
            Self::AdequacyDecision => "adequacy",
            Self::StandardContractualClauses => "scc",
            Self::BindingCorporateRules => "bcr",
            Self::NotRecorded => "not_recorded",
        }
    }

    /// Parses the names a file may use (`not_recorded` is not one: an operator's own
    /// subprocessor always has a mechanism).
    pub fn parse(text: &str) -> Result<Self, SubprocessorError> {
        [
            Self::NoneNeeded,
            Self::AdequacyDecision,
            Self::StandardContractualClauses,
            Self::BindingCorporateRules,
        ]
        .into_iter()
        .find(|mechanism| mechanism.as_str() == text)
        .ok_or(SubprocessorError::UnknownTransferMechanism)
    }

    /// Parses a published mechanism, `not_recorded` included.
    pub fn parse_published(text: &str) -> Result<Self, SubprocessorError> {
        match text {
            "not_recorded" => Ok(Self::NotRecorded),
            other => Self::parse(other),
        }
    }
}

/// Whether `mechanism` can make processing at `location` lawful: no mechanism is needed
/// only inside the EEA; an adequacy decision only for a country that has one; clauses or
/// binding corporate rules anywhere.
pub fn transfer_fits(location: &Location, mechanism: TransferMechanism) -> bool {
    match mechanism {
        TransferMechanism::NoneNeeded => location.in_eea(),
        TransferMechanism::AdequacyDecision => location.adequate(),
        TransferMechanism::StandardContractualClauses
        | TransferMechanism::BindingCorporateRules => true,
        TransferMechanism::NotRecorded => false,
    }
}

/// A short piece of text of at most `MAX` characters, none a control character.
fn printable(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    let ok =
        !text.is_empty() && text.chars().count() <= max && text.chars().all(|c| !c.is_control());
    ok.then(|| text.to_owned())
}

/// A subprocessor's name, as published: 1 to 100 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Parses a name.
    pub fn parse(text: &str) -> Result<Self, SubprocessorError> {
        printable(text, 100)
            .map(Self)
            .ok_or(SubprocessorError::InvalidName)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The reference of the data protection agreement (GDPR Art. 28) with a subprocessor, as
/// the operator files it (`DPA 2026-03, signed 2026-03-14`): 1 to 200 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Agreement(String);

impl Agreement {
    /// Parses a reference.
    pub fn parse(text: &str) -> Result<Self, SubprocessorError> {
        printable(text, 200)
            .map(Self)
            .ok_or(SubprocessorError::InvalidAgreement)
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an entry comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The operator's subprocessors file.
    Operator,
    /// An AI provider's adapter and its declared policy.
    Adapter(ProviderId),
}

/// Why an entry does not parse. Messages name the field, never its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubprocessorError {
    /// The name is empty, too long or has control characters.
    #[error("`name` must be 1 to 100 printable characters")]
    InvalidName,
    /// The purpose is not one of [`SubprocessorPurpose::ALL`].
    #[error(
        "`purpose` must be one of hosting, email, payments, analytics, support, monitoring, ai_generation"
    )]
    UnknownPurpose,
    /// A data category is not a known fideslang key.
    #[error("`data_categories` must be fideslang keys such as user.contact.email")]
    UnknownCategory,
    /// No data category is given.
    #[error("`data_categories` must name at least one category")]
    NoCategory,
    /// The location is neither `EEA` nor a two-letter country code.
    #[error("`location` must be EEA or a two-letter country code in capitals, such as DE")]
    InvalidLocation,
    /// The transfer mechanism is unknown.
    #[error("`transfer` must be one of none_needed, adequacy, scc, bcr")]
    UnknownTransferMechanism,
    /// The mechanism cannot make processing at the location lawful ([`transfer_fits`]).
    #[error(
        "`transfer` does not fit `location`: none_needed only inside the EEA, adequacy only for a country with an adequacy decision"
    )]
    TransferDoesNotFit,
    /// The agreement reference is empty, too long or has control characters.
    #[error(
        "`agreement` must be the data protection agreement's reference, 1 to 200 printable characters"
    )]
    InvalidAgreement,
    /// The date is not `YYYY-MM-DD`.
    #[error("`since` must be a date, YYYY-MM-DD")]
    InvalidSince,
    /// Two entries have the same name.
    #[error("two subprocessors have the same `name`")]
    DuplicateName,
}

/// An operator's subprocessor as written in the file: every field text, parsed by
/// [`Subprocessor::parse`].
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    /// [`Name`].
    pub name: &'a str,
    /// [`SubprocessorPurpose`].
    pub purpose: &'a str,
    /// [`Category`] keys.
    pub data_categories: &'a [&'a str],
    /// [`Location`].
    pub location: &'a str,
    /// [`TransferMechanism`].
    pub transfer: &'a str,
    /// [`Agreement`]: required, since the policy promises every service provider is bound
    /// by one.
    pub agreement: &'a str,
    /// `YYYY-MM-DD`: since when the subprocessor processes IceCone's data.
    pub since: &'a str,
}

/// Every part of an entry, to rebuild one as it was published ([`Subprocessor::from_parts`]).
#[derive(Debug, Clone)]
pub struct Parts {
    /// [`Subprocessor::name`].
    pub name: Name,
    /// [`Subprocessor::purpose`].
    pub purpose: SubprocessorPurpose,
    /// [`Subprocessor::data_categories`].
    pub data_categories: Vec<Category>,
    /// [`Subprocessor::location`].
    pub location: Location,
    /// [`Subprocessor::transfer`].
    pub transfer: TransferMechanism,
    /// [`Subprocessor::agreement`].
    pub agreement: Option<Agreement>,
    /// [`Subprocessor::since`].
    pub since: Option<NaiveDate>,
    /// [`Subprocessor::origin`].
    pub origin: Origin,
}

/// One subprocessor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subprocessor {
    name: Name,
    purpose: SubprocessorPurpose,
    data_categories: Vec<Category>,
    location: Location,
    transfer: TransferMechanism,
    agreement: Option<Agreement>,
    since: Option<NaiveDate>,
    origin: Origin,
}

impl Subprocessor {
    /// Parses an operator's entry: every field must parse, the mechanism must fit the
    /// location ([`transfer_fits`]) and an agreement is required.
    pub fn parse(written: Written<'_>) -> Result<Self, SubprocessorError> {
        let name = Name::parse(written.name)?;
        let purpose = SubprocessorPurpose::parse(written.purpose)?;
        let mut data_categories = written
            .data_categories
            .iter()
            .map(|key| Category::parse(key))
            .collect::<Result<Vec<_>, _>>()?;
        if data_categories.is_empty() {
            return Err(SubprocessorError::NoCategory);
        }
        data_categories.sort();
        data_categories.dedup();
        let location = Location::parse(written.location)?;
        let transfer = TransferMechanism::parse(written.transfer)?;
        if !transfer_fits(&location, transfer) {
            return Err(SubprocessorError::TransferDoesNotFit);
        }
        let agreement = Agreement::parse(written.agreement)?;
        let since = NaiveDate::parse_from_str(written.since, "%Y-%m-%d")
            .map_err(|_| SubprocessorError::InvalidSince)?;
        Ok(Self {
            name,
            purpose,
            data_categories,
            location,
            transfer,
            agreement: Some(agreement),
            since: Some(since),
            origin: Origin::Operator,
        })
    }

    /// An AI provider as its adapter declares it: purpose AI generation, its declared data
    /// categories and region; `agreement` is this deployment's, when one is recorded (a
    /// zero-data-retention contract's reference). The transfer mechanism is not recorded
    /// unless the region is in the EEA.
    pub fn of_provider(
        id: ProviderId,
        name: Name,
        categories: &[DataCategory],
        location: Location,
        agreement: Option<Agreement>,
    ) -> Self {
        let mut data_categories: Vec<Category> =
            categories.iter().copied().map(Category::from).collect();
        data_categories.sort();
        data_categories.dedup();
        let transfer = if location.in_eea() {
            TransferMechanism::NoneNeeded
        } else {
            TransferMechanism::NotRecorded
        };
        Self {
            name,
            purpose: SubprocessorPurpose::AiGeneration,
            data_categories,
            location,
            transfer,
            agreement,
            since: None,
            origin: Origin::Adapter(id),
        }
    }

    /// Rebuilds an entry from its parts as they were published (a stored version), without
    /// the checks of [`Subprocessor::parse`]: what was published is shown as it was.
    pub fn from_parts(parts: Parts) -> Self {
        let Parts {
            name,
            purpose,
            data_categories,
            location,
            transfer,
            agreement,
            since,
            origin,
        } = parts;
        Self {
            name,
            purpose,
            data_categories,
            location,
            transfer,
            agreement,
            since,
            origin,
        }
    }

    /// Its name.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// What it does.
    pub fn purpose(&self) -> SubprocessorPurpose {
        self.purpose
    }
    /// The kinds of personal data it receives, sorted.
    pub fn data_categories(&self) -> &[Category] {
        &self.data_categories
    }
    /// Where it processes them.
    pub fn location(&self) -> &Location {
        &self.location
    }
    /// What makes the transfer lawful.
    pub fn transfer(&self) -> TransferMechanism {
        self.transfer
    }
    /// The data protection agreement's reference, when one is recorded.
    pub fn agreement(&self) -> Option<&Agreement> {
        self.agreement.as_ref()
    }
    /// Since when it processes IceCone's data, when the operator said.
    pub fn since(&self) -> Option<NaiveDate> {
        self.since
    }
    /// Where the entry comes from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// One line of the canonical text the registry's digest is taken over.
    fn canonical(&self) -> String {
        let categories: Vec<&str> = self.data_categories.iter().map(|c| c.as_str()).collect();
        let origin = match &self.origin {
            Origin::Operator => "operator".to_owned(),
            Origin::Adapter(id) => format!("adapter:{}", id.as_str()),
        };
        let location = match &self.location {
            Location::Country(code) => format!("country:{code}"),
            Location::Eea => "eea".to_owned(),
            Location::Declared(words) => format!("declared:{words}"),
            Location::NotCommitted => "not_committed".to_owned(),
            Location::Unknown => "unknown".to_owned(),
        };
        // Tabs separate fields; no parsed field holds a control character.
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.name.as_str(),
            self.purpose.as_str(),
            categories.join(","),
            location,
            self.transfer.as_str(),
            self.agreement.as_ref().map(Agreement::as_str).unwrap_or(""),
            self.since.map(|d| d.to_string()).unwrap_or_default(),
            origin,
        )
    }
}

/// A list of subprocessors: names unique, ordered by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registry {
    entries: Vec<Subprocessor>,
}

/// What changed between two lists, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// Names in the new list only.
    pub added: Vec<Name>,
    /// Names in the old list only.
    pub removed: Vec<Name>,
    /// Names in both whose entry differs.
    pub changed: Vec<Name>,
}

impl Registry {
    /// A registry of `entries`; refused when two have the same name.
    pub fn new(mut entries: Vec<Subprocessor>) -> Result<Self, SubprocessorError> {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if entries.windows(2).any(|pair| pair[0].name == pair[1].name) {
            return Err(SubprocessorError::DuplicateName);
        }
        Ok(Self { entries })
    }

    /// The entries, by name.
    pub fn entries(&self) -> &[Subprocessor] {
        &self.entries
    }

    /// The SHA-256 (hex) of the list's canonical text: two registries with the same
    /// entries have the same digest, and a version is recorded per digest change.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for entry in &self.entries {
            hasher.update(entry.canonical().as_bytes());
            hasher.update(b"\n");
        }
        hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// What changed from `before` to this list.
    pub fn changes_since(&self, before: &Registry) -> Changes {
        let old: BTreeMap<&Name, &Subprocessor> =
            before.entries.iter().map(|e| (&e.name, e)).collect();
        let new: BTreeMap<&Name, &Subprocessor> =
            self.entries.iter().map(|e| (&e.name, e)).collect();
        Changes {
            added: new
                .keys()
                .filter(|name| !old.contains_key(*name))
                .map(|name| (*name).clone())
                .collect(),
            removed: old
                .keys()
                .filter(|name| !new.contains_key(*name))
                .map(|name| (*name).clone())
                .collect(),
            changed: new
                .iter()
                .filter(|(name, entry)| old.get(*name).is_some_and(|was| was != *entry))
                .map(|(name, _)| (*name).clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
