//! What a staff field requires, declared once per field: the guard that enforces it and the
//! directives that show it in the SDL are both made from the same [`StaffField`].

use async_graphql::{Context, Enum, Guard, TypeDirective};
use chrono::Utc;
use icecone_core::identity::roles::{RoleRule, StaffRole};
use icecone_core::identity::staff_access::{MfaRequirement, StaffRequirement, staff_access};

use crate::graphql::caller::services;
use crate::graphql::error::{ApiError, internal};
use icecone_app::auth::staff;
use icecone_app::auth::viewer::Viewer;

/// A role a staff account can hold. `@requiresRole` on a staff field lists the roles that
/// may call it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "StaffRole",
    remote = "icecone_core::identity::roles::StaffRole"
)]
pub(crate) enum StaffRoleValue {
    /// Answers people's requests: reads accounts, with a recorded reason.
    Support,
    /// The data protection officer.
    Dpo,
    /// Reads the audit trail, nothing else.
    Auditor,
    /// Manages staff accounts and roles; meets every rule.
    Admin,
    /// Reads anonymised aggregates (`analytics`), nothing else.
    Analyst,
}

/// Only staff holding one of `roles` (read from the database on every request, so a revoked
/// role stops working at once) may use this field; others get `FORBIDDEN`.
#[TypeDirective(location = "FieldDefinition", name = "requiresRole")]
pub(crate) fn requires_role(roles: Vec<StaffRoleValue>) {}

/// The caller must have completed a second factor in this session (`MFA_REQUIRED`
/// otherwise); with `fresh: true`, within the last five minutes
/// (`REAUTHENTICATION_REQUIRED` otherwise).
#[TypeDirective(location = "FieldDefinition", name = "requiresMfa")]
pub(crate) fn requires_mfa(fresh: bool) {}

/// The one declaration of what a staff field requires.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StaffField(pub(crate) StaffRequirement);

impl StaffField {
    /// Roles from `rule`, a second factor in the session.
    pub(crate) const fn new(rule: RoleRule) -> Self {
        Self(StaffRequirement {
            rule,
            mfa: MfaRequirement::Session,
        })
    }

    /// Roles from `rule`, a second factor within the last five minutes.
    pub(crate) const fn fresh(rule: RoleRule) -> Self {
        Self(StaffRequirement {
            rule,
            mfa: MfaRequirement::Fresh,
        })
    }

    /// The roles `@requiresRole` lists.
    pub(crate) fn roles(self) -> Vec<StaffRoleValue> {
        self.0
            .rule
            .roles()
            .iter()
            .map(|role: &StaffRole| StaffRoleValue::from(*role))
            .collect()
    }

    /// The `fresh` argument of `@requiresMfa`.
    pub(crate) fn fresh_mfa(self) -> bool {
        self.0.mfa.is_fresh()
    }

    /// The guard that enforces it.
    pub(crate) fn guard(self) -> StaffGuard {
        StaffGuard(self.0)
    }
}

/// Enforces a [`StaffRequirement`] before the field resolves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StaffGuard(StaffRequirement);

impl Guard for StaffGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        check(ctx, self.0).await.map_err(Into::into)
    }
}

async fn check(ctx: &Context<'_>, required: StaffRequirement) -> Result<(), ApiError> {
    let decision = match ctx.data_opt::<Viewer>() {
        Some(Viewer::Account(viewer)) => {
            let standing = staff::caller(&services(ctx)?.store, viewer, Utc::now())
                .await
                .map_err(internal)?;
            staff_access(Some(&standing.as_caller()), required)
        }
        _ => staff_access(None, required),
    };
    Ok(decision?)
}
