//! How the schema says what personal data each field returns and why — visible in the SDL,
//! and checked by a test that walks every field (`tests/e2e/consent.rs`):
//!
//! - `@essential(purpose: P)` on a type or a field: it returns personal data, processed for
//!   `P`, a purpose that does not rest on consent (the service, security, the law);
//! - `@requiresConsent(purpose: P)` on a field (enforced by its guard, see
//!   [`super::consent::ConsentField`]) or on a type reached only through such fields: it
//!   processes personal data for `P`, which rests on consent;
//! - `@notPersonal` on a type or a field: it returns no personal data.
//!
//! A field is classified by its own directive, else by its type's (for object fields), else
//! by the type it returns (for root fields returning an object). A new field cannot ship
//! unclassified.

use async_graphql::TypeDirective;

use super::consent::PurposeValue;

/// Returns personal data, processed for `purpose`, which does not rest on consent.
#[TypeDirective(location = "Object", location = "FieldDefinition", name = "essential")]
pub(crate) fn essential(purpose: PurposeValue) {}

/// Returns no personal data.
#[TypeDirective(
    location = "Object",
    location = "FieldDefinition",
    name = "notPersonal"
)]
pub(crate) fn not_personal() {}
