//! IceCone's privacy gateway: GraphQL over HTTP in front of IceCone's store and AI providers.
//!
//! [`cli`] is the entry point of the `icecone` binary; [`startup::Application`] builds the
//! HTTP server (the end-to-end tests start it on port 0); [`graphql`] builds the schema.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod consent;
pub mod erasure;
pub mod generation;
pub mod graphql;
mod http;
pub mod jobs;
pub mod keys;
pub mod notify;
mod owner_only;
pub mod partners;
mod periodic;
pub mod providers;
pub mod rights;
pub mod startup;
pub mod telemetry;
pub mod tls;
