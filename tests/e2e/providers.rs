use secrecy::SecretString;

use crate::support::app::{FRESH, Person, STALE, StaffMember, TestApp, codes};

const PROVIDER_FIELDS: &str = "{ providers { id name capabilities dataCategories trainingUse \
     retention { kind maxDays condition } zeroDataRetention zeroDataRetentionArrangement \
     zeroDataRetentionContract region sourceUrl verifiedOn sources { claim url verifiedOn } \
     available } }";

const OPENAI_DATA_CONTROLS: &str = "https://platform.openai.com/docs/guides/your-data";

fn provider<'a>(body: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    body["data"]["providers"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} is listed: {body}"))
}

#[tokio::test]
async fn image_and_video_providers_publish_their_sourced_policies_and_are_refused_where_they_may_train()
 {
    let server = wiremock::MockServer::start().await;
    // Any request reaching a provider would be answered 500 and counted: none may arrive.
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let base = server.uri();
    let app = TestApp::spawn_with(|settings| {
        settings.stability_api_key = Some(SecretString::from("sk-stability-test"));
        settings.stability_base_url = base.clone();
        settings.luma_api_key = Some(SecretString::from("luma-test-key"));
        settings.luma_base_url = base.clone();
        settings.runway_api_key = Some(SecretString::from("runway-test-key"));
        settings.runway_base_url = base.clone();
        settings.heygen_api_key = Some(SecretString::from("heygen-test-key"));
        settings.heygen_base_url = base.clone();
        settings.heygen_avatar_id = Some("avatar-1".to_owned());
        // Runway grants no zero data retention by contract: a recorded contract changes
        // nothing of what is published or routed on.
        settings.runway_zdr_contract = Some("RW-ENTERPRISE-7".to_owned());
    })
    .await;
    let answer = app
        .query(
            "{ providers { id capabilities trainingUse retention { kind } \
             zeroDataRetention zeroDataRetentionContract \
             outputRetention { kind maxHours } available sources { claim url verifiedOn } } }",
        )
        .await;
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    // (id, capabilities, training use, output retention)
    let expected = [
        ("stability", serde_json::json!(["IMAGE"]), "YES", "INLINE"),
        (
            "luma",
            serde_json::json!(["VIDEO"]),
            "YES",
            "DELETED_AFTER_FETCH",
        ),
        (
            "runway",
            serde_json::json!(["VIDEO"]),
            "YES",
            "DELETED_AFTER_FETCH",
        ),
        (
            "heygen",
            serde_json::json!(["VIDEO", "AVATAR_VIDEO"]),
            "UNKNOWN",
            "DELETED_AFTER_FETCH",
        ),
    ];
    for (id, capabilities, training, output) in expected {
        let published = provider(&body, id);
        assert_eq!(
            published["available"], true,
            "{id} has its key: {published}"
        );
        assert_eq!(published["capabilities"], capabilities, "{id}");
        assert_eq!(published["trainingUse"], training, "{id}");
        assert_eq!(published["outputRetention"]["kind"], output, "{id}");
        assert_eq!(published["retention"]["kind"], "UNKNOWN", "{id}");
        assert_eq!(published["zeroDataRetention"], false, "{id}");
        assert_eq!(published["zeroDataRetentionContract"], false, "{id}");
        let sources = published["sources"].as_array().expect("sources");
        let claims: Vec<&str> = sources
            .iter()
            .map(|source| source["claim"].as_str().expect("claim"))
            .collect();
        assert_eq!(
            claims,
            [
                "TRAINING_USE",
                "RETENTION",
                "ZERO_DATA_RETENTION",
                "OUTPUT_RETENTION",
                "REGION"
            ],
            "{id}"
        );
        for source in sources {
            let url = source["url"].as_str().expect("url");
            assert!(url.starts_with("https://"), "{id}: {url}");
            assert_eq!(source["verifiedOn"], "2026-11-29", "{id}");
        }
    }

    // Training "yes" never meets the promise of no training: an image request that names
    // Stability is refused before anything is sent (the mock expects no request).
    let Person {
        access_token: token,
        ..
    } = app.person("picture-maker@example.com").await;
    let body = app.graphql(Some(&token),
        "mutation($input: GenerateImageInput!) { generateImage(input: $input) { id } }",
        serde_json::json!({ "input": { "prompt": "a private picture", "provider": "stability" } }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NO_COMPLIANT_PROVIDER",
        "{body}"
    );
    assert_eq!(app.db.count("generations").await, 0);
}

#[tokio::test]
async fn providers_lists_the_local_adapter_with_its_policy() {
    let app = TestApp::spawn().await;
    let answer = app.query(PROVIDER_FIELDS).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    let ids: Vec<&str> = body["data"]["providers"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        ["local", "openai", "stability", "luma", "runway", "heygen"]
    );
    let local = provider(&body, "local");
    assert_eq!(
        local["capabilities"],
        serde_json::json!(["TEXT", "IMAGE", "VIDEO"])
    );
    assert_eq!(
        local["dataCategories"],
        serde_json::json!(["user.content.private"])
    );
    assert_eq!(local["trainingUse"], "NO");
    assert_eq!(
        local["retention"],
        serde_json::json!({ "kind": "NONE", "maxDays": null, "condition": null })
    );
    assert_eq!(local["zeroDataRetention"], true);
    assert_eq!(local["zeroDataRetentionArrangement"], "INHERENT");
    assert_eq!(local["available"], true);
    assert_eq!(local["sourceUrl"], "docs/providers.md#local");
    assert_eq!(local["verifiedOn"], "2026-11-29");
    // Without a key OpenAI is listed, with its policy, but cannot take requests.
    let openai = provider(&body, "openai");
    assert_eq!(openai["available"], false);
    assert_eq!(openai["trainingUse"], "NO");
}

#[tokio::test]
async fn providers_publishes_openai_effective_policy_with_and_without_a_zdr_contract() {
    const KEY: &str = "sk-e2e-sentinel-key-4242";
    for contract in [None, Some("ZDR-ORDER-2026-11")] {
        let app = TestApp::spawn_with(|settings| {
            settings.openai_api_key = Some(SecretString::from(KEY));
            settings.openai_base_url = "http://127.0.0.1:9/v1".to_owned();
            settings.openai_zdr_contract = contract.map(str::to_owned);
        })
        .await;
        let answer = app.query(PROVIDER_FIELDS).await;
        assert!(!answer.text.contains(KEY), "the key never comes back");
        let body = answer.json();
        assert!(body.get("errors").is_none(), "{body}");
        let openai = provider(&body, "openai");
        assert_eq!(openai["name"], "OpenAI");
        assert_eq!(openai["available"], true);
        assert_eq!(openai["capabilities"], serde_json::json!(["TEXT", "IMAGE"]));
        assert_eq!(openai["trainingUse"], "NO");
        assert_eq!(openai["zeroDataRetentionArrangement"], "BY_CONTRACT");
        assert_eq!(openai["region"], serde_json::Value::Null);
        assert_eq!(openai["sourceUrl"], OPENAI_DATA_CONTROLS);
        assert_eq!(openai["verifiedOn"], "2026-11-29");
        let sources = openai["sources"].as_array().expect("sources");
        let claims: Vec<&str> = sources
            .iter()
            .map(|s| s["claim"].as_str().expect("claim"))
            .collect();
        assert_eq!(
            claims,
            [
                "TRAINING_USE",
                "RETENTION",
                "ZERO_DATA_RETENTION",
                "OUTPUT_RETENTION",
                "REGION"
            ]
        );
        assert!(sources.iter().all(|s| s["url"] == OPENAI_DATA_CONTROLS));
        match contract {
            None => {
                assert_eq!(openai["retention"]["kind"], "DAYS");
                assert_eq!(openai["retention"]["maxDays"], 30);
                let condition = openai["retention"]["condition"]
                    .as_str()
                    .expect("condition");
                assert!(condition.contains("abuse-monitoring"), "{condition}");
                assert_eq!(openai["zeroDataRetention"], false);
                assert_eq!(openai["zeroDataRetentionContract"], false);
            }
            Some(reference) => {
                assert_eq!(
                    openai["retention"],
                    serde_json::json!({ "kind": "NONE", "maxDays": null, "condition": null })
                );
                assert_eq!(openai["zeroDataRetention"], true);
                assert_eq!(openai["zeroDataRetentionContract"], true);
                assert!(
                    !answer.text.contains(reference),
                    "the reference stays internal"
                );
            }
        }
    }
}

#[tokio::test]
async fn no_provider_field_can_return_a_secret() {
    let app = TestApp::spawn().await;
    let answer = app
        .query("{ __type(name: \"Provider\") { fields { name } } }")
        .await;
    let fields: Vec<String> = answer.json()["data"]["__type"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().unwrap_or("").to_lowercase())
        .collect();
    assert!(!fields.is_empty());
    for field in fields {
        assert!(
            !field.contains("key") && !field.contains("secret") && !field.contains("token"),
            "{field}"
        );
    }
}

#[tokio::test]
async fn an_openai_key_given_to_the_binary_never_reaches_its_output_its_schema_or_its_answers() {
    use crate::support::binary::{BinaryApp, free_port};

    const KEY: &str = "sk-binary-sentinel-key-9731";
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut gateway = BinaryApp::spawn(dir.path(), port, |command| {
        command
            .env("ICECONE_LOG", "debug")
            .env("ICECONE_OPENAI_API_KEY", KEY)
            .env("ICECONE_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
            .env("ICECONE_OPENAI_ZDR_CONTRACT", "ZDR-BINARY-1");
    });
    gateway.wait_until_healthy().await;
    let client = reqwest::Client::new();
    let mut answers = String::new();
    for path in [
        "/schema.graphql",
        "/graphql?query=%7B%20__schema%20%7B%20types%20%7B%20name%20%7D%20%7D%20%7D",
    ] {
        let answer = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .expect("answered");
        answers.push_str(&answer.text().await.expect("body"));
    }
    let providers = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&serde_json::json!({ "query": PROVIDER_FIELDS }))
        .send()
        .await
        .expect("providers")
        .text()
        .await
        .expect("body");
    answers.push_str(&providers);
    let body: serde_json::Value = serde_json::from_str(&providers).expect("JSON");
    let openai = provider(&body, "openai");
    assert_eq!(openai["available"], true, "ICECONE_OPENAI_API_KEY was read");
    assert_eq!(
        openai["zeroDataRetention"], true,
        "ICECONE_OPENAI_ZDR_CONTRACT was read"
    );
    assert!(gateway.terminate().success());
    let output = gateway.output();
    assert!(output.contains("AI provider adapter"), "{output}");
    assert!(!output.contains(KEY), "the key reached the logs: {output}");
    assert!(!answers.contains(KEY), "the key reached an answer");
}

const SET_CREDENTIAL: &str = "mutation S($p: ID!, $k: String!) { setProviderCredential(provider: $p, apiKey: $k) \
    { provider { id available } fingerprint setAt } }";

#[tokio::test]
async fn set_provider_credential_is_admin_only_write_only_and_reaches_every_instance() {
    use icecone_core::identity::roles::StaffRole;
    use serde_json::json;
    use wiremock::MockServer;

    use crate::routing::mount_openai_chat;

    const NEW_KEY: &str = "sk-set-at-run-time-5150-abcdef";
    let server = MockServer::start().await;
    let base_url = format!("{}/v1", server.uri());
    let app = TestApp::spawn_with(|settings| settings.openai_base_url = base_url.clone()).await;
    let StaffMember { id: admin, .. } = app
        .staff_member("root@icecone.example", StaffRole::Admin)
        .await;
    let StaffMember { id: support, .. } = app
        .staff_member("help@icecone.example", StaffRole::Support)
        .await;
    let fresh = app.mint_token(admin, FRESH).await;
    let stale = app.mint_token(admin, STALE).await;
    let support = app.mint_token(support, FRESH).await;
    let set = |token: String, provider: &str, key: &str| {
        let app = &app;
        let variables = json!({ "p": provider, "k": key });
        async move { app.graphql(Some(&token), SET_CREDENTIAL, variables).await }
    };

    assert_eq!(codes(&set(support, "openai", NEW_KEY).await), ["FORBIDDEN"]);
    assert_eq!(
        codes(&set(stale, "openai", NEW_KEY).await),
        ["REAUTHENTICATION_REQUIRED"]
    );
    assert_eq!(
        codes(&set(fresh.clone(), "local", NEW_KEY).await),
        ["BAD_USER_INPUT"]
    );
    assert_eq!(
        codes(&set(fresh.clone(), "nobody", NEW_KEY).await),
        ["NOT_FOUND"]
    );
    let short = set(fresh.clone(), "openai", "sk-1").await;
    assert_eq!(codes(&short), ["BAD_USER_INPUT"]);
    assert!(
        !short.to_string().contains("sk-1\""),
        "the key is not echoed: {short}"
    );
    assert!(
        app.db
            .store()
            .provider_credentials()
            .await
            .expect("read")
            .is_empty()
    );

    let body = set(fresh, "openai", NEW_KEY).await;
    assert!(codes(&body).is_empty(), "{body}");
    assert!(!body.to_string().contains(NEW_KEY), "write-only: {body}");
    let info = &body["data"]["setProviderCredential"];
    assert_eq!(
        info["provider"],
        json!({ "id": "openai", "available": true })
    );
    let fingerprint = info["fingerprint"].as_str().expect("fingerprint");
    assert!(fingerprint.starts_with("sha256:"), "{fingerprint}");

    // Stored sealed, audited by fingerprint, never in clear.
    let stored = app.db.store().provider_credentials().await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].fingerprint, fingerprint);
    let sealed = &stored[0].key_sealed;
    assert!(
        !sealed
            .windows(NEW_KEY.len())
            .any(|w| w == NEW_KEY.as_bytes())
    );
    let trail = app.db.store().audit_page(None, 1000).await.expect("audit");
    let entry = trail
        .iter()
        .find(|row| row.action == "provider.set_credential")
        .expect("audited");
    let target = entry.target.as_deref().unwrap_or_default();
    assert!(
        target.contains(fingerprint) && !target.contains(NEW_KEY),
        "{target}"
    );

    // Another instance on the same database, with no key in its own configuration, uses
    // the stored key from its start: its `providers` says so, and a generation through it
    // reaches OpenAI with that key.
    mount_openai_chat(&server, NEW_KEY, "Name a colour", 10, "Teal.").await;
    let second = app
        .another_instance(|settings| {
            settings.openai_base_url = base_url.clone();
            settings.openai_zdr_contract = Some("ZDR-2026-7".to_owned());
        })
        .await;
    let Person {
        access_token: person,
        ..
    } = app.person("gen@example.com").await;
    let on_second = |query: &str, variables: serde_json::Value| {
        app.client
            .post(format!("http://{second}/graphql"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {person}"))
            .body(json!({ "query": query, "variables": variables }).to_string())
    };
    let answer = app
        .send(on_second("{ providers { id available } }", json!({})))
        .await;
    assert!(!answer.text.contains(NEW_KEY));
    let providers = answer.json();
    assert_eq!(
        provider(&providers, "openai")["available"],
        true,
        "{providers}"
    );
    let generated = app
        .send(on_second(
            "mutation G($i: GenerateTextInput!) { generateText(input: $i) { status output { ... on TextOutput { text } } } }",
            json!({ "i": { "prompt": "Name a colour", "provider": "openai", "maxTokens": 10 } }),
        ))
        .await
        .json();
    assert_eq!(
        generated["data"]["generateText"]["output"]["text"], "Teal.",
        "{generated}"
    );
}
