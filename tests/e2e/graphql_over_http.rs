//! The GraphQL-over-HTTP spec, case by case: status codes, media types and typed errors.

use serde_json::json;

use crate::support::app::TestApp;

const GRAPHQL_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

struct Case {
    name: &'static str,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    body: String,
    status: u16,
    response_type: &'static str,
    code: Option<&'static str>,
}

fn case(
    name: &'static str,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    body: impl Into<String>,
    status: u16,
    response_type: &'static str,
    code: Option<&'static str>,
) -> Case {
    Case {
        name,
        content_type,
        accept,
        body: body.into(),
        status,
        response_type,
        code,
    }
}

#[tokio::test]
async fn post_requests_get_the_specs_status_codes_and_typed_errors() {
    let app = TestApp::spawn().await;
    let valid = json!({ "query": "{ providers { id } }" }).to_string();
    let invalid_document = json!({ "query": "{ providers { nope } }" }).to_string();
    let syntax_error = json!({ "query": "{ providers { id " }).to_string();
    let unknown_operation =
        json!({ "query": "query A { providers { id } }", "operationName": "B" }).to_string();
    let wrong_variable = json!({ "query": "query Q($n: Int!) { __typename @include(if: $n) }", "variables": { "n": "x" } }).to_string();
    let wrong_variable_type = json!({ "query": "query Q($b: Boolean!) { providers @include(if: $b) { id } }", "variables": { "b": "yes" } }).to_string();
    let cases = [
        case(
            "valid, json",
            Some(JSON),
            Some(JSON),
            valid.clone(),
            200,
            JSON,
            None,
        ),
        case(
            "valid, graphql-response+json",
            Some(JSON),
            Some(GRAPHQL_JSON),
            valid.clone(),
            200,
            GRAPHQL_JSON,
            None,
        ),
        case(
            "valid, no Accept",
            Some(JSON),
            None,
            valid.clone(),
            200,
            JSON,
            None,
        ),
        case(
            "valid, */*",
            Some(JSON),
            Some("*/*"),
            valid.clone(),
            200,
            JSON,
            None,
        ),
        case(
            "valid, charset",
            Some("application/json; charset=utf-8"),
            Some(JSON),
            valid.clone(),
            200,
            JSON,
            None,
        ),
        case(
            "Accept nothing we make",
            Some(JSON),
            Some("text/csv"),
            valid.clone(),
            406,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "wrong content type",
            Some("text/plain"),
            Some(GRAPHQL_JSON),
            valid.clone(),
            415,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "graphql content type",
            Some("application/graphql"),
            Some(JSON),
            "{ providers { id } }",
            415,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "no content type",
            None,
            Some(JSON),
            valid.clone(),
            415,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "unparsable JSON",
            Some(JSON),
            Some(JSON),
            "{\"query\": ",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "unparsable JSON, graphql+json",
            Some(JSON),
            Some(GRAPHQL_JSON),
            "not json",
            400,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "JSON but not an object",
            Some(JSON),
            Some(JSON),
            "42",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "no query",
            Some(JSON),
            Some(JSON),
            "{}",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "query not a string",
            Some(JSON),
            Some(JSON),
            "{\"query\": {\"a\": 1}}",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "operationName not a string",
            Some(JSON),
            Some(JSON),
            "{\"query\": \"{ __typename }\", \"operationName\": 3}",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "variables not an object",
            Some(JSON),
            Some(JSON),
            "{\"query\": \"{ __typename }\", \"variables\": [1]}",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "invalid document, json",
            Some(JSON),
            Some(JSON),
            invalid_document.clone(),
            200,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "invalid document, graphql+json",
            Some(JSON),
            Some(GRAPHQL_JSON),
            invalid_document,
            400,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "syntax error, graphql+json",
            Some(JSON),
            Some(GRAPHQL_JSON),
            syntax_error.clone(),
            400,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "syntax error, json",
            Some(JSON),
            Some(JSON),
            syntax_error,
            200,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "unknown operation name",
            Some(JSON),
            Some(GRAPHQL_JSON),
            unknown_operation,
            400,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "variable of the wrong type",
            Some(JSON),
            Some(GRAPHQL_JSON),
            wrong_variable,
            400,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "variable value of the wrong type",
            Some(JSON),
            Some(GRAPHQL_JSON),
            wrong_variable_type,
            400,
            GRAPHQL_JSON,
            Some("BAD_USER_INPUT"),
        ),
        case(
            "empty batch",
            Some(JSON),
            Some(JSON),
            "[]",
            400,
            JSON,
            Some("BAD_USER_INPUT"),
        ),
    ];
    for case in cases {
        let answer = app
            .post_raw(case.content_type, case.accept, case.body)
            .await;
        assert_eq!(answer.status, case.status, "{}: {}", case.name, answer.text);
        assert!(
            answer.content_type.starts_with(case.response_type),
            "{}: content type {}",
            case.name,
            answer.content_type
        );
        let body = answer.json();
        match case.code {
            None => {
                assert!(body.get("errors").is_none(), "{}: {body}", case.name);
                assert_eq!(body["data"]["providers"][0]["id"], "local", "{}", case.name);
            }
            Some(code) => {
                assert_eq!(answer.first_code(), code, "{}: {body}", case.name);
                assert!(
                    body.get("data").is_none(),
                    "{}: a request error has no data: {body}",
                    case.name
                );
                let message = body["errors"][0]["message"].as_str().unwrap_or("");
                assert!(!message.is_empty(), "{}: errors have a message", case.name);
            }
        }
    }
}

#[tokio::test]
async fn a_batch_runs_every_operation_up_to_the_cap() {
    let app = TestApp::spawn_with(|settings| settings.graphql_max_batch = 3).await;
    let batch = json!([{ "query": "{ providers { id } }" }, { "query": "{ __typename }" }, { "query": "{ nope }" }]);
    let answer = app
        .post_raw(Some(JSON), Some(JSON), batch.to_string())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body[0]["data"]["providers"][0]["id"], "local");
    assert_eq!(body[1]["data"]["__typename"], "Query");
    assert_eq!(body[2]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let over = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let answer = app.post_raw(Some(JSON), Some(JSON), over.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.first_code(), "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_and_a_typed_error() {
    let app = TestApp::spawn_with(|settings| settings.max_body_bytes = 1024).await;
    let big = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(4096)) }).to_string();
    let answer = app.post_raw(Some(JSON), Some(GRAPHQL_JSON), big).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(answer.first_code(), "BAD_USER_INPUT");
    let fits = json!({ "query": "{ __typename }" }).to_string();
    assert_eq!(app.post_raw(Some(JSON), Some(JSON), fits).await.status, 200);
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations() {
    let app = TestApp::spawn().await;
    let answer = app
        .send(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", "{ providers { id } }")])
                .header("accept", GRAPHQL_JSON),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["data"]["providers"][0]["id"], "local");

    let answer = app
        .send(app.client.get(app.url("/graphql")).query(&[
            (
                "query",
                "query Q($b: Boolean!) { providers @include(if: $b) { id } }",
            ),
            ("variables", "{\"b\": true}"),
        ]))
        .await;
    assert_eq!(
        answer.json()["data"]["providers"][0]["id"],
        "local",
        "{}",
        answer.text
    );

    for (query, operation) in [
        ("mutation { x }", None),
        ("query A { __typename } mutation B { x }", Some("B")),
        ("subscription { x }", None),
    ] {
        let mut params = vec![("query", query)];
        if let Some(operation) = operation {
            params.push(("operationName", operation));
        }
        let answer = app
            .send(app.client.get(app.url("/graphql")).query(&params))
            .await;
        assert_eq!(answer.status, 405, "{query}: {}", answer.text);
        assert_eq!(
            answer.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("GET, POST")
        );
        assert_eq!(answer.first_code(), "BAD_USER_INPUT");
    }

    let answer = app
        .send(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", "{ __typename }"), ("variables", "{not json")]),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    let answer = app
        .send(app.client.get(app.url("/graphql")).header("accept", JSON))
        .await;
    assert_eq!(answer.status, 400, "no query: {}", answer.text);
}

#[tokio::test]
async fn other_methods_are_refused_with_405() {
    let app = TestApp::spawn().await;
    let answer = app
        .send(app.client.put(app.url("/graphql")).body("{}"))
        .await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.first_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn graphiql_is_served_to_browsers_in_development_only() {
    let dev = TestApp::spawn().await;
    let page = dev
        .send(
            dev.client
                .get(dev.url("/graphql"))
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        page.text.to_lowercase().contains("graphiql"),
        "{}",
        page.text
    );

    let production = TestApp::spawn_with(|settings| {
        settings.env = icecone_gateway::config::Environment::Production;
        settings.master_key_file = Some(write_key(&settings.data_dir));
        settings.smtp_url = Some("smtp://127.0.0.1:2525".to_owned().into());
        settings.mail_from = Some("IceCone <no-reply@icecone.example>".to_owned());
        settings.public_url = Some("https://icecone.example".to_owned());
        settings.dpo_contact = Some("dpo@icecone.example".to_owned());
    })
    .await;
    let answer = production
        .send(
            production
                .client
                .get(production.url("/graphql"))
                .header("accept", "text/html"),
        )
        .await;
    assert_ne!(answer.status, 200);
    assert!(!answer.text.to_lowercase().contains("graphiql"));
}

fn write_key(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("production.key");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).expect("key file");
    file.write_all(b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
        .expect("write");
    path
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_safe_one_is_kept() {
    let app = TestApp::spawn().await;
    let answer = app.get("/healthz").await;
    let id = answer
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let answer = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "trace-abc-123"),
        )
        .await;
    assert_eq!(
        answer
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-abc-123")
    );
    let answer = app
        .send(
            app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "alice@example.com"),
        )
        .await;
    let id = answer
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id");
    assert_ne!(id, "alice@example.com");
}
