//! Whether a session authenticated recently enough for a sensitive change of its own
//! account — changing the e-mail address, enrolling or confirming a second factor — so that
//! a hijacked session cannot take the account over: a log-in within [`FRESH_AUTH`] and,
//! when a second factor is on, a second factor performed in the session within as long.
//! The window is the one sensitive staff mutations use ([`super::staff_access::FRESH_MFA`]).

use chrono::TimeDelta;

/// How recent the log-in (and second factor) must be.
pub const FRESH_AUTH: TimeDelta = super::staff_access::FRESH_MFA;

/// Whether a session whose log-in is `log_in_age` old — and whose last second factor is
/// `second_factor_age` old, if it performed one — may make a sensitive change to its
/// account, which has a second factor on or not. An age below zero (the clocks of two
/// instances disagree) counts as now.
pub fn recently_authenticated(
    log_in_age: TimeDelta,
    second_factor_on: bool,
    second_factor_age: Option<TimeDelta>,
) -> bool {
    log_in_age <= FRESH_AUTH
        && (!second_factor_on || second_factor_age.is_some_and(|age| age <= FRESH_AUTH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_log_in_and_when_on_a_recent_second_factor_are_needed() {
        let secs = TimeDelta::seconds;
        let late = FRESH_AUTH + secs(1);
        // (log-in age, second factor on, second factor age, allowed)
        let table = [
            (secs(0), false, None, true),
            (secs(-30), false, None, true),
            (FRESH_AUTH, false, None, true),
            (late, false, None, false),
            (late, false, Some(secs(0)), false),
            (secs(10), true, None, false),
            (secs(10), true, Some(secs(10)), true),
            (secs(10), true, Some(FRESH_AUTH), true),
            (secs(10), true, Some(late), false),
            (late, true, Some(secs(0)), false),
        ];
        for (log_in_age, on, factor_age, allowed) in table {
            assert_eq!(
                recently_authenticated(log_in_age, on, factor_age),
                allowed,
                "{log_in_age} {on} {factor_age:?}"
            );
        }
    }
}
