//! Disclosures required by law: an authority's request for a person's data, recorded by the
//! data protection officer and approved or refused by an administrator who is not the one
//! who recorded it (four eyes).
//!
//! [`lifecycle`] is where a request stands and which steps it allows; [`notice`] is the one
//! decision of whether the person may be shown or told of a disclosure now (mail, `me`
//! and export all ask it); [`report`] turns approved disclosures into the published
//! transparency report, small counts suppressed. The vocabulary — who asked
//! ([`AuthorityType`]) and what for ([`DisclosedCategory`]) — is here.

pub mod lifecycle;
pub mod notice;
pub mod report;

/// The kind of authority a request comes from (what the transparency report counts by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthorityType {
    /// A court or a judge.
    Court,
    /// The police, a prosecutor or another law-enforcement body.
    Police,
    /// A regulator (a data protection or consumer authority, a sector regulator).
    Regulator,
    /// A tax authority.
    Tax,
    /// Any other public authority the law empowers to ask.
    Other,
}

impl AuthorityType {
    /// Every type, in the order of the API and the report.
    pub const ALL: [Self; 5] = [
        Self::Court,
        Self::Police,
        Self::Regulator,
        Self::Tax,
        Self::Other,
    ];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Court => "COURT",
            Self::Police => "POLICE",
            Self::Regulator => "REGULATOR",
            Self::Tax => "TAX",
            Self::Other => "OTHER",
        }
    }

    /// The type named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A kind of a person's data an authority asks for: named after the sections of the
/// person's export, so that what was disclosed reads as what the person can see of
/// themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DisclosedCategory {
    /// The account: e-mail address, plan, creation and verification dates, roles.
    Account,
    /// Sign-in sessions and when they were used.
    Sessions,
    /// Generations: prompts and outputs.
    Generations,
    /// The consent history.
    ConsentHistory,
    /// Usage counters.
    Usage,
    /// Notifications sent to the person.
    Notifications,
    /// Data subject requests.
    DataRequests,
    /// Messages to the data protection officer.
    PrivacyTickets,
    /// Grants to partners.
    PartnerGrants,
    /// Audit entries naming the account.
    AuditEntries,
}

impl DisclosedCategory {
    /// Every category, in the order of the API.
    pub const ALL: [Self; 10] = [
        Self::Account,
        Self::Sessions,
        Self::Generations,
        Self::ConsentHistory,
        Self::Usage,
        Self::Notifications,
        Self::DataRequests,
        Self::PrivacyTickets,
        Self::PartnerGrants,
        Self::AuditEntries,
    ];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "ACCOUNT",
            Self::Sessions => "SESSIONS",
            Self::Generations => "GENERATIONS",
            Self::ConsentHistory => "CONSENT_HISTORY",
            Self::Usage => "USAGE",
            Self::Notifications => "NOTIFICATIONS",
            Self::DataRequests => "DATA_REQUESTS",
            Self::PrivacyTickets => "PRIVACY_TICKETS",
            Self::PartnerGrants => "PARTNER_GRANTS",
            Self::AuditEntries => "AUDIT_ENTRIES",
        }
    }

    /// The category named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == text)
    }

    /// The section of the person's export holding this data (as the personal-data
    /// registry names it).
    pub fn export_section(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Sessions => "sessions",
            Self::Generations => "generations",
            Self::ConsentHistory => "consentHistory",
            Self::Usage => "usage",
            Self::Notifications => "notifications",
            Self::DataRequests => "dataRequests",
            Self::PrivacyTickets => "privacyTickets",
            Self::PartnerGrants => "partnerGrants",
            Self::AuditEntries => "auditEntries",
        }
    }

    /// Parses a stored list (names joined by `,`); `None` when a name is unknown.
    pub fn parse_list(text: &str) -> Option<Vec<Self>> {
        if text.is_empty() {
            return Some(Vec::new());
        }
        text.split(',').map(Self::parse).collect()
    }

    /// The stored form of `categories`: their names, sorted, without repeats, joined by `,`.
    pub fn join(categories: &[Self]) -> String {
        let mut sorted = categories.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        sorted
            .iter()
            .map(|category| category.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_a_category_list_is_stored_sorted_once_each() {
        for kind in AuthorityType::ALL {
            assert_eq!(AuthorityType::parse(kind.as_str()), Some(kind));
        }
        for category in DisclosedCategory::ALL {
            assert_eq!(DisclosedCategory::parse(category.as_str()), Some(category));
        }
        assert_eq!(AuthorityType::parse("court"), None);
        use DisclosedCategory as C;
        let stored = C::join(&[C::Generations, C::Account, C::Generations]);
        assert_eq!(stored, "ACCOUNT,GENERATIONS");
        assert_eq!(
            C::parse_list(&stored),
            Some(vec![C::Account, C::Generations])
        );
        assert_eq!(C::parse_list(""), Some(vec![]));
        assert_eq!(C::parse_list("ACCOUNT,PASSWORDS"), None);
    }

    #[test]
    fn every_category_names_its_own_export_section() {
        let mut sections: Vec<_> = DisclosedCategory::ALL
            .iter()
            .map(|category| category.export_section())
            .collect();
        sections.sort_unstable();
        sections.dedup();
        assert_eq!(sections.len(), DisclosedCategory::ALL.len());
    }
}
