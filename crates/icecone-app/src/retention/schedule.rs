//! The retention schedule for publication: per table of personal data, what it holds, for
//! how long this deployment keeps it and why, in plain language and free of markup (the
//! privacy page and `/privacy.json` render it; so does `privacyPolicy { retention }`).

use std::time::Duration;

use icecone_store::personal_data::{Entry, REGISTRY, Retention};

use crate::settings::{RetentionConfig, duration_text};

/// How long a kind of data is kept, with this deployment's periods resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Until the account is deleted.
    WhileAccountExists,
    /// A configured period after an event.
    For {
        /// The period this deployment configured.
        period: Duration,
        /// The setting that holds it.
        setting: &'static str,
        /// What it counts from.
        from: &'static str,
    },
    /// Until an event.
    Until {
        /// The event.
        event: &'static str,
    },
    /// A period the law requires or allows, with its ground.
    Legal {
        /// For how long.
        period: &'static str,
        /// The legal ground.
        ground: &'static str,
    },
}

/// One line of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEntry {
    /// The table (a stable key for the entry).
    pub table: &'static str,
    /// What it holds.
    pub what: &'static str,
    /// How long it is kept, typed.
    pub kept: Kept,
    /// How long it is kept, as a sentence fragment: `90 days after it was made`.
    pub how_long: String,
    /// Why it is kept that long.
    pub why: &'static str,
}

/// The schedule of this deployment: one entry per table of personal data, in the
/// registry's order.
pub fn schedule(retention: &RetentionConfig) -> Vec<ScheduleEntry> {
    REGISTRY
        .iter()
        .filter_map(|entry| match entry {
            Entry::Personal(personal) => Some(personal),
            Entry::NotPersonal { .. } => None,
        })
        .map(|personal| {
            let kept = match personal.retention {
                Retention::WhileAccountExists => Kept::WhileAccountExists,
                Retention::Period {
                    setting,
                    default,
                    from,
                    ..
                } => Kept::For {
                    period: retention
                        .period(setting)
                        .unwrap_or_else(|| fallback(default)),
                    setting,
                    from,
                },
                Retention::UntilEvent { event, .. } => Kept::Until { event },
                Retention::Legal { period, ground } => Kept::Legal { period, ground },
            };
            ScheduleEntry {
                table: personal.table,
                what: personal.what,
                how_long: how_long(&kept),
                kept,
                why: personal.why,
            }
        })
        .collect()
}

/// A registry default (`90d`) as a duration; only reached for a setting the configuration
/// does not know, which a test rules out.
fn fallback(default: &str) -> Duration {
    let (digits, unit) = default.split_at(default.len().saturating_sub(1));
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "y" => 365 * 86_400,
        _ => 86_400,
    };
    Duration::from_secs(digits.parse::<u64>().unwrap_or(0).saturating_mul(unit))
}

/// The sentence fragment for `kept`.
fn how_long(kept: &Kept) -> String {
    match kept {
        Kept::WhileAccountExists => "while your account exists (deleted with it)".to_owned(),
        Kept::For { period, from, .. } => format!("{} after {from}", duration_text(*period)),
        Kept::Until { event } => format!("until {event}"),
        Kept::Legal { period, .. } => (*period).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_largest_whole_unit() {
        let day = 86_400;
        for (seconds, text) in [
            (1_095 * day, "3 years"),
            (365 * day, "1 year"),
            (400 * day, "400 days"),
            (90 * day, "90 days"),
            (day, "1 day"),
            (12 * 3_600, "12 hours"),
            (90 * 60, "90 minutes"),
            (45, "45 seconds"),
            (0, "0 seconds"),
        ] {
            assert_eq!(
                duration_text(Duration::from_secs(seconds)),
                text,
                "{seconds}"
            );
        }
    }

    #[test]
    fn every_table_of_personal_data_has_a_line_with_this_deployments_period() {
        let retention = RetentionConfig {
            generations: Duration::from_secs(12 * 3_600),
            ..RetentionConfig::default()
        };
        let lines = schedule(&retention);
        let personal = REGISTRY
            .iter()
            .filter(|entry| matches!(entry, Entry::Personal(_)))
            .count();
        assert_eq!(lines.len(), personal);
        let line = |table: &str| {
            lines
                .iter()
                .find(|line| line.table == table)
                .unwrap_or_else(|| panic!("{table} has a line"))
        };
        assert_eq!(line("generations").how_long, "12 hours after it was made");
        assert_eq!(
            line("sessions").kept,
            Kept::For {
                period: Duration::from_secs(30 * 86_400),
                setting: "session_retention",
                from: "the session ended (signed out, revoked, or expired)",
            }
        );
        assert_eq!(
            line("consent_ledger").how_long,
            "while your account exists (deleted with it)"
        );
        assert!(
            line("mfa_challenges")
                .how_long
                .starts_with("until it expires")
        );
        assert!(matches!(line("audit_log").kept, Kept::Legal { .. }));
        for line in &lines {
            assert!(
                !line.what.is_empty() && !line.why.is_empty(),
                "{}",
                line.table
            );
            assert!(
                !line.how_long.contains('<') && !line.what.contains('<'),
                "{}: plain text, no markup",
                line.table
            );
        }
    }

    #[test]
    fn every_period_of_the_registry_is_a_setting_of_this_deployment_with_its_default() {
        let defaults = RetentionConfig::default();
        for entry in REGISTRY {
            if let Entry::Personal(personal) = entry
                && let Retention::Period {
                    setting, default, ..
                } = personal.retention
            {
                assert_eq!(
                    defaults.period(setting),
                    Some(fallback(default)),
                    "{setting}: known to RetentionConfig with the registry's default"
                );
            }
        }
    }
}
