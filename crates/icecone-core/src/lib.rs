//! IceCone's domain: the types and policy decisions that every other crate shares.
//!
//! This crate does no IO and knows nothing of the web, the database or HTTP clients: it
//! can be read, and tested, on its own. The gateway asks it questions; it never calls out.
//! (The one thing it asks the operating system for is randomness, for keys and nonces.)

pub mod analytics;
pub mod audit;
pub mod billing;
pub mod campaign;
pub mod client_address;
pub mod consent;
pub mod crypto;
pub mod csrf;
pub mod disclosure;
pub mod generation;
pub mod identity;
pub mod minimise;
pub mod net;
pub mod origins;
pub mod partner;
pub mod personalization;
pub mod privacy_ticket;
pub mod provider;
pub mod rights;
pub mod settings;
pub mod subject;
pub mod subprocessor;
pub mod trusted_documents;
pub mod usage;
