//! A subscription's state as the account last observed it, the order in which observations
//! count, and the plan it gives.
//!
//! Stripe sends events at least once and in no guaranteed order. Each observation carries
//! the time of the event that reported it ([`Observed::as_of`]: the event's `created`);
//! [`supersedes`] lets an observation replace the stored one only when it is newer, or
//! equally new and further along the subscription's life ([`Status::rank`]: an ended
//! subscription never comes back to life through an event of the same second). [`plan`]
//! then decides the plan at a given time: an active or trialing subscription gives `PRO`; a
//! past-due one keeps `PRO` until the end of the period already paid for; anything else is
//! `FREE`.

use chrono::{DateTime, Utc};

use crate::usage::Plan;

/// A Stripe subscription's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The first payment has not succeeded yet.
    Incomplete,
    /// The first payment never succeeded: the subscription ended before it began.
    IncompleteExpired,
    /// In a trial period.
    Trialing,
    /// Paid and running.
    Active,
    /// A renewal payment failed; Stripe is retrying it.
    PastDue,
    /// Cancelled: ended.
    Canceled,
    /// Retries ran out without payment.
    Unpaid,
    /// Paused (a trial ended without a payment method).
    Paused,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 8] = [
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Canceled,
        Self::Unpaid,
        Self::Paused,
    ];

    /// Stripe's name, which is also the stored one.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
        }
    }

    /// Parses Stripe's name; `None` for a status this version does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// How far along a subscription's life the status is, to order two observations of the
    /// same second: not yet paid, then running, then in arrears, then ended.
    pub fn rank(self) -> u8 {
        match self {
            Self::Incomplete => 0,
            Self::Trialing | Self::Active => 1,
            Self::PastDue | Self::Paused => 2,
            Self::Unpaid => 3,
            Self::Canceled | Self::IncompleteExpired => 4,
        }
    }
}

/// A subscription's state as one event reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Its status.
    pub status: Status,
    /// The end of the period paid for, when the event says (an event that does not keeps
    /// the one known).
    pub period_end: Option<DateTime<Utc>>,
    /// When the reporting event was created at Stripe.
    pub as_of: DateTime<Utc>,
}

/// Whether `incoming` replaces `current`: it is newer, or of the same second and further
/// along the subscription's life.
pub fn supersedes(current: Option<&Observed>, incoming: &Observed) -> bool {
    match current {
        None => true,
        Some(current) if incoming.as_of != current.as_of => incoming.as_of > current.as_of,
        Some(current) => incoming.status.rank() > current.status.rank(),
    }
}

/// What to store after observing `incoming`: `incoming` when it supersedes `current`
/// (keeping the known period end when it reports none), else `current` unchanged.
pub fn observe(current: Option<Observed>, incoming: Observed) -> Observed {
    match current {
        Some(current) if !supersedes(Some(&current), &incoming) => current,
        current => Observed {
            period_end: incoming
                .period_end
                .or(current.and_then(|current| current.period_end)),
            ..incoming
        },
    }
}

/// The plan `state` gives at `now`: `PRO` while active or trialing, and while past due
/// until the end of the period paid for; `FREE` otherwise (no subscription, ended, unpaid,
/// paused, or past due with the period over or unknown).
pub fn plan(state: Option<&Observed>, now: DateTime<Utc>) -> Plan {
    let Some(state) = state else {
        return Plan::Free;
    };
    match state.status {
        Status::Active | Status::Trialing => Plan::Pro,
        Status::PastDue if state.period_end.is_some_and(|end| now < end) => Plan::Pro,
        Status::PastDue
        | Status::Incomplete
        | Status::IncompleteExpired
        | Status::Canceled
        | Status::Unpaid
        | Status::Paused => Plan::Free,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).expect("time")
    }

    fn seen(status: Status, period_end: Option<i64>, as_of: i64) -> Observed {
        Observed {
            status,
            period_end: period_end.map(at),
            as_of: at(as_of),
        }
    }

    #[test]
    fn every_status_round_trips_through_its_stripe_name_and_unknown_ones_do_not_parse() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("ACTIVE"), None);
        assert_eq!(Status::parse("expired"), None);
    }

    #[test]
    fn the_plan_follows_the_status_and_a_past_due_period_until_it_ends() {
        use Status::*;
        let cases = [
            (None, 0, Plan::Free, "no subscription"),
            (Some(seen(Active, Some(100), 0)), 50, Plan::Pro, "active"),
            (
                Some(seen(Active, Some(100), 0)),
                500,
                Plan::Pro,
                "active past its period: Stripe renews",
            ),
            (
                Some(seen(Active, None, 0)),
                50,
                Plan::Pro,
                "active, period not yet known",
            ),
            (
                Some(seen(Trialing, Some(100), 0)),
                50,
                Plan::Pro,
                "trialing",
            ),
            (
                Some(seen(PastDue, Some(100), 0)),
                50,
                Plan::Pro,
                "past due inside the paid period",
            ),
            (
                Some(seen(PastDue, Some(100), 0)),
                100,
                Plan::Free,
                "past due at the period's end",
            ),
            (
                Some(seen(PastDue, Some(100), 0)),
                101,
                Plan::Free,
                "past due after the period",
            ),
            (
                Some(seen(PastDue, None, 0)),
                50,
                Plan::Free,
                "past due, period unknown",
            ),
            (
                Some(seen(Canceled, Some(100), 0)),
                50,
                Plan::Free,
                "cancelled",
            ),
            (Some(seen(Unpaid, Some(100), 0)), 50, Plan::Free, "unpaid"),
            (Some(seen(Paused, Some(100), 0)), 50, Plan::Free, "paused"),
            (
                Some(seen(Incomplete, Some(100), 0)),
                50,
                Plan::Free,
                "first payment pending",
            ),
            (
                Some(seen(IncompleteExpired, Some(100), 0)),
                50,
                Plan::Free,
                "first payment failed",
            ),
        ];
        for (state, now, expected, name) in cases {
            assert_eq!(plan(state.as_ref(), at(now)), expected, "{name}");
        }
    }

    #[test]
    fn an_older_event_never_overwrites_a_newer_state_and_ties_go_to_the_later_status() {
        use Status::*;
        let cases = [
            (None, seen(Active, Some(100), 5), true, "first observation"),
            (
                Some(seen(Active, Some(100), 5)),
                seen(PastDue, None, 6),
                true,
                "newer",
            ),
            (
                Some(seen(Canceled, None, 9)),
                seen(Active, Some(100), 5),
                false,
                "older active after cancellation",
            ),
            (
                Some(seen(PastDue, Some(100), 6)),
                seen(Active, Some(100), 5),
                false,
                "older",
            ),
            (
                Some(seen(Active, Some(100), 5)),
                seen(Canceled, None, 5),
                true,
                "same second, ended",
            ),
            (
                Some(seen(Canceled, None, 5)),
                seen(Active, Some(100), 5),
                false,
                "same second, not back to life",
            ),
            (
                Some(seen(Incomplete, None, 5)),
                seen(Active, Some(100), 5),
                true,
                "same second, paid",
            ),
            (
                Some(seen(Active, Some(100), 5)),
                seen(Active, Some(200), 5),
                false,
                "same second, same status: the first stays",
            ),
            (
                Some(seen(Canceled, None, 5)),
                seen(Active, Some(900), 50),
                true,
                "a new subscription later",
            ),
        ];
        for (current, incoming, expected, name) in cases {
            assert_eq!(supersedes(current.as_ref(), &incoming), expected, "{name}");
        }
    }

    #[test]
    fn observing_keeps_the_known_period_end_when_an_event_reports_none() {
        let stored = observe(None, seen(Status::Active, Some(100), 1));
        let failed = observe(Some(stored), seen(Status::PastDue, None, 2));
        assert_eq!(failed, seen(Status::PastDue, Some(100), 2));
        let late = observe(Some(failed), seen(Status::Active, Some(40), 1));
        assert_eq!(late, failed, "a late event changes nothing");
        assert_eq!(plan(Some(&late), at(99)), Plan::Pro);
        assert_eq!(
            plan(Some(&late), at(100) + TimeDelta::seconds(1)),
            Plan::Free
        );
    }

    #[test]
    fn events_in_any_order_end_in_the_state_of_the_newest() {
        use Status::*;
        let events = [
            seen(Incomplete, None, 1),
            seen(Active, Some(100), 2),
            seen(PastDue, None, 3),
            seen(Active, Some(200), 4),
            seen(Canceled, None, 5),
        ];
        // Every permutation of five events.
        let mut order: Vec<usize> = (0..events.len()).collect();
        let mut permutations = vec![order.clone()];
        // Heap's algorithm, iterative.
        let mut c = vec![0; order.len()];
        let mut i = 0;
        while i < order.len() {
            if c[i] < i {
                if i % 2 == 0 {
                    order.swap(0, i);
                } else {
                    order.swap(c[i], i);
                }
                permutations.push(order.clone());
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        assert_eq!(permutations.len(), 120);
        for permutation in permutations {
            let state = permutation
                .iter()
                .fold(None, |state, &i| Some(observe(state, events[i])))
                .expect("observed");
            assert_eq!(state.status, Canceled, "{permutation:?}");
            assert_eq!(state.as_of, at(5), "{permutation:?}");
            assert_eq!(plan(Some(&state), at(6)), Plan::Free);
        }
    }
}
