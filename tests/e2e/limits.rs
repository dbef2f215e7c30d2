use serde_json::json;

use crate::support::app::TestApp;

#[tokio::test]
async fn the_standard_introspection_query_is_answered() {
    let app = TestApp::spawn().await;
    let answer = app
        .query(icecone_gateway::graphql::INTROSPECTION_QUERY)
        .await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn over_limit_queries_answer_query_too_complex() {
    let app = TestApp::spawn_with(|settings| {
        settings.graphql_max_aliases = 2;
        settings.graphql_max_root_fields = 3;
        settings.graphql_max_depth = 2;
        settings.graphql_max_complexity = 8;
        settings.graphql_max_tokens = 40;
    })
    .await;
    let cases = [
        ("aliases", "{ a: __typename b: __typename c: __typename }".to_owned()),
        ("root fields", "{ __typename providers { id } p2: providers { id } p3: providers { id } }".to_owned()),
        ("depth", "{ providers { retention { kind } } }".to_owned()),
        ("complexity", "{ providers { id name capabilities trainingUse region sourceUrl verifiedOn available } }".to_owned()),
        ("tokens", format!("{{ {} }}", "__typename ".repeat(50))),
        ("introspection nesting", "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }".to_owned()),
    ];
    for (name, query) in cases {
        for accept in ["application/json", "application/graphql-response+json"] {
            let answer = app
                .post_raw(
                    Some("application/json"),
                    Some(accept),
                    json!({ "query": query }).to_string(),
                )
                .await;
            let expected_status = if accept == "application/json" {
                200
            } else {
                400
            };
            assert_eq!(
                answer.status, expected_status,
                "{name} ({accept}): {}",
                answer.text
            );
            assert_eq!(
                answer.first_code(),
                "QUERY_TOO_COMPLEX",
                "{name}: {}",
                answer.text
            );
            assert!(answer.json().get("data").is_none(), "{name}: nothing ran");
        }
    }
    let fine = app
        .query("{ a: __typename b: __typename providers { id } }")
        .await;
    assert!(fine.json().get("errors").is_none(), "{}", fine.text);
}
