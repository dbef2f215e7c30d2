//! The privacy policy version a person accepts at sign-up.
//!
//! Sign-up records the version the person accepted, and it must be the current one of the
//! history the gateway runs with: an account is never created under a policy IceCone no
//! longer publishes. The versions themselves are `crate::consent::policy`'s.

use std::fmt;

use crate::consent::policy::PolicyHistory;

/// The version of the privacy policy currently published (the last of
/// [`crate::consent::policy::HISTORY`]).
pub const CURRENT_POLICY_VERSION: &str = crate::consent::policy::CURRENT.version;

/// A privacy policy version known to be the current one when it was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyVersion(&'static str);

/// The policy version given is not the current one (outdated, misspelt or unknown); names
/// the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the accepted privacy policy version is not the current one ({0})")]
pub struct OutdatedPolicy(pub &'static str);

impl PolicyVersion {
    /// The current version of the published history ([`CURRENT_POLICY_VERSION`]).
    pub fn current() -> Self {
        Self(CURRENT_POLICY_VERSION)
    }

    /// The current version of `history`.
    pub fn current_of(history: PolicyHistory) -> Self {
        Self(history.current().version)
    }

    /// Accepts `text` only when it is exactly the current version of `history`.
    pub fn parse_current(text: &str, history: PolicyHistory) -> Result<Self, OutdatedPolicy> {
        let current = history.current().version;
        if text == current {
            Ok(Self(current))
        } else {
            Err(OutdatedPolicy(current))
        }
    }

    /// The version, as published (`YYYY-MM-DD`).
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_policy_version_is_accepted() {
        let outdated = Err(OutdatedPolicy(CURRENT_POLICY_VERSION));
        let cases = [
            ("2026-11-28", Ok(CURRENT_POLICY_VERSION)),
            ("2025-01-01", outdated),
            (" 2026-11-28", outdated),
            ("2026-11-28 ", outdated),
            ("", outdated),
            ("latest", outdated),
        ];
        for (input, expected) in cases {
            assert_eq!(
                PolicyVersion::parse_current(input, PolicyHistory::published()).map(|v| v.as_str()),
                expected,
                "input {input:?}"
            );
        }
        assert_eq!(PolicyVersion::current().to_string(), CURRENT_POLICY_VERSION);
    }

    #[test]
    fn under_a_longer_history_only_its_last_version_is_accepted() {
        use crate::consent::Purpose;
        use crate::consent::policy::{HISTORY, PublishedPolicy};
        static LONGER: [PublishedPolicy; 2] = [
            HISTORY[0],
            PublishedPolicy {
                version: "2027-01-01",
                effective_on: match chrono::NaiveDate::from_ymd_opt(2027, 1, 1) {
                    Some(date) => date,
                    None => panic!("date"),
                },
                changed: &[Purpose::Marketing],
                summary: "A later version.",
            },
        ];
        let history = PolicyHistory::parse(&LONGER).expect("a valid history");
        assert_eq!(
            PolicyVersion::parse_current("2027-01-01", history).map(|v| v.as_str()),
            Ok("2027-01-01")
        );
        assert_eq!(
            PolicyVersion::parse_current(CURRENT_POLICY_VERSION, history),
            Err(OutdatedPolicy("2027-01-01"))
        );
        assert_eq!(PolicyVersion::current_of(history).as_str(), "2027-01-01");
    }
}
