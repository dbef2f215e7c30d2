//! IceCone's application: what the service does, apart from how it is reached. The use
//! cases — accounts and sessions ([`auth`]), consent ([`consent`]), generation
//! ([`generation`]) through the provider router ([`providers`]), data subject rights
//! ([`rights`], [`erasure`]), partners ([`partners`]) — and the background work that
//! carries them out ([`jobs`], [`notify`], [`periodic`], [`policy_notice`], [`retention`]), over the store, the key vault
//! ([`keys`]) and the audit trail ([`audit`]).
//!
//! It depends on no web framework: the gateway (`icecone-gateway`) parses requests, calls
//! one function here and maps the answer. Its settings are the typed structs of
//! [`settings`], which the gateway's configuration fills in.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod campaigns;
pub mod consent;
pub mod context;
pub mod disclosures;
pub mod erasure;
pub mod generation;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod notify;
pub mod owner_only;
pub mod partners;
pub mod periodic;
pub mod policy_notice;
pub mod providers;
pub mod retention;
pub mod rights;
pub mod settings;
pub mod subprocessors;
pub mod tokens;
pub mod transparency;

/// An error and its causes on one line, for logs (never for a client).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Creates a directory (and its parents) that only the owner can enter, as the data
/// directory holds the database and the development key. An existing directory is left as
/// the operator made it.
pub fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_chain_lists_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let text = super::error_chain(&Outer(std::io::Error::other("inner")));
        assert_eq!(text, "outer: inner");
    }
}
