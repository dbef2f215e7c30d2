//! The HTTP calls and the mapping of HeyGen's answers to provider-neutral job states and
//! [`ProviderError`]s.

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    InvalidRequest, JobHandle, JobStatus, MediaUrl, ProviderError, RemoteMedia, VideoRequest,
};
use icecone_provider_http::Answer;
use reqwest::{Method, StatusCode};
use serde::Serialize;

use crate::HeyGenProvider;
use crate::wire;

/// A HeyGen video id is a hex string; anything else is not sent as a path segment.
fn video_path(job: &JobHandle) -> Result<String, ProviderError> {
    let id = job.as_str();
    let plain = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain {
        Ok(format!("/v3/videos/{id}"))
    } else {
        Err(ProviderError::UnknownJob)
    }
}

/// Whether an error or failure code is a moderation decision: v3's string codes that name
/// moderation, blocked words or the content policy, and the legacy `400105`
/// (`BLOCKED_WORDS_DETECTED`).
fn is_moderation(code: &str) -> bool {
    let code = code.to_ascii_lowercase();
    code == "400105"
        || ["moderation", "blocked_words", "content_policy"]
            .iter()
            .any(|word| code.contains(word))
}

impl HeyGenProvider {
    pub(crate) async fn video(&self, request: &VideoRequest) -> Result<JobHandle, ProviderError> {
        // HeyGen animates its own avatars; a person's image is not taken (and not sent).
        if request.image.is_some() {
            return Err(InvalidRequest::Unsupported(Capability::Video).into());
        }
        let avatar_id = self
            .config
            .avatar_id
            .as_deref()
            .ok_or(InvalidRequest::Unsupported(Capability::AvatarVideo))?;
        let body = wire::CreateVideoFromAvatar {
            kind: "avatar",
            avatar_id,
            script: request.prompt.as_str(),
            voice_id: self.config.voice_id.as_deref(),
            resolution: &self.config.resolution,
            aspect_ratio: &self.config.aspect_ratio,
        };
        let created: wire::VideoCreated = self
            .send(Method::POST, "/v3/videos", Some(&body))
            .await?
            .json(refine_error)?;
        if created.data.video_id.is_empty() {
            return Err(ProviderError::Malformed);
        }
        Ok(JobHandle::new(created.data.video_id))
    }

    pub(crate) async fn status(&self, job: &JobHandle) -> Result<JobStatus, ProviderError> {
        let path = video_path(job)?;
        let detail: wire::VideoDetail =
            self.send::<()>(Method::GET, &path, None)
                .await?
                .json(|status, body| {
                    if status == StatusCode::NOT_FOUND {
                        Some(ProviderError::UnknownJob)
                    } else {
                        refine_error(status, body)
                    }
                })?;
        let data = detail.data;
        match data.status.as_str() {
            "pending" | "waiting" | "processing" => Ok(JobStatus::Running),
            "completed" => {
                let url = data.video_url.ok_or(ProviderError::Malformed)?;
                let url = MediaUrl::parse(&url).map_err(|_| ProviderError::Malformed)?;
                Ok(JobStatus::Ready(RemoteMedia {
                    url,
                    mime_type: "video/mp4",
                }))
            }
            "failed" if data.failure_code.as_deref().is_some_and(is_moderation) => {
                Err(ProviderError::ContentPolicy)
            }
            "failed" => Err(ProviderError::JobFailed),
            _ => Err(ProviderError::Malformed),
        }
    }

    /// `DELETE /v3/videos/{video_id}`. `Ok(false)` when HeyGen does not know the video.
    pub(crate) async fn delete_video(&self, job: &JobHandle) -> Result<bool, ProviderError> {
        let path = video_path(job)?;
        self.send::<()>(Method::DELETE, &path, None)
            .await?
            .found(refine_error)
    }

    /// Sends a request with the key (in `X-Api-Key`), and reads the answer.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Answer, ProviderError> {
        let mut request = self.base.request(method, path)?;
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::of(request).await
    }
}

/// Refines an error answer by its status and HeyGen's code (never its message, which may
/// quote the script): 402 or a spent credit or quota, and moderation refusals.
fn refine_error(status: StatusCode, body: &[u8]) -> Option<ProviderError> {
    let code = serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .and_then(|body| body.error.and_then(|error| error.code).or(body.code))
        .map(wire::Code::into_text)
        .unwrap_or_default();
    let lower = code.to_ascii_lowercase();
    let spent = lower.contains("insufficient_credit") || lower.contains("quota");
    match status.as_u16() {
        402 => Some(ProviderError::QuotaExhausted),
        401 | 403 | 408 => None,
        429 if spent => Some(ProviderError::QuotaExhausted),
        400..=499 if is_moderation(&code) => Some(ProviderError::ContentPolicy),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_refine_quota_and_moderation_only() {
        // (status, body, expected)
        let cases = [
            (
                402,
                r#"{"error":{"code":"insufficient_credit","message":"x"}}"#,
                Some(ProviderError::QuotaExhausted),
            ),
            (
                429,
                r#"{"error":{"code":"quota_exceeded","message":"x"}}"#,
                Some(ProviderError::QuotaExhausted),
            ),
            (
                429,
                r#"{"error":{"code":"rate_limit_exceeded","message":"x"}}"#,
                None,
            ),
            (
                400,
                r#"{"code":400105,"message":"Blocked words detected"}"#,
                Some(ProviderError::ContentPolicy),
            ),
            (
                400,
                r#"{"error":{"code":"content_moderation_failed","message":"x"}}"#,
                Some(ProviderError::ContentPolicy),
            ),
            (
                400,
                r#"{"error":{"code":"invalid_parameter","param":"avatar_id"}}"#,
                None,
            ),
            (401, r#"{"error":{"code":"unauthorized"}}"#, None),
            (500, "<html>", None),
        ];
        for (status, body, expected) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            assert_eq!(
                refine_error(status, body.as_bytes()),
                expected,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn only_plain_video_ids_become_paths() {
        assert_eq!(
            video_path(&JobHandle::new("4c1b2e9a0f5d4c7e")).as_deref(),
            Ok("/v3/videos/4c1b2e9a0f5d4c7e")
        );
        for bad in ["", "../user", "a/b", "a?b", "a b"] {
            assert_eq!(
                video_path(&JobHandle::new(bad)),
                Err(ProviderError::UnknownJob),
                "{bad}"
            );
        }
    }
}
