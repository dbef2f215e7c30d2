//! The transparency report: how many disclosures were approved, per calendar quarter and
//! type of authority, over the last [`QUARTERS`] quarters.
//!
//! Every quarter of the period has a row for every authority type, so a missing row says
//! nothing; a count below [`SUPPRESS_BELOW`] — zero included — is published as "fewer
//! than [`SUPPRESS_BELOW`]", so that no row can single out the few people a rare request
//! concerned. Only approved disclosures count, by the quarter of their approval.

use chrono::{DateTime, Datelike, Utc};

use super::AuthorityType;

/// How many quarters the report covers, the current one included.
pub const QUARTERS: usize = 8;
/// The smallest count published as a number; smaller ones read "fewer than" it.
pub const SUPPRESS_BELOW: u32 = 5;

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: i32,
    quarter: u8,
}

impl Quarter {
    /// The quarter `at` falls in (UTC).
    pub fn of(at: DateTime<Utc>) -> Self {
        Self {
            year: at.year(),
            // Months 1..=12 make quarters 1..=4.
            quarter: u8::try_from(at.month0() / 3 + 1).unwrap_or(4),
        }
    }

    /// Its year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Its number in the year, 1 to 4.
    pub fn number(self) -> u8 {
        self.quarter
    }

    /// The quarter before.
    pub fn previous(self) -> Self {
        if self.quarter == 1 {
            Self {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Self {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }

    /// `2026-Q4`.
    pub fn label(self) -> String {
        format!("{}-Q{}", self.year, self.quarter)
    }
}

/// A published count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedCount {
    /// Exactly this many (at least [`SUPPRESS_BELOW`]).
    Exactly(u32),
    /// Fewer than this many (zero included).
    FewerThan(u32),
}

impl ReportedCount {
    /// The published form of `count`.
    pub fn of(count: u32) -> Self {
        if count < SUPPRESS_BELOW {
            Self::FewerThan(SUPPRESS_BELOW)
        } else {
            Self::Exactly(count)
        }
    }

    /// As read: `12`, `fewer than 5`.
    pub fn label(self) -> String {
        match self {
            Self::Exactly(count) => count.to_string(),
            Self::FewerThan(bound) => format!("fewer than {bound}"),
        }
    }
}

/// A row of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRow {
    /// The quarter.
    pub quarter: Quarter,
    /// Who asked.
    pub authority: AuthorityType,
    /// How many disclosures were approved, as published.
    pub count: ReportedCount,
}

/// The report at `now` from the approvals given (each its approval time and authority
/// type; any order, any period: those outside the last [`QUARTERS`] quarters are left
/// out). Newest quarter first, authority types in [`AuthorityType::ALL`]'s order.
pub fn transparency_report(
    approvals: impl IntoIterator<Item = (DateTime<Utc>, AuthorityType)>,
    now: DateTime<Utc>,
) -> Vec<ReportRow> {
    let mut quarters = Vec::with_capacity(QUARTERS);
    let mut quarter = Quarter::of(now);
    for _ in 0..QUARTERS {
        quarters.push(quarter);
        quarter = quarter.previous();
    }
    let mut counts = vec![0u32; QUARTERS * AuthorityType::ALL.len()];
    for (at, authority) in approvals {
        let Some(q) = quarters.iter().position(|q| *q == Quarter::of(at)) else {
            continue;
        };
        let a = AuthorityType::ALL
            .iter()
            .position(|kind| *kind == authority)
            .unwrap_or_default();
        let slot = &mut counts[q * AuthorityType::ALL.len() + a];
        *slot = slot.saturating_add(1);
    }
    quarters
        .iter()
        .enumerate()
        .flat_map(|(q, quarter)| {
            let counts = &counts;
            AuthorityType::ALL
                .iter()
                .enumerate()
                .map(move |(a, authority)| ReportRow {
                    quarter: *quarter,
                    authority: *authority,
                    count: ReportedCount::of(counts[q * AuthorityType::ALL.len() + a]),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn quarters_follow_the_calendar_in_utc() {
        let table = [
            ("2026-01-01T00:00:00Z", "2026-Q1"),
            ("2026-03-31T23:59:59Z", "2026-Q1"),
            ("2026-04-01T00:00:00Z", "2026-Q2"),
            ("2026-09-30T23:59:59Z", "2026-Q3"),
            ("2026-12-31T23:59:59Z", "2026-Q4"),
            ("2027-01-01T00:30:00+01:00", "2026-Q4"),
        ];
        for (time, label) in table {
            assert_eq!(Quarter::of(at(time)).label(), label, "{time}");
        }
        let first = Quarter::of(at("2026-02-01T00:00:00Z"));
        assert_eq!(first.previous().label(), "2025-Q4");
        assert_eq!(first.previous().previous().label(), "2025-Q3");
        assert_eq!((first.year(), first.number()), (2026, 1));
    }

    #[test]
    fn counts_below_the_threshold_are_published_as_fewer_than_it() {
        let table = [
            (0, ReportedCount::FewerThan(5), "fewer than 5"),
            (1, ReportedCount::FewerThan(5), "fewer than 5"),
            (4, ReportedCount::FewerThan(5), "fewer than 5"),
            (5, ReportedCount::Exactly(5), "5"),
            (6, ReportedCount::Exactly(6), "6"),
            (1000, ReportedCount::Exactly(1000), "1000"),
        ];
        for (count, published, label) in table {
            assert_eq!(ReportedCount::of(count), published, "{count}");
            assert_eq!(published.label(), label);
        }
    }

    #[test]
    fn the_report_has_every_quarter_and_authority_and_counts_each_approval_once() {
        let now = at("2026-12-07T12:00:00Z");
        let mut approvals = vec![(at("2026-10-01T00:00:00Z"), AuthorityType::Police); 5];
        approvals.push((at("2026-12-07T11:00:00Z"), AuthorityType::Court));
        approvals.extend(vec![(at("2025-01-15T00:00:00Z"), AuthorityType::Tax); 7]);
        // Before the period: left out.
        approvals.extend(vec![(at("2024-12-31T23:59:59Z"), AuthorityType::Tax); 9]);
        let report = transparency_report(approvals, now);
        assert_eq!(report.len(), QUARTERS * AuthorityType::ALL.len());
        assert_eq!(report[0].quarter.label(), "2026-Q4");
        assert_eq!(report.last().expect("rows").quarter.label(), "2025-Q1");
        let row = |quarter: &str, authority| {
            report
                .iter()
                .find(|row| row.quarter.label() == quarter && row.authority == authority)
                .expect("row")
                .count
        };
        assert_eq!(
            row("2026-Q4", AuthorityType::Police),
            ReportedCount::Exactly(5)
        );
        assert_eq!(
            row("2026-Q4", AuthorityType::Court),
            ReportedCount::FewerThan(SUPPRESS_BELOW)
        );
        assert_eq!(
            row("2025-Q1", AuthorityType::Tax),
            ReportedCount::Exactly(7)
        );
        assert_eq!(
            row("2025-Q2", AuthorityType::Tax),
            ReportedCount::FewerThan(SUPPRESS_BELOW)
        );
        let authorities: Vec<_> = report[..AuthorityType::ALL.len()]
            .iter()
            .map(|row| row.authority)
            .collect();
        assert_eq!(authorities, AuthorityType::ALL);
    }
}
