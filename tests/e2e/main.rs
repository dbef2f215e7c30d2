//! End-to-end tests: they start the real gateway — in process on a random port, or as the
//! `icecone` binary — against a fresh database (SQLite, or PostgreSQL when
//! `ICECONE_TEST_DATABASE_URL` is set) and talk to it over HTTP.

mod accounts;
mod analytics;
mod audit;
mod binary;
mod browser;
mod campaigns;
mod client_address;
mod consent;
mod cookie_sessions;
mod disclosures;
mod encryption;
mod erasure;
mod generation;
mod graphql_over_http;
mod health;
mod jobs;
mod limits;
mod login;
mod mail;
mod mfa;
mod partners;
mod policy_notices;
mod privacy_page;
mod privacy_promises;
mod providers;
mod quota;
mod rectification;
mod retention;
mod rights;
mod routing;
mod schema;
mod schema_walks;
mod security_headers;
mod sign_up;
mod staff;
mod staff_console;
mod subprocessors;
mod support;
mod ticket_replies;
mod tidy;
mod tls;
mod tokens;
mod trusted_documents;
mod websocket;
