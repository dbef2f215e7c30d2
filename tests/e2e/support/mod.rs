//! What the end-to-end tests share.

pub(crate) mod app;
