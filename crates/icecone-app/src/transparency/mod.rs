//! Transparency: the facts the privacy page (`GET /privacy`), its JSON (`GET
//! /privacy.json`) and GraphQL's `privacyPolicy` publish, assembled at request time from
//! the same typed sources that enforce the promises ([`Sources::facts`]), and the promise
//! matrix ([`promises`]).
//!
//! Adding a section to the page is one typed section struct here, a field of [`Facts`]
//! filled in [`Sources::facts`], one render function in the gateway's `http::privacy` and
//! its part of `docs/schemas/privacy-v1.schema.json`.

pub mod facts;
pub mod promises;

pub use facts::{Deployment, DpoContact, Facts, FactsError, Sources, Transport};

/// The published JSON Schema of `privacy.json` (`GET /schemas/privacy-v1.json`).
pub const SCHEMA_JSON: &str = include_str!("../../../../docs/schemas/privacy-v1.schema.json");
