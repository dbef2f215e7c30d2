//! Trusted documents: the first-party app's registered documents run by their SHA-256
//! (Apollo's APQ wire format, POST and GET), unknown hashes and mismatched documents are
//! refused, and in production people may run only registered documents while partners and
//! staff run their own.

use std::path::{Path, PathBuf};

use icecone_core::trusted_documents::DocumentHash;
use icecone_gateway::config::{Environment, Settings};
use serde_json::{Value, json};

use crate::support::app::{Factor, TestApp, code};
use crate::websocket::Socket;

const ME: &str = "{ me { id email } }";
const SET_CONSENT: &str =
    "mutation S($p: Purpose!) { setConsent(purpose: $p, granted: true) { purpose granted } }";

fn hash(text: &str) -> String {
    DocumentHash::of(text).to_string()
}

/// Writes a manifest of `documents` (hash → text, as graphql-codegen writes it).
fn manifest(dir: &Path, documents: &[&str]) -> PathBuf {
    let entries: serde_json::Map<String, Value> = documents
        .iter()
        .map(|text| (hash(text), Value::String((*text).to_owned())))
        .collect();
    let path = dir.join("persisted-documents.json");
    std::fs::write(&path, Value::Object(entries).to_string()).expect("manifest written");
    path
}

fn persisted(text_hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": text_hash } })
}

/// POSTs `body` to /graphql with the `Authorization` value `authorization`: status, body.
async fn post(app: &TestApp, authorization: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(body.to_string());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let answer = app.send(request).await;
    (answer.status, answer.json())
}

#[tokio::test]
async fn a_registered_hash_runs_and_an_unknown_hash_is_not_found() {
    let app = TestApp::spawn_with(|settings| {
        settings.trusted_documents_file = Some(manifest(&settings.data_dir, &[ME, SET_CONSENT]));
    })
    .await;
    let person = app.person("ada@example.com").await;
    let bearer = format!("Bearer {}", person.access_token);

    let (status, body) = post(
        &app,
        Some(&bearer),
        json!({ "extensions": persisted(&hash(ME)) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["email"], "ada@example.com", "{body}");

    // A registered mutation by hash, with variables.
    let (_, body) = post(
        &app,
        Some(&bearer),
        json!({ "extensions": persisted(&hash(SET_CONSENT)), "variables": { "p": "MARKETING" } }),
    )
    .await;
    assert_eq!(body["data"]["setConsent"]["granted"], true, "{body}");
    // Once validated, a registered document runs under fast validation: its variables are
    // still checked, and a wrong or missing one still runs nothing.
    for variables in [
        json!({ "p": "NOT_A_PURPOSE" }),
        json!({}),
        json!({ "p": 3 }),
    ] {
        let (_, body) = post(
            &app,
            Some(&bearer),
            json!({ "extensions": persisted(&hash(SET_CONSENT)), "variables": variables }),
        )
        .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{variables}: {body}");
        assert!(body["data"]["setConsent"].is_null(), "{variables}: {body}");
    }
    let (_, body) = post(
        &app,
        Some(&bearer),
        json!({ "extensions": persisted(&hash(SET_CONSENT)), "variables": { "p": "ANALYTICS" } }),
    )
    .await;
    assert_eq!(body["data"]["setConsent"]["purpose"], "ANALYTICS", "{body}");

    // An unknown hash: what Apollo's APQ clients expect, so that they send the document.
    let unknown = hash("{ me { id } }");
    let (status, body) = post(
        &app,
        Some(&bearer),
        json!({ "extensions": persisted(&unknown) }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(body.get("data").is_none(), "nothing ran: {body}");

    // The same over GET, with the extensions as JSON text in the query string.
    for (extension, expected) in [
        (hash(ME), None),
        (unknown, Some("PERSISTED_QUERY_NOT_FOUND")),
    ] {
        let answer = app
            .send(
                app.client
                    .get(app.url("/graphql"))
                    .query(&[("extensions", persisted(&extension).to_string())])
                    .header("accept", "application/json")
                    .header("authorization", &bearer),
            )
            .await;
        let body = answer.json();
        match expected {
            None => assert_eq!(body["data"]["me"]["email"], "ada@example.com", "{body}"),
            Some(expected) => assert_eq!(code(&body), expected, "{body}"),
        }
    }

    // A registered mutation is still no GET operation.
    let answer = app
        .send(
            app.client
                .get(app.url("/graphql"))
                .query(&[("extensions", persisted(&hash(SET_CONSENT)).to_string())])
                .header("accept", "application/json")
                .header("authorization", &bearer),
        )
        .await;
    assert_eq!(answer.status, 405, "{}", answer.text);

    // A malformed extension is the client's error.
    for extension in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": hash(ME) } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        json!({ "persistedQuery": "yes" }),
    ] {
        let (_, body) = post(&app, Some(&bearer), json!({ "extensions": extension })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
}

#[tokio::test]
async fn a_document_whose_hash_does_not_match_is_refused() {
    let app = TestApp::spawn_with(|settings| {
        settings.trusted_documents_file = Some(manifest(&settings.data_dir, &[ME]));
    })
    .await;
    let person = app.person("ada@example.com").await;
    let bearer = format!("Bearer {}", person.access_token);

    // The registered hash with another document: refused, nothing runs.
    let (status, body) = post(
        &app,
        Some(&bearer),
        json!({
            "query": "mutation { setConsent(purpose: MARKETING, granted: true) { granted } }",
            "extensions": persisted(&hash(ME)),
        }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "provided sha does not match query"
    );
    let consents = person
        .graphql(&app, "{ me { consents { purpose granted } } }", json!({}))
        .await;
    let marketing = consents["data"]["me"]["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .find(|consent| consent["purpose"] == "MARKETING")
        .cloned()
        .expect("marketing listed");
    assert_eq!(marketing["granted"], false, "the mutation did not run");

    // The document with its own hash (an APQ client's second attempt) runs in development.
    let (_, body) = post(
        &app,
        Some(&bearer),
        json!({ "query": ME, "extensions": persisted(&hash(ME)) }),
    )
    .await;
    assert_eq!(body["data"]["me"]["email"], "ada@example.com", "{body}");
}

#[tokio::test]
async fn production_refuses_unregistered_documents_for_people_while_partners_and_staff_run_them() {
    let app = TestApp::spawn_with(|settings| {
        settings.env = Environment::Production;
        settings.master_key_file = Some(write_key(&settings.data_dir));
        settings.smtp_url = Some("smtp://127.0.0.1:2525".to_owned().into());
        settings.mail_from = Some("IceCone <no-reply@icecone.example>".to_owned());
        settings.public_url = Some("https://icecone.example".to_owned());
        settings.dpo_contact = Some("dpo@icecone.example".to_owned());
        settings.trusted_documents_file = Some(manifest(&settings.data_dir, &[ME]));
    })
    .await;
    let ada = app.register("ada@example.com").await;
    let bearer = format!("Bearer {}", app.mint_token(ada, Factor::None).await);

    // Registered: by hash, and as the full text.
    let (_, body) = post(
        &app,
        Some(&bearer),
        json!({ "extensions": persisted(&hash(ME)) }),
    )
    .await;
    assert_eq!(body["data"]["me"]["email"], "ada@example.com", "{body}");
    let (_, body) = post(&app, Some(&bearer), json!({ "query": ME })).await;
    assert_eq!(body["data"]["me"]["email"], "ada@example.com", "{body}");

    // Unregistered, for a person and for an anonymous caller: refused, nothing runs.
    let unregistered = "{ me { id } }";
    for (authorization, query) in [
        (Some(bearer.as_str()), unregistered),
        (
            Some(bearer.as_str()),
            "mutation { setConsent(purpose: MARKETING, granted: true) { granted } }",
        ),
        (None, "{ providers { id } }"),
    ] {
        let (status, body) = post(&app, authorization, json!({ "query": query })).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(code(&body), "TRUSTED_DOCUMENT_REQUIRED", "{query}: {body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    // Sending the unregistered text with its hash changes nothing.
    let (_, body) = post(
        &app,
        Some(&bearer),
        json!({ "query": unregistered, "extensions": persisted(&hash(unregistered)) }),
    )
    .await;
    assert_eq!(code(&body), "TRUSTED_DOCUMENT_REQUIRED", "{body}");

    // Staff write their own operations: an ADMIN creates a partner.
    let admin = app.admin("admin@example.com").await;
    let issued = app.create_partner(&admin.fresh, "Acme", &["PROFILE"]).await;
    // A partner runs an unregistered document within the limits.
    let (status, body) = post(
        &app,
        Some(&format!("ApiKey {}", issued.key)),
        json!({ "query": "{ providers { id } }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["providers"].is_array(), "{body}");
    // ... and the limits still hold for it.
    let deep = format!(
        "{{ providers {{ id }} {} }}",
        "a: providers { id } ".repeat(40)
    );
    let (_, body) = post(
        &app,
        Some(&format!("ApiKey {}", issued.key)),
        json!({ "query": deep }),
    )
    .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

#[tokio::test]
async fn the_websocket_resolves_persisted_subscriptions_and_applies_the_same_rule() {
    const WATCH: &str = "subscription W($id: ID!) { generationUpdated(id: $id) { id status } }";
    let app = TestApp::spawn_with(|settings| {
        settings.env = Environment::Production;
        settings.master_key_file = Some(write_key(&settings.data_dir));
        settings.smtp_url = Some("smtp://127.0.0.1:2525".to_owned().into());
        settings.mail_from = Some("IceCone <no-reply@icecone.example>".to_owned());
        settings.public_url = Some("https://icecone.example".to_owned());
        settings.dpo_contact = Some("dpo@icecone.example".to_owned());
        settings.trusted_documents_file = Some(manifest(&settings.data_dir, &[WATCH, SET_CONSENT]));
    })
    .await;
    let ada = app.register("ada@example.com").await;
    let bearer = format!("Bearer {}", app.mint_token(ada, Factor::None).await);
    let mut socket = Socket::signed_in(&app, &bearer).await;
    let variables = json!({ "id": uuid::Uuid::new_v4().to_string() });
    for (id, payload, expected) in [
        (
            "unregistered",
            json!({ "query": "subscription { generationUpdated(id: \"x\") { id } }" }),
            "TRUSTED_DOCUMENT_REQUIRED",
        ),
        (
            "unknown",
            json!({ "extensions": persisted(&hash("subscription { x }")) }),
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        // Resolved before its type is looked at: a registered mutation is still no
        // subscription.
        (
            "mutation",
            json!({ "extensions": persisted(&hash(SET_CONSENT)), "variables": { "p": "MARKETING" } }),
            "BAD_USER_INPUT",
        ),
    ] {
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": payload }))
            .await;
        let answer = socket.next().await.expect("an answer");
        assert_eq!(answer["type"], "error", "{id}: {answer}");
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(
            answer["payload"][0]["extensions"]["code"], expected,
            "{answer}"
        );
    }
    // The registered subscription, by hash, runs (and finds no such generation).
    socket
        .send(json!({ "id": "watch", "type": "subscribe", "payload": {
            "extensions": persisted(&hash(WATCH)), "variables": variables,
        } }))
        .await;
    let answer = socket.next().await.expect("an answer");
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(answer["id"], "watch", "{answer}");
}

#[tokio::test]
async fn a_malformed_manifest_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().expect("dir");
    let me_hash = hash(ME);
    for (name, text) in [
        ("not JSON", "{".to_owned()),
        ("an array", json!([ME]).to_string()),
        (
            "a non-string document",
            json!({ me_hash.clone(): 1 }).to_string(),
        ),
        ("a key that is no hash", json!({ "me": ME }).to_string()),
        (
            "a key of another text",
            json!({ me_hash.clone(): "{ me { id } }" }).to_string(),
        ),
        ("a document that does not parse", {
            let text = "{ me { id ";
            json!({ hash(text): text }).to_string()
        }),
    ] {
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, text).expect("written");
        let settings = Settings {
            trusted_documents_file: Some(path),
            ..Settings::default()
        };
        let error = settings.resolve().expect_err(name).to_string();
        assert!(
            error.contains("ICECONE_TRUSTED_DOCUMENTS_FILE"),
            "{name}: {error}"
        );
    }
    let settings = Settings {
        trusted_documents_file: Some(dir.path().join("missing.json")),
        ..Settings::default()
    };
    assert!(
        settings.resolve().is_err(),
        "a missing manifest stops start-up"
    );
}

/// A production root key where the test helpers look for it (`master.key`).
fn write_key(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("master.key");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).expect("key file");
    file.write_all(b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
        .expect("write");
    path
}
