use crate::helpers::TestApp;

#[tokio::test]
async fn providers_lists_the_local_adapter_with_its_policy() {
    let app = TestApp::spawn().await;
    let answer = app
        .query(
            "{ providers { id name capabilities trainingUse retention { kind maxDays condition } \
               zeroDataRetention region sourceUrl verifiedOn available } }",
        )
        .await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    let providers = body["data"]["providers"].as_array().expect("a list");
    assert_eq!(providers.len(), 1, "only `local` is configured: {body}");
    let local = &providers[0];
    assert_eq!(local["id"], "local");
    assert_eq!(local["capabilities"], serde_json::json!(["TEXT", "IMAGE"]));
    assert_eq!(local["trainingUse"], "NO");
    assert_eq!(
        local["retention"],
        serde_json::json!({ "kind": "NONE", "maxDays": null, "condition": null })
    );
    assert_eq!(local["zeroDataRetention"], true);
    assert_eq!(local["available"], true);
    assert_eq!(local["sourceUrl"], "docs/providers.md#local");
    assert_eq!(local["verifiedOn"], "2026-11-28");
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
