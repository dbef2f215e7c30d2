//! Rectification (GDPR Art. 16): `updateProfile` changes the display name at once and the
//! e-mail address only once the new address is verified.
//!
//! Changing the e-mail address needs fresh authentication (`super::recent_auth`: a log-in
//! within the last five minutes and, when TOTP is on, a second factor in this session
//! within as long) and re-verification: a link is sent to the new address
//! through the sign-up verification machinery, and the account keeps signing in with the
//! old address until the link is followed (`verifyEmail` then makes the new one the
//! account's). When the new address already belongs to a verified account, its owner gets
//! the sign-up-attempt notice instead, so the answer never tells who has an account.

use chrono::Utc;
use icecone_core::identity::email::Email;
use icecone_store::accounts::AccountRecord;

use super::login::LogInError;
use super::recent_auth;
use super::sign_up::{self, SignUpError};
use super::viewer::Authenticated;
use crate::accounts::EMAIL_INDEX;
use crate::audit::{self, AuditEvent};
use crate::context::Context;
use crate::keys::vault::Field;
use crate::notify::{self, NotificationKind};

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;

/// Why a profile change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The display name is longer than [`MAX_DISPLAY_NAME`] or has control characters.
    #[error("the display name must be at most 100 characters without control characters")]
    InvalidDisplayName,
    /// The e-mail address does not parse.
    #[error("the e-mail address is not valid")]
    InvalidEmail,
    /// The log-in (or second factor) is not recent enough to change the e-mail address.
    #[error("changing the e-mail address needs a recent log-in")]
    StaleAuthentication,
    /// Throttling, the verification link or storage failed.
    #[error(transparent)]
    SignUp(#[from] SignUpError),
}

impl From<LogInError> for ProfileError {
    fn from(error: LogInError) -> Self {
        Self::SignUp(SignUpError::Session(error))
    }
}

impl From<icecone_store::StoreError> for ProfileError {
    fn from(error: icecone_store::StoreError) -> Self {
        Self::SignUp(error.into())
    }
}

/// Where the display name is sealed.
pub fn display_name_field(account: &str) -> Field<'_> {
    Field {
        table: "accounts",
        column: "display_name",
        row_id: account,
    }
}

/// What `updateProfile` came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileChange {
    /// The display name was changed.
    pub display_name: bool,
    /// A verification link was sent for a new e-mail address.
    pub email_verification_sent: bool,
}

/// Applies `updateProfile` for the signed-in `viewer`: a display name (`""` clears it) and
/// a new e-mail address (sent a verification link; see the module's documentation).
pub async fn update(
    cx: Context<'_>,
    viewer: &Authenticated,
    account: &AccountRecord,
    display_name: Option<&str>,
    email: Option<&str>,
) -> Result<ProfileChange, ProfileError> {
    let now = Utc::now();
    let name = match display_name.map(str::trim) {
        None => None,
        Some(name)
            if name.chars().count() > MAX_DISPLAY_NAME || name.chars().any(char::is_control) =>
        {
            return Err(ProfileError::InvalidDisplayName);
        }
        Some(name) => Some(name),
    };
    let email = match email {
        None => None,
        Some(text) => Some(Email::parse(text).map_err(|_| ProfileError::InvalidEmail)?),
    };
    let new_address = match &email {
        Some(email) => {
            let index = cx.vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes());
            (index != account.email_index).then_some((email, index))
        }
        None => None,
    };
    if new_address.is_some() && !recent_auth::recently_authenticated(cx.store, viewer, now).await? {
        return Err(ProfileError::StaleAuthentication);
    }
    let id = account.id.to_string();
    let actor = format!("account:{id}");
    let mut change = ProfileChange::default();
    if let Some(name) = name {
        let sealed = if name.is_empty() {
            None
        } else {
            Some(
                cx.vault
                    .seal(account.subject, display_name_field(&id), name.as_bytes())
                    .await
                    .map_err(LogInError::from)?,
            )
        };
        cx.store.set_display_name(account.id, sealed, now).await?;
        audit::record(
            cx.store,
            cx.vault,
            AuditEvent {
                actor: &actor,
                action: "account.display_name_changed",
                target: Some(&actor),
                reason: None,
                request_id: cx.request_id,
            },
        )
        .await
        .map_err(LogInError::from)?;
        change.display_name = true;
    }
    if let Some((email, index)) = new_address {
        audit::record(
            cx.store,
            cx.vault,
            AuditEvent {
                actor: &actor,
                action: "account.email_change_requested",
                target: Some(&actor),
                reason: None,
                request_id: cx.request_id,
            },
        )
        .await
        .map_err(LogInError::from)?;
        let token =
            sign_up::new_verification(cx, account.id, account.subject, email, index).await?;
        let owner = cx
            .store
            .account_by_email_index(&index)
            .await?
            .filter(|owner| owner.email_verified_at.is_some())
            .map(|owner| owner.id);
        match owner {
            Some(_) => {
                sign_up::send_link_or_notice(cx, owner, (account.id, account.subject), &token)
                    .await?;
            }
            None => {
                notify::enqueue_with_token(
                    cx.store,
                    cx.vault,
                    (account.id, account.subject),
                    NotificationKind::VerifyNewEmail,
                    &format!("{}\n{token}", email.as_str()),
                )
                .await
                .map_err(LogInError::from)?;
            }
        }
        change.email_verification_sent = true;
    }
    Ok(change)
}
