//! The generation pipeline over HTTP: text and images through `local` and text through the
//! OpenAI adapter (against a local mock), owner-only reads, lists, deletion and media,
//! bad input, quotas, routing refusals, restriction, encryption at rest, the retention
//! purge, personalisation from the history, and the provider's copy deleted without
//! holding up the local deletion.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use icecone_app::generation::Generations;
use icecone_app::generation::purge::{purge_expired, spawn_purge};
use icecone_app::providers::Entry;
use icecone_app::providers::router::{Router, RouterSettings};
use icecone_core::generation::GenerationKind;
use icecone_core::generation::GenerationStatus;
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, JobHandle, ProviderAdapter, ProviderError, ProviderFuture, RemoteDeletion,
    Submission,
};
use icecone_core::provider::policy::ProviderPolicy;
use icecone_core::usage::{Period, Plans, Quota, Usage};
use icecone_gateway::config::Settings;
use icecone_provider_openai::OpenAiSettings;
use icecone_store::generations::GenerationRecord;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::routing::mount_openai_chat;
use crate::support::app::{Answer, FRESH, Person, StaffMember, TestApp, code, codes};

const GENERATION_FIELDS: &str = "id kind status prompt error createdAt \
    provider { id zeroDataRetention } \
    output { __typename ... on TextOutput { text } ... on MediaOutput { url mimeType } }";

fn generate_text_query() -> String {
    format!(
        "mutation G($input: GenerateTextInput!) {{ generateText(input: $input) {{ {GENERATION_FIELDS} }} }}"
    )
}

fn generate_image_query() -> String {
    format!(
        "mutation G($input: GenerateImageInput!) {{ generateImage(input: $input) {{ {GENERATION_FIELDS} }} }}"
    )
}

fn generation_query() -> String {
    format!("query Q($id: ID!) {{ generation(id: $id) {{ {GENERATION_FIELDS} }} }}")
}

const DELETE: &str = "mutation D($id: ID!) { deleteGeneration(id: $id) }";
const LIST: &str = "query L($first: Int, $after: String) { me { generations(first: $first, after: $after) { \
    edges { cursor node { id kind prompt } } pageInfo { hasNextPage hasPreviousPage } } } }";
const PERSONALIZATION: &str =
    "{ me { personalization { favouriteKinds suggestedPrompts preferredProviders } } }";

async fn generate_text(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql(
        Some(token),
        &generate_text_query(),
        json!({ "input": input }),
    )
    .await
}

async fn generate_image(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql(
        Some(token),
        &generate_image_query(),
        json!({ "input": input }),
    )
    .await
}

/// The generation a mutation answered, asserting it has no errors.
fn generated<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body.get("errors").is_none(), "{body}");
    &body["data"][field]
}

fn id_of(generation: &Value) -> String {
    generation["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {generation}"))
        .to_owned()
}

async fn media(app: &TestApp, path: &str, token: Option<&str>) -> (Answer, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await.expect("a body").to_vec();
    let answer = Answer {
        status,
        content_type,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    };
    (answer, bytes)
}

fn header_of<'a>(answer: &'a Answer, name: &str) -> &'a str {
    answer
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn text_and_image_generation_work_end_to_end_through_local() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("gen@example.com").await;

    let body = generate_text(
        &app,
        &token,
        json!({ "prompt": "three calm words", "maxTokens": 20 }),
    )
    .await;
    let text = generated(&body, "generateText");
    assert_eq!(text["kind"], "TEXT");
    assert_eq!(text["status"], "SUCCEEDED");
    assert_eq!(text["prompt"], "three calm words");
    assert_eq!(text["provider"]["id"], "local");
    assert_eq!(text["error"], Value::Null);
    assert_eq!(text["output"]["__typename"], "TextOutput");
    assert_eq!(
        text["output"]["text"],
        "Offline draft (3 words): words calm three"
    );

    let body = generate_image(
        &app,
        &token,
        json!({ "prompt": "a red fox", "provider": "local", "size": "LANDSCAPE" }),
    )
    .await;
    let image = generated(&body, "generateImage");
    assert_eq!(image["kind"], "IMAGE");
    assert_eq!(image["status"], "SUCCEEDED");
    assert_eq!(image["output"]["__typename"], "MediaOutput");
    assert_eq!(image["output"]["mimeType"], "image/png");
    let image_id = id_of(image);
    let url = image["output"]["url"].as_str().expect("a url").to_owned();
    assert_eq!(url, format!("/media/{image_id}"));

    let (answer, bytes) = media(&app, &url, Some(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.content_type, "image/png");
    assert_eq!(header_of(&answer, "cache-control"), "private, no-store");
    assert_eq!(header_of(&answer, "x-content-type-options"), "nosniff");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    // generation(id) answers the same generation to its owner.
    let body = app
        .graphql(
            Some(&token),
            &generation_query(),
            json!({ "id": id_of(text) }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(&body["data"]["generation"], text);

    // The list is newest first and pages with opaque cursors.
    let page = app.graphql(Some(&token), LIST, json!({ "first": 1 })).await;
    assert!(page.get("errors").is_none(), "{page}");
    let connection = &page["data"]["me"]["generations"];
    assert_eq!(connection["edges"][0]["node"]["id"], image_id.as_str());
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    let cursor = connection["edges"][0]["cursor"].as_str().expect("cursor");
    let rest = app
        .graphql(Some(&token), LIST, json!({ "first": 10, "after": cursor }))
        .await;
    let edges = &rest["data"]["me"]["generations"]["edges"];
    assert_eq!(edges.as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(edges[0]["node"]["id"], id_of(text).as_str());
    assert_eq!(edges[0]["node"]["prompt"], "three calm words");
    assert_eq!(
        rest["data"]["me"]["generations"]["pageInfo"]["hasNextPage"],
        false
    );
    for first in [0, 101] {
        let body = app
            .graphql(Some(&token), LIST, json!({ "first": first }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    let body = app
        .graphql(Some(&token), LIST, json!({ "after": "bm90LWEtY3Vyc29y" }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(app.db.count("generations").await, 2);
}

#[tokio::test]
async fn generations_are_read_served_and_deleted_by_their_owner_only() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: owner,
        ..
    } = app.person("owner@example.com").await;
    let Person {
        access_token: other,
        ..
    } = app.person("other@example.com").await;
    let body = generate_image(&app, &owner, json!({ "prompt": "a private sketch" })).await;
    let id = id_of(generated(&body, "generateImage"));
    let url = format!("/media/{id}");
    let unknown = uuid::Uuid::new_v4().to_string();

    // Someone else's id answers exactly like an unknown one.
    let theirs = app
        .graphql(Some(&other), &generation_query(), json!({ "id": id }))
        .await;
    let missing = app
        .graphql(Some(&other), &generation_query(), json!({ "id": unknown }))
        .await;
    assert_eq!(theirs, json!({ "data": { "generation": null } }));
    assert_eq!(theirs, missing);
    let malformed = app
        .graphql(
            Some(&other),
            &generation_query(),
            json!({ "id": "not-an-id" }),
        )
        .await;
    assert_eq!(malformed, missing);
    let anonymous = app
        .graphql(None, &generation_query(), json!({ "id": id }))
        .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let listed = app.graphql(Some(&other), LIST, json!({})).await;
    assert_eq!(
        listed["data"]["me"]["generations"]["edges"],
        json!([]),
        "{listed}"
    );

    // The media route answers 404 alike to anonymous callers, other people and unknown ids.
    for (path, token) in [
        (url.as_str(), None),
        (url.as_str(), Some(other.as_str())),
        (&format!("/media/{unknown}"), Some(owner.as_str())),
        ("/media/not-an-id", Some(owner.as_str())),
    ] {
        let (answer, _) = media(&app, path, token).await;
        assert_eq!(answer.status, 404, "{path} {token:?}");
        assert_eq!(answer.text, "not found");
        assert_eq!(header_of(&answer, "cache-control"), "private, no-store");
    }
    let (answer, _) = media(&app, &url, Some("not-a-token")).await;
    assert_eq!(answer.status, 401);

    // Deleting someone else's generation is refused as not found, and changes nothing.
    let refused = app.graphql(Some(&other), DELETE, json!({ "id": id })).await;
    assert_eq!(code(&refused), "NOT_FOUND", "{refused}");
    let refused_unknown = app
        .graphql(Some(&other), DELETE, json!({ "id": unknown }))
        .await;
    assert_eq!(
        refused["errors"][0]["message"],
        refused_unknown["errors"][0]["message"]
    );
    assert_eq!(media(&app, &url, Some(&owner)).await.0.status, 200);

    // The owner deletes it: the row and its media are gone.
    let deleted = app.graphql(Some(&owner), DELETE, json!({ "id": id })).await;
    assert_eq!(deleted["data"]["deleteGeneration"], true, "{deleted}");
    assert_eq!(app.db.count("generations").await, 0);
    assert_eq!(media(&app, &url, Some(&owner)).await.0.status, 404);
    let gone = app
        .graphql(Some(&owner), &generation_query(), json!({ "id": id }))
        .await;
    assert_eq!(gone, json!({ "data": { "generation": null } }));
    let again = app.graphql(Some(&owner), DELETE, json!({ "id": id })).await;
    assert_eq!(code(&again), "NOT_FOUND", "{again}");
}

#[tokio::test]
async fn empty_and_oversized_prompts_are_bad_user_input_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("input@example.com").await;
    let oversized = "x".repeat(32_001);
    for prompt in ["", "   \n", oversized.as_str()] {
        let body = generate_text(&app, &token, json!({ "prompt": prompt })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{prompt:?}");
        let body = generate_image(&app, &token, json!({ "prompt": prompt })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{prompt:?}");
        assert!(
            !body.to_string().contains("xxxxxxxxxx"),
            "the prompt is not echoed"
        );
    }
    for max_tokens in [0, -1, 40_000] {
        let body = generate_text(
            &app,
            &token,
            json!({ "prompt": "fine", "maxTokens": max_tokens }),
        )
        .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{max_tokens}");
    }
    assert_eq!(app.db.count("generations").await, 0);
    assert_eq!(app.db.count("usage_counters").await, 0);
}

#[tokio::test]
async fn generations_answer_quota_exceeded_once_the_months_quota_is_used_up() {
    let app = TestApp::spawn_with(|settings| {
        settings.quota_images_per_month = 1;
        settings.quota_tokens_per_month = 40;
    })
    .await;
    let Person {
        access_token: token,
        ..
    } = app.person("quota@example.com").await;
    let body = generate_image(&app, &token, json!({ "prompt": "one" })).await;
    generated(&body, "generateImage");
    let body = generate_image(&app, &token, json!({ "prompt": "two" })).await;
    assert_eq!(code(&body), "QUOTA_EXCEEDED", "{body}");
    assert_eq!(body["data"], Value::Null);

    // A text starts only when its reservation fits: `maxTokens` and its prompt's estimate
    // (20 + 6 of 40); it is then charged what it used (4 + 7), so 29 are left.
    let body = generate_text(
        &app,
        &token,
        json!({ "prompt": "four little words here", "maxTokens": 20 }),
    )
    .await;
    generated(&body, "generateText");
    let body = generate_text(&app, &token, json!({ "prompt": "more", "maxTokens": 29 })).await;
    assert_eq!(code(&body), "QUOTA_EXCEEDED", "{body}");
    assert_eq!(
        app.db.count("generations").await,
        2,
        "refusals store nothing"
    );

    // Another person's quota is their own.
    let Person {
        access_token: other,
        ..
    } = app.person("quota2@example.com").await;
    let body = generate_image(&app, &other, json!({ "prompt": "theirs" })).await;
    generated(&body, "generateImage");
}

#[tokio::test]
async fn the_quota_follows_the_plan_that_admin_sets_and_the_person_sees_their_usage() {
    use icecone_core::identity::roles::StaffRole;

    const SET_PLAN: &str = "mutation P($id: ID!, $p: Plan!, $r: String!) { \
        setAccountPlan(id: $id, plan: $p, reason: $r) { id plan } }";
    const USAGE: &str = "{ me { usage { period plan used { images } quota { images tokens } } } }";
    const REASON: &str = "order 2026-4711: upgraded to PRO";
    let app = TestApp::spawn_with(|settings| {
        settings.quota_images_per_month = 1;
        settings.pro_quota_images_per_month = 3;
    })
    .await;
    let StaffMember { id: admin, .. } = app
        .staff_member("root@icecone.example", StaffRole::Admin)
        .await;
    let StaffMember { id: support, .. } = app
        .staff_member("help@icecone.example", StaffRole::Support)
        .await;
    let admin = app.mint_token(admin, FRESH).await;
    let support_token = app.mint_token(support, FRESH).await;
    let Person {
        id: account,
        access_token: person,
        ..
    } = app.person("plan@example.com").await;

    generated(
        &generate_image(&app, &person, json!({ "prompt": "one" })).await,
        "generateImage",
    );
    let body = generate_image(&app, &person, json!({ "prompt": "two" })).await;
    assert_eq!(code(&body), "QUOTA_EXCEEDED", "{body}");
    let usage = app.graphql(Some(&person), USAGE, json!({})).await;
    let usage = &usage["data"]["me"]["usage"];
    assert_eq!(usage["plan"], "FREE");
    assert_eq!(usage["used"]["images"], 1);
    assert_eq!(usage["quota"]["images"], 1);
    assert_eq!(
        usage["period"],
        Period::of(Utc::now().date_naive()).as_str()
    );

    let variables = |id: String, plan: &str| json!({ "id": id, "p": plan, "r": REASON });
    let refused = app
        .graphql(
            Some(&support_token),
            SET_PLAN,
            variables(account.to_string(), "PRO"),
        )
        .await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    let on_staff = app
        .graphql(
            Some(&admin),
            SET_PLAN,
            variables(support.to_string(), "PRO"),
        )
        .await;
    assert_eq!(codes(&on_staff), ["FORBIDDEN"], "{on_staff}");
    let unknown = app
        .graphql(
            Some(&admin),
            SET_PLAN,
            variables(uuid::Uuid::new_v4().to_string(), "PRO"),
        )
        .await;
    assert_eq!(codes(&unknown), ["NOT_FOUND"], "{unknown}");
    let upgraded = app
        .graphql(
            Some(&admin),
            SET_PLAN,
            variables(account.to_string(), "PRO"),
        )
        .await;
    assert_eq!(
        upgraded["data"]["setAccountPlan"]["plan"], "PRO",
        "{upgraded}"
    );

    // The next request is held to the PRO quota; the month's usage carries over.
    generated(
        &generate_image(&app, &person, json!({ "prompt": "two" })).await,
        "generateImage",
    );
    let usage = app.graphql(Some(&person), USAGE, json!({})).await;
    assert_eq!(usage["data"]["me"]["usage"]["plan"], "PRO");
    assert_eq!(usage["data"]["me"]["usage"]["used"]["images"], 2);
    assert_eq!(usage["data"]["me"]["usage"]["quota"]["images"], 3);
    let trail = app.db.store().audit_page(None, 1000).await.expect("audit");
    let changes: Vec<_> = trail
        .iter()
        .filter(|row| row.action == "staff.set_plan")
        .collect();
    assert_eq!(
        changes.len(),
        1,
        "the change is recorded; the refusals changed nothing"
    );
    assert!(
        changes
            .iter()
            .any(|row| row.target.as_deref() == Some(&format!("account:{account}:plan:PRO")))
    );
}

#[tokio::test]
async fn a_named_provider_that_fails_the_promises_answers_no_compliant_provider() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let base = format!("{}/v1", server.uri());
    // OpenAI has a key but no zero-data-retention contract: it may keep prompts for 30
    // days, more than the default promise of 0 allows.
    let app = TestApp::spawn_with(|settings| {
        settings.providers.set(OpenAiSettings {
            api_key: Some(SecretString::from("sk-test-key")),
            base_url: base,
            ..OpenAiSettings::default()
        });
    })
    .await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("strict@example.com").await;
    let body = generate_text(
        &app,
        &token,
        json!({ "prompt": "keep me private", "provider": "openai" }),
    )
    .await;
    assert_eq!(code(&body), "NO_COMPLIANT_PROVIDER", "{body}");
    let body = generate_image(
        &app,
        &token,
        json!({ "prompt": "keep me private", "provider": "openai" }),
    )
    .await;
    assert_eq!(code(&body), "NO_COMPLIANT_PROVIDER", "{body}");
    for provider in ["nonexistent", "Not An Id"] {
        let body = generate_text(
            &app,
            &token,
            json!({ "prompt": "hello", "provider": provider }),
        )
        .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    assert_eq!(app.db.count("generations").await, 0);
    let period = Period::of(Utc::now().date_naive());
    assert_eq!(
        app.db.store().usage(account, &period).await.expect("usage"),
        Usage::default(),
        "the image reservation was given back"
    );
    // Unnamed, the request goes to `local`: OpenAI never sees it.
    let body = generate_text(&app, &token, json!({ "prompt": "keep me private" })).await;
    assert_eq!(generated(&body, "generateText")["provider"]["id"], "local");
}

#[tokio::test]
async fn openai_text_generation_sends_only_the_prompt_with_store_false() {
    const KEY: &str = "sk-generation-test-key";
    const PROMPT: &str = "Write one line about tides";
    let server = MockServer::start().await;
    // Answered only for the exact body: the model, the prompt as the only message,
    // `store: false`, the token limit — no `user`, e-mail, name or account id.
    mount_openai_chat(&server, KEY, PROMPT, 30, "The sea breathes in.").await;
    let base = format!("{}/v1", server.uri());
    let app = TestApp::spawn_with(|settings: &mut Settings| {
        settings.providers.set(OpenAiSettings {
            api_key: Some(SecretString::from(KEY)),
            base_url: base,
            zdr_contract: Some("ZDR-2026-001".to_owned()),
            ..OpenAiSettings::default()
        });
    })
    .await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("tides@example.com").await;
    let body = generate_text(
        &app,
        &token,
        json!({ "prompt": PROMPT, "provider": "openai", "maxTokens": 30 }),
    )
    .await;
    let generation = generated(&body, "generateText");
    assert_eq!(generation["provider"]["id"], "openai");
    assert_eq!(generation["provider"]["zeroDataRetention"], true);
    assert_eq!(generation["output"]["text"], "The sea breathes in.");
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    let sent = String::from_utf8_lossy(&requests[0].body).into_owned();
    for personal in ["tides@example.com", account.to_string().as_str()] {
        assert!(!sent.contains(personal), "{sent}");
    }
}

#[tokio::test]
async fn a_restricted_account_cannot_generate_but_still_reads_its_generations() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("restricted@example.com").await;
    let body = generate_text(&app, &token, json!({ "prompt": "before" })).await;
    let id = id_of(generated(&body, "generateText"));
    app.graphql(
        Some(&token),
        "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
        json!({}),
    )
    .await;
    let body = generate_text(&app, &token, json!({ "prompt": "after" })).await;
    assert_eq!(code(&body), "PROCESSING_RESTRICTED", "{body}");
    let body = generate_image(&app, &token, json!({ "prompt": "after" })).await;
    assert_eq!(code(&body), "PROCESSING_RESTRICTED", "{body}");
    assert_eq!(app.db.count("generations").await, 1);
    let own = app
        .graphql(Some(&token), &generation_query(), json!({ "id": id }))
        .await;
    assert_eq!(own["data"]["generation"]["prompt"], "before", "{own}");
}

#[tokio::test]
async fn prompts_outputs_and_media_are_stored_encrypted() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("sealed@example.com").await;
    let canary = "canaryprompt7d3f";
    let body = generate_text(&app, &token, json!({ "prompt": format!("{canary} words") })).await;
    let text = generated(&body, "generateText")["output"]["text"]
        .as_str()
        .expect("text")
        .to_owned();
    let body = generate_image(&app, &token, json!({ "prompt": canary })).await;
    let url = generated(&body, "generateImage")["output"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let (_, png) = media(&app, &url, Some(&token)).await;
    assert!(png.len() > 100, "a real image");

    let raw = app.db.raw_bytes().await;
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|window| window == needle);
    assert!(!contains(canary.as_bytes()), "the prompt is in clear");
    assert!(!contains(text.as_bytes()), "the text output is in clear");
    assert!(!contains(&png[16..png.len() - 12]), "the image is in clear");
}

#[tokio::test]
async fn the_purge_deletes_expired_generations_of_everyone_and_nothing_younger() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: first,
        ..
    } = app.person("purge1@example.com").await;
    let Person {
        access_token: second,
        ..
    } = app.person("purge2@example.com").await;
    generated(
        &generate_text(&app, &first, json!({ "prompt": "one" })).await,
        "generateText",
    );
    generated(
        &generate_image(&app, &second, json!({ "prompt": "two" })).await,
        "generateImage",
    );
    let store = app.db.store();
    let day = Duration::from_secs(86_400);
    let purged = purge_expired(store, day, Utc::now()).await.expect("purged");
    assert_eq!(purged, 0, "nothing younger than the window is purged");
    assert_eq!(app.db.count("generations").await, 2);
    let tomorrow = Utc::now() + chrono::TimeDelta::days(1) + chrono::TimeDelta::seconds(1);
    let purged = purge_expired(store, day, tomorrow).await.expect("purged");
    assert_eq!(purged, 2, "both people's expired generations");
    assert_eq!(app.db.count("generations").await, 0);
}

#[tokio::test]
async fn the_purge_job_deletes_generations_once_the_retention_window_passed() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("job@example.com").await;
    generated(
        &generate_text(&app, &token, json!({ "prompt": "soon gone" })).await,
        "generateText",
    );
    let job = spawn_purge(
        app.db.store().clone(),
        Duration::from_secs(1),
        Duration::from_millis(100),
    );
    let mut remaining = app.db.count("generations").await;
    for _ in 0..100 {
        if remaining == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        remaining = app.db.count("generations").await;
    }
    job.abort();
    assert_eq!(remaining, 0, "the job purged the expired generation");
}

#[tokio::test]
async fn personalization_reflects_the_persons_own_history_only_with_consent() {
    let app = TestApp::spawn().await;
    let Person {
        access_token: token,
        ..
    } = app.person("taste@example.com").await;
    let Person {
        access_token: other,
        ..
    } = app.person("elsewhere@example.com").await;
    generated(
        &generate_text(&app, &token, json!({ "prompt": "a haiku" })).await,
        "generateText",
    );
    generated(
        &generate_image(&app, &token, json!({ "prompt": "a red fox" })).await,
        "generateImage",
    );
    generated(
        &generate_text(&app, &token, json!({ "prompt": "a limerick" })).await,
        "generateText",
    );
    generated(
        &generate_image(&app, &other, json!({ "prompt": "not mine" })).await,
        "generateImage",
    );

    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert_eq!(code(&body), "CONSENT_REQUIRED", "{body}");
    assert_eq!(body["data"]["me"]["personalization"], Value::Null);

    app.set_consent(&token, "PERSONALIZATION", true).await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["me"]["personalization"],
        json!({
            "favouriteKinds": ["TEXT", "IMAGE"],
            "suggestedPrompts": ["a limerick", "a red fox", "a haiku"],
            "preferredProviders": ["local"],
        })
    );

    app.set_consent(&token, "PERSONALIZATION", false).await;
    let body = app.graphql(Some(&token), PERSONALIZATION, json!({})).await;
    assert_eq!(code(&body), "CONSENT_REQUIRED", "{body}");
}

/// A provider that keeps jobs: it records each request to delete one, and never answers it.
#[derive(Debug)]
struct KeepsJobs {
    id: ProviderId,
    deletions_asked: AtomicUsize,
}

impl ProviderAdapter for KeepsJobs {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    fn name(&self) -> &str {
        "keeps jobs"
    }
    fn policy(&self) -> &ProviderPolicy {
        &icecone_provider_local::POLICY
    }
    fn is_available(&self) -> bool {
        true
    }
    fn submit<'a>(&'a self, _: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
        Box::pin(std::future::ready(Err(ProviderError::UnsupportedOperation)))
    }
    fn delete_remote<'a>(&'a self, _: &'a JobHandle) -> ProviderFuture<'a, RemoteDeletion> {
        self.deletions_asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn deleting_asks_the_provider_to_delete_its_copy_without_waiting_for_it() {
    let app = TestApp::spawn().await;
    let account = app.register("remote@example.com").await;
    let (vault, _) = app.keys().await;
    let adapter = Arc::new(KeepsJobs {
        id: ProviderId::parse("keeps-jobs").expect("valid id"),
        deletions_asked: AtomicUsize::new(0),
    });
    let router = Router::new(
        vec![Entry::new(adapter.clone(), &[])],
        RouterSettings::new(0, Duration::from_secs(5)),
    );
    let store = app.db.store().clone();
    let generations = Generations::new(
        store.clone(),
        Arc::new(vault),
        Arc::new(router),
        Plans {
            free: Quota::default(),
            pro: Quota::default(),
        },
    );
    let now = Utc::now();
    let record = GenerationRecord {
        id: uuid::Uuid::new_v4(),
        account,
        kind: GenerationKind::Video,
        status: GenerationStatus::Succeeded,
        provider: ProviderId::parse("keeps-jobs").expect("provider id"),
        provider_job_id: Some("job-42".to_owned()),
        prompt_sealed: vec![1, 2, 3],
        text_sealed: None,
        media_type: Some("video/mp4".to_owned()),
        error_code: None,
        duration_seconds: Some(4),
        usage: Usage::default(),
        created_at: now,
        completed_at: Some(now),
        remote_copy: None,
        redactions: None,
    };
    store
        .insert_generation(&record, Some(vec![4, 5, 6]))
        .await
        .expect("stored");

    // The provider never answers, yet the local deletion completes at once.
    assert!(
        generations
            .delete(account, record.id)
            .await
            .expect("deleted")
    );
    assert_eq!(app.db.count("generations").await, 0);
    for _ in 0..100 {
        if adapter.deletions_asked.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(adapter.deletions_asked.load(Ordering::SeqCst), 1);
    assert!(
        !generations
            .delete(account, record.id)
            .await
            .expect("nothing left")
    );
}

/// The `suggestedPrompts` of `token`'s profile as `address` answers it.
async fn suggested_at(app: &TestApp, address: std::net::SocketAddr, token: &str) -> Vec<String> {
    let body: Value = app
        .send(
            app.client
                .post(format!("http://{address}/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(json!({ "query": PERSONALIZATION }).to_string()),
        )
        .await
        .json();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["me"]["personalization"]["suggestedPrompts"]
        .as_array()
        .unwrap_or_else(|| panic!("a profile: {body}"))
        .iter()
        .map(|prompt| prompt.as_str().expect("a prompt").to_owned())
        .collect()
}

/// Asks `address` until the profile's suggestions are `expected`, for at most twice the
/// read cache's TTL (the bound on seeing another instance's change); how long it took.
async fn until_suggested(
    app: &TestApp,
    address: std::net::SocketAddr,
    token: &str,
    expected: &[&str],
) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let suggested = suggested_at(app, address, token).await;
        if suggested == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < icecone_store::read_cache::READ_CACHE_TTL * 2,
            "still {suggested:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_cached_profile_follows_new_deleted_and_purged_generations_on_any_instance() {
    let app = TestApp::spawn().await;
    let other = app.another_instance(|_| {}).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("cached.taste@example.com").await;
    app.set_consent(&token, "PERSONALIZATION", true).await;
    assert!(suggested_at(&app, app.address, &token).await.is_empty());

    // A generation made through this instance shows at once: its cache is dropped.
    generated(
        &generate_text(&app, &token, json!({ "prompt": "a haiku" })).await,
        "generateText",
    );
    assert_eq!(suggested_at(&app, app.address, &token).await, ["a haiku"]);
    // Served from the cache now, the same answer.
    assert_eq!(suggested_at(&app, app.address, &token).await, ["a haiku"]);

    // One made through the other instance: this one sees it once its account row is read
    // again (the history version changed in the same transaction).
    let body = app
        .send(
            app.client
                .post(format!("http://{other}/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(
                    json!({
                        "query": generate_text_query(),
                        "variables": { "input": { "prompt": "a sonnet" } },
                    })
                    .to_string(),
                ),
        )
        .await
        .json();
    let sonnet = generated(&body, "generateText")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    until_suggested(&app, app.address, &token, &["a sonnet", "a haiku"]).await;

    // Deleted through the other instance.
    let deleted: Value = app
        .send(
            app.client
                .post(format!("http://{other}/graphql"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(json!({ "query": DELETE, "variables": { "id": sonnet } }).to_string()),
        )
        .await
        .json();
    assert_eq!(deleted["data"]["deleteGeneration"], true, "{deleted}");
    until_suggested(&app, app.address, &token, &["a haiku"]).await;

    // The retention purge, run by whichever instance (here: straight on the database).
    let purged = app
        .db
        .store()
        .purge_generations_before(chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    until_suggested(&app, app.address, &token, &[]).await;
    let version = app
        .db
        .store()
        .account(account)
        .await
        .expect("read")
        .expect("account")
        .history_version;
    assert_eq!(
        version, 4,
        "two inserts, a deletion and a purge each counted once"
    );
}
