//! The privacy page over HTTP: `GET /privacy`, `GET /privacy.json` (valid against
//! `/schemas/privacy-v1.json`) and GraphQL's `privacyPolicy` give the same facts; the page's
//! headers are strict, every value is escaped and the DPO's contact is shown.

use serde_json::{Value, json};

use crate::support::app::TestApp;

const POLICY: &str = "{ privacyPolicy { version summary \
    history { version effectiveOn summary changedPurposes } \
    purposes { purpose legalBasis dataCategories } \
    providers { id name } \
    security { cipher { algorithm aes256 statement } transport { mode statement } staffMfa auditTrail } \
    rights { deadline dueMonths maxExtensionMonths rights { right article operation } } \
    dpoContact \
    retention { table what howLong why } \
    subprocessors { current { version takesEffectAt entries { name purpose transferMechanism } } upcoming { version } } \
    transparencyReport { quarters suppressedBelow rows { quarter authorityType count } } \
    promises { line status text issue tests } } }";

/// The page, the JSON and the GraphQL field of `app`.
async fn three_views(app: &TestApp) -> (String, Value, Value) {
    let page = app.send(app.client.get(app.url("/privacy"))).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let json = app.send(app.client.get(app.url("/privacy.json"))).await;
    assert_eq!(json.status, 200, "{}", json.text);
    assert!(
        json.content_type.starts_with("application/json"),
        "{}",
        json.content_type
    );
    let graphql = app.graphql(None, POLICY, json!({})).await;
    assert!(graphql.get("errors").is_none(), "{graphql}");
    (
        page.text,
        json.json(),
        graphql["data"]["privacyPolicy"].clone(),
    )
}

/// The schema's complaints about `document`.
pub(crate) async fn schema_errors(app: &TestApp, document: &Value) -> Vec<String> {
    let answer = app
        .send(app.client.get(app.url("/schemas/privacy-v1.json")))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/schema+json");
    let validator = jsonschema::validator_for(&answer.json()).expect("a valid JSON Schema");
    validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

fn strings<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key}: {item}"))
        })
        .collect()
}

#[tokio::test]
async fn the_privacy_page_json_and_graphql_give_the_same_facts() {
    // A cipher other than AES-256, named explicitly (whatever the default is), so that the
    // page is seen to say so.
    let app = TestApp::spawn_with(|settings| {
        settings.encryption_algorithm = "xchacha20poly1305".to_owned();
    })
    .await;
    let (page, json, graphql) = three_views(&app).await;

    assert_eq!(json["policy"]["version"], graphql["version"]);
    assert!(page.contains(json["policy"]["version"].as_str().expect("version")));
    let versions = strings(&json["policy"]["history"], "version");
    assert_eq!(versions, strings(&graphql["history"], "version"));
    assert!(!versions.is_empty());

    let purposes = strings(&json["purposes"], "purpose");
    assert_eq!(purposes.len(), 8);
    assert_eq!(purposes, strings(&graphql["purposes"], "purpose"));
    for (in_json, in_graphql) in json["purposes"]
        .as_array()
        .expect("purposes")
        .iter()
        .zip(graphql["purposes"].as_array().expect("purposes"))
    {
        assert_eq!(in_json["legalBasis"], in_graphql["legalBasis"]);
        assert_eq!(in_json["dataCategories"], in_graphql["dataCategories"]);
        assert!(page.contains(in_json["purpose"].as_str().expect("purpose")));
        for category in in_json["dataCategories"].as_array().expect("categories") {
            assert!(
                page.contains(category.as_str().expect("category")),
                "{category}"
            );
        }
    }

    let providers = strings(&json["providers"], "id");
    assert_eq!(providers, strings(&graphql["providers"], "id"));
    let listed = app.graphql(None, "{ providers { id } }", json!({})).await;
    assert_eq!(providers, strings(&listed["data"]["providers"], "id"));
    for provider in json["providers"].as_array().expect("providers") {
        assert!(page.contains(&format!(
            "<code>{}</code>",
            provider["id"].as_str().expect("id")
        )));
        for source in provider["sources"].as_array().expect("sources") {
            assert!(
                page.contains(source["url"].as_str().expect("url")),
                "{source}"
            );
        }
    }

    // The cipher as configured, and the transport of a development gateway.
    let cipher = &json["security"]["cipher"];
    assert_eq!(cipher, &graphql["security"]["cipher"]);
    assert_eq!(cipher["algorithm"], "XChaCha20-Poly1305");
    assert_eq!(cipher["aes256"], false);
    assert!(page.contains("Encryption at rest: XChaCha20-Poly1305"));
    assert!(page.contains("This is not AES-256"));
    assert_eq!(
        json["security"]["transport"],
        graphql["security"]["transport"]
    );
    assert_eq!(json["security"]["transport"]["mode"], "PLAIN_DEVELOPMENT");
    assert!(page.contains("PLAIN_DEVELOPMENT"));

    let rights = strings(&json["rights"]["rights"], "right");
    assert_eq!(rights, strings(&graphql["rights"]["rights"], "right"));
    assert_eq!(rights.len(), 6);
    assert_eq!(json["rights"]["deadline"], graphql["rights"]["deadline"]);
    assert_eq!(graphql["rights"]["dueMonths"], 1);
    assert_eq!(graphql["rights"]["maxExtensionMonths"], 2);
    let sdl = app
        .send(app.client.get(app.url("/schema.graphql")))
        .await
        .text;
    for operation in strings(&json["rights"]["rights"], "operation") {
        assert!(
            page.contains(&format!("<code>{operation}</code>")),
            "{operation}"
        );
        assert!(
            sdl.contains(&format!("\t{operation}(")) || sdl.contains(&format!("\t{operation}: ")),
            "{operation} is no operation"
        );
    }
    assert!(sdl.contains("\tcontactPrivacyOfficer("));

    // Development without a contact says so in all three.
    assert_eq!(json["dpo"]["contact"], Value::Null);
    assert_eq!(graphql["dpoContact"], Value::Null);
    assert!(page.contains("not configured (a development deployment)"));

    // The retention schedule: every table of personal data, the same in all three.
    let tables = strings(&json["retention"], "table");
    assert_eq!(tables, strings(&graphql["retention"], "table"));
    assert!(tables.contains(&"generations"), "{tables:?}");
    for (in_json, in_graphql) in json["retention"]
        .as_array()
        .expect("retention")
        .iter()
        .zip(graphql["retention"].as_array().expect("retention"))
    {
        assert_eq!(in_json["howLong"], in_graphql["howLong"]);
        assert_eq!(in_json["why"], in_graphql["why"]);
        let table = in_json["table"].as_str().expect("table");
        assert!(page.contains(&format!("<code>{table}</code>")), "{table}");
        let how_long = in_json["howLong"].as_str().expect("howLong");
        assert!(page.contains(how_long), "{how_long}");
    }

    // The subprocessors in effect: the external AI providers, the same in all three.
    let current = &json["subprocessors"]["current"];
    assert_eq!(
        current["version"],
        graphql["subprocessors"]["current"]["version"]
    );
    assert_eq!(
        current["takesEffectAt"],
        graphql["subprocessors"]["current"]["takesEffectAt"]
    );
    let names = strings(&current["entries"], "name");
    assert_eq!(
        names,
        strings(&graphql["subprocessors"]["current"]["entries"], "name")
    );
    assert!(names.contains(&"OpenAI"), "{names:?}");
    for entry in current["entries"].as_array().expect("entries") {
        assert!(
            page.contains(entry["name"].as_str().expect("name")),
            "{entry}"
        );
        assert!(page.contains(entry["transferMechanism"].as_str().expect("transfer")));
    }
    assert_eq!(
        strings(&graphql["subprocessors"]["current"]["entries"], "purpose"),
        strings(&current["entries"], "purpose")
    );
    assert_eq!(json["subprocessors"]["upcoming"], json!([]));
    assert_eq!(graphql["subprocessors"]["upcoming"], json!([]));
    assert!(page.contains("No change to this list is announced."));

    // The transparency report: every quarter for every authority type, nothing approved
    // yet, so every count suppressed; the same rows in all three.
    let report = &json["transparencyReport"];
    assert_eq!(
        report["quarters"],
        graphql["transparencyReport"]["quarters"]
    );
    assert_eq!(
        report["suppressedBelow"],
        graphql["transparencyReport"]["suppressedBelow"]
    );
    let quarters = strings(&report["rows"], "quarter");
    assert_eq!(
        quarters,
        strings(&graphql["transparencyReport"]["rows"], "quarter")
    );
    assert_eq!(quarters.len(), 8 * 5);
    assert_eq!(
        strings(&report["rows"], "authority"),
        strings(&graphql["transparencyReport"]["rows"], "authorityType")
    );
    for (row, in_graphql) in report["rows"].as_array().expect("rows").iter().zip(
        graphql["transparencyReport"]["rows"]
            .as_array()
            .expect("rows"),
    ) {
        assert_eq!(row["count"], "fewer than 5", "{row}");
        assert_eq!(row["count"], in_graphql["count"]);
        let shown = format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>fewer than 5</td></tr>",
            row["quarter"].as_str().expect("quarter"),
            row["authority"].as_str().expect("authority"),
        );
        assert!(page.contains(&shown), "{shown}");
    }

    let lines = strings(&json["promises"], "line");
    assert_eq!(lines, strings(&graphql["promises"], "line"));
    assert!(lines.len() >= 40);
    for promise in json["promises"].as_array().expect("promises") {
        for test in promise["tests"].as_array().expect("tests") {
            assert!(page.contains(&format!("<code>{}</code>", test.as_str().expect("test"))));
        }
    }
    assert_eq!(schema_errors(&app, &json).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_privacy_page_has_strict_headers_escapes_every_value_and_shows_the_dpo_contact() {
    let contact = "<script>alert(1)</script> \"DPO\" & <dpo@icecone.example>";
    let app = TestApp::spawn_with(|settings| {
        settings.dpo_contact = Some(contact.to_owned());
    })
    .await;
    let page = app.send(app.client.get(app.url("/privacy"))).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("no {name}"))
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(!csp.contains("http"), "no other origin is allowed: {csp}");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");

    let html = &page.text;
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;DPO&quot; &amp; &lt;dpo@icecone.example&gt;"),
        "the contact is not shown escaped"
    );
    assert!(
        !html.contains("<script"),
        "a value reached the page unescaped"
    );
    assert!(!html.contains("<style") && !html.contains(" style="));
    assert_eq!(html.matches("<h1>").count(), 1);
    assert!(html.matches("<h2 ").count() >= 7);
    assert_eq!(
        html.matches("<table>").count(),
        html.matches("<caption>").count()
    );
    assert!(html.contains("<th scope=\"col\">"));
    // Nothing the page would load: no src, no stylesheet link.
    assert!(!html.contains(" src="));
    assert!(!html.contains("<link"));

    // The JSON and GraphQL give the contact as it is.
    let json = app
        .send(app.client.get(app.url("/privacy.json")))
        .await
        .json();
    assert_eq!(json["dpo"]["contact"], contact);
    let graphql = app
        .graphql(None, "{ privacyPolicy { dpoContact } }", json!({}))
        .await;
    assert_eq!(graphql["data"]["privacyPolicy"]["dpoContact"], contact);
}

#[tokio::test]
async fn privacy_json_validates_against_its_published_schema() {
    let app = TestApp::spawn_with(|settings| {
        settings.dpo_contact = Some("dpo@icecone.example".to_owned());
        settings.encryption_algorithm = "aes256gcm".to_owned();
    })
    .await;
    let json = app
        .send(app.client.get(app.url("/privacy.json")))
        .await
        .json();
    assert_eq!(schema_errors(&app, &json).await, Vec::<String>::new());
    assert_eq!(json["security"]["cipher"]["algorithm"], "AES-256-GCM");
    assert_eq!(json["security"]["cipher"]["aes256"], true);
    assert_eq!(json["dpo"]["contact"], "dpo@icecone.example");
    // The schema is not a formality: what breaks it is named.
    let mut broken = json.clone();
    broken["security"]["cipher"]["algorithm"] = json!("DES");
    broken["promises"][0]["status"] = json!("mostly");
    broken["unexpected"] = json!(true);
    let errors = schema_errors(&app, &broken).await;
    assert_eq!(errors.len(), 3, "{errors:?}");
    let schema = app
        .send(app.client.get(app.url("/schemas/privacy-v1.json")))
        .await;
    assert_eq!(
        schema
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=86400")
    );
}

#[tokio::test]
async fn the_privacy_page_answers_an_internal_error_when_a_stored_section_cannot_be_read() {
    let app = TestApp::spawn().await;
    // Each stored part in turn out of reach: the subprocessors, then the report's approvals.
    for table in ["subprocessor_versions", "legal_disclosures"] {
        app.db
            .execute(&format!("ALTER TABLE {table} RENAME TO {table}_away"))
            .await;
        let page = app.send(app.client.get(app.url("/privacy"))).await;
        let json = app.send(app.client.get(app.url("/privacy.json"))).await;
        let graphql = app
            .graphql(None, "{ privacyPolicy { version } }", json!({}))
            .await;
        app.db
            .execute(&format!("ALTER TABLE {table}_away RENAME TO {table}"))
            .await;

        assert_eq!(page.status, 500, "{table}: {}", page.text);
        assert!(
            page.text.contains("cannot be shown just now"),
            "{}",
            page.text
        );
        assert!(
            !page.text.contains("<h2"),
            "no section is shown: {}",
            page.text
        );
        assert_eq!(json.status, 500, "{table}: {}", json.text);
        assert_eq!(json.json()["error"]["code"], "INTERNAL_SERVER_ERROR");
        assert_eq!(
            graphql["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR",
            "{graphql}"
        );
        for text in [&page.text, &json.text, &graphql.to_string()] {
            assert!(!text.contains(table), "no SQL in the answer: {text}");
        }
    }
    // Readable again, the page is whole.
    let page = app.send(app.client.get(app.url("/privacy"))).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for id in ["retention", "subprocessors", "transparency-report"] {
        assert!(page.text.contains(&format!("<h2 id=\"{id}\">")), "{id}");
    }
}
