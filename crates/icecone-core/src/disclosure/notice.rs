//! The one decision of whether a person may be shown or told of a disclosure now: the
//! notice mail, `me { disclosures }` and the export all ask [`telling`].
//!
//! Nothing is shown of a request not (yet) approved — a refused one disclosed nothing, and
//! a recorded one may still be refused. An approved disclosure is shown at once unless a
//! confidentiality order was recorded with it; then only once the order has ended (at its
//! `until`, inclusive).

use chrono::{DateTime, Utc};

use super::lifecycle::DisclosureStatus;

/// What may be said of a disclosure to the person it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telling {
    /// Nothing, and nothing will be: the request was refused, so nothing was disclosed.
    Never,
    /// Nothing yet: the request awaits a decision.
    Undecided,
    /// Nothing until the confidentiality order ends at `until`.
    Withheld {
        /// When the order ends.
        until: DateTime<Utc>,
    },
    /// The person may be shown it and told now.
    Now,
}

impl Telling {
    /// Whether the person may be shown it and told now.
    pub fn may_tell(self) -> bool {
        self == Self::Now
    }
}

/// Whether a disclosure in `status`, with a confidentiality order until `order_until` (if
/// one was recorded), may be shown and told to the person at `now`.
pub fn telling(
    status: DisclosureStatus,
    order_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Telling {
    match (status, order_until) {
        (DisclosureStatus::Refused, _) => Telling::Never,
        (DisclosureStatus::Recorded, _) => Telling::Undecided,
        (DisclosureStatus::Approved, Some(until)) if now < until => Telling::Withheld { until },
        (DisclosureStatus::Approved, _) => Telling::Now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn only_an_approved_disclosure_outside_a_live_order_is_told() {
        use DisclosureStatus as S;
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let second = TimeDelta::seconds(1);
        let table: &[(S, Option<DateTime<Utc>>, Telling)] = &[
            (S::Recorded, None, Telling::Undecided),
            (S::Recorded, Some(now - second), Telling::Undecided),
            (S::Refused, None, Telling::Never),
            (S::Refused, Some(now - second), Telling::Never),
            (S::Approved, None, Telling::Now),
            // An order is live up to the second before its end, and over at its end.
            (
                S::Approved,
                Some(now + second),
                Telling::Withheld {
                    until: now + second,
                },
            ),
            (S::Approved, Some(now), Telling::Now),
            (S::Approved, Some(now - second), Telling::Now),
        ];
        for &(status, until, expected) in table {
            let got = telling(status, until, now);
            assert_eq!(got, expected, "{status:?} until {until:?}");
            assert_eq!(got.may_tell(), expected == Telling::Now);
        }
    }
}
