//! The output bucket on a real S3-compatible server (moto, started by the test): the
//! adapter reads the video Bedrock wrote at the key its invocation decides, and deleting it
//! leaves the bucket without it — confirmed by the server, not assumed.

use icecone_core::provider::adapter::{JobStatus, Output, ProviderAdapter, RemoteDeletion};
use icecone_provider_bedrock::BedrockProvider;
use icecone_provider_bedrock::testing::{ACCESS_KEY_ID, S3Server, SECRET_ACCESS_KEY, TINY_MP4};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{ARN, BUCKET, INVOCATION_ID, PREFIX, job};

#[tokio::test]
async fn a_completed_video_is_read_from_a_real_bucket_and_deleted_from_it() {
    let Some(s3) = S3Server::start() else {
        // moto_server is not installed here (CI installs it and requires it).
        return;
    };
    s3.create_bucket(BUCKET).await;
    let key = format!("{PREFIX}/{INVOCATION_ID}/output.mp4");
    s3.put_object(BUCKET, &key, TINY_MP4).await;
    // Another object of the bucket, which the adapter must leave alone.
    s3.put_object(BUCKET, "unrelated/keep.txt", b"keep").await;

    let runtime = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "invocationArn": ARN,
            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/luma.ray-v2:0",
            "status": "Completed",
            "submitTime": "2026-12-07T12:00:00Z",
            "outputDataConfig": { "s3OutputDataConfig": { "s3Uri": format!("s3://{BUCKET}/{PREFIX}") } }
        })))
        .mount(&runtime)
        .await;
    let mut config = crate::config(&runtime.uri(), s3.url(), false);
    config.access_key_id = Some(SecretString::from(ACCESS_KEY_ID));
    config.secret_access_key = Some(SecretString::from(SECRET_ACCESS_KEY));
    let provider = BedrockProvider::new(config).expect("builds");

    assert_eq!(
        provider.poll(&job()).await,
        Ok(JobStatus::Done(Output::Media {
            bytes: TINY_MP4.to_vec(),
            mime_type: "video/mp4",
        }))
    );
    assert!(s3.has_object(BUCKET, &key).await, "reading does not delete");
    assert_eq!(
        provider.delete_remote(&job()).await,
        Ok(RemoteDeletion::Deleted)
    );
    assert!(!s3.has_object(BUCKET, &key).await, "the video is gone");
    assert!(s3.has_object(BUCKET, "unrelated/keep.txt").await);
    // Deleting again is confirmed again (S3's delete is idempotent): a retried step is safe.
    assert_eq!(
        provider.delete_remote(&job()).await,
        Ok(RemoteDeletion::Deleted)
    );
}
