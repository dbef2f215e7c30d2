//! Conversions between the domain's unsigned numbers, fixed-size digests and provider ids
//! and what the databases store (signed integers, byte strings, text). A stored value that does not fit is a
//! [`StoreError::OutOfRange`], never a silent truncation.

use icecone_core::provider::ProviderId;

use crate::StoreError;

/// A domain `u64` as the `BIGINT` it is stored as.
pub(crate) fn u64_to_db(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// A stored `BIGINT` as the domain's `u64`.
pub(crate) fn u64_from_db(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// A domain `u32` as the `INTEGER` it is stored as.
pub(crate) fn u32_to_db(value: u32, what: &'static str) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// A stored `INTEGER` counter as the domain's `u32`.
pub(crate) fn u32_from_db(value: i32, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// A stored 32-byte value (a digest, a blind index, a MAC, a public key).
pub(crate) fn bytes32_from_db(value: Vec<u8>, what: &'static str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// A stored provider id, parsed once as the row is read.
pub(crate) fn provider_from_db(value: &str) -> Result<ProviderId, StoreError> {
    ProviderId::parse(value).map_err(|_| StoreError::OutOfRange("provider id"))
}
