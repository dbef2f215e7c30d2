//! The purposes of processing of the API sketch, with everything the law and the privacy
//! policy attach to each.

use std::fmt;

/// Why personal data is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// Providing the service: the account, customer support.
    ServiceProvision,
    /// Generating content with AI providers, as the person asks.
    AiGeneration,
    /// Keeping the service and its accounts secure.
    Security,
    /// Improving IceCone's algorithms and features with the person's content.
    Improvement,
    /// Personalised features derived from the person's own history.
    Personalization,
    /// Optional marketing communications.
    Marketing,
    /// Anonymised, aggregated analytics.
    Analytics,
    /// Complying with the law and protecting against fraud or abuse.
    LegalCompliance,
}

/// Why processing for a purpose is lawful (GDPR Art. 6(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegalBasis {
    /// Necessary for the contract with the person (Art. 6(1)(b)).
    Contract,
    /// IceCone's legitimate interest, balanced against the person's (Art. 6(1)(f)).
    LegitimateInterest,
    /// The person's consent, freely given and withdrawable (Art. 6(1)(a)).
    Consent,
    /// A legal obligation (Art. 6(1)(c)).
    LegalObligation,
}

/// A purpose name that is not one of [`Purpose::ALL`]. The message does not repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown purpose")]
pub struct UnknownPurpose;

impl Purpose {
    /// Every purpose, in the order of the API sketch.
    pub const ALL: [Self; 8] = [
        Self::ServiceProvision,
        Self::AiGeneration,
        Self::Security,
        Self::Improvement,
        Self::Personalization,
        Self::Marketing,
        Self::Analytics,
        Self::LegalCompliance,
    ];

    /// The stable name, as stored and as shown in the GraphQL schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceProvision => "SERVICE_PROVISION",
            Self::AiGeneration => "AI_GENERATION",
            Self::Security => "SECURITY",
            Self::Improvement => "IMPROVEMENT",
            Self::Personalization => "PERSONALIZATION",
            Self::Marketing => "MARKETING",
            Self::Analytics => "ANALYTICS",
            Self::LegalCompliance => "LEGAL_COMPLIANCE",
        }
    }

    /// Parses a stable name, exactly as [`Purpose::as_str`] writes it.
    pub fn parse(text: &str) -> Result<Self, UnknownPurpose> {
        Self::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == text)
            .ok_or(UnknownPurpose)
    }

    /// The legal basis IceCone relies on.
    pub fn legal_basis(self) -> LegalBasis {
        match self {
            Self::ServiceProvision | Self::AiGeneration => LegalBasis::Contract,
            Self::Security => LegalBasis::LegitimateInterest,
            Self::Improvement | Self::Personalization | Self::Marketing | Self::Analytics => {
                LegalBasis::Consent
            }
            Self::LegalCompliance => LegalBasis::LegalObligation,
        }
    }

    /// Whether the purpose rests on consent: off until the person turns it on, and the person
    /// can turn it off (withdraw) or object to it at any time.
    pub fn needs_consent(self) -> bool {
        self.legal_basis() == LegalBasis::Consent
    }

    /// Whether processing for the purpose happens without anyone asking: everything that does
    /// not need consent. Consent-based purposes default to off.
    pub fn on_by_default(self) -> bool {
        !self.needs_consent()
    }

    /// Whether the purpose continues while processing is restricted (GDPR Art. 18(2)): only
    /// what protects the service and its users and what the law requires.
    pub fn survives_restriction(self) -> bool {
        matches!(self, Self::Security | Self::LegalCompliance)
    }

    /// The purpose's data use in the fideslang taxonomy.
    pub fn data_use(self) -> &'static str {
        match self {
            Self::ServiceProvision => "essential.service",
            Self::AiGeneration => "essential.service.operations",
            Self::Security => "essential.service.security",
            Self::Improvement => "train_ai_system",
            Self::Personalization => "personalize",
            Self::Marketing => "marketing.communications",
            Self::Analytics => "analytics.reporting",
            Self::LegalCompliance => "essential.legal_obligation",
        }
    }

    /// The categories of personal data the purpose uses, in the fideslang taxonomy, as the
    /// privacy page publishes them: what the code of each purpose reads.
    pub fn data_categories(self) -> &'static [&'static str] {
        match self {
            Self::ServiceProvision => &[
                "user.contact.email",
                "user.name",
                "user.authorization.credentials",
                "user.content.private",
            ],
            Self::AiGeneration => &["user.content.private", "user.unique_id.pseudonymous"],
            Self::Security => &[
                "user.authorization.credentials",
                "user.device.ip_address",
                "user.behavior.session",
            ],
            Self::Improvement => &["user.content.private"],
            Self::Personalization => &["user.content.private", "user.behavior"],
            Self::Marketing => &["user.contact.email"],
            Self::Analytics => &["user.behavior"],
            Self::LegalCompliance => &["user.contact.email", "user.content.private"],
        }
    }

    /// What the privacy policy says the purpose is.
    pub fn description(self) -> &'static str {
        match self {
            Self::ServiceProvision => {
                "To provide AI content generation, account management, and customer support."
            }
            Self::AiGeneration => {
                "To generate the text, images and video you ask for, through the AI providers \
                 listed in this policy."
            }
            Self::Security => "To ensure service functionality, security, and performance.",
            Self::Improvement => {
                "To enhance our algorithms, develop new features, and improve user experience \
                 — with your content only if you consent."
            }
            Self::Personalization => {
                "To enhance your experience and provide personalized features (with your \
                 consent)."
            }
            Self::Marketing => "To send optional marketing communications (with your consent).",
            Self::Analytics => {
                "To understand how the service is used, from anonymized and aggregated data \
                 (with your consent)."
            }
            Self::LegalCompliance => {
                "To comply with applicable laws and protect against fraud or abuse."
            }
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_names_the_data_categories_it_uses() {
        // (purpose, the fideslang data categories it uses)
        let table: [(Purpose, &[&str]); 8] = [
            (
                Purpose::ServiceProvision,
                &[
                    "user.contact.email",
                    "user.name",
                    "user.authorization.credentials",
                    "user.content.private",
                ],
            ),
            (
                Purpose::AiGeneration,
                &["user.content.private", "user.unique_id.pseudonymous"],
            ),
            (
                Purpose::Security,
                &[
                    "user.authorization.credentials",
                    "user.device.ip_address",
                    "user.behavior.session",
                ],
            ),
            (Purpose::Improvement, &["user.content.private"]),
            (
                Purpose::Personalization,
                &["user.content.private", "user.behavior"],
            ),
            (Purpose::Marketing, &["user.contact.email"]),
            (Purpose::Analytics, &["user.behavior"]),
            (
                Purpose::LegalCompliance,
                &["user.contact.email", "user.content.private"],
            ),
        ];
        for (purpose, categories) in table {
            assert_eq!(purpose.data_categories(), categories, "{purpose}");
        }
        assert_eq!(table.len(), Purpose::ALL.len());
    }

    #[test]
    fn every_purpose_has_its_basis_default_and_data_use() {
        use LegalBasis::{Consent, Contract, LegalObligation, LegitimateInterest};
        // (purpose, basis, on by default, survives restriction, fideslang data use)
        let table = [
            (
                Purpose::ServiceProvision,
                Contract,
                true,
                false,
                "essential.service",
            ),
            (
                Purpose::AiGeneration,
                Contract,
                true,
                false,
                "essential.service.operations",
            ),
            (
                Purpose::Security,
                LegitimateInterest,
                true,
                true,
                "essential.service.security",
            ),
            (
                Purpose::Improvement,
                Consent,
                false,
                false,
                "train_ai_system",
            ),
            (
                Purpose::Personalization,
                Consent,
                false,
                false,
                "personalize",
            ),
            (
                Purpose::Marketing,
                Consent,
                false,
                false,
                "marketing.communications",
            ),
            (
                Purpose::Analytics,
                Consent,
                false,
                false,
                "analytics.reporting",
            ),
            (
                Purpose::LegalCompliance,
                LegalObligation,
                true,
                true,
                "essential.legal_obligation",
            ),
        ];
        assert_eq!(table.map(|row| row.0), Purpose::ALL);
        for (purpose, basis, default, survives, data_use) in table {
            assert_eq!(purpose.legal_basis(), basis, "{purpose}");
            assert_eq!(purpose.on_by_default(), default, "{purpose}");
            assert_eq!(purpose.needs_consent(), !default, "{purpose}");
            assert_eq!(purpose.survives_restriction(), survives, "{purpose}");
            assert_eq!(purpose.data_use(), data_use, "{purpose}");
            assert!(!purpose.description().is_empty(), "{purpose}");
        }
    }

    #[test]
    fn purpose_names_round_trip_and_unknown_names_are_refused() {
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.as_str()), Ok(purpose));
            assert_eq!(purpose.to_string(), purpose.as_str());
        }
        for text in ["", "marketing", "MARKETING ", "SELLING"] {
            assert_eq!(Purpose::parse(text), Err(UnknownPurpose), "{text:?}");
        }
    }
}
