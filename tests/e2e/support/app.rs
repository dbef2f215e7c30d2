use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use icecone_app::notify::{DeliveryError, Notification, NotificationKind, Notifier};
use icecone_gateway::config::{Environment, Settings};
use icecone_gateway::startup::Application;
use icecone_store::testing::TestDatabase;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

/// A gateway running for one test, with its own database and data directory.
pub(crate) struct TestApp {
    pub(crate) address: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) db: TestDatabase,
    /// What the gateway's notifier was handed.
    pub(crate) notifications: Arc<RecordingNotifier>,
    _data_dir: tempfile::TempDir,
}

/// A notification as the test notifier received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) account: Uuid,
    pub(crate) kind: NotificationKind,
    pub(crate) recipient: String,
    pub(crate) token: Option<String>,
}

/// A notifier that keeps what it is handed, for the tests to read.
#[derive(Debug, Default)]
pub(crate) struct RecordingNotifier {
    delivered: Mutex<Vec<Delivered>>,
    /// How many deliveries to refuse before accepting again.
    failures_left: std::sync::atomic::AtomicUsize,
}

impl Notifier for RecordingNotifier {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        use std::sync::atomic::Ordering;
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Box::pin(async {
                Err(DeliveryError(anyhow::anyhow!("the mail server is down")))
            });
        }
        let delivered = Delivered {
            account: notification.account,
            kind: notification.kind,
            recipient: notification.recipient.expose_secret().to_owned(),
            token: notification
                .token
                .as_ref()
                .map(|token| token.expose_secret().to_owned()),
        };
        self.delivered.lock().expect("lock").push(delivered);
        Box::pin(async { Ok(()) })
    }
}

impl RecordingNotifier {
    /// Makes the next `n` deliveries fail.
    pub(crate) fn fail_next(&self, n: usize) {
        self.failures_left
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Everything delivered so far.
    pub(crate) fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().expect("lock").clone()
    }

    /// Waits (up to ten seconds) for a delivery of `kind` to `recipient`.
    pub(crate) async fn wait_for(&self, kind: NotificationKind, recipient: &str) -> Delivered {
        self.wait_for_all(kind, recipient, 1).await.remove(0)
    }

    /// Waits (up to ten seconds) until `count` deliveries of `kind` to `recipient` arrived;
    /// returns them, oldest first.
    pub(crate) async fn wait_for_all(
        &self,
        kind: NotificationKind,
        recipient: &str,
        count: usize,
    ) -> Vec<Delivered> {
        for _ in 0..200 {
            let found: Vec<Delivered> = self
                .delivered()
                .into_iter()
                .filter(|d| d.kind == kind && d.recipient == recipient)
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{count} {kind:?} notifications were not delivered: {:?}",
            self.delivered()
        );
    }
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `extensions.code` of the first error.
    pub(crate) fn first_code(&self) -> String {
        self.json()["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text))
            .to_owned()
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub(crate) async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDatabase::new().await;
        let data_dir = tempfile::tempdir().expect("data dir");
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(SecretString::from(db.url().expose().to_owned())),
            env: Environment::Development,
            ..Settings::default()
        };
        adjust(&mut settings);
        let config = settings.resolve().expect("valid test settings");
        let notifications = Arc::new(RecordingNotifier::default());
        let app = Application::build_with_notifier(config, notifications.clone())
            .await
            .expect("the gateway builds");
        let address = app.address();
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            db,
            notifications,
            _data_dir: data_dir,
        }
    }

    /// Starts another gateway instance on this one's database and data directory (so the
    /// same root key), with `adjust` applied to its settings; returns its address.
    pub(crate) async fn another_instance(&self, adjust: impl FnOnce(&mut Settings)) -> SocketAddr {
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: self.data_dir().to_owned(),
            database_url: Some(SecretString::from(self.db.url().expose().to_owned())),
            env: Environment::Development,
            ..Settings::default()
        };
        adjust(&mut settings);
        let config = settings.resolve().expect("valid test settings");
        let app = Application::build_with_notifier(config, Arc::new(RecordingNotifier::default()))
            .await
            .expect("the second instance builds");
        let address = app.address();
        tokio::spawn(app.run_until_stopped());
        address
    }

    /// The gateway's data directory (its development root key lives there).
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The `https://` URL of `path`, for a gateway started with a TLS certificate and key.
    pub(crate) fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.address)
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("a body");
        Answer {
            status,
            content_type,
            headers,
            text,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    /// POSTs a raw body to /graphql.
    pub(crate) async fn post_raw(
        &self,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self.client.post(self.url("/graphql")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        self.send(request).await
    }

    /// POSTs a GraphQL query as `application/json`, accepting `application/json`.
    pub(crate) async fn query(&self, query: &str) -> Answer {
        self.post_raw(
            Some("application/json"),
            Some("application/json"),
            json!({ "query": query }).to_string(),
        )
        .await
    }
}
