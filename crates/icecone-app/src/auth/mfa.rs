//! Second factors: TOTP enrolment and confirmation (with ten single-use recovery codes),
//! both after a recent log-in only, and completing a log-in with a TOTP or a recovery code.
//!
//! A TOTP code is accepted once only: the last accepted time step is stored per account
//! and moved forward by one conditional update, so a replay fails on every gateway
//! instance. Every code — TOTP or recovery — is counted per account before it is looked at
//! (a reservation, given back when the code is accepted), with growing delays and a hard
//! stop at 20 (`icecone_core::identity::throttle`). Completing a log-in consumes its challenge
//! whatever the outcome, so every guess costs a password log-in as well.

use chrono::Utc;
use icecone_core::identity::recovery::{RecoveryCode, code_digest};
use icecone_core::identity::throttle::{self, Rule};
use icecone_core::identity::totp::{self, TotpCheck, TotpConfig, TotpSecret};
use icecone_store::accounts::AccountRecord;
use icecone_store::mfa::TotpFactorRecord;
use icecone_store::{Store, StoreError};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::attempts;
use super::login::{self, LogInError, Tokens};
use super::recent_auth;
use super::viewer::Authenticated;
use crate::accounts;
use crate::audit;
use crate::context::Context;
use crate::keys::vault::{Field, Vault};
use crate::notify::NotificationKind;

/// A TOTP secret to add to an authenticator app, shown once.
#[derive(Debug)]
pub struct Enrollment {
    /// The secret, base32.
    pub secret: Zeroizing<String>,
    /// The `otpauth://` URI (for a QR code).
    pub otpauth_uri: Zeroizing<String>,
}

/// Why a second-factor step failed.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// TOTP is already active.
    #[error("a second factor is already active")]
    AlreadyActive,
    /// No TOTP enrolment to confirm, or none active to use.
    #[error("no second factor is enrolled")]
    NotEnrolled,
    /// The code is wrong, already used, or the challenge is not valid.
    #[error("the code is not valid")]
    WrongCode,
    /// The action needs a second factor performed within the last five minutes.
    #[error("a recent second factor is needed")]
    StaleMfa,
    /// The action needs a recent log-in (`super::recent_auth`).
    #[error("a recent log-in is needed")]
    StaleAuthentication,
    /// Other log-in failures (throttling, storage).
    #[error(transparent)]
    LogIn(#[from] LogInError),
}

impl From<StoreError> for MfaError {
    fn from(error: StoreError) -> Self {
        Self::LogIn(error.into())
    }
}

impl From<crate::keys::vault::VaultError> for MfaError {
    fn from(error: crate::keys::vault::VaultError) -> Self {
        Self::LogIn(error.into())
    }
}

impl From<audit::AuditError> for MfaError {
    fn from(error: audit::AuditError) -> Self {
        Self::LogIn(error.into())
    }
}

fn secret_field(account: &str) -> Field<'_> {
    Field {
        table: "totp_factors",
        column: "secret_sealed",
        row_id: account,
    }
}

fn now_unix() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// `enrollTotp`: starts TOTP enrolment (replacing an unconfirmed one) for a signed-in
/// `viewer` whose log-in is recent (`super::recent_auth`): a hijacked session cannot add a
/// factor that would lock the owner out.
pub async fn enroll(
    store: &Store,
    vault: &Vault,
    viewer: &Authenticated,
    account: &AccountRecord,
) -> Result<Enrollment, MfaError> {
    require_recent_authentication(store, viewer).await?;
    new_factor(store, vault, account).await
}

/// Refuses a `viewer` whose log-in is not recent.
async fn require_recent_authentication(
    store: &Store,
    viewer: &Authenticated,
) -> Result<(), MfaError> {
    if recent_auth::recently_authenticated(store, viewer, Utc::now()).await? {
        Ok(())
    } else {
        Err(MfaError::StaleAuthentication)
    }
}

/// Stores a new, unconfirmed TOTP factor (replacing an unconfirmed one) and answers its
/// secret: enrolment, and `icecone staff create`, which confirms it at once.
pub(crate) async fn new_factor(
    store: &Store,
    vault: &Vault,
    account: &AccountRecord,
) -> Result<Enrollment, MfaError> {
    let secret = TotpSecret::generate()
        .map_err(|e| MfaError::from(crate::keys::vault::VaultError::from(e)))?;
    let id = account.id.to_string();
    let sealed = vault
        .seal(account.subject, secret_field(&id), secret.as_bytes())
        .await?;
    match store.put_totp_factor(account.id, sealed).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => return Err(MfaError::AlreadyActive),
        Err(other) => return Err(other.into()),
    }
    let email = accounts::email_of(vault, account).await?;
    let label = if email.contains(':') {
        id.clone()
    } else {
        email
    };
    let otpauth_uri = totp::otpauth_uri(&TotpConfig::PRODUCTION, &secret, &label)
        .map_err(|_| MfaError::NotEnrolled)?;
    Ok(Enrollment {
        secret: secret.base32(),
        otpauth_uri,
    })
}

/// Reserves one second-factor attempt of an account — a TOTP or a recovery code, judged by
/// [`Rule::DelaysThenLock`] on the factor's failure count — before the code is looked at:
/// counted as a failure at once, by a compare-and-set on the count as it was judged, so
/// concurrent guesses on any number of instances count against each other. An accepted
/// code resets the count. Returns the factor as it was reserved.
async fn reserve_attempt(store: &Store, account: Uuid) -> Result<TotpFactorRecord, MfaError> {
    for _ in 0..attempts::RESERVE_TRIES {
        let factor = store
            .totp_factor(account)
            .await?
            .ok_or(MfaError::NotEnrolled)?;
        let now = Utc::now();
        attempts::allowed(throttle::decide(
            Rule::DelaysThenLock,
            factor.failures,
            factor.last_failure_at,
            now,
        ))
        .map_err(LogInError::from)?;
        if store
            .reserve_totp_attempt(account, factor.failures, factor.last_failure_at, now)
            .await?
        {
            return Ok(factor);
        }
    }
    Err(LogInError::from(attempts::contended()).into())
}

/// Checks a TOTP code against the account's factor, the attempt reserved first; returns
/// whether it was accepted (and, then, moved the accepted step forward and reset the
/// failures).
pub(crate) async fn check_totp(
    store: &Store,
    vault: &Vault,
    account: &AccountRecord,
    code: &str,
) -> Result<bool, MfaError> {
    let factor = reserve_attempt(store, account.id).await?;
    let id = account.id.to_string();
    let secret = vault
        .open_field(account.subject, secret_field(&id), &factor.secret_sealed)
        .await?;
    let secret = TotpSecret::from_bytes(&secret).map_err(|_| MfaError::NotEnrolled)?;
    Ok(
        match totp::verify(
            &TotpConfig::PRODUCTION,
            &secret,
            code.trim(),
            now_unix(),
            factor.last_step,
        ) {
            // The conditional update is what refuses a replay on another gateway instance.
            TotpCheck::Accepted { step } => store.accept_totp_step(account.id, step).await?,
            TotpCheck::Replayed | TotpCheck::Wrong => false,
        },
    )
}

/// `confirmTotp`: confirms enrolment with a first code, for a signed-in `viewer` whose
/// log-in is recent, as for [`enroll`]; returns the ten recovery codes, shown once.
pub async fn confirm(
    cx: Context<'_>,
    viewer: &Authenticated,
    account: &AccountRecord,
    code: &str,
) -> Result<Vec<Zeroizing<String>>, MfaError> {
    require_recent_authentication(cx.store, viewer).await?;
    let factor = cx
        .store
        .totp_factor(account.id)
        .await?
        .ok_or(MfaError::NotEnrolled)?;
    if factor.confirmed_at.is_some() {
        return Err(MfaError::AlreadyActive);
    }
    if !check_totp(cx.store, cx.vault, account, code).await? {
        return Err(MfaError::WrongCode);
    }
    let now = Utc::now();
    cx.store.confirm_totp_factor(account.id, now).await?;
    let codes = RecoveryCode::generate_set()
        .map_err(|e| MfaError::from(crate::keys::vault::VaultError::from(e)))?;
    let pepper = cx.vault.recovery_pepper();
    let digests = codes
        .iter()
        .map(|c| code_digest(&pepper, account.id.as_bytes(), c))
        .collect();
    cx.store.replace_recovery_codes(account.id, digests).await?;
    cx.store.record_mfa(viewer.session, now).await?;
    login::security_event(cx, account.id, "mfa.enabled", NotificationKind::MfaChanged).await?;
    Ok(codes.iter().map(RecoveryCode::display_form).collect())
}

/// Completes a log-in with the challenge `logIn` gave and a TOTP or recovery code.
pub async fn complete(cx: Context<'_>, challenge: &str, code: &str) -> Result<Tokens, MfaError> {
    let now = Utc::now();
    let account_id = cx
        .store
        .consume_mfa_challenge(&login::digest(challenge), now)
        .await?
        .ok_or(MfaError::WrongCode)?;
    // A suspended account spends no code: it is refused before any is looked at.
    let account = login::admitted(cx.store, account_id)
        .await
        .map_err(|error| match error {
            LogInError::WrongCredentials => MfaError::WrongCode,
            other => MfaError::LogIn(other),
        })?;
    let accepted = if code.trim().bytes().all(|b| b.is_ascii_digit()) {
        check_totp(cx.store, cx.vault, &account, code).await?
    } else {
        reserve_attempt(cx.store, account.id).await?;
        let used = match RecoveryCode::parse(code) {
            Ok(recovery) => {
                let digest = code_digest(
                    &cx.vault.recovery_pepper(),
                    account.id.as_bytes(),
                    &recovery,
                );
                cx.store.use_recovery_code(account.id, &digest, now).await?
            }
            Err(_) => false,
        };
        if used {
            cx.store.clear_totp_failures(account.id).await?;
        }
        used
    };
    if !accepted {
        return Err(MfaError::WrongCode);
    }
    let tokens = login::open_session(cx, account.id, true, now).await?;
    login::security_event(
        cx,
        account.id,
        "auth.sign_in_mfa",
        NotificationKind::NewSignIn,
    )
    .await?;
    Ok(tokens)
}

/// How recent the second factor of a session must be for sensitive actions: the value
/// the staff access decision uses too (`icecone_core::identity::staff_access`).
pub const FRESH_MFA: chrono::TimeDelta = icecone_core::identity::staff_access::FRESH_MFA;

/// Turns TOTP off (and voids the recovery codes). Needs a session whose second factor was
/// performed within [`FRESH_MFA`], and a current code.
pub async fn disable(
    cx: Context<'_>,
    account: &AccountRecord,
    session: Uuid,
    code: &str,
) -> Result<(), MfaError> {
    let now = Utc::now();
    let record = cx.store.session(session).await?.ok_or(MfaError::StaleMfa)?;
    if record.mfa_at.is_none_or(|at| now - at > FRESH_MFA) {
        return Err(MfaError::StaleMfa);
    }
    if !check_totp(cx.store, cx.vault, account, code).await? {
        return Err(MfaError::WrongCode);
    }
    cx.store.delete_totp_factor(account.id).await?;
    cx.store
        .replace_recovery_codes(account.id, Vec::new())
        .await?;
    login::security_event(cx, account.id, "mfa.disabled", NotificationKind::MfaChanged).await?;
    Ok(())
}
