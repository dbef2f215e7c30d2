//! Real-browser tests in headless Chromium (see `support::browser`; skipped, saying so,
//! where Chromium is not installed unless `ICECONE_TEST_REQUIRE_BROWSER=1`): a frontend
//! page on a second origin calls the gateway with `fetch`, and GraphiQL loads from the
//! gateway alone.

use serde_json::{Value, json};

use crate::support::app::{Person, TestApp};
use crate::support::browser::{Browser, frontend};

/// `fetch(api + path, init)` from the page: `{ ok, status, body }` or `{ ok: false, error }`
/// when the browser refused to hand the answer to the page.
const FETCH: &str = r#"
const [url, init, done] = arguments;
fetch(url, init)
  .then(async (answer) => done({ ok: true, status: answer.status, body: await answer.text() }))
  .catch((error) => done({ ok: false, error: String(error) }));
"#;

/// Fetches an image with the bearer token, shows it in an `<img>` through a blob URL and
/// answers its decoded size.
const SHOW_IMAGE: &str = r#"
const [url, token, done] = arguments;
(async () => {
  const answer = await fetch(url, { headers: { Authorization: "Bearer " + token } });
  const blob = await answer.blob();
  const image = document.createElement("img");
  image.src = URL.createObjectURL(blob);
  document.body.appendChild(image);
  await image.decode();
  done({ ok: true, type: blob.type, width: image.naturalWidth, height: image.naturalHeight,
         shown: image.complete && image.getBoundingClientRect().width > 0 });
})().catch((error) => done({ ok: false, error: String(error) }));
"#;

fn graphql_init(token: &str, query: &str) -> Value {
    json!({
        "method": "POST",
        "headers": { "Content-Type": "application/json", "Authorization": format!("Bearer {token}") },
        "body": json!({ "query": query }).to_string(),
    })
}

fn refused_by_the_browser(result: &Value) {
    assert_eq!(
        result["ok"], false,
        "the page could read the answer: {result}"
    );
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "{result}"
    );
}

#[tokio::test]
async fn a_frontend_on_an_allowed_origin_calls_the_api_and_shows_media_and_another_origin_is_blocked()
 {
    let Some(browser) = Browser::start("browser: CORS").await else {
        return;
    };
    let allowed = frontend().await;
    let other = frontend().await;
    let listed = allowed.clone();
    let app = TestApp::spawn_with(move |settings| settings.cors_origins = Some(listed)).await;
    let person: Person = app.person("browser@example.com").await;
    let token = person.access_token.clone();
    let image = person
        .graphql(
            &app,
            "mutation { generateImage(input: { prompt: \"a red fox\", provider: \"local\" }) { id output { ... on MediaOutput { url } } } }",
            json!({}),
        )
        .await;
    let media = image["data"]["generateImage"]["output"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("an image: {image}"))
        .to_owned();

    browser.open(&format!("{allowed}/")).await;
    // JSON and `Authorization` are not CORS-safelisted: the browser asks first.
    let me = browser
        .run(
            FETCH,
            vec![
                json!(app.url("/graphql")),
                graphql_init(&token, "{ me { id email } }"),
            ],
        )
        .await;
    assert_eq!(me["ok"], true, "{me}");
    assert_eq!(me["status"], 200, "{me}");
    let body: Value = serde_json::from_str(me["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["data"]["me"]["id"], person.id.to_string(), "{body}");
    assert_eq!(body["data"]["me"]["email"], "browser@example.com", "{body}");

    // The preflight is what decides: a request header the gateway does not allow makes the
    // browser stop before sending the request.
    let unlisted_header = browser
        .run(
            FETCH,
            vec![
                json!(app.url("/graphql")),
                json!({
                    "method": "POST",
                    "headers": { "Content-Type": "application/json", "X-Not-Allowed": "1" },
                    "body": json!({ "query": "{ __typename }" }).to_string(),
                }),
            ],
        )
        .await;
    refused_by_the_browser(&unlisted_header);

    let shown = browser
        .run(
            SHOW_IMAGE,
            vec![json!(app.url(&media)), json!(token.clone())],
        )
        .await;
    assert_eq!(shown["ok"], true, "{shown}");
    assert_eq!(shown["type"], "image/png", "{shown}");
    assert!(shown["width"].as_u64().is_some_and(|w| w > 0), "{shown}");
    assert!(shown["height"].as_u64().is_some_and(|h| h > 0), "{shown}");
    assert_eq!(shown["shown"], true, "{shown}");

    // Another origin: the browser keeps every answer from the page, with a preflight or
    // without one.
    browser.open(&format!("{other}/")).await;
    let me = browser
        .run(
            FETCH,
            vec![
                json!(app.url("/graphql")),
                graphql_init(&token, "{ me { id } }"),
            ],
        )
        .await;
    refused_by_the_browser(&me);
    let health = browser
        .run(FETCH, vec![json!(app.url("/healthz")), json!({})])
        .await;
    refused_by_the_browser(&health);
    let shown = browser
        .run(SHOW_IMAGE, vec![json!(app.url(&media)), json!(token)])
        .await;
    refused_by_the_browser(&shown);
}

#[tokio::test]
async fn graphiql_loads_everything_from_the_gateway_itself() {
    let Some(browser) = Browser::start("browser: GraphiQL").await else {
        return;
    };
    let app = TestApp::spawn().await;
    browser.open(&app.url("/graphql")).await;
    let loaded = browser
        .run(
            r#"
const done = arguments[arguments.length - 1];
const started = Date.now();
(function wait() {
  const container = document.querySelector(".graphiql-container");
  const editor = document.querySelector(".graphiql-query-editor");
  if (container && editor) {
    done({
      display: getComputedStyle(container).display,
      resources: performance.getEntriesByType("resource").map((entry) => entry.name),
      origin: location.origin,
    });
  } else if (Date.now() - started > 20000) {
    done({ timedOut: true, html: document.body.innerHTML.slice(0, 300) });
  } else {
    setTimeout(wait, 50);
  }
})();
"#,
            vec![],
        )
        .await;
    assert!(
        loaded.get("timedOut").is_none(),
        "GraphiQL did not render: {loaded}"
    );
    // Its stylesheet applied: GraphiQL lays itself out with flexbox.
    assert_eq!(loaded["display"], "flex", "{loaded}");
    let origin = loaded["origin"].as_str().expect("origin");
    let resources: Vec<&str> = loaded["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for file in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
    ] {
        assert!(
            resources.iter().any(|url| url.ends_with(file)),
            "{file} not loaded: {resources:?}"
        );
    }
    for url in &resources {
        assert!(
            url.starts_with(&format!("{origin}/")) || url.starts_with("data:"),
            "a request left the gateway: {url}"
        );
    }
}
