//! The documentation of a setting, as pure data: the gateway's own settings and each
//! provider adapter's declare theirs with it, and `--help`, the README's table and the
//! configuration's tests are made from those declarations.

/// One documented setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDoc {
    /// The key, within the section that holds it (`listen`; `api_key` in a provider's
    /// section).
    pub key: &'static str,
    /// The default, as it would be written in `icecone.toml`; `None` when unset by default.
    pub default: Option<&'static str>,
    /// What the setting does.
    pub help: &'static str,
}

/// The environment variable of `key` in the section of provider `provider`:
/// `ICECONE_<PROVIDER>_<KEY>` (`ICECONE_OPENAI_TEXT_MODEL`).
pub fn provider_variable(provider: &str, key: &str) -> String {
    format!("ICECONE_{provider}_{key}").to_ascii_uppercase()
}
