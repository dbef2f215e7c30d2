//! Every call's exact request — path, headers, body, signature — and the reading of its
//! documented answer: InvokeModel per image model, StartAsyncInvoke per video model,
//! GetAsyncInvoke, and S3's GetObject, DeleteObject and HeadObject.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use icecone_core::provider::adapter::{
    ImageSize, JobStatus, Output, ProviderAdapter, ProviderError, RemoteDeletion, Submission,
};
use icecone_core::provider::{Capability, ModelFamily, ModelRoute};
use icecone_provider_bedrock::sign::Service;
use icecone_provider_bedrock::testing::TINY_MP4;
use icecone_provider_http::testing::ONE_PIXEL_PNG;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::{
    ARN, BUCKET, INVOCATION_ID, PREFIX, PROMPT, assert_signed, image, job, model, setup, video,
};

const JSON: &str = "application/json";

/// The object key of the test invocation's video, path-style under the bucket.
fn object_path() -> String {
    format!("/{BUCKET}/{PREFIX}/{INVOCATION_ID}/output.mp4")
}

fn only_request(requests: &[wiremock::Request]) -> &wiremock::Request {
    assert_eq!(requests.len(), 1, "exactly one request");
    &requests[0]
}

fn body_of(request: &wiremock::Request) -> serde_json::Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

#[tokio::test]
async fn an_image_is_invoked_with_each_models_documented_body_and_signed() {
    let png = STANDARD.encode(ONE_PIXEL_PNG);
    // (model id, size, expected body, answer)
    let cases = [
        (
            "amazon.nova-canvas-v1:0",
            ImageSize::Square,
            json!({
                "taskType": "TEXT_IMAGE",
                "textToImageParams": { "text": PROMPT },
                "imageGenerationConfig": { "numberOfImages": 1, "width": 1024, "height": 1024 }
            }),
            json!({ "images": [png], "error": null }),
        ),
        (
            "amazon.nova-canvas-v1:0",
            ImageSize::Portrait,
            json!({
                "taskType": "TEXT_IMAGE",
                "textToImageParams": { "text": PROMPT },
                "imageGenerationConfig": { "numberOfImages": 1, "width": 720, "height": 1280 }
            }),
            json!({ "images": [png] }),
        ),
        (
            "stability.stable-image-core-v1:1",
            ImageSize::Landscape,
            json!({ "prompt": PROMPT, "aspect_ratio": "16:9", "output_format": "png" }),
            json!({ "seeds": [2130420379], "finish_reasons": [null], "images": [png] }),
        ),
        (
            "stability.stable-image-ultra-v1:1",
            ImageSize::Square,
            json!({ "prompt": PROMPT, "aspect_ratio": "1:1", "output_format": "png" }),
            json!({ "seeds": [7], "finish_reasons": [null], "images": [png] }),
        ),
        (
            "stability.sd3-5-large-v1:0",
            ImageSize::Portrait,
            json!({ "prompt": PROMPT, "aspect_ratio": "9:16", "output_format": "png" }),
            json!({ "seeds": [7], "finish_reasons": [null], "images": [png] }),
        ),
    ];
    for (id, size, body, answer) in cases {
        let (server, provider) =
            setup(|config| config.image_model = model(id, Capability::Image)).await;
        let encoded = id.replace(':', "%3A");
        Mock::given(method("POST"))
            .and(path(format!("/model/{encoded}/invoke")))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(&server)
            .await;
        let submitted = provider.submit(&image(size)).await.expect("an image");
        assert_eq!(
            submitted,
            Submission::Done(Output::Media {
                bytes: ONE_PIXEL_PNG.to_vec(),
                mime_type: "image/png",
            }),
            "{id}"
        );
        let requests = server.received_requests().await.expect("recorded");
        let request = only_request(&requests);
        // The whole body, exactly: the prompt and the model's parameters, nothing else.
        assert_eq!(body_of(request), body, "{id}");
        assert_signed(
            request,
            Service::Bedrock,
            &[("accept", JSON), ("content-type", JSON)],
            false,
        );
    }
}

#[tokio::test]
async fn a_video_is_started_with_each_models_documented_input_into_the_configured_bucket() {
    let s3_uri = format!("s3://{BUCKET}/{PREFIX}");
    // (model id, duration, expected modelInput)
    let cases = [
        (
            "luma.ray-v2:0",
            5,
            json!({ "prompt": PROMPT, "aspect_ratio": "16:9", "loop": false, "duration": "5s", "resolution": "720p" }),
        ),
        (
            "luma.ray-v2:0",
            8,
            json!({ "prompt": PROMPT, "aspect_ratio": "16:9", "loop": false, "duration": "9s", "resolution": "720p" }),
        ),
        (
            "amazon.nova-reel-v1:1",
            6,
            json!({
                "taskType": "TEXT_VIDEO",
                "textToVideoParams": { "text": PROMPT },
                "videoGenerationConfig": { "durationSeconds": 6, "fps": 24, "dimension": "1280x720" }
            }),
        ),
    ];
    for (id, duration, input) in cases {
        let (server, provider) = setup(|config| {
            config.video_model = model(id, Capability::Video);
            config.session_token = Some(secrecy::SecretString::from(crate::SESSION_TOKEN));
        })
        .await;
        Mock::given(method("POST"))
            .and(path("/async-invoke"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "invocationArn": ARN })))
            .expect(1)
            .mount(&server)
            .await;
        let submitted = provider.submit(&video(duration)).await.expect("started");
        assert_eq!(submitted, Submission::Pending(job()), "{id}");
        let requests = server.received_requests().await.expect("recorded");
        let request = only_request(&requests);
        assert_eq!(
            body_of(request),
            json!({
                "modelId": id,
                "modelInput": input,
                "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": s3_uri } }
            }),
            "{id}"
        );
        assert_signed(request, Service::Bedrock, &[("content-type", JSON)], true);
    }
}

#[tokio::test]
async fn models_publishes_the_configured_model_of_each_kind_with_its_family() {
    let (_server, provider) = setup(|config| {
        config.image_model = model("stability.stable-image-ultra-v1:1", Capability::Image);
        config.video_model = model("amazon.nova-reel-v1:1", Capability::Video);
    })
    .await;
    assert_eq!(
        provider.models(),
        vec![
            ModelRoute {
                capability: Capability::Image,
                model: "stability.stable-image-ultra-v1:1".to_owned(),
                family: ModelFamily::STABILITY,
            },
            ModelRoute {
                capability: Capability::Video,
                model: "amazon.nova-reel-v1:1".to_owned(),
                family: ModelFamily::AMAZON_NOVA,
            },
        ]
    );
    let (_server, provider) = setup(|_| {}).await;
    let families: Vec<ModelFamily> = provider.models().iter().map(|route| route.family).collect();
    assert_eq!(families, [ModelFamily::AMAZON_NOVA, ModelFamily::LUMA]);
}

/// Mounts `GetAsyncInvoke` of the test job answering `answer`, once.
async fn mount_status(server: &wiremock::MockServer, answer: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/async-invoke/{}",
            ARN.replace(':', "%3A").replace('/', "%2F")
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

fn invocation(status: &str, s3_uri: &str) -> serde_json::Value {
    json!({
        "invocationArn": ARN,
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/luma.ray-v2:0",
        "status": status,
        "submitTime": "2026-12-07T12:00:00Z",
        "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": s3_uri } }
    })
}

#[tokio::test]
async fn polling_follows_the_invocation_and_reads_a_completed_video_from_the_bucket() {
    let s3_uri = format!("s3://{BUCKET}/{PREFIX}/{INVOCATION_ID}");

    let (server, provider) = setup(|_| {}).await;
    mount_status(&server, invocation("InProgress", &s3_uri)).await;
    assert_eq!(provider.poll(&job()).await, Ok(JobStatus::Running));
    let requests = server.received_requests().await.expect("recorded");
    assert_signed(only_request(&requests), Service::Bedrock, &[], false);

    let (server, provider) = setup(|_| {}).await;
    mount_status(&server, invocation("Completed", &s3_uri)).await;
    Mock::given(method("GET"))
        .and(path(object_path()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(TINY_MP4))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        provider.poll(&job()).await,
        Ok(JobStatus::Done(Output::Media {
            bytes: TINY_MP4.to_vec(),
            mime_type: "video/mp4",
        }))
    );
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 2);
    let get_object = &requests[1];
    assert_eq!(get_object.url.path(), object_path());
    assert_signed(get_object, Service::S3, &[], false);
}

#[tokio::test]
async fn an_invocation_that_says_it_wrote_elsewhere_is_never_followed() {
    for elsewhere in [
        "s3://someone-elses-bucket/x".to_owned(),
        format!("s3://{BUCKET}/other-prefix/{INVOCATION_ID}"),
    ] {
        let (server, provider) = setup(|_| {}).await;
        mount_status(&server, invocation("Completed", &elsewhere)).await;
        assert_eq!(
            provider.poll(&job()).await,
            Err(ProviderError::Malformed),
            "{elsewhere}"
        );
        // The status only: no object was read.
        let requests = server.received_requests().await.expect("recorded");
        assert_eq!(requests.len(), 1, "{elsewhere}");
    }
}

#[tokio::test]
async fn a_job_handle_that_is_not_an_invocation_arn_is_an_unknown_job_and_nothing_is_sent() {
    for handle in [
        "abc123def456",
        "arn:aws:bedrock:us-east-1:123456789012:async-invoke/../../../x",
        "https://evil.example/video.mp4",
    ] {
        let (server, provider) = setup(|_| {}).await;
        let handle = icecone_core::provider::adapter::JobHandle::new(handle);
        assert_eq!(provider.poll(&handle).await, Err(ProviderError::UnknownJob));
        assert_eq!(
            provider.delete_remote(&handle).await,
            Err(ProviderError::UnknownJob)
        );
        icecone_provider_http::testing::assert_nothing_sent(&server).await;
    }
}

#[tokio::test]
async fn deleting_the_video_is_confirmed_by_s3_before_it_counts_as_deleted() {
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("DELETE"))
        .and(path(object_path()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path(object_path()))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        provider.delete_remote(&job()).await,
        Ok(RemoteDeletion::Deleted)
    );
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method.as_str(), "DELETE");
    assert_signed(&requests[0], Service::S3, &[], false);
    assert_eq!(requests[1].method.as_str(), "HEAD");
    assert_signed(&requests[1], Service::S3, &[], false);

    // S3 still has it after the delete: not recorded as deleted.
    let (server, provider) = setup(|_| {}).await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let error = provider
        .delete_remote(&job())
        .await
        .expect_err("not confirmed");
    assert!(error.is_transient(), "{error:?}");
}
