//! [`TestApp`]: one gateway started in process for a test, and the typed helpers every
//! test file shares — people, staff members, tokens, GraphQL calls and error codes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures_util::future::BoxFuture;
use icecone_app::accounts::{self, EMAIL_INDEX};
use icecone_app::auth::staff;
use icecone_app::keys::file_provider::FileKeyProvider;
use icecone_app::keys::vault::{CacheLimits, Vault};
use icecone_app::notify::{DeliveryError, Notification, NotificationKind, Notifier};
use icecone_app::tokens::{AccessClaims, Acr, TokenSigner};
use icecone_core::crypto::aead::Algorithm;
use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::policy::PolicyVersion;
use icecone_core::identity::roles::StaffRole;
use icecone_core::identity::totp::TotpSecret;
use icecone_gateway::config::{Config, Environment, Settings};
use icecone_gateway::startup::Application;
use icecone_store::accounts::AccountKind;
use icecone_store::sessions::NewSession;
use icecone_store::testing::TestDatabase;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use super::totp::{base32_decode, code_at};

/// The password of every account the helpers make.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

const LOG_IN: &str = "mutation L($e: String!, $p: String!) { logIn(email: $e, password: $p) { \
    ... on AuthSession { accessToken } } }";

/// A gateway running for one test, with its own database and data directory.
pub(crate) struct TestApp {
    pub(crate) address: SocketAddr,
    /// The `/metrics` listener's address, when `metrics_listen` was set.
    pub(crate) metrics_address: Option<SocketAddr>,
    pub(crate) client: reqwest::Client,
    pub(crate) db: TestDatabase,
    /// What the gateway's notifier was handed.
    pub(crate) notifications: Arc<RecordingNotifier>,
    _data_dir: tempfile::TempDir,
}

/// A notification as the test notifier received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) account: Option<Uuid>,
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
                Err(DeliveryError::temporary(anyhow::anyhow!(
                    "the mail server is down"
                )))
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
        Self::spawn_inner(adjust, true).await
    }

    /// Starts the gateway with its own e-mail notifier (SMTP when `adjust` sets
    /// `smtp_url`, `.eml` files otherwise) instead of the recording one; `notifications`
    /// stays empty.
    pub(crate) async fn spawn_mailing(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_inner(adjust, false).await
    }

    async fn spawn_inner(adjust: impl FnOnce(&mut Settings), recording: bool) -> Self {
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
        let app = if recording {
            Application::build_with_notifier(config, notifications.clone()).await
        } else {
            Application::build(config).await
        }
        .expect("the gateway builds");
        let address = app.address();
        let metrics_address = app.metrics_address();
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            metrics_address,
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

    /// Starts another instance on this one's database and data directory that sends its
    /// own e-mail (as [`TestApp::spawn_mailing`] does), with `adjust` applied to its
    /// settings and `configure` to the checked configuration (what no setting reaches, such
    /// as the policy history); returns its address.
    pub(crate) async fn another_mailing_instance(
        &self,
        adjust: impl FnOnce(&mut Settings),
        configure: impl FnOnce(&mut Config),
    ) -> SocketAddr {
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: self.data_dir().to_owned(),
            database_url: Some(SecretString::from(self.db.url().expose().to_owned())),
            env: Environment::Development,
            ..Settings::default()
        };
        adjust(&mut settings);
        let mut config = settings.resolve().expect("valid test settings");
        configure(&mut config);
        let app = Application::build(config)
            .await
            .expect("the other instance builds");
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

    /// `GET /metrics` on the metrics listener (which must be on): the page, asserting a 200
    /// in Prometheus's text format.
    pub(crate) async fn scrape(&self) -> String {
        let address = self.metrics_address.expect("metrics_listen is set");
        let answer = self
            .send(self.client.get(format!("http://{address}/metrics")))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(
            answer.content_type.starts_with("text/plain; version=0.0.4"),
            "{}",
            answer.content_type
        );
        answer.text
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

    /// POSTs `query` with `variables` to /graphql as JSON, as the bearer of `token` (if
    /// any); the answer's body.
    pub(crate) async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request).await.json()
    }

    /// `setConsent(purpose, granted)` as the bearer of `token`; the answer's body.
    pub(crate) async fn set_consent(&self, token: &str, purpose: &str, granted: bool) -> Value {
        self.graphql(
            Some(token),
            "mutation S($p: Purpose!, $g: Boolean!) { setConsent(purpose: $p, granted: $g) { \
             purpose granted source objected } }",
            json!({ "p": purpose, "g": granted }),
        )
        .await
    }

    /// The app's vault and token keys, as a second gateway instance would open them.
    pub(crate) async fn keys(&self) -> (Vault, TokenSigner) {
        let provider =
            FileKeyProvider::open(&self.data_dir().join("master.key"), Algorithm::default())
                .expect("keyring");
        let vault = Vault::open(
            self.db.store().clone(),
            Arc::new(provider),
            Algorithm::default(),
            CacheLimits::default(),
        )
        .await
        .expect("vault");
        let tokens = TokenSigner::load(self.db.store(), &vault)
            .await
            .expect("signer");
        (vault, tokens)
    }

    /// Registers a user account with [`PASSWORD`], its address verified; its id.
    pub(crate) async fn register(&self, email: &str) -> Uuid {
        let (vault, _) = self.keys().await;
        accounts::register(
            self.db.store(),
            &vault,
            &Email::parse(email).expect("email"),
            &Password::parse(PASSWORD.to_owned()).expect("password"),
            PolicyVersion::current(),
            AccountKind::User,
        )
        .await
        .expect("registered")
    }

    /// A registered person, signed in with `logIn`.
    pub(crate) async fn person(&self, email: &str) -> Person {
        let id = self.register(email).await;
        let body = self
            .graphql(None, LOG_IN, json!({ "e": email, "p": PASSWORD }))
            .await;
        let access_token = body["data"]["logIn"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {body}"))
            .to_owned();
        Person {
            id,
            email: email.to_owned(),
            access_token,
        }
    }

    /// A signed-in person who enrolled and confirmed TOTP with `enrollTotp` and
    /// `confirmTotp`. Their access token is the one from before the second factor.
    pub(crate) async fn person_with_totp(&self, email: &str) -> (Person, Totp) {
        let person = self.person(email).await;
        let enrolled = person
            .graphql(self, "mutation { enrollTotp { secret } }", json!({}))
            .await;
        let secret = TotpSecret::from_bytes(&base32_decode(
            enrolled["data"]["enrollTotp"]["secret"]
                .as_str()
                .unwrap_or_else(|| panic!("not enrolled: {enrolled}")),
        ))
        .expect("secret");
        let confirmed = person
            .graphql(
                self,
                "mutation C($k: String!) { confirmTotp(code: $k) }",
                json!({ "k": code_at(&secret, -30) }),
            )
            .await;
        let recovery_codes = confirmed["data"]["confirmTotp"]
            .as_array()
            .unwrap_or_else(|| panic!("not confirmed: {confirmed}"))
            .iter()
            .map(|c| c.as_str().expect("code").to_owned())
            .collect();
        (
            person,
            Totp {
                secret,
                recovery_codes,
            },
        )
    }

    /// A staff account holding `role`, as `icecone staff create` makes it.
    pub(crate) async fn staff_member(&self, email: &str, role: StaffRole) -> StaffMember {
        let (vault, _) = self.keys().await;
        let email = Email::parse(email).expect("email");
        let uri = staff::create(
            self.db.store(),
            &vault,
            &email,
            &Password::parse(PASSWORD.to_owned()).expect("password"),
            role,
        )
        .await
        .expect("staff created");
        let secret = uri
            .split("secret=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .expect("secret in the otpauth URI");
        let secret = TotpSecret::from_bytes(&base32_decode(secret)).expect("secret");
        let index = vault.blind_index(EMAIL_INDEX, email.as_str().as_bytes());
        let account = self
            .db
            .store()
            .account_by_email_index(&index)
            .await
            .expect("read")
            .expect("the staff account exists");
        StaffMember {
            id: account.id,
            secret,
        }
    }

    /// A new session of `account` and its access token, as log-in would issue it, with
    /// the second factor `factor`.
    pub(crate) async fn mint_token(&self, account: Uuid, factor: Factor) -> String {
        let (_, tokens) = self.keys().await;
        let session = Uuid::new_v4();
        let now = Utc::now();
        let (auth_time, mfa_at, amr, acr) = match factor {
            Factor::None => (now, None, vec!["pwd"], Acr::Aal1),
            Factor::Ago(age) => (now - age, Some(now - age), vec!["pwd", "otp"], Acr::Aal2),
        };
        let amr: Vec<String> = amr.into_iter().map(str::to_owned).collect();
        self.db
            .store()
            .create_session(NewSession {
                id: session,
                account,
                auth_time,
                mfa_at,
                amr: amr.join(" "),
            })
            .await
            .expect("session");
        let claims = AccessClaims::new(
            &account.to_string(),
            &session.to_string(),
            auth_time,
            amr,
            acr,
            now,
        );
        tokens.issue(&claims).expect("token")
    }

    /// `createPartner(name, scopes)` as the ADMIN holding `admin_token`: the partner and
    /// its first key.
    pub(crate) async fn create_partner(
        &self,
        admin_token: &str,
        name: &str,
        scopes: &[&str],
    ) -> Issued {
        let body = self
            .graphql(
                Some(admin_token),
                "mutation C($n: String!, $s: [PartnerScope!]!) { createPartner(name: $n, scopes: $s) \
                 { id key partner { id } } }",
                json!({ "n": name, "s": scopes }),
            )
            .await;
        let created = &body["data"]["createPartner"];
        let text = |field: &str| {
            created[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field}: {body}"))
                .to_owned()
        };
        Issued {
            partner: created["partner"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no partner: {body}"))
                .to_owned(),
            key_id: text("id"),
            key: text("key"),
        }
    }

    /// POSTs `query` to /graphql with the partner API key `key`: the status and the body.
    pub(crate) async fn as_partner(
        &self,
        key: &str,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let answer = self
            .send(
                self.client
                    .post(self.url("/graphql"))
                    .header("content-type", "application/json")
                    .header("authorization", format!("ApiKey {key}"))
                    .body(json!({ "query": query, "variables": variables }).to_string()),
            )
            .await;
        (answer.status, answer.json())
    }

    /// An ADMIN staff member with a fresh and a stale second factor.
    pub(crate) async fn admin(&self, email: &str) -> Admin {
        let admin = self.staff_member(email, StaffRole::Admin).await;
        Admin {
            fresh: self.mint_token(admin.id, FRESH).await,
            stale: self.mint_token(admin.id, STALE).await,
        }
    }
}

/// A partner as ADMIN creates it: its id and its first key.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) partner: String,
    pub(crate) key_id: String,
    pub(crate) key: String,
}

/// A person with an account, signed in.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: Uuid,
    pub(crate) email: String,
    /// The access token of their session.
    pub(crate) access_token: String,
}

impl Person {
    /// Sends `query` to `app` as this person.
    pub(crate) async fn graphql(&self, app: &TestApp, query: &str, variables: Value) -> Value {
        app.graphql(Some(&self.access_token), query, variables)
            .await
    }
}

/// A confirmed TOTP factor.
#[derive(Debug)]
pub(crate) struct Totp {
    pub(crate) secret: TotpSecret,
    /// The ten single-use recovery codes `confirmTotp` answered.
    pub(crate) recovery_codes: Vec<String>,
}

/// A staff account: its id and its TOTP secret.
#[derive(Debug)]
pub(crate) struct StaffMember {
    pub(crate) id: Uuid,
    pub(crate) secret: TotpSecret,
}

/// An ADMIN's access tokens with a fresh and a stale second factor.
#[derive(Debug)]
pub(crate) struct Admin {
    pub(crate) fresh: String,
    pub(crate) stale: String,
}

/// How the session of a minted token used its second factor.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Factor {
    /// Password only: an `aal1` token.
    None,
    /// A second factor this long ago: an `aal2` token.
    Ago(TimeDelta),
}

/// A second factor within the last five minutes.
pub(crate) const FRESH: Factor = Factor::Ago(TimeDelta::seconds(30));
/// A second factor longer ago than five minutes.
pub(crate) const STALE: Factor = Factor::Ago(TimeDelta::minutes(10));

/// The `extensions.code` of an answer's first error, `none` without one.
pub(crate) fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

/// The `extensions.code` of every error of an answer, in order (`none` for an error
/// without one).
pub(crate) fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("none")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}
