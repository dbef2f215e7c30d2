//! The router with the real adapters: OpenAI against a local mock speaking its wire
//! format, and `local`. Routing follows the effective policy (declared terms + this
//! deployment's ZDR contract) and the deployment's retention promise.

use std::sync::Arc;
use std::time::Duration;

use icecone_app::providers::router::{Refusal, RouteError, Router, RouterSettings};
use icecone_core::provider::Capability;
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, Output, Prompt, ProviderError, Submission, TextRequest,
};
use icecone_core::provider::routing::{
    BreakerPolicy, DegradationPolicy, Ineligible, Missing, RetryPolicy,
};
use icecone_gateway::config::Settings;
use icecone_provider_openai::OpenAiSettings;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::app::{Person, TestApp, code};

const KEY: &str = "sk-routing-test-key";
const PROMPT: &str = "Summarise the tides";

fn router(server: &MockServer, contract: Option<&str>, max_retention_days: u32) -> Router {
    let mut settings = Settings {
        max_provider_retention_days: max_retention_days,
        ..Settings::default()
    };
    settings.providers.set(OpenAiSettings {
        api_key: Some(SecretString::from(KEY)),
        base_url: format!("{}/v1", server.uri()),
        zdr_contract: contract.map(str::to_owned),
        ..OpenAiSettings::default()
    });
    let config = settings.resolve().expect("valid settings");
    let entries = icecone_app::providers::entries(&config.providers).expect("adapters");
    let settings = RouterSettings {
        max_retention_days: config.providers.max_retention_days,
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(1),
        },
        breaker: BreakerPolicy {
            failure_threshold: 2,
            cool_down: Duration::from_millis(300),
        },
        attempt_timeout: Duration::from_secs(5),
        degradation: DegradationPolicy {
            retry_after: Duration::from_secs(3600),
        },
    };
    Router::with_jitter(entries, settings, Arc::new(|| 0.0))
}

fn request() -> GenerationRequest {
    GenerationRequest::Text(TextRequest {
        prompt: Prompt::parse(PROMPT).expect("valid"),
        max_tokens: Some(40),
    })
}

fn id(text: &str) -> ProviderId {
    ProviderId::parse(text).expect("valid id")
}

/// OpenAI's answer to the exact request the adapter must send.
async fn mount_openai_success(server: &MockServer) {
    mount_openai_chat(server, KEY, PROMPT, 40, "High, then low.").await;
}

/// Mounts OpenAI's Chat Completions answer `answer`, given only for the exact request the
/// adapter must send: `key` as the bearer token, the default model, `prompt` as the only
/// message, `store: false` and `max_tokens` — no `user` field or anything else about the
/// person.
pub(crate) async fn mount_openai_chat(
    server: &MockServer,
    key: &str,
    prompt: &str,
    max_tokens: u32,
    answer: &str,
) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .and(body_json(json!({
            "model": "gpt-5.6-luna",
            "messages": [{ "role": "user", "content": prompt }],
            "store": false,
            "max_completion_tokens": max_tokens
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_764_000_000,
            "model": "gpt-5.6-luna",
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": answer, "refusal": null },
                "finish_reason": "stop"
            }],
            "usage": { "prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9 }
        })))
        .mount(server)
        .await;
}

fn text_of(submission: &Submission) -> &str {
    match submission {
        Submission::Done(Output::Text { text, .. }) => text,
        other => panic!("text expected: {other:?}"),
    }
}

#[tokio::test]
async fn openai_without_a_zdr_contract_is_refused_whatever_retention_window_the_deployment_allows()
{
    // OpenAI keeps abuse-monitoring logs 30 days, and longer where it finds it necessary:
    // its terms give no bound, so no window, however long, admits it.
    for max_days in [0, 30, u32::MAX] {
        let server = MockServer::start().await;
        mount_openai_success(&server).await;
        let router = router(&server, None, max_days);
        let error = router
            .route(&request(), Some(&id("openai")))
            .await
            .expect_err("OpenAI's retention has no bound");
        assert_eq!(
            error,
            RouteError::NoCompliantProvider {
                requested: Some(id("openai")),
                refused: vec![(
                    id("openai"),
                    Refusal::Ineligible(
                        Ineligible::RetentionUnbounded,
                        Missing::RetentionBound {
                            at_most_days: max_days
                        }
                    )
                )],
            },
            "window {max_days}"
        );
        // Unnamed, the request goes to `local` — OpenAI never sees it.
        let routed = router.route(&request(), None).await.expect("local");
        assert_eq!(routed.provider, id("local"));
        assert!(
            server
                .received_requests()
                .await
                .expect("recorded")
                .is_empty()
        );
    }
}

#[tokio::test]
async fn with_a_zdr_contract_openai_takes_the_request_with_store_false() {
    let server = MockServer::start().await;
    mount_openai_success(&server).await;
    let router = router(&server, Some("ZDR-2026-11"), 0);
    for explicit in [Some(id("openai")), None] {
        let routed = router
            .route(&request(), explicit.as_ref())
            .await
            .expect("OpenAI is eligible");
        assert_eq!(routed.provider, id("openai"));
        assert_eq!(text_of(&routed.submission), "High, then low.");
    }
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);
}

#[tokio::test]
async fn a_failing_openai_falls_back_to_local_opens_its_breaker_and_closes_it_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "error": { "message": "overloaded", "type": "server_error", "param": null, "code": null }
        })))
        .mount(&server)
        .await;
    let router = router(&server, Some("ZDR-2026-11"), 0);
    // Two attempts (both 503) open OpenAI's circuit; the request falls back to local.
    let routed = router.route(&request(), None).await.expect("fell back");
    assert_eq!(routed.provider, id("local"));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);
    // Named explicitly while its circuit is open, OpenAI is not replaced by local.
    assert_eq!(
        router.route(&request(), Some(&id("openai"))).await,
        Err(RouteError::ProviderUnavailable { last: None })
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);
    // OpenAI recovers; after the cool-down one trial goes through and closes the circuit.
    server.reset().await;
    mount_openai_success(&server).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    for _ in 0..2 {
        let routed = router.route(&request(), None).await.expect("OpenAI again");
        assert_eq!(routed.provider, id("openai"));
    }
    assert_eq!(server.received_requests().await.expect("recorded").len(), 2);
}

#[tokio::test]
async fn a_content_policy_refusal_is_answered_not_rerouted_to_local() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": null, "refusal": "I can't help with that." },
                "finish_reason": "stop"
            }],
            "usage": { "prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5 }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let router = router(&server, Some("ZDR-2026-11"), 0);
    assert_eq!(
        router.route(&request(), None).await,
        Err(RouteError::Refused(ProviderError::ContentPolicy))
    );
}

/// OpenAI's answer for a model it shut down: its `ErrorResponse` with `model_not_found`.
fn model_not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "error": {
            "message": "The model `gpt-5.6-luna` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": null,
            "code": "model_not_found"
        }
    }))
}

#[tokio::test]
async fn a_retired_openai_model_falls_back_to_local_and_openai_is_not_asked_for_text_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(model_not_found())
        .expect(1)
        .mount(&server)
        .await;
    let router = router(&server, Some("ZDR-2026-11"), 0);
    // Unnamed: one attempt, no retry, and the request falls back to local.
    let routed = router.route(&request(), None).await.expect("fell back");
    assert_eq!(routed.provider, id("local"));
    // Named: OpenAI is not replaced, and not asked again for text.
    assert_eq!(
        router.route(&request(), Some(&id("openai"))).await,
        Err(RouteError::ProviderUnavailable { last: None })
    );
    let routed = router.route(&request(), None).await.expect("local again");
    assert_eq!(routed.provider, id("local"));
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
    // What the first, unnamed request would have answered had it named OpenAI: the
    // deployment's model is at fault, not the person's request.
    let fresh = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(model_not_found())
        .mount(&fresh)
        .await;
    let router = self::router(&fresh, Some("ZDR-2026-11"), 0);
    let error = router
        .route(&request(), Some(&id("openai")))
        .await
        .expect_err("no fallback for a named provider");
    assert_eq!(
        error,
        RouteError::ProviderUnavailable {
            last: Some(ProviderError::ModelUnavailable {
                kind: Capability::Text,
                setting: "text_model",
            })
        }
    );
}

#[tokio::test]
async fn through_the_api_a_retired_model_answers_provider_unavailable_not_bad_user_input() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(model_not_found())
        .expect(1)
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    let app = TestApp::spawn_with(|settings: &mut Settings| {
        settings.providers.set(OpenAiSettings {
            api_key: Some(SecretString::from(KEY)),
            base_url: base,
            zdr_contract: Some("ZDR-2026-11".to_owned()),
            ..OpenAiSettings::default()
        });
    })
    .await;
    let Person {
        access_token: token,
        ..
    } = app.person("retired-model@example.com").await;
    let generate = |input: serde_json::Value| {
        let token = token.clone();
        let app = &app;
        async move {
            app.graphql(
                Some(&token),
                "mutation G($input: GenerateTextInput!) { generateText(input: $input) { provider { id } } }",
                json!({ "input": input }),
            )
            .await
        }
    };
    let named = generate(json!({ "prompt": PROMPT, "provider": "openai" })).await;
    assert_eq!(code(&named), "PROVIDER_UNAVAILABLE", "{named}");
    let unnamed = generate(json!({ "prompt": PROMPT })).await;
    assert_eq!(
        unnamed["data"]["generateText"]["provider"]["id"], "local",
        "{unnamed}"
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}
