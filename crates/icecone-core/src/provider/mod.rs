//! AI providers as the rest of IceCone sees them.
//!
//! - [`policy`]: a provider's declared data-handling policy (every claim with its source and
//!   date) and the effective policy made of it and this deployment's agreements.
//! - [`agreement`]: this deployment's agreements with providers, as typed clauses.
//! - [`adapter`]: the provider-neutral requests and outputs, the typed [`adapter::ProviderError`]
//!   and the dyn-compatible [`adapter::ProviderAdapter`] trait every adapter crate implements.
//! - [`routing`]: the router's decisions as pure functions — eligibility under the
//!   deployment's promises, retry backoff with jitter, and the circuit breaker.
//! - [`outbound`]: where the gateway may connect for a URL a provider's answer gave it —
//!   the address classes refused against server-side request forgery.

use std::fmt;

pub mod adapter;
pub mod agreement;
pub mod credential;
pub mod outbound;
pub mod policy;
pub mod routing;

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

impl Capability {
    /// The capability in lower-case words, for messages and documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::VideoEdit => "video edit",
            Self::AvatarVideo => "avatar video",
        }
    }
}

/// A family of models: the same models reached by different routes share one (Stability's
/// image models through Stability's own API or through a cloud platform, say). The router
/// uses it to prefer, among the routes to one family, the one whose terms keep more of the
/// promises; `providers` publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelFamily(&'static str);

impl ModelFamily {
    /// IceCone's built-in offline generator.
    pub const LOCAL: Self = Self("local");
    /// OpenAI's GPT text models.
    pub const OPENAI_GPT: Self = Self("openai-gpt");
    /// OpenAI's image models.
    pub const OPENAI_IMAGE: Self = Self("openai-image");
    /// Stability AI's image models (Stable Image, Stable Diffusion).
    pub const STABILITY: Self = Self("stability");
    /// Luma's video models (Dream Machine, Ray).
    pub const LUMA: Self = Self("luma");
    /// Runway's video models (Gen).
    pub const RUNWAY: Self = Self("runway");
    /// HeyGen's avatar video models.
    pub const HEYGEN: Self = Self("heygen");
    /// Amazon's Nova models.
    pub const AMAZON_NOVA: Self = Self("amazon-nova");

    /// The family's stable name, as `providers` publishes it.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for ModelFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A model a provider runs for one kind of content in this deployment: the route's model
/// parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRoute {
    /// The kind of content.
    pub capability: Capability,
    /// The provider's id of the model, as configured.
    pub model: String,
    /// The family the model belongs to.
    pub family: ModelFamily,
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
