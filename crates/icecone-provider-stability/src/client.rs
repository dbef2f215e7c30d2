//! The HTTP call and the mapping of Stability AI's answers to provider-neutral outputs and
//! [`ProviderError`]s.

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{ImageRequest, ImageSize, Output, ProviderError};
use icecone_provider_http::{Answer, sniff_media};
use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};

use crate::wire;
use crate::{MAX_PROMPT_CHARS, StabilityProvider};

/// The answer header that says why a generation finished; `CONTENT_FILTERED` means the
/// image was generated but its content was filtered (blurred) under Stability's policy.
const FINISH_REASON: &str = "finish-reason";

impl StabilityProvider {
    pub(crate) async fn image(&self, request: &ImageRequest) -> Result<Output, ProviderError> {
        request
            .prompt
            .check_len(MAX_PROMPT_CHARS.min(self.config.max_prompt_chars))?;
        let form = wire::GenerateForm {
            prompt: request.prompt.as_str(),
            aspect_ratio: match request.size {
                ImageSize::Square => "1:1",
                ImageSize::Landscape => "16:9",
                ImageSize::Portrait => "9:16",
            },
            output_format: "png",
        };
        let path = format!(
            "/v2beta/stable-image/generate/{}",
            self.config.model.as_str()
        );
        let http_request = self
            .base
            .request(Method::POST, &path)?
            // The image's bytes, not base64 in JSON.
            .header(ACCEPT, "image/*")
            .multipart(form.into_form());
        let answer = Answer::of(http_request).await?;
        if !answer.status.is_success() {
            return Err(answer.error(refine_error));
        }
        let filtered = answer
            .headers
            .get(FINISH_REASON)
            .is_some_and(|reason| reason.as_bytes().eq_ignore_ascii_case(b"CONTENT_FILTERED"));
        if filtered {
            return Err(ProviderError::ContentPolicy);
        }
        let mime_type = sniff_media(&answer.body)
            .filter(|mime| mime.starts_with("image/"))
            .ok_or(ProviderError::Malformed)?;
        Ok(Output::Media {
            bytes: answer.body,
            mime_type,
        })
    }
}

/// Refines an error answer by Stability's `name`: a content-moderation refusal (403), a
/// spent credit balance (402), and a 404 — the model's endpoint is not there (the path
/// names the model, and Stability documents no other answer for a withdrawn one). The
/// `errors` messages are never read: they may quote the request.
fn refine_error(status: StatusCode, body: &[u8]) -> Option<ProviderError> {
    let name = serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .and_then(|body| body.name);
    match status.as_u16() {
        402 => Some(ProviderError::QuotaExhausted),
        404 => Some(ProviderError::ModelUnavailable {
            kind: Capability::Image,
            setting: "image_model",
        }),
        400..=499 if name.as_deref() == Some("content_moderation") => {
            Some(ProviderError::ContentPolicy)
        }
        _ => None,
    }
}
