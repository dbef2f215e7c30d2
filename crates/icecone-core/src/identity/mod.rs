//! Identity: the pure rules behind accounts, sign-in, second factors and staff access.
//!
//! Everything here is a parser or a decision without IO; the gateway stores what these
//! types produce and asks these functions what to do.
//!
//! - [`email`]: [`email::Email`], an e-mail address parsed into its one canonical form.
//! - [`password`]: [`password::Password`], a candidate password that meets the length rules
//!   and is not on the bundled list of common passwords.
//! - [`password_hash`]: Argon2id hashes of passwords, and a verification of the same cost
//!   for unknown accounts.
//! - [`policy`]: the privacy policy version a person must accept at sign-up.
//! - [`recent_auth`]: whether a session authenticated recently enough for a sensitive
//!   change of its own account.
//! - [`roles`]: staff roles and the role rules staff fields declare.
//! - [`staff_access`]: whether a staff field may run for a caller, and staff reasons.
//! - [`throttle`]: how long a person (or a client address) must wait after failed attempts.
//! - [`totp`]: time-based one-time passwords (RFC 6238), each code accepted once only.
//! - [`recovery`]: single-use recovery codes and the keyed digest they are stored as.

pub mod email;
pub mod password;
pub mod password_hash;
pub mod policy;
pub mod recent_auth;
pub mod recovery;
pub mod roles;
pub mod staff_access;
pub mod throttle;
pub mod totp;
