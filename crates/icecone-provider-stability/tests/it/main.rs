//! The Stability AI adapter against a local mock speaking Stability's wire format
//! (wiremock). The mock asserts the exact outgoing request, multipart parts included; no test
//! touches the internet.
//!
//! Stability publishes no OpenAPI document or typed SDK for the v2beta Stable Image
//! endpoints in a repository: the form is pinned to Stability's own client of them, its
//! ComfyUI nodes ([`SAI_CLIENT`]), in
//! `the_form_uses_only_the_endpoints_fields_and_values_stabilitys_own_client_sends`.

use std::time::Duration;

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, InvalidRequest, Output, Prompt, ProviderAdapter,
    ProviderError, Submission, TextRequest, VideoRequest,
};
use icecone_core::provider::policy::{
    OutputRetention, Region, Retention, TrainingUse, ZdrArrangement,
};
use icecone_provider_http::testing::{
    self, ONE_PIXEL_PNG, TIMEOUT, adapter_against_mock, assert_nothing_sent, bearer,
};
use icecone_provider_stability::{
    DEFAULT_BASE_URL, ID, POLICY, StabilityConfig, StabilityModel, StabilityProvider,
};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// Stability AI's ComfyUI nodes, which call the v2beta API: `Stability-AI/ComfyUI-SAI_API`,
/// `stability_api.py`, commit `6c0e3a21639304755861fd7d5865580d986eb3e3` (2025-03-04, MIT).
const SAI_CLIENT: &str = "Stability-AI/ComfyUI-SAI_API@6c0e3a21639304755861fd7d5865580d986eb3e3";

/// What that client sends to `StabilityCore` (`stable-image/generate/core`) and
/// `StabilityImageUltra` (`stable-image/generate/ultra`) under `ROOT_API`
/// (`https://api.stability.ai/v2beta/`), with `ACCEPT = "image/*"`: its form fields (from
/// `INPUT_SPEC`, less the image and the key), aspect ratios and output formats (the same
/// for both endpoints).
const SAI_ENDPOINTS: [&str; 2] = [
    "/v2beta/stable-image/generate/core",
    "/v2beta/stable-image/generate/ultra",
];
const SAI_FIELDS: [&str; 7] = [
    "prompt",
    "negative_prompt",
    "seed",
    "aspect_ratio",
    "style_preset",
    "output_format",
    "strength",
];
const SAI_ASPECT_RATIOS: [&str; 9] = [
    "1:1", "5:4", "3:2", "16:9", "21:9", "4:5", "2:3", "9:16", "9:21",
];
const SAI_OUTPUT_FORMATS: [&str; 3] = ["png", "webp", "jpeg"];

const KEY: &str = "sk-stab-0123456789abcdef";
const PROMPT: &str = "a lighthouse at dusk";

/// A mock Stability AI and an adapter pointed at it.
async fn setup(adjust: impl FnOnce(&mut StabilityConfig)) -> (MockServer, StabilityProvider) {
    adapter_against_mock(|uri| {
        let mut config = StabilityConfig::new(Some(SecretString::from(KEY)));
        config.base_url = uri.to_owned();
        config.timeout = TIMEOUT;
        adjust(&mut config);
        StabilityProvider::new(config)
    })
    .await
}

fn image_of(prompt: &str, size: ImageSize) -> GenerationRequest {
    GenerationRequest::Image(ImageRequest {
        prompt: Prompt::parse(prompt).expect("valid prompt"),
        size,
    })
}

fn image(size: ImageSize) -> GenerationRequest {
    image_of(PROMPT, size)
}

/// Stability's answer to `Accept: image/*`: the PNG's bytes with its headers.
fn png_answer() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "image/png")
        .insert_header("finish-reason", "SUCCESS")
        .insert_header("seed", "343940597")
        .set_body_bytes(ONE_PIXEL_PNG.to_vec())
}

/// Stability's error body: `{id, name, errors}`.
fn error_answer(status: u16, name: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "id": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "name": name,
        "errors": [message]
    }))
}

/// The parts of a multipart/form-data body, in order: (name, filename, value).
fn multipart_parts(request: &Request) -> Option<Vec<(String, Option<String>, String)>> {
    let content_type = request.headers.get("content-type")?.to_str().ok()?;
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")?
        .to_owned();
    let body = std::str::from_utf8(&request.body).ok()?;
    let delimiter = format!("--{boundary}");
    let mut sections = body.split(delimiter.as_str());
    if !sections.next()?.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for section in sections {
        if section.starts_with("--") {
            return Some(parts);
        }
        let section = section.strip_prefix("\r\n")?.strip_suffix("\r\n")?;
        let (head, value) = section.split_once("\r\n\r\n")?;
        let disposition = head.lines().find(|line| {
            line.to_ascii_lowercase()
                .starts_with("content-disposition:")
        })?;
        let field = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|item| item.strip_prefix(&format!("{key}=\"")))
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_owned)
        };
        parts.push((field("name")?, field("filename"), value.to_owned()));
    }
    None
}

/// Matches a multipart/form-data body made of exactly these text parts, in this order.
struct ExactForm(Vec<(&'static str, String)>);

impl Match for ExactForm {
    fn matches(&self, request: &Request) -> bool {
        let Some(parts) = multipart_parts(request) else {
            return false;
        };
        parts.len() == self.0.len()
            && parts.iter().zip(&self.0).all(
                |((name, filename, value), (want_name, want_value))| {
                    name == want_name && filename.is_none() && value == want_value
                },
            )
    }
}

fn form(prompt: &str, aspect_ratio: &str) -> ExactForm {
    ExactForm(vec![
        ("prompt", prompt.to_owned()),
        ("aspect_ratio", aspect_ratio.to_owned()),
        ("output_format", "png".to_owned()),
    ])
}

/// Sends `request` to a mock answering every POST with `answer`.
async fn answer_with(answer: ResponseTemplate, request: GenerationRequest) -> ProviderError {
    let (server, provider) = setup(|_| {}).await;
    testing::submit_answered(&server, &provider, &request, answer).await
}

#[test]
fn the_form_matcher_reads_parts_and_refuses_anything_else() {
    // The matcher is what the request assertions rest on: check it accepts the exact form
    // and nothing more, nothing less.
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na b\r\n--XyZ\r\nContent-Disposition: form-data; name=\"aspect_ratio\"\r\n\r\n1:1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"output_format\"\r\n\r\npng\r\n--XyZ--\r\n";
    let request = |body: &str| {
        let mut headers = http_headers();
        headers.insert(
            "content-type",
            "multipart/form-data; boundary=XyZ".parse().expect("header"),
        );
        Request {
            url: "http://127.0.0.1/x".parse().expect("url"),
            method: "POST".parse().expect("method"),
            headers,
            body: body.as_bytes().to_vec(),
        }
    };
    assert!(form("a b", "1:1").matches(&request(body)));
    assert!(!form("a b", "16:9").matches(&request(body)));
    assert!(!form("a c", "1:1").matches(&request(body)));
    let extra = body.replace(
        "--XyZ--",
        "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nx@y.z\r\n--XyZ--",
    );
    assert!(!form("a b", "1:1").matches(&request(&extra)));
    let truncated = body.replace("--XyZ--\r\n", "");
    assert!(!form("a b", "1:1").matches(&request(&truncated)));
}

fn http_headers() -> wiremock::http::HeaderMap {
    wiremock::http::HeaderMap::new()
}

#[tokio::test]
async fn images_send_only_the_prompt_aspect_ratio_and_format_and_return_the_png() {
    // (model, size, path, aspect ratio sent)
    let cases = [
        (
            StabilityModel::Core,
            ImageSize::Square,
            "/v2beta/stable-image/generate/core",
            "1:1",
        ),
        (
            StabilityModel::Core,
            ImageSize::Landscape,
            "/v2beta/stable-image/generate/core",
            "16:9",
        ),
        (
            StabilityModel::Ultra,
            ImageSize::Portrait,
            "/v2beta/stable-image/generate/ultra",
            "9:16",
        ),
    ];
    for (model, size, endpoint, aspect_ratio) in cases {
        let (server, provider) = setup(|config| config.model = model).await;
        Mock::given(method("POST"))
            .and(path(endpoint))
            .and(bearer(KEY))
            .and(header("accept", "image/*"))
            // The whole form, exactly: the prompt and the parameters, nothing about the person.
            .and(form(PROMPT, aspect_ratio))
            .respond_with(png_answer())
            .expect(1)
            .mount(&server)
            .await;
        let submitted = provider.submit(&image(size)).await.expect("image");
        assert_eq!(
            submitted,
            Submission::Done(Output::Media {
                bytes: ONE_PIXEL_PNG.to_vec(),
                mime_type: "image/png"
            }),
            "{model:?} {size:?}"
        );
        let received = server.received_requests().await.expect("recorded");
        let sent = &received[0];
        for personal in ["stability-client-user-id", "stability-client-id", "cookie"] {
            assert!(!sent.headers.contains_key(personal), "{personal}");
        }
    }
}

#[tokio::test]
async fn the_form_uses_only_the_endpoints_fields_and_values_stabilitys_own_client_sends() {
    for model in [StabilityModel::Core, StabilityModel::Ultra] {
        for size in [ImageSize::Square, ImageSize::Landscape, ImageSize::Portrait] {
            let (server, provider) = setup(|config| config.model = model).await;
            Mock::given(method("POST"))
                .respond_with(png_answer())
                .expect(1)
                .mount(&server)
                .await;
            provider.submit(&image(size)).await.expect("image");
            let received = server.received_requests().await.expect("recorded");
            let sent = &received[0];
            let at = format!("{model:?} {size:?}, against {SAI_CLIENT}");
            assert_eq!(sent.method.as_str(), "POST", "{at}");
            assert!(SAI_ENDPOINTS.contains(&sent.url.path()), "{at}");
            assert_eq!(
                sent.headers.get("accept").and_then(|v| v.to_str().ok()),
                Some("image/*"),
                "{at}"
            );
            let parts = multipart_parts(sent).expect("a multipart form");
            for (name, filename, value) in parts {
                assert!(SAI_FIELDS.contains(&name.as_str()), "{name}: {at}");
                assert_eq!(filename, None, "{name}: {at}");
                match name.as_str() {
                    "aspect_ratio" => assert!(SAI_ASPECT_RATIOS.contains(&value.as_str()), "{at}"),
                    "output_format" => {
                        assert!(SAI_OUTPUT_FORMATS.contains(&value.as_str()), "{at}")
                    }
                    _ => {}
                }
            }
        }
    }
}

#[tokio::test]
async fn a_bad_key_is_unauthorized_and_the_error_shows_neither_key_nor_message() {
    for status in [401, 403] {
        let error = answer_with(
            error_answer(
                status,
                "unauthorized",
                &format!("authorization: invalid key {KEY} for prompt {PROMPT}"),
            ),
            image(ImageSize::Square),
        )
        .await;
        assert_eq!(error, ProviderError::Unauthorized, "{status}");
        testing::assert_error_hides(&error, &["sk-stab", "lighthouse"]);
    }
}

#[tokio::test]
async fn rate_limits_carry_retry_after_when_given_and_spent_credit_is_quota_exhausted() {
    let limited = || {
        error_answer(
            429,
            "rate_limit_exceeded",
            "You have exceeded the rate limit",
        )
    };
    let with_header = answer_with(
        limited().insert_header("retry-after", "10"),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(
        with_header,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(10))
        }
    );
    assert!(with_header.is_transient());
    let without = answer_with(limited(), image(ImageSize::Square)).await;
    assert_eq!(without, ProviderError::RateLimited { retry_after: None });
    let payment = answer_with(
        error_answer(
            402,
            "payment_required",
            "You lack sufficient credits to make this request",
        ),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(payment, ProviderError::QuotaExhausted);
    assert!(!payment.is_transient());
}

#[tokio::test]
async fn server_errors_500_and_503_are_transient_unavailability() {
    for status in [500u16, 503] {
        let error = answer_with(
            error_answer(
                status,
                "internal_error",
                "An unexpected server error occurred",
            ),
            image(ImageSize::Square),
        )
        .await;
        assert_eq!(error, ProviderError::Unavailable { status });
        assert!(error.is_transient());
    }
}

#[tokio::test]
async fn parameter_errors_are_rejected_requests() {
    for status in [400u16, 413, 422] {
        let error = answer_with(
            error_answer(status, "bad_request", "prompt: cannot be empty"),
            image(ImageSize::Square),
        )
        .await;
        assert_eq!(
            error,
            ProviderError::InvalidRequest(InvalidRequest::Rejected { status }),
            "{status}"
        );
        assert!(!error.counts_against_provider());
    }
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_is_a_timeout() {
    let (server, provider) = setup(|config| config.timeout = Duration::from_millis(200)).await;
    Mock::given(method("POST"))
        .respond_with(png_answer().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let error = provider
        .submit(&image(ImageSize::Square))
        .await
        .expect_err("too slow");
    assert_eq!(error, ProviderError::Timeout);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_connection_error() {
    let mut config = StabilityConfig::new(Some(SecretString::from(KEY)));
    config.base_url = testing::unreachable_base_url();
    let provider = StabilityProvider::new(config).expect("adapter builds");
    let error = provider
        .submit(&image(ImageSize::Square))
        .await
        .expect_err("nothing listens");
    assert_eq!(error, ProviderError::Connect);
}

#[tokio::test]
async fn answers_that_are_not_an_image_are_malformed() {
    let cases = [
        // JSON although the adapter asked for the image's bytes.
        ResponseTemplate::new(200).set_body_string("{\"image\": \"iVBORw0KG"),
        ResponseTemplate::new(200)
            .insert_header("content-type", "image/png")
            .set_body_bytes(b"not a png at all".to_vec()),
        // A video is media, but not an image.
        ResponseTemplate::new(200).set_body_bytes(b"\0\0\0\x18ftypmp42\0\0\0\0".to_vec()),
        ResponseTemplate::new(200),
        // An error status with a body that is not Stability's JSON.
        ResponseTemplate::new(302),
    ];
    for (index, answer) in cases.into_iter().enumerate() {
        assert_eq!(
            answer_with(answer, image(ImageSize::Square)).await,
            ProviderError::Malformed,
            "case {index}"
        );
    }
}

#[tokio::test]
async fn content_moderation_refusals_and_filtered_images_are_refusals_not_failures() {
    let moderated = answer_with(
        error_answer(
            403,
            "content_moderation",
            "Your request was flagged by our content moderation system, as a result your request was denied and you were not charged.",
        ),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(moderated, ProviderError::ContentPolicy);
    assert!(!moderated.is_transient() && !moderated.counts_against_provider());
    let filtered = answer_with(
        png_answer().insert_header("finish-reason", "CONTENT_FILTERED"),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(filtered, ProviderError::ContentPolicy);
    // A 403 naming anything else is a refused key, not a content decision.
    let forbidden = answer_with(
        error_answer(403, "forbidden", "Your API key is not allowed"),
        image(ImageSize::Square),
    )
    .await;
    assert_eq!(forbidden, ProviderError::Unauthorized);
}

#[tokio::test]
async fn empty_oversized_and_unsupported_requests_are_refused_before_any_request_is_sent() {
    let (server, provider) = setup(|config| config.max_prompt_chars = 10).await;
    Mock::given(method("POST"))
        .respond_with(png_answer())
        .expect(0)
        .mount(&server)
        .await;
    assert_eq!(Prompt::parse(""), Err(InvalidRequest::EmptyPrompt));
    assert_eq!(Prompt::parse(" \t\n"), Err(InvalidRequest::EmptyPrompt));
    let error = provider
        .submit(&image_of("eleven char", ImageSize::Square))
        .await
        .expect_err("too long");
    assert_eq!(
        error,
        ProviderError::InvalidRequest(InvalidRequest::PromptTooLong { max_chars: 10 })
    );
    let text = GenerationRequest::Text(TextRequest {
        prompt: Prompt::parse("tiny").expect("valid"),
        max_tokens: None,
    });
    let video = GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse("tiny").expect("valid"),
        image: None,
        duration_seconds: 5,
    });
    for request in [text, video] {
        let capability = request.capability();
        assert_eq!(
            provider.submit(&request).await,
            Err(ProviderError::InvalidRequest(InvalidRequest::Unsupported(
                capability
            )))
        );
    }

    // The endpoints take at most 10,000 characters, whatever the adapter's own limit.
    let (long_server, provider) = setup(|config| config.max_prompt_chars = 20_000).await;
    let long = image_of(&"a".repeat(10_001), ImageSize::Square);
    assert_eq!(
        provider.submit(&long).await,
        Err(ProviderError::InvalidRequest(
            InvalidRequest::PromptTooLong { max_chars: 10_000 }
        ))
    );
    for server in [server, long_server] {
        assert_nothing_sent(&server).await;
    }
}

#[tokio::test]
async fn without_a_key_the_adapter_is_unavailable_and_sends_nothing() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    assert!(!provider.is_available());
    let error = provider
        .submit(&image(ImageSize::Square))
        .await
        .expect_err("no key");
    assert_eq!(error, ProviderError::Unauthorized);
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_key_set_at_run_time_makes_the_adapter_available_and_replaces_the_old_one() {
    let (server, provider) = setup(|config| config.api_key = None).await;
    let replacement = "sk-rotated-fedcba9876543210";
    Mock::given(method("POST"))
        .and(bearer(replacement))
        .respond_with(png_answer())
        .expect(1)
        .mount(&server)
        .await;
    testing::set_key_at_run_time(&provider, replacement);
    provider
        .submit(&image(ImageSize::Square))
        .await
        .expect("the mock accepts the new key");

    // A configured key is replaced too.
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("POST"))
        .and(bearer(replacement))
        .respond_with(png_answer())
        .expect(1)
        .mount(&server)
        .await;
    testing::set_key_at_run_time(&provider, replacement);
    provider
        .submit(&image(ImageSize::Square))
        .await
        .expect("only the new key is accepted");
    testing::assert_debug_hides(&provider, &[replacement, KEY]);
}

#[tokio::test]
async fn an_endpoint_that_is_not_there_is_an_unavailable_image_model() {
    let error = answer_with(
        error_answer(404, "not_found", "a lighthouse at dusk: not found"),
        GenerationRequest::Image(ImageRequest {
            prompt: Prompt::parse("a lighthouse at dusk").expect("valid"),
            size: ImageSize::Square,
        }),
    )
    .await;
    assert_eq!(
        error,
        ProviderError::ModelUnavailable {
            kind: Capability::Image,
            setting: "image_model",
        }
    );
    testing::assert_error_hides(&error, &["lighthouse"]);
}

#[test]
fn configuration_defaults_models_and_base_urls() {
    let config = StabilityConfig::new(None);
    assert_eq!(config.base_url, DEFAULT_BASE_URL);
    assert_eq!(DEFAULT_BASE_URL, "https://api.stability.ai");
    assert_eq!(config.model, StabilityModel::Core);
    assert_eq!(config.max_prompt_chars, 10_000);
    assert_eq!(ID, "stability");
    assert_eq!(" Ultra ".parse(), Ok(StabilityModel::Ultra));
    assert_eq!("core".parse(), Ok(StabilityModel::Core));
    assert!("sd3".parse::<StabilityModel>().is_err());
    assert!(
        StabilityProvider::new(StabilityConfig {
            base_url: "ftp://example.invalid".to_owned(),
            ..StabilityConfig::new(None)
        })
        .is_err()
    );
    let provider = StabilityProvider::new(StabilityConfig::new(None)).expect("builds");
    assert_eq!(provider.id().as_str(), "stability");
    assert_eq!(provider.policy(), &POLICY);
}

#[test]
fn the_stability_policy_claims_only_what_its_quoted_sources_say() {
    assert_eq!(
        POLICY.capabilities,
        &[icecone_core::provider::Capability::Image]
    );
    // Stability AI's own text could not be read: every claim is unknown, none guessed.
    assert_eq!(POLICY.training_use.value(), TrainingUse::Unknown);
    assert_eq!(POLICY.retention.value(), Retention::Unknown);
    assert_eq!(POLICY.zero_data_retention.value(), ZdrArrangement::Unknown);
    assert_eq!(POLICY.output_retention.value(), OutputRetention::Unknown);
    assert_eq!(POLICY.region.value(), Region::Unknown);
    assert_eq!(POLICY.training_use.source().quote, None);
}
