//! What the end-to-end tests share: the gateway in process ([`app`]), the binary
//! ([`binary`]) and TOTP codes ([`totp`]).

pub(crate) mod app;
pub(crate) mod binary;
pub(crate) mod totp;
