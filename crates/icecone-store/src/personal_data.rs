//! The personal-data registry: every table IceCone owns, and how it relates to a person.
//!
//! A table is either [`Entry::Personal`] — it holds data about a person, found through an
//! [`Owner`] column, and says how erasure treats it ([`Erase`]) and where an export puts it
//! ([`Export`]) — or [`Entry::NotPersonal`], with the reason. The registry is complete by
//! construction: a store test lists the database's actual tables on SQLite and PostgreSQL
//! and fails when one is missing here (or listed here but absent), so a migration that adds
//! a table cannot ship without deciding its export and erasure.
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
}

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

const fn personal(table: &'static str, owner: Owner, export: Export) -> Entry {
    Entry::Personal(Personal {
        table,
        owner,
        erase: Erase::DeleteRows,
        export,
    })
}

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
    ),
    personal(
        "sessions",
        Owner::Account("account_id"),
        Export::Section("sessions"),
    ),
    personal(
        "recovery_codes",
        Owner::Account("account_id"),
        Export::Excluded("digests of authentication secrets"),
    ),
    personal(
        "totp_factors",
        Owner::Account("account_id"),
        Export::Section("account.mfaEnabled"),
    ),
    personal(
        "mfa_challenges",
        Owner::Account("account_id"),
        Export::Excluded("five-minute digests of log-in challenges"),
    ),
    personal(
        "staff_roles",
        Owner::Account("account_id"),
        Export::Section("account.staffRoles"),
    ),
    personal(
        "email_verifications",
        Owner::Account("account_id"),
        Export::Section("account.emailVerifiedAt"),
    ),
    personal(
        "consent_ledger",
        Owner::Account("account_id"),
        Export::Section("consentHistory"),
    ),
    personal(
        "notification_outbox",
        // A notification without an account (the DPO's reply to a message sent without
        // one) is tied to a person only by the blind index of its sealed address: the
        // erasure job deletes those of the person's verified address with their anonymous
        // tickets (`rights::tickets::forget_anonymous`).
        Owner::Account("account_id"),
        Export::Section("notifications"),
    ),
    personal(
        "mail_suppressions",
        Owner::Account("account_id"),
        Export::Excluded(
            "a keyed digest of an address mail servers refused, readable by no one; the \
             notifications section shows which messages were not delivered",
        ),
    ),
    personal(
        "partner_grants",
        Owner::Account("account_id"),
        Export::Section("partnerGrants"),
    ),
    personal(
        "usage_counters",
        Owner::Account("account_id"),
        Export::Section("usage"),
    ),
    personal(
        "jobs",
        Owner::Account("account_id"),
        Export::Excluded(
            "operational state holding only reference ids; the generations they made are exported",
        ),
    ),
    personal(
        "generations",
        Owner::Account("account_id"),
        Export::Section("generations"),
    ),
    personal(
        "data_export_chunks",
        Owner::Account("account_id"),
        Export::Excluded(
            "pieces of the sealed export bundles themselves, deleted once downloaded or expired",
        ),
    ),
    personal(
        "data_exports",
        Owner::Account("account_id"),
        Export::Excluded(
            "the sealed export bundles themselves, deleted once downloaded or expired",
        ),
    ),
    personal(
        "data_request_events",
        Owner::Through {
            column: "request_id",
            parent: "data_requests",
            parent_owner: "account_id",
        },
        Export::Section("dataRequests"),
    ),
    personal(
        "data_requests",
        Owner::Account("account_id"),
        Export::Section("dataRequests"),
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
    ),
    personal(
        "privacy_tickets",
        Owner::Account("account_id"),
        // Anonymous messages are tied to a person only by the blind index of their reply
        // address, which the gateway computes from the person's verified address
        // (`rights::tickets`): it exports them, and the erasure job deletes them before
        // the data key is shredded, in a step of its own.
        Export::Section("privacyTickets"),
    ),
    Entry::Personal(Personal {
        table: "legal_holds",
        owner: Owner::AccountWithStaff {
            column: "account_id",
            staff: &["set_by", "released_by"],
        },
        erase: Erase::DeleteRows,
        export: Export::Section("legalHolds"),
    }),
    personal(
        "account_deletions",
        Owner::Account("account_id"),
        Export::Section("dataRequests"),
    ),
    personal(
        "attempt_counters",
        Owner::AttemptBuckets,
        Export::Excluded("throttling counters, kept at most a day"),
    ),
    personal("accounts", Owner::AccountId, Export::Section("account")),
    personal(
        "data_keys",
        Owner::Subject("subject_id"),
        Export::Excluded("the person's wrapped data key, a security secret"),
    ),
    personal(
        "data_subjects",
        Owner::Subject("id"),
        Export::Excluded("only an id and a creation time, both in the account section"),
    ),
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
    }),
    Entry::NotPersonal {
        table: "erasure_tombstones",
        why: "a random id (the deletion request's) and two dates; nothing links it to a person once the erasure ran",
    },
    Entry::NotPersonal {
        table: "erasure_followups",
        why: "a tombstone id and a provider's job reference for deleting a remote copy; no IceCone row resolves either to a person",
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
    fn children_come_before_their_parents() {
        let position = |table| {
            REGISTRY
                .iter()
                .position(|entry| entry.table() == table)
                .expect("listed")
        };
        assert!(position("refresh_tokens") < position("sessions"));
        assert!(position("privacy_ticket_events") < position("privacy_tickets"));
        assert!(position("sessions") < position("accounts"));
        assert!(position("generations") < position("accounts"));
        assert!(position("accounts") < position("data_subjects"));
        assert!(position("data_keys") < position("data_subjects"));
    }
}
