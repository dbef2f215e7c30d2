//! Who receives a campaign: one decision, asked for every account when a campaign is
//! queued (and, through the consent decision, once more when each message goes out).
//!
//! - Product news (marketing): a verified address that no mail server refused for good,
//!   an account that is not suspended, and `MARKETING` allowed now by
//!   [`may_process`] — given under a policy version that still counts, not withdrawn (by
//!   the person, by Global Privacy Control, by a one-click unsubscribe), not objected to,
//!   and processing not restricted.
//! - Service announcements: a verified, not suppressed address, and `SERVICE_PROVISION`
//!   allowed by [`may_process`]. The purpose rests on the contract, so no consent is asked;
//!   but it does not survive a restriction: under GDPR Art. 18(2) restricted data may,
//!   storage apart, be processed only with consent, for legal claims, for another's rights
//!   or an important public interest — none of which an announcement is. A restricted
//!   account gets none; notices the law requires (security, a data request's answer) are
//!   notifications of their own purposes, not announcements. A suspended account still
//!   has its contract, and gets them.

use crate::consent::Purpose;
use crate::consent::decision::{Activity, Denial, may_process};
use crate::consent::ledger::ConsentState;
use crate::consent::policy::PublishedPolicy;

use super::CampaignKind;

/// What the decision knows of an account.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Whether its e-mail address was verified.
    pub verified: bool,
    /// Whether a mail server refused mail to its address for good.
    pub suppressed: bool,
    /// Whether staff suspended it.
    pub suspended: bool,
    /// Its consent ledger's current state.
    pub consent: &'a ConsentState,
}

/// Why an account does not receive a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exclusion {
    /// Its address was never verified.
    #[error("the address is not verified")]
    Unverified,
    /// Its address refused mail for good.
    #[error("the address is suppressed")]
    Suppressed,
    /// It is suspended (marketing only).
    #[error("the account is suspended")]
    Suspended,
    /// The consent decision refuses the campaign's purpose.
    #[error(transparent)]
    Denied(#[from] Denial),
}

/// The purpose a campaign's messages are sent for.
pub fn purpose(kind: CampaignKind) -> Purpose {
    match kind {
        CampaignKind::ProductNews => Purpose::Marketing,
        CampaignKind::ServiceAnnouncement => Purpose::ServiceProvision,
    }
}

/// Whether `candidate` receives a campaign of `kind`, under the published `history`.
pub fn receives(
    kind: CampaignKind,
    candidate: Candidate<'_>,
    history: &[PublishedPolicy],
) -> Result<(), Exclusion> {
    if !candidate.verified {
        return Err(Exclusion::Unverified);
    }
    if candidate.suppressed {
        return Err(Exclusion::Suppressed);
    }
    if kind == CampaignKind::ProductNews && candidate.suspended {
        return Err(Exclusion::Suspended);
    }
    may_process(Activity::Process(purpose(kind)), candidate.consent, history)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::consent::ledger::{Change, ConsentSource, LedgerEntry};
    use crate::consent::policy::HISTORY;

    fn entry(change: Change, source: ConsentSource, minute: i64) -> LedgerEntry {
        LedgerEntry {
            change,
            policy_version: HISTORY[HISTORY.len() - 1].version.to_owned(),
            source,
            at: DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
        }
    }

    fn marketing(granted: bool, source: ConsentSource, minute: i64) -> LedgerEntry {
        entry(
            Change::Consent {
                purpose: Purpose::Marketing,
                granted,
            },
            source,
            minute,
        )
    }

    /// A ledger, by name.
    fn ledger(name: &str) -> ConsentState {
        use ConsentSource::{Gpc, SignUp, Unsubscribe, User};
        let given = marketing(true, SignUp, 0);
        let entries = match name {
            "nothing" => vec![],
            "marketing" => vec![given],
            "withdrawn" => vec![given, marketing(false, User, 1)],
            "gpc" => vec![given, marketing(false, Gpc, 1)],
            "unsubscribed" => vec![given, marketing(false, Unsubscribe, 1)],
            "objected" => vec![
                given,
                entry(
                    Change::Objection {
                        purpose: Purpose::Marketing,
                    },
                    User,
                    1,
                ),
            ],
            "restricted" => vec![
                given,
                entry(Change::Restriction { restricted: true }, User, 1),
            ],
            "lifted" => vec![
                given,
                entry(Change::Restriction { restricted: true }, User, 1),
                entry(Change::Restriction { restricted: false }, User, 2),
            ],
            other => panic!("no ledger {other}"),
        };
        ConsentState::from_entries(&entries)
    }

    use CampaignKind::{ProductNews as News, ServiceAnnouncement as Notice};
    use Exclusion::{Denied, Suppressed, Suspended, Unverified};

    const CONSENT: Exclusion = Denied(Denial::ConsentRequired(Purpose::Marketing));
    const RESTRICTED: Exclusion = Denied(Denial::Restricted);

    /// (kind, verified, suppressed, suspended, ledger, expected)
    type Case = (
        CampaignKind,
        bool,
        bool,
        bool,
        &'static str,
        Result<(), Exclusion>,
    );

    #[test]
    fn the_audience_of_each_kind_is_decided_by_address_account_and_ledger() {
        let cases: &[Case] = &[
            (News, true, false, false, "marketing", Ok(())),
            (News, true, false, false, "nothing", Err(CONSENT)),
            (News, true, false, false, "withdrawn", Err(CONSENT)),
            (News, true, false, false, "gpc", Err(CONSENT)),
            (News, true, false, false, "unsubscribed", Err(CONSENT)),
            (News, true, false, false, "objected", Err(CONSENT)),
            (News, true, false, false, "restricted", Err(RESTRICTED)),
            (News, true, false, false, "lifted", Ok(())),
            (News, false, false, false, "marketing", Err(Unverified)),
            (News, true, true, false, "marketing", Err(Suppressed)),
            (News, true, false, true, "marketing", Err(Suspended)),
            (Notice, true, false, false, "nothing", Ok(())),
            (Notice, true, false, false, "marketing", Ok(())),
            (Notice, true, false, false, "unsubscribed", Ok(())),
            (Notice, true, false, false, "objected", Ok(())),
            (Notice, true, false, true, "nothing", Ok(())),
            (Notice, true, false, false, "restricted", Err(RESTRICTED)),
            (Notice, true, false, false, "lifted", Ok(())),
            (Notice, false, false, false, "nothing", Err(Unverified)),
            (Notice, true, true, false, "nothing", Err(Suppressed)),
        ];
        for (kind, verified, suppressed, suspended, name, expected) in cases {
            let state = ledger(name);
            let candidate = Candidate {
                verified: *verified,
                suppressed: *suppressed,
                suspended: *suspended,
                consent: &state,
            };
            assert_eq!(
                receives(*kind, candidate, HISTORY),
                *expected,
                "{kind:?} verified={verified} suppressed={suppressed} suspended={suspended} ledger={name}"
            );
        }
    }

    #[test]
    fn each_kind_is_sent_for_its_purpose() {
        assert_eq!(purpose(News), Purpose::Marketing);
        assert_eq!(purpose(Notice), Purpose::ServiceProvision);
        assert!(Purpose::Marketing.needs_consent());
        assert!(!Purpose::ServiceProvision.needs_consent());
    }
}
