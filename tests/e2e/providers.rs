use secrecy::SecretString;

use crate::helpers::TestApp;

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
    assert_eq!(ids, ["local", "openai"]);
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
            ["TRAINING_USE", "RETENTION", "ZERO_DATA_RETENTION", "REGION"]
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
    use std::process::Stdio;

    use crate::binary::{free_port, icecone, output_of, terminate, wait_until_healthy};

    const KEY: &str = "sk-binary-sentinel-key-9731";
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = icecone(dir.path())
        .env("ICECONE_LISTEN", format!("127.0.0.1:{port}"))
        .env("ICECONE_LOG", "debug")
        .env("ICECONE_OPENAI_API_KEY", KEY)
        .env("ICECONE_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("ICECONE_OPENAI_ZDR_CONTRACT", "ZDR-BINARY-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("icecone starts");
    wait_until_healthy(&mut child, port).await;
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
    assert!(terminate(&mut child).success());
    let output = output_of(&mut child);
    assert!(output.contains("AI provider adapter"), "{output}");
    assert!(!output.contains(KEY), "the key reached the logs: {output}");
    assert!(!answers.contains(KEY), "the key reached an answer");
}
