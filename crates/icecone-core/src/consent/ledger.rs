//! The consent ledger: append-only entries (consents, objections, restrictions), and the
//! current state they add up to, computed here and nowhere else.

use chrono::{DateTime, Utc};

use super::Purpose;
use super::policy::{PublishedPolicy, consent_counts};

/// Who made a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentSource {
    /// Nobody: the purpose's default.
    Default,
    /// The person, when signing up.
    SignUp,
    /// The person, later.
    User,
    /// The person's browser, by Global Privacy Control (`Sec-GPC: 1`).
    Gpc,
    /// IceCone's staff, on the person's documented request.
    Staff,
    /// The person, by the one-click unsubscribe link of a marketing mail (RFC 8058):
    /// withdraws `MARKETING` only.
    Unsubscribe,
}

impl ConsentSource {
    /// Every source.
    pub const ALL: [Self; 6] = [
        Self::Default,
        Self::SignUp,
        Self::User,
        Self::Gpc,
        Self::Staff,
        Self::Unsubscribe,
    ];

    /// The stable name, as stored and shown (`DEFAULT`, `SIGN_UP`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "DEFAULT",
            Self::SignUp => "SIGN_UP",
            Self::User => "USER",
            Self::Gpc => "GPC",
            Self::Staff => "STAFF",
            Self::Unsubscribe => "UNSUBSCRIBE",
        }
    }

    /// Parses a stable name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == text)
    }
}

/// What one ledger entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Consent to a purpose given (`true`) or withdrawn (`false`).
    Consent {
        /// The purpose.
        purpose: Purpose,
        /// Given or withdrawn.
        granted: bool,
    },
    /// An objection to a purpose (GDPR Art. 21): withdraws it, and only the person can give it
    /// again.
    Objection {
        /// The purpose.
        purpose: Purpose,
    },
    /// Processing restricted (`true`) or the restriction lifted (GDPR Art. 18).
    Restriction {
        /// Restricted or not.
        restricted: bool,
    },
}

/// One entry of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// What changed.
    pub change: Change,
    /// The policy version in force when it was made.
    pub policy_version: String,
    /// Who made it.
    pub source: ConsentSource,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where a person stands on one purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeState {
    /// The purpose.
    pub purpose: Purpose,
    /// What the ledger last recorded (or the default): given or not.
    pub granted: bool,
    /// The policy version it was recorded under (`None` for the default).
    pub policy_version: Option<String>,
    /// Who recorded it.
    pub source: ConsentSource,
    /// When (`None` for the default).
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the person objected, and has not given consent again since.
    pub objected: bool,
}

/// Where a person stands on every purpose, and whether processing is restricted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    purposes: Vec<PurposeState>,
    /// Whether processing is restricted (GDPR Art. 18).
    pub restricted: bool,
    /// When the restriction was last set or lifted.
    pub restricted_at: Option<DateTime<Utc>>,
}

impl Default for ConsentState {
    fn default() -> Self {
        Self {
            purposes: Purpose::ALL
                .into_iter()
                .map(|purpose| PurposeState {
                    purpose,
                    granted: purpose.on_by_default(),
                    policy_version: None,
                    source: ConsentSource::Default,
                    updated_at: None,
                    objected: false,
                })
                .collect(),
            restricted: false,
            restricted_at: None,
        }
    }
}

impl ConsentState {
    /// The state after `entries`, in the order given (oldest first).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Self {
        let mut state = Self::default();
        for entry in entries {
            state.apply(entry);
        }
        state
    }

    /// Applies one entry. Consents and objections to purposes that do not rest on consent
    /// change nothing (the gateway refuses to record them); a consent after an objection
    /// counts only when the person gives it themselves.
    pub fn apply(&mut self, entry: &LedgerEntry) {
        match entry.change {
            Change::Consent { purpose, granted } => {
                let state = self.state_mut(purpose);
                if !purpose.needs_consent() || (state.objected && granted && !from_person(entry)) {
                    return;
                }
                state.granted = granted;
                if granted {
                    state.objected = false;
                }
                record(state, entry);
            }
            Change::Objection { purpose } => {
                let state = self.state_mut(purpose);
                if !purpose.needs_consent() {
                    return;
                }
                state.granted = false;
                state.objected = true;
                record(state, entry);
            }
            Change::Restriction { restricted } => {
                self.restricted = restricted;
                self.restricted_at = Some(entry.at);
            }
        }
    }

    /// Where the person stands on `purpose`.
    pub fn purpose(&self, purpose: Purpose) -> &PurposeState {
        &self.purposes[index(purpose)]
    }

    /// Every purpose, in the order of [`Purpose::ALL`].
    pub fn purposes(&self) -> &[PurposeState] {
        &self.purposes
    }

    /// Whether the purpose may run as far as consent goes: always for purposes that do not
    /// rest on consent; for the others, only with a consent given under a policy version
    /// that still counts for it (see [`consent_counts`]).
    pub fn allows(&self, purpose: Purpose, history: &[PublishedPolicy]) -> bool {
        if !purpose.needs_consent() {
            return true;
        }
        let state = self.purpose(purpose);
        state.granted
            && state
                .policy_version
                .as_deref()
                .is_some_and(|version| consent_counts(history, purpose, version))
    }

    fn state_mut(&mut self, purpose: Purpose) -> &mut PurposeState {
        &mut self.purposes[index(purpose)]
    }
}

fn from_person(entry: &LedgerEntry) -> bool {
    matches!(entry.source, ConsentSource::User | ConsentSource::SignUp)
}

fn record(state: &mut PurposeState, entry: &LedgerEntry) {
    state.policy_version = Some(entry.policy_version.clone());
    state.source = entry.source;
    state.updated_at = Some(entry.at);
}

fn index(purpose: Purpose) -> usize {
    Purpose::ALL
        .iter()
        .position(|p| *p == purpose)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::policy::HISTORY;

    fn entry(change: Change, source: ConsentSource, minute: i64) -> LedgerEntry {
        LedgerEntry {
            change,
            policy_version: HISTORY[HISTORY.len() - 1].version.to_owned(),
            source,
            at: DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
        }
    }

    fn consent(purpose: Purpose, granted: bool, source: ConsentSource, minute: i64) -> LedgerEntry {
        entry(Change::Consent { purpose, granted }, source, minute)
    }

    #[test]
    fn with_no_entries_only_purposes_without_consent_are_on() {
        let state = ConsentState::default();
        for purpose in Purpose::ALL {
            let own = state.purpose(purpose);
            assert_eq!(own.granted, purpose.on_by_default(), "{purpose}");
            assert_eq!(own.source, ConsentSource::Default);
            assert_eq!(state.allows(purpose, HISTORY), !purpose.needs_consent());
        }
        assert!(!state.restricted);
        assert_eq!(
            state
                .purposes()
                .iter()
                .map(|p| p.purpose)
                .collect::<Vec<_>>(),
            Purpose::ALL
        );
    }

    #[test]
    fn the_latest_entry_wins_and_records_its_source_and_time() {
        use ConsentSource::{Gpc, SignUp, User};
        let entries = [
            consent(Purpose::Marketing, true, SignUp, 1),
            consent(Purpose::Personalization, true, User, 2),
            consent(Purpose::Marketing, false, Gpc, 3),
        ];
        let state = ConsentState::from_entries(&entries);
        let marketing = state.purpose(Purpose::Marketing);
        assert!(!marketing.granted);
        assert_eq!(marketing.source, Gpc);
        assert_eq!(marketing.updated_at, Some(entries[2].at));
        assert!(state.allows(Purpose::Personalization, HISTORY));
        assert!(!state.allows(Purpose::Marketing, HISTORY));
    }

    #[test]
    fn an_objection_stands_until_the_person_consents_again() {
        use ConsentSource::{Staff, User};
        let objection = entry(
            Change::Objection {
                purpose: Purpose::Marketing,
            },
            User,
            1,
        );
        let mut state =
            ConsentState::from_entries([&consent(Purpose::Marketing, true, User, 0), &objection]);
        assert!(state.purpose(Purpose::Marketing).objected);
        assert!(!state.allows(Purpose::Marketing, HISTORY));
        state.apply(&consent(Purpose::Marketing, true, Staff, 2));
        assert!(
            !state.allows(Purpose::Marketing, HISTORY),
            "staff cannot lift an objection"
        );
        state.apply(&consent(Purpose::Marketing, true, User, 3));
        assert!(state.allows(Purpose::Marketing, HISTORY));
        assert!(!state.purpose(Purpose::Marketing).objected);
    }

    #[test]
    fn purposes_without_consent_ignore_consent_entries() {
        let state = ConsentState::from_entries([
            &consent(Purpose::Security, false, ConsentSource::User, 1),
            &entry(
                Change::Objection {
                    purpose: Purpose::ServiceProvision,
                },
                ConsentSource::User,
                2,
            ),
        ]);
        assert!(state.allows(Purpose::Security, HISTORY));
        assert!(state.allows(Purpose::ServiceProvision, HISTORY));
    }

    #[test]
    fn restriction_is_set_and_lifted() {
        let on = entry(
            Change::Restriction { restricted: true },
            ConsentSource::User,
            1,
        );
        let off = entry(
            Change::Restriction { restricted: false },
            ConsentSource::User,
            2,
        );
        assert!(ConsentState::from_entries([&on]).restricted);
        let lifted = ConsentState::from_entries([&on, &off]);
        assert!(!lifted.restricted);
        assert_eq!(lifted.restricted_at, Some(off.at));
    }

    #[test]
    fn source_names_round_trip() {
        for source in ConsentSource::ALL {
            assert_eq!(ConsentSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(ConsentSource::parse("user"), None);
    }
}
