//! Self-service sign-up and e-mail verification, built so that sign-up never reveals whether
//! an address already has an account.
//!
//! Every sign-up does the same work and gives the same answer — a new account and a session
//! for it — whether or not the address is taken: the password is hashed, a data subject is
//! created, the address is sealed, an account with an *unverified* address is written, a
//! verification link is recorded and one notification is queued. Only the notification
//! differs, and only the mailbox's holder sees it: a free address gets the verification
//! link; the owner of a taken address gets a notice that someone tried to sign up with it.
//!
//! An unverified account works through the session sign-up gave it, but its address is not
//! its sign-in name yet: the e-mail's blind index is stored only when the link is used
//! ([`verify_email`]); until then the account holds a random placeholder that no look-up
//! matches, so `logIn` treats the address like an unknown one. Whoever verifies first owns
//! the address.

use chrono::{TimeDelta, Utc};
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::password_hash;
use icecone_core::identity::policy::PolicyVersion;

use icecone_store::StoreError;
use icecone_store::accounts::AccountKind;
use icecone_store::verifications::NewEmailVerification;
use uuid::Uuid;

use super::attempts::{self, AttemptError};
use super::login::{self, LogInError, Tokens};
use crate::accounts::{self, EMAIL_INDEX, NewAccountFields, RegisterError};
use crate::audit::{self, AuditEvent};
use crate::context::Context;
use crate::keys::vault::Field;
use crate::notify::{self, NotificationKind};
use icecone_core::consent::Purpose;
use icecone_core::consent::ledger::{Change, ConsentSource, LedgerEntry};

/// How long a verification link works.
pub const VERIFICATION_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// Sign-ups allowed per client address in each window of
/// [`icecone_core::identity::throttle::ADDRESS_WINDOW`].
pub const SIGN_UPS_PER_ADDRESS: u32 = 10;
/// Verification links an account can ask for again in each window of
/// [`icecone_core::identity::throttle::ADDRESS_WINDOW`].
pub const RESENDS_PER_ACCOUNT: u32 = 3;

/// Why sign-up or verification failed.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    /// Too many sign-ups (from this client address) or resends (for this account).
    #[error("too many attempts")]
    Throttled {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// The verification link is unknown, used or expired.
    #[error("the verification link is not valid")]
    InvalidLink,
    /// Another account verified this address first.
    #[error("the address belongs to another account")]
    AddressTaken,
    /// The account's address is verified already.
    #[error("the address is verified already")]
    AlreadyVerified,
    /// The account could not be written.
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The session could not be opened, or the database, vault or audit trail failed.
    #[error(transparent)]
    Session(#[from] LogInError),
}

impl From<StoreError> for SignUpError {
    fn from(error: StoreError) -> Self {
        Self::Session(error.into())
    }
}

fn verification_field(account: &str) -> Field<'_> {
    Field {
        table: "email_verifications",
        column: "email",
        row_id: account,
    }
}

/// Counts one event in a fixed-window bucket, refusing it when the window's limit is used.
async fn count_in_window(cx: Context<'_>, bucket: &str, limit: u32) -> Result<(), SignUpError> {
    attempts::reserve_in_window(cx.store, bucket, limit, Utc::now())
        .await
        .map_err(|error| match error {
            AttemptError::Throttled {
                retry_after_seconds,
            } => SignUpError::Throttled {
                retry_after_seconds,
            },
            AttemptError::Store(error) => error.into(),
        })
}

/// Creates an account with an unverified address and signs it in; see the module
/// documentation for why the answer is the same whether or not the address is taken.
/// `consents` are the consent-based purposes the person opted into on the sign-up form,
/// recorded in the ledger with the source `SIGN_UP`.
pub async fn sign_up(
    cx: Context<'_>,
    email: &Email,
    password: Password,
    policy: PolicyVersion,
    consents: &[Purpose],
    history: icecone_core::consent::policy::PolicyHistory,
) -> Result<Tokens, SignUpError> {
    let address = cx
        .vault
        .blind_index("attempts.client_address", cx.client_address.as_bytes());
    let bucket = format!("signup:addr:{}", login::hex(&address[..16]));
    count_in_window(cx, &bucket, SIGN_UPS_PER_ADDRESS).await?;
    let email_index = cx.vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes());
    let owner = cx.store.account_by_email_index(&email_index).await?;
    let password_hash = tokio::task::spawn_blocking(move || password_hash::hash(&password))
        .await
        .map_err(|_| LogInError::Worker)?
        .map_err(RegisterError::from)?;
    let placeholder = icecone_core::crypto::keys::SecretKey::generate()
        .map_err(|error| LogInError::Vault(error.into()))?;
    let (account, subject) = accounts::insert(
        cx.store,
        cx.vault,
        NewAccountFields {
            email,
            password_hash,
            policy,
            kind: AccountKind::User,
            email_index: *placeholder.expose(),
            verified: None,
        },
    )
    .await?;
    let entries: Vec<_> = consents
        .iter()
        .map(|&purpose| LedgerEntry {
            change: Change::Consent {
                purpose,
                granted: true,
            },
            // Given under the version the person accepted, which is the current one.
            policy_version: policy.as_str().to_owned(),
            source: ConsentSource::SignUp,
            at: Utc::now(),
        })
        .collect();
    cx.store.append_consent_entries(account, &entries).await?;
    let token = new_verification(cx, account, subject, email, email_index).await?;
    send_link_or_notice(cx, owner.map(|owner| owner.id), (account, subject), &token).await?;
    let actor = format!("account:{account}");
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "account.sign_up",
            target: Some(&actor),
            reason: None,
            request_id: cx.request_id,
        },
    )
    .await
    .map_err(LogInError::from)?;
    crate::analytics::capture_once(
        cx.store,
        cx.vault,
        history,
        account,
        &crate::analytics::Happened::SignUp,
    )
    .await;

    Ok(login::open_session(cx, account, false, Utc::now()).await?)
}

/// Queues the verification link for the address — or, when a verified account `owner`
/// holds the address already, the notice to that owner instead: the new account never gets
/// a link to an address that is not its holder's.
pub(crate) async fn send_link_or_notice(
    cx: Context<'_>,
    owner: Option<Uuid>,
    (account, subject): (Uuid, icecone_core::subject::SubjectId),
    token: &str,
) -> Result<(), SignUpError> {
    match owner {
        Some(owner) => notify::enqueue(cx.store, owner, NotificationKind::SignUpAttempt).await,
        None => {
            notify::enqueue_with_token(
                cx.store,
                cx.vault,
                (account, subject),
                NotificationKind::VerifyEmail,
                token,
            )
            .await
        }
    }
    .map_err(|error| LogInError::from(error).into())
}

/// Records a verification link for `email` and returns its token.
pub(crate) async fn new_verification(
    cx: Context<'_>,
    account: Uuid,
    subject: icecone_core::subject::SubjectId,
    email: &Email,
    email_index: [u8; 32],
) -> Result<String, SignUpError> {
    let (token, token_digest) = login::random_token().map_err(LogInError::from)?;
    let email_sealed = cx
        .vault
        .seal(
            subject,
            verification_field(&account.to_string()),
            email.as_str().as_bytes(),
        )
        .await
        .map_err(LogInError::from)?;
    let now = Utc::now();
    cx.store
        .create_email_verification(NewEmailVerification {
            token_digest,
            account,
            email_sealed,
            email_index,
            created_at: now,
            expires_at: now + VERIFICATION_LIFETIME,
        })
        .await?;
    Ok(token)
}

/// Uses a verification link: the address it was sent to becomes the account's sign-in
/// name. Returns the account.
pub async fn verify_email(cx: Context<'_>, token: &str) -> Result<Uuid, SignUpError> {
    let now = Utc::now();
    let spent = cx
        .store
        .spend_email_verification(&login::digest(token), now)
        .await?
        .ok_or(SignUpError::InvalidLink)?;
    let account = cx
        .store
        .account(spent.account)
        .await?
        .ok_or(SignUpError::InvalidLink)?;
    let id = account.id.to_string();
    let address = cx
        .vault
        .open_field(
            account.subject,
            verification_field(&id),
            &spent.email_sealed,
        )
        .await
        .map_err(LogInError::from)?;
    let email_sealed = cx
        .vault
        .seal(account.subject, accounts::email_field(&id), &address)
        .await
        .map_err(LogInError::from)?;
    match cx
        .store
        .set_verified_email(account.id, email_sealed, spent.email_index, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(SignUpError::InvalidLink),
        Err(StoreError::Duplicate) => return Err(SignUpError::AddressTaken),
        Err(other) => return Err(other.into()),
    }
    let actor = format!("account:{id}");
    audit::record(
        cx.store,
        cx.vault,
        AuditEvent {
            actor: &actor,
            action: "account.email_verified",
            target: Some(&actor),
            reason: None,
            request_id: cx.request_id,
        },
    )
    .await
    .map_err(LogInError::from)?;
    Ok(account.id)
}

/// Sends a new verification link to the signed-in account's unverified address (or, when
/// another account has verified that address meanwhile, the notice to its owner instead).
pub async fn resend_verification(cx: Context<'_>, account: Uuid) -> Result<(), SignUpError> {
    let record = cx
        .store
        .account(account)
        .await?
        .ok_or(SignUpError::InvalidLink)?;
    if record.email_verified_at.is_some() {
        return Err(SignUpError::AlreadyVerified);
    }
    count_in_window(
        cx,
        &icecone_store::attempts::account_bucket("verify:resend", account),
        RESENDS_PER_ACCOUNT,
    )
    .await?;
    let address = accounts::email_of(cx.vault, &record)
        .await
        .map_err(LogInError::from)?;
    let email = Email::parse(&address).map_err(|_| SignUpError::InvalidLink)?;
    let email_index = cx.vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes());
    let token = new_verification(cx, account, record.subject, &email, email_index).await?;
    let owner = cx.store.account_by_email_index(&email_index).await?;
    send_link_or_notice(
        cx,
        owner.map(|owner| owner.id),
        (account, record.subject),
        &token,
    )
    .await
}
