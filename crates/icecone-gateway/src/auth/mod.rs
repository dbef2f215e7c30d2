//! Authentication: access tokens ([`tokens`]). Accounts, sessions and MFA build on it.

pub mod tokens;
