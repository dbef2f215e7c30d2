//! Whether a staff field may run for a caller: the one decision behind every staff guard,
//! and the written reason staff give for looking at a person's account.
//!
//! A staff field declares a [`StaffRequirement`]: a [`RoleRule`] and an
//! [`MfaRequirement`]. [`staff_access`] answers, in this order:
//!
//! 1. no signed-in caller: [`StaffDenial::Unauthenticated`];
//! 2. a caller holding no staff role at all, or a suspended one: [`StaffDenial::Forbidden`]
//!    (people who are not staff learn nothing about second factors from staff fields);
//! 3. staff without a second factor in this session (an `aal1` token):
//!    [`StaffDenial::MfaRequired`] on every staff field, before the role rule is looked at,
//!    so an unverified session cannot even find out which fields its roles would open;
//! 4. staff whose roles do not meet the field's rule: [`StaffDenial::Forbidden`];
//! 5. a field that needs a fresh second factor, and the last one is older than
//!    [`FRESH_MFA`]: [`StaffDenial::ReauthenticationRequired`].

use chrono::TimeDelta;

use super::roles::{RoleRule, StaffRole};

/// How recent a second factor must be for sensitive actions (staff mutations, turning the
/// second factor off).
pub const FRESH_MFA: TimeDelta = TimeDelta::minutes(5);

/// How recent a second factor a staff field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MfaRequirement {
    /// A second factor performed in this session (an `aal2` token): every staff field.
    Session,
    /// A second factor performed within [`FRESH_MFA`]: sensitive staff mutations.
    Fresh,
}

impl MfaRequirement {
    /// Whether the second factor must be fresh (the `fresh` argument of `@requiresMfa`).
    pub fn is_fresh(self) -> bool {
        matches!(self, Self::Fresh)
    }
}

/// What a staff field declares: who may call it and how recent their second factor must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaffRequirement {
    /// The roles that may call it.
    pub rule: RoleRule,
    /// The second factor it needs.
    pub mfa: MfaRequirement,
}

/// A signed-in caller, as the gateway found them for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffCaller<'a> {
    /// The staff roles held now (empty for people who are not staff).
    pub roles: &'a [StaffRole],
    /// Whether the caller's account is suspended.
    pub suspended: bool,
    /// How long ago the session's second factor was performed; `None` when it was not.
    pub mfa_age: Option<TimeDelta>,
}

/// Why a staff field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaffDenial {
    /// Nobody is signed in.
    #[error("sign in first")]
    Unauthenticated,
    /// The caller is not staff, is suspended, or holds no role the field allows.
    #[error("this needs a staff role the caller does not hold")]
    Forbidden,
    /// Staff must complete a second factor before any staff field.
    #[error("staff fields need a second factor: log in with it")]
    MfaRequired,
    /// The field needs a second factor within the last five minutes.
    #[error("this needs a second factor within the last five minutes")]
    ReauthenticationRequired,
}

/// Decides whether `caller` (`None`: anonymous) may use a field declaring `required`; the
/// order of the checks is described in the [module documentation](self).
pub fn staff_access(
    caller: Option<&StaffCaller<'_>>,
    required: StaffRequirement,
) -> Result<(), StaffDenial> {
    let caller = caller.ok_or(StaffDenial::Unauthenticated)?;
    if caller.suspended || caller.roles.is_empty() {
        return Err(StaffDenial::Forbidden);
    }
    let mfa_age = caller.mfa_age.ok_or(StaffDenial::MfaRequired)?;
    if !required.rule.allows(caller.roles) {
        return Err(StaffDenial::Forbidden);
    }
    if required.mfa.is_fresh() && mfa_age > FRESH_MFA {
        return Err(StaffDenial::ReauthenticationRequired);
    }
    Ok(())
}

/// A written reason for a staff action on a person's account: trimmed, 10 to 500
/// characters. It is stored sealed in the audit trail.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffReason(String);

/// A reason that is too short or too long. The message does not repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`reason` must be 10 to 500 characters: say why this is needed (e.g. a ticket)")]
pub struct BadReason;

impl StaffReason {
    /// The fewest characters a reason may have, after trimming.
    pub const MIN_CHARS: usize = 10;
    /// The most characters a reason may have, after trimming.
    pub const MAX_CHARS: usize = 500;

    /// Trims `text` and checks its length in characters.
    pub fn parse(text: &str) -> Result<Self, BadReason> {
        let trimmed = text.trim();
        let chars = trimmed.chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(BadReason)
        }
    }

    /// The trimmed reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StaffReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A reason may name a person; it stays out of debug output and logs.
        f.write_str("StaffReason(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a caller's roles relate to a field's rule.
    #[derive(Debug, Clone, Copy)]
    enum Fit {
        /// Holds no staff role.
        NotStaff,
        /// Holds a role that meets the rule, but the account is suspended.
        Suspended,
        /// Holds roles, none of which meets the rule.
        WrongRole,
        /// Holds a role that meets the rule.
        RightRole,
    }

    const NO_MFA: Option<TimeDelta> = None;
    const RECENT: Option<TimeDelta> = Some(TimeDelta::minutes(1));
    const EXACTLY_FIVE: Option<TimeDelta> = Some(TimeDelta::minutes(5));
    const STALE: Option<TimeDelta> = Some(TimeDelta::minutes(10));

    /// Every role set that is a `fit` for `rule`.
    fn role_sets(rule: RoleRule, fit: Fit) -> Vec<(Vec<StaffRole>, bool)> {
        let mut all = Vec::new();
        for mask in 0u8..16 {
            let roles: Vec<StaffRole> = StaffRole::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, role)| role)
                .collect();
            all.push(roles);
        }
        let sets: Vec<(Vec<StaffRole>, bool)> = match fit {
            Fit::NotStaff => vec![(Vec::new(), false), (Vec::new(), true)],
            Fit::Suspended => all
                .into_iter()
                .filter(|roles| !roles.is_empty())
                .map(|roles| (roles, true))
                .collect(),
            Fit::WrongRole => all
                .into_iter()
                .filter(|roles| !roles.is_empty() && !rule.allows(roles))
                .map(|roles| (roles, false))
                .collect(),
            Fit::RightRole => all
                .into_iter()
                .filter(|roles| rule.allows(roles))
                .map(|roles| (roles, false))
                .collect(),
        };
        sets
    }

    /// (roles, second factor age, field's MFA requirement, answer)
    type Row = (
        Fit,
        Option<TimeDelta>,
        MfaRequirement,
        Result<(), StaffDenial>,
    );

    #[test]
    fn every_combination_of_caller_and_requirement_gets_its_answer() {
        use MfaRequirement::{Fresh, Session};
        use StaffDenial::{Forbidden, MfaRequired, ReauthenticationRequired};
        let ok = Ok(());
        let table: [Row; 32] = [
            (Fit::NotStaff, NO_MFA, Session, Err(Forbidden)),
            (Fit::NotStaff, RECENT, Session, Err(Forbidden)),
            (Fit::NotStaff, EXACTLY_FIVE, Session, Err(Forbidden)),
            (Fit::NotStaff, STALE, Session, Err(Forbidden)),
            (Fit::NotStaff, NO_MFA, Fresh, Err(Forbidden)),
            (Fit::NotStaff, RECENT, Fresh, Err(Forbidden)),
            (Fit::NotStaff, EXACTLY_FIVE, Fresh, Err(Forbidden)),
            (Fit::NotStaff, STALE, Fresh, Err(Forbidden)),
            (Fit::Suspended, NO_MFA, Session, Err(Forbidden)),
            (Fit::Suspended, RECENT, Session, Err(Forbidden)),
            (Fit::Suspended, EXACTLY_FIVE, Session, Err(Forbidden)),
            (Fit::Suspended, STALE, Session, Err(Forbidden)),
            (Fit::Suspended, NO_MFA, Fresh, Err(Forbidden)),
            (Fit::Suspended, RECENT, Fresh, Err(Forbidden)),
            (Fit::Suspended, EXACTLY_FIVE, Fresh, Err(Forbidden)),
            (Fit::Suspended, STALE, Fresh, Err(Forbidden)),
            (Fit::WrongRole, NO_MFA, Session, Err(MfaRequired)),
            (Fit::WrongRole, RECENT, Session, Err(Forbidden)),
            (Fit::WrongRole, EXACTLY_FIVE, Session, Err(Forbidden)),
            (Fit::WrongRole, STALE, Session, Err(Forbidden)),
            (Fit::WrongRole, NO_MFA, Fresh, Err(MfaRequired)),
            (Fit::WrongRole, RECENT, Fresh, Err(Forbidden)),
            (Fit::WrongRole, EXACTLY_FIVE, Fresh, Err(Forbidden)),
            (Fit::WrongRole, STALE, Fresh, Err(Forbidden)),
            (Fit::RightRole, NO_MFA, Session, Err(MfaRequired)),
            (Fit::RightRole, RECENT, Session, ok),
            (Fit::RightRole, EXACTLY_FIVE, Session, ok),
            (Fit::RightRole, STALE, Session, ok),
            (Fit::RightRole, NO_MFA, Fresh, Err(MfaRequired)),
            (Fit::RightRole, RECENT, Fresh, ok),
            (Fit::RightRole, EXACTLY_FIVE, Fresh, ok),
            (Fit::RightRole, STALE, Fresh, Err(ReauthenticationRequired)),
        ];
        let mut checked = 0;
        for (fit, mfa_age, mfa, expected) in table {
            for rule in RoleRule::ALL {
                let sets = role_sets(rule, fit);
                assert!(!sets.is_empty(), "{rule:?} has role sets that are {fit:?}");
                for (roles, suspended) in sets {
                    let caller = StaffCaller {
                        roles: &roles,
                        suspended,
                        mfa_age,
                    };
                    assert_eq!(
                        staff_access(Some(&caller), StaffRequirement { rule, mfa }),
                        expected,
                        "{rule:?} {mfa:?} {caller:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 300, "the table covers every role set: {checked}");
    }

    #[test]
    fn anonymous_callers_are_unauthenticated_on_every_field() {
        for rule in RoleRule::ALL {
            for mfa in [MfaRequirement::Session, MfaRequirement::Fresh] {
                assert_eq!(
                    staff_access(None, StaffRequirement { rule, mfa }),
                    Err(StaffDenial::Unauthenticated)
                );
            }
        }
    }

    #[test]
    fn a_second_factor_performed_just_now_or_slightly_in_the_future_is_fresh() {
        let required = StaffRequirement {
            rule: RoleRule::Admin,
            mfa: MfaRequirement::Fresh,
        };
        for age in [TimeDelta::zero(), TimeDelta::seconds(-5), FRESH_MFA] {
            let caller = StaffCaller {
                roles: &[StaffRole::Admin],
                suspended: false,
                mfa_age: Some(age),
            };
            assert_eq!(staff_access(Some(&caller), required), Ok(()), "{age}");
        }
        let caller = StaffCaller {
            roles: &[StaffRole::Admin],
            suspended: false,
            mfa_age: Some(FRESH_MFA + TimeDelta::seconds(1)),
        };
        assert_eq!(
            staff_access(Some(&caller), required),
            Err(StaffDenial::ReauthenticationRequired)
        );
    }

    #[test]
    fn a_reason_is_trimmed_and_needs_ten_to_five_hundred_characters() {
        let table = [
            ("", false),
            ("too short", false),
            ("         too short         ", false),
            ("ticket 4711", true),
            ("  ticket 4711  ", true),
            ("ééééééééé", false),
            ("éééééééééé", true),
        ];
        for (text, accepted) in table {
            assert_eq!(StaffReason::parse(text).is_ok(), accepted, "{text:?}");
        }
        assert_eq!(
            StaffReason::parse("  ticket 4711 \n").map(|r| r.as_str().to_owned()),
            Ok("ticket 4711".to_owned())
        );
        assert!(StaffReason::parse(&"a".repeat(500)).is_ok());
        assert_eq!(StaffReason::parse(&"a".repeat(501)), Err(BadReason));
    }

    #[test]
    fn neither_a_reason_nor_its_error_shows_the_text() {
        let reason = StaffReason::parse("ticket about dana@example.com").expect("long enough");
        assert!(!format!("{reason:?}").contains("dana"));
        assert!(!BadReason.to_string().contains("short"));
        assert!(
            !StaffReason::parse("dana")
                .expect_err("short")
                .to_string()
                .contains("dana")
        );
    }
}
