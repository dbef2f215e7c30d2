//! Data subject rights (GDPR Art. 15 to 21) as tracked requests: their kinds, their statuses
//! and the transitions between them, and their deadlines under Art. 12(3).
//!
//! A request is answered within one calendar month of its receipt. The controller may
//! extend that by up to two further months, once, with reasons told to the person — and
//! only within the first month. Everything here is a pure function of its inputs (the time
//! is passed in); the gateway stores the outcome and records each transition.
//!
//! Exports are costly to build (everything a person has, decrypted and packed), so a
//! person has at most one open at a time and asks for at most [`EXPORTS_PER_WINDOW`] in
//! any [`EXPORT_WINDOW`] ([`next_export_at`]); Art. 12(5) lets a controller refuse
//! manifestly excessive, repetitive requests.

use chrono::{DateTime, Months, TimeDelta, Utc};

/// Which right a request exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataRequestKind {
    /// A copy of the data (Art. 15).
    Access,
    /// The data in a machine-readable format (Art. 20), with the copy of Art. 15.
    Export,
    /// Correction of inaccurate data (Art. 16).
    Rectification,
    /// Erasure (Art. 17).
    Erasure,
    /// Restriction of processing (Art. 18).
    Restriction,
    /// Objection to processing (Art. 21).
    Objection,
}

impl DataRequestKind {
    /// Every kind, in the order of the API.
    pub const ALL: [Self; 6] = [
        Self::Access,
        Self::Export,
        Self::Rectification,
        Self::Erasure,
        Self::Restriction,
        Self::Objection,
    ];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "ACCESS",
            Self::Export => "EXPORT",
            Self::Rectification => "RECTIFICATION",
            Self::Erasure => "ERASURE",
            Self::Restriction => "RESTRICTION",
            Self::Objection => "OBJECTION",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The article of the GDPR that grants the right.
    pub fn article(self) -> &'static str {
        match self {
            Self::Access => "Art. 15",
            Self::Export => "Art. 20",
            Self::Rectification => "Art. 16",
            Self::Erasure => "Art. 17",
            Self::Restriction => "Art. 18",
            Self::Objection => "Art. 21",
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataRequestStatus {
    /// Received, not yet worked on.
    Received,
    /// Being worked on (a job runs, or staff act on it).
    InProgress,
    /// Done.
    Completed,
    /// Its deadline was extended (with a reason told to the person); still open.
    Extended,
    /// Refused, with a reason (for example a manifestly unfounded request, Art. 12(5)).
    Denied,
    /// Withdrawn by the person before it was done.
    Cancelled,
}

impl DataRequestStatus {
    /// Every status, in the order of the API.
    pub const ALL: [Self; 6] = [
        Self::Received,
        Self::InProgress,
        Self::Completed,
        Self::Extended,
        Self::Denied,
        Self::Cancelled,
    ];

    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Extended => "EXTENDED",
            Self::Denied => "DENIED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether the request still waits for an answer (and so can be overdue).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Received | Self::InProgress | Self::Extended)
    }

    /// The statuses a request can be in while open.
    pub const OPEN: [Self; 3] = [Self::Received, Self::InProgress, Self::Extended];
}

/// What happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataRequestEvent {
    /// Work starts (a job is claimed, staff take it up).
    Start,
    /// The deadline is extended.
    Extend,
    /// It is done.
    Complete,
    /// It is refused.
    Deny,
    /// The person withdraws it.
    Cancel,
}

/// A transition the lifecycle does not allow (a final request changed, a second extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} request cannot take this step", from.as_str())]
pub struct InvalidTransition {
    /// The status the request was in.
    pub from: DataRequestStatus,
    /// What was asked.
    pub event: DataRequestEvent,
}

/// The status a request in `from` moves to on `event`.
///
/// Open requests can be completed, denied or cancelled; they can be started while
/// received, and extended once (an extended request is worked on as it is, so `Start`
/// keeps it extended). Completed, denied and cancelled requests are final.
pub fn transition(
    from: DataRequestStatus,
    event: DataRequestEvent,
) -> Result<DataRequestStatus, InvalidTransition> {
    use DataRequestEvent as E;
    use DataRequestStatus as S;
    let to = match (from, event) {
        (S::Received, E::Start) => S::InProgress,
        (S::InProgress | S::Extended, E::Start) => from,
        (S::Received | S::InProgress, E::Extend) => S::Extended,
        (S::Received | S::InProgress | S::Extended, E::Complete) => S::Completed,
        (S::Received | S::InProgress | S::Extended, E::Deny) => S::Denied,
        (S::Received | S::InProgress | S::Extended, E::Cancel) => S::Cancelled,
        _ => return Err(InvalidTransition { from, event }),
    };
    Ok(to)
}

/// The statuses from which `event` is allowed: what a conditional store update checks.
pub fn allowed_from(event: DataRequestEvent) -> Vec<DataRequestStatus> {
    DataRequestStatus::ALL
        .into_iter()
        .filter(|from| transition(*from, event).is_ok())
        .collect()
}

/// The most export requests an account makes in any [`EXPORT_WINDOW`].
pub const EXPORTS_PER_WINDOW: usize = 3;
/// The window [`EXPORTS_PER_WINDOW`] counts in: a day.
pub const EXPORT_WINDOW: TimeDelta = TimeDelta::days(1);

/// When an account that received export requests at `received` (in any order) may make
/// the next one: `None` when it may now, otherwise when the oldest request of the current
/// window leaves it. Only the requests of the last [`EXPORT_WINDOW`] count.
pub fn next_export_at(received: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut recent: Vec<DateTime<Utc>> = received
        .iter()
        .copied()
        .filter(|at| *at > now - EXPORT_WINDOW)
        .collect();
    if recent.len() < EXPORTS_PER_WINDOW {
        return None;
    }
    recent.sort_unstable();
    // The request that must leave the window before another fits.
    let leaving = recent[recent.len() - EXPORTS_PER_WINDOW];
    Some(leaving + EXPORT_WINDOW)
}

/// The most months an extension may add (Art. 12(3): "by two further months").
pub const MAX_EXTENSION_MONTHS: u32 = 2;

/// `months` calendar months after `at`, clamped to the end of a shorter month
/// (31 January + 1 month = 28 or 29 February).
fn add_months(at: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    at.checked_add_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The calendar months a request has before it is due (Art. 12(3): "within one month of
/// receipt of the request").
pub const DUE_MONTHS: u32 = 1;

/// When a request received at `received_at` is due: one calendar month later.
pub fn due_at(received_at: DateTime<Utc>) -> DateTime<Utc> {
    add_months(received_at, DUE_MONTHS)
}

/// Why a deadline cannot be extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefused {
    /// It was extended before: Art. 12(3) allows one extension.
    #[error("the deadline was extended before: it can be extended only once")]
    AlreadyExtended,
    /// The first month is over: the extension must be told within it.
    #[error("the deadline can be extended only before the original due date")]
    TooLate,
    /// Not 1 or 2 months.
    #[error("an extension adds 1 or 2 months")]
    BadLength,
}

/// A request's deadline: when it was received, when it is due and, once extended, its new
/// due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    received_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    extended_due_at: Option<DateTime<Utc>>,
}

impl Deadline {
    /// The deadline of a request received at `received_at`.
    pub fn new(received_at: DateTime<Utc>) -> Self {
        Self {
            received_at,
            due_at: due_at(received_at),
            extended_due_at: None,
        }
    }

    /// A stored deadline.
    pub fn from_parts(
        received_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        extended_due_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            received_at,
            due_at,
            extended_due_at,
        }
    }

    /// When the request was received.
    pub fn received_at(&self) -> DateTime<Utc> {
        self.received_at
    }

    /// The original due date.
    pub fn due_at(&self) -> DateTime<Utc> {
        self.due_at
    }

    /// The extended due date, once extended.
    pub fn extended_due_at(&self) -> Option<DateTime<Utc>> {
        self.extended_due_at
    }

    /// The due date in force.
    pub fn effective_due_at(&self) -> DateTime<Utc> {
        self.extended_due_at.unwrap_or(self.due_at)
    }

    /// The deadline extended by `months` (1 or 2) at `now`: allowed once, and only before
    /// the original due date. The new due date counts from the original one.
    pub fn extend(&self, now: DateTime<Utc>, months: u32) -> Result<Self, ExtensionRefused> {
        if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
            return Err(ExtensionRefused::BadLength);
        }
        if self.extended_due_at.is_some() {
            return Err(ExtensionRefused::AlreadyExtended);
        }
        if now >= self.due_at {
            return Err(ExtensionRefused::TooLate);
        }
        // From the receipt, so that a clamped month end does not shorten the extension.
        let extended = add_months(self.received_at, 1 + months);
        Ok(Self {
            extended_due_at: Some(extended),
            ..*self
        })
    }

    /// Whether a request in `status` is overdue at `now`: open and past its due date in force.
    pub fn is_overdue(&self, status: DataRequestStatus, now: DateTime<Utc>) -> bool {
        status.is_open() && now > self.effective_due_at()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use DataRequestEvent as E;
    use DataRequestStatus as S;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 30, 0)
            .single()
            .expect("valid date")
    }

    #[test]
    fn at_most_three_exports_are_asked_for_in_any_day() {
        let now = at(2026, 12, 7);
        let hours = |h: i64| now - TimeDelta::hours(h);
        /// The times requests were received, and when the next may be.
        type Case = (Vec<DateTime<Utc>>, Option<DateTime<Utc>>);
        let table: [Case; 7] = [
            (vec![], None),
            (vec![hours(1)], None),
            (vec![hours(1), hours(2)], None),
            (
                vec![hours(1), hours(2), hours(3)],
                Some(hours(3) + EXPORT_WINDOW),
            ),
            // Order does not matter; the oldest of the last three leaves first.
            (
                vec![hours(3), hours(1), hours(20), hours(2)],
                Some(hours(3) + EXPORT_WINDOW),
            ),
            // Requests older than a day no longer count.
            (vec![hours(1), hours(2), hours(24), hours(30)], None),
            (
                vec![hours(0), hours(0), hours(0)],
                Some(now + EXPORT_WINDOW),
            ),
        ];
        for (received, expected) in table {
            assert_eq!(next_export_at(&received, now), expected, "{received:?}");
        }
    }

    #[test]
    fn every_status_and_event_gets_its_transition() {
        let table: [(S, [Option<S>; 5]); 6] = [
            // Start, Extend, Complete, Deny, Cancel
            (
                S::Received,
                [
                    Some(S::InProgress),
                    Some(S::Extended),
                    Some(S::Completed),
                    Some(S::Denied),
                    Some(S::Cancelled),
                ],
            ),
            (
                S::InProgress,
                [
                    Some(S::InProgress),
                    Some(S::Extended),
                    Some(S::Completed),
                    Some(S::Denied),
                    Some(S::Cancelled),
                ],
            ),
            (
                S::Extended,
                [
                    Some(S::Extended),
                    None,
                    Some(S::Completed),
                    Some(S::Denied),
                    Some(S::Cancelled),
                ],
            ),
            (S::Completed, [None; 5]),
            (S::Denied, [None; 5]),
            (S::Cancelled, [None; 5]),
        ];
        let events = [E::Start, E::Extend, E::Complete, E::Deny, E::Cancel];
        for (from, expected) in table {
            for (event, to) in events.into_iter().zip(expected) {
                let got = transition(from, event).ok();
                assert_eq!(got, to, "{from:?} on {event:?}");
            }
        }
    }

    #[test]
    fn allowed_from_lists_the_statuses_a_conditional_update_accepts() {
        assert_eq!(allowed_from(E::Extend), [S::Received, S::InProgress]);
        assert_eq!(allowed_from(E::Complete), S::OPEN);
        assert_eq!(allowed_from(E::Start), S::OPEN);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for kind in DataRequestKind::ALL {
            assert_eq!(DataRequestKind::parse(kind.as_str()), Some(kind));
        }
        for status in DataRequestStatus::ALL {
            assert_eq!(DataRequestStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DataRequestKind::parse("export"), None);
        assert_eq!(DataRequestStatus::parse("DONE"), None);
    }

    #[test]
    fn a_request_is_due_one_calendar_month_later_clamped_to_the_month_end() {
        let cases = [
            (at(2026, 1, 15), at(2026, 2, 15)),
            (at(2026, 1, 31), at(2026, 2, 28)),
            (at(2028, 1, 31), at(2028, 2, 29)), // leap year
            (at(2028, 2, 29), at(2028, 3, 29)),
            (at(2026, 3, 31), at(2026, 4, 30)),
            (at(2026, 12, 31), at(2027, 1, 31)),
            (at(2026, 8, 31), at(2026, 9, 30)),
        ];
        for (received, due) in cases {
            assert_eq!(due_at(received), due, "received {received}");
            assert_eq!(Deadline::new(received).effective_due_at(), due);
        }
    }

    #[test]
    fn an_extension_adds_up_to_two_months_once_and_only_within_the_first() {
        let received = at(2028, 12, 31);
        let deadline = Deadline::new(received);
        assert_eq!(deadline.due_at(), at(2029, 1, 31));

        let two = deadline
            .extend(at(2029, 1, 10), 2)
            .expect("within the month");
        assert_eq!(two.due_at(), at(2029, 1, 31), "the original stays");
        // 31 December + 3 months = 31 March, not 28 February + 2 months.
        assert_eq!(two.effective_due_at(), at(2029, 3, 31));
        let one = deadline
            .extend(at(2029, 1, 10), 1)
            .expect("within the month");
        assert_eq!(one.effective_due_at(), at(2029, 2, 28));

        let leap = Deadline::new(at(2027, 12, 31))
            .extend(at(2028, 1, 2), 1)
            .expect("in time");
        assert_eq!(leap.effective_due_at(), at(2028, 2, 29));

        assert_eq!(
            two.extend(at(2029, 1, 11), 1),
            Err(ExtensionRefused::AlreadyExtended)
        );
        assert_eq!(
            deadline.extend(at(2029, 1, 31), 1),
            Err(ExtensionRefused::TooLate),
            "not on the due date itself"
        );
        assert_eq!(
            deadline.extend(at(2029, 1, 10), 3),
            Err(ExtensionRefused::BadLength)
        );
        assert_eq!(
            deadline.extend(at(2029, 1, 10), 0),
            Err(ExtensionRefused::BadLength)
        );
    }

    #[test]
    fn only_open_requests_past_their_due_date_in_force_are_overdue() {
        let deadline = Deadline::new(at(2026, 1, 31));
        let after_due = at(2026, 3, 1);
        assert!(deadline.is_overdue(S::Received, after_due));
        assert!(deadline.is_overdue(S::InProgress, after_due));
        assert!(!deadline.is_overdue(S::Received, at(2026, 2, 27)));
        for closed in [S::Completed, S::Denied, S::Cancelled] {
            assert!(!deadline.is_overdue(closed, after_due), "{closed:?}");
        }
        let extended = deadline.extend(at(2026, 2, 1), 2).expect("in time");
        assert!(!extended.is_overdue(S::Extended, after_due));
        assert!(extended.is_overdue(S::Extended, at(2026, 5, 1)));
    }
}
