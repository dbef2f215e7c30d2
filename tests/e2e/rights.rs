//! Data subject rights over HTTP: the export bundle (every item present, `export.json` valid
//! against its published JSON Schema, media equal to what `/media/{id}` serves) behind a
//! single-use, expiring, owner-only link; export refused while an erasure is pending;
//! restriction and objection tracked as requests; DPO's queue (overdue requests, an
//! extension told to the person, manual completion, every step audited); and messages to
//! the DPO, anonymous or not, encrypted and rate limited.

use std::collections::HashMap;
use std::io::Read as _;
use std::time::{Duration, Instant};

use chrono::{DateTime, Months, TimeDelta, Utc};
use icecone_app::notify::NotificationKind;
use icecone_app::rights::export;
use icecone_core::identity::roles::StaffRole;
use icecone_core::rights::{DataRequestKind, DataRequestStatus};
use icecone_store::data_requests::NewDataRequest;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::staff_console::actions;
use crate::support::app::{Answer, FRESH, PASSWORD, Person, StaffMember, TestApp, code};

const REQUESTS: &str = "{ me { dataRequests { id kind status receivedAt dueAt extendedDueAt \
    extensionReason completedAt downloadUrl overdue history { from to actor note } } } }";
const REQUEST_EXPORT: &str =
    "mutation { requestDataExport { id kind status receivedAt dueAt completedAt downloadUrl } }";
pub(crate) const STAFF_REQUESTS: &str = "query Q($s: DataRequestStatus, $o: Boolean) { \
    dataRequests(status: $s, overdueOnly: $o) { id accountId kind status dueAt overdue \
    downloadUrl extensionReason } }";
const EXTEND: &str = "mutation E($id: ID!, $r: String!) { extendDataRequest(id: $id, reason: $r) \
    { id status dueAt extendedDueAt } }";
const COMPLETE: &str = "mutation C($id: ID!, $n: String!) { completeDataRequest(id: $id, note: $n) \
    { id status completedAt } }";
const DENY: &str =
    "mutation D($id: ID!, $r: String!) { denyDataRequest(id: $id, reason: $r) { id status } }";
const CANCEL_REQUEST: &str =
    "mutation C($id: ID!) { cancelDataRequest(id: $id) { id kind status } }";
const CONTACT: &str = "mutation C($i: PrivacyTicketInput!) { contactPrivacyOfficer(input: $i) \
    { id receivedAt status } }";
const TICKETS: &str = "{ privacyTickets { id accountId email subject message receivedAt status } }";
const READ_REASON: &str = "ticket 7781: the person asked what we hold about them";

fn data<'a>(body: &'a Value, field: &str) -> &'a Value {
    assert!(body.get("errors").is_none(), "{body}");
    &body["data"][field]
}

async fn spawn(adjust: impl FnOnce(&mut icecone_gateway::config::Settings)) -> TestApp {
    TestApp::spawn_with(|settings| {
        settings.job_poll_interval_ms = 100;
        adjust(settings);
    })
    .await
}

async fn requests(app: &TestApp, token: &str) -> Vec<Value> {
    let body = app.graphql(Some(token), REQUESTS, json!({})).await;
    data(&body, "me")["dataRequests"]
        .as_array()
        .expect("a list")
        .clone()
}

/// Waits until the person's request `id` is `COMPLETED`, and returns it.
async fn completed(app: &TestApp, token: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let found = requests(app, token)
            .await
            .into_iter()
            .find(|request| request["id"] == id)
            .expect("the request is listed");
        if found["status"] == "COMPLETED" {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the export was not built: {found}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn download(app: &TestApp, path: &str, token: Option<&str>) -> (Answer, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await.expect("a body").to_vec();
    let answer = Answer {
        status,
        content_type,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    };
    (answer, bytes)
}

/// Every file of a ZIP, by name.
fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut files = HashMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).expect("an entry");
        let mut content = Vec::new();
        file.read_to_end(&mut content).expect("readable");
        files.insert(file.name().expect("a file name").into_owned(), content);
    }
    files
}

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas/export-v1.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the schema file"))
        .expect("the schema is JSON")
}

/// The schema's complaints about `document`, as text.
pub(crate) fn schema_errors(document: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema()).expect("a valid JSON Schema");
    validator
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

async fn generate(app: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let query = format!(
        "mutation G($input: {}Input!) {{ {}(input: $input) {{ id status output {{ \
         __typename ... on TextOutput {{ text }} ... on MediaOutput {{ url }} }} }} }}",
        capitalised(mutation),
        mutation
    );
    let body = app
        .graphql(Some(token), &query, json!({ "input": input }))
        .await;
    data(&body, mutation).clone()
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

pub(crate) async fn wait_for_video(app: &TestApp, token: &str, id: &str) {
    let started = Instant::now();
    loop {
        let body = app
            .graphql(
                Some(token),
                "query Q($id: ID!) { generation(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        if data(&body, "generation")["status"] == "SUCCEEDED" {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a time: {value}"))
}

#[tokio::test]
async fn an_export_holds_every_item_validates_against_its_schema_and_downloads_once() {
    let app = spawn(|_| {}).await;
    let (_, _) = app.keys().await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("exporter@example.com").await;
    let Person {
        access_token: stranger,
        ..
    } = app.person("stranger@example.com").await;
    assert!(app.set_consent(&token, "PERSONALIZATION", true).await["errors"].is_null());

    let text = generate(
        &app,
        &token,
        "generateText",
        json!({ "prompt": "canaryexportprompt three words" }),
    )
    .await;
    let image = generate(
        &app,
        &token,
        "generateImage",
        json!({ "prompt": "a red fox", "provider": "local" }),
    )
    .await;
    let video = generate(
        &app,
        &token,
        "generateVideo",
        json!({ "prompt": "waves at dusk", "durationSeconds": 2 }),
    )
    .await;
    let video_id = video["id"].as_str().expect("id").to_owned();
    wait_for_video(&app, &token, &video_id).await;

    // Staff read the account, with a reason: the person's export shows who and why.
    let StaffMember { id: support, .. } = app
        .staff_member("support@example.com", StaffRole::Support)
        .await;
    let support_token = app.mint_token(support, FRESH).await;
    let read = app
        .graphql(
            Some(&support_token),
            "query S($id: ID!, $r: String!) { staffAccount(id: $id, reason: $r) { id } }",
            json!({ "id": account.to_string(), "r": READ_REASON }),
        )
        .await;
    assert!(read["errors"].is_null(), "{read}");

    let objected = app
        .graphql(
            Some(&token),
            "mutation { objectToProcessing(purpose: MARKETING) { objected } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&objected, "objectToProcessing")["objected"], true);

    // A message to the DPO sent while signed in belongs to the person's data.
    let ticket = app.graphql(Some(&token),
        CONTACT,
        json!({ "i": { "subject": "What do you keep?", "message": "canaryticketmessage please" } }),
    )
    .await;
    assert!(ticket["errors"].is_null(), "{ticket}");

    let body = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    let request = data(&body, "requestDataExport").clone();
    assert_eq!(request["kind"], "EXPORT");
    assert_eq!(request["status"], "RECEIVED");
    assert_eq!(request["downloadUrl"], Value::Null);
    let received = time(&request["receivedAt"]);
    assert_eq!(
        time(&request["dueAt"]),
        received
            .checked_add_months(Months::new(1))
            .expect("a month later"),
        "due one calendar month after receipt"
    );
    let id = request["id"].as_str().expect("id").to_owned();

    let done = completed(&app, &token, &id).await;
    let steps: Vec<(Value, Value, Value)> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|step| {
            (
                step["from"].clone(),
                step["to"].clone(),
                step["actor"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("RECEIVED"), json!("subject")),
            (json!("RECEIVED"), json!("IN_PROGRESS"), json!("system")),
            (json!("IN_PROGRESS"), json!("COMPLETED"), json!("system")),
        ]
    );
    let url = done["downloadUrl"]
        .as_str()
        .expect("a download link")
        .to_owned();
    assert!(url.starts_with("/exports/"), "{url}");
    app.notifications
        .wait_for(NotificationKind::DataExportReady, "exporter@example.com")
        .await;
    for action in [
        "data_request.export_requested",
        "data_request.start",
        "data_request.export_ready",
    ] {
        assert!(actions(&app, action).await >= 1, "{action} is audited");
    }

    // Nobody but the owner gets it: anonymous and another person are told it does not exist.
    let (anonymous, _) = download(&app, &url, None).await;
    assert_eq!(anonymous.status, 404);
    let (other, _) = download(&app, &url, Some(&stranger)).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.json()["error"]["code"], "NOT_FOUND");

    let (answer, bytes) = download(&app, &url, Some(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.content_type, "application/zip");
    let files = unzip(&bytes);
    let document: Value =
        serde_json::from_slice(files.get("export.json").expect("export.json")).expect("JSON");
    assert_eq!(schema_errors(&document), Vec::<String>::new());
    // Every section the personal-data registry sends a table's rows to is in the bundle
    // and in its published schema.
    let published = schema();
    for entry in icecone_store::personal_data::REGISTRY {
        let icecone_store::personal_data::Entry::Personal(table) = entry else {
            continue;
        };
        if let icecone_store::personal_data::Export::Section(section) = table.export {
            // A section is a member, or a member of a member (`account.mfaEnabled`).
            let (mut in_document, mut in_schema) = (Some(&document), Some(&published));
            for member in section.split('.') {
                in_document = in_document.and_then(|value| value.get(member));
                in_schema = in_schema.and_then(|value| value["properties"].get(member));
            }
            assert!(
                in_document.is_some(),
                "{}: section {section} is not in export.json",
                table.table
            );
            assert!(
                in_schema.is_some(),
                "{}: section {section} is not in the export's JSON Schema",
                table.table
            );
        }
    }
    let mut broken = document.clone();
    broken["account"]["plan"] = json!("GOLD");
    broken["generations"][0]["secret"] = json!("not in the schema");
    assert_eq!(
        schema_errors(&broken).len(),
        2,
        "the schema does catch errors"
    );
    assert_eq!(document["schema"], export::SCHEMA);

    // The published schema is the one in the repository.
    let published = app.get(export::SCHEMA).await;
    assert_eq!(published.status, 200);
    assert_eq!(published.json(), schema());

    assert_eq!(document["account"]["id"], account.to_string());
    assert_eq!(document["account"]["email"], "exporter@example.com");
    assert_eq!(document["account"]["plan"], "FREE");
    assert!(
        document["consentHistory"]
            .as_array()
            .expect("consents")
            .iter()
            .any(|entry| entry["purpose"] == "PERSONALIZATION" && entry["granted"] == true)
    );
    assert!(
        document["consentHistory"]
            .as_array()
            .expect("consents")
            .iter()
            .any(|entry| entry["change"] == "OBJECTION" && entry["purpose"] == "MARKETING")
    );

    let generations = document["generations"].as_array().expect("generations");
    assert_eq!(generations.len(), 3, "{generations:?}");
    let by_id = |id: &Value| {
        generations
            .iter()
            .find(|generation| &generation["id"] == id)
            .unwrap_or_else(|| panic!("generation {id} missing"))
            .clone()
    };
    let exported_text = by_id(&text["id"]);
    assert_eq!(exported_text["prompt"], "canaryexportprompt three words");
    assert_eq!(exported_text["text"], text["output"]["text"]);
    for media in [&image, &video] {
        let exported = by_id(&media["id"]);
        let file = exported["mediaFile"].as_str().expect("a media file");
        let in_zip = files
            .get(file)
            .unwrap_or_else(|| panic!("{file} not in the ZIP"));
        let served_url = format!("/media/{}", media["id"].as_str().expect("id"));
        let (served, served_bytes) = download(&app, &served_url, Some(&token)).await;
        assert_eq!(served.status, 200);
        assert_eq!(in_zip, &served_bytes, "{file} equals what /media serves");
    }
    assert_eq!(by_id(&json!(video_id))["kind"], "VIDEO");

    let disclosures = document["providerDisclosures"].as_array().expect("list");
    assert_eq!(disclosures.len(), 3);
    assert!(disclosures.iter().all(|disclosure| {
        disclosure["provider"] == "local"
            && disclosure["dataCategories"] == json!(["user.content.private"])
    }));

    let sessions = document["sessions"].as_array().expect("sessions");
    assert!(!sessions.is_empty());
    let session_text = serde_json::to_string(sessions).expect("text");
    assert!(!session_text.contains("digest") && !session_text.contains("token"));

    let kinds: Vec<&str> = document["dataRequests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|request| request["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"EXPORT") && kinds.contains(&"OBJECTION"),
        "{kinds:?}"
    );

    let tickets = document["privacyTickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(
        (&tickets[0]["subject"], &tickets[0]["message"]),
        (
            &json!("What do you keep?"),
            &json!("canaryticketmessage please")
        )
    );

    let audit = document["auditEntries"].as_array().expect("audit");
    let staff_read = audit
        .iter()
        .find(|entry| entry["action"] == "staff.read_account")
        .expect("the staff read is in the person's export");
    assert_eq!(staff_read["actor"], format!("account:{support}"));
    assert_eq!(staff_read["reason"], READ_REASON);

    let usage = document["usage"].as_array().expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["images"], 1);
    assert_eq!(usage[0]["videoSeconds"], 2);

    // Single use: the second download is gone, and the link is no longer shown.
    let (again, _) = download(&app, &url, Some(&token)).await;
    assert_eq!(again.status, 410);
    assert_eq!(again.json()["error"]["code"], "EXPORT_LINK_USED");
    let listed = requests(&app, &token).await;
    let export = listed.iter().find(|r| r["id"] == id).expect("listed");
    assert_eq!(export["downloadUrl"], Value::Null);
    let stored = Uuid::try_parse(&id).expect("uuid");
    assert!(
        !app.db.store().export_stored(stored).await.expect("read"),
        "the bundle is deleted once downloaded"
    );
}

#[tokio::test]
async fn an_expired_export_link_is_gone_and_the_purge_deletes_the_bundle() {
    let app = spawn(|settings| settings.export_link_ttl = "1s".to_owned()).await;
    let (vault, _) = app.keys().await;
    let Person {
        access_token: token,
        ..
    } = app.person("late@example.com").await;
    let body = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    let id = data(&body, "requestDataExport")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let done = completed(&app, &token, &id).await;
    let id = Uuid::try_parse(&id).expect("uuid");
    let path = export::download_path(&vault, id);
    assert!(
        done["downloadUrl"].is_null() || done["downloadUrl"] == path.as_str(),
        "{done}"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let (answer, _) = download(&app, &path, Some(&token)).await;
    assert_eq!(answer.status, 410, "{}", answer.text);
    assert_eq!(answer.json()["error"]["code"], "EXPORT_LINK_EXPIRED");
    let listed = requests(&app, &token).await;
    assert_eq!(
        listed[0]["downloadUrl"],
        Value::Null,
        "an expired link is not shown"
    );

    let store = app.db.store();
    assert!(store.export_stored(id).await.expect("read"));
    let purged = store
        .purge_expired_exports(Utc::now())
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert!(!store.export_stored(id).await.expect("read"));
}

#[tokio::test]
async fn an_export_is_refused_while_an_erasure_is_pending() {
    let app = spawn(|_| {}).await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("leaving@example.com").await;
    let now = Utc::now();
    let erasure = NewDataRequest {
        id: Uuid::new_v4(),
        account,
        kind: DataRequestKind::Erasure,
        status: DataRequestStatus::Received,
        received_at: now,
        due_at: icecone_core::rights::due_at(now),
    };
    app.db
        .store()
        .insert_data_request(&erasure, "subject", None)
        .await
        .expect("erasure recorded");

    let body = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    assert_eq!(code(&body), "FAILED_PRECONDITION", "{body}");
    let kinds: Vec<Value> = requests(&app, &token)
        .await
        .iter()
        .map(|request| request["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("ERASURE")], "no export was recorded");
    assert_eq!(app.db.count("jobs").await, 0, "and no job queued");

    // The way a person asks for erasure: an account deletion request in its grace period.
    let Person {
        access_token: leaving,
        ..
    } = app.person("leaving.too@example.com").await;
    let asked = crate::erasure::request_deletion(&app, &leaving, PASSWORD, None).await;
    assert!(asked.get("errors").is_none(), "{asked}");
    let body = app.graphql(Some(&leaving), REQUEST_EXPORT, json!({})).await;
    assert_eq!(code(&body), "FAILED_PRECONDITION", "{body}");
    let kinds: Vec<Value> = requests(&app, &leaving)
        .await
        .iter()
        .map(|request| request["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [json!("ERASURE")],
        "the erasure is listed, no export"
    );
    // Once the person cancels the erasure, exports work again.
    let cancelled = app
        .graphql(
            Some(&leaving),
            "mutation { cancelAccountDeletion }",
            json!({}),
        )
        .await;
    assert_eq!(
        cancelled["data"]["cancelAccountDeletion"], true,
        "{cancelled}"
    );
    let body = app.graphql(Some(&leaving), REQUEST_EXPORT, json!({})).await;
    assert_eq!(data(&body, "requestDataExport")["kind"], "EXPORT", "{body}");
}

#[tokio::test]
async fn a_person_withdraws_their_open_request_and_its_job_is_cancelled() {
    // No job worker: the export stays open until it is withdrawn.
    let app = spawn(|settings| settings.job_workers = 0).await;
    let Person {
        access_token: token,
        ..
    } = app.person("withdrawing@example.com").await;
    let Person {
        access_token: other,
        ..
    } = app.person("someone.else@example.com").await;
    let requested = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    let id = data(&requested, "requestDataExport")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    for (who, id, expected) in [
        (&other, id.as_str(), "NOT_FOUND"),
        (&token, "not-an-id", "NOT_FOUND"),
        (&token, "00000000-0000-4000-8000-000000000000", "NOT_FOUND"),
    ] {
        let body = app
            .graphql(Some(who), CANCEL_REQUEST, json!({ "id": id }))
            .await;
        assert_eq!(code(&body), expected, "{body}");
    }
    let anonymous = app.graphql(None, CANCEL_REQUEST, json!({ "id": id })).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");

    let cancelled = app
        .graphql(Some(&token), CANCEL_REQUEST, json!({ "id": id }))
        .await;
    assert_eq!(
        data(&cancelled, "cancelDataRequest")["status"],
        "CANCELLED",
        "{cancelled}"
    );
    let listed = requests(&app, &token).await;
    let request = listed
        .iter()
        .find(|request| request["id"] == id.as_str())
        .expect("listed");
    assert_eq!(request["status"], "CANCELLED");
    assert_eq!(request["downloadUrl"], Value::Null);
    assert_eq!(
        request["history"],
        json!([
            { "from": null, "to": "RECEIVED", "actor": "subject", "note": null },
            { "from": "RECEIVED", "to": "CANCELLED", "actor": "subject", "note": "withdrawn" },
        ])
    );
    let jobs = app
        .db
        .store()
        .jobs_for(export::KIND, &id)
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, icecone_store::jobs::JobState::Cancelled);

    // A closed request takes no further step.
    let again = app
        .graphql(Some(&token), CANCEL_REQUEST, json!({ "id": id }))
        .await;
    assert_eq!(code(&again), "FAILED_PRECONDITION", "{again}");
}

#[tokio::test]
async fn restriction_and_objection_are_tracked_as_completed_requests() {
    let app = spawn(|_| {}).await;
    let Person {
        access_token: token,
        ..
    } = app.person("limits@example.com").await;
    let body = app
        .graphql(
            Some(&token),
            "mutation { restrictProcessing(restricted: true) { processingRestricted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&body, "restrictProcessing")["processingRestricted"],
        true
    );
    let body = app
        .graphql(
            Some(&token),
            "mutation { objectToProcessing(purpose: MARKETING) { objected } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&body, "objectToProcessing")["objected"], true);

    let listed = requests(&app, &token).await;
    let find = |kind: &str| {
        listed
            .iter()
            .find(|request| request["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} request: {listed:?}"))
            .clone()
    };
    for (kind, note) in [("RESTRICTION", "restricted"), ("OBJECTION", "MARKETING")] {
        let request = find(kind);
        assert_eq!(request["status"], "COMPLETED");
        assert!(!request["completedAt"].is_null());
        assert_eq!(request["overdue"], false);
        assert_eq!(
            request["history"],
            json!([{ "from": null, "to": "COMPLETED", "actor": "subject", "note": note }])
        );
    }
    // The effect is the consent decision's, at once.
    let body = app
        .graphql(
            Some(&token),
            "mutation { generateText(input: { prompt: \"hello\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "PROCESSING_RESTRICTED");
}

#[tokio::test]
async fn dpo_sees_overdue_requests_extends_them_with_a_reason_and_completes_them() {
    // No workers: the exports stay open for DPO to act on.
    let app = spawn(|settings| settings.job_workers = 0).await;
    let (_, _) = app.keys().await;
    let Person {
        access_token: late_token,
        ..
    } = app.person("late-request@example.com").await;
    let Person {
        access_token: fresh_token,
        ..
    } = app.person("fresh-request@example.com").await;
    let late = data(
        &app.graphql(Some(&late_token), REQUEST_EXPORT, json!({}))
            .await,
        "requestDataExport",
    )["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let fresh = data(
        &app.graphql(Some(&fresh_token), REQUEST_EXPORT, json!({}))
            .await,
        "requestDataExport",
    )["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let long_ago = Utc::now() - TimeDelta::days(45);
    assert!(
        app.db
            .store()
            .backdate_data_request(
                Uuid::try_parse(&late).expect("uuid"),
                long_ago,
                icecone_core::rights::due_at(long_ago),
            )
            .await
            .expect("backdated")
    );

    let StaffMember { id: dpo, .. } = app.staff_member("dpo@example.com", StaffRole::Dpo).await;
    let dpo_token = app.mint_token(dpo, FRESH).await;
    let StaffMember { id: support, .. } = app
        .staff_member("help@example.com", StaffRole::Support)
        .await;
    let support_token = app.mint_token(support, FRESH).await;
    let refused = app
        .graphql(Some(&support_token), STAFF_REQUESTS, json!({}))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");
    let refused = app
        .graphql(Some(&late_token), STAFF_REQUESTS, json!({}))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");

    let reads_before = actions(&app, "data_requests.read").await;
    let body = app
        .graphql(Some(&dpo_token), STAFF_REQUESTS, json!({ "o": true }))
        .await;
    let overdue = data(&body, "dataRequests")
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0]["id"], late.as_str());
    assert_eq!(overdue[0]["overdue"], true);
    assert_eq!(overdue[0]["downloadUrl"], Value::Null);
    assert_eq!(actions(&app, "data_requests.read").await, reads_before + 1);
    let body = app
        .graphql(Some(&dpo_token), STAFF_REQUESTS, json!({ "s": "RECEIVED" }))
        .await;
    assert_eq!(
        data(&body, "dataRequests").as_array().expect("list").len(),
        2
    );

    // Too late to extend the overdue one; the fresh one is extended once, with a reason
    // the person is told.
    let reason = "The export includes a large video archive that needs manual review";
    let body = app
        .graphql(Some(&dpo_token), EXTEND, json!({ "id": late, "r": reason }))
        .await;
    assert_eq!(code(&body), "FAILED_PRECONDITION", "{body}");
    let body = app
        .graphql(
            Some(&dpo_token),
            EXTEND,
            json!({ "id": fresh, "r": reason }),
        )
        .await;
    let extended = data(&body, "extendDataRequest").clone();
    assert_eq!(extended["status"], "EXTENDED");
    assert_eq!(extended["dueAt"], extended["extendedDueAt"]);
    let mine = requests(&app, &fresh_token).await;
    assert_eq!(mine[0]["status"], "EXTENDED");
    assert_eq!(mine[0]["extensionReason"], reason);
    assert_eq!(
        time(&mine[0]["dueAt"]),
        time(&mine[0]["receivedAt"])
            .checked_add_months(Months::new(3))
            .expect("three months"),
        "one month plus the two of the extension"
    );
    let told = app
        .notifications
        .wait_for(
            NotificationKind::DataRequestExtended,
            "fresh-request@example.com",
        )
        .await;
    assert_eq!(told.token.as_deref(), Some(reason));
    let body = app
        .graphql(
            Some(&dpo_token),
            EXTEND,
            json!({ "id": fresh, "r": reason }),
        )
        .await;
    assert_eq!(code(&body), "FAILED_PRECONDITION", "extended only once");

    // DPO completes the overdue one by hand; a closed request takes no further step.
    let note = "Sent the export by registered mail after identity check";
    let body = app
        .graphql(Some(&dpo_token), COMPLETE, json!({ "id": late, "n": note }))
        .await;
    assert_eq!(data(&body, "completeDataRequest")["status"], "COMPLETED");
    let body = app
        .graphql(
            Some(&dpo_token),
            DENY,
            json!({ "id": late, "r": "Manifestly unfounded: duplicate request" }),
        )
        .await;
    assert_eq!(code(&body), "FAILED_PRECONDITION");
    let body = app
        .graphql(
            Some(&dpo_token),
            COMPLETE,
            json!({ "id": late, "n": "short" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");

    let history = &requests(&app, &late_token).await[0]["history"];
    assert_eq!(
        history[1],
        json!({ "from": "RECEIVED", "to": "COMPLETED", "actor": format!("staff:{dpo}"),
                "note": "completed_by_staff" })
    );
    assert_eq!(actions(&app, "data_request.extend").await, 1);
    assert_eq!(actions(&app, "data_request.complete").await, 1);
    assert_eq!(actions(&app, "data_request.deny").await, 0);
    let body = app
        .graphql(Some(&dpo_token), STAFF_REQUESTS, json!({ "o": true }))
        .await;
    assert_eq!(
        data(&body, "dataRequests").as_array().expect("list").len(),
        0,
        "nothing is overdue any more"
    );
}

#[tokio::test]
async fn contact_privacy_officer_needs_an_email_when_anonymous_is_encrypted_and_rate_limited() {
    let app = spawn(|_| {}).await;
    let (_, _) = app.keys().await;
    let Person {
        id: account,
        access_token: token,
        ..
    } = app.person("writer@example.com").await;
    let message = |email: Option<&str>| {
        json!({ "i": { "email": email, "subject": "What do you keep?",
                        "message": "canaryticketmessage please tell me" } })
    };

    let body = app.graphql(None, CONTACT, message(None)).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let body = app
        .graphql(None, CONTACT, message(Some("not an address")))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(!body.to_string().contains("not an address"), "not echoed");
    let body = app
        .graphql(
            None,
            CONTACT,
            json!({ "i": { "email": "anon@example.com", "subject": " ", "message": "x" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");

    let body = app
        .graphql(None, CONTACT, message(Some("anon@example.com")))
        .await;
    let ticket = data(&body, "contactPrivacyOfficer").clone();
    assert_eq!(ticket["status"], "OPEN");
    let body = app.graphql(Some(&token), CONTACT, message(None)).await;
    assert_eq!(data(&body, "contactPrivacyOfficer")["status"], "OPEN");

    let raw = app.db.raw_bytes().await;
    for secret in [&b"canaryticketmessage"[..], b"anon@example.com"] {
        assert!(
            !raw.windows(secret.len()).any(|window| window == secret),
            "stored encrypted"
        );
    }

    // Three per reply address, five per client address in a window.
    for _ in 0..2 {
        let body = app
            .graphql(None, CONTACT, message(Some("anon@example.com")))
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let body = app
        .graphql(None, CONTACT, message(Some("anon@example.com")))
        .await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    let body = app
        .graphql(None, CONTACT, message(Some("other@example.com")))
        .await;
    assert_eq!(
        code(&body),
        "RATE_LIMITED",
        "the client address is limited too"
    );

    let StaffMember { id: dpo, .. } = app.staff_member("dpo@example.com", StaffRole::Dpo).await;
    let dpo_token = app.mint_token(dpo, FRESH).await;
    let body = app.graphql(Some(&dpo_token), TICKETS, json!({})).await;
    let tickets = data(&body, "privacyTickets")
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(tickets.len(), 4, "{tickets:?}");
    assert!(
        tickets
            .iter()
            .all(|t| t["message"] == "canaryticketmessage please tell me")
    );
    let signed = tickets
        .iter()
        .find(|t| t["accountId"] == account.to_string())
        .expect("the signed-in sender's ticket");
    assert_eq!(signed["email"], Value::Null);
    let anonymous = tickets
        .iter()
        .find(|t| t["id"] == ticket["id"])
        .expect("the anonymous ticket");
    assert_eq!(anonymous["email"], "anon@example.com");
    assert_eq!(anonymous["accountId"], Value::Null);
    assert_eq!(actions(&app, "privacy_tickets.read").await, 1);
    let body = app.graphql(Some(&token), TICKETS, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn an_export_extended_by_dpo_is_still_built_when_a_worker_takes_it() {
    // This instance runs no jobs: DPO extends the export before any worker sees it.
    let app = spawn(|settings| settings.job_workers = 0).await;
    let (_, _) = app.keys().await;
    let Person {
        access_token: token,
        ..
    } = app.person("patient@example.com").await;
    let body = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    let id = data(&body, "requestDataExport")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let StaffMember { id: dpo, .. } = app.staff_member("dpo@example.com", StaffRole::Dpo).await;
    let dpo_token = app.mint_token(dpo, FRESH).await;
    let body = app
        .graphql(
            Some(&dpo_token),
            EXTEND,
            json!({ "id": id, "r": "Waiting for the archive restore of older generations" }),
        )
        .await;
    assert_eq!(data(&body, "extendDataRequest")["status"], "EXTENDED");

    // A second instance with a worker builds it from EXTENDED.
    app.another_instance(|settings| {
        settings.job_workers = 1;
        settings.job_poll_interval_ms = 100;
    })
    .await;
    let done = completed(&app, &token, &id).await;
    let steps: Vec<(Value, Value)> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|step| (step["from"].clone(), step["to"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("RECEIVED")),
            (json!("RECEIVED"), json!("EXTENDED")),
            (json!("EXTENDED"), json!("COMPLETED")),
        ]
    );
    let url = done["downloadUrl"].as_str().expect("a link");
    let (answer, bytes) = download(&app, url, Some(&token)).await;
    assert_eq!(answer.status, 200);
    let files = unzip(&bytes);
    let document: Value =
        serde_json::from_slice(files.get("export.json").expect("export.json")).expect("JSON");
    assert_eq!(schema_errors(&document), Vec::<String>::new());
    let own = document["dataRequests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|request| request["id"] == id.as_str())
        .expect("the export lists itself")
        .clone();
    assert_eq!(own["status"], "EXTENDED", "as it stood while it was built");
    assert_eq!(
        own["extensionReason"],
        "Waiting for the archive restore of older generations"
    );
}

#[tokio::test]
async fn two_dpo_staff_closing_one_request_at_once_leave_one_answer() {
    let app = spawn(|settings| settings.job_workers = 0).await;
    let (_, _) = app.keys().await;
    let Person {
        access_token: token,
        ..
    } = app.person("contested@example.com").await;
    let body = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    let id = data(&body, "requestDataExport")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let StaffMember { id: first, .. } = app.staff_member("dpo1@example.com", StaffRole::Dpo).await;
    let StaffMember { id: second, .. } = app.staff_member("dpo2@example.com", StaffRole::Dpo).await;
    let first = app.mint_token(first, FRESH).await;
    let second = app.mint_token(second, FRESH).await;
    let (completed, denied) = tokio::join!(
        app.graphql(
            Some(&first),
            COMPLETE,
            json!({ "id": id, "n": "Sent by post after checking the identity" }),
        ),
        app.graphql(
            Some(&second),
            DENY,
            json!({ "id": id, "r": "Duplicate of an earlier request by the person" }),
        ),
    );
    let codes = [code(&completed), code(&denied)];
    assert_eq!(
        codes.iter().filter(|code| **code == "none").count(),
        1,
        "exactly one wins: {completed} {denied}"
    );
    assert!(codes.contains(&"FAILED_PRECONDITION"), "{codes:?}");
    let history = &requests(&app, &token).await[0]["history"];
    assert_eq!(
        history.as_array().expect("history").len(),
        2,
        "one closing step: {history}"
    );
}

/// POSTs a GraphQL request to a gateway run as the `icecone` binary.
async fn post_to(client: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn an_export_survives_sigkill_of_the_gateway_and_completes_exactly_once() {
    use crate::support::binary::{BinaryApp, free_port};

    let db = icecone_store::testing::TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let start = || {
        BinaryApp::spawn(dir.path(), port, |command| {
            command
                .env("ICECONE_DATA_DIR", dir.path())
                .env("ICECONE_DATABASE_URL", db.url().expose())
                .env("ICECONE_JOB_POLL_INTERVAL_MS", "100")
                .env("ICECONE_JOB_LEASE_SECONDS", "2");
        })
    };
    let mut first = start();
    first.wait_until_healthy().await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let token = first
        .sign_up("killed-export@example.com", "a long enough passphrase 42")
        .await;
    let body = post_to(
        &client,
        &url,
        Some(&token),
        json!({ "query": REQUEST_EXPORT }),
    )
    .await;
    let id = data(&body, "requestDataExport")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // SIGKILL at once: the job is queued, claimed or running — whatever it was doing stops.
    first.kill();

    let mut second = start();
    second.wait_until_healthy().await;
    let started = Instant::now();
    let done = loop {
        let body = post_to(&client, &url, Some(&token), json!({ "query": REQUESTS })).await;
        let request = data(&body, "me")["dataRequests"][0].clone();
        if request["status"] == "COMPLETED" {
            break request;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{request}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["id"], id.as_str());
    let readies = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|step| step["note"] == "export_ready")
        .count();
    assert_eq!(readies, 1, "completed once: {done}");
    let link = done["downloadUrl"].as_str().expect("a link").to_owned();
    let download = client
        .get(format!("http://127.0.0.1:{port}{link}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answered");
    assert_eq!(download.status().as_u16(), 200);
    let files = unzip(&download.bytes().await.expect("bytes"));
    assert!(files.contains_key("export.json"));
    second.terminate();

    assert_eq!(db.count("data_requests").await, 1, "one request");
    assert_eq!(db.count("jobs").await, 1, "one job");
    assert_eq!(db.count("data_exports").await, 0, "taken on download");
}

const ALIASED_EXPORTS: usize = 12;

#[tokio::test]
async fn aliased_export_requests_make_one_export_and_a_fourth_in_a_day_is_rate_limited() {
    // No workers: the export stays open while the aliases ask again.
    let app = spawn(|settings| settings.job_workers = 0).await;
    let Person {
        access_token: token,
        ..
    } = app.person("many-exports@example.com").await;
    let aliases: String = (0..ALIASED_EXPORTS)
        .map(|n| format!("e{n}: requestDataExport {{ id status }} "))
        .collect();
    let body = app
        .graphql(Some(&token), &format!("mutation {{ {aliases}}}"), json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let ids: std::collections::HashSet<&str> = (0..ALIASED_EXPORTS)
        .map(|n| body["data"][format!("e{n}")]["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids.len(), 1, "one export, answered to every alias: {body}");
    assert_eq!(app.db.count("data_requests").await, 1);
    assert_eq!(app.db.count("jobs").await, 1, "one job");
    // Asked again later, while it is open: the same one.
    let again = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    let first = ids.into_iter().next().expect("one").to_owned();
    assert_eq!(data(&again, "requestDataExport")["id"], first.as_str());

    // Withdrawn, a new one may be asked for — three a day in all.
    let mut open = first;
    for _ in 0..2 {
        let cancelled = app
            .graphql(Some(&token), CANCEL_REQUEST, json!({ "id": open }))
            .await;
        assert!(cancelled.get("errors").is_none(), "{cancelled}");
        let next = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
        let id = data(&next, "requestDataExport")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert_ne!(id, open);
        open = id;
    }
    let cancelled = app
        .graphql(Some(&token), CANCEL_REQUEST, json!({ "id": open }))
        .await;
    assert!(cancelled.get("errors").is_none(), "{cancelled}");
    let fourth = app.graphql(Some(&token), REQUEST_EXPORT, json!({})).await;
    assert_eq!(code(&fourth), "RATE_LIMITED", "{fourth}");
    assert_eq!(app.db.count("data_requests").await, 3);
    assert_eq!(app.db.count("jobs").await, 3);
}

/// The most the gateway's anonymous memory may grow while it builds and serves the export
/// below: half the media it holds. Streaming needs a few copies of one media file, a chunk
/// and the ZIP writer's state (about 15 MiB measured on SQLite, 10 on PostgreSQL); a build
/// that holds the archive, the media or the sealed bundle whole needs all the media on top
/// of that (about 60 MiB measured when only the archive was held).
const EXPORT_MEMORY_BOUND: u64 = 24 << 20;
/// Media in the export: 24 generations of 2 MiB.
const LARGE_MEDIA: usize = 24;
const LARGE_MEDIA_BYTES: usize = 2 << 20;

/// The anonymous resident memory of process `pid` (`RssAnon`: its heap, not the database
/// file SQLite maps into it), in bytes.
fn anonymous_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("RssAnon:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Samples a process's anonymous memory every few milliseconds and keeps the highest.
struct PeakMemory {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl PeakMemory {
    fn watch(pid: u32) -> Self {
        use std::sync::atomic::Ordering;
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    peak.fetch_max(anonymous_memory(pid), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Self {
            peak,
            stop,
            sampler: Some(sampler),
        }
    }

    /// The highest sample so far, and a new watch from now.
    fn take(&self) -> u64 {
        self.peak.swap(0, std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for PeakMemory {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}

#[tokio::test]
async fn an_export_is_built_and_downloaded_in_memory_bounded_by_one_media_file_not_the_export() {
    use crate::support::binary::{BinaryApp, free_port};
    use icecone_app::keys::vault::Field;
    use icecone_core::generation::GenerationKind;
    use icecone_core::generation::GenerationStatus;
    use icecone_core::identity::email::Email;
    use icecone_core::identity::password::Password;
    use icecone_core::identity::policy::PolicyVersion;
    use icecone_core::provider::ProviderId;
    use icecone_core::usage::Usage;
    use icecone_store::accounts::AccountKind;
    use icecone_store::generations::GenerationRecord;

    let db = icecone_store::testing::TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut gateway = BinaryApp::spawn(dir.path(), port, |command| {
        command
            .env("ICECONE_DATA_DIR", dir.path())
            .env("ICECONE_DATABASE_URL", db.url().expose())
            .env("ICECONE_JOB_POLL_INTERVAL_MS", "100")
            // glibc keeps freed blocks of a few MiB cached per thread (an arena per thread, and
            // an mmap threshold that rises to the largest block freed): pinned, what is
            // measured is what the gateway holds, not what the allocator keeps for reuse.
            .env("MALLOC_ARENA_MAX", "2")
            .env("MALLOC_MMAP_THRESHOLD_", "131072");
    });
    gateway.wait_until_healthy().await;

    // The person and their media, sealed with the gateway's keys by this process.
    let store = db.store();
    let provider = icecone_app::keys::file_provider::FileKeyProvider::open(
        &dir.path().join("master.key"),
        icecone_core::crypto::aead::Algorithm::default(),
    )
    .expect("the gateway's keyring");
    let vault = icecone_app::keys::vault::Vault::open(
        store.clone(),
        std::sync::Arc::new(provider),
        icecone_core::crypto::aead::Algorithm::default(),
        icecone_app::keys::vault::CacheLimits::default(),
    )
    .await
    .expect("vault");
    let email = "heavy-media@example.com";
    let account = icecone_app::accounts::register(
        store,
        &vault,
        &Email::parse(email).expect("email"),
        &Password::parse(PASSWORD.to_owned()).expect("password"),
        PolicyVersion::current(),
        AccountKind::User,
    )
    .await
    .expect("registered");
    let subject = store
        .account(account)
        .await
        .expect("read")
        .expect("account")
        .subject;
    let mut media = vec![0_u8; LARGE_MEDIA_BYTES];
    media[..12].copy_from_slice(b"\0\0\0\x18ftypmp42");
    for n in 0..LARGE_MEDIA {
        let id = Uuid::new_v4();
        let row = id.to_string();
        let field = |column| Field {
            table: "generations",
            column,
            row_id: &row,
        };
        // Each file differs, so that no layer can share them.
        media[LARGE_MEDIA_BYTES - 8..].copy_from_slice(&(n as u64).to_le_bytes());
        let prompt = vault
            .seal(subject, field("prompt"), format!("scene {n}").as_bytes())
            .await
            .expect("sealed");
        let sealed = vault
            .seal(subject, field("media"), &media)
            .await
            .expect("sealed");
        store
            .insert_generation(
                &GenerationRecord {
                    id,
                    account,
                    kind: GenerationKind::Video,
                    status: GenerationStatus::Succeeded,
                    provider: ProviderId::parse("local").expect("provider id"),
                    provider_job_id: None,
                    prompt_sealed: prompt,
                    text_sealed: None,
                    media_type: Some("video/mp4".to_owned()),
                    error_code: None,
                    duration_seconds: Some(4),
                    usage: Usage {
                        tokens: 0,
                        images: 0,
                        video_seconds: 4,
                    },
                    created_at: Utc::now(),
                    completed_at: Some(Utc::now()),
                    remote_copy: None,
                    redactions: None,
                },
                Some(sealed),
            )
            .await
            .expect("stored");
    }
    drop(media);

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let logged_in = post_to(
        &client,
        &url,
        None,
        json!({ "query": "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { ... on AuthSession { accessToken } } }",
                "variables": { "e": email, "p": PASSWORD } }),
    )
    .await;
    let token = logged_in["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("signed in: {logged_in}"))
        .to_owned();
    let before = anonymous_memory(gateway.pid());
    let watch = PeakMemory::watch(gateway.pid());

    let body = post_to(
        &client,
        &url,
        Some(&token),
        json!({ "query": REQUEST_EXPORT }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let started = Instant::now();
    let done = loop {
        let body = post_to(&client, &url, Some(&token), json!({ "query": REQUESTS })).await;
        let request = data(&body, "me")["dataRequests"][0].clone();
        if request["status"] == "COMPLETED" {
            break request;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{request}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let built = watch.take();

    // Downloaded as a stream, into a file: the test holds no more of it than the gateway.
    let link = done["downloadUrl"].as_str().expect("a link").to_owned();
    let mut download = client
        .get(format!("http://127.0.0.1:{port}{link}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answered");
    assert_eq!(download.status().as_u16(), 200);
    let mut file = tempfile::tempfile().expect("a file");
    let mut received = 0;
    while let Some(piece) = download.chunk().await.expect("a piece") {
        received += piece.len();
        std::io::Write::write_all(&mut file, &piece).expect("written");
    }
    let served = watch.take();
    drop(watch);
    gateway.terminate();

    let total = LARGE_MEDIA * LARGE_MEDIA_BYTES;
    assert!(received > total, "{received} bytes for {total} of media");
    let mut archive = zip::ZipArchive::new(file).expect("a ZIP");
    let mut files = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).expect("an entry");
        if entry.name().is_ok_and(|name| name.starts_with("media/")) {
            assert_eq!(entry.size(), LARGE_MEDIA_BYTES as u64);
            files += 1;
        }
    }
    assert_eq!(files, LARGE_MEDIA, "every media file");
    let mut document = String::new();
    archive
        .by_name("export.json")
        .expect("export.json")
        .read_to_string(&mut document)
        .expect("UTF-8");
    let document: Value = serde_json::from_str(&document).expect("JSON");
    assert_eq!(
        document["generations"].as_array().map(Vec::len),
        Some(LARGE_MEDIA)
    );
    assert_eq!(
        document["providerDisclosures"].as_array().map(Vec::len),
        Some(LARGE_MEDIA)
    );

    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    assert!(
        built.saturating_sub(before) < EXPORT_MEMORY_BOUND,
        "building an export of {:.0} MiB of media grew the gateway's memory by {:.1} MiB \
         (from {:.1} MiB), more than {:.0} MiB",
        mib(total as u64),
        mib(built.saturating_sub(before)),
        mib(before),
        mib(EXPORT_MEMORY_BOUND)
    );
    assert!(
        served.saturating_sub(before) < EXPORT_MEMORY_BOUND,
        "serving it grew the gateway's memory by {:.1} MiB, more than {:.0} MiB",
        mib(served.saturating_sub(before)),
        mib(EXPORT_MEMORY_BOUND)
    );
}
