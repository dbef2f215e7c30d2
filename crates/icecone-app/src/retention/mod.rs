//! Retention: how long each kind of personal data is kept, and the housekeeping that keeps
//! to it. Both are made from the personal-data registry (`icecone_store::personal_data`),
//! where every personal table declares its [`Retention`](icecone_store::personal_data::Retention):
//! [`schedule`] publishes it in plain language with this deployment's periods, and
//! [`housekeeping`] runs every [`Purge`](icecone_store::purge::Purge) that enforces one.

pub mod housekeeping;
pub mod schedule;

pub use schedule::{Kept, ScheduleEntry, schedule};
