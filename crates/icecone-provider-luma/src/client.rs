//! The HTTP calls and the mapping of Luma's answers to job states and [`ProviderError`]s.

use icecone_core::provider::adapter::{
    JobHandle, JobStatus, MediaUrl, ProviderError, RemoteMedia, VideoRequest,
};
use icecone_provider_http::Answer;
use reqwest::{Method, StatusCode};

use crate::LumaProvider;
use crate::wire;

/// The longest generation id accepted (Luma's ids are UUIDs, 36 characters).
const MAX_ID_LEN: usize = 128;

impl LumaProvider {
    pub(crate) async fn create(&self, request: &VideoRequest) -> Result<JobHandle, ProviderError> {
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
            .base
            .request(Method::POST, "/generations/video")?
            .json(&body);
        let generation: wire::Generation = Answer::of(http_request).await?.json(refine_error)?;
        if !valid_id(&generation.id) {
            return Err(ProviderError::Malformed);
        }
        Ok(JobHandle::new(generation.id))
    }

    pub(crate) async fn status(&self, job: &JobHandle) -> Result<JobStatus, ProviderError> {
        let path = generation_path(job)?;
        let http_request = self.base.request(Method::GET, &path)?;
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
        let path = generation_path(job)?;
        let http_request = self.base.request(Method::DELETE, &path)?;
        Answer::of(http_request).await?.found(refine_error)
    }
}

/// The generation's path; an id Luma could not have given is a job it does not know.
fn generation_path(job: &JobHandle) -> Result<String, ProviderError> {
    if valid_id(job.as_str()) {
        Ok(format!("/generations/{}", job.as_str()))
    } else {
        Err(ProviderError::UnknownJob)
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
