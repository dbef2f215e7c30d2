//! Purposes of processing, their legal bases, the published policy versions, the consent
//! ledger's current state, and the one decision every gate asks: may this purpose run for
//! this person now?
//!
//! - [`Purpose`]: what personal data is used for, each with its [`LegalBasis`], whether the
//!   person can withdraw it, its default, and its fideslang data use.
//! - [`policy`]: the privacy policy versions published so far, and which purposes each
//!   changed; a consent given under an older version than the purpose's last change no
//!   longer counts.
//! - [`renewal`]: [`renewal::consents_to_renew`], the consents a person must give again
//!   because a later version changed their purpose.
//! - [`ledger`]: the entries of the append-only consent ledger and the current state they
//!   add up to.
//! - [`decision`]: [`decision::may_process`], a pure function of the purpose, the activity
//!   and the state — the same function gates GraphQL fields, notifications and jobs.
//! - [`background`]: what each step of a background job declares it does with personal
//!   data ([`background::StepUse`]) and [`background::gate`], which turns the decision into
//!   run, hold (restricted) or cancel (consent missing).

pub mod background;
pub mod decision;
pub mod ledger;
pub mod policy;
mod purpose;
pub mod renewal;

pub use purpose::{LegalBasis, Purpose, UnknownPurpose};
