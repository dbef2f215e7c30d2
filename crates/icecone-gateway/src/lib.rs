//! IceCone's privacy gateway: GraphQL over HTTP in front of IceCone's store and AI providers.
//!
//! [`cli`] is the entry point of the `icecone` binary; [`startup::Application`] builds the
//! HTTP server (the end-to-end tests start it on port 0); [`graphql`] builds the schema.

pub mod cli;
pub mod config;
pub mod graphql;
mod http;
pub mod metrics;
mod request;
mod session_cookie;
pub mod startup;
pub mod telemetry;
pub mod tls;
