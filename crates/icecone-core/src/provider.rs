//! AI providers as the rest of IceCone sees them: an id, a name and a typed
//! data-handling policy, behind the dyn-compatible [`ProviderAdapter`] trait.

use std::fmt;

use chrono::NaiveDate;

/// The stable identifier of a provider adapter, such as `local` or `openai`.
///
/// Lower-case ASCII letters, digits and `-`, 1 to 32 characters, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderId(String);

/// Why a text is not a [`ProviderId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a provider id is 1 to 32 lower-case letters, digits or '-', starting with a letter")]
pub struct InvalidProviderId;

impl ProviderId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 32;

    /// Parses a provider id.
    pub fn parse(text: &str) -> Result<Self, InvalidProviderId> {
        let mut chars = text.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if starts_with_letter && rest_ok && text.len() <= Self::MAX_LEN {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidProviderId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A kind of content a provider can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Text generation.
    Text,
    /// Image generation.
    Image,
    /// Video generation from a prompt or an image.
    Video,
    /// Editing of an existing video.
    VideoEdit,
    /// Talking-avatar video.
    AvatarVideo,
}

/// Whether a provider uses the data we send it to train its models.
///
/// Three-valued on purpose: [`TrainingUse::Unknown`] never satisfies a promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrainingUse {
    /// The provider's terms say our data is used for training.
    Yes,
    /// The provider's terms say our data is not used for training.
    No,
    /// We could not establish it from the provider's terms.
    Unknown,
}

/// How long a provider keeps the data we send it and the outputs it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Nothing is kept once the request has been answered.
    None,
    /// Kept for at most `max_days` days, under the stated condition.
    Days {
        /// The longest the provider may keep the data.
        max_days: u32,
        /// When and why the data is kept (for example abuse monitoring).
        condition: &'static str,
    },
    /// We could not establish it from the provider's terms.
    Unknown,
}

/// A provider's data-handling policy, each claim backed by a source and a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPolicy {
    /// What the provider can generate.
    pub capabilities: &'static [Capability],
    /// Whether our data is used for training.
    pub training_use: TrainingUse,
    /// How long our data is kept.
    pub retention: Retention,
    /// Whether zero data retention is in force for our requests.
    pub zero_data_retention: bool,
    /// Where the processing happens, when the provider says.
    pub region: Option<&'static str>,
    /// Where the claims above come from: the provider's terms, or for adapters that run in
    /// process, the document in this repository that explains them.
    pub source_url: &'static str,
    /// When the claims were last checked against the source.
    pub verified_on: NaiveDate,
}

/// An AI provider as the gateway uses it.
///
/// Dyn-compatible: the gateway holds adapters as `Arc<dyn ProviderAdapter>`.
pub trait ProviderAdapter: fmt::Debug + Send + Sync {
    /// The adapter's stable id.
    fn id(&self) -> &ProviderId;
    /// A human-readable name.
    fn name(&self) -> &str;
    /// The provider's declared data-handling policy.
    fn policy(&self) -> &ProviderPolicy;
    /// Whether the adapter can take requests now (for example, whether it has an API key).
    fn is_available(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, accepted: bool) {
        assert_eq!(
            ProviderId::parse(input).is_ok(),
            accepted,
            "input: {input:?}"
        );
    }

    #[test]
    fn provider_ids_are_short_lower_case_names() {
        check("local", true);
        check("openai", true);
        check("stability-ai", true);
        check("a", true);
        check("v2", true);
        check(&"a".repeat(32), true);
        check(&"a".repeat(33), false);
        check("", false);
        check("OpenAI", false);
        check("2fast", false);
        check("-local", false);
        check("lo cal", false);
        check("lo_cal", false);
        check("lócal", false);
    }

    #[test]
    fn a_provider_id_displays_as_it_was_parsed() {
        let id = ProviderId::parse("local").expect("valid id");
        assert_eq!(id.to_string(), "local");
        assert_eq!(id.as_str(), "local");
    }
}
