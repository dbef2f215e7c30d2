//! What the end-to-end tests share: the gateway in process ([`app`]), the binary
//! ([`binary`]), headless Chromium ([`browser`]), the schema reader of the walks ([`schema_walk`]) and TOTP codes ([`totp`]).

pub(crate) mod app;
pub(crate) mod binary;
pub(crate) mod browser;
pub(crate) mod schema_walk;
pub(crate) mod smtp;
pub(crate) mod totp;
