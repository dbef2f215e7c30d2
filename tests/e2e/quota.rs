//! What a generation may use is reserved before the provider is called — a text's
//! `maxTokens` (or the configured default, which the provider is then held to) too — so
//! concurrent requests cannot pass the quota together; an unverified account gets a capped
//! quota and no video, and is erased once it stays unverified past
//! `ICECONE_UNVERIFIED_ACCOUNT_TTL`.

use std::time::Duration;

use chrono::Utc;
use icecone_core::identity::policy::CURRENT_POLICY_VERSION;
use icecone_core::usage::Period;
use serde_json::json;
use uuid::Uuid;

use crate::staff_console::actions;
use crate::support::app::{PASSWORD, Person, TestApp, code};

const TEXT: &str = "mutation T($i: GenerateTextInput!) { generateText(input: $i) { id \
    output { ... on TextOutput { text } } } }";
const IMAGE: &str = "mutation I($i: GenerateImageInput!) { generateImage(input: $i) { id } }";
const VIDEO: &str = "mutation V($i: GenerateVideoInput!) { generateVideo(input: $i) { id } }";

#[tokio::test]
async fn concurrent_texts_cannot_pass_the_token_quota_together() {
    let app = TestApp::spawn_with(|settings| settings.quota_tokens_per_month = 100).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("burst@example.com").await;
    // Each reserves 40 + 5 (18 characters of prompt) and uses 4 + 7 with `local`: ten
    // at once would use 110 if each only had to find a token left when it started.
    let answers = futures_util::future::join_all((0..10).map(|_| {
        app.graphql(
            Some(&token),
            TEXT,
            json!({ "i": { "prompt": "one two three four", "maxTokens": 40 } }),
        )
    }))
    .await;
    let succeeded = answers.iter().filter(|a| a.get("errors").is_none()).count();
    for answer in answers.iter().filter(|a| a.get("errors").is_some()) {
        assert_eq!(code(answer), "QUOTA_EXCEEDED", "{answer}");
    }
    assert!(succeeded >= 2, "{answers:?}");
    let used = app
        .db
        .store()
        .usage(account, &Period::of(Utc::now().date_naive()))
        .await
        .expect("usage");
    assert!(used.tokens <= 100, "{used:?} after {succeeded} texts");
    assert_eq!(
        used.tokens,
        11 * succeeded as u64,
        "each text is settled to what it used"
    );
}

#[tokio::test]
async fn a_text_without_max_tokens_is_held_to_the_configured_default() {
    let app = TestApp::spawn_with(|settings| settings.text_default_max_tokens = 2).await;
    let Person {
        access_token: token,
        ..
    } = app.person("short@example.com").await;
    let body = app
        .graphql(
            Some(&token),
            TEXT,
            json!({ "i": { "prompt": "a long answer please" } }),
        )
        .await;
    // `local` writes one token per word and stops at the limit it is sent.
    assert_eq!(
        body["data"]["generateText"]["output"]["text"], "Offline draft",
        "{body}"
    );
}

/// Signs up (the address stays unverified); answers the account id and its access token.
async fn unverified(app: &TestApp, email: &str) -> (Uuid, String) {
    let body = app
        .graphql(
            None,
            "mutation S($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
            json!({ "i": {
            "email": email,
            "password": PASSWORD,
            "acceptedPolicyVersion": CURRENT_POLICY_VERSION,
        } }),
        )
        .await;
    let token = body["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let me = app
        .graphql(Some(&token), "{ me { id emailVerified } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["emailVerified"], false, "{me}");
    let id = me["data"]["me"]["id"].as_str().expect("id");
    (Uuid::parse_str(id).expect("uuid"), token)
}

#[tokio::test]
async fn an_unverified_account_gets_a_capped_quota_and_no_video() {
    let app = TestApp::spawn_with(|settings| {
        settings.quota_images_per_month = 50;
        settings.quota_video_seconds_per_month = 600;
    })
    .await;
    let (_, token) = unverified(&app, "fresh@example.com").await;
    let video = app
        .graphql(
            Some(&token),
            VIDEO,
            json!({ "i": { "prompt": "waves", "durationSeconds": 1 } }),
        )
        .await;
    assert_eq!(code(&video), "QUOTA_EXCEEDED", "{video}");
    for n in 0..icecone_core::usage::UNVERIFIED_CEILING.images {
        let image = app
            .graphql(
                Some(&token),
                IMAGE,
                json!({ "i": { "prompt": format!("fox {n}") } }),
            )
            .await;
        assert!(image.get("errors").is_none(), "{image}");
    }
    let image = app
        .graphql(
            Some(&token),
            IMAGE,
            json!({ "i": { "prompt": "one more" } }),
        )
        .await;
    assert_eq!(code(&image), "QUOTA_EXCEEDED", "{image}");
    let usage = app
        .graphql(
            Some(&token),
            "{ me { usage { quota { images videoSeconds } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        usage["data"]["me"]["usage"]["quota"],
        json!({ "images": 2, "videoSeconds": 0 }),
        "the person sees the capped quota"
    );

    // A verified person on the same plan has the plan's quota.
    let Person {
        access_token: verified,
        ..
    } = app.person("known@example.com").await;
    let video = app
        .graphql(
            Some(&verified),
            VIDEO,
            json!({ "i": { "prompt": "waves", "durationSeconds": 1 } }),
        )
        .await;
    assert!(video.get("errors").is_none(), "{video}");
}

#[tokio::test]
async fn accounts_left_unverified_past_the_ttl_are_erased_and_others_kept() {
    let app = TestApp::spawn().await;
    let (vault, _) = app.keys().await;
    let (stale, _) = unverified(&app, "never@example.com").await;
    let Person { id: kept, .. } = app.person("verified@example.com").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff_passed = Utc::now();
    let (young, _) = unverified(&app, "young@example.com").await;

    // Run as if the TTL had passed for accounts made before `cutoff_passed` only.
    let queued = icecone_app::erasure::unverified::purge_unverified(
        app.db.store(),
        &vault,
        Duration::from_millis(1),
        cutoff_passed,
    )
    .await
    .expect("the purge runs");
    assert_eq!(queued, 1);
    // A second run queues nothing twice.
    let again = icecone_app::erasure::unverified::purge_unverified(
        app.db.store(),
        &vault,
        Duration::from_millis(1),
        cutoff_passed,
    )
    .await
    .expect("the purge runs again");
    assert_eq!(again, 0);

    let store = app.db.store();
    for _ in 0..600 {
        if store.account(stale).await.expect("read").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        store.account(stale).await.expect("read").is_none(),
        "erased"
    );
    assert!(
        store.account(kept).await.expect("read").is_some(),
        "verified: kept"
    );
    assert!(
        store.account(young).await.expect("read").is_some(),
        "within the TTL: kept"
    );
    assert_eq!(actions(&app, "rights.erasure_unverified").await, 1);
}
