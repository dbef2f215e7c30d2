//! The headers of every answer, found by walking every route the gateway registers (read
//! from `http::routes`, so a new route is walked without being listed here), and CORS as
//! the gateway speaks it: preflights, allowed and disallowed origins.

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::support::app::{Answer, TestApp};

const ALLOWED: &str = "http://frontend.example:3000";
const DISALLOWED: &str = "http://elsewhere.example";

/// The answers that may be cached: none carries personal data.
const CACHEABLE: &[&str] = &[
    "/.well-known/jwks.json",
    "/.well-known/gpc.json",
    "/schemas/export-v1.json",
    "/schemas/privacy-v1.json",
    "/graphiql/",
];

/// Every path registered in `http::routes`, `{parameters}` filled in.
fn routes() -> Vec<String> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs"))
        .expect("the route table");
    let start = source
        .find("pub(crate) fn routes(")
        .expect("the routes function");
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").expect("its end")];
    let mut paths: Vec<String> = body
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|literal| literal.starts_with('/'))
        .map(|path| {
            path.replace("{file}", "graphiql.min.js")
                .replace("{id}", &uuid::Uuid::new_v4().to_string())
                .replace("{token}", "not-a-token")
        })
        .collect();
    paths.dedup();
    paths
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().expect("text"))
        .collect()
}

/// Fails, naming the request, when an answer lacks a security header.
fn check(what: &str, path: &str, answer: &Answer) {
    let headers = &answer.headers;
    let one = |name: &str| {
        let values = header(headers, name);
        assert_eq!(
            values.len(),
            1,
            "{what}: {name} must be sent once: {values:?}"
        );
        values[0].to_owned()
    };
    assert_eq!(one("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(one("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(one("cross-origin-resource-policy"), "same-site", "{what}");
    assert_eq!(one("x-frame-options"), "DENY", "{what}");
    let csp = one("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    for loose in ["*", "http:", "https:", "'unsafe-inline'", "'unsafe-eval'"] {
        assert!(!csp.contains(loose), "{what}: {loose} in {csp}");
    }
    let cache = one("cache-control");
    if !CACHEABLE.iter().any(|prefix| path.starts_with(prefix)) || answer.status >= 400 {
        assert!(cache.contains("no-store"), "{what}: Cache-Control {cache}");
    }
    let vary = header(headers, "vary").join(", ");
    assert!(
        vary.split(',').any(|name| name.trim() == "Origin"),
        "{what}: Vary {vary:?}"
    );
}

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn every_route_answers_with_the_security_headers() {
    let app =
        TestApp::spawn_with(|settings| settings.cors_origins = Some(ALLOWED.to_owned())).await;
    let paths = routes();
    for expected in [
        "/graphql",
        "/media/",
        "/exports/",
        "/verify-email",
        "/healthz",
        "/graphiql/",
    ] {
        assert!(
            paths.iter().any(|path| path.starts_with(expected)),
            "the walk must find {expected}: {paths:?}"
        );
    }
    let mut walked = 0;
    for path in paths.iter().map(String::as_str).chain(["/no-such-route"]) {
        let url = app.url(path);
        let requests = [
            ("GET", app.client.get(&url)),
            (
                "GET as a browser",
                app.client.get(&url).header("accept", "text/html"),
            ),
            (
                "POST",
                app.client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body("{}"),
            ),
            ("DELETE", app.client.delete(&url)),
            (
                "GET from an allowed origin",
                app.client.get(&url).header("origin", ALLOWED),
            ),
            (
                "GET from another origin",
                app.client.get(&url).header("origin", DISALLOWED),
            ),
            (
                "preflight from an allowed origin",
                app.client
                    .request(Method::OPTIONS, &url)
                    .header("origin", ALLOWED)
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "authorization,content-type",
                    ),
            ),
            (
                "preflight from another origin",
                app.client
                    .request(Method::OPTIONS, &url)
                    .header("origin", DISALLOWED)
                    .header("access-control-request-method", "POST"),
            ),
        ];
        for (kind, request) in requests {
            let answer = app.send(request).await;
            check(&format!("{kind} {path} ({})", answer.status), path, &answer);
            walked += 1;
        }
    }
    assert!(walked >= 8 * 12, "only {walked} answers were checked");
}

#[tokio::test]
async fn the_graphiql_page_and_its_files_come_from_the_gateway_under_a_self_only_policy() {
    let app = TestApp::spawn().await;
    let page = app
        .send(
            app.client
                .get(app.url("/graphql"))
                .header("accept", "text/html"),
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(
        !page.text.contains("unpkg") && !page.text.contains("https://"),
        "{}",
        page.text
    );
    let csp = header(&page.headers, "content-security-policy").join("");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let sources: Vec<&str> = page
        .text
        .split("src=\"")
        .skip(1)
        .chain(page.text.split("href=\"").skip(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(sources.len() >= 6, "{sources:?}");
    for source in sources {
        assert!(
            source.starts_with("/graphiql/") || source == "data:,",
            "{source}"
        );
        if source.starts_with('/') {
            let file = app.send(app.client.get(app.url(source))).await;
            assert_eq!(file.status, 200, "{source}");
            assert!(!file.text.is_empty(), "{source}");
        }
    }
    let missing = app
        .send(app.client.get(app.url("/graphiql/Cargo.toml")))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn an_allowed_origin_gets_cors_answers_and_another_origin_gets_none_and_the_same_processing()
{
    let app =
        TestApp::spawn_with(|settings| settings.cors_origins = Some(ALLOWED.to_owned())).await;
    let preflight = app
        .send(
            app.client
                .request(Method::OPTIONS, app.url("/graphql"))
                .header("origin", ALLOWED)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,authorization,x-icecone-session",
                ),
        )
        .await;
    assert_eq!(preflight.status, 200, "{}", preflight.text);
    let headers = &preflight.headers;
    assert_eq!(header(headers, "access-control-allow-origin"), [ALLOWED]);
    let methods = header(headers, "access-control-allow-methods").join(",");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed_headers = header(headers, "access-control-allow-headers")
        .join(",")
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("authorization")
            && allowed_headers.contains("content-type")
            && allowed_headers.contains("x-icecone-session"),
        "{allowed_headers}"
    );
    assert_eq!(header(headers, "access-control-max-age"), ["600"]);
    // The allowed origin's pages may send the session cookie and read the answer.
    assert_eq!(
        header(headers, "access-control-allow-credentials"),
        ["true"]
    );

    // Preflights answer on the media, export and mail-link routes too.
    let id = uuid::Uuid::new_v4();
    for path in [
        format!("/media/{id}"),
        "/exports/x".to_owned(),
        "/verify-email".to_owned(),
    ] {
        let answer = app
            .send(
                app.client
                    .request(Method::OPTIONS, app.url(&path))
                    .header("origin", ALLOWED)
                    .header("access-control-request-method", "GET")
                    .header("access-control-request-headers", "authorization"),
            )
            .await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(
            header(&answer.headers, "access-control-allow-origin"),
            [ALLOWED],
            "{path}"
        );
    }

    // A request header outside the list is refused at the preflight.
    let unlisted = app
        .send(
            app.client
                .request(Method::OPTIONS, app.url("/graphql"))
                .header("origin", ALLOWED)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "x-not-allowed"),
        )
        .await;
    assert!(header(&unlisted.headers, "access-control-allow-origin").is_empty());
    assert_ne!(unlisted.status, 200);

    // Another origin: no CORS header on its preflight or its requests, and its requests
    // are answered exactly as without an `Origin`.
    let refused = app
        .send(
            app.client
                .request(Method::OPTIONS, app.url("/graphql"))
                .header("origin", DISALLOWED)
                .header("access-control-request-method", "POST"),
        )
        .await;
    assert_eq!(cors_headers(&refused.headers), Vec::<String>::new());
    let query = serde_json::json!({ "query": "{ __typename }" }).to_string();
    let post = |origin: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(query.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request
    };
    let plain = app.send(post(None)).await;
    let elsewhere = app.send(post(Some(DISALLOWED))).await;
    let allowed = app.send(post(Some(ALLOWED))).await;
    assert_eq!(cors_headers(&plain.headers), Vec::<String>::new());
    assert_eq!(cors_headers(&elsewhere.headers), Vec::<String>::new());
    assert_eq!(
        header(&allowed.headers, "access-control-allow-origin"),
        [ALLOWED]
    );
    for answer in [&elsewhere, &allowed] {
        assert_eq!(answer.status, plain.status);
        assert_eq!(answer.text, plain.text);
        assert_eq!(answer.content_type, plain.content_type);
    }
}
