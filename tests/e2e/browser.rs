//! Real-browser tests in headless Chromium (see `support::browser`; skipped, saying so,
//! where Chromium is not installed unless `ICECONE_TEST_REQUIRE_BROWSER=1`): a frontend
//! page on a second origin calls the gateway with `fetch`, and GraphiQL loads from the
//! gateway alone; the privacy page renders its facts from the gateway alone.

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

/// `fetch` on the cookie transport from the page: the request a browser frontend sends,
/// with the browser's cookies (`credentials: "include"`); `{ ok, status, body, cookies }`
/// where `cookies` is what scripts of the page can read (`document.cookie`).
const COOKIE_FETCH: &str = r#"
const [url, query, variables, done] = arguments;
fetch(url, {
  method: "POST",
  credentials: "include",
  headers: { "Content-Type": "application/json", "X-IceCone-Session": "cookie" },
  body: JSON.stringify({ query, variables }),
})
  .then(async (answer) => done({ ok: true, status: answer.status, body: await answer.text(),
                                 cookies: document.cookie }))
  .catch((error) => done({ ok: false, error: String(error) }));
"#;

/// Submits an HTML form (`text/plain`, the one form encoding that can carry a JSON-looking
/// body) to `url` from the page: what a page on another origin can make a browser send.
const FORM_POST: &str = r#"
const [url, done] = arguments;
const form = document.createElement("form");
form.method = "POST";
form.action = url;
form.enctype = "text/plain";
const field = document.createElement("input");
field.name = '{"query":"mutation { logOut }","padding":"';
field.value = '"}';
form.appendChild(field);
document.body.appendChild(form);
form.submit();
done(true);
"#;

/// Runs a GraphQL operation from the page on the cookie transport: the answer's body and
/// what the page's scripts can read of its cookies.
async fn cookie_fetch(
    browser: &Browser,
    app: &TestApp,
    query: &str,
    variables: Value,
) -> (Value, String) {
    let result = browser
        .run(
            COOKIE_FETCH,
            vec![json!(app.url("/graphql")), json!(query), variables],
        )
        .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["status"], 200, "{result}");
    let text = result["body"].as_str().expect("a body");
    assert!(
        !text.contains("eyJ"),
        "no JWT in what the page reads: {text}"
    );
    (
        serde_json::from_str(text).expect("JSON"),
        result["cookies"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Submits [`FORM_POST`] from the current page and answers the text of the gateway's
/// answer, which the browser navigates to.
async fn form_post(browser: &Browser, app: &TestApp) -> String {
    let target = app.url("/graphql");
    browser.run(FORM_POST, vec![json!(target)]).await;
    for _ in 0..100 {
        let here = browser.client.current_url().await.expect("url");
        if here.as_str() == target {
            return browser.client.source().await.expect("the answer");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the form post did not navigate to {target}");
}

#[tokio::test]
async fn in_cookie_mode_the_page_signs_in_without_ever_reading_a_token_and_a_form_post_with_the_cookie_is_refused()
 {
    let Some(browser) = Browser::start("browser: cookie transport").await else {
        return;
    };
    // The frontend and the gateway are on the same site (http://127.0.0.1, ports apart),
    // as a frontend and its API are; a second page on that site is not an allowed origin,
    // and `localhost` is another site altogether.
    let allowed = frontend().await;
    let same_site = frontend().await;
    let cross_site = frontend().await.replace("127.0.0.1", "localhost");
    let listed = allowed.clone();
    let app = TestApp::spawn_with(move |settings| settings.cors_origins = Some(listed)).await;
    let account = app.register("cookie@example.com").await;

    browser.open(&format!("{allowed}/")).await;
    let (logged_in, cookies) = cookie_fetch(
        &browser,
        &app,
        "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { ... on AuthSession { accessToken refreshToken expiresAt } } }",
        json!({ "e": "cookie@example.com", "p": crate::support::app::PASSWORD }),
    )
    .await;
    let session = &logged_in["data"]["logIn"];
    assert!(session["expiresAt"].is_string(), "{logged_in}");
    assert!(session["accessToken"].is_null(), "{logged_in}");
    assert!(session["refreshToken"].is_null(), "{logged_in}");
    assert_eq!(cookies, "", "the session cookie is HttpOnly");
    // The browser stored the cookie (over plain HTTP on loopback, a secure context) and
    // sends it: the page is signed in.
    let (me, cookies) = cookie_fetch(&browser, &app, "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], account.to_string(), "{me}");
    assert_eq!(cookies, "");
    let (renewed, cookies) = cookie_fetch(
        &browser,
        &app,
        "mutation { refreshSession { accessToken refreshToken expiresAt } }",
        json!({}),
    )
    .await;
    assert!(
        renewed["data"]["refreshSession"]["accessToken"].is_null(),
        "{renewed}"
    );
    assert!(
        renewed["data"]["refreshSession"]["refreshToken"].is_null(),
        "{renewed}"
    );
    assert_eq!(cookies, "");
    let (me, _) = cookie_fetch(&browser, &app, "{ me { id } }", json!({})).await;
    assert_eq!(
        me["data"]["me"]["id"],
        account.to_string(),
        "after the rotation: {me}"
    );

    // A page on another site: SameSite=Strict keeps the cookie off its form post.
    browser.open(&format!("{cross_site}/")).await;
    let answer = form_post(&browser, &app).await;
    assert!(!answer.contains("\"logOut\":true"), "{answer}");
    // A page on the same site but not an allowed origin: the browser sends the cookie, and
    // the gateway refuses the simple request.
    browser.open(&format!("{same_site}/")).await;
    let answer = form_post(&browser, &app).await;
    assert!(answer.contains("FORBIDDEN"), "{answer}");
    assert!(!answer.contains("\"logOut\":true"), "{answer}");

    // The session is still live; the page logs out, which clears the cookie.
    browser.open(&format!("{allowed}/")).await;
    let (me, _) = cookie_fetch(&browser, &app, "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], account.to_string(), "{me}");
    let (out, _) = cookie_fetch(&browser, &app, "mutation { logOut }", json!({})).await;
    assert_eq!(out["data"]["logOut"], true, "{out}");
    let (me, _) = cookie_fetch(&browser, &app, "{ me { id } }", json!({})).await;
    assert_eq!(
        me["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "signed out: {me}"
    );
    let sessions = app.db.store().sessions_of(account).await.expect("sessions");
    assert_eq!(
        sessions
            .iter()
            .map(|s| s.revoked_reason.as_deref())
            .collect::<Vec<_>>(),
        [Some("logout")]
    );
}

#[tokio::test]
async fn the_privacy_page_renders_its_facts_in_a_browser_without_another_origin_or_a_console_error()
{
    let Some(browser) = Browser::start("browser: privacy page").await else {
        return;
    };
    let app = TestApp::spawn_with(|settings| {
        settings.dpo_contact = Some("Data Protection Officer <dpo@icecone.example>".to_owned());
        settings.encryption_algorithm = "aes256gcm".to_owned();
    })
    .await;
    // A page with an error first, so that reading the log is seen to work.
    browser.open(&app.url("/no-such-page")).await;
    let before = browser.console_entries().await;
    assert!(
        before.iter().any(|entry| entry["level"] == "SEVERE"
            && entry["message"].as_str().is_some_and(|m| m.contains("404"))),
        "the console log is not read: {before:?}"
    );
    browser.open(&app.url("/privacy")).await;
    let page = browser
        .run(
            r#"
const done = arguments[arguments.length - 1];
done({
  lang: document.documentElement.lang,
  title: document.title,
  h1: [...document.querySelectorAll("h1")].map((h) => h.textContent),
  h2: [...document.querySelectorAll("h2")].map((h) => h.textContent),
  text: document.body.innerText,
  tablesWithoutCaption: [...document.querySelectorAll("table")].filter((t) => !t.caption).length,
  tables: document.querySelectorAll("table").length,
  scripts: document.scripts.length,
  resources: performance.getEntriesByType("resource").map((entry) => entry.name),
  origin: location.origin,
  color: getComputedStyle(document.body).color,
  background: getComputedStyle(document.body).backgroundColor,
});
"#,
            vec![],
        )
        .await;
    assert_eq!(page["lang"], "en", "{page}");
    assert_eq!(page["h1"], json!(["Privacy"]), "{page}");
    let h2: Vec<&str> = page["h2"]
        .as_array()
        .expect("h2")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for heading in [
        "What we collect and why",
        "The AI providers and how they handle your data",
        "How your data is protected",
        "Your rights and how to exercise them",
        "How long we keep your data, and why",
        "Who processes your data on our behalf",
        "Disclosures required by law",
        "Our Data Protection Officer",
        "Versions of this policy",
        "How each promise is kept",
    ] {
        assert!(h2.contains(&heading), "{heading} missing: {h2:?}");
    }
    let text = page["text"].as_str().expect("text");
    for fact in [
        "AI_GENERATION",
        "LEGITIMATE_INTEREST",
        "user.content.private",
        "IceCone local (offline)",
        "AES-256-GCM",
        "PLAIN_DEVELOPMENT",
        "requestDataExport",
        "1 calendar month",
        "Data Protection Officer <dpo@icecone.example>",
        "2026-11-28",
        "the_privacy_page_json_and_graphql_give_the_same_facts",
        // One fact of the retention schedule, the subprocessors and the transparency report.
        "legal_disclosure_accounts",
        "OpenAI",
        "fewer than 5",
    ] {
        assert!(text.contains(fact), "{fact} not shown");
    }
    assert!(page["tables"].as_u64().expect("tables") >= 5, "{page}");
    assert_eq!(page["tablesWithoutCaption"], 0, "{page}");
    assert_eq!(page["scripts"], 0, "{page}");
    // Black on white: the browser's defaults, no style of ours to lower the contrast.
    assert_eq!(page["color"], "rgb(0, 0, 0)", "{page}");
    assert_eq!(page["background"], "rgba(0, 0, 0, 0)", "{page}");
    let origin = page["origin"].as_str().expect("origin");
    for url in page["resources"].as_array().expect("resources") {
        let url = url.as_str().expect("url");
        assert!(
            url.starts_with(&format!("{origin}/")),
            "a request left the gateway: {url}"
        );
    }
    let console = browser.console_entries().await;
    let errors: Vec<_> = console
        .iter()
        .filter(|entry| entry["level"] == "SEVERE" || entry["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "the console has errors: {errors:?}");
}
