//! Subprocessors: the list is published as versions; a change in the operator's file is
//! announced to every verified account once by e-mail — whatever the number of instances
//! starting with it — and shown as upcoming until it takes effect; a day inside the notice
//! period stops start-up.

use std::time::Duration;

use icecone_gateway::config::{Environment, Settings};
use icecone_gateway::startup::Application;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::mail::mail_to;
use crate::support::app::TestApp;
use crate::support::smtp::{Mail, Reply, SmtpServer};

const LIST: &str = "{ privacyPolicy { subprocessors { \
    current { version takesEffectAt added entries { name purpose location transferMechanism agreement since provider dataCategories } } \
    upcoming { version takesEffectAt added removed } } } }";

const HOSTING: &str = r#"
[[subprocessor]]
name = "Hetzner Online GmbH"
purpose = "hosting"
data_categories = ["user.account", "user.content.private"]
location = "DE"
transfer = "none_needed"
agreement = "AV-Vertrag 2026-03-14"
since = 2026-03-14
"#;

/// The notice period of the test: long enough to see the change as upcoming and every
/// account told, short enough to see it take effect.
const NOTICE_SECONDS: u64 = 8;

async fn list(app: &TestApp) -> Value {
    let answer = app.graphql(None, LIST, json!({})).await;
    answer["data"]["privacyPolicy"]["subprocessors"].clone()
}

fn names(list: &Value) -> Vec<String> {
    list["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_changed_subprocessors_file_is_announced_to_every_account_once_before_it_takes_effect() {
    let server = SmtpServer::start(Reply::Accept);
    let app = TestApp::spawn_mailing(|settings| {
        mail_to(&server, settings);
        settings.subprocessors_notice_period = format!("{NOTICE_SECONDS}s");
    })
    .await;
    // The first start: the AI providers only, in effect at once, announced to nobody.
    let first = list(&app).await;
    assert_eq!(first["current"]["version"], 1, "{first}");
    assert_eq!(first["upcoming"], json!([]), "{first}");
    let providers = names(&first["current"]);
    assert!(providers.iter().any(|n| n == "OpenAI"), "{providers:?}");
    assert!(
        !providers.iter().any(|n| n.contains("local")),
        "an adapter that runs in process is no subprocessor: {providers:?}"
    );
    let openai = first["current"]["entries"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["name"] == "OpenAI"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(openai["purpose"], "AI_GENERATION", "{openai}");
    assert_eq!(openai["provider"], "openai", "{openai}");
    assert_eq!(openai["transferMechanism"], "NOT_RECORDED", "{openai}");

    app.register("ann@example.com").await;
    app.register("bob@example.com").await;

    // The operator adds a hosting provider: two instances start with the file at once.
    let file = app.data_dir().join("subprocessors.toml");
    std::fs::write(&file, HOSTING).expect("the file");
    let with_file = |settings: &mut Settings| {
        mail_to(&server, settings);
        settings.subprocessors_file = Some(file.clone());
        settings.subprocessors_notice_period = format!("{NOTICE_SECONDS}s");
    };
    tokio::join!(
        app.another_mailing_instance(with_file, |_| {}),
        app.another_mailing_instance(with_file, |_| {}),
    );

    let announced = list(&app).await;
    assert_eq!(
        announced["current"]["version"], 1,
        "not in effect yet: {announced}"
    );
    assert_eq!(announced["upcoming"][0]["version"], 2, "{announced}");
    assert_eq!(
        announced["upcoming"][0]["added"],
        json!(["Hetzner Online GmbH"])
    );
    assert_eq!(
        announced["upcoming"].as_array().map(Vec::len),
        Some(1),
        "published once"
    );

    let received = server.wait_for(2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = if server.received().len() > received.len() {
        server.received()
    } else {
        received
    };
    let mut recipients: Vec<String> = received.iter().flat_map(|r| r.to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["ann@example.com", "bob@example.com"],
        "one notice per account"
    );
    let mail = Mail::parse(&received[0].data);
    assert_eq!(
        mail.header("Subject"),
        Some("IceCone's subprocessors are changing")
    );
    assert!(
        mail.text.contains("New: Hetzner Online GmbH"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("(UTC)"), "{}", mail.text);
    // Still upcoming while people are being told.
    assert_eq!(list(&app).await["current"]["version"], 1);

    // Once its time has come, the new list is the one in effect.
    tokio::time::sleep(Duration::from_secs(NOTICE_SECONDS)).await;
    let effective = list(&app).await;
    assert_eq!(effective["current"]["version"], 2, "{effective}");
    assert_eq!(effective["upcoming"], json!([]), "{effective}");
    let hosting = effective["current"]["entries"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["name"] == "Hetzner Online GmbH"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(hosting["purpose"], "HOSTING", "{hosting}");
    assert_eq!(hosting["location"], "DE");
    assert_eq!(hosting["transferMechanism"], "NONE_NEEDED");
    assert_eq!(hosting["agreement"], "AV-Vertrag 2026-03-14");
    assert_eq!(hosting["since"], "2026-03-14");
    assert_eq!(
        hosting["dataCategories"],
        json!(["user.account", "user.content.private"])
    );

    // Another change whose day is inside the notice period stops start-up.
    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1)).date_naive();
    std::fs::write(
        &file,
        format!(
            "takes_effect_on = {tomorrow}\n{}",
            HOSTING.replace("AV-Vertrag 2026-03-14", "AV-Vertrag 2026-12-01")
        ),
    )
    .expect("the file");
    let settings = Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: app.data_dir().to_owned(),
        database_url: Some(SecretString::from(app.db.url().expose().to_owned())),
        env: Environment::Development,
        subprocessors_file: Some(file.clone()),
        subprocessors_notice_period: "30d".to_owned(),
        ..Settings::default()
    };
    let config = settings.resolve().expect("the file itself is valid");
    let error = Application::build(config)
        .await
        .map(|_| ())
        .expect_err("a change announced too late is refused");
    let error = format!("{error:#}");
    assert!(error.contains("takes_effect_on"), "{error}");
    assert!(error.contains("notice period"), "{error}");
    assert_eq!(
        list(&app).await["current"]["version"],
        2,
        "nothing published"
    );
}
