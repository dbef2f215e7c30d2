//! Authentication: accounts ([`accounts`]), access tokens ([`tokens`]) and who is asking
//! ([`viewer`]). Sign-up, log-in, sessions and MFA operations build on these.

pub mod attempts;
pub mod login;
pub mod mfa;
pub mod profile;
pub mod recent_auth;
pub mod sign_up;
pub mod staff;
pub mod viewer;
