//! The HTTP calls and the mapping of Luma's answers to job states and [`ProviderError`]s.

use icecone_core::provider::adapter::{
    JobHandle, JobStatus, MediaUrl, ProviderError, RemoteMedia, VideoRequest,
};
use icecone_provider_http::{Answer, error_for_status};
use reqwest::StatusCode;
use secrecy::ExposeSecret as _;

use crate::LumaProvider;
use crate::wire;

/// The longest generation id accepted (Luma's ids are UUIDs, 36 characters).
const MAX_ID_LEN: usize = 128;

impl LumaProvider {
    pub(crate) async fn create(&self, request: &VideoRequest) -> Result<JobHandle, ProviderError> {
        let key = self.api_key.require()?;
        let body = wire::GenerationRequest {
            prompt: request.prompt.as_str(),
            model: &self.config.model,
            aspect_ratio: &self.config.aspect_ratio,
            duration: if request.duration_seconds <= 5 {
                "5s"
            } else {
                "9s"
            },
            keyframes: request.image.as_ref().map(|image| wire::Keyframes {
                frame0: wire::ImageKeyframe {
                    kind: "image",
                    url: image.as_str(),
                },
            }),
        };
        let http_request = self
            .http
            .post(format!("{}/generations", self.config.base_url))
            .bearer_auth(key.expose_secret())
            .json(&body);
        let generation: wire::Generation = Answer::of(http_request).await?.json(refine_error)?;
        if !valid_id(&generation.id) {
            return Err(ProviderError::Malformed);
        }
        Ok(JobHandle::new(generation.id))
    }

    pub(crate) async fn status(&self, job: &JobHandle) -> Result<JobStatus, ProviderError> {
        let url = self.generation_url(job)?;
        let key = self.api_key.require()?;
        let http_request = self.http.get(url).bearer_auth(key.expose_secret());
        let generation: wire::Generation =
            Answer::of(http_request)
                .await?
                .json(|status, body| match status.as_u16() {
                    404 => Some(ProviderError::UnknownJob),
                    _ => refine_error(status, body),
                })?;
        match generation.state.as_str() {
            "queued" | "dreaming" => Ok(JobStatus::Running),
            "completed" => {
                let video = generation
                    .assets
                    .and_then(|assets| assets.video)
                    .ok_or(ProviderError::Malformed)?;
                let url = MediaUrl::parse(&video).map_err(|_| ProviderError::Malformed)?;
                Ok(JobStatus::Ready(RemoteMedia {
                    url,
                    mime_type: "video/mp4",
                }))
            }
            // `failure_reason` is not kept: it may quote the prompt.
            "failed" => Err(ProviderError::JobFailed),
            _ => Err(ProviderError::Malformed),
        }
    }

    /// `DELETE /generations/{id}`: `Ok(true)` when deleted, `Ok(false)` when Luma no longer
    /// knows it (404).
    pub(crate) async fn delete(&self, job: &JobHandle) -> Result<bool, ProviderError> {
        let url = self.generation_url(job)?;
        let key = self.api_key.require()?;
        let http_request = self.http.delete(url).bearer_auth(key.expose_secret());
        let answer = Answer::of(http_request).await?;
        match answer.status.as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(refine_error(answer.status, &answer.body)
                .unwrap_or_else(|| error_for_status(answer.status, &answer.headers))),
        }
    }

    /// The generation's URL; an id Luma could not have given is a job it does not know.
    fn generation_url(&self, job: &JobHandle) -> Result<String, ProviderError> {
        if valid_id(job.as_str()) {
            Ok(format!(
                "{}/generations/{}",
                self.config.base_url,
                job.as_str()
            ))
        } else {
            Err(ProviderError::UnknownJob)
        }
    }
}

/// A generation id as Luma gives them (a UUID): letters, digits and `-`, nothing that could
/// change the request's path.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Refines an error answer: a spent credit balance (402) and a moderation refusal (a 400
/// or 422 whose `detail` names moderation: Luma has no error code for it). The detail is
/// only searched for that word, never kept: it may quote the prompt.
fn refine_error(status: StatusCode, body: &[u8]) -> Option<ProviderError> {
    let names_moderation = || {
        serde_json::from_slice::<wire::ErrorBody>(body)
            .ok()
            .and_then(|body| body.detail)
            .and_then(|detail| detail.as_str().map(str::to_ascii_lowercase))
            .is_some_and(|detail| detail.contains("moderation"))
    };
    match status.as_u16() {
        402 => Some(ProviderError::QuotaExhausted),
        400 | 422 if names_moderation() => Some(ProviderError::ContentPolicy),
        _ => None,
    }
}
