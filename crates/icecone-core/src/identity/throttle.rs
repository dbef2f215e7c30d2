//! How long to wait after failed attempts: per account, and per client address.
//!
//! **Per account** ([`attempt_decision`]), for passwords and second factors alike, counting
//! *consecutive* failures (a success resets the count):
//!
//! | consecutive failures | next attempt |
//! | --- | --- |
//! | 0 to 3 ([`FREE_FAILURES`]) | at once |
//! | n = 4 to 12 | 2^(n-3) seconds after the last failure: 2 s, 4 s, ... 512 s |
//! | n = 13 to 19 | [`MAX_DELAY`] (15 minutes) after the last failure |
//! | 20 ([`HARD_STOP`]) or more | never: the account is [`AttemptDecision::Locked`] |
//!
//! The first failures are free because people mistype; the delays then make guessing slow
//! (reaching the hard stop takes about two hours), and the hard stop ends it well under the
//! 100 consecutive failures NIST SP 800-63B (5.2.2) allows. A locked account stays locked
//! until the count is reset by something other than a guess: recovery through another factor
//! or a staff action, as the gateway decides.
//!
//! **Per client address** ([`window_decision`]): at most `limit` failed attempts in a fixed
//! window, so that one client cannot spread its guesses over many accounts.
//! [`fixed_window_start`] gives the window an instant belongs to, a natural key for a counter.
//!
//! **Counting.** Every attempt is *reserved* before it runs: counted as a failure at once,
//! on the condition that the bucket still holds what [`decide`] allowed, and given back only
//! when it succeeds. Attempts running at the same time — aliases of one request, concurrent
//! requests, several gateway instances — therefore see each other: of forty guesses sent at
//! once, only the free ones run. [`Rule`] names the three ways a bucket is judged.

use chrono::{DateTime, TimeDelta, Utc};

/// Consecutive failures that cost nothing.
pub const FREE_FAILURES: u32 = 3;
/// Consecutive failures after which the account is locked.
pub const HARD_STOP: u32 = 20;
/// The longest delay between two attempts before the hard stop.
pub const MAX_DELAY: TimeDelta = TimeDelta::minutes(15);
/// The default limit of failed attempts per client address and window.
pub const ADDRESS_LIMIT: u32 = 60;
/// The default window of the per-address limit.
pub const ADDRESS_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Whether an attempt may be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptDecision {
    /// The attempt may go ahead.
    Allowed,
    /// Not before this much time has passed.
    RetryAfter(TimeDelta),
    /// No more attempts until the failure count is reset by other means.
    Locked,
}

impl AttemptDecision {
    /// The wait in whole seconds, rounded up and at least 1 (for a `Retry-After`-style hint);
    /// `None` unless the decision is [`AttemptDecision::RetryAfter`].
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::RetryAfter(wait) => {
                let whole = u64::try_from(wait.num_seconds()).unwrap_or(0);
                let rounded = if wait.subsec_nanos() > 0 {
                    whole + 1
                } else {
                    whole
                };
                Some(rounded.max(1))
            }
            Self::Allowed | Self::Locked => None,
        }
    }
}

/// How a bucket of attempts is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Passwords: growing delays capped at [`MAX_DELAY`], never a lock — anyone could lock
    /// anyone out by guessing at their address.
    Delays,
    /// Second factors: growing delays, then [`AttemptDecision::Locked`] at [`HARD_STOP`].
    DelaysThenLock,
    /// At most `limit` attempts in each fixed window of length `window` (the bucket is named
    /// with the window's start, [`fixed_window_start`]).
    Window {
        /// Attempts allowed per window.
        limit: u32,
        /// The window's length.
        window: TimeDelta,
    },
}

/// Whether one more attempt may be made at `now` in a bucket that already counts
/// `attempts` (failures and attempts still running), the last one at `last_attempt`.
pub fn decide(
    rule: Rule,
    attempts: u32,
    last_attempt: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AttemptDecision {
    match rule {
        Rule::Delays => attempt_decision(attempts.min(HARD_STOP - 1), last_attempt, now),
        Rule::DelaysThenLock => attempt_decision(attempts, last_attempt, now),
        Rule::Window { limit, window } => window_decision(
            attempts,
            fixed_window_start(now, window),
            now,
            limit,
            window,
        ),
    }
}

/// The delay owed after `consecutive_failures` failures (zero while they are free), ignoring
/// the hard stop.
pub fn delay_after(consecutive_failures: u32) -> TimeDelta {
    if consecutive_failures <= FREE_FAILURES {
        return TimeDelta::zero();
    }
    // 2^10 s already exceeds the cap: larger exponents need not be computed.
    let exponent = (consecutive_failures - FREE_FAILURES).min(10);
    TimeDelta::seconds(1_i64 << exponent).min(MAX_DELAY)
}

/// Whether an account with `consecutive_failures` failures, the last at `last_failure`, may
/// make an attempt at `now` (see the module documentation for the policy).
///
/// A last failure "in the future" (clocks of two instances disagree) counts as now. A count
/// without a time (which the store should never produce) owes no delay, though it still
/// locks at the hard stop: refusing forever would lock the person out for a bookkeeping slip.
pub fn attempt_decision(
    consecutive_failures: u32,
    last_failure: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AttemptDecision {
    if consecutive_failures >= HARD_STOP {
        return AttemptDecision::Locked;
    }
    let delay = delay_after(consecutive_failures);
    let Some(last_failure) = last_failure else {
        return AttemptDecision::Allowed;
    };
    let elapsed = now
        .signed_duration_since(last_failure)
        .max(TimeDelta::zero());
    if elapsed >= delay {
        AttemptDecision::Allowed
    } else {
        AttemptDecision::RetryAfter(delay - elapsed)
    }
}

/// Whether a client address that already failed `count_in_window` times in the window that
/// started at `window_start` may make an attempt at `now`, with at most `limit` failures per
/// `window`.
///
/// Once the window is over the attempt is allowed and counts towards a new window. A start
/// "in the future" counts as now. A window of zero or less disables the limit.
pub fn window_decision(
    count_in_window: u32,
    window_start: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
    window: TimeDelta,
) -> AttemptDecision {
    if window <= TimeDelta::zero() {
        return AttemptDecision::Allowed;
    }
    let elapsed = now
        .signed_duration_since(window_start)
        .max(TimeDelta::zero());
    if elapsed >= window || count_in_window < limit {
        AttemptDecision::Allowed
    } else {
        AttemptDecision::RetryAfter(window - elapsed)
    }
}

/// The start of the fixed window of length `window` that `now` falls in, counting windows
/// from the Unix epoch (so every gateway instance agrees). With a window of zero or less,
/// `now` itself.
pub fn fixed_window_start(now: DateTime<Utc>, window: TimeDelta) -> DateTime<Utc> {
    let window_micros = window.num_microseconds().unwrap_or(i64::MAX);
    if window_micros <= 0 {
        return now;
    }
    let now_micros = now.timestamp_micros();
    let start = now_micros - now_micros.rem_euclid(window_micros);
    DateTime::from_timestamp_micros(start).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("in range")
    }

    fn secs(seconds: i64) -> TimeDelta {
        TimeDelta::seconds(seconds)
    }

    #[test]
    fn failures_cost_nothing_then_grow_then_lock() {
        use AttemptDecision::{Allowed, Locked, RetryAfter};
        // (consecutive failures, seconds since the last failure, decision)
        let table = [
            (0, 0, Allowed),
            (1, 0, Allowed),
            (3, 0, Allowed),
            (4, 0, RetryAfter(secs(2))),
            (4, 1, RetryAfter(secs(1))),
            (4, 2, Allowed),
            (5, 0, RetryAfter(secs(4))),
            (5, 3, RetryAfter(secs(1))),
            (5, 4, Allowed),
            (6, 0, RetryAfter(secs(8))),
            (10, 0, RetryAfter(secs(128))),
            (12, 0, RetryAfter(secs(512))),
            (12, 600, Allowed),
            (13, 0, RetryAfter(secs(900))),
            (13, 899, RetryAfter(secs(1))),
            (13, 900, Allowed),
            (19, 0, RetryAfter(secs(900))),
            (19, 900, Allowed),
            (20, 0, Locked),
            (20, 86_400 * 365, Locked),
            (u32::MAX, 0, Locked),
            // The last failure is "in the future" (clock skew): the full delay, no more.
            (4, -30, RetryAfter(secs(2))),
        ];
        for (failures, elapsed, expected) in table {
            assert_eq!(
                attempt_decision(failures, Some(at(0)), at(elapsed)),
                expected,
                "{failures} failures, {elapsed} s later"
            );
        }
    }

    #[test]
    fn each_rule_judges_a_bucket_its_own_way() {
        use AttemptDecision::{Allowed, Locked, RetryAfter};
        let window = Rule::Window {
            limit: 10,
            window: secs(900),
        };
        // 1_800_000_000 is a multiple of 900: at(0) starts a window.
        // (rule, attempts counted, seconds since the last, seconds into the window, decision)
        let table = [
            (Rule::Delays, 0, None, 0, Allowed),
            (Rule::Delays, 3, Some(0), 0, Allowed),
            (Rule::Delays, 4, Some(0), 0, RetryAfter(secs(2))),
            (Rule::Delays, 4, Some(0), 2, Allowed),
            // Passwords never lock: past the hard stop they wait the longest delay.
            (Rule::Delays, HARD_STOP, Some(0), 0, RetryAfter(MAX_DELAY)),
            (Rule::Delays, u32::MAX, Some(0), 900, Allowed),
            (Rule::DelaysThenLock, 3, Some(0), 0, Allowed),
            (Rule::DelaysThenLock, 4, Some(0), 1, RetryAfter(secs(1))),
            (Rule::DelaysThenLock, HARD_STOP - 1, Some(0), 900, Allowed),
            (Rule::DelaysThenLock, HARD_STOP, Some(0), 86_400, Locked),
            (Rule::DelaysThenLock, 0, None, 0, Allowed),
            (window, 0, None, 0, Allowed),
            (window, 9, Some(0), 0, Allowed),
            (window, 10, Some(0), 0, RetryAfter(secs(900))),
            (window, 10, Some(0), 899, RetryAfter(secs(1))),
        ];
        for (rule, attempts, last, now, expected) in table {
            assert_eq!(
                decide(rule, attempts, last.map(at), at(now)),
                expected,
                "{rule:?}, {attempts} attempts, {now} s"
            );
        }
    }

    #[test]
    fn a_count_without_a_time_owes_no_delay_but_still_locks() {
        assert_eq!(attempt_decision(7, None, at(0)), AttemptDecision::Allowed);
        assert_eq!(
            attempt_decision(HARD_STOP, None, at(0)),
            AttemptDecision::Locked
        );
    }

    #[test]
    fn delays_double_and_are_capped() {
        let table = [
            (0, 0),
            (3, 0),
            (4, 2),
            (7, 16),
            (11, 256),
            (12, 512),
            (13, 900),
            (100, 900),
            (u32::MAX, 900),
        ];
        for (failures, seconds) in table {
            assert_eq!(delay_after(failures), secs(seconds), "{failures} failures");
        }
        // Well under NIST's 100 consecutive failures.
        const { assert!(HARD_STOP < 100) };
    }

    #[test]
    fn the_per_address_window_allows_up_to_its_limit() {
        use AttemptDecision::{Allowed, RetryAfter};
        let window = secs(600);
        // (failures so far in the window, seconds since the window started, decision)
        let table = [
            (0, 0, Allowed),
            (9, 0, Allowed),
            (10, 0, RetryAfter(secs(600))),
            (10, 599, RetryAfter(secs(1))),
            (10, 600, Allowed),
            (500, 601, Allowed),
            (10, -5, RetryAfter(secs(600))),
        ];
        for (count, elapsed, expected) in table {
            assert_eq!(
                window_decision(count, at(0), at(elapsed), 10, window),
                expected,
                "{count} failures, {elapsed} s into the window"
            );
        }
        assert_eq!(
            window_decision(0, at(0), at(0), 0, window),
            RetryAfter(window)
        );
        assert_eq!(window_decision(99, at(0), at(0), 1, secs(0)), Allowed);
    }

    #[test]
    fn fixed_windows_are_aligned_to_the_epoch() {
        let window = secs(900);
        // 1_800_000_000 is a multiple of 900.
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("ok");
        for offset in [0, 1, 899] {
            let now = start + secs(offset);
            assert_eq!(fixed_window_start(now, window), start, "offset {offset}");
        }
        assert_eq!(
            fixed_window_start(start + secs(900), window),
            start + secs(900)
        );
        let before_epoch = DateTime::from_timestamp(-1, 0).expect("ok");
        assert_eq!(
            fixed_window_start(before_epoch, window),
            DateTime::from_timestamp(-900, 0).expect("ok")
        );
        assert_eq!(fixed_window_start(at(5), secs(0)), at(5));
    }

    #[test]
    fn retry_hints_are_whole_seconds_rounded_up() {
        let table = [
            (AttemptDecision::Allowed, None),
            (AttemptDecision::Locked, None),
            (AttemptDecision::RetryAfter(secs(2)), Some(2)),
            (
                AttemptDecision::RetryAfter(TimeDelta::milliseconds(1_500)),
                Some(2),
            ),
            (
                AttemptDecision::RetryAfter(TimeDelta::milliseconds(1)),
                Some(1),
            ),
            (AttemptDecision::RetryAfter(TimeDelta::zero()), Some(1)),
        ];
        for (decision, expected) in table {
            assert_eq!(decision.retry_after_seconds(), expected, "{decision:?}");
        }
    }
}
