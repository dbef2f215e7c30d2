//! IceCone's storage: one [`Store`] over sea-orm, the migrations, and the repositories.
//!
//! The same migrations run on SQLite (the embedded default) and PostgreSQL. Nothing here
//! logs SQL or bound values: statement logging is switched off at the connection, because
//! bound values are personal data.

mod database_url;
mod entity;
pub mod keys;
mod migration;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use database_url::{Backend, DatabaseUrl, InvalidDatabaseUrl};
pub use store::{Store, StoreError};
