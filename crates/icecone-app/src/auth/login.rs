//! Log-in and refresh: passwords checked with throttling, sessions with rotating refresh
//! tokens, and the reuse of a spent refresh token ending the whole session.
//!
//! Throttling (`icecone_core::identity::throttle`): failures are counted per e-mail address
//! — by its blind index, whether or not an account has it, so that the throttle itself does
//! not reveal which addresses have accounts — with growing delays capped at 15 minutes
//! (passwords are not locked for good: anyone could lock anyone out), and per client
//! address in fixed 15-minute windows (60 failures). Each attempt is reserved in the
//! database before its password is checked (`super::attempts`), so attempts packed as
//! aliases, into a batch or sent at once to several instances all count.
//! An unknown address costs the same Argon2id time as a real verification.

use chrono::{DateTime, TimeDelta, Utc};
use icecone_core::identity::email::Email;
use icecone_core::identity::password_hash;
use icecone_core::identity::throttle::{self, Rule};
use icecone_store::accounts::AccountRecord;
use icecone_store::attempts::email_bucket;
use icecone_store::sessions::{NewSession, RefreshSpend};
use icecone_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::attempts::{self, AttemptError};
use crate::accounts::EMAIL_INDEX;
use crate::audit::{self, AuditError, AuditEvent};
use crate::context::Context;
use crate::keys::vault::VaultError;
use crate::notify::{self, NotificationKind, NotifyError};
use crate::tokens::{AccessClaims, Acr, TokenError};

/// How long a refresh token lives.
pub const REFRESH_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(30);
/// How long an MFA challenge lives.
pub const MFA_CHALLENGE_LIFETIME: TimeDelta = TimeDelta::minutes(5);

/// What a successful first step of log-in gives.
#[derive(Debug)]
pub enum LogIn {
    /// Signed in.
    Session(Tokens),
    /// The password was right; a second factor is needed to finish.
    Challenge {
        /// The opaque challenge to send with the code.
        challenge: String,
        /// When it expires.
        expires_at: DateTime<Utc>,
    },
}

/// A session's tokens.
#[derive(Debug)]
pub struct Tokens {
    /// The access token (a JWT, 15 minutes).
    pub access_token: String,
    /// The opaque refresh token, spent on use.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
}

/// Why log-in or refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum LogInError {
    /// Wrong e-mail or password — deliberately one answer for both.
    #[error("the e-mail address or the password is wrong")]
    WrongCredentials,
    /// Too many failures: try again after this many seconds.
    #[error("too many attempts")]
    Throttled {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// The account is suspended.
    #[error("the account is suspended")]
    Suspended,
    /// The refresh token is unknown, expired, or its session has ended.
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    /// Token signing failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The notification could not be queued.
    #[error(transparent)]
    Notify(#[from] NotifyError),
    /// The password check did not run to completion.
    #[error("the password check failed to run")]
    Worker,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_token() -> Result<(String, [u8; 32]), VaultError> {
    let key = icecone_core::crypto::keys::SecretKey::generate()?;
    let token = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.expose())
    };
    Ok((token.clone(), digest(&token)))
}

/// The stored form of an opaque token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl From<AttemptError> for LogInError {
    fn from(error: AttemptError) -> Self {
        match error {
            AttemptError::Throttled {
                retry_after_seconds,
            } => Self::Throttled {
                retry_after_seconds,
            },
            AttemptError::Store(error) => Self::Store(error),
        }
    }
}

/// The rule of the per-address log-in window.
pub(crate) const ADDRESS_RULE: Rule = Rule::Window {
    limit: throttle::ADDRESS_LIMIT,
    window: throttle::ADDRESS_WINDOW,
};

/// Reserves a password check for an e-mail address's bucket ([`Rule::Delays`]) and checks
/// `password` against `stored` (Argon2id, off the async threads; an unknown address costs
/// the same work). A wrong password keeps the reservation as a counted failure; a right one
/// clears the bucket.
pub(crate) async fn check_password(
    store: &Store,
    bucket: &str,
    stored: Option<String>,
    password: String,
    now: DateTime<Utc>,
) -> Result<bool, LogInError> {
    attempts::reserve(store, bucket, Rule::Delays, now).await?;
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => password_hash::verify(&stored, &password),
        None => password_hash::verify_unknown_account(&password),
    })
    .await
    .map_err(|_| LogInError::Worker)?;
    if matches {
        attempts::release(store, bucket, Rule::Delays).await?;
    }
    Ok(matches)
}

/// The first step of log-in.
pub async fn log_in(cx: Context<'_>, email: &Email, password: String) -> Result<LogIn, LogInError> {
    let now = Utc::now();
    let email_index = cx.vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes());
    let email_bucket = email_bucket(&email_index);
    let address_bucket = {
        let window = throttle::fixed_window_start(now, throttle::ADDRESS_WINDOW);
        let address = cx
            .vault
            .blind_index("attempts.client_address", cx.client_address.as_bytes());
        format!("login:addr:{}:{}", hex(&address[..16]), window.timestamp())
    };

    // The address's place in its window is taken first and given back when the e-mail
    // address's own throttle refuses, or when the password is right: the window counts
    // failures, including those still running.
    attempts::reserve(cx.store, &address_bucket, ADDRESS_RULE, now).await?;
    let account = cx.store.account_by_email_index(&email_index).await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let checked = check_password(cx.store, &email_bucket, stored, password, now).await;
    let matches = match checked {
        Err(LogInError::Throttled { .. }) | Ok(true) => {
            attempts::release(cx.store, &address_bucket, ADDRESS_RULE).await?;
            checked?
        }
        other => other?,
    };
    let Some(account) = account.filter(|_| matches) else {
        return Err(LogInError::WrongCredentials);
    };
    let account = admitted(cx.store, account.id).await?;

    let totp = cx.store.totp_factor(account.id).await?;
    if totp.is_some_and(|factor| factor.confirmed_at.is_some()) {
        let (challenge, challenge_digest) = random_token()?;
        let expires_at = now + MFA_CHALLENGE_LIFETIME;
        cx.store
            .create_mfa_challenge(challenge_digest, account.id, expires_at)
            .await?;
        return Ok(LogIn::Challenge {
            challenge,
            expires_at,
        });
    }

    let tokens = open_session(cx, account.id, false, now).await?;
    security_event(cx, account.id, "auth.sign_in", NotificationKind::NewSignIn).await?;
    Ok(LogIn::Session(tokens))
}

/// The one check of every door that makes or extends a session — log-in, `completeMfa`,
/// sign-up ([`open_session`]) and refresh: the account exists and is not suspended, read
/// from the database, never from a cache. Returns the account.
///
/// Doors that write a session ask after the write: a suspension marks the account first
/// and ends its sessions after, so one landing at the same moment is either seen here or
/// ends the new session itself.
pub(crate) async fn admitted(store: &Store, account: Uuid) -> Result<AccountRecord, LogInError> {
    match store.account(account).await? {
        Some(record) if record.suspended_at.is_none() => Ok(record),
        Some(_) => Err(LogInError::Suspended),
        None => Err(LogInError::WrongCredentials),
    }
}

/// Ends a session that [`admitted`] refused as it was made or extended.
async fn refuse_session(
    store: &Store,
    session: Uuid,
    refused: LogInError,
    now: DateTime<Utc>,
) -> LogInError {
    match store.revoke_session(session, "suspended", now).await {
        Ok(_) => refused,
        Err(error) => error.into(),
    }
}

/// Records a security event of an account in the audit trail and queues the notification
/// the account holder gets about it (new sign-in, second factor changed).
pub(crate) async fn security_event(
    cx: Context<'_>,
    account: Uuid,
    action: &str,
    notification: NotificationKind,
) -> Result<(), LogInError> {
    let actor = format!("account:{account}");
    let event = AuditEvent {
        actor: &actor,
        action,
        target: Some(&actor),
        reason: None,
        request_id: cx.request_id,
    };
    audit::record(cx.store, cx.vault, event).await?;
    notify::enqueue(cx.store, account, notification).await?;
    Ok(())
}

/// The authentication methods (`amr`) and assurance level of a session, with or without a
/// second factor.
fn assurance(second_factor: bool) -> (Vec<String>, Acr) {
    if second_factor {
        (vec!["pwd".to_owned(), "otp".to_owned()], Acr::Aal2)
    } else {
        (vec!["pwd".to_owned()], Acr::Aal1)
    }
}

/// Opens a session for an account that has just authenticated — by password, and with a
/// second factor or not — and issues its first tokens; refused (and the session ended)
/// when the account is suspended ([`admitted`]).
pub(crate) async fn open_session(
    cx: Context<'_>,
    account: Uuid,
    second_factor: bool,
    now: DateTime<Utc>,
) -> Result<Tokens, LogInError> {
    let session = Uuid::new_v4();
    let (amr, acr) = assurance(second_factor);
    cx.store
        .create_session(NewSession {
            id: session,
            account,
            auth_time: now,
            mfa_at: second_factor.then_some(now),
            amr: amr.join(" "),
        })
        .await?;
    if let Err(refused) = admitted(cx.store, account).await {
        return Err(refuse_session(cx.store, session, refused, now).await);
    }
    issue(cx, account, session, now, amr, acr, now).await
}

async fn issue(
    cx: Context<'_>,
    account: Uuid,
    session: Uuid,
    auth_time: DateTime<Utc>,
    amr: Vec<String>,
    acr: Acr,
    now: DateTime<Utc>,
) -> Result<Tokens, LogInError> {
    let claims = AccessClaims::new(
        &account.to_string(),
        &session.to_string(),
        auth_time,
        amr,
        acr,
        now,
    );
    let access_token = cx.tokens.issue(&claims)?;
    let (refresh_token, refresh_digest) = random_token()?;
    cx.store
        .insert_refresh_token(refresh_digest, session, now, now + REFRESH_TOKEN_LIFETIME)
        .await?;
    let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or(now);
    Ok(Tokens {
        access_token,
        refresh_token,
        expires_at,
    })
}

/// Spends a refresh token for a new pair. A token spent before ends its whole session
/// (someone else holds a copy) and is recorded in the audit trail; a suspended account's
/// session ends instead of being extended ([`admitted`]).
pub async fn refresh(cx: Context<'_>, refresh_token: &str) -> Result<Tokens, LogInError> {
    let now = Utc::now();
    match cx
        .store
        .spend_refresh_token(&digest(refresh_token), now)
        .await?
    {
        RefreshSpend::Fresh { session } => {
            let record = cx
                .store
                .session(session)
                .await?
                .ok_or(LogInError::InvalidRefreshToken)?;
            if record.revoked_at.is_some() {
                return Err(LogInError::InvalidRefreshToken);
            }
            if let Err(refused) = admitted(cx.store, record.account).await {
                return Err(refuse_session(cx.store, session, refused, now).await);
            }
            let (amr, acr) = assurance(record.mfa_at.is_some());
            issue(cx, record.account, session, record.auth_time, amr, acr, now).await
        }
        RefreshSpend::Reused { session } => {
            if let Some(record) = cx.store.session(session).await? {
                cx.store
                    .revoke_session(session, "refresh_reuse", now)
                    .await?;
                let actor = format!("account:{}", record.account);
                let target = format!("session:{session}");
                let event = AuditEvent {
                    actor: &actor,
                    action: "auth.refresh_reuse",
                    target: Some(&target),
                    reason: None,
                    request_id: cx.request_id,
                };
                audit::record(cx.store, cx.vault, event).await?;
            }
            Err(LogInError::InvalidRefreshToken)
        }
        RefreshSpend::Expired { .. } | RefreshSpend::Unknown => {
            Err(LogInError::InvalidRefreshToken)
        }
    }
}
