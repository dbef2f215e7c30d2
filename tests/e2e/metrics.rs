//! Metrics: `/metrics` is off unless `metrics_listen` is set, and then served on its own
//! listener; counts move as requests are made; the `operation` label comes from a closed
//! set whatever a client names its operations, and no label carries request content.

use std::collections::BTreeMap;

use icecone_gateway::graphql::error::ErrorCode;
use icecone_gateway::metrics::operation::OperationNames;
use serde_json::json;

use crate::support::app::{Person, TestApp};

/// One line of the page: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Every series of a page in Prometheus's text format (comments skipped).
pub(crate) fn parse(page: &str) -> Vec<Series> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (head, value) = line.rsplit_once(' ').expect("a value");
            let value = match value {
                "+Inf" => f64::INFINITY,
                value => value.parse().unwrap_or_else(|_| panic!("a number: {line}")),
            };
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').expect("closing brace");
                    let labels = split_labels(inner);
                    (name.to_owned(), labels)
                }
                None => (head.to_owned(), BTreeMap::new()),
            };
            Series {
                name,
                labels,
                value,
            }
        })
        .collect()
}

/// `key="value",...`, values unescaped.
fn split_labels(inner: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "{inner}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                other => value.push(other),
            }
        }
        labels.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

/// The value of the series `name` with exactly `labels`, if the page has it.
pub(crate) fn value(page: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parse(page)
        .into_iter()
        .find(|series| series.name == name && series.labels == wanted)
        .map(|series| series.value)
}

/// Asserts that every label of every series on `page` comes from its allowed set, and
/// that none of `canaries` appears anywhere on it.
pub(crate) fn assert_labels_are_allowed(page: &str, canaries: &[&str]) {
    for canary in canaries {
        assert!(
            !page.contains(canary),
            "{canary} reached the metrics:\n{page}"
        );
    }
    let names = OperationNames::new(&icecone_gateway::graphql::sdl(), []);
    let operations = names.all();
    let codes: Vec<&str> = ErrorCode::ALL
        .iter()
        .map(|code| code.as_str())
        .chain([icecone_gateway::metrics::OK])
        .collect();
    let providers = [
        "local",
        "openai",
        "stability",
        "luma",
        "runway",
        "heygen",
        "bedrock",
    ];
    let kinds = [
        "video_generation",
        "rights.export",
        "rights.erasure",
        "other",
    ];
    for series in parse(page) {
        for (key, value) in &series.labels {
            let allowed = match key.as_str() {
                "operation" => operations.contains(&value.as_str()),
                "code" => codes.contains(&value.as_str()),
                "provider" => providers.contains(&value.as_str()),
                "error" => value.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "kind" => kinds.contains(&value.as_str()),
                "state" => ["queued", "running", "held"].contains(&value.as_str()),
                "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
                _ => false,
            };
            assert!(
                allowed,
                "label {key}={value:?} of {series:?} is not in its set"
            );
        }
    }
}

async fn with_metrics() -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await
}

#[tokio::test]
async fn metrics_are_off_unless_metrics_listen_is_set() {
    let app = TestApp::spawn().await;
    assert_eq!(app.metrics_address, None, "no listener without the setting");
    // Nor are they on the API's listener.
    assert_eq!(app.get("/metrics").await.status, 404);

    let app = with_metrics().await;
    let address = app.metrics_address.expect("a listener");
    assert_ne!(address, app.address, "the metrics have their own listener");
    let page = app.scrape().await;
    assert!(page.contains("# TYPE icecone_outbox_depth gauge"), "{page}");
    // The metrics listener serves nothing else.
    let graphql = app
        .send(app.client.post(format!("http://{address}/graphql")))
        .await;
    assert_eq!(graphql.status, 404);
}

#[tokio::test]
async fn requests_are_counted_by_operation_and_outcome_code_and_the_counts_move() {
    let app = with_metrics().await;
    for _ in 0..2 {
        assert_eq!(app.query("{ providers { id } }").await.status, 200);
    }
    let anonymous = app.query("query Mine { me { id } }").await;
    assert_eq!(anonymous.first_code(), "UNAUTHENTICATED");
    let page = app.scrape().await;
    let requests = |page: &str, operation: &str, code: &str| {
        value(
            page,
            "icecone_graphql_requests_total",
            &[("code", code), ("operation", operation)],
        )
    };
    assert_eq!(requests(&page, "providers", "OK"), Some(2.0), "{page}");
    assert_eq!(
        requests(&page, "me", "UNAUTHENTICATED"),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "icecone_graphql_errors_total",
            &[("code", "UNAUTHENTICATED"), ("operation", "me")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &page,
            "icecone_graphql_request_duration_seconds_count",
            &[("code", "OK"), ("operation", "providers")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &page,
            "icecone_graphql_errors_total",
            &[("code", "OK"), ("operation", "providers")]
        ),
        None,
        "an answer without errors is no error"
    );

    assert_eq!(app.query("{ providers { id } }").await.status, 200);
    let page = app.scrape().await;
    assert_eq!(
        requests(&page, "providers", "OK"),
        Some(3.0),
        "the count moved"
    );
    assert_labels_are_allowed(&page, &[]);
}

#[tokio::test]
async fn operation_labels_come_from_the_schema_whatever_the_client_names_its_operations() {
    let app = with_metrics().await;
    let canary = "carol.canary@example.com";
    // Operation names and aliases are the client's strings; so is an unknown field.
    for index in 0..20 {
        let answer = app
            .query(&format!(
                "query carol_canary_{index} {{ carol_alias_{index}: providers {{ id }} }}"
            ))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let unknown = app.query("{ carol_canary_field }").await;
    assert_eq!(unknown.first_code(), "BAD_USER_INPUT");
    let broken = app.query("{ carol_canary_broken ").await;
    assert_eq!(broken.first_code(), "BAD_USER_INPUT");
    let several = app
        .query("{ providers { id } privacyPolicy { version } }")
        .await;
    assert_eq!(several.status, 200, "{}", several.text);
    let _ = app
        .graphql(
            None,
            "query Q($e: String) { providers { id } }",
            json!({ "e": canary }),
        )
        .await;

    let page = app.scrape().await;
    assert_eq!(
        value(
            &page,
            "icecone_graphql_requests_total",
            &[("code", "OK"), ("operation", "providers")]
        ),
        Some(20.0),
        "twenty named operations are one series: {page}"
    );
    assert_eq!(
        value(
            &page,
            "icecone_graphql_requests_total",
            &[("code", "BAD_USER_INPUT"), ("operation", "providers")]
        ),
        Some(1.0),
        "an unused variable fails validation, under its root field's name: {page}"
    );
    assert_eq!(
        value(
            &page,
            "icecone_graphql_requests_total",
            &[("code", "BAD_USER_INPUT"), ("operation", "other")]
        ),
        Some(2.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "icecone_graphql_requests_total",
            &[("code", "OK"), ("operation", "other")]
        ),
        Some(1.0),
        "{page}"
    );
    assert_labels_are_allowed(&page, &[canary, "carol"]);
}

#[tokio::test]
async fn provider_calls_job_queues_the_outbox_and_throttle_refusals_are_reported() {
    let app = TestApp::spawn_with(|settings| {
        settings.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
        settings.local_video_delay = "10m".to_owned();
        settings.job_poll_interval_ms = 100;
    })
    .await;
    let canary_prompt = "dave.canary@example.com wrote this prompt";
    let Person {
        access_token: token,
        ..
    } = app.person("dave.canary@example.com").await;
    let text = app
        .graphql(
            Some(&token),
            "mutation G($input: GenerateTextInput!) { generateText(input: $input) { id } }",
            json!({ "input": { "prompt": canary_prompt, "provider": "local" } }),
        )
        .await;
    assert!(text["errors"].is_null(), "{text}");
    let video = app
        .graphql(
            Some(&token),
            "mutation V($input: GenerateVideoInput!) { generateVideo(input: $input) { id } }",
            json!({ "input": { "prompt": canary_prompt, "durationSeconds": 3 } }),
        )
        .await;
    assert!(video["errors"].is_null(), "{video}");
    // Anonymous messages to the DPO: five per client address, the sixth refused.
    let contact = "mutation C($i: PrivacyTicketInput!) { contactPrivacyOfficer(input: $i) { id } }";
    let mut codes = Vec::new();
    for index in 0..6 {
        let body = app
            .graphql(
                None,
                contact,
                json!({ "i": {
                    "email": format!("erin{index}.canary@example.com"),
                    "subject": "canary subject",
                    "message": canary_prompt,
                } }),
            )
            .await;
        codes.push(
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK")
                .to_owned(),
        );
    }
    assert_eq!(
        codes.last().map(String::as_str),
        Some("RATE_LIMITED"),
        "{codes:?}"
    );

    let page = app.scrape().await;
    assert!(
        value(
            &page,
            "icecone_provider_calls_total",
            &[("provider", "local")]
        )
        .is_some_and(|calls| calls >= 1.0),
        "{page}"
    );
    assert!(
        value(
            &page,
            "icecone_provider_call_duration_seconds_count",
            &[("provider", "local")]
        )
        .is_some_and(|calls| calls >= 1.0),
        "{page}"
    );
    assert_eq!(
        value(
            &page,
            "icecone_throttle_refusals_total",
            &[("operation", "contactPrivacyOfficer")]
        ),
        Some(1.0),
        "{page}"
    );
    let video_jobs: f64 = ["queued", "running", "held"]
        .iter()
        .map(|state| {
            value(
                &page,
                "icecone_job_queue_depth",
                &[("kind", "video_generation"), ("state", state)],
            )
            .expect("every state of every kind is reported")
        })
        .sum();
    assert_eq!(video_jobs, 1.0, "{page}");
    assert_eq!(
        value(
            &page,
            "icecone_job_queue_depth",
            &[("kind", "rights.export"), ("state", "queued")]
        ),
        Some(0.0),
        "an empty queue reports 0"
    );
    assert!(
        value(
            &page,
            "icecone_job_queue_oldest_age_seconds",
            &[("kind", "video_generation")]
        )
        .is_some_and(|age| age >= 0.0),
        "{page}"
    );
    // The messages' replies and the sign-up wait in the outbox or were delivered.
    assert!(
        value(&page, "icecone_outbox_depth", &[]).is_some(),
        "{page}"
    );
    assert_labels_are_allowed(&page, &[canary_prompt, "dave", "erin", "canary"]);
}
