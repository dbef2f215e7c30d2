//! The one decision behind every consent gate: may this activity run for this person now?
//!
//! GraphQL fields (`@requiresConsent`), notification delivery and background jobs all ask
//! [`may_process`]; none of them reads the ledger's state itself.

use super::Purpose;
use super::ledger::ConsentState;
use super::policy::PublishedPolicy;

/// What is about to happen to a person's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Keeping it stored, unchanged.
    Store,
    /// The person exercising their own rights on it: reading it, exporting it, correcting
    /// it, changing their consents.
    OwnRights,
    /// Processing it for a purpose.
    Process(Purpose),
}

/// Why an activity may not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Denial {
    /// The person restricted processing (GDPR Art. 18): only storage, their own rights, and
    /// purposes that survive restriction may run.
    #[error("the person has restricted processing of their data")]
    Restricted,
    /// The purpose rests on consent that is not given, was withdrawn or objected to, or was
    /// given under a policy version that no longer counts for it.
    #[error("the person has not consented to {0}")]
    ConsentRequired(Purpose),
}

/// Whether `activity` may run for the person whose ledger adds up to `state`, under the
/// published `history` (its last entry in force).
///
/// Storage and the person's own rights always may. Processing for a purpose may not while
/// processing is restricted, unless the purpose survives restriction; a purpose that rests
/// on consent needs a consent that counts.
pub fn may_process(
    activity: Activity,
    state: &ConsentState,
    history: &[PublishedPolicy],
) -> Result<(), Denial> {
    let Activity::Process(purpose) = activity else {
        return Ok(());
    };
    if state.restricted && !purpose.survives_restriction() {
        return Err(Denial::Restricted);
    }
    if !state.allows(purpose, history) {
        return Err(Denial::ConsentRequired(purpose));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::consent::ledger::{Change, ConsentSource, LedgerEntry};
    use crate::consent::policy::{HISTORY, PublishedPolicy};

    /// Where the person stands on the purpose under test.
    #[derive(Debug, Clone, Copy)]
    enum Standing {
        /// No entry: the default.
        Nothing,
        /// Consent given under the current version.
        Given,
        /// Consent given under a version older than the purpose's last change.
        GivenUnderOldVersion,
        /// Consent given, then withdrawn.
        Withdrawn,
        /// Objected to.
        Objected,
    }

    const STANDINGS: [Standing; 5] = [
        Standing::Nothing,
        Standing::Given,
        Standing::GivenUnderOldVersion,
        Standing::Withdrawn,
        Standing::Objected,
    ];

    const OLD: PublishedPolicy = PublishedPolicy {
        version: "2000-01-01",
        effective_on: match chrono::NaiveDate::from_ymd_opt(2000, 1, 1) {
            Some(date) => date,
            None => panic!("date"),
        },
        changed: &Purpose::ALL,
        summary: "An old version.",
    };

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(minute * 60, 0).unwrap_or_default()
    }

    fn entry(change: Change, version: &str, minute: i64) -> LedgerEntry {
        LedgerEntry {
            change,
            policy_version: version.to_owned(),
            source: ConsentSource::User,
            at: at(minute),
        }
    }

    /// The state for a purpose's standing, with or without restriction. The history used
    /// has an old version first, then the current one, which changed every purpose.
    fn state(purpose: Purpose, standing: Standing, restricted: bool) -> ConsentState {
        let current = HISTORY[HISTORY.len() - 1].version;
        let give = |version: &str, minute| {
            entry(
                Change::Consent {
                    purpose,
                    granted: true,
                },
                version,
                minute,
            )
        };
        let mut entries = match standing {
            Standing::Nothing => vec![],
            Standing::Given => vec![give(current, 1)],
            Standing::GivenUnderOldVersion => vec![give(OLD.version, 1)],
            Standing::Withdrawn => vec![
                give(current, 1),
                entry(
                    Change::Consent {
                        purpose,
                        granted: false,
                    },
                    current,
                    2,
                ),
            ],
            Standing::Objected => vec![
                give(current, 1),
                entry(Change::Objection { purpose }, current, 2),
            ],
        };
        if restricted {
            entries.push(entry(Change::Restriction { restricted: true }, current, 3));
        }
        ConsentState::from_entries(&entries)
    }

    #[test]
    fn every_combination_of_purpose_standing_and_restriction_gets_its_answer() {
        const OK: Option<Denial> = None;
        const R: Option<Denial> = Some(Denial::Restricted);
        // For each purpose: the answer to Process(purpose) for each standing in STANDINGS
        // order (nothing, given, given under an old version, withdrawn, objected), first
        // without, then with restriction; `n(p)` is consent required for `p`.
        type Answers = [Option<Denial>; 5];
        let rows: [(Purpose, Answers, Answers); 8] = {
            use Purpose::*;
            let n = |p| Some(Denial::ConsentRequired(p));
            [
                (ServiceProvision, [OK, OK, OK, OK, OK], [R, R, R, R, R]),
                (AiGeneration, [OK, OK, OK, OK, OK], [R, R, R, R, R]),
                (Security, [OK, OK, OK, OK, OK], [OK, OK, OK, OK, OK]),
                (
                    Improvement,
                    [
                        n(Improvement),
                        OK,
                        n(Improvement),
                        n(Improvement),
                        n(Improvement),
                    ],
                    [R, R, R, R, R],
                ),
                (
                    Personalization,
                    [
                        n(Personalization),
                        OK,
                        n(Personalization),
                        n(Personalization),
                        n(Personalization),
                    ],
                    [R, R, R, R, R],
                ),
                (
                    Marketing,
                    [n(Marketing), OK, n(Marketing), n(Marketing), n(Marketing)],
                    [R, R, R, R, R],
                ),
                (
                    Analytics,
                    [n(Analytics), OK, n(Analytics), n(Analytics), n(Analytics)],
                    [R, R, R, R, R],
                ),
                (LegalCompliance, [OK, OK, OK, OK, OK], [OK, OK, OK, OK, OK]),
            ]
        };
        assert_eq!(rows.map(|row| row.0), Purpose::ALL);
        let history = [OLD, HISTORY[HISTORY.len() - 1]];
        for (purpose, free, restricted) in rows {
            for (restriction, expected) in [(false, free), (true, restricted)] {
                for (standing, expected) in STANDINGS.into_iter().zip(expected) {
                    let state = state(purpose, standing, restriction);
                    assert_eq!(
                        may_process(Activity::Process(purpose), &state, &history).err(),
                        expected,
                        "{purpose} / {standing:?} / restricted: {restriction}"
                    );
                    // Storage and the person's own rights are never refused.
                    for activity in [Activity::Store, Activity::OwnRights] {
                        assert_eq!(
                            may_process(activity, &state, &history),
                            Ok(()),
                            "{activity:?} / {purpose} / {standing:?} / {restriction}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn consent_to_one_purpose_does_not_open_another() {
        let state = state(Purpose::Marketing, Standing::Given, false);
        for other in Purpose::ALL {
            if other.needs_consent() && other != Purpose::Marketing {
                assert_eq!(
                    may_process(Activity::Process(other), &state, HISTORY),
                    Err(Denial::ConsentRequired(other)),
                    "{other}"
                );
            }
        }
    }
}
