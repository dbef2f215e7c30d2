//! The deployment's agreements with providers: what this organisation has signed with a
//! provider beyond its published terms, as typed clauses.
//!
//! An [`Agreement`] has the operator's reference, the day it was signed and the clauses it
//! grants: no training on our data, a bound on retention (or the provider's own
//! zero-data-retention arrangement), a region. The operator writes them in the
//! subprocessors file (`[[agreement]]`); the older per-provider setting
//! `ICECONE_<PROVIDER>_ZDR_CONTRACT` is an agreement with the one clause
//! [`RetentionClause::ZeroDataRetention`] and no date. Policy combines them with the
//! provider's declared terms clause by clause (`policy::effective_policy`); an agreement can
//! only make a claim stronger, never weaker.

use std::fmt;

use chrono::NaiveDate;

use super::ProviderId;

/// The operator's reference of an agreement: 1 to 200 printable characters, published on
/// `/privacy` and in `providers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    /// The longest reference accepted.
    pub const MAX_LEN: usize = 200;

    /// Parses a reference, trimmed.
    pub fn parse(text: &str) -> Result<Self, AgreementError> {
        let text = text.trim();
        let printable = text.chars().all(|c| !c.is_control());
        if text.is_empty() || text.chars().count() > Self::MAX_LEN || !printable {
            return Err(AgreementError::InvalidReference);
        }
        Ok(Self(text.to_owned()))
    }

    /// The reference as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an agreement says about how long the provider keeps our data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetentionClause {
    /// The provider's own zero-data-retention arrangement, granted to this organisation:
    /// nothing kept, with the exceptions the provider documents. It has effect only where
    /// the provider's terms offer zero data retention by contract.
    ZeroDataRetention,
    /// Kept at most this many days (`0`: not kept once the request is answered).
    AtMostDays(u32),
}

/// A region an agreement pins processing to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgreedRegion {
    /// The European Union.
    Eu,
    /// The European Economic Area.
    Eea,
    /// The United Kingdom.
    Uk,
    /// Switzerland.
    Ch,
    /// The United States.
    Us,
    /// Canada.
    Ca,
    /// Japan.
    Jp,
    /// Australia.
    Au,
}

impl AgreedRegion {
    /// Every region, in the order the codes are listed in messages.
    pub const ALL: [Self; 8] = [
        Self::Eu,
        Self::Eea,
        Self::Uk,
        Self::Ch,
        Self::Us,
        Self::Ca,
        Self::Jp,
        Self::Au,
    ];

    /// The code the operator writes (`EU`, `US`, ...).
    pub const fn code(self) -> &'static str {
        match self {
            Self::Eu => "EU",
            Self::Eea => "EEA",
            Self::Uk => "UK",
            Self::Ch => "CH",
            Self::Us => "US",
            Self::Ca => "CA",
            Self::Jp => "JP",
            Self::Au => "AU",
        }
    }

    /// The region's name, as a policy's region claim reads.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Eu => "European Union",
            Self::Eea => "European Economic Area",
            Self::Uk => "United Kingdom",
            Self::Ch => "Switzerland",
            Self::Us => "United States",
            Self::Ca => "Canada",
            Self::Jp => "Japan",
            Self::Au => "Australia",
        }
    }

    /// Parses a code, case-insensitively.
    pub fn parse(text: &str) -> Result<Self, AgreementError> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|region| region.code().eq_ignore_ascii_case(text))
            .ok_or(AgreementError::UnknownRegion)
    }
}

/// What an agreement grants beyond the provider's published terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Clauses {
    /// The provider does not use our data for training.
    pub no_training: bool,
    /// How long the provider keeps our data, if the agreement says.
    pub retention: Option<RetentionClause>,
    /// Where the provider processes our data, if the agreement pins it.
    pub region: Option<AgreedRegion>,
}

impl Clauses {
    /// Whether the agreement grants anything at all.
    pub fn is_empty(&self) -> bool {
        !self.no_training && self.retention.is_none() && self.region.is_none()
    }
}

/// One clause, as `providers` and `/privacy` list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clause {
    /// [`Clauses::no_training`].
    NoTraining,
    /// [`RetentionClause::ZeroDataRetention`].
    ZeroDataRetention,
    /// [`RetentionClause::AtMostDays`].
    RetentionAtMostDays(u32),
    /// [`Clauses::region`].
    Region(AgreedRegion),
}

/// A deployment's agreement with one provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Agreement {
    provider: ProviderId,
    reference: Reference,
    signed_on: Option<NaiveDate>,
    clauses: Clauses,
}

/// Why an agreement as written cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// The provider id is not one.
    #[error("`provider` must be a provider id such as `stability`")]
    InvalidProvider,
    /// The reference is empty, too long or has control characters.
    #[error("`reference` must be 1 to 200 printable characters")]
    InvalidReference,
    /// The day it was signed is not a date.
    #[error("`signed_on` must be a date, YYYY-MM-DD")]
    InvalidSignedOn,
    /// It was signed in the future.
    #[error("`signed_on` must not be in the future")]
    SignedInTheFuture,
    /// It grants nothing.
    #[error(
        "an agreement must grant at least one clause: no_training, zero_data_retention, retention_days or region"
    )]
    NoClause,
    /// It states retention twice.
    #[error("`zero_data_retention` and `retention_days` cannot both be given")]
    TwoRetentionClauses,
    /// A retention bound that is not a number of days.
    #[error("`retention_days` must be a whole number of days from 0 to 3650")]
    InvalidRetentionDays,
    /// An unknown region code.
    #[error("`region` must be one of EU, EEA, UK, CH, US, CA, JP, AU")]
    UnknownRegion,
}

/// An agreement as the operator wrote it, before parsing.
#[derive(Debug, Clone, Copy, Default)]
pub struct WrittenAgreement<'a> {
    /// The provider's id.
    pub provider: &'a str,
    /// The operator's reference.
    pub reference: &'a str,
    /// The day it was signed, `YYYY-MM-DD`.
    pub signed_on: &'a str,
    /// `no_training = true`.
    pub no_training: bool,
    /// `zero_data_retention = true`.
    pub zero_data_retention: bool,
    /// `retention_days = N`.
    pub retention_days: Option<i64>,
    /// `region = "EU"`.
    pub region: Option<&'a str>,
}

impl Agreement {
    /// The longest retention bound an agreement may state (ten years).
    pub const MAX_RETENTION_DAYS: u32 = 3650;

    /// Parses an agreement of the operator's file, signed on or before `today`.
    pub fn parse(written: WrittenAgreement<'_>, today: NaiveDate) -> Result<Self, AgreementError> {
        let provider = ProviderId::parse(written.provider.trim())
            .map_err(|_| AgreementError::InvalidProvider)?;
        let reference = Reference::parse(written.reference)?;
        let signed_on = NaiveDate::parse_from_str(written.signed_on.trim(), "%Y-%m-%d")
            .map_err(|_| AgreementError::InvalidSignedOn)?;
        if signed_on > today {
            return Err(AgreementError::SignedInTheFuture);
        }
        let retention = match (written.zero_data_retention, written.retention_days) {
            (true, Some(_)) => return Err(AgreementError::TwoRetentionClauses),
            (true, None) => Some(RetentionClause::ZeroDataRetention),
            (false, Some(days)) => {
                let days = u32::try_from(days)
                    .ok()
                    .filter(|&days| days <= Self::MAX_RETENTION_DAYS)
                    .ok_or(AgreementError::InvalidRetentionDays)?;
                Some(RetentionClause::AtMostDays(days))
            }
            (false, None) => None,
        };
        let region = written.region.map(AgreedRegion::parse).transpose()?;
        let clauses = Clauses {
            no_training: written.no_training,
            retention,
            region,
        };
        if clauses.is_empty() {
            return Err(AgreementError::NoClause);
        }
        Ok(Self {
            provider,
            reference,
            signed_on: Some(signed_on),
            clauses,
        })
    }

    /// The agreement the setting `ICECONE_<PROVIDER>_ZDR_CONTRACT` records: the provider's
    /// zero-data-retention arrangement, known by `reference`, with no date.
    pub fn zero_data_retention(
        provider: ProviderId,
        reference: &str,
    ) -> Result<Self, AgreementError> {
        Ok(Self {
            provider,
            reference: Reference::parse(reference)?,
            signed_on: None,
            clauses: Clauses {
                retention: Some(RetentionClause::ZeroDataRetention),
                ..Clauses::default()
            },
        })
    }

    /// The provider the agreement is with.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// The operator's reference.
    pub fn reference(&self) -> &str {
        self.reference.as_str()
    }

    /// The day it was signed (unknown for an agreement recorded by the ZDR setting).
    pub fn signed_on(&self) -> Option<NaiveDate> {
        self.signed_on
    }

    /// What it grants.
    pub fn clauses(&self) -> &Clauses {
        &self.clauses
    }

    /// What it grants, one clause at a time, in a fixed order.
    pub fn clause_list(&self) -> Vec<Clause> {
        let mut list = Vec::with_capacity(3);
        if self.clauses.no_training {
            list.push(Clause::NoTraining);
        }
        match self.clauses.retention {
            Some(RetentionClause::ZeroDataRetention) => list.push(Clause::ZeroDataRetention),
            Some(RetentionClause::AtMostDays(days)) => list.push(Clause::RetentionAtMostDays(days)),
            None => {}
        }
        if let Some(region) = self.clauses.region {
            list.push(Clause::Region(region));
        }
        list
    }
}

impl fmt::Debug for Agreement {
    /// The provider and the clauses; the reference is the operator's and stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agreement")
            .field("provider", &self.provider)
            .field("signed_on", &self.signed_on)
            .field("clauses", &self.clauses)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 7) {
        Some(day) => day,
        None => panic!("invalid date"),
    };

    fn written() -> WrittenAgreement<'static> {
        WrittenAgreement {
            provider: "stability",
            reference: " SA-2026-118 ",
            signed_on: "2026-10-01",
            no_training: true,
            ..WrittenAgreement::default()
        }
    }

    #[test]
    fn an_agreement_is_parsed_clause_by_clause_or_refused_with_the_reason() {
        let with = |change: fn(&mut WrittenAgreement<'static>)| {
            let mut agreement = written();
            change(&mut agreement);
            Agreement::parse(agreement, TODAY)
        };
        let cases: Vec<(&str, Result<Vec<Clause>, AgreementError>)> = vec![
            ("training only", with(|_| {}).map(|a| a.clause_list())),
            (
                "all three",
                with(|a| {
                    a.retention_days = Some(30);
                    a.region = Some("eu");
                })
                .map(|a| a.clause_list()),
            ),
            (
                "zero retention",
                with(|a| {
                    a.no_training = false;
                    a.zero_data_retention = true;
                })
                .map(|a| a.clause_list()),
            ),
            (
                "nothing granted",
                with(|a| a.no_training = false).map(|a| a.clause_list()),
            ),
            (
                "two retentions",
                with(|a| {
                    a.zero_data_retention = true;
                    a.retention_days = Some(0);
                })
                .map(|a| a.clause_list()),
            ),
            (
                "negative days",
                with(|a| a.retention_days = Some(-1)).map(|a| a.clause_list()),
            ),
            (
                "too many days",
                with(|a| a.retention_days = Some(3651)).map(|a| a.clause_list()),
            ),
            (
                "unknown region",
                with(|a| a.region = Some("Mars")).map(|a| a.clause_list()),
            ),
            (
                "future",
                with(|a| a.signed_on = "2026-12-08").map(|a| a.clause_list()),
            ),
            (
                "not a date",
                with(|a| a.signed_on = "1 October").map(|a| a.clause_list()),
            ),
            (
                "blank reference",
                with(|a| a.reference = "  ").map(|a| a.clause_list()),
            ),
            (
                "bad provider",
                with(|a| a.provider = "Stability AI").map(|a| a.clause_list()),
            ),
        ];
        let expected: Vec<Result<Vec<Clause>, AgreementError>> = vec![
            Ok(vec![Clause::NoTraining]),
            Ok(vec![
                Clause::NoTraining,
                Clause::RetentionAtMostDays(30),
                Clause::Region(AgreedRegion::Eu),
            ]),
            Ok(vec![Clause::ZeroDataRetention]),
            Err(AgreementError::NoClause),
            Err(AgreementError::TwoRetentionClauses),
            Err(AgreementError::InvalidRetentionDays),
            Err(AgreementError::InvalidRetentionDays),
            Err(AgreementError::UnknownRegion),
            Err(AgreementError::SignedInTheFuture),
            Err(AgreementError::InvalidSignedOn),
            Err(AgreementError::InvalidReference),
            Err(AgreementError::InvalidProvider),
        ];
        for ((case, got), want) in cases.into_iter().zip(expected) {
            assert_eq!(got, want, "{case}");
        }
        let parsed = Agreement::parse(written(), TODAY).expect("valid");
        assert_eq!(parsed.reference(), "SA-2026-118");
        assert_eq!(parsed.signed_on(), NaiveDate::from_ymd_opt(2026, 10, 1));
        assert_eq!(parsed.provider().as_str(), "stability");
    }

    #[test]
    fn the_zdr_setting_is_an_undated_zero_retention_agreement_and_debug_hides_the_reference() {
        let provider = ProviderId::parse("openai").expect("valid");
        let agreement = Agreement::zero_data_retention(provider.clone(), " ZDR-7 ").expect("valid");
        assert_eq!(agreement.clause_list(), vec![Clause::ZeroDataRetention]);
        assert_eq!(agreement.signed_on(), None);
        assert_eq!(agreement.reference(), "ZDR-7");
        assert!(!format!("{agreement:?}").contains("ZDR-7"));
        for bad in ["", "a\nb", &"x".repeat(201)] {
            assert_eq!(
                Agreement::zero_data_retention(provider.clone(), bad),
                Err(AgreementError::InvalidReference),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn region_codes_parse_case_insensitively_and_name_their_region() {
        for region in AgreedRegion::ALL {
            assert_eq!(AgreedRegion::parse(region.code()), Ok(region));
            assert_eq!(
                AgreedRegion::parse(&region.code().to_lowercase()),
                Ok(region)
            );
            assert!(!region.name().is_empty());
        }
        assert_eq!(
            AgreedRegion::parse("DE"),
            Err(AgreementError::UnknownRegion)
        );
    }
}
