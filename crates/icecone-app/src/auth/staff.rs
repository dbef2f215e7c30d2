//! Staff accounts: created from the command line (`icecone staff create`), always with a
//! second factor; who a staff caller is for one request ([`caller`]); and the staff
//! actions on people's accounts ([`read_account`], [`suspend`]), each recorded in the audit
//! trail *before* it happens — an action the trail cannot record does not happen.

use chrono::{DateTime, Utc};
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::policy::PolicyVersion;
use icecone_core::identity::roles::{RoleRule, StaffRole};
use icecone_core::identity::staff_access::{StaffCaller, StaffReason};
use icecone_core::usage::Plan;
use icecone_store::Store;
use icecone_store::accounts::{AccountKind, AccountRecord};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::mfa::{self, MfaError};
use super::viewer::Authenticated;
use crate::accounts::{self, RegisterError};
use crate::audit::{self, AuditError, AuditEvent};
use crate::keys::vault::Vault;
use crate::notify::{self, NotificationKind, NotifyError};
use crate::tokens::Acr;

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
    /// The notification could not be queued.
    #[error(transparent)]
    Notify(#[from] NotifyError),
    /// No account has this id.
    #[error("no such account")]
    NotFound,
    /// Staff cannot act on their own account.
    #[error("staff cannot do this to their own account")]
    OwnAccount,
    /// Acting on a staff account needs ADMIN.
    #[error("acting on a staff account needs ADMIN")]
    StaffTargetNeedsAdmin,
    /// A staff account has no plan to change.
    #[error("staff accounts have no plan")]
    StaffHasNoPlan,
    /// No staff account has this e-mail address.
    #[error("no staff account has this e-mail address")]
    NoSuchStaff,
    /// The last ADMIN cannot lose the role: nobody could manage staff any more.
    #[error("this is the last ADMIN: grant ADMIN to another staff account first")]
    LastAdmin,
}

/// Grants (`grant: true`) or revokes a role of the staff account with this e-mail address,
/// from the command line; records `staff.role_granted` or `staff.role_revoked` in the audit
/// trail. Returns whether anything changed. Revoking ADMIN from its last holder is refused.
pub async fn change_role(
    store: &Store,
    vault: &Vault,
    email: &Email,
    role: StaffRole,
    grant: bool,
) -> Result<bool, StaffError> {
    let index = vault.blind_index(accounts::EMAIL_INDEX, email.as_str().as_bytes());
    let account = store
        .account_by_email_index(&index)
        .await?
        .filter(|account| account.kind == AccountKind::Staff)
        .ok_or(StaffError::NoSuchStaff)?;
    let held = store.staff_roles(account.id).await?;
    let holds = held.iter().any(|name| name == role.as_str());
    if grant == holds {
        return Ok(false);
    }
    if !grant
        && role == StaffRole::Admin
        && store.staff_role_holders(StaffRole::Admin.as_str()).await? <= 1
    {
        return Err(StaffError::LastAdmin);
    }
    let target = format!("account:{}", account.id);
    let event = AuditEvent {
        actor: "cli",
        action: if grant {
            "staff.role_granted"
        } else {
            "staff.role_revoked"
        },
        target: Some(&target),
        reason: Some(role.as_str()),
        request_id: None,
    };
    audit::record(store, vault, event).await?;
    if grant {
        store.grant_staff_role(account.id, role.as_str()).await?;
    } else {
        store.revoke_staff_role(account.id, role.as_str()).await?;
    }
    Ok(true)
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
    let enrollment = mfa::new_factor(store, vault, &account).await?;
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

/// A signed-in caller's standing for staff fields, read from the database for each request:
/// roles are not in the token, so revoking one (or suspending the account) takes effect on
/// the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerStanding {
    /// The staff roles held (empty for accounts that are not staff accounts).
    pub roles: Vec<StaffRole>,
    /// Whether the account is suspended (or gone).
    pub suspended: bool,
    /// How long ago the session's second factor was performed; `None` for an `aal1` token
    /// or a session without one.
    pub mfa_age: Option<chrono::TimeDelta>,
}

impl CallerStanding {
    /// The caller as the staff access decision takes it.
    pub fn as_caller(&self) -> StaffCaller<'_> {
        StaffCaller {
            roles: &self.roles,
            suspended: self.suspended,
            mfa_age: self.mfa_age,
        }
    }
}

/// The roles an account holds; only staff accounts hold any (the store does not check
/// that), and role names this build does not know grant nothing.
async fn roles_of(store: &Store, account: &AccountRecord) -> Result<Vec<StaffRole>, StaffError> {
    if account.kind != AccountKind::Staff {
        return Ok(Vec::new());
    }
    Ok(store
        .staff_roles(account.id)
        .await?
        .iter()
        .filter_map(|name| StaffRole::parse(name).ok())
        .collect())
}

/// Reads the standing of a signed-in caller: their account, roles and session.
pub async fn caller(
    store: &Store,
    viewer: &Authenticated,
    now: DateTime<Utc>,
) -> Result<CallerStanding, StaffError> {
    let Some(account) = store.account(viewer.account).await? else {
        return Ok(CallerStanding {
            roles: Vec::new(),
            suspended: true,
            mfa_age: None,
        });
    };
    let roles = roles_of(store, &account).await?;
    // The token says whether a second factor was used; the session says when it was last
    // performed (completing a log-in, or confirming a factor), as for `disableTotp`.
    let mfa_age = match viewer.acr {
        Acr::Aal2 => store
            .session(viewer.session)
            .await?
            .and_then(|session| session.mfa_at)
            .map(|at| now - at),
        Acr::Aal1 => None,
    };
    Ok(CallerStanding {
        roles,
        suspended: account.suspended_at.is_some(),
        mfa_age,
    })
}

/// An account as staff see it: the stored record (the e-mail still sealed), the roles it
/// holds and whether a second factor is active. The record carries the password hash (its
/// `Debug` hides it); the staff console's view of it shows neither the hash nor anything of
/// the second factor but whether it is active.
#[derive(Debug, Clone)]
pub struct AccountFile {
    /// The stored account.
    pub record: AccountRecord,
    /// The staff roles it holds.
    pub roles: Vec<StaffRole>,
    /// Whether a confirmed second factor is active.
    pub mfa_enabled: bool,
}

async fn account_file(store: &Store, id: Uuid) -> Result<Option<AccountFile>, StaffError> {
    let Some(record) = store.account(id).await? else {
        return Ok(None);
    };
    let roles = roles_of(store, &record).await?;
    let mfa_enabled = store
        .totp_factor(id)
        .await?
        .is_some_and(|factor| factor.confirmed_at.is_some());
    Ok(Some(AccountFile {
        record,
        roles,
        mfa_enabled,
    }))
}

fn actor(staff: Uuid) -> String {
    format!("account:{staff}")
}

/// Reads an account for a staff member who gave `reason`. The read is recorded
/// (`staff.read_account`: who, about whom, why) before anything is read, whether or not the
/// account exists — probing ids is access too; `None` when no account has the id.
pub async fn read_account(
    cx: crate::context::Context<'_>,
    staff: Uuid,
    target: Uuid,
    reason: &StaffReason,
) -> Result<Option<AccountFile>, StaffError> {
    let actor = actor(staff);
    let target_ref = format!("account:{target}");
    let event = AuditEvent {
        actor: &actor,
        action: "staff.read_account",
        target: Some(&target_ref),
        reason: Some(reason.as_str()),
        request_id: cx.request_id,
    };
    audit::record(cx.store, cx.vault, event).await?;
    account_file(cx.store, target).await
}

/// Puts a user's account on `plan` (which sets its generation quota from the next request
/// on), for a staff member who gave `reason`. Recorded (`staff.set_plan`, the plan in the
/// target) before the change is made. Staff accounts have no plan to change.
pub async fn set_plan(
    cx: crate::context::Context<'_>,
    staff: Uuid,
    target: Uuid,
    plan: Plan,
    reason: &StaffReason,
) -> Result<AccountFile, StaffError> {
    let file = account_file(cx.store, target)
        .await?
        .ok_or(StaffError::NotFound)?;
    if file.record.kind == AccountKind::Staff {
        return Err(StaffError::StaffHasNoPlan);
    }
    let actor = actor(staff);
    let target_ref = format!("account:{target}:plan:{}", plan.as_str());
    let event = AuditEvent {
        actor: &actor,
        action: "staff.set_plan",
        target: Some(&target_ref),
        reason: Some(reason.as_str()),
        request_id: cx.request_id,
    };
    audit::record(cx.store, cx.vault, event).await?;
    cx.store.set_account_plan(target, plan, Utc::now()).await?;
    account_file(cx.store, target)
        .await?
        .ok_or(StaffError::NotFound)
}

/// Suspends an account for a staff member who gave `reason`: it cannot log in any more,
/// every session it has ends at once (access and refresh tokens stop working), its pending
/// MFA challenges are void, and its holder is notified (`account_suspended` in the
/// outbox). The account is marked first and its sessions ended after, which is the order
/// the doors that make or extend a session rely on (`login::admitted`). Staff cannot
/// suspend themselves, and suspending a staff account needs ADMIN. Recorded
/// (`staff.suspend_account`) before the change is made; suspending a suspended account
/// ends its sessions again and keeps the first suspension time.
pub async fn suspend(
    cx: crate::context::Context<'_>,
    staff: Uuid,
    target: Uuid,
    reason: &StaffReason,
) -> Result<AccountFile, StaffError> {
    if staff == target {
        return Err(StaffError::OwnAccount);
    }
    let file = account_file(cx.store, target)
        .await?
        .ok_or(StaffError::NotFound)?;
    if file.record.kind == AccountKind::Staff {
        let staff_record = cx.store.account(staff).await?.ok_or(StaffError::NotFound)?;
        if !RoleRule::Admin.allows(&roles_of(cx.store, &staff_record).await?) {
            return Err(StaffError::StaffTargetNeedsAdmin);
        }
    }
    let actor = actor(staff);
    let target_ref = format!("account:{target}");
    let event = AuditEvent {
        actor: &actor,
        action: "staff.suspend_account",
        target: Some(&target_ref),
        reason: Some(reason.as_str()),
        request_id: cx.request_id,
    };
    audit::record(cx.store, cx.vault, event).await?;
    let now = Utc::now();
    cx.store.suspend_account(target, now).await?;
    cx.store
        .revoke_all_sessions(target, "suspended", now)
        .await?;
    cx.store.void_mfa_challenges(target, now).await?;
    notify::enqueue(cx.store, target, NotificationKind::AccountSuspended).await?;
    account_file(cx.store, target)
        .await?
        .ok_or(StaffError::NotFound)
}
