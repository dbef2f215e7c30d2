//! Messages to the data protection officer as tracked tickets: where a ticket stands, what
//! happens to it, and which steps its lifecycle allows.
//!
//! A ticket arrives `Open`. The DPO answers it — as often as the conversation needs, so an
//! `Answered` ticket can be answered again — and closes it once nothing more is to be said.
//! A `Closed` ticket is final: it is neither answered nor closed again (the sender writes a
//! new message instead). Everything here is a pure function; the store applies a step as
//! one conditional update on the statuses [`allowed_from`] lists, and records it in the
//! ticket's history.

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketStatus {
    /// Received, not yet answered.
    Open,
    /// The DPO answered at least once; it may be answered again.
    Answered,
    /// Closed by the DPO: final.
    Closed,
}

impl TicketStatus {
    /// Every status, in the order of the API.
    pub const ALL: [Self; 3] = [Self::Open, Self::Answered, Self::Closed];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Answered => "ANSWERED",
            Self::Closed => "CLOSED",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// What the DPO does to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketAction {
    /// Sends the sender a reply.
    Answer,
    /// Closes the ticket.
    Close,
}

impl TicketAction {
    /// The entry this step leaves in the ticket's history.
    pub fn recorded_as(self) -> TicketEventKind {
        match self {
            Self::Answer => TicketEventKind::Answered,
            Self::Close => TicketEventKind::Closed,
        }
    }
}

/// An entry of a ticket's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketEventKind {
    /// The message arrived.
    Received,
    /// The DPO replied (the entry carries the reply).
    Answered,
    /// The DPO closed the ticket.
    Closed,
}

impl TicketEventKind {
    /// Every kind, in the order of the API.
    pub const ALL: [Self; 3] = [Self::Received, Self::Answered, Self::Closed];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::Answered => "ANSWERED",
            Self::Closed => "CLOSED",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A step the lifecycle does not allow: a closed ticket answered or closed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ticket is {}: it cannot be {}", from.as_str().to_lowercase(), match action {
    TicketAction::Answer => "answered",
    TicketAction::Close => "closed again",
})]
pub struct TicketStepRefused {
    /// The status the ticket was in.
    pub from: TicketStatus,
    /// What was asked.
    pub action: TicketAction,
}

/// The status a ticket in `from` moves to on `action`.
pub fn transition(
    from: TicketStatus,
    action: TicketAction,
) -> Result<TicketStatus, TicketStepRefused> {
    use TicketAction as A;
    use TicketStatus as S;
    match (from, action) {
        (S::Open | S::Answered, A::Answer) => Ok(S::Answered),
        (S::Open | S::Answered, A::Close) => Ok(S::Closed),
        (S::Closed, _) => Err(TicketStepRefused { from, action }),
    }
}

/// The statuses from which `action` is allowed: what the store's conditional update checks.
pub fn allowed_from(action: TicketAction) -> Vec<TicketStatus> {
    TicketStatus::ALL
        .into_iter()
        .filter(|from| transition(*from, action).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_answered_while_open_or_answered_and_nothing_moves_a_closed_one() {
        use TicketAction as A;
        use TicketStatus as S;
        let table: &[(S, A, Option<S>)] = &[
            (S::Open, A::Answer, Some(S::Answered)),
            (S::Answered, A::Answer, Some(S::Answered)),
            (S::Closed, A::Answer, None),
            (S::Open, A::Close, Some(S::Closed)),
            (S::Answered, A::Close, Some(S::Closed)),
            (S::Closed, A::Close, None),
        ];
        assert_eq!(
            table.len(),
            S::ALL.len() * 2,
            "every status and action is in the table"
        );
        for &(from, action, to) in table {
            assert_eq!(transition(from, action).ok(), to, "{from:?} on {action:?}");
            if to.is_none() {
                assert_eq!(
                    transition(from, action),
                    Err(TicketStepRefused { from, action })
                );
            }
        }
        assert_eq!(allowed_from(A::Answer), [S::Open, S::Answered]);
        assert_eq!(allowed_from(A::Close), [S::Open, S::Answered]);
    }

    #[test]
    fn a_refusal_says_what_the_ticket_is_without_anything_from_it() {
        let refused = transition(TicketStatus::Closed, TicketAction::Answer).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "the ticket is closed: it cannot be answered"
        );
        let refused = transition(TicketStatus::Closed, TicketAction::Close).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "the ticket is closed: it cannot be closed again"
        );
    }

    #[test]
    fn names_round_trip() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Some(status));
        }
        for kind in TicketEventKind::ALL {
            assert_eq!(TicketEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TicketStatus::parse("open"), None);
        assert_eq!(
            TicketAction::Answer.recorded_as(),
            TicketEventKind::Answered
        );
        assert_eq!(TicketAction::Close.recorded_as(), TicketEventKind::Closed);
    }
}
