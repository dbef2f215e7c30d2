//! Where a disclosure request stands and which steps it allows.
//!
//! The DPO records a request: `Recorded`. An administrator then approves it (the data is
//! disclosed) or refuses it (nothing is disclosed); both are final. The administrator must
//! be someone other than the one who recorded it ([`decide`] refuses the same person
//! whatever the status). The store applies a step as one conditional update on the status
//! [`allowed_from`] lists, so of two concurrent decisions one wins.

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisclosureStatus {
    /// Recorded by the DPO, awaiting an administrator's decision.
    Recorded,
    /// Approved: the data was disclosed. Final.
    Approved,
    /// Refused: nothing was disclosed. Final.
    Refused,
}

impl DisclosureStatus {
    /// Every status, in the order of the API.
    pub const ALL: [Self; 3] = [Self::Recorded, Self::Approved, Self::Refused];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recorded => "RECORDED",
            Self::Approved => "APPROVED",
            Self::Refused => "REFUSED",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// What an administrator decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Disclose the data.
    Approve,
    /// Disclose nothing.
    Refuse,
}

/// Why a decision may not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    /// The one deciding recorded the request: four eyes need two people.
    #[error("the request must be decided by someone other than the one who recorded it")]
    SamePerson,
    /// The request was decided already.
    #[error("the request is {}: it cannot be decided again", from.as_str().to_lowercase())]
    Decided {
        /// The status it was in.
        from: DisclosureStatus,
    },
}

/// The status a request in `from` moves to on `decision` (pure lifecycle, without people).
pub fn transition(
    from: DisclosureStatus,
    decision: Decision,
) -> Result<DisclosureStatus, DecisionRefused> {
    match (from, decision) {
        (DisclosureStatus::Recorded, Decision::Approve) => Ok(DisclosureStatus::Approved),
        (DisclosureStatus::Recorded, Decision::Refuse) => Ok(DisclosureStatus::Refused),
        (DisclosureStatus::Approved | DisclosureStatus::Refused, _) => {
            Err(DecisionRefused::Decided { from })
        }
    }
}

/// The status a request recorded by `recorded_by` and in `from` moves to when `deciding`
/// takes `decision`: the four-eyes rule first (the recorder may never decide), then
/// [`transition`].
pub fn decide<Person: PartialEq + ?Sized>(
    from: DisclosureStatus,
    decision: Decision,
    recorded_by: &Person,
    deciding: &Person,
) -> Result<DisclosureStatus, DecisionRefused> {
    if recorded_by == deciding {
        return Err(DecisionRefused::SamePerson);
    }
    transition(from, decision)
}

/// The statuses from which `decision` is allowed: what the store's conditional update
/// checks.
pub fn allowed_from(decision: Decision) -> Vec<DisclosureStatus> {
    DisclosureStatus::ALL
        .into_iter()
        .filter(|from| transition(*from, decision).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_request_is_approved_or_refused_once_by_someone_else() {
        use Decision as D;
        use DisclosureStatus as S;
        // (from, decision, same person, outcome)
        let table: &[(S, D, bool, Result<S, DecisionRefused>)] = &[
            (S::Recorded, D::Approve, false, Ok(S::Approved)),
            (S::Recorded, D::Refuse, false, Ok(S::Refused)),
            (
                S::Recorded,
                D::Approve,
                true,
                Err(DecisionRefused::SamePerson),
            ),
            (
                S::Recorded,
                D::Refuse,
                true,
                Err(DecisionRefused::SamePerson),
            ),
            (
                S::Approved,
                D::Approve,
                false,
                Err(DecisionRefused::Decided { from: S::Approved }),
            ),
            (
                S::Approved,
                D::Refuse,
                false,
                Err(DecisionRefused::Decided { from: S::Approved }),
            ),
            (
                S::Refused,
                D::Approve,
                false,
                Err(DecisionRefused::Decided { from: S::Refused }),
            ),
            (
                S::Refused,
                D::Refuse,
                false,
                Err(DecisionRefused::Decided { from: S::Refused }),
            ),
            (
                S::Approved,
                D::Approve,
                true,
                Err(DecisionRefused::SamePerson),
            ),
        ];
        for &(from, decision, same, expected) in table {
            let (recorder, decider) = if same {
                ("dpo", "dpo")
            } else {
                ("dpo", "admin")
            };
            assert_eq!(
                decide(from, decision, recorder, decider),
                expected,
                "{from:?} {decision:?} same person: {same}"
            );
        }
        assert_eq!(allowed_from(D::Approve), [S::Recorded]);
        assert_eq!(allowed_from(D::Refuse), [S::Recorded]);
    }

    #[test]
    fn refusals_say_why_without_anything_from_the_request() {
        assert_eq!(
            DecisionRefused::SamePerson.to_string(),
            "the request must be decided by someone other than the one who recorded it"
        );
        assert_eq!(
            transition(DisclosureStatus::Refused, Decision::Approve)
                .expect_err("final")
                .to_string(),
            "the request is refused: it cannot be decided again"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for status in DisclosureStatus::ALL {
            assert_eq!(DisclosureStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DisclosureStatus::parse("recorded"), None);
    }
}
