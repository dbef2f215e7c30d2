//! Accounts as the gateway keeps them: the e-mail sealed with the person's own data key and
//! found by its blind index, the password as an Argon2id hash.

use chrono::{DateTime, Utc};
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::password_hash::{self, HashError};
use icecone_core::identity::policy::PolicyVersion;
use icecone_core::subject::SubjectId;
use icecone_store::accounts::{AccountKind, AccountRecord, NewAccount};
use icecone_store::{Store, StoreError};
use uuid::Uuid;

use crate::keys::vault::{Field, Vault, VaultError};

/// The blind-index purpose of account e-mail addresses.
pub const EMAIL_INDEX: &str = "accounts.email";

/// Where an account's e-mail ciphertext belongs (its binding, with the subject).
pub fn email_field(account: &str) -> Field<'_> {
    Field {
        table: "accounts",
        column: "email",
        row_id: account,
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// An account with this e-mail address exists.
    #[error("an account with this e-mail address exists")]
    EmailTaken,
    /// The password could not be hashed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an account whose address counts as verified (an operator or a test vouches for
/// it): a new data subject with its own data key, the e-mail sealed with it, the e-mail's
/// blind index, the password's Argon2id hash and the accepted policy version. Self-service
/// sign-up goes through [`super::sign_up`] instead, which verifies the address first.
pub async fn register(
    store: &Store,
    vault: &Vault,
    email: &Email,
    password: &Password,
    policy: PolicyVersion,
    kind: AccountKind,
) -> Result<Uuid, RegisterError> {
    let email_index = vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes());
    if store.account_by_email_index(&email_index).await?.is_some() {
        return Err(RegisterError::EmailTaken);
    }
    let (id, _) = insert(
        store,
        vault,
        NewAccountFields {
            email,
            password_hash: password_hash::hash(password)?,
            policy,
            kind,
            email_index,
            verified: Some(Utc::now()),
        },
    )
    .await?;
    Ok(id)
}

/// What [`insert`] writes.
pub(super) struct NewAccountFields<'a> {
    pub(super) email: &'a Email,
    /// The password's Argon2id hash.
    pub(super) password_hash: String,
    pub(super) policy: PolicyVersion,
    pub(super) kind: AccountKind,
    /// The address's blind index, or for an unverified account a random placeholder.
    pub(super) email_index: [u8; 32],
    pub(super) verified: Option<DateTime<Utc>>,
}

/// Writes a new account and its data subject; returns both ids.
pub(super) async fn insert(
    store: &Store,
    vault: &Vault,
    fields: NewAccountFields<'_>,
) -> Result<(Uuid, SubjectId), RegisterError> {
    let subject = vault.create_subject().await?;
    let id = Uuid::new_v4();
    let email_sealed = vault
        .seal(
            subject,
            email_field(&id.to_string()),
            fields.email.as_str().as_bytes(),
        )
        .await?;
    let account = NewAccount {
        id,
        subject,
        email_sealed,
        email_index: fields.email_index,
        password_hash: fields.password_hash,
        policy_version: fields.policy.as_str().to_owned(),
        kind: fields.kind,
        email_verified_at: fields.verified,
    };
    match store.create_account(account).await {
        Ok(()) => Ok((id, subject)),
        Err(StoreError::Duplicate) => {
            // Another sign-up for the same address won the race: this subject holds nothing.
            vault.shred(subject).await?;
            Err(RegisterError::EmailTaken)
        }
        Err(other) => Err(other.into()),
    }
}

/// The account's e-mail address, decrypted.
pub async fn email_of(vault: &Vault, account: &AccountRecord) -> Result<String, VaultError> {
    let plaintext = vault
        .open_field(
            account.subject,
            email_field(&account.id.to_string()),
            &account.email_sealed,
        )
        .await?;
    String::from_utf8(plaintext.to_vec())
        .map_err(|_| VaultError::Crypto(icecone_core::crypto::CryptoError::Authentication))
}
