//! Billing decisions, without IO: whether a Stripe webhook request is authentic
//! ([`webhook::verify`]) and which plan a subscription's observed state gives an account,
//! with events that arrive late or twice never undoing a newer state ([`subscription`]).

pub mod subscription;
pub mod webhook;
