//! Recent authentication, which sensitive changes of a person's own account ask for
//! (`updateProfile`'s new e-mail address, `enrollTotp`, `confirmTotp`): core's
//! [`recent_auth::recently_authenticated`] asked with the access token's `auth_time`, the
//! account's second factor and the session's last second factor, read from the database.
//! A refreshed token keeps its session's `auth_time`, so only a new log-in makes a session
//! recent again.

use chrono::{DateTime, Utc};
use icecone_core::identity::recent_auth;
use icecone_store::{Store, StoreError};

use super::viewer::Authenticated;

/// Whether `viewer` authenticated recently enough at `now` (see the module documentation).
pub(crate) async fn recently_authenticated(
    store: &Store,
    viewer: &Authenticated,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let second_factor_on = store
        .totp_factor(viewer.account)
        .await?
        .is_some_and(|factor| factor.confirmed_at.is_some());
    let second_factor_age = if second_factor_on {
        store
            .session(viewer.session)
            .await?
            .and_then(|session| session.mfa_at)
            .map(|at| now - at)
    } else {
        None
    };
    Ok(recent_auth::recently_authenticated(
        now - viewer.auth_time,
        second_factor_on,
        second_factor_age,
    ))
}
