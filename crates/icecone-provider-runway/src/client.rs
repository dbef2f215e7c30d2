//! The HTTP calls and the mapping of Runway's answers to provider-neutral job states and
//! [`ProviderError`]s.

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    InvalidRequest, JobHandle, JobStatus, MediaUrl, ProviderError, RemoteDeletion, RemoteMedia,
    VideoRequest,
};
use icecone_provider_http::Answer;
use reqwest::{Method, StatusCode};
use serde::Serialize;

use crate::wire;
use crate::{API_VERSION, RunwayProvider};

/// Runway's limit on `promptText`: 1,000 UTF-16 code units.
const PROMPT_TEXT_UTF16: usize = 1_000;

/// What a model accepts on one path, per Runway's Node SDK (`runwayml/sdk-node` 4.12.0,
/// `src/resources/{image,text}-to-video.ts`): its durations (seconds) and output ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Accepts {
    durations: &'static [u32],
    ratios: &'static [&'static str],
}

/// What `model` accepts for text-to-video (`text_only`) or image-to-video; `None` for a
/// model this adapter does not know on that path.
fn accepts(model: &str, text_only: bool) -> Option<Accepts> {
    const TWO_TO_TEN: &[u32] = &[2, 3, 4, 5, 6, 7, 8, 9, 10];
    const LANDSCAPE_OR_PORTRAIT: &[&str] = &["1280:720", "720:1280"];
    const GEN4: &[&str] = &[
        "1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672",
    ];
    const VEO: &[&str] = &["1280:720", "720:1280", "1080:1920", "1920:1080"];
    let (durations, ratios): (&[u32], &[&str]) = match model {
        "gen4.5" if text_only => (TWO_TO_TEN, LANDSCAPE_OR_PORTRAIT),
        "gen4.5" => (TWO_TO_TEN, GEN4),
        "veo3.1" | "veo3.1_fast" => (&[4, 6, 8], VEO),
        "veo3" => (&[8], VEO),
        "gen4_turbo" if !text_only => (&[5, 10], GEN4),
        _ => return None,
    };
    Some(Accepts { durations, ratios })
}

/// Whether the adapter knows `model` for text-to-video (`text_only`) or image-to-video.
pub(crate) fn knows(model: &str, text_only: bool) -> bool {
    accepts(model, text_only).is_some()
}

/// The allowed duration nearest to `requested`; the shorter one on a tie.
fn nearest(allowed: &[u32], requested: u32) -> Option<u32> {
    allowed
        .iter()
        .copied()
        .min_by_key(|duration| duration.abs_diff(requested))
}

/// The ratio to send for the configured one: itself when the model takes it, otherwise the
/// model's ratio of the same proportions (`1920:1080` becomes `1280:720` for a model that
/// takes only that landscape ratio); `None` when the model has no ratio of that shape.
fn ratio_for(configured: &str, accepted: &[&'static str]) -> Option<&'static str> {
    if let Some(exact) = accepted.iter().find(|ratio| **ratio == configured) {
        return Some(exact);
    }
    let (width, height) = proportions(configured)?;
    accepted
        .iter()
        .copied()
        .find(|ratio| proportions(ratio).is_some_and(|(w, h)| width * h == w * height))
}

/// `W:H` as two positive numbers.
fn proportions(ratio: &str) -> Option<(u64, u64)> {
    let (width, height) = ratio.split_once(':')?;
    let width: u64 = width.parse().ok()?;
    let height: u64 = height.parse().ok()?;
    (width > 0 && height > 0).then_some((width, height))
}

/// A Runway task id is a UUID; anything else is not sent as a path segment.
fn task_path(job: &JobHandle) -> Result<String, ProviderError> {
    let id = job.as_str();
    let plain = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plain {
        Ok(format!("/tasks/{id}"))
    } else {
        Err(ProviderError::UnknownJob)
    }
}

impl RunwayProvider {
    pub(crate) async fn video(&self, request: &VideoRequest) -> Result<JobHandle, ProviderError> {
        let prompt = request.prompt.as_str();
        if prompt.encode_utf16().count() > PROMPT_TEXT_UTF16 {
            return Err(InvalidRequest::PromptTooLong {
                max_chars: PROMPT_TEXT_UTF16,
            }
            .into());
        }
        // Refused before any request when the model has no path for this request (no
        // text-to-video model configured, or one with no text-only path at Runway), or no
        // ratio of the configured shape.
        let unsupported = || ProviderError::from(InvalidRequest::Unsupported(Capability::Video));
        let choose = |model: &str, text_only: bool| {
            let accepted = accepts(model, text_only).ok_or_else(unsupported)?;
            let duration =
                nearest(accepted.durations, request.duration_seconds).ok_or_else(unsupported)?;
            let ratio = ratio_for(&self.config.ratio, accepted.ratios).ok_or_else(unsupported)?;
            Ok::<_, ProviderError>((duration, ratio))
        };
        let created: wire::TaskCreated = match &request.image {
            Some(image) => {
                let model = self.config.image_model.as_str();
                let (duration, ratio) = choose(model, false)?;
                let body = wire::ImageToVideo {
                    model,
                    prompt_image: image.as_str(),
                    prompt_text: prompt,
                    ratio,
                    duration,
                };
                self.send(Method::POST, "/image_to_video", Some(&body))
                    .await?
                    .json(|_, _| None)?
            }
            None => {
                let model = self.config.text_model.as_deref().ok_or_else(unsupported)?;
                let (duration, ratio) = choose(model, true)?;
                let body = wire::TextToVideo {
                    model,
                    prompt_text: prompt,
                    ratio,
                    duration,
                };
                self.send(Method::POST, "/text_to_video", Some(&body))
                    .await?
                    .json(|_, _| None)?
            }
        };
        if created.id.is_empty() {
            return Err(ProviderError::Malformed);
        }
        Ok(JobHandle::new(created.id))
    }

    pub(crate) async fn task(&self, job: &JobHandle) -> Result<JobStatus, ProviderError> {
        let path = task_path(job)?;
        let task: wire::Task = self
            .send::<()>(Method::GET, &path, None)
            .await?
            .json(unknown_job)?;
        match task.status.as_str() {
            "PENDING" | "RUNNING" | "THROTTLED" => Ok(JobStatus::Running),
            "SUCCEEDED" => {
                let url = task
                    .output
                    .and_then(|outputs| outputs.into_iter().next())
                    .ok_or(ProviderError::Malformed)?;
                let url = MediaUrl::parse(&url).map_err(|_| ProviderError::Malformed)?;
                Ok(JobStatus::Ready(RemoteMedia {
                    url,
                    mime_type: "video/mp4",
                }))
            }
            // A moderation failure is a content decision, not the provider failing.
            "FAILED"
                if task
                    .failure_code
                    .as_deref()
                    .is_some_and(|code| code.starts_with("SAFETY")) =>
            {
                Err(ProviderError::ContentPolicy)
            }
            "FAILED" => Err(ProviderError::JobFailed),
            "CANCELLED" => Ok(JobStatus::Cancelled),
            _ => Err(ProviderError::Malformed),
        }
    }

    /// `DELETE /tasks/{id}`: cancels a running task, deletes a finished one. `Ok(false)`
    /// when Runway does not know the task.
    pub(crate) async fn delete_task(&self, job: &JobHandle) -> Result<bool, ProviderError> {
        let path = task_path(job)?;
        // Runway's error bodies are free text: only the status is read.
        self.send::<()>(Method::DELETE, &path, None)
            .await?
            .found(|_, _| None)
    }

    pub(crate) async fn delete(&self, job: &JobHandle) -> Result<RemoteDeletion, ProviderError> {
        match self.delete_task(job).await {
            // Gone already (deleted before, or expired): nothing is kept.
            Ok(_) | Err(ProviderError::UnknownJob) => Ok(RemoteDeletion::Deleted),
            Err(error) => Err(error),
        }
    }

    /// Sends a request with the key and Runway's version header, and reads the answer.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Answer, ProviderError> {
        let mut request = self
            .base
            .request(method, path)?
            .header("X-Runway-Version", API_VERSION);
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::of(request).await
    }
}

/// A 404 for a task means Runway does not know it (expired, deleted or never there). The
/// body is not read: Runway's error bodies are free text.
fn unknown_job(status: StatusCode, _body: &[u8]) -> Option<ProviderError> {
    (status == StatusCode::NOT_FOUND).then_some(ProviderError::UnknownJob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_map_to_the_nearest_the_model_accepts() {
        // (model, text only, requested, expected)
        let cases = [
            ("gen4_turbo", false, 1, Some(5)),
            ("gen4_turbo", false, 7, Some(5)),
            ("gen4_turbo", false, 8, Some(10)),
            ("gen4_turbo", false, 60, Some(10)),
            ("gen4_turbo", true, 5, None),
            ("gen4.5", true, 0, Some(2)),
            ("gen4.5", true, 7, Some(7)),
            ("gen4.5", false, 11, Some(10)),
            ("veo3.1", true, 5, Some(4)),
            ("veo3.1_fast", false, 7, Some(6)),
            ("veo3", true, 2, Some(8)),
            // No longer in Runway's SDK (removed June 2026), and never known here.
            ("gen3a_turbo", false, 5, None),
            ("gen2", false, 5, None),
        ];
        for (model, text_only, requested, expected) in cases {
            assert_eq!(
                accepts(model, text_only).and_then(|a| nearest(a.durations, requested)),
                expected,
                "{model} {text_only} {requested}"
            );
        }
    }

    #[test]
    fn each_model_gets_the_configured_ratio_or_its_own_of_the_same_shape() {
        // (model, text only, configured, sent)
        let cases = [
            ("gen4.5", true, "1280:720", Some("1280:720")),
            ("gen4.5", true, "720:1280", Some("720:1280")),
            ("gen4.5", true, "1920:1080", Some("1280:720")),
            ("gen4.5", true, "1080:1920", Some("720:1280")),
            // gen4.5 text-to-video has no square or 4:3 output.
            ("gen4.5", true, "960:960", None),
            ("gen4.5", true, "1104:832", None),
            ("gen4.5", false, "960:960", Some("960:960")),
            ("gen4_turbo", false, "1584:672", Some("1584:672")),
            ("gen4_turbo", false, "1920:1080", Some("1280:720")),
            ("veo3.1", true, "1920:1080", Some("1920:1080")),
            ("veo3.1", false, "960:960", None),
            ("veo3", true, "16:9", Some("1280:720")),
            ("gen4.5", true, "wide", None),
            ("gen4.5", true, "0:0", None),
        ];
        for (model, text_only, configured, sent) in cases {
            let accepted = accepts(model, text_only).expect("a known model");
            assert_eq!(
                ratio_for(configured, accepted.ratios),
                sent,
                "{model} {text_only} {configured}"
            );
        }
    }

    #[test]
    fn only_plain_task_ids_become_paths() {
        let ok = JobHandle::new("17f20503-6c24-4c16-946b-35dbbce2af2f");
        assert_eq!(
            task_path(&ok).as_deref(),
            Ok("/tasks/17f20503-6c24-4c16-946b-35dbbce2af2f")
        );
        for bad in ["", "../organization", "a/b", "a?b", "a b", &"a".repeat(65)] {
            assert_eq!(
                task_path(&JobHandle::new(bad)),
                Err(ProviderError::UnknownJob),
                "{bad}"
            );
        }
    }
}
