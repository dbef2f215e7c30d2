//! `auditLog`: the audit trail, page by page, oldest first.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use icecone_core::identity::roles::RoleRule;

use super::access::{StaffField, requires_mfa, requires_role};
use crate::graphql::caller::{services, signed_in};
use crate::graphql::classification::essential;
use crate::graphql::consent::PurposeValue;
use crate::graphql::error::{ApiError, internal};
use crate::request::RequestId;
use icecone_app::audit::{self, MAX_READ_PAGE, ReadEntry};

/// `auditLog`: AUDITOR, DPO or ADMIN, with a second factor in the session.
const READ_AUDIT_LOG: StaffField = StaffField::new(RoleRule::AuditReaders);
/// Entries per page when `first` is not given.
const DEFAULT_PAGE: u64 = 50;

/// The opaque cursor of an entry: its sequence number, base64url.
pub(crate) struct AuditCursor(u64);

/// A cursor that is not one `auditLog` gave.
#[derive(Debug)]
pub(crate) struct BadCursor;

impl std::fmt::Display for BadCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("`after` is not a cursor of auditLog")
    }
}

impl CursorType for AuditCursor {
    type Error = BadCursor;

    fn decode_cursor(text: &str) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let digits = std::str::from_utf8(&bytes).map_err(|_| BadCursor)?;
        let seq = digits
            .strip_prefix("audit:")
            .and_then(|n| n.parse().ok())
            .ok_or(BadCursor)?;
        Ok(Self(seq))
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("audit:{}", self.0))
    }
}

/// The page size asked for: 1 to 200, 50 when not given.
fn page_size(first: Option<i32>) -> Result<u64, ApiError> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(first) => u64::try_from(first)
            .ok()
            .filter(|n| (1..=MAX_READ_PAGE).contains(n))
            .ok_or_else(|| ApiError::BadUserInput(format!("`first` must be 1 to {MAX_READ_PAGE}"))),
    }
}

#[derive(Debug, Default)]
pub(crate) struct AuditLogQuery;

#[Object]
impl AuditLogQuery {
    /// The audit trail, oldest entry first, `first` entries (1 to 200, default 50) after
    /// the cursor `after`. Reasons are shown opened (they are sealed at rest). Reading is
    /// itself recorded (`audit.read`) before the page is returned.
    #[graphql(
        guard = READ_AUDIT_LOG.guard(),
        directive = essential::apply(PurposeValue::LegalCompliance),
        directive = requires_role::apply(READ_AUDIT_LOG.roles()),
        directive = requires_mfa::apply(READ_AUDIT_LOG.fresh_mfa())
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<AuditCursor, AuditEntry, EmptyFields, EmptyFields>, ApiError> {
        let limit = page_size(first)?;
        let after = after
            .map(|text| AuditCursor::decode_cursor(&text))
            .transpose()
            .map_err(|error| ApiError::BadUserInput(error.to_string()))?
            .map(|cursor| cursor.0);
        let reader = format!("account:{}", signed_in(ctx)?.account);
        let request_id = ctx.data_opt::<RequestId>().map(|id| id.0.as_str());
        let services = services(ctx)?;
        // One more than asked for tells whether there is a next page.
        let mut entries = audit::read_page(
            &services.store,
            &services.vault,
            &reader,
            request_id,
            after,
            limit + 1,
        )
        .await
        .map_err(internal)?;
        let has_next_page = entries.len() as u64 > limit;
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut connection = Connection::new(after.is_some(), has_next_page);
        connection.edges.extend(
            entries
                .into_iter()
                .map(|entry| Edge::new(AuditCursor(entry.seq), AuditEntry(entry))),
        );
        Ok(connection)
    }
}

pub(crate) struct AuditEntry(ReadEntry);

/// An entry of the audit trail: who did what to whom, why, when, in which request. Targets
/// are pseudonymous ids; e-mail addresses and names never appear here.
#[Object(directive = essential::apply(PurposeValue::LegalCompliance))]
impl AuditEntry {
    /// Its position in the chain, from 1 with no gaps.
    async fn seq(&self) -> u64 {
        self.0.seq
    }

    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// Who acted: `account:<id>`, `cli` or `system`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }

    /// What was done, e.g. `staff.read_account`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// On whom or what, pseudonymised (e.g. `account:<id>`).
    async fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }

    /// The written reason, if one was given.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The request that caused it.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}
