//! The privacy policy version a person accepts at sign-up.
//!
//! Sign-up records the version the person accepted, and it must be the current one: an
//! account is never created under a policy IceCone no longer publishes. This module is
//! deliberately minimal; the full registry of published versions (with their dates and what
//! changed) replaces it later.

use std::fmt;

/// The version of the privacy policy currently published.
pub const CURRENT_POLICY_VERSION: &str = crate::consent::policy::CURRENT.version;

/// A privacy policy version known to be the current one when it was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyVersion(&'static str);

/// The policy version given is not the current one (outdated, misspelt or unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the accepted privacy policy version is not the current one ({CURRENT_POLICY_VERSION})")]
pub struct OutdatedPolicy;

impl PolicyVersion {
    /// The current version.
    pub fn current() -> Self {
        Self(CURRENT_POLICY_VERSION)
    }

    /// Accepts `text` only when it is exactly [`CURRENT_POLICY_VERSION`].
    pub fn parse_current(text: &str) -> Result<Self, OutdatedPolicy> {
        if text == CURRENT_POLICY_VERSION {
            Ok(Self::current())
        } else {
            Err(OutdatedPolicy)
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
        let cases = [
            ("2026-11-28", Ok(CURRENT_POLICY_VERSION)),
            ("2025-01-01", Err(OutdatedPolicy)),
            (" 2026-11-28", Err(OutdatedPolicy)),
            ("2026-11-28 ", Err(OutdatedPolicy)),
            ("", Err(OutdatedPolicy)),
            ("latest", Err(OutdatedPolicy)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                PolicyVersion::parse_current(input).map(|v| v.as_str()),
                expected,
                "input {input:?}"
            );
        }
        assert_eq!(PolicyVersion::current().to_string(), CURRENT_POLICY_VERSION);
    }
}
