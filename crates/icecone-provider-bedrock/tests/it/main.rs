//! The Bedrock adapter: SigV4 against AWS's published known answers; every call's exact
//! signed request against a local mock speaking Bedrock's and S3's wire formats
//! (wiremock); the fault tables; the output bucket on a real S3-compatible server (moto);
//! the settings. No test touches the internet.

mod faults;
mod s3;
mod settings;
mod sigv4;
mod wire;

use std::time::SystemTime;

use icecone_core::provider::Capability;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, ImageSize, JobHandle, Prompt, VideoRequest,
};
use icecone_provider_bedrock::sign::{Service, Signer};
use icecone_provider_bedrock::testing::REGION;
use icecone_provider_bedrock::{BedrockConfig, BedrockProvider, Model, OutputLocation};
use icecone_provider_http::testing::TIMEOUT;
use secrecy::SecretString;
use wiremock::MockServer;

const ACCESS_KEY_ID: &str = "AKIDBEDROCKTEST01";
const SECRET_ACCESS_KEY: &str = "bedrock-secret-sentinel-0123456789";
const SESSION_TOKEN: &str = "session-token-sentinel-abcdef";
const PROMPT: &str = "a lighthouse in a storm, painted in oils";
const BUCKET: &str = "icecone-videos";
const PREFIX: &str = "generations/out";
const INVOCATION_ID: &str = "abc123def456";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def456";

/// The model of the table with this id.
fn model(id: &str, capability: Capability) -> &'static Model {
    Model::find(id, capability).expect("a known model")
}

/// A configuration against `runtime` and `s3` with the test credentials (and a session
/// token when `with_token`).
fn config(runtime: &str, s3: &str, with_token: bool) -> BedrockConfig {
    let mut config = BedrockConfig::new(
        REGION,
        OutputLocation::parse(BUCKET, PREFIX).expect("a valid location"),
    );
    config.access_key_id = Some(SecretString::from(ACCESS_KEY_ID));
    config.secret_access_key = Some(SecretString::from(SECRET_ACCESS_KEY));
    config.session_token = with_token.then(|| SecretString::from(SESSION_TOKEN));
    config.base_url = runtime.to_owned();
    config.s3_url = s3.to_owned();
    config.timeout = TIMEOUT;
    config
}

/// One mock server for both the runtime and S3, and an adapter pointed at it.
async fn setup(adjust: impl FnOnce(&mut BedrockConfig)) -> (MockServer, BedrockProvider) {
    let server = MockServer::start().await;
    let mut config = config(&server.uri(), &server.uri(), false);
    adjust(&mut config);
    let provider = BedrockProvider::new(config).expect("adapter builds");
    (server, provider)
}

fn image(size: ImageSize) -> GenerationRequest {
    GenerationRequest::Image(ImageRequest {
        prompt: Prompt::parse(PROMPT).expect("valid prompt"),
        size,
    })
}

fn video(duration_seconds: u32) -> GenerationRequest {
    GenerationRequest::Video(VideoRequest {
        prompt: Prompt::parse(PROMPT).expect("valid prompt"),
        image: None,
        duration_seconds,
    })
}

fn job() -> JobHandle {
    JobHandle::new(ARN)
}

/// Asserts that `request` carries exactly the signature SigV4 gives for `method`, the
/// request's own URL, the headers `signed` (name, value: each also sent) and its body, at
/// the `x-amz-date` it carries, for `service` with the test credentials — recomputed by the
/// signer that passes AWS's published test suite (`sigv4`).
fn assert_signed(
    request: &wiremock::Request,
    service: Service,
    signed: &[(&str, &str)],
    with_token: bool,
) {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|value| value.to_str().expect("ascii").to_owned())
    };
    for (name, value) in signed {
        assert_eq!(header(name).as_deref(), Some(*value), "{name}");
    }
    let date = header("x-amz-date").expect("x-amz-date");
    let time = chrono::NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ")
        .expect("an ISO 8601 basic time")
        .and_utc();
    let time = SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(time.timestamp()).expect("after 1970"));
    let signer = Signer::new(
        SecretString::from(ACCESS_KEY_ID),
        SecretString::from(SECRET_ACCESS_KEY),
        with_token.then(|| SecretString::from(SESSION_TOKEN)),
        REGION,
    );
    // The URL as sent: wiremock's own URL names `localhost`; the request went to `host`.
    let host = header("host").expect("host");
    let url = match request.url.query() {
        Some(query) => format!("http://{host}{}?{query}", request.url.path()),
        None => format!("http://{host}{}", request.url.path()),
    };
    let expected = signer
        .sign(
            service,
            request.method.as_str(),
            &url,
            signed,
            &request.body,
            time,
        )
        .expect("signed");
    for (name, value) in &expected {
        assert_eq!(header(name).as_deref(), Some(value.as_str()), "{name}");
    }
    let authorization = header("authorization").expect("authorization");
    let service_name = match service {
        Service::Bedrock => "bedrock",
        Service::S3 => "s3",
        Service::Other(name) => name,
    };
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{}/{REGION}/{service_name}/aws4_request, ",
            &date[..8]
        )),
        "{authorization}"
    );
    assert_eq!(
        header("x-amz-security-token").as_deref(),
        with_token.then_some(SESSION_TOKEN),
        "the session token is sent exactly when there is one"
    );
}
