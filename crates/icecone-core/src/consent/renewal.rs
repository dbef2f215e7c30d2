//! What a new policy version asks of a person: the consents they must give again, because
//! the version that last changed the purpose came after the one they consented under.
//!
//! The ledger keeps such a consent as given, but it no longer counts
//! ([`super::policy::consent_counts`]), so the purpose stays off until the person gives it
//! again under the current version. [`consents_to_renew`] is what `me { consentsToRenew }`
//! and the policy-change notice show.

use super::Purpose;
use super::ledger::ConsentState;
use super::policy::{PublishedPolicy, consent_counts};

/// The purposes, in the order of [`Purpose::ALL`], to which the person whose ledger adds
/// up to `state` gave consent that no longer counts under `history` (oldest first; its last
/// entry in force): given under a version older than the purpose's last change, or under a
/// version `history` does not know. Purposes the person never consented to, withdrew or
/// objected to are not asked for again; nor are purposes that do not rest on consent.
pub fn consents_to_renew(state: &ConsentState, history: &[PublishedPolicy]) -> Vec<Purpose> {
    Purpose::ALL
        .into_iter()
        .filter(|&purpose| {
            let own = state.purpose(purpose);
            purpose.needs_consent()
                && own.granted
                && own
                    .policy_version
                    .as_deref()
                    .is_some_and(|version| !consent_counts(history, purpose, version))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate};

    use super::*;
    use crate::consent::ledger::{Change, ConsentSource, LedgerEntry};

    const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        match NaiveDate::from_ymd_opt(year, month, day) {
            Some(date) => date,
            None => panic!("invalid date"),
        }
    }

    const HISTORY: [PublishedPolicy; 3] = [
        PublishedPolicy {
            version: "2026-01-01",
            effective_on: date(2026, 1, 1),
            changed: &Purpose::ALL,
            summary: "first",
        },
        PublishedPolicy {
            version: "2026-06-01",
            effective_on: date(2026, 6, 1),
            changed: &[Purpose::Marketing, Purpose::Analytics],
            summary: "marketing and analytics",
        },
        PublishedPolicy {
            version: "2026-09-01",
            effective_on: date(2026, 9, 1),
            changed: &[],
            summary: "wording",
        },
    ];

    fn entry(change: Change, version: &str, source: ConsentSource, minute: i64) -> LedgerEntry {
        LedgerEntry {
            change,
            policy_version: version.to_owned(),
            source,
            at: DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
        }
    }

    fn give(purpose: Purpose, version: &str, minute: i64) -> LedgerEntry {
        let change = Change::Consent {
            purpose,
            granted: true,
        };
        entry(change, version, ConsentSource::User, minute)
    }

    #[test]
    fn consents_given_before_their_purposes_last_change_are_asked_for_again() {
        use Purpose::{Analytics, Improvement, Marketing, Personalization, Security};
        let withdraw = |purpose, version, minute| {
            let change = Change::Consent {
                purpose,
                granted: false,
            };
            entry(change, version, ConsentSource::User, minute)
        };
        let object = |purpose, version, minute| {
            entry(
                Change::Objection { purpose },
                version,
                ConsentSource::User,
                minute,
            )
        };
        // (what the ledger holds, what must be given again)
        let table: Vec<(Vec<LedgerEntry>, Vec<Purpose>)> = vec![
            (vec![], vec![]),
            (vec![give(Marketing, "2026-01-01", 1)], vec![Marketing]),
            (vec![give(Marketing, "2026-06-01", 1)], vec![]),
            (vec![give(Marketing, "2026-09-01", 1)], vec![]),
            // A purpose the later versions left alone keeps counting.
            (vec![give(Personalization, "2026-01-01", 1)], vec![]),
            (
                vec![
                    give(Analytics, "2026-01-01", 1),
                    give(Personalization, "2026-01-01", 2),
                    give(Marketing, "2026-01-01", 3),
                    give(Improvement, "2026-01-01", 4),
                ],
                vec![Marketing, Analytics],
            ),
            // Renewed under the version that changed it, or a later one.
            (
                vec![
                    give(Marketing, "2026-01-01", 1),
                    give(Marketing, "2026-09-01", 2),
                ],
                vec![],
            ),
            // Withdrawn or objected to: nothing to give again.
            (
                vec![
                    give(Marketing, "2026-01-01", 1),
                    withdraw(Marketing, "2026-01-01", 2),
                ],
                vec![],
            ),
            (
                vec![
                    give(Marketing, "2026-01-01", 1),
                    object(Marketing, "2026-01-01", 2),
                ],
                vec![],
            ),
            // A version the history does not know never counts.
            (vec![give(Marketing, "2025-05-05", 1)], vec![Marketing]),
            // Purposes that do not rest on consent are never asked for.
            (vec![give(Security, "2025-05-05", 1)], vec![]),
        ];
        for (entries, expected) in table {
            let state = ConsentState::from_entries(&entries);
            assert_eq!(consents_to_renew(&state, &HISTORY), expected, "{entries:?}");
            for purpose in consents_to_renew(&state, &HISTORY) {
                assert!(!state.allows(purpose, &HISTORY), "{purpose} still counts");
            }
        }
    }

    #[test]
    fn with_the_first_version_alone_nothing_is_asked_for_again() {
        let state =
            ConsentState::from_entries(&Purpose::ALL.map(|purpose| give(purpose, "2026-01-01", 1)));
        assert_eq!(consents_to_renew(&state, &HISTORY[..1]), []);
    }
}
