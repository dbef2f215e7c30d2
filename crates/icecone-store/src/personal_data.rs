//! The personal-data registry: every table IceCone owns, and how it relates to a person.
//!
//! A table is either [`Entry::Personal`] — it holds data about a person, found through an
//! [`Owner`] column, and says how erasure treats it ([`Erase`]) and where an export puts it
//! ([`Export`]) — or [`Entry::NotPersonal`], with the reason. The registry is complete by
//! construction: a store test lists the database's actual tables on SQLite and PostgreSQL
//! and fails when one is missing here (or listed here but absent), so a migration that adds
//! a table cannot ship without deciding its export and erasure.
//!
//! Every personal table also declares its [`Retention`] — while the account exists, a
//! configured period or an event enforced by a named [`Purge`], or a legal period with its
//! ground — with what it holds and why, in plain language: the retention schedule
//! `icecone_app::retention::schedule` publishes is made from it.
//!
//! [`REGISTRY`] is in erasure order: a table comes before every table its rows refer to, so
//! deleting a person's rows in this order never violates a foreign key.
//! [`Store::erase_account`](crate::Store::erase_account) walks it.

/// How a table's rows are tied to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A column holding the account id.
    Account(&'static str),
    /// A column holding the account id of the data subject — in a table whose other
    /// account columns (`set_by`) name staff, kept as bare references.
    AccountWithStaff {
        /// The person's account column.
        column: &'static str,
        /// Columns naming the staff who acted (pseudonymous references).
        staff: &'static [&'static str],
    },
    /// A column holding the data subject id.
    Subject(&'static str),
    /// The account's id in its own primary key (`accounts`).
    AccountId,
    /// Rows of a parent table owned by the account: `column` refers to `parent`'s `id`,
    /// whose `parent_owner` column holds the account id.
    Through {
        /// The column referring to the parent.
        column: &'static str,
        /// The parent table.
        parent: &'static str,
        /// The parent's account column.
        parent_owner: &'static str,
    },
    /// Throttling counters whose key names the person: by the blind index of their e-mail
    /// (`login:email:<hex>`, [`crate::attempts::email_bucket`]) or by their account id
    /// (`<what>:account:<id>...`, [`crate::attempts::account_bucket`]).
    AttemptBuckets,
    /// Entries naming the account as `account:<id>` in their actor or target text.
    AuditText,
    /// Rows naming the person only by a pseudonym of the day (an HMAC of the account id
    /// under a key the application holds sealed until the day is aggregated): the store
    /// cannot find them by the account, so its erasure walk deletes none; the application
    /// deletes a person's rows by their pseudonym while the key lives
    /// (`icecone_app::analytics::forget`, on withdrawal, restriction and erasure), and once
    /// the key is destroyed nothing ties them to anyone.
    DayPseudonym(&'static str),
}

pub use crate::purge::Purge;

/// What erasure does to a person's rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase {
    /// Delete them.
    DeleteRows,
    /// Keep them: they name the person only by a pseudonymous id that nothing else
    /// resolves once the account is gone, and a legal obligation requires keeping them.
    KeepPseudonymised {
        /// Why they are kept (the legal basis).
        why: &'static str,
    },
    /// Keep them, with the column tying them to the person cleared and `held_since` set to
    /// the time of the erasure: a legal obligation requires the records themselves, not
    /// whose they were.
    KeepUnlinked {
        /// The column set to now when the link is cleared.
        held_since: &'static str,
        /// Why they are kept (the legal basis).
        why: &'static str,
    },
}

/// Where an export (Art. 15 and 20) puts a person's rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// In this section of the bundle.
    Section(&'static str),
    /// Not exported, and why (security secrets, operational state).
    Excluded(&'static str),
}

/// A table holding data about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Personal {
    /// The table.
    pub table: &'static str,
    /// How its rows are tied to a person.
    pub owner: Owner,
    /// What erasure does to them.
    pub erase: Erase,
    /// Where an export puts them.
    pub export: Export,
    /// How long they are kept.
    pub retention: Retention,
    /// What they hold, in plain language for the published retention schedule.
    pub what: &'static str,
    /// Why they are kept that long, in plain language.
    pub why: &'static str,
}

/// How long a table's rows are kept, and what ends them. Every [`Personal`] table declares
/// one; a kept-for-a-time retention names the [`Purge`] that enforces it, and the
/// housekeeping (`icecone_app::retention`) runs every purge of [`Purge::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Until the account is erased (by its owner's request; erasure walks this registry).
    WhileAccountExists,
    /// A period this deployment configures, counted from an event.
    Period {
        /// The setting that holds the period (`generation_retention`).
        setting: &'static str,
        /// Its default (`90d`).
        default: &'static str,
        /// What the period counts from, to be read after "N days after": `it was made`.
        from: &'static str,
        /// The purge that deletes rows past it.
        purged_by: Purge,
    },
    /// Until an event the code fixes (a link's expiry), when the purge deletes them.
    UntilEvent {
        /// The event, to be read after "until": `it expires (after five minutes)`.
        event: &'static str,
        /// The purge that deletes them.
        purged_by: Purge,
    },
    /// Kept for a period the law requires or allows, beyond the account.
    Legal {
        /// For how long, in plain language.
        period: &'static str,
        /// The legal ground.
        ground: &'static str,
    },
}

impl Retention {
    /// The purge that enforces this retention, when one does (erasure ends the others).
    pub fn purged_by(&self) -> Option<Purge> {
        match self {
            Self::Period { purged_by, .. } | Self::UntilEvent { purged_by, .. } => Some(*purged_by),
            Self::WhileAccountExists | Self::Legal { .. } => None,
        }
    }
}

/// One table of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// It holds data about a person.
    Personal(Personal),
    /// It holds nothing about any person.
    NotPersonal {
        /// The table.
        table: &'static str,
        /// Why not.
        why: &'static str,
    },
}

impl Entry {
    /// The table's name.
    pub fn table(&self) -> &'static str {
        match self {
            Self::Personal(personal) => personal.table,
            Self::NotPersonal { table, .. } => table,
        }
    }
}

const fn personal(
    table: &'static str,
    owner: Owner,
    export: Export,
    retention: Retention,
    what: &'static str,
    why: &'static str,
) -> Entry {
    Entry::Personal(Personal {
        table,
        owner,
        erase: Erase::DeleteRows,
        export,
        retention,
        what,
        why,
    })
}

/// Kept while the account exists: a person's own data, which erasure deletes.
const WHILE_ACCOUNT: Retention = Retention::WhileAccountExists;

/// The periods configured for the data subject requests and the privacy tickets.
const DATA_REQUESTS: Retention = Retention::Period {
    setting: "data_request_retention",
    default: "1095d",
    from: "the request was finished",
    purged_by: Purge::FinishedDataRequests,
};
const PRIVACY_TICKETS: Retention = Retention::Period {
    setting: "privacy_ticket_retention",
    default: "1095d",
    from: "the message was closed (an open or answered message is kept until it is closed)",
    purged_by: Purge::ClosedPrivacyTickets,
};
const EXPORTS: Retention = Retention::Period {
    setting: "export_link_ttl",
    default: "7d",
    from: "the export was made (sooner once it is downloaded)",
    purged_by: Purge::ExpiredExports,
};
const WHY_REQUESTS: &str = "to show that each request was answered, and when, for as long \
                            as a claim about it can be brought (three years by default)";
const WHY_TICKETS: &str = "to show how each message to the Data Protection Officer was \
                           answered, for as long as a claim about it can be brought";

/// Every table, in erasure order (children before the tables they refer to).
pub const REGISTRY: &[Entry] = &[
    personal(
        "refresh_tokens",
        Owner::Through {
            column: "session_id",
            parent: "sessions",
            parent_owner: "account_id",
        },
        Export::Excluded("token digests are security secrets; sessions are exported"),
        Retention::UntilEvent {
            event: "it expires (30 days after it was issued)",
            purged_by: Purge::ExpiredRefreshTokens,
        },
        "digests of the tokens that keep you signed in",
        "a spent token is kept until it expires so that its reuse is recognised and the session ended",
    ),
    personal(
        "generation_ratings",
        Owner::Account("account_id"),
        Export::Section("ratings"),
        WHILE_ACCOUNT,
        "your ratings (good or bad) of your generations, with the generation's kind and provider",
        "only with your consent to improvement: counted in aggregate, from at least the minimum group of people, to rank the compliant providers of each kind; withdrawing the consent deletes them",
    ),
    personal(
        "analytics_events",
        Owner::DayPseudonym("pseudonym"),
        Export::Section("analytics"),
        Retention::UntilEvent {
            event: "the day is aggregated (hourly, after the day ends; never more than 48 hours after the event)",
            purged_by: Purge::StaleAnalyticsEvents,
        },
        "what you did today, with your consent to analytics: sign-up, generations asked for, succeeded or failed by kind and provider, latency, quota reached, rights exercised (kind only), with the hour — under a pseudonym of the day, never a prompt, output, address or exact time",
        "to count, in aggregate, how the service is used; after the day is aggregated, the events are deleted and the day's key destroyed",
    ),
    personal(
        "sessions",
        Owner::Account("account_id"),
        Export::Section("sessions"),
        Retention::Period {
            setting: "session_retention",
            default: "30d",
            from: "the session ended (signed out, revoked, or expired)",
            purged_by: Purge::EndedSessions,
        },
        "your sign-in sessions: when they began, how you authenticated, when they were last used",
        "so that you can see and end your sessions, and a recent suspicious sign-in can be examined",
    ),
    personal(
        "recovery_codes",
        Owner::Account("account_id"),
        Export::Excluded("digests of authentication secrets"),
        WHILE_ACCOUNT,
        "digests of your two-factor recovery codes",
        "to let you recover your account if you lose your second factor",
    ),
    personal(
        "totp_factors",
        Owner::Account("account_id"),
        Export::Section("account.mfaEnabled"),
        WHILE_ACCOUNT,
        "your two-factor authenticator's secret (sealed)",
        "to check your second factor at each sign-in",
    ),
    personal(
        "mfa_challenges",
        Owner::Account("account_id"),
        Export::Excluded("five-minute digests of log-in challenges"),
        Retention::UntilEvent {
            event: "it expires (five minutes after the password step)",
            purged_by: Purge::ExpiredMfaChallenges,
        },
        "digests of the challenges between the password and the second factor of a sign-in",
        "a sign-in needs them only while it is under way",
    ),
    personal(
        "staff_roles",
        Owner::Account("account_id"),
        Export::Section("account.staffRoles"),
        WHILE_ACCOUNT,
        "the roles of staff accounts",
        "to decide what a staff member may do",
    ),
    personal(
        "email_verifications",
        Owner::Account("account_id"),
        Export::Section("account.emailVerifiedAt"),
        Retention::UntilEvent {
            event: "the link expires (24 hours after it was sent)",
            purged_by: Purge::ExpiredEmailVerifications,
        },
        "the address a verification link was sent to (sealed) and a digest of the link",
        "to confirm that the address is yours",
    ),
    personal(
        "consent_ledger",
        Owner::Account("account_id"),
        Export::Section("consentHistory"),
        WHILE_ACCOUNT,
        "every consent you gave or withdrew, with when and how",
        "to show that processing based on consent had it (GDPR Art. 7(1)), for as long as the account exists",
    ),
    personal(
        "notification_outbox",
        // A notification without an account (the DPO's reply to a message sent without
        // one) is tied to a person only by the blind index of its sealed address: the
        // erasure job deletes those of the person's verified address with their anonymous
        // tickets (`rights::tickets::forget_anonymous`).
        Owner::Account("account_id"),
        Export::Section("notifications"),
        Retention::Period {
            setting: "notification_retention",
            default: "30d",
            from: "it was delivered or given up (a campaign message keeps only the fact that \
                   it was sent, so that the same campaign never reaches you twice)",
            purged_by: Purge::FinishedNotifications,
        },
        "the e-mails we send you (sealed) and whether they were delivered",
        "to deliver them, retry a failed delivery, and show you what was sent",
    ),
    personal(
        "mail_suppressions",
        Owner::Account("account_id"),
        Export::Excluded(
            "a keyed digest of an address mail servers refused, readable by no one; the \
             notifications section shows which messages were not delivered",
        ),
        WHILE_ACCOUNT,
        "a keyed digest of an address that mail servers refused for good",
        "so that we stop sending to an address that cannot receive mail",
    ),
    personal(
        "partner_grants",
        Owner::Account("account_id"),
        Export::Section("partnerGrants"),
        WHILE_ACCOUNT,
        "the partners you allowed to act for you, and what they may do",
        "to honour and show your grants until you revoke them",
    ),
    personal(
        "usage_counters",
        Owner::Account("account_id"),
        Export::Section("usage"),
        Retention::Period {
            setting: "usage_retention",
            default: "400d",
            from: "the end of the month counted",
            purged_by: Purge::OldUsageCounters,
        },
        "how much you generated each month (tokens, images, seconds of video)",
        "to apply your plan's monthly quota and answer questions about past months",
    ),
    personal(
        "jobs",
        Owner::Account("account_id"),
        Export::Excluded(
            "operational state holding only reference ids; the generations they made are exported",
        ),
        Retention::UntilEvent {
            event: "a day after it finished",
            purged_by: Purge::FinishedJobs,
        },
        "the background work done for you (reference ids and state only)",
        "to run, retry and finish the work",
    ),
    personal(
        "generations",
        Owner::Account("account_id"),
        Export::Section("generations"),
        Retention::Period {
            setting: "generation_retention",
            default: "90d",
            from: "it was made",
            purged_by: Purge::ExpiredGenerations,
        },
        "your prompts and what was generated from them (sealed)",
        "to show you your history and let you download your results",
    ),
    personal(
        "data_export_chunks",
        Owner::Account("account_id"),
        Export::Excluded(
            "pieces of the sealed export bundles themselves, deleted once downloaded or expired",
        ),
        EXPORTS,
        "pieces of a copy of your data you asked for (sealed)",
        "until you download it",
    ),
    personal(
        "data_exports",
        Owner::Account("account_id"),
        Export::Excluded(
            "the sealed export bundles themselves, deleted once downloaded or expired",
        ),
        EXPORTS,
        "a copy of your data you asked for (sealed)",
        "until you download it",
    ),
    personal(
        "data_request_events",
        Owner::Through {
            column: "request_id",
            parent: "data_requests",
            parent_owner: "account_id",
        },
        Export::Section("dataRequests"),
        DATA_REQUESTS,
        "each step of your requests to access, export or erase your data",
        WHY_REQUESTS,
    ),
    personal(
        "data_requests",
        Owner::Account("account_id"),
        Export::Section("dataRequests"),
        DATA_REQUESTS,
        "your requests to access, export or erase your data, with their deadlines",
        WHY_REQUESTS,
    ),
    personal(
        "privacy_ticket_events",
        // A ticket's history: the replies are sealed as their ticket is. `staff_id` names
        // the DPO who acted, a bare reference kept for accountability and never exported.
        // The history of anonymous tickets goes with them (`rights::tickets`).
        Owner::Through {
            column: "ticket_id",
            parent: "privacy_tickets",
            parent_owner: "account_id",
        },
        Export::Section("privacyTickets"),
        PRIVACY_TICKETS,
        "the replies to your messages to the Data Protection Officer (sealed)",
        WHY_TICKETS,
    ),
    personal(
        "privacy_tickets",
        Owner::Account("account_id"),
        // Anonymous messages are tied to a person only by the blind index of their reply
        // address, which the gateway computes from the person's verified address
        // (`rights::tickets`): it exports them, and the erasure job deletes them before
        // the data key is shredded, in a step of its own.
        Export::Section("privacyTickets"),
        PRIVACY_TICKETS,
        "your messages to the Data Protection Officer (sealed)",
        WHY_TICKETS,
    ),
    Entry::Personal(Personal {
        table: "legal_holds",
        owner: Owner::AccountWithStaff {
            column: "account_id",
            staff: &["set_by", "released_by"],
        },
        erase: Erase::DeleteRows,
        export: Export::Section("legalHolds"),
        retention: WHILE_ACCOUNT,
        what: "holds that stop an erasure while a legal claim or obligation requires the data",
        why: "to show why an erasure waited, and that the hold was released",
    }),
    personal(
        "account_deletions",
        Owner::Account("account_id"),
        Export::Section("dataRequests"),
        WHILE_ACCOUNT,
        "a pending or cancelled request to delete your account",
        "to run the deletion when its grace period ends, or show that you cancelled it",
    ),
    personal(
        "billing_customers",
        Owner::Account("account_id"),
        Export::Section("billing"),
        WHILE_ACCOUNT,
        "your plan's subscription at Stripe: a random billing reference, Stripe's customer and subscription ids, the subscription's status and the end of the period paid for — never a card number, name or address",
        "to give you the plan you pay for and let you manage it; the customer at Stripe is deleted when your account is erased",
    ),
    Entry::Personal(Personal {
        table: "billing_invoices",
        owner: Owner::Account("account_id"),
        erase: Erase::KeepUnlinked {
            held_since: "held_since",
            why: "GDPR Art. 17(3)(b): tax and commercial law require accounting records to be \
                  kept for a statutory period. On erasure only the invoice itself is kept \
                  (Stripe's id, amount, currency, date, status); the link to the account is \
                  cleared, and the record is deleted when the billing record retention ends",
        },
        export: Export::Section("billing"),
        retention: Retention::Period {
            setting: "billing_record_retention",
            default: "10y",
            from: "the invoice was issued (kept that long after an erasure too, without the link to your account, as tax law requires)",
            purged_by: Purge::ExpiredInvoices,
        },
        what: "your invoices: Stripe's invoice id, amount, currency, date and status",
        why: "tax and commercial law require accounting records to be kept for a statutory period (GDPR Art. 6(1)(c) and 17(3)(b)); no longer",
    }),
    personal(
        "attempt_counters",
        Owner::AttemptBuckets,
        Export::Excluded("throttling counters, kept at most a day after the last attempt"),
        Retention::UntilEvent {
            event: "a day after the last attempt (an account locked by failed attempts \
                    keeps its counter until it is unlocked)",
            purged_by: Purge::IdleAttemptCounters,
        },
        "counts of failed sign-in attempts and messages sent, by a digest of the address or account",
        "to slow down password guessing and abuse",
    ),
    personal(
        "accounts",
        Owner::AccountId,
        Export::Section("account"),
        Retention::Period {
            setting: "unverified_account_ttl",
            default: "7d",
            from: "sign-up if the e-mail address is never verified; a verified account is \
                   kept until you delete it",
            purged_by: Purge::UnverifiedAccounts,
        },
        "your account: e-mail address (sealed), password hash, plan, settings",
        "to let you sign in and use the service",
    ),
    personal(
        "data_keys",
        Owner::Subject("subject_id"),
        Export::Excluded("the person's wrapped data key, a security secret"),
        WHILE_ACCOUNT,
        "the key that seals your data, itself encrypted",
        "to read your data; destroying it on erasure makes every copy unreadable",
    ),
    personal(
        "data_subjects",
        Owner::Subject("id"),
        Export::Excluded("only an id and a creation time, both in the account section"),
        WHILE_ACCOUNT,
        "an id and a creation time",
        "to tie your sealed data to your key",
    ),
    Entry::Personal(Personal {
        table: "legal_disclosure_accounts",
        // The accounts a disclosure required by law concerns. Shown to the person (in
        // `me { disclosures }` and the export) only once `disclosure::notice::telling`
        // allows it; the request itself is in `legal_disclosures`.
        owner: Owner::Account("account_id"),
        erase: Erase::KeepPseudonymised {
            why: "Art. 5(2) accountability and Art. 17(3)(b)/(e): that a person's data was \
                  disclosed to an authority under a legal obligation must stay provable to \
                  that authority, a court or the supervisory authority. The row is a bare \
                  account id and the request's id; once the account is erased that id \
                  resolves to nothing",
        },
        export: Export::Section("legalDisclosures"),
        retention: Retention::Legal {
            period: "for as long as the service runs; after an erasure the link names only an id that resolves to no one",
            ground: "GDPR Art. 5(2) (accountability) and Art. 17(3)(b) and (e): that data was disclosed to an authority under a legal obligation must stay provable to that authority, a court or the supervisory authority",
        },
        what: "which of your data an authority received under a legal obligation, and when",
        why: "to prove each disclosure required by law, and to tell you of it once allowed",
    }),
    Entry::Personal(Personal {
        table: "audit_log",
        owner: Owner::AuditText,
        erase: Erase::KeepPseudonymised {
            why: "Art. 5(2) accountability and Art. 17(3)(b)/(e): who did what to whose data \
                  must stay provable, and the HMAC chain breaks if an entry changes. Entries \
                  name people by account id only (never an e-mail or a name); once the \
                  account is erased that id resolves to nothing, and staff reasons are sealed",
        },
        export: Export::Section("auditEntries"),
        retention: Retention::Legal {
            period: "for as long as the service runs; after an erasure the entries name only an id that resolves to no one",
            ground: "GDPR Art. 5(2) (accountability) and Art. 17(3)(b) and (e): who did what to whose data must stay provable, and the tamper-evident chain breaks if an entry is removed",
        },
        what: "the audit trail: which staff member or system did what to whose data, and when",
        why: "to prove how personal data was handled",
    }),
    Entry::NotPersonal {
        table: "analytics_days",
        why: "a day's random pseudonymisation key, sealed under the system key and destroyed when the day is aggregated (or 48 hours after it at most); no person's data",
    },
    Entry::NotPersonal {
        table: "analytics_cells",
        why: "aggregates of at least the minimum group of people (ICECONE_ANALYTICS_MIN_GROUP), smaller cells suppressed also against differencing; made after the day's key was destroyed, they refer to no one",
    },
    Entry::NotPersonal {
        table: "billing_events",
        why: "the ids and types of the Stripe webhook events already applied, and when: Stripe's event ids resolve to no one here",
    },
    Entry::NotPersonal {
        table: "erasure_tombstones",
        why: "a random id (the deletion request's) and two dates; nothing links it to a person once the erasure ran",
    },
    Entry::NotPersonal {
        table: "erasure_followups",
        why: "a tombstone id and a provider's job reference for deleting a remote copy; no IceCone row resolves either to a person",
    },
    Entry::NotPersonal {
        table: "legal_disclosures",
        why: "an authority's request as the DPO recorded it (its free text sealed under the system key); it names no account — the accounts it concerns are in `legal_disclosure_accounts` — and `recorded_by`/`decided_by` are bare staff ids kept for accountability",
    },
    Entry::NotPersonal {
        table: "mail_campaigns",
        why: "a campaign's subject and text as ADMIN wrote them, addressed to nobody in particular; `created_by` is a bare staff id kept for accountability (who receives it is in `notification_outbox`)",
    },
    Entry::NotPersonal {
        table: "partners",
        why: "organisations (partner names), not natural persons",
    },
    Entry::NotPersonal {
        table: "partner_keys",
        why: "partners' API key digests",
    },
    Entry::NotPersonal {
        table: "provider_credentials",
        why: "AI provider API keys sealed with the system key; `set_by` is a bare staff id kept for accountability",
    },
    Entry::NotPersonal {
        table: "signing_keys",
        why: "the gateway's access-token signing keys",
    },
    Entry::NotPersonal {
        table: "subprocessor_versions",
        why: "the published lists of subprocessors: organisations, their data categories, locations and agreement references; which account was told of a version is `accounts.subprocessors_notified_version`",
    },
    Entry::NotPersonal {
        table: "system_keys",
        why: "the system key, wrapped by the root key",
    },
];

/// The registry entry of `table`.
pub fn entry(table: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|entry| entry.table() == table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_listed_once() {
        let mut tables: Vec<_> = REGISTRY.iter().map(Entry::table).collect();
        tables.sort_unstable();
        let before = tables.len();
        tables.dedup();
        assert_eq!(tables.len(), before, "a table is listed twice");
    }

    #[test]
    fn every_personal_table_says_what_it_holds_and_why_it_is_kept() {
        for entry in REGISTRY {
            let Entry::Personal(personal) = entry else {
                continue;
            };
            let table = personal.table;
            assert!(!personal.what.trim().is_empty(), "{table}: what it holds");
            assert!(!personal.why.trim().is_empty(), "{table}: why it is kept");
            match personal.retention {
                Retention::Period {
                    setting,
                    default,
                    from,
                    ..
                } => {
                    assert!(!setting.is_empty() && !from.is_empty(), "{table}");
                    let (digits, unit) = default.split_at(default.len() - 1);
                    assert!(
                        matches!(unit, "s" | "m" | "h" | "d" | "y")
                            && digits.parse::<u64>().is_ok_and(|n| n > 0),
                        "{table}: the default {default} is a positive duration"
                    );
                }
                Retention::UntilEvent { event, .. } => assert!(!event.is_empty(), "{table}"),
                Retention::Legal { period, ground } => {
                    assert!(!period.is_empty() && !ground.is_empty(), "{table}")
                }
                Retention::WhileAccountExists => {}
            }
        }
    }

    #[test]
    fn every_period_is_enforced_by_a_purge_that_runs_and_every_purge_enforces_one() {
        let named: Vec<Purge> = REGISTRY
            .iter()
            .filter_map(|entry| match entry {
                Entry::Personal(personal) => personal.retention.purged_by(),
                Entry::NotPersonal { .. } => None,
            })
            .collect();
        for purge in &named {
            assert!(Purge::ALL.contains(purge), "{purge:?} is not in Purge::ALL");
        }
        for purge in Purge::ALL {
            assert!(named.contains(&purge), "{purge:?} enforces no retention");
        }
        // A retention kept for a time without a purge cannot be written: `Period` and
        // `UntilEvent` require `purged_by`.
        assert_eq!(
            Retention::WhileAccountExists.purged_by(),
            None,
            "erasure ends it"
        );
    }

    #[test]
    fn a_setting_names_one_period() {
        let mut periods: Vec<(&str, &str)> = REGISTRY
            .iter()
            .filter_map(|entry| match entry {
                Entry::Personal(Personal {
                    retention:
                        Retention::Period {
                            setting, default, ..
                        },
                    ..
                }) => Some((*setting, *default)),
                _ => None,
            })
            .collect();
        periods.sort_unstable();
        periods.dedup();
        let mut settings: Vec<_> = periods.iter().map(|(setting, _)| *setting).collect();
        settings.dedup();
        assert_eq!(settings.len(), periods.len(), "one default per setting");
    }

    #[test]
    fn children_come_before_their_parents() {
        let position = |table| {
            REGISTRY
                .iter()
                .position(|entry| entry.table() == table)
                .expect("listed")
        };
        assert!(position("refresh_tokens") < position("sessions"));
        assert!(position("privacy_ticket_events") < position("privacy_tickets"));
        assert!(position("legal_disclosure_accounts") < position("legal_disclosures"));
        assert!(position("sessions") < position("accounts"));
        assert!(position("generations") < position("accounts"));
        assert!(position("accounts") < position("data_subjects"));
        assert!(position("data_keys") < position("data_subjects"));
    }
}
