//! Ending sessions: `logOut` (this one) and `revokeSession` (any of one's own).

use async_graphql::{Context, ID, Object};
use chrono::Utc;
use uuid::Uuid;

use super::arguments;
use super::caller::{services, signed_in};
use super::classification::essential;
use super::consent::PurposeValue;
use super::error::{ApiError, internal};
use crate::request::RequestId;
use crate::session_cookie::{self, SessionTransport};
use icecone_app::audit::{self, AuditEvent};

#[derive(Debug, Default)]
pub(crate) struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Ends the session of this request: its access token or session cookie stops working
    /// at once. On the cookie transport the answer also clears the cookie.
    #[graphql(directive = essential::apply(PurposeValue::Security))]
    async fn log_out(&self, ctx: &Context<'_>) -> Result<bool, ApiError> {
        // Cleared even when the cookie no longer authenticates: the browser forgets it.
        if ctx
            .data_opt::<SessionTransport>()
            .is_some_and(SessionTransport::is_cookie)
        {
            ctx.append_http_header("set-cookie", session_cookie::clear_cookie());
        }
        let viewer = signed_in(ctx)?;
        end_session(ctx, viewer.account, viewer.session, "logout").await
    }

    /// Ends one of the signed-in account's own sessions. `NOT_FOUND` for any other id.
    #[graphql(directive = essential::apply(PurposeValue::Security))]
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool, ApiError> {
        let viewer = signed_in(ctx)?;
        let session = arguments::uuid(&id, "id", "a session id")?;
        let record = services(ctx)?
            .store
            .session(session)
            .await
            .map_err(internal)?;
        match record {
            // Someone else's session is answered like one that does not exist.
            Some(record) if record.account == viewer.account => {
                end_session(ctx, viewer.account, session, "revoked").await
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

async fn end_session(
    ctx: &Context<'_>,
    account: Uuid,
    session: Uuid,
    reason: &str,
) -> Result<bool, ApiError> {
    let services = services(ctx)?;
    services
        .store
        .revoke_session(session, reason, Utc::now())
        .await
        .map_err(internal)?;
    let actor = format!("account:{account}");
    let target = format!("session:{session}");
    let request_id = ctx.data_opt::<RequestId>().map(|id| id.0.as_str());
    let event = AuditEvent {
        actor: &actor,
        action: "auth.session_ended",
        target: Some(&target),
        reason: Some(reason),
        request_id,
    };
    audit::record(&services.store, &services.vault, event)
        .await
        .map_err(internal)?;
    Ok(true)
}
