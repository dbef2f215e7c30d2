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
}];

/// The version in force.
pub const CURRENT: PublishedPolicy = HISTORY[HISTORY.len() - 1];

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
    };
    const SECOND: PublishedPolicy = PublishedPolicy {
        version: "2026-06-01",
        effective_on: date(2026, 6, 1),
        changed: &[Purpose::Marketing],
    };
    const THIRD: PublishedPolicy = PublishedPolicy {
        version: "2026-09-01",
        effective_on: date(2026, 9, 1),
        changed: &[],
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
}
