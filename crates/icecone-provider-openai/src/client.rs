//! The HTTP calls and the mapping of OpenAI's answers to provider-neutral outputs and
//! [`ProviderError`]s.

use base64::Engine as _;
use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    ImageRequest, ImageSize, Output, ProviderError, TextRequest, TokenUsage,
};
use icecone_provider_http::{Answer, sniff_media};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::OpenAiProvider;
use crate::wire;

impl OpenAiProvider {
    pub(crate) async fn chat(&self, request: &TextRequest) -> Result<Output, ProviderError> {
        let body = wire::ChatRequest {
            model: &self.config.text_model,
            messages: [wire::ChatMessage {
                role: "user",
                content: request.prompt.as_str(),
            }],
            store: false,
            max_completion_tokens: request.max_tokens,
        };
        let answer: wire::ChatResponse = self
            .post("/chat/completions", &body, Capability::Text)
            .await?;
        let choice = answer
            .choices
            .into_iter()
            .next()
            .ok_or(ProviderError::Malformed)?;
        if choice.finish_reason.as_deref() == Some("content_filter")
            || choice.message.refusal.is_some_and(|r| !r.is_empty())
        {
            return Err(ProviderError::ContentPolicy);
        }
        let text = choice.message.content.ok_or(ProviderError::Malformed)?;
        Ok(Output::Text {
            text,
            usage: TokenUsage {
                prompt_tokens: answer.usage.prompt_tokens,
                completion_tokens: answer.usage.completion_tokens,
            },
        })
    }

    /// The GPT image models take prompts up to 32,000 characters, which no `Prompt`
    /// exceeds (`Prompt::MAX_CHARS`): `submit`'s check of the configured limit is the only one.
    pub(crate) async fn image(&self, request: &ImageRequest) -> Result<Output, ProviderError> {
        // The three sizes every GPT image model takes.
        let size = match request.size {
            ImageSize::Square => "1024x1024",
            ImageSize::Landscape => "1536x1024",
            ImageSize::Portrait => "1024x1536",
        };
        let body = wire::ImageRequest {
            model: &self.config.image_model,
            prompt: request.prompt.as_str(),
            n: 1,
            size,
        };
        let answer: wire::ImageResponse = self
            .post("/images/generations", &body, Capability::Image)
            .await?;
        let encoded = answer
            .data
            .into_iter()
            .next()
            .and_then(|image| image.b64_json)
            .ok_or(ProviderError::Malformed)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| ProviderError::Malformed)?;
        let mime_type = sniff_media(&bytes)
            .filter(|mime| mime.starts_with("image/"))
            .ok_or(ProviderError::Malformed)?;
        Ok(Output::Media { bytes, mime_type })
    }

    /// Sends `body` to `path`, which generates `kind` with the configured model.
    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        kind: Capability,
    ) -> Result<R, ProviderError> {
        let request = self.base.request(Method::POST, path)?.json(body);
        Answer::of(request)
            .await?
            .json(|status, body| refine_error(status, body, kind))
    }
}

/// The model setting of each kind, named in [`ProviderError::ModelUnavailable`].
fn model_setting(kind: Capability) -> &'static str {
    match kind {
        Capability::Image => "image_model",
        _ => "text_model",
    }
}

/// Refines an error answer by OpenAI's `error.code`/`error.type`: a spent quota, a
/// content-policy refusal and a model that does not exist or is not open to the account
/// (`model_not_found`, which OpenAI answers with 404 for a retired model); the message is
/// never read, since it may quote the request.
fn refine_error(status: StatusCode, body: &[u8], kind: Capability) -> Option<ProviderError> {
    let detail = serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .map(|body| body.error);
    let code = detail.as_ref().and_then(|d| d.code.as_deref());
    let error_type = detail.as_ref().and_then(|d| d.kind.as_deref());
    let refused_content = matches!(
        code,
        Some("content_policy_violation" | "moderation_blocked")
    );
    match status.as_u16() {
        429 if code == Some("insufficient_quota") || error_type == Some("insufficient_quota") => {
            Some(ProviderError::QuotaExhausted)
        }
        401 | 403 | 408 | 429 => None,
        400..=499 if code == Some("model_not_found") => Some(ProviderError::ModelUnavailable {
            kind,
            setting: model_setting(kind),
        }),
        400..=499 if refused_content => Some(ProviderError::ContentPolicy),
        _ => None,
    }
}
