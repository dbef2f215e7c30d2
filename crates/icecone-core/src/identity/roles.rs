//! Staff roles and the role rules that staff fields declare.
//!
//! A staff field names one [`RoleRule`]; the gateway grants it when [`RoleRule::allows`] says
//! the caller's roles meet it (and the caller has a fresh enough second factor, which is not
//! this module's concern). `ADMIN` meets every rule. `AUDITOR` reads the audit trail and
//! nothing else: it is deliberately not part of [`RoleRule::SupportOrAbove`], so whoever
//! checks the trail cannot also read the people it is about. `ANALYST` reads anonymised
//! aggregates and nothing else, for the same reason.

use std::fmt;

/// A role a staff account can hold. An account may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// Answers people's requests: reads accounts, with a recorded reason.
    Support,
    /// The data protection officer: handles data subject requests and the privacy policy.
    Dpo,
    /// Reads the audit trail, nothing else.
    Auditor,
    /// Manages staff accounts and roles; meets every rule.
    Admin,
    /// Reads anonymised aggregates (`analytics`), nothing else.
    Analyst,
}

/// A role name that is not one of [`StaffRole::ALL`]. The message does not repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown staff role (expected SUPPORT, DPO, AUDITOR, ADMIN or ANALYST)")]
pub struct UnknownRole;

impl StaffRole {
    /// Every role, in a fixed order.
    pub const ALL: [StaffRole; 5] = [
        Self::Support,
        Self::Dpo,
        Self::Auditor,
        Self::Admin,
        Self::Analyst,
    ];

    /// The role's stable name, as stored and as shown in the GraphQL schema (`SUPPORT`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Support => "SUPPORT",
            Self::Dpo => "DPO",
            Self::Auditor => "AUDITOR",
            Self::Admin => "ADMIN",
            Self::Analyst => "ANALYST",
        }
    }

    /// Parses a stable name, exactly as [`StaffRole::as_str`] writes it.
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or(UnknownRole)
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a staff field requires: any one of the rule's [`roles`](RoleRule::roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleRule {
    /// SUPPORT, DPO or ADMIN: reading a person's account for support.
    SupportOrAbove,
    /// DPO or ADMIN: data subject requests, policy changes.
    Dpo,
    /// AUDITOR, DPO or ADMIN: reading the audit trail.
    AuditReaders,
    /// ADMIN only: staff accounts and roles, keys.
    Admin,
    /// ANALYST or ADMIN: anonymised aggregates.
    Analysts,
}

impl RoleRule {
    /// Every rule, in a fixed order.
    pub const ALL: [RoleRule; 5] = [
        Self::SupportOrAbove,
        Self::Dpo,
        Self::AuditReaders,
        Self::Admin,
        Self::Analysts,
    ];

    /// The roles that meet this rule; holding any one of them is enough.
    pub fn roles(self) -> &'static [StaffRole] {
        match self {
            Self::SupportOrAbove => &[StaffRole::Support, StaffRole::Dpo, StaffRole::Admin],
            Self::Dpo => &[StaffRole::Dpo, StaffRole::Admin],
            Self::AuditReaders => &[StaffRole::Auditor, StaffRole::Dpo, StaffRole::Admin],
            Self::Admin => &[StaffRole::Admin],
            Self::Analysts => &[StaffRole::Analyst, StaffRole::Admin],
        }
    }

    /// Whether someone holding `held` meets this rule. Holding no role meets no rule.
    pub fn allows(self, held: &[StaffRole]) -> bool {
        held.iter().any(|role| self.roles().contains(role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_allows_exactly_its_roles() {
        use StaffRole::{Admin, Analyst, Auditor, Dpo, Support};
        // (rule, [SUPPORT, DPO, AUDITOR, ADMIN, ANALYST] allowed?)
        let table = [
            (RoleRule::SupportOrAbove, [true, true, false, true, false]),
            (RoleRule::Dpo, [false, true, false, true, false]),
            (RoleRule::AuditReaders, [false, true, true, true, false]),
            (RoleRule::Admin, [false, false, false, true, false]),
            (RoleRule::Analysts, [false, false, false, true, true]),
        ];
        assert_eq!(table.map(|(rule, _)| rule), RoleRule::ALL);
        for (rule, allowed) in table {
            for (role, expected) in [Support, Dpo, Auditor, Admin, Analyst]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(rule.allows(&[role]), expected, "{rule:?} × {role:?}");
                assert_eq!(
                    rule.roles().contains(&role),
                    expected,
                    "{rule:?} × {role:?}"
                );
            }
            assert!(!rule.allows(&[]), "{rule:?} with no role");
            assert!(rule.allows(&StaffRole::ALL), "{rule:?} with every role");
        }
    }

    #[test]
    fn holding_one_matching_role_among_others_is_enough() {
        assert!(RoleRule::Dpo.allows(&[StaffRole::Support, StaffRole::Dpo]));
        assert!(!RoleRule::Dpo.allows(&[StaffRole::Support, StaffRole::Auditor]));
    }

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for role in StaffRole::ALL {
            assert_eq!(StaffRole::parse(role.as_str()), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        for text in ["", "admin", "ROOT", " ADMIN", "SUPPORT,DPO"] {
            assert_eq!(StaffRole::parse(text), Err(UnknownRole), "{text:?}");
        }
    }
}
