//! What a use case acting for a caller needs: the store, the vault, the token signer, the
//! caller's client address (for per-address limits) and the request id (for the audit
//! trail). The gateway builds one per operation.

use icecone_store::Store;

use crate::keys::vault::Vault;
use crate::tokens::TokenSigner;

/// What a use case acting for a caller needs.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The database.
    pub store: &'a Store,
    /// The vault.
    pub vault: &'a Vault,
    /// The token signer.
    pub tokens: &'a TokenSigner,
    /// What per-address limits count the client by (`http::ClientAddress`): every door
    /// has one, so no limit is ever skipped for want of it.
    pub client_address: &'a str,
    /// The request id, for the audit trail.
    pub request_id: Option<&'a str>,
}
