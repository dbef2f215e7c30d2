//! Background work and the consent decision: what each step of a background job does with
//! a person's data, and whether it may run now.
//!
//! Every kind of job declares, step by step, a [`StepUse`]; before a step runs, the job
//! runner asks [`gate`], which asks [`may_process`] — the decision GraphQL fields and
//! notification delivery ask — and turns its answer into what becomes of the job: run it,
//! hold it while processing is restricted (a restriction can be lifted, and the person's
//! request then goes on), or cancel it when the consent it rests on is missing (withdrawn
//! or objected to: queued work does not outlive the consent it was done for).

use super::Purpose;
use super::decision::{Activity, Denial, may_process};
use super::ledger::ConsentState;
use super::policy::PublishedPolicy;

/// What one step of a background job does with the data of the person it acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepUse {
    /// It processes the person's data for this purpose.
    Process(Purpose),
    /// It carries out the person's own rights (building their export): never held back.
    OwnRights,
    /// It processes no personal data; the reason says why.
    NoPersonalData {
        /// Why nothing personal is processed.
        why: &'static str,
    },
}

/// What becomes of a job about to run a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gate {
    /// The step may run.
    Run,
    /// Processing is restricted: the job waits, unchanged, until the restriction is lifted
    /// (or its deadline passes).
    Hold(Denial),
    /// The step may not run and will not be allowed by waiting: the job is given up.
    Cancel(Denial),
}

impl StepUse {
    fn activity(self) -> Option<Activity> {
        match self {
            Self::Process(purpose) => Some(Activity::Process(purpose)),
            Self::OwnRights => Some(Activity::OwnRights),
            Self::NoPersonalData { .. } => None,
        }
    }
}

/// Whether a step declared as `step` may run for the person whose ledger adds up to
/// `state`, under the published `history`.
///
/// `state` is `None` for a job that names no person (an erasure job names only its
/// request): then only what would run for anyone — a person who restricted processing and
/// consented to nothing — runs, and everything else is cancelled, since no restriction of
/// nobody's can be lifted.
pub fn gate(step: StepUse, state: Option<&ConsentState>, history: &[PublishedPolicy]) -> Gate {
    let Some(activity) = step.activity() else {
        return Gate::Run;
    };
    let Some(state) = state else {
        let mut nobody = ConsentState::default();
        nobody.restricted = true;
        return match may_process(activity, &nobody, history) {
            Ok(()) => Gate::Run,
            Err(denial) => Gate::Cancel(denial),
        };
    };
    match may_process(activity, state, history) {
        Ok(()) => Gate::Run,
        Err(denial @ Denial::Restricted) => Gate::Hold(denial),
        Err(denial @ Denial::ConsentRequired(_)) => Gate::Cancel(denial),
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::consent::ledger::{Change, ConsentSource, LedgerEntry};
    use crate::consent::policy::HISTORY;

    fn entry(change: Change) -> LedgerEntry {
        LedgerEntry {
            change,
            policy_version: HISTORY[HISTORY.len() - 1].version.to_owned(),
            source: ConsentSource::User,
            at: DateTime::from_timestamp(60, 0).unwrap_or_default(),
        }
    }

    /// The person's standing, as ledger entries.
    #[derive(Debug, Clone, Copy)]
    enum Person {
        /// Nothing recorded: the defaults.
        Defaults,
        /// Consent to marketing given.
        Marketing,
        /// Consent to marketing given, then withdrawn.
        MarketingWithdrawn,
        /// Consent to marketing given, then objected to.
        MarketingObjected,
        /// Consent to marketing given, then processing restricted.
        Restricted,
        /// No person: the job names none.
        Nobody,
    }

    fn state(person: Person) -> Option<ConsentState> {
        let give = entry(Change::Consent {
            purpose: Purpose::Marketing,
            granted: true,
        });
        let entries = match person {
            Person::Nobody => return None,
            Person::Defaults => vec![],
            Person::Marketing => vec![give],
            Person::MarketingWithdrawn => vec![
                give,
                entry(Change::Consent {
                    purpose: Purpose::Marketing,
                    granted: false,
                }),
            ],
            Person::MarketingObjected => vec![
                give,
                entry(Change::Objection {
                    purpose: Purpose::Marketing,
                }),
            ],
            Person::Restricted => vec![give, entry(Change::Restriction { restricted: true })],
        };
        Some(ConsentState::from_entries(&entries))
    }

    #[test]
    fn every_step_use_gets_its_gate_for_every_standing() {
        use Gate::{Cancel, Hold, Run};
        use Person::*;
        const R: Denial = Denial::Restricted;
        const M: Denial = Denial::ConsentRequired(Purpose::Marketing);
        let none = StepUse::NoPersonalData {
            why: "counts rows only",
        };
        // (step, person, gate)
        let table = [
            (StepUse::Process(Purpose::AiGeneration), Defaults, Run),
            (StepUse::Process(Purpose::AiGeneration), Restricted, Hold(R)),
            (
                StepUse::Process(Purpose::AiGeneration),
                MarketingWithdrawn,
                Run,
            ),
            (StepUse::Process(Purpose::AiGeneration), Nobody, Cancel(R)),
            (StepUse::Process(Purpose::Marketing), Defaults, Cancel(M)),
            (StepUse::Process(Purpose::Marketing), Marketing, Run),
            (
                StepUse::Process(Purpose::Marketing),
                MarketingWithdrawn,
                Cancel(M),
            ),
            (
                StepUse::Process(Purpose::Marketing),
                MarketingObjected,
                Cancel(M),
            ),
            // Restriction is asked first: the job waits for it to be lifted.
            (StepUse::Process(Purpose::Marketing), Restricted, Hold(R)),
            (StepUse::Process(Purpose::Marketing), Nobody, Cancel(R)),
            (
                StepUse::Process(Purpose::Personalization),
                Marketing,
                Cancel(Denial::ConsentRequired(Purpose::Personalization)),
            ),
            (StepUse::Process(Purpose::LegalCompliance), Restricted, Run),
            (StepUse::Process(Purpose::LegalCompliance), Nobody, Run),
            (StepUse::Process(Purpose::Security), Restricted, Run),
            (StepUse::Process(Purpose::Security), Nobody, Run),
            (StepUse::OwnRights, Restricted, Run),
            (StepUse::OwnRights, MarketingObjected, Run),
            (StepUse::OwnRights, Nobody, Run),
            (none, Restricted, Run),
            (none, Nobody, Run),
        ];
        for (step, person, expected) in table {
            let state = state(person);
            assert_eq!(
                gate(step, state.as_ref(), HISTORY),
                expected,
                "{step:?} / {person:?}"
            );
        }
    }

    #[test]
    fn a_purpose_is_held_exactly_when_the_decision_refuses_it_for_restriction() {
        let restricted = state(Person::Restricted);
        for purpose in Purpose::ALL {
            let decision = may_process(
                Activity::Process(purpose),
                restricted.as_ref().expect("a person"),
                HISTORY,
            );
            let gate = gate(StepUse::Process(purpose), restricted.as_ref(), HISTORY);
            match decision {
                Ok(()) => assert_eq!(gate, Gate::Run, "{purpose}"),
                Err(denial) => assert_eq!(gate, Gate::Hold(denial), "{purpose}"),
            }
        }
    }
}
