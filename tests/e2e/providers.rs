use icecone_provider_heygen::HeyGenSettings;
use icecone_provider_luma::LumaSettings;
use icecone_provider_openai::OpenAiSettings;
use icecone_provider_runway::RunwaySettings;
use icecone_provider_stability::StabilitySettings;
use secrecy::SecretString;

use crate::support::app::{FRESH, Person, STALE, StaffMember, TestApp, codes};

const PROVIDER_FIELDS: &str = "{ providers { id name capabilities dataCategories trainingUse \
     retention { kind maxDays usualDays condition exceptions } zeroDataRetention \
     zeroDataRetentionArrangement zeroDataRetentionContract region sourceUrl verifiedOn \
     sources { claim url quote note verifiedOn } onwardProcessors { name purpose location } \
     available } }";

const OPENAI_DATA_CONTROLS: &str = "https://developers.openai.com/api/docs/guides/your-data";

/// The day the providers' pages were last read.
const READ_ON: &str = "2026-12-07";

/// Every claim a provider's policy makes, in the order `sources` lists them.
const CLAIMS: [&str; 6] = [
    "TRAINING_USE",
    "RETENTION",
    "ZERO_DATA_RETENTION",
    "OUTPUT_RETENTION",
    "REGION",
    "ONWARD_PROCESSORS",
];

/// Each source either quotes the sentence its claim rests on (at most 25 words) or says,
/// in its note, why nothing could be read.
fn assert_sources_quote_or_explain(id: &str, sources: &[serde_json::Value]) {
    let claims: Vec<&str> = sources
        .iter()
        .map(|source| source["claim"].as_str().expect("claim"))
        .collect();
    assert_eq!(claims, CLAIMS, "{id}");
    for source in sources {
        assert_eq!(source["verifiedOn"], READ_ON, "{id}: {source}");
        match source["quote"].as_str() {
            Some(quote) => assert!(
                (1..=25).contains(&quote.split_whitespace().count()),
                "{id}: {quote}"
            ),
            None => assert!(source["note"].is_string(), "{id}: {source}"),
        }
    }
}

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
        settings.providers.set(StabilitySettings {
            api_key: Some(SecretString::from("sk-stability-test")),
            base_url: base.clone(),
            ..StabilitySettings::default()
        });
        settings.providers.set(LumaSettings {
            api_key: Some(SecretString::from("luma-test-key")),
            base_url: base.clone(),
            ..LumaSettings::default()
        });
        settings.providers.set(RunwaySettings {
            api_key: Some(SecretString::from("runway-test-key")),
            base_url: base.clone(),
            // Runway grants no zero data retention by contract: a recorded contract changes
            // nothing of what is published or routed on.
            zdr_contract: Some("RW-ENTERPRISE-7".to_owned()),
            ..RunwaySettings::default()
        });
        settings.providers.set(HeyGenSettings {
            api_key: Some(SecretString::from("heygen-test-key")),
            base_url: base.clone(),
            avatar_id: Some("avatar-1".to_owned()),
            ..HeyGenSettings::default()
        });
    })
    .await;
    let answer = app
        .query(
            "{ providers { id capabilities trainingUse retention { kind } \
             zeroDataRetention zeroDataRetentionContract \
             outputRetention { kind maxHours } available sources { claim url quote note verifiedOn } } }",
        )
        .await;
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    // (id, capabilities, output retention, retention): none of them establishes in its
    // own text that it does not train on our data.
    let expected = [
        (
            "stability",
            serde_json::json!(["IMAGE"]),
            "UNKNOWN",
            "UNKNOWN",
        ),
        (
            "luma",
            serde_json::json!(["VIDEO"]),
            "DELETED_AFTER_FETCH",
            "UNKNOWN",
        ),
        (
            "runway",
            serde_json::json!(["VIDEO"]),
            "DELETED_AFTER_FETCH",
            "UNKNOWN",
        ),
        (
            "heygen",
            serde_json::json!(["VIDEO", "AVATAR_VIDEO"]),
            "DELETED_AFTER_FETCH",
            "UNBOUNDED",
        ),
    ];
    for (id, capabilities, output, retention) in expected {
        let published = provider(&body, id);
        assert_eq!(
            published["available"], true,
            "{id} has its key: {published}"
        );
        assert_eq!(published["capabilities"], capabilities, "{id}");
        assert_eq!(published["trainingUse"], "UNKNOWN", "{id}");
        assert_eq!(published["outputRetention"]["kind"], output, "{id}");
        assert_eq!(published["retention"]["kind"], retention, "{id}");
        assert_eq!(published["zeroDataRetention"], false, "{id}");
        assert_eq!(published["zeroDataRetentionContract"], false, "{id}");
        let sources = published["sources"].as_array().expect("sources");
        assert_sources_quote_or_explain(id, sources);
        for source in sources {
            let url = source["url"].as_str().expect("url");
            assert!(url.starts_with("https://"), "{id}: {url}");
        }
        // A training claim without the provider's own sentence is unknown, never a guess.
        assert_eq!(sources[0]["claim"], "TRAINING_USE");
        if id != "heygen" {
            assert!(sources[0]["quote"].is_null(), "{id}: {}", sources[0]);
        }
    }

    // Unknown training never meets the promise of no training: an image request that names
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
        [
            "local",
            "openai",
            "stability",
            "luma",
            "runway",
            "heygen",
            "bedrock"
        ]
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
        serde_json::json!({ "kind": "NONE", "maxDays": null, "usualDays": null, "condition": null, "exceptions": [] })
    );
    assert_eq!(local["onwardProcessors"], serde_json::json!([]));
    assert_eq!(local["zeroDataRetention"], true);
    assert_eq!(local["zeroDataRetentionArrangement"], "INHERENT");
    assert_eq!(local["available"], true);
    assert_eq!(local["sourceUrl"], "docs/providers.md#local");
    assert_eq!(local["verifiedOn"], READ_ON);
    assert_sources_quote_or_explain("local", local["sources"].as_array().expect("sources"));
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
            settings.providers.set(OpenAiSettings {
                api_key: Some(SecretString::from(KEY)),
                base_url: "http://127.0.0.1:9/v1".to_owned(),
                zdr_contract: contract.map(str::to_owned),
                ..OpenAiSettings::default()
            });
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
        assert_eq!(openai["verifiedOn"], READ_ON);
        let sources = openai["sources"].as_array().expect("sources");
        assert_sources_quote_or_explain("openai", sources);
        assert!(sources.iter().all(|s| s["quote"].is_string()), "{openai}");
        let processors = openai["onwardProcessors"].as_array().expect("disclosed");
        assert!(
            processors
                .iter()
                .any(|p| p["name"] == "Microsoft Corporation"),
            "{openai}"
        );
        match contract {
            None => {
                // 30 days by default, longer where OpenAI finds it necessary: no bound.
                assert_eq!(openai["retention"]["kind"], "UNBOUNDED");
                assert_eq!(openai["retention"]["maxDays"], serde_json::Value::Null);
                assert_eq!(openai["retention"]["usualDays"], 30);
                assert_eq!(
                    openai["retention"]["exceptions"].as_array().map(Vec::len),
                    Some(2),
                    "{openai}"
                );
                let condition = openai["retention"]["condition"]
                    .as_str()
                    .expect("condition");
                assert!(condition.contains("abuse-monitoring"), "{condition}");
                assert_eq!(openai["zeroDataRetention"], false);
                assert_eq!(openai["zeroDataRetentionContract"], false);
            }
            Some(reference) => {
                assert_eq!(openai["retention"]["kind"], "NONE");
                assert_eq!(openai["retention"]["maxDays"], serde_json::Value::Null);
                // The contract's documented exceptions are published with it.
                let exceptions = openai["retention"]["exceptions"].as_array().expect("list");
                assert!(
                    exceptions
                        .iter()
                        .any(|e| e.as_str().is_some_and(|e| e.contains("Safety Retention"))),
                    "{openai}"
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
    let app = TestApp::spawn_with(|settings| {
        settings.providers.set(OpenAiSettings {
            base_url: base_url.clone(),
            ..OpenAiSettings::default()
        });
    })
    .await;
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
            settings.providers.set(OpenAiSettings {
                base_url: base_url.clone(),
                zdr_contract: Some("ZDR-2026-7".to_owned()),
                ..OpenAiSettings::default()
            });
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

/// The table of one provider's claims as `docs/providers.md` shows it.
fn claims_table(provider: &serde_json::Value) -> String {
    let mut table =
        String::from("| claim | quoted sentence | URL | read on |\n| --- | --- | --- | --- |\n");
    for source in provider["sources"].as_array().expect("sources") {
        let claim = source["claim"]
            .as_str()
            .expect("claim")
            .to_lowercase()
            .replace('_', " ");
        let sentence = match (source["quote"].as_str(), source["note"].as_str()) {
            (Some(quote), Some(note)) => format!("\"{quote}\" ({note})"),
            (Some(quote), None) => format!("\"{quote}\""),
            (None, note) => format!("— not read: {}", note.unwrap_or("")),
        };
        table.push_str(&format!(
            "| {claim} | {} | {} | {} |\n",
            sentence.replace('|', "\\|"),
            source["url"].as_str().expect("url"),
            source["verifiedOn"].as_str().expect("date"),
        ));
    }
    table
}

#[tokio::test]
async fn docs_providers_md_tables_every_claim_with_its_quote_url_and_read_date() {
    let app = TestApp::spawn().await;
    let body = app
        .query("{ providers { id sources { claim url quote note verifiedOn } } }")
        .await
        .json();
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/providers.md"),
    )
    .expect("docs/providers.md");
    // `local`'s claims quote this page itself: each quote must be found there.
    let flat = docs.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut missing = String::new();
    for provider in body["data"]["providers"].as_array().expect("providers") {
        for source in provider["sources"].as_array().expect("sources") {
            if source["url"]
                .as_str()
                .is_some_and(|url| url.starts_with("docs/providers.md"))
            {
                let quote = source["quote"]
                    .as_str()
                    .expect("our own text is always read");
                assert!(
                    flat.contains(quote),
                    "docs/providers.md no longer says: {quote}"
                );
            }
        }
        let table = claims_table(provider);
        if !docs.contains(&table) {
            missing.push_str(&format!(
                "\n{}:\n{table}",
                provider["id"].as_str().unwrap_or("?")
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/providers.md lacks these claim tables (or has them out of date); \
         put each under its provider's heading:{missing}"
    );
}

/// The operator's agreement with Stability, as the subprocessors file holds it.
const STABILITY_AGREEMENT: &str = r#"
[[agreement]]
provider = "stability"
reference = "SA-ENT-2026-118"
signed_on = 2026-10-01
no_training = true
retention_days = 0
region = "EU"
"#;

#[tokio::test]
async fn an_agreement_excluding_training_makes_a_route_eligible_visibly_and_a_refusal_names_what_is_missing()
 {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(
            "/v2beta/stable-image/generate/core",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "image/png")
                .insert_header("finish-reason", "SUCCESS")
                .set_body_bytes(icecone_provider_http::testing::ONE_PIXEL_PNG.to_vec()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let files = tempfile::tempdir().expect("a directory");
    let file = files.path().join("subprocessors.toml");
    std::fs::write(&file, STABILITY_AGREEMENT).expect("the file");
    let base = server.uri();
    let app = TestApp::spawn_with(|settings| {
        settings.subprocessors_file = Some(file.clone());
        settings.providers.set(StabilitySettings {
            api_key: Some(SecretString::from("sk-stability-test")),
            base_url: base.clone(),
            ..StabilitySettings::default()
        });
        settings.providers.set(LumaSettings {
            api_key: Some(SecretString::from("luma-test-key")),
            base_url: base.clone(),
            ..LumaSettings::default()
        });
    })
    .await;

    // `providers` publishes the effective claims and the agreement that set them; the
    // quote still shows the provider's own terms.
    let body = app
        .query(
            "{ providers { id trainingUse retention { kind } region zeroDataRetentionContract \
             agreements { reference signedOn clauses { kind days region } } \
             models { kind model family } sources { claim quote agreement } } }",
        )
        .await
        .json();
    assert!(body.get("errors").is_none(), "{body}");
    let stability = provider(&body, "stability");
    assert_eq!(stability["trainingUse"], "NO", "{stability}");
    assert_eq!(stability["retention"]["kind"], "NONE", "{stability}");
    assert_eq!(stability["region"], "European Union", "{stability}");
    assert_eq!(stability["zeroDataRetentionContract"], false);
    assert_eq!(
        stability["agreements"],
        serde_json::json!([{
            "reference": "SA-ENT-2026-118",
            "signedOn": "2026-10-01",
            "clauses": [
                { "kind": "NO_TRAINING", "days": null, "region": null },
                { "kind": "RETENTION_AT_MOST_DAYS", "days": 0, "region": null },
                { "kind": "REGION", "days": null, "region": "EU" },
            ],
        }])
    );
    assert_eq!(
        stability["models"],
        serde_json::json!([{ "kind": "IMAGE", "model": "core", "family": "stability" }])
    );
    let set_by: Vec<(&str, &serde_json::Value)> = stability["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|source| {
            (
                source["claim"].as_str().expect("claim"),
                &source["agreement"],
            )
        })
        .collect();
    let agreed = serde_json::json!("SA-ENT-2026-118");
    let terms = serde_json::Value::Null;
    assert_eq!(
        set_by,
        [
            ("TRAINING_USE", &agreed),
            ("RETENTION", &agreed),
            ("ZERO_DATA_RETENTION", &terms),
            ("OUTPUT_RETENTION", &terms),
            ("REGION", &agreed),
            ("ONWARD_PROCESSORS", &terms),
        ]
    );
    // Luma has no agreement: its published terms stand.
    let luma = provider(&body, "luma");
    assert_eq!(luma["trainingUse"], "UNKNOWN");
    assert_eq!(luma["agreements"], serde_json::json!([]));

    // The agreement makes Stability eligible: an image named for it is generated there.
    let Person {
        access_token: token,
        ..
    } = app.person("picture-maker@example.com").await;
    let image = app
        .graphql(
            Some(&token),
            "mutation($input: GenerateImageInput!) { generateImage(input: $input) { id provider { id } status } }",
            serde_json::json!({ "input": { "prompt": "a lighthouse at dawn", "provider": "stability" } }),
        )
        .await;
    assert!(image.get("errors").is_none(), "{image}");
    assert_eq!(
        image["data"]["generateImage"]["provider"]["id"],
        "stability"
    );

    // Luma may not take a video, and the refusal says what it lacks.
    let video = app
        .graphql(
            Some(&token),
            "mutation($input: GenerateVideoInput!) { generateVideo(input: $input) { id } }",
            serde_json::json!({ "input": { "prompt": "waves", "provider": "luma" } }),
        )
        .await;
    let error = &video["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "NO_COMPLIANT_PROVIDER",
        "{video}"
    );
    assert_eq!(
        error["extensions"]["refused"],
        serde_json::json!([{ "provider": "luma", "missing": "NO_TRAINING" }]),
        "{video}"
    );
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.contains("luma needs terms or an agreement that exclude training"),
        "{message}"
    );

    // `/privacy` and `/privacy.json` show the agreement with its reference.
    let json = app
        .send(app.client.get(app.url("/privacy.json")))
        .await
        .json();
    assert_eq!(
        crate::privacy_page::schema_errors(&app, &json).await,
        Vec::<String>::new()
    );
    let published = json["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|provider| provider["id"] == "stability")
        .expect("stability");
    assert_eq!(published["trainingUse"], "NO");
    assert_eq!(published["agreements"][0]["reference"], "SA-ENT-2026-118");
    assert_eq!(
        published["agreements"][0]["clauses"],
        serde_json::json!([
            "our data is not used for training",
            "nothing is kept once a request is answered",
            "processing stays in the European Union",
        ])
    );
    assert_eq!(published["sources"][0]["agreement"], "SA-ENT-2026-118");
    let html = app.send(app.client.get(app.url("/privacy"))).await.text;
    assert!(html.contains("Our agreements with Stability AI"), "{html}");
    assert!(html.contains("SA-ENT-2026-118"));
}
