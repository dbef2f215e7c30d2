//! Whether a person's activity may be counted now, and the pseudonym it is counted under.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::consent::Purpose;
use crate::consent::decision::{Activity, Denial, may_process};
use crate::consent::ledger::{ConsentSource, ConsentState};
use crate::consent::policy::PublishedPolicy;

/// Why nothing is counted for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoCapture {
    /// Processing is restricted (Art. 18).
    #[error("processing is restricted")]
    Restricted,
    /// The person objected to analytics (Art. 21).
    #[error("the person objected to analytics")]
    Objected,
    /// The person's browser withdrew it by Global Privacy Control.
    #[error("analytics was withdrawn by Global Privacy Control")]
    WithdrawnByGpc,
    /// No consent that counts under the current policy: never given, withdrawn, or given
    /// under a version older than the purpose's last change.
    #[error("no consent to analytics under the current policy")]
    NotConsented,
}

/// Whether `ANALYTICS` counts now for the person whose ledger adds up to `state`, under
/// `history` (its last version in force): the consent decision for
/// `Process(ANALYTICS)`, with the reason it refuses told apart.
pub fn may_capture(state: &ConsentState, history: &[PublishedPolicy]) -> Result<(), NoCapture> {
    match may_process(Activity::Process(Purpose::Analytics), state, history) {
        Ok(()) => Ok(()),
        Err(Denial::Restricted) => Err(NoCapture::Restricted),
        Err(Denial::ConsentRequired(_)) => {
            let analytics = state.purpose(Purpose::Analytics);
            Err(if analytics.objected {
                NoCapture::Objected
            } else if !analytics.granted && analytics.source == ConsentSource::Gpc {
                NoCapture::WithdrawnByGpc
            } else {
                NoCapture::NotConsented
            })
        }
    }
}

/// The person's pseudonym for a day: HMAC-SHA-256 of their account id under the day's
/// random key. Stable within the day (so distinct people can be counted), unlinkable across
/// days, and — once the key is destroyed — unlinkable to the account by anyone.
pub fn pseudonym(day_key: &[u8; 32], account: &uuid::Uuid) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(day_key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(account.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::consent::ledger::{Change, LedgerEntry};
    use crate::consent::policy::HISTORY;

    fn entry(change: Change, version: &str, source: ConsentSource, minute: i64) -> LedgerEntry {
        LedgerEntry {
            change,
            policy_version: version.to_owned(),
            source,
            at: DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
        }
    }

    fn consent(purpose: Purpose, granted: bool, source: ConsentSource, minute: i64) -> LedgerEntry {
        let current = HISTORY[HISTORY.len() - 1].version;
        entry(
            Change::Consent { purpose, granted },
            current,
            source,
            minute,
        )
    }

    #[test]
    fn a_pseudonym_is_stable_under_one_key_and_differs_under_another() {
        let person = uuid::Uuid::from_u128(1);
        let other = uuid::Uuid::from_u128(2);
        let today = [7u8; 32];
        let tomorrow = [8u8; 32];
        assert_eq!(pseudonym(&today, &person), pseudonym(&today, &person));
        assert_ne!(pseudonym(&today, &person), pseudonym(&today, &other));
        assert_ne!(pseudonym(&today, &person), pseudonym(&tomorrow, &person));
    }

    #[test]
    fn analytics_counts_only_with_a_current_consent_and_no_restriction_objection_or_gpc() {
        use ConsentSource::{Gpc, SignUp, User};
        let current = HISTORY[HISTORY.len() - 1].version;
        let given = consent(Purpose::Analytics, true, User, 1);
        let restricted = entry(Change::Restriction { restricted: true }, current, User, 2);
        let lifted = entry(Change::Restriction { restricted: false }, current, User, 3);
        let objected = entry(
            Change::Objection {
                purpose: Purpose::Analytics,
            },
            current,
            User,
            2,
        );
        let table: Vec<(&str, Vec<LedgerEntry>, Result<(), NoCapture>)> = vec![
            ("nothing recorded", vec![], Err(NoCapture::NotConsented)),
            ("given", vec![given.clone()], Ok(())),
            (
                "given at sign-up",
                vec![consent(Purpose::Analytics, true, SignUp, 1)],
                Ok(()),
            ),
            (
                "given under a version that no longer counts",
                vec![entry(
                    Change::Consent {
                        purpose: Purpose::Analytics,
                        granted: true,
                    },
                    "2000-01-01",
                    User,
                    1,
                )],
                Err(NoCapture::NotConsented),
            ),
            (
                "withdrawn",
                vec![given.clone(), consent(Purpose::Analytics, false, User, 2)],
                Err(NoCapture::NotConsented),
            ),
            (
                "withdrawn by GPC",
                vec![given.clone(), consent(Purpose::Analytics, false, Gpc, 2)],
                Err(NoCapture::WithdrawnByGpc),
            ),
            (
                "withdrawn by GPC, then given again",
                vec![
                    given.clone(),
                    consent(Purpose::Analytics, false, Gpc, 2),
                    consent(Purpose::Analytics, true, User, 3),
                ],
                Ok(()),
            ),
            (
                "objected",
                vec![given.clone(), objected.clone()],
                Err(NoCapture::Objected),
            ),
            (
                "restricted",
                vec![given.clone(), restricted.clone()],
                Err(NoCapture::Restricted),
            ),
            (
                "restricted without consent",
                vec![restricted.clone()],
                Err(NoCapture::Restricted),
            ),
            (
                "restriction lifted",
                vec![given.clone(), restricted, lifted],
                Ok(()),
            ),
            (
                "another purpose given",
                vec![consent(Purpose::Improvement, true, User, 1)],
                Err(NoCapture::NotConsented),
            ),
        ];
        for (case, entries, expected) in table {
            let state = ConsentState::from_entries(&entries);
            assert_eq!(may_capture(&state, HISTORY), expected, "{case}");
        }
    }
}
