//! The signed HTTP calls — the runtime's `InvokeModel`, `StartAsyncInvoke` and
//! `GetAsyncInvoke`, S3's `GetObject`, `DeleteObject` and `HeadObject` — and the mapping of
//! their answers to outputs, job states and [`ProviderError`]s.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use icecone_core::provider::adapter::{
    ImageRequest, ImageSize, InvalidRequest, JobHandle, JobStatus, Output, ProviderError,
    VideoRequest,
};
use icecone_provider_http::{Answer, error_for_status, retry_after, sniff_media, transport};
use reqwest::Method;
use reqwest::header::CONTENT_LENGTH;

use crate::sign::{Service, encode_segment};
use crate::{BedrockProvider, Format, Model, wire};

/// The media type of the runtime's bodies.
const JSON: &str = "application/json";

impl BedrockProvider {
    /// A request to `url` with `headers` and `body`, signed for `service` now.
    fn signed(
        &self,
        service: Service,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let signature = self.signer()?.sign(
            service,
            method.as_str(),
            url,
            headers,
            &body,
            SystemTime::now(),
        )?;
        let mut request = self.http.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for (name, value) in signature {
            let mut value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| ProviderError::Malformed)?;
            // Never in a `Debug`: the signature and the session token are credentials.
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        Ok(request.body(body))
    }

    /// `InvokeModel`: the image, decoded from the answer.
    pub(crate) async fn invoke_image(
        &self,
        model: &Model,
        request: &ImageRequest,
    ) -> Result<Output, ProviderError> {
        let body = match model.format {
            Format::NovaCanvas => {
                let (width, height) = match request.size {
                    ImageSize::Square => (1024, 1024),
                    ImageSize::Landscape => (1280, 720),
                    ImageSize::Portrait => (720, 1280),
                };
                serde_json::to_vec(&wire::NovaCanvasRequest {
                    task_type: "TEXT_IMAGE",
                    text_to_image_params: wire::TextParams {
                        text: request.prompt.as_str(),
                    },
                    image_generation_config: wire::ImageGenerationConfig {
                        number_of_images: 1,
                        width,
                        height,
                    },
                })
            }
            Format::Stability => serde_json::to_vec(&wire::StabilityRequest {
                prompt: request.prompt.as_str(),
                aspect_ratio: match request.size {
                    ImageSize::Square => "1:1",
                    ImageSize::Landscape => "16:9",
                    ImageSize::Portrait => "9:16",
                },
                output_format: "png",
            }),
            Format::LumaRay | Format::NovaReel => {
                return Err(InvalidRequest::Unsupported(model.capability).into());
            }
        }
        .map_err(|_| ProviderError::Malformed)?;
        let url = format!(
            "{}/model/{}/invoke",
            self.runtime_url,
            encode_segment(model.id)
        );
        let http_request = self.signed(
            Service::Bedrock,
            Method::POST,
            &url,
            &[("accept", JSON), ("content-type", JSON)],
            body,
        )?;
        let answer = Answer::of(http_request).await?;
        let encoded = match model.format {
            Format::NovaCanvas => {
                let answer: wire::NovaCanvasResponse = read(&answer, model, Call::Model)?;
                if answer.error.is_some() {
                    return Err(ProviderError::ContentPolicy);
                }
                answer.images.into_iter().next()
            }
            _ => {
                let answer: wire::StabilityResponse = read(&answer, model, Call::Model)?;
                match answer.finish_reasons.first() {
                    Some(Some(reason)) if reason.starts_with("Filter reason") => {
                        return Err(ProviderError::ContentPolicy);
                    }
                    Some(Some(_)) => return Err(ProviderError::JobFailed),
                    _ => {}
                }
                answer.images.into_iter().next()
            }
        };
        let bytes = STANDARD
            .decode(encoded.ok_or(ProviderError::Malformed)?)
            .map_err(|_| ProviderError::Malformed)?;
        let mime_type = sniff_media(&bytes)
            .filter(|mime| mime.starts_with("image/"))
            .ok_or(ProviderError::Malformed)?;
        Ok(Output::Media { bytes, mime_type })
    }

    /// `StartAsyncInvoke`: the invocation's ARN.
    pub(crate) async fn start_video(
        &self,
        model: &Model,
        request: &VideoRequest,
    ) -> Result<JobHandle, ProviderError> {
        let model_input = match model.format {
            Format::LumaRay => serde_json::to_value(wire::LumaRayInput {
                prompt: request.prompt.as_str(),
                aspect_ratio: "16:9",
                looped: false,
                duration: if request.duration_seconds <= 5 {
                    "5s"
                } else {
                    "9s"
                },
                resolution: "720p",
            }),
            Format::NovaReel => serde_json::to_value(wire::NovaReelInput {
                task_type: "TEXT_VIDEO",
                text_to_video_params: wire::TextParams {
                    text: request.prompt.as_str(),
                },
                video_generation_config: wire::VideoGenerationConfig {
                    duration_seconds: 6,
                    fps: 24,
                    dimension: "1280x720",
                },
            }),
            Format::Stability | Format::NovaCanvas => {
                return Err(InvalidRequest::Unsupported(model.capability).into());
            }
        }
        .map_err(|_| ProviderError::Malformed)?;
        let body = serde_json::to_vec(&wire::StartAsyncInvoke {
            model_id: model.id,
            model_input,
            output_data_config: wire::OutputDataConfig {
                s3_output_data_config: wire::S3OutputDataConfig {
                    s3_uri: self.config.output.s3_uri(),
                },
            },
        })
        .map_err(|_| ProviderError::Malformed)?;
        let url = format!("{}/async-invoke", self.runtime_url);
        let http_request = self.signed(
            Service::Bedrock,
            Method::POST,
            &url,
            &[("content-type", JSON)],
            body,
        )?;
        let answer = Answer::of(http_request).await?;
        let started: wire::StartAsyncInvokeResponse = read(&answer, model, Call::Model)?;
        if invocation_id(&started.invocation_arn).is_none() {
            return Err(ProviderError::Malformed);
        }
        Ok(JobHandle::new(started.invocation_arn))
    }

    /// `GetAsyncInvoke`; once `Completed`, the video read from the bucket.
    pub(crate) async fn video_status(&self, job: &JobHandle) -> Result<JobStatus, ProviderError> {
        let id = invocation_id(job.as_str()).ok_or(ProviderError::UnknownJob)?;
        let url = format!(
            "{}/async-invoke/{}",
            self.runtime_url,
            encode_segment(job.as_str())
        );
        let http_request = self.signed(Service::Bedrock, Method::GET, &url, &[], Vec::new())?;
        let model = self.config.video_model;
        let answer = Answer::of(http_request).await?;
        let invocation: wire::GetAsyncInvokeResponse = read(&answer, model, Call::Job)?;
        // Where the invocation says it wrote is never followed: it must be where it was
        // told to write, and the key is ours to compute.
        if let Some(config) = &invocation.output_data_config {
            let told = self.config.output.s3_uri();
            let uri = config.s3_output_data_config.s3_uri.trim_end_matches('/');
            if uri != told && uri != format!("{told}/{id}") {
                return Err(ProviderError::Malformed);
            }
        }
        match invocation.status.as_str() {
            "InProgress" => Ok(JobStatus::Running),
            "Failed" => {
                let filtered = invocation
                    .failure_message
                    .as_deref()
                    .is_some_and(names_content_filter);
                Err(if filtered {
                    ProviderError::ContentPolicy
                } else {
                    ProviderError::JobFailed
                })
            }
            "Completed" => Ok(JobStatus::Done(self.read_video(id).await?)),
            _ => Err(ProviderError::Malformed),
        }
    }

    /// The path-style URL of `key` in the output bucket.
    fn object_url(&self, key: &str) -> String {
        let key: Vec<String> = key.split('/').map(encode_segment).collect();
        format!(
            "{}/{}/{}",
            self.s3_url,
            encode_segment(self.config.output.bucket()),
            key.join("/")
        )
    }

    /// `GetObject` of invocation `id`'s video, at most `max_output_bytes`.
    async fn read_video(&self, id: &str) -> Result<Output, ProviderError> {
        let url = self.object_url(&self.config.output.video_key(id));
        let http_request = self.signed(Service::S3, Method::GET, &url, &[], Vec::new())?;
        let mut response = http_request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(match status.as_u16() {
                404 => ProviderError::OutputGone,
                _ => error_for_status(status, response.headers()),
            });
        }
        let max = self.config.max_output_bytes;
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if announced.is_some_and(|length| length > max) {
            return Err(ProviderError::Malformed);
        }
        let mut bytes = Vec::with_capacity(announced.unwrap_or(0).min(max));
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > max {
                return Err(ProviderError::Malformed);
            }
            bytes.extend_from_slice(&chunk);
        }
        let mime_type = sniff_media(&bytes)
            .filter(|mime| mime.starts_with("video/"))
            .ok_or(ProviderError::Malformed)?;
        Ok(Output::Media { bytes, mime_type })
    }

    /// `DeleteObject` of the job's video, then `HeadObject`: `Ok` only once S3 answers that
    /// the object is not there (404).
    pub(crate) async fn delete_video(&self, job: &JobHandle) -> Result<(), ProviderError> {
        let id = invocation_id(job.as_str()).ok_or(ProviderError::UnknownJob)?;
        let url = self.object_url(&self.config.output.video_key(id));
        let deleted =
            Answer::of(self.signed(Service::S3, Method::DELETE, &url, &[], Vec::new())?).await?;
        if !deleted.status.is_success() {
            return Err(error_for_status(deleted.status, &deleted.headers));
        }
        let looked =
            Answer::of(self.signed(Service::S3, Method::HEAD, &url, &[], Vec::new())?).await?;
        match looked.status.as_u16() {
            404 => Ok(()),
            // Still there: S3 has not confirmed the deletion.
            status if looked.status.is_success() => Err(ProviderError::Unavailable { status }),
            _ => Err(error_for_status(looked.status, &looked.headers)),
        }
    }
}

/// The id at the end of an invocation ARN
/// (`arn:aws(-…)?:bedrock:<region>:<12 digits>:async-invoke/<12 of [a-z0-9]>`, the pattern
/// of AWS's model), or `None` for anything else — so nothing else ever reaches a path or a
/// key.
pub(crate) fn invocation_id(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    let (
        Some("arn"),
        Some(partition),
        Some("bedrock"),
        Some(region),
        Some(account),
        Some(resource),
        None,
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return None;
    };
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|rest| !rest.is_empty());
    let region_ok = (1..=20).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let id = resource.strip_prefix("async-invoke/")?;
    let id_ok = id.len() == 12
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (partition_ok && region_ok && account_ok && id_ok).then_some(id)
}

/// The error's type in AWS's REST-JSON protocol: the `x-amzn-ErrorType` header, else the
/// body's `__type`; either may carry a namespace (`…#Name`) or a suffix (`Name:…`), which
/// are cut.
fn error_kind(answer: &Answer) -> Option<String> {
    let header = answer
        .headers
        .get("x-amzn-errortype")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let kind = header.or_else(|| {
        serde_json::from_slice::<wire::ErrorBody>(&answer.body)
            .ok()
            .and_then(|body| body.kind)
    })?;
    Some(short_kind(&kind).to_owned())
}

/// `Name` from `ns#Name`, `Name:uri` or `Name`.
fn short_kind(kind: &str) -> &str {
    let kind = kind.rsplit('#').next().unwrap_or(kind);
    kind.split(':').next().unwrap_or(kind)
}

/// Whether a message names a content filter (Nova's "blocked by our content filters",
/// Stability's "Filter reason"). Only searched, never kept.
fn names_content_filter(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("content filter") || message.contains("filter reason")
}

/// Which call an answer is to: a job's status tells an unknown job apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// `InvokeModel` or `StartAsyncInvoke`.
    Model,
    /// `GetAsyncInvoke`.
    Job,
}

/// The body of a successful answer as `T`, or the error an unsuccessful one means.
fn read<T: serde::de::DeserializeOwned>(
    answer: &Answer,
    model: &Model,
    call: Call,
) -> Result<T, ProviderError> {
    if answer.status.is_success() {
        serde_json::from_slice(&answer.body).map_err(|_| ProviderError::Malformed)
    } else {
        Err(error_of(answer, model, call))
    }
}

/// What Bedrock's error answer means, by its type (AWS's model: `ValidationException` 400,
/// `AccessDeniedException` 403, `ResourceNotFoundException` 404, `ModelTimeoutException`
/// 408, `ModelErrorException` 424, `ThrottlingException` and `ModelNotReadyException` 429,
/// `ServiceQuotaExceededException` 400, `InternalServerException` 500,
/// `ServiceUnavailableException` 503), then by its status. The message is searched for a
/// content filter or an unknown model only, never kept: it may quote the prompt.
fn error_of(answer: &Answer, model: &Model, call: Call) -> ProviderError {
    let kind = error_kind(answer);
    let message = serde_json::from_slice::<wire::ErrorBody>(&answer.body)
        .ok()
        .and_then(|body| body.message)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let unavailable_model = || ProviderError::ModelUnavailable {
        kind: model.capability,
        setting: match model.capability {
            icecone_core::provider::Capability::Image => "image_model",
            _ => "video_model",
        },
    };
    let status = answer.status.as_u16();
    match (call, kind.as_deref()) {
        (Call::Job, Some("ResourceNotFoundException" | "ValidationException")) => {
            ProviderError::UnknownJob
        }
        (Call::Job, None) if status == 404 => ProviderError::UnknownJob,
        (_, Some("ThrottlingException" | "ModelNotReadyException")) => ProviderError::RateLimited {
            retry_after: retry_after(&answer.headers),
        },
        // "You can resubmit your request later": a quota on concurrent or daily use.
        (_, Some("ServiceQuotaExceededException")) => ProviderError::RateLimited {
            retry_after: retry_after(&answer.headers),
        },
        (
            _,
            Some("AccessDeniedException" | "UnrecognizedClientException" | "ExpiredTokenException"),
        ) => ProviderError::Unauthorized,
        (_, Some("ResourceNotFoundException")) => unavailable_model(),
        (_, Some("ValidationException")) if names_content_filter(&message) => {
            ProviderError::ContentPolicy
        }
        (_, Some("ValidationException")) if message.contains("model identifier is invalid") => {
            unavailable_model()
        }
        (_, Some("ModelTimeoutException")) => ProviderError::Timeout,
        (_, Some("ModelErrorException")) => ProviderError::Unavailable { status },
        _ => error_for_status(answer.status, &answer.headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_invocation_arns_of_aws_pattern_give_an_id() {
        // (arn, id)
        let cases = [
            (
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def456",
                Some("abc123def456"),
            ),
            (
                "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:async-invoke/0123456789ab",
                Some("0123456789ab"),
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/ABC123DEF456",
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def45",
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/../../x/yz",
                None,
            ),
            (
                "arn:aws:s3:us-east-1:123456789012:async-invoke/abc123def456",
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:12345678901:async-invoke/abc123def456",
                None,
            ),
            (
                "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def456:x",
                None,
            ),
            (
                "arn:awsx:bedrock:us-east-1:123456789012:async-invoke/abc123def456",
                None,
            ),
            ("", None),
        ];
        for (arn, id) in cases {
            assert_eq!(invocation_id(arn), id, "{arn}");
        }
    }

    #[test]
    fn error_types_are_read_without_namespace_or_suffix() {
        for (kind, short) in [
            ("ValidationException", "ValidationException"),
            (
                "com.amazonaws.bedrockruntime#ThrottlingException",
                "ThrottlingException",
            ),
            (
                "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                "AccessDeniedException",
            ),
        ] {
            assert_eq!(short_kind(kind), short, "{kind}");
        }
    }
}
