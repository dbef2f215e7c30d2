//! The HTTP calls and the mapping of OpenAI's answers to provider-neutral outputs and
//! [`ProviderError`]s.

use std::time::Duration;

use base64::Engine as _;
use icecone_core::provider::adapter::{
    ImageRequest, ImageSize, InvalidRequest, Output, ProviderError, TextRequest, TokenUsage,
};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::ExposeSecret as _;
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
        let answer: wire::ChatResponse = self.post("/chat/completions", &body).await?;
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

    pub(crate) async fn image(&self, request: &ImageRequest) -> Result<Output, ProviderError> {
        let model = self.config.image_model.as_str();
        let dall_e = model.starts_with("dall-e");
        // The image endpoint's prompt limits: 1,000 characters for DALL·E 2, 4,000 for
        // DALL·E 3, 32,000 for the GPT image models.
        let model_limit = if model.starts_with("dall-e-2") {
            1_000
        } else if dall_e {
            4_000
        } else {
            32_000
        };
        request
            .prompt
            .check_len(model_limit.min(self.config.max_prompt_chars))?;
        let size = match (dall_e, request.size) {
            (_, ImageSize::Square) => "1024x1024",
            (true, ImageSize::Landscape) => "1792x1024",
            (true, ImageSize::Portrait) => "1024x1792",
            (false, ImageSize::Landscape) => "1536x1024",
            (false, ImageSize::Portrait) => "1024x1536",
        };
        let body = wire::ImageRequest {
            model,
            prompt: request.prompt.as_str(),
            n: 1,
            size,
            response_format: dall_e.then_some("b64_json"),
        };
        let answer: wire::ImageResponse = self.post("/images/generations", &body).await?;
        let encoded = answer
            .data
            .into_iter()
            .next()
            .and_then(|image| image.b64_json)
            .ok_or(ProviderError::Malformed)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| ProviderError::Malformed)?;
        let mime_type = sniff_image(&bytes).ok_or(ProviderError::Malformed)?;
        Ok(Output::Media { bytes, mime_type })
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ProviderError> {
        let key = self.api_key().ok_or(ProviderError::Unauthorized)?;
        let response = self
            .http
            .post(format!("{}{path}", self.config.base_url))
            .bearer_auth(key.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|_| ProviderError::Malformed)
        } else {
            Err(error_for(status, &headers, &bytes))
        }
    }
}

/// A failure to exchange the request at all. The `reqwest` error is dropped: its text
/// names the URL, which is not ours to log from here.
fn transport(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout
    } else if error.is_decode() || error.is_body() {
        ProviderError::Malformed
    } else {
        ProviderError::Connect
    }
}

/// Maps an error answer by status and OpenAI's `error.code`/`error.type`; the message is
/// never read, since it may quote the request.
fn error_for(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let detail = serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .map(|body| body.error);
    let code = detail.as_ref().and_then(|d| d.code.as_deref());
    let kind = detail.as_ref().and_then(|d| d.kind.as_deref());
    let refused_content = matches!(
        code,
        Some("content_policy_violation" | "moderation_blocked")
    );
    match status.as_u16() {
        401 | 403 => ProviderError::Unauthorized,
        429 if code == Some("insufficient_quota") || kind == Some("insufficient_quota") => {
            ProviderError::QuotaExhausted
        }
        429 => ProviderError::RateLimited {
            retry_after: retry_after(headers),
        },
        408 => ProviderError::Timeout,
        400..=499 if refused_content => ProviderError::ContentPolicy,
        status @ 400..=499 => InvalidRequest::Rejected { status }.into(),
        status @ 500..=599 => ProviderError::Unavailable { status },
        _ => ProviderError::Malformed,
    }
}

/// `Retry-After` in seconds (RFC 9110 §10.2.3; the HTTP-date form is not used by OpenAI).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// The media type of an image by its magic bytes: PNG, JPEG or WebP, as OpenAI answers.
fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}
