use std::net::SocketAddr;

use icecone_gateway::config::{Environment, Settings};
use icecone_gateway::startup::Application;
use icecone_store::testing::TestDatabase;
use secrecy::SecretString;
use serde_json::{Value, json};

/// A gateway running for one test, with its own database and data directory.
pub(crate) struct TestApp {
    pub(crate) address: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) db: TestDatabase,
    _data_dir: tempfile::TempDir,
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
        let app = Application::build(config)
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
            _data_dir: data_dir,
        }
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
