//! What the end-to-end tests share: the gateway in process ([`app`]), the binary
//! ([`binary`]), the schema walker ([`schema_walk`]) and TOTP codes ([`totp`]).

pub(crate) mod app;
pub(crate) mod totp;
