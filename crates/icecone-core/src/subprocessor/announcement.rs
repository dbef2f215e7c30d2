//! The rule "a change to the subprocessors is announced to every account before it takes
//! effect", as one decision.
//!
//! Each list the gateway starts with is compared with the latest published version. The
//! first version ever recorded describes the processing as it already is: it is in effect
//! at once and announced to nobody. A changed list becomes a new version that takes effect
//! no sooner than the notice period after it is first published (and never before the
//! version it follows); every account is told of it in that period. An operator may give
//! the day it takes effect (`takes_effect_on`); a day inside the notice period is refused,
//! so the file is corrected rather than the notice shortened.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The latest published version, as far as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest<'a> {
    /// Its list's digest (`Registry::digest`).
    pub digest: &'a str,
    /// When it takes (or took) effect.
    pub takes_effect_at: DateTime<Utc>,
}

/// What to do with the list the gateway starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The list is the latest version's: nothing to publish.
    Unchanged,
    /// Nothing was published yet: publish the list as the first version, in effect from
    /// `takes_effect_at`, announced to nobody.
    First {
        /// When it takes effect.
        takes_effect_at: DateTime<Utc>,
    },
    /// Publish the list as a new version that every account is told of, in effect from
    /// `takes_effect_at`.
    Announce {
        /// When it takes effect: at least the notice period from now.
        takes_effect_at: DateTime<Utc>,
    },
}

/// Why a changed list cannot be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AnnouncementError {
    /// The requested day is inside the notice period.
    #[error(
        "`takes_effect_on` is within the notice period: a change must be announced to every account first, so the earliest day is {earliest}"
    )]
    TooSoon {
        /// The first day the change may take effect.
        earliest: NaiveDate,
    },
}

/// Decides what publishing `digest` at `now` means after `latest`, with `notice` the notice
/// period and `requested` the day the operator wants the change to take effect (at 00:00
/// UTC), if any.
pub fn decide(
    latest: Option<Latest<'_>>,
    digest: &str,
    requested: Option<NaiveDate>,
    now: DateTime<Utc>,
    notice: TimeDelta,
) -> Result<Decision, AnnouncementError> {
    let requested_at = requested.map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc());
    let Some(latest) = latest else {
        return Ok(Decision::First {
            takes_effect_at: requested_at.map_or(now, |at| at.max(now)),
        });
    };
    if latest.digest == digest {
        return Ok(Decision::Unchanged);
    }
    let after_notice = now + notice;
    let takes_effect_at = match requested_at {
        Some(at) if at < after_notice => {
            let next_day =
                (after_notice - TimeDelta::nanoseconds(1)).date_naive() + TimeDelta::days(1);
            return Err(AnnouncementError::TooSoon { earliest: next_day });
        }
        Some(at) => at,
        None => after_notice,
    };
    Ok(Decision::Announce {
        takes_effect_at: takes_effect_at.max(latest.takes_effect_at),
    })
}

/// Which of `versions` (each with the time it takes effect, in publication order) is in
/// effect at `now` — the last whose time has come — and which are announced but not yet in
/// effect, as indexes.
pub fn in_effect(versions: &[DateTime<Utc>], now: DateTime<Utc>) -> (Option<usize>, Vec<usize>) {
    let current = versions.iter().rposition(|at| *at <= now);
    let upcoming = versions
        .iter()
        .enumerate()
        .filter(|(_, at)| **at > now)
        .map(|(index, _)| index)
        .collect();
    (current, upcoming)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a day")
    }

    #[test]
    fn a_change_takes_effect_no_sooner_than_the_notice_period_after_it_is_announced() {
        let now = at("2026-12-07T10:00:00Z");
        let notice = TimeDelta::days(30);
        let old = Latest {
            digest: "old",
            takes_effect_at: at("2026-01-01T00:00:00Z"),
        };
        let pending = Latest {
            digest: "pending",
            takes_effect_at: at("2027-02-01T00:00:00Z"),
        };
        #[allow(clippy::type_complexity)]
        let cases: [(
            &str,
            Option<Latest<'_>>,
            &str,
            Option<&str>,
            Result<Decision, AnnouncementError>,
        ); 9] = [
            (
                "the first version is in effect at once",
                None,
                "new",
                None,
                Ok(Decision::First {
                    takes_effect_at: now,
                }),
            ),
            (
                "a first version with a past day is in effect at once",
                None,
                "new",
                Some("2026-01-01"),
                Ok(Decision::First {
                    takes_effect_at: now,
                }),
            ),
            (
                "a first version may wait for its day",
                None,
                "new",
                Some("2026-12-10"),
                Ok(Decision::First {
                    takes_effect_at: at("2026-12-10T00:00:00Z"),
                }),
            ),
            (
                "the same list publishes nothing",
                Some(old),
                "old",
                None,
                Ok(Decision::Unchanged),
            ),
            (
                "the same list with an early day publishes nothing either",
                Some(old),
                "old",
                Some("2026-12-08"),
                Ok(Decision::Unchanged),
            ),
            (
                "a change without a day takes effect after the notice period",
                Some(old),
                "new",
                None,
                Ok(Decision::Announce {
                    takes_effect_at: at("2027-01-06T10:00:00Z"),
                }),
            ),
            (
                "a change's day inside the notice period is refused, naming the earliest",
                Some(old),
                "new",
                Some("2027-01-06"),
                Err(AnnouncementError::TooSoon {
                    earliest: day("2027-01-07"),
                }),
            ),
            (
                "a change's day after the notice period is kept",
                Some(old),
                "new",
                Some("2027-01-07"),
                Ok(Decision::Announce {
                    takes_effect_at: at("2027-01-07T00:00:00Z"),
                }),
            ),
            (
                "a change never takes effect before the version it follows",
                Some(pending),
                "new",
                None,
                Ok(Decision::Announce {
                    takes_effect_at: at("2027-02-01T00:00:00Z"),
                }),
            ),
        ];
        for (case, latest, digest, requested, expected) in cases {
            assert_eq!(
                decide(latest, digest, requested.map(day), now, notice),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn the_version_in_effect_is_the_last_whose_time_has_come() {
        let now = at("2026-12-07T10:00:00Z");
        type Case = (&'static str, Vec<&'static str>, Option<usize>, Vec<usize>);
        let cases: [Case; 4] = [
            ("nothing published", vec![], None, vec![]),
            (
                "one in effect",
                vec!["2026-01-01T00:00:00Z"],
                Some(0),
                vec![],
            ),
            (
                "one in effect, one announced",
                vec!["2026-01-01T00:00:00Z", "2027-01-06T10:00:00Z"],
                Some(0),
                vec![1],
            ),
            (
                "the announced one has taken effect at its very time",
                vec![
                    "2026-01-01T00:00:00Z",
                    "2026-12-07T10:00:00Z",
                    "2027-02-01T00:00:00Z",
                ],
                Some(1),
                vec![2],
            ),
        ];
        for (case, versions, current, upcoming) in cases {
            let versions: Vec<_> = versions.into_iter().map(at).collect();
            assert_eq!(in_effect(&versions, now), (current, upcoming), "{case}");
        }
    }
}
