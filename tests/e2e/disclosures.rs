//! Disclosures required by law, end to end over GraphQL: the DPO records an authority's
//! request; neither the DPO nor the ADMIN who recorded one may approve it (four eyes); an
//! ADMIN with a fresh second factor approves; the person is told by e-mail through a real
//! SMTP server and sees it in `me { disclosures }` and their export — a disclosure under a
//! confidentiality order only once the order has ended, when they are told; a refused
//! request is never shown; the transparency report counts approvals; the audit trail names
//! who and which request, never the person.

use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use icecone_core::disclosure::AuthorityType;
use icecone_core::disclosure::report::{Quarter, ReportedCount, SUPPRESS_BELOW};
use icecone_core::identity::roles::StaffRole;
use icecone_store::legal_disclosures::{LegalDisclosureDecision, LegalDisclosureRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::erasure::export_json;
use crate::mail::mail_to;
use crate::rights::schema_errors;
use crate::staff_console::actions;
use crate::support::app::{FRESH, Person, STALE, TestApp, code};
use crate::support::smtp::{Mail, Reply, SmtpServer};

const RECORD: &str = "mutation R($i: DisclosureInput!) { recordDisclosure(input: $i) \
    { id status accountIds categories confidentiality { until reference } toldAt } }";
const APPROVE: &str =
    "mutation A($id: ID!) { approveDisclosure(id: $id) { id status decidedBy toldAt } }";
const REFUSE: &str = "mutation F($id: ID!, $r: String!) { refuseDisclosure(id: $id, reason: $r) { id status refusalReason } }";
const LIST: &str = "{ disclosures { id status authorityName legalBasis reference recordedBy } }";
const MINE: &str = "{ me { disclosures { id authorityName authorityType legalBasis reference \
    categories requestedAt disclosedAt confidentialUntil } } }";
const SUBJECT: &str = "IceCone disclosed some of your data as required by law";

fn request(account: Uuid, kind: &str, order: Option<(chrono::DateTime<Utc>, &str)>) -> Value {
    json!({ "i": {
        "authorityName": "Amtsgericht Berlin-Mitte",
        "authorityType": kind,
        "legalBasis": "§ 100j StPO, order of judge Erika Mustermann",
        "reference": "42 Gs 1234/26",
        "accountIds": [account.to_string()],
        "categories": ["GENERATIONS", "ACCOUNT"],
        "confidentiality": order.map(|(until, reference)| json!({
            "until": until.to_rfc3339_opts(SecondsFormat::Millis, true),
            "reference": reference,
        })),
    }})
}

fn id_of(body: &Value, field: &str) -> String {
    body["data"][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {body}"))
        .to_owned()
}

/// Waits (up to 15 s) for the disclosure notice to `to` and returns it.
async fn notice_to(server: &SmtpServer, to: &str) -> Mail {
    for _ in 0..300 {
        for received in server.received() {
            let mail = Mail::parse(&received.data);
            if mail.header("Subject") == Some(SUBJECT) && received.to == [to] {
                return mail;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no disclosure notice arrived for {to}");
}

fn notices_to(server: &SmtpServer, to: &str) -> usize {
    server
        .received()
        .iter()
        .filter(|received| {
            received.to == [to] && Mail::parse(&received.data).header("Subject") == Some(SUBJECT)
        })
        .count()
}

async fn mine(app: &TestApp, person: &Person) -> Vec<Value> {
    let body = person.graphql(app, MINE, json!({})).await;
    body["data"]["me"]["disclosures"]
        .as_array()
        .unwrap_or_else(|| panic!("no disclosures: {body}"))
        .clone()
}

#[tokio::test]
async fn a_disclosure_is_approved_by_a_second_person_told_shown_exported_and_counted() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| mail_to(&server, settings)).await;
    let told = app.person("told@example.com").await;
    let secret = app.person("secret@example.com").await;
    let dpo = app.staff_member("dpo@example.com", StaffRole::Dpo).await;
    let dpo_token = app.mint_token(dpo.id, FRESH).await;
    let admin = app
        .staff_member("admin@example.com", StaffRole::Admin)
        .await;
    let admin_token = app.mint_token(admin.id, FRESH).await;
    let admin_stale = app.mint_token(admin.id, STALE).await;
    let other_admin = app
        .staff_member("second.admin@example.com", StaffRole::Admin)
        .await;
    let other_admin_token = app.mint_token(other_admin.id, FRESH).await;

    // The DPO records; nothing is shown or sent before a decision.
    let body = app
        .graphql(Some(&dpo_token), RECORD, request(told.id, "COURT", None))
        .await;
    let plain = id_of(&body, "recordDisclosure");
    assert_eq!(
        body["data"]["recordDisclosure"]["status"], "RECORDED",
        "{body}"
    );
    assert_eq!(
        body["data"]["recordDisclosure"]["categories"],
        json!(["ACCOUNT", "GENERATIONS"])
    );
    assert!(mine(&app, &told).await.is_empty(), "not yet approved");
    let refused = app
        .graphql(
            Some(&dpo_token),
            RECORD,
            request(Uuid::new_v4(), "COURT", None),
        )
        .await;
    assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
    let past = app
        .graphql(
            Some(&dpo_token),
            RECORD,
            request(
                told.id,
                "COURT",
                Some((Utc::now() - TimeDelta::hours(1), "order")),
            ),
        )
        .await;
    assert_eq!(code(&past), "BAD_USER_INPUT", "{past}");

    // Only an ADMIN other than the recorder, with a fresh second factor, decides.
    let by_dpo = app
        .graphql(Some(&dpo_token), APPROVE, json!({ "id": plain }))
        .await;
    assert_eq!(code(&by_dpo), "FORBIDDEN", "{by_dpo}");
    let stale = app
        .graphql(Some(&admin_stale), APPROVE, json!({ "id": plain }))
        .await;
    assert_eq!(code(&stale), "REAUTHENTICATION_REQUIRED", "{stale}");
    let own = id_of(
        &app.graphql(Some(&admin_token), RECORD, request(told.id, "TAX", None))
            .await,
        "recordDisclosure",
    );
    let same = app
        .graphql(Some(&admin_token), APPROVE, json!({ "id": own }))
        .await;
    assert_eq!(code(&same), "FORBIDDEN", "{same}");
    assert_eq!(
        same["errors"][0]["message"],
        "the request must be decided by someone other than the one who recorded it"
    );
    assert_eq!(
        actions(&app, "legal_disclosure.approve").await,
        0,
        "refusals record nothing"
    );

    let approved = app
        .graphql(Some(&admin_token), APPROVE, json!({ "id": plain }))
        .await;
    assert_eq!(
        approved["data"]["approveDisclosure"]["status"], "APPROVED",
        "{approved}"
    );
    assert_eq!(
        approved["data"]["approveDisclosure"]["decidedBy"],
        admin.id.to_string()
    );
    assert!(approved["data"]["approveDisclosure"]["toldAt"].is_string());
    let again = app
        .graphql(Some(&other_admin_token), APPROVE, json!({ "id": plain }))
        .await;
    assert_eq!(code(&again), "FAILED_PRECONDITION", "{again}");

    // The person is told by mail, with the reference, and sees it.
    let mail = notice_to(&server, "told@example.com").await;
    assert!(
        mail.text.contains(&format!("(reference {plain})")),
        "{}",
        mail.text
    );
    assert!(
        !mail.text.contains("Mustermann"),
        "no free text in the mail"
    );
    let shown = mine(&app, &told).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["id"], plain.as_str());
    assert_eq!(shown[0]["authorityName"], "Amtsgericht Berlin-Mitte");
    assert_eq!(shown[0]["authorityType"], "COURT");
    assert_eq!(shown[0]["reference"], "42 Gs 1234/26");
    assert_eq!(shown[0]["confidentialUntil"], Value::Null);

    // The refused one is never shown.
    let refusal = app
        .graphql(
            Some(&other_admin_token),
            REFUSE,
            json!({ "id": own, "r": "no legal basis for this account" }),
        )
        .await;
    assert_eq!(
        refusal["data"]["refuseDisclosure"]["status"], "REFUSED",
        "{refusal}"
    );
    assert_eq!(mine(&app, &told).await.len(), 1);

    // Under a confidentiality order: approved, but neither told nor shown until it ends.
    let until = Utc::now() + TimeDelta::seconds(4);
    let body = app
        .graphql(
            Some(&dpo_token),
            RECORD,
            request(secret.id, "POLICE", Some((until, "gag order 7/26"))),
        )
        .await;
    let confidential = id_of(&body, "recordDisclosure");
    let approved = app
        .graphql(Some(&admin_token), APPROVE, json!({ "id": confidential }))
        .await;
    assert_eq!(
        approved["data"]["approveDisclosure"]["status"], "APPROVED",
        "{approved}"
    );
    assert_eq!(approved["data"]["approveDisclosure"]["toldAt"], Value::Null);
    let (vault, _) = app.keys().await;
    assert_eq!(
        icecone_app::disclosures::tell_due(app.db.store(), &vault, Utc::now())
            .await
            .expect("checked"),
        0,
        "the order is live"
    );
    assert!(
        mine(&app, &secret).await.is_empty(),
        "not shown under the order"
    );
    let live_export = export_json(&app, &secret.access_token).await;
    assert_eq!(
        live_export["legalDisclosures"],
        json!([]),
        "not exported under the order"
    );
    assert_eq!(notices_to(&server, "secret@example.com"), 0);

    let wait = (until - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    assert_eq!(
        icecone_app::disclosures::tell_due(app.db.store(), &vault, Utc::now())
            .await
            .expect("checked"),
        1,
        "told once the order ended"
    );
    assert_eq!(
        icecone_app::disclosures::tell_due(app.db.store(), &vault, Utc::now())
            .await
            .expect("checked"),
        0,
        "and only once"
    );
    notice_to(&server, "secret@example.com").await;
    let shown = mine(&app, &secret).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["id"], confidential.as_str());
    assert!(shown[0]["confidentialUntil"].is_string());

    // In the export, valid against its schema.
    let export = export_json(&app, &told.access_token).await;
    let errors = schema_errors(&export);
    assert!(errors.is_empty(), "{errors:?}");
    let exported = export["legalDisclosures"].as_array().expect("section");
    assert_eq!(exported.len(), 1, "{exported:?}");
    assert_eq!(exported[0]["id"], plain.as_str());
    assert_eq!(
        exported[0]["legalBasis"],
        "§ 100j StPO, order of judge Erika Mustermann"
    );
    assert_eq!(exported[0]["categories"], json!(["ACCOUNT", "GENERATIONS"]));

    // Staff read the list (audited); the audit trail names requests, never people.
    let list = app.graphql(Some(&dpo_token), LIST, json!({})).await;
    let statuses: Vec<&Value> = list["data"]["disclosures"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|entry| &entry["status"])
        .collect();
    assert_eq!(statuses, ["APPROVED", "REFUSED", "APPROVED"]);
    assert_eq!(actions(&app, "legal_disclosures.read").await, 1);
    assert_eq!(actions(&app, "legal_disclosure.record").await, 3);
    assert_eq!(actions(&app, "legal_disclosure.approve").await, 2);
    assert_eq!(actions(&app, "legal_disclosure.refuse").await, 1);
    for entry in app.db.store().audit_page(None, 1000).await.expect("audit") {
        if entry.action.starts_with("legal_disclosure") {
            let target = entry.target.unwrap_or_default();
            assert!(!target.contains(&told.id.to_string()), "{target}");
            assert!(!target.contains(&secret.id.to_string()), "{target}");
            assert_eq!(entry.reason_sealed, None);
        }
    }

    // The report counts approvals only: one court order reads "fewer than 5"; the police
    // approval above is the fifth once four more are approved.
    let now = Utc::now();
    let row = |report: &[icecone_core::disclosure::report::ReportRow], kind| {
        report
            .iter()
            .find(|row| row.quarter == Quarter::of(now) && row.authority == kind)
            .expect("row")
            .count
    };
    let report = icecone_app::disclosures::transparency_report(app.db.store(), now)
        .await
        .expect("report");
    assert_eq!(
        row(&report, AuthorityType::Court),
        ReportedCount::FewerThan(SUPPRESS_BELOW)
    );
    assert_eq!(
        row(&report, AuthorityType::Police),
        ReportedCount::FewerThan(SUPPRESS_BELOW)
    );
    for _ in 0..4 {
        let id = Uuid::new_v4();
        app.db
            .store()
            .insert_legal_disclosure(&LegalDisclosureRecord {
                id,
                authority_name_sealed: vec![1],
                authority_type: "POLICE".to_owned(),
                legal_basis_sealed: vec![2],
                reference_sealed: vec![3],
                categories: "ACCOUNT".to_owned(),
                confidential_until: None,
                confidentiality_reference_sealed: None,
                status: "RECORDED".to_owned(),
                recorded_by: dpo.id,
                recorded_at: now,
                decided_by: None,
                decided_at: None,
                refusal_reason_sealed: None,
                notice_queued_at: None,
                accounts: vec![],
            })
            .await
            .expect("recorded");
        app.db
            .store()
            .decide_legal_disclosure(
                id,
                LegalDisclosureDecision {
                    from: &["RECORDED"],
                    to: "APPROVED",
                    by: admin.id,
                    at: now,
                    refusal_reason_sealed: None,
                },
            )
            .await
            .expect("approved");
    }
    let report = icecone_app::disclosures::transparency_report(app.db.store(), now)
        .await
        .expect("report");
    assert_eq!(
        row(&report, AuthorityType::Police),
        ReportedCount::Exactly(5)
    );
    assert_eq!(
        row(&report, AuthorityType::Tax),
        ReportedCount::FewerThan(SUPPRESS_BELOW),
        "the refused tax request is not counted, and zero reads as few"
    );
}
