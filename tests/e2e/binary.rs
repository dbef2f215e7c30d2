//! The `icecone` binary itself: zero-configuration start, production refusal, `schema`,
//! graceful shutdown, and what reaches its logs.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::support::binary::{BinaryApp, free_port, icecone};

#[tokio::test]
async fn with_no_configuration_the_gateway_creates_its_embedded_default_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut gateway = BinaryApp::start(dir.path(), port, |_| {}).await;

    let client = reqwest::Client::new();
    let ready = client
        .get(gateway.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    // A request whose variables hold personal data, sent where logs might pick it up.
    let sentinel = "alice.sentinel@example.com";
    let answer = client
        .get(gateway.url("/graphql"))
        .query(&[
            ("query", "query Q($e: String) { __typename }"),
            ("variables", &format!("{{\"e\": \"{sentinel}\"}}")),
        ])
        .send()
        .await
        .expect("graphql");
    assert_eq!(answer.status(), 200);
    // A sign-up: its address and password go through the vault, the audit trail and the
    // notification outbox, whose default notifier only logs.
    gateway.sign_up(sentinel, "sentinel passphrase 42").await;
    // The delivery task runs every second; give it a few rounds before stopping.
    tokio::time::sleep(icecone_app::notify::DELIVERY_INTERVAL * 3).await;

    let data = dir.path().join("data");
    assert!(
        data.join("icecone.db").exists(),
        "the SQLite file is created"
    );
    let key = data.join("master.key");
    assert!(key.exists(), "the development key is created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
    }

    let status = gateway.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    let output = gateway.output();
    assert!(
        output.contains("DEVELOPMENT MASTER KEY"),
        "a loud development-key line: {output}"
    );
    assert!(output.contains("stopped"), "{output}");
    // Without a mail server, the verification mail is a file the log names.
    let mail: Vec<_> = std::fs::read_dir(data.join("mail"))
        .expect("the mail directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        output.contains("message written to a file")
            && output.contains(
                mail[0]
                    .file_name()
                    .and_then(|name| name.to_str())
                    .expect("a file name")
            ),
        "the log names the mail's file: {output}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&data.join("mail")), 0o700);
        assert_eq!(mode(&mail[0]), 0o600);
    }
    for secret in [sentinel, "sentinel passphrase 42"] {
        assert!(
            !output.contains(secret),
            "personal data reached the logs: {output}"
        );
    }
    assert!(
        !output.contains("__typename"),
        "GraphQL documents reached the logs: {output}"
    );

    // Started again, it reuses the database and the key.
    let key_before = std::fs::read(&key).expect("key");
    let mut again = BinaryApp::start(dir.path(), port, |_| {}).await;
    assert!(again.terminate().success());
    assert_eq!(std::fs::read(&key).expect("key"), key_before);
}

#[test]
fn production_without_an_explicit_key_and_database_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = icecone(dir.path())
        .env("ICECONE_ENV", "production")
        .env("ICECONE_LISTEN", "127.0.0.1:0")
        .output()
        .expect("icecone runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ICECONE_MASTER_KEY_FILE"), "{stderr}");
    assert!(stderr.contains("ICECONE_DATABASE_URL"), "{stderr}");
    assert!(stderr.contains("ICECONE_SMTP_URL"), "{stderr}");
    assert!(stderr.contains("ICECONE_DPO_CONTACT"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn a_broken_configuration_file_is_reported_by_setting_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("icecone.toml"),
        "listen = \"not an address\"\n",
    )
    .expect("write");
    let output = icecone(dir.path()).output().expect("icecone runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen"), "{stderr}");
}

#[test]
fn icecone_schema_prints_exactly_the_committed_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = icecone(dir.path())
        .arg("schema")
        .output()
        .expect("icecone runs");
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema.graphql"))
            .expect("schema.graphql is committed");
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "`icecone schema` differs from schema.graphql"
    );
}

#[test]
fn icecone_migrate_brings_a_database_up_to_date() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = icecone(dir.path())
        .arg("migrate")
        .output()
        .expect("icecone runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/icecone.db").exists());
}

#[test]
fn help_documents_every_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = icecone(dir.path())
        .arg("--help")
        .output()
        .expect("icecone runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for setting in icecone_gateway::config::all_settings() {
        assert!(
            help.contains(&setting.env_var()),
            "{} missing from --help",
            setting.env_var()
        );
    }
    assert!(help.contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
}

/// A one-purpose OTLP/HTTP collector: records the path and body of every POST it gets.
fn fake_collector() -> (u16, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sender = sender.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let _ = sender.send((path, body));
                    let mut writer = &stream;
                    let _ = writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                }
            });
        }
    });
    (port, receiver)
}

#[tokio::test]
async fn traces_are_exported_over_otlp_without_request_content() {
    let (collector, received) = fake_collector();
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let mut gateway = BinaryApp::start(dir.path(), free_port(), |command| {
        command
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{collector}"),
            )
            .env(
                "ICECONE_METRICS_LISTEN",
                format!("127.0.0.1:{metrics_port}"),
            );
    })
    .await;
    let sentinel = "otel.sentinel@example.com";
    let client = reqwest::Client::new();
    let answer = client
        .post(gateway.url("/graphql"))
        .json(&serde_json::json!({
            "query": "query Q($e: String) { providers { id } }",
            "variables": { "e": sentinel },
        }))
        .send()
        .await
        .expect("graphql");
    assert_eq!(answer.status(), 200);
    // The sentinel as an operation's name and an alias, and in a sign-up and a log-in.
    let named = client
        .post(gateway.url("/graphql"))
        .json(&serde_json::json!({
            "query": "query otel_sentinel_example_com { otel_sentinel: providers { id } }",
        }))
        .send()
        .await
        .expect("graphql");
    assert_eq!(named.status(), 200);
    gateway.sign_up(sentinel, "sentinel passphrase 42").await;
    // Metrics are scraped on their own listener, and carry nothing of the requests.
    let page = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("a page");
    assert!(
        page.contains("icecone_graphql_requests_total{code=\"OK\",operation=\"providers\"} 1"),
        "{page}"
    );
    crate::metrics::assert_labels_are_allowed(
        &page,
        &[sentinel, "otel_sentinel", "sentinel passphrase 42"],
    );
    // SIGTERM flushes the batch of spans, and the metrics, on the way out.
    assert!(gateway.terminate().success());
    let mut exported = Vec::new();
    let mut metrics = Vec::new();
    while let Ok((path, body)) = received.recv_timeout(Duration::from_secs(10)) {
        match path.as_str() {
            "/v1/traces" => exported.extend(body),
            "/v1/metrics" => metrics.extend(body),
            other => panic!("an OTLP export to {other}"),
        }
        if contains(&exported, b"/graphql") && contains(&metrics, b"icecone_graphql_requests_total")
        {
            break;
        }
    }
    assert!(
        contains(&metrics, b"icecone_graphql_requests_total"),
        "the metrics are exported over OTLP"
    );
    for secret in [
        sentinel.as_bytes(),
        b"otel_sentinel",
        b"sentinel passphrase 42",
    ] {
        assert!(
            !contains(&metrics, secret),
            "request content reached the exported metrics"
        );
    }
    assert!(
        contains(&exported, b"icecone"),
        "the service name is exported"
    );
    assert!(
        contains(&exported, b"request"),
        "the request span is exported"
    );
    assert!(contains(&exported, b"/graphql"), "its route is exported");
    assert!(
        !contains(&exported, sentinel.as_bytes()),
        "request content reached the traces"
    );
    assert!(
        !contains(&exported, b"providers { id }"),
        "the GraphQL document reached the traces"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gateway = BinaryApp::start(dir.path(), free_port(), |_| {}).await;
    let port = gateway.port();

    // A request whose body is still arriving when the signal comes.
    let body = br#"{"query":"{ providers { id } }"}"#;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(&body[..10]).expect("first part");
    stream.flush().expect("flush");
    tokio::time::sleep(Duration::from_millis(300)).await;
    gateway.send_sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(gateway.is_running(), "the gateway waits for the request");
    // New connections are no longer accepted.
    let refused = std::net::TcpStream::connect(("127.0.0.1", port));
    assert!(refused.is_err(), "the listener is closed after SIGTERM");

    stream.write_all(&body[10..]).expect("rest of the body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(
            r#"{"data":{"providers":[{"id":"local"},{"id":"openai"},{"id":"stability"},{"id":"luma"},{"id":"runway"},{"id":"heygen"},{"id":"bedrock"}]}}"#
        ),
        "{answer}"
    );
    let status = gateway.wait();
    assert!(status.success(), "{status}");
}
