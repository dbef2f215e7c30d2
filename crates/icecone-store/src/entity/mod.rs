//! sea-orm entities. Crate-private: they never leave the store, so the database is never
//! the API.

// sea-orm's derive macros generate `pub` items; the modules themselves are crate-private.
#![allow(unreachable_pub)]

pub(crate) mod data_key;
pub(crate) mod data_subject;
pub(crate) mod system_key;
