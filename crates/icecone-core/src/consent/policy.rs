//! The privacy policy versions IceCone has published, and which purposes each one changed.
//!
//! A consent is given under the version in force at the time. When a later version changes
//! what a purpose means, consents given before that change stop counting until the person
//! gives them again ([`consent_counts`]); consents to purposes the new version left alone
//! keep counting.

use chrono::NaiveDate;

use super::Purpose;

/// One published version of the privacy policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedPolicy {
    /// The version's name (`YYYY-MM-DD`).
    pub version: &'static str,
    /// When it took effect.
    pub effective_on: NaiveDate,
    /// The purposes whose description or scope this version changed (every purpose, for
    /// the first version).
    pub changed: &'static [Purpose],
    /// What this version changed, in a sentence or two for the people it is sent to (the
    /// first version's says it is the first).
    pub summary: &'static str,
}

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid policy date"),
    }
}

/// Every version published, oldest first. Publishing a new version appends to this list
/// (and names the purposes it changed); the last entry is the current policy.
pub const HISTORY: &[PublishedPolicy] = &[PublishedPolicy {
    version: "2026-11-28",
    effective_on: date(2026, 11, 28),
    changed: &Purpose::ALL,
    summary: "The first published version of IceCone's privacy policy.",
}];

/// The version in force.
pub const CURRENT: PublishedPolicy = HISTORY[HISTORY.len() - 1];

/// A policy history the gateway can run with: at least one version, oldest first, each
/// named after the day it took effect (so that versions order as their dates do), the
/// first changing every purpose. Production runs with [`PolicyHistory::published`]; a test
/// may run with a longer one to see what a new version does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyHistory {
    versions: &'static [PublishedPolicy],
    current: &'static PublishedPolicy,
}

/// Why a list of versions is not a policy history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHistory {
    /// It has no version.
    #[error("a policy history needs at least one version")]
    Empty,
    /// Its first version does not name every purpose as changed.
    #[error("the first policy version must change every purpose")]
    FirstChangesSomePurposesOnly,
    /// A version is not named `YYYY-MM-DD` after its effective date.
    #[error("policy version {0} is not named after its effective date")]
    MisnamedVersion(&'static str),
    /// A version is not later than the one before it.
    #[error("policy version {0} is not later than the one before it")]
    OutOfOrder(&'static str),
}

impl PolicyHistory {
    /// The versions IceCone has published ([`HISTORY`]).
    pub fn published() -> Self {
        Self {
            versions: HISTORY,
            current: &HISTORY[HISTORY.len() - 1],
        }
    }

    /// Checks `versions` (oldest first; the last in force).
    pub fn parse(versions: &'static [PublishedPolicy]) -> Result<Self, InvalidHistory> {
        let (Some(first), Some(current)) = (versions.first(), versions.last()) else {
            return Err(InvalidHistory::Empty);
        };
        if Purpose::ALL.iter().any(|p| !first.changed.contains(p)) {
            return Err(InvalidHistory::FirstChangesSomePurposesOnly);
        }
        for policy in versions {
            if policy.effective_on.format("%Y-%m-%d").to_string() != policy.version {
                return Err(InvalidHistory::MisnamedVersion(policy.version));
            }
        }
        for pair in versions.windows(2) {
            if pair[0].version >= pair[1].version {
                return Err(InvalidHistory::OutOfOrder(pair[1].version));
            }
        }
        Ok(Self { versions, current })
    }

    /// Every version, oldest first.
    pub fn versions(self) -> &'static [PublishedPolicy] {
        self.versions
    }

    /// The version in force.
    pub fn current(self) -> &'static PublishedPolicy {
        self.current
    }

    /// The versions published after `told`, oldest first: what a person told about `told`
    /// has not heard of yet (every version, for a version older than the first).
    pub fn published_after(self, told: &str) -> &'static [PublishedPolicy] {
        let start = self
            .versions
            .iter()
            .position(|policy| policy.version > told)
            .unwrap_or(self.versions.len());
        &self.versions[start..]
    }
}

/// Whether a consent to `purpose` given under `given_under` still counts, in `history`
/// (oldest first; its last entry in force): only if it was given under the version that
/// last changed the purpose, or a later one. A version `history` does not know never
/// counts.
pub fn consent_counts(history: &[PublishedPolicy], purpose: Purpose, given_under: &str) -> bool {
    let Some(given) = history.iter().position(|p| p.version == given_under) else {
        return false;
    };
    let revision = history
        .iter()
        .rposition(|p| p.changed.contains(&purpose))
        .unwrap_or(0);
    given >= revision
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: PublishedPolicy = PublishedPolicy {
        version: "2026-01-01",
        effective_on: date(2026, 1, 1),
        changed: &Purpose::ALL,
        summary: "first",
    };
    const SECOND: PublishedPolicy = PublishedPolicy {
        version: "2026-06-01",
        effective_on: date(2026, 6, 1),
        changed: &[Purpose::Marketing],
        summary: "marketing",
    };
    const THIRD: PublishedPolicy = PublishedPolicy {
        version: "2026-09-01",
        effective_on: date(2026, 9, 1),
        changed: &[],
        summary: "wording",
    };

    #[test]
    fn consents_count_unless_a_later_version_changed_their_purpose() {
        let history = [FIRST, SECOND, THIRD];
        // (purpose, given under, counts)
        let table = [
            (Purpose::Marketing, "2026-01-01", false),
            (Purpose::Marketing, "2026-06-01", true),
            (Purpose::Marketing, "2026-09-01", true),
            (Purpose::Personalization, "2026-01-01", true),
            (Purpose::Personalization, "2026-06-01", true),
            (Purpose::Analytics, "2026-09-01", true),
            (Purpose::Marketing, "2025-12-31", false),
            (Purpose::Personalization, "", false),
            (Purpose::Personalization, "2026-06-01 ", false),
        ];
        for (purpose, given, counts) in table {
            assert_eq!(
                consent_counts(&history, purpose, given),
                counts,
                "{purpose} given under {given:?}"
            );
        }
    }

    #[test]
    fn the_published_history_is_ordered_and_starts_with_every_purpose() {
        assert_eq!(HISTORY[0].changed, &Purpose::ALL);
        for pair in HISTORY.windows(2) {
            assert!(pair[0].version < pair[1].version);
            assert!(pair[0].effective_on < pair[1].effective_on);
        }
        assert_eq!(CURRENT, HISTORY[HISTORY.len() - 1]);
        for policy in HISTORY {
            assert_eq!(
                policy.effective_on.format("%Y-%m-%d").to_string(),
                policy.version
            );
        }
    }

    #[test]
    fn a_history_is_parsed_only_when_ordered_named_by_date_and_complete_at_first() {
        const FIRST_OF_SOME: PublishedPolicy = PublishedPolicy {
            changed: &[Purpose::Marketing],
            ..FIRST
        };
        const MISNAMED: PublishedPolicy = PublishedPolicy {
            version: "2026-06-02",
            ..SECOND
        };
        const ORDERED: [PublishedPolicy; 3] = [FIRST, SECOND, THIRD];
        const UNORDERED: [PublishedPolicy; 3] = [FIRST, THIRD, SECOND];
        const REPEATED: [PublishedPolicy; 2] = [FIRST, FIRST];
        const PARTIAL: [PublishedPolicy; 2] = [FIRST_OF_SOME, SECOND];
        const MISNAMED_LIST: [PublishedPolicy; 2] = [FIRST, MISNAMED];
        let table: [(&'static [PublishedPolicy], Result<&str, InvalidHistory>); 7] = [
            (&ORDERED, Ok("2026-09-01")),
            (&ORDERED[..1], Ok("2026-01-01")),
            (&[], Err(InvalidHistory::Empty)),
            (&UNORDERED, Err(InvalidHistory::OutOfOrder("2026-06-01"))),
            (&REPEATED, Err(InvalidHistory::OutOfOrder("2026-01-01"))),
            (&PARTIAL, Err(InvalidHistory::FirstChangesSomePurposesOnly)),
            (
                &MISNAMED_LIST,
                Err(InvalidHistory::MisnamedVersion("2026-06-02")),
            ),
        ];
        for (versions, expected) in table {
            assert_eq!(
                PolicyHistory::parse(versions).map(|h| h.current().version),
                expected,
                "{versions:?}"
            );
        }
        assert_eq!(
            PolicyHistory::parse(HISTORY),
            Ok(PolicyHistory::published())
        );
        assert_eq!(PolicyHistory::published().current(), &CURRENT);
    }

    #[test]
    fn the_versions_published_after_the_one_a_person_was_told_about_are_what_they_hear_of() {
        const ORDERED: [PublishedPolicy; 3] = [FIRST, SECOND, THIRD];
        let history = PolicyHistory::parse(&ORDERED).expect("a valid history");
        // (told about, versions to tell of)
        let table: [(&str, &[&str]); 6] = [
            ("2026-01-01", &["2026-06-01", "2026-09-01"]),
            ("2026-06-01", &["2026-09-01"]),
            ("2026-09-01", &[]),
            ("2026-12-01", &[]),
            ("2025-12-31", &["2026-01-01", "2026-06-01", "2026-09-01"]),
            ("2026-03-15", &["2026-06-01", "2026-09-01"]),
        ];
        for (told, expected) in table {
            let after: Vec<&str> = history
                .published_after(told)
                .iter()
                .map(|p| p.version)
                .collect();
            assert_eq!(after, expected, "told about {told}");
        }
    }

    #[test]
    fn every_published_version_says_what_it_changed() {
        for policy in HISTORY {
            assert!(policy.summary.len() > 20, "{}", policy.version);
        }
        assert!(HISTORY[0].summary.contains("first"));
    }
}
