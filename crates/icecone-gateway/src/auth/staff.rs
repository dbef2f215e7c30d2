//! Staff accounts: created from the command line (`icecone staff create`), always with a
//! second factor.

use chrono::Utc;
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::policy::PolicyVersion;
use icecone_core::identity::roles::StaffRole;
use icecone_store::Store;
use icecone_store::accounts::AccountKind;
use zeroize::Zeroizing;

use super::accounts::{self, RegisterError};
use super::mfa::{self, MfaError};
use crate::audit::{self, AuditError, AuditEvent};
use crate::keys::vault::Vault;

/// Why a staff account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// The account could not be registered (e.g. the address is taken).
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The second factor could not be set up.
    #[error(transparent)]
    Mfa(#[from] MfaError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] icecone_store::StoreError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// Creates a staff account with `role` and an active TOTP factor; returns the factor's
/// `otpauth://` URI, to be added to the staff member's authenticator at once. Every staff
/// log-in therefore ends in an MFA challenge.
pub async fn create(
    store: &Store,
    vault: &Vault,
    email: &Email,
    password: &Password,
    role: StaffRole,
) -> Result<Zeroizing<String>, StaffError> {
    let id = accounts::register(
        store,
        vault,
        email,
        password,
        PolicyVersion::current(),
        AccountKind::Staff,
    )
    .await?;
    store.grant_staff_role(id, role.as_str()).await?;
    let account = store.account(id).await?.ok_or(RegisterError::EmailTaken)?;
    let enrollment = mfa::enroll(store, vault, &account).await?;
    store.confirm_totp_factor(id, Utc::now()).await?;
    let target = format!("account:{id}");
    let event = AuditEvent {
        actor: "cli",
        action: "staff.created",
        target: Some(&target),
        reason: Some(role.as_str()),
        request_id: None,
    };
    audit::record(store, vault, event).await?;
    Ok(enrollment.otpauth_uri)
}
