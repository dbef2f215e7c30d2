//! Configuration: built-in defaults → optional `icecone.toml` → `ICECONE_*` environment
//! variables → command-line flags. Every setting is documented once: the gateway's own in
//! [`SETTINGS`], each external provider's in its adapter crate, reached through the
//! application's registry (`icecone_app::providers::REGISTRY`). [`all_settings`] lists them all;
//! `--help` prints that list and tests check it against the [`Settings`] fields and the
//! README.

mod subprocessors;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use icecone_store::DatabaseUrl;
use secrecy::{ExposeSecret, SecretString};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use icecone_app::providers::REGISTRY;
pub use icecone_app::settings::{
    AnalyticsConfig, GenerationsConfig, JobsConfig, ProvidersConfig, RetentionConfig, RightsConfig,
};
use icecone_app::settings::{MailConfig, MailDelivery, MailFrom, PublicUrl, SmtpServer, SmtpUrl};
use icecone_app::subprocessors::SubprocessorsConfig;
use icecone_app::transparency::DpoContact;
use icecone_core::analytics::MinGroup;
use icecone_core::analytics::noise::Epsilon;
use icecone_core::billing::webhook::SigningSecret;
use icecone_core::client_address::TrustedProxies;
use icecone_core::consent::policy::PolicyHistory;
use icecone_core::crypto::aead::Algorithm;
use icecone_core::net::Cidr;
use icecone_core::origins::AllowedOrigins;
use icecone_core::provider::agreement::Agreement;
use icecone_core::provider::outbound::OutboundPolicy;
use icecone_core::settings::SettingDoc;
use icecone_core::trusted_documents::{Manifest, ManifestError};
use icecone_core::usage::{Plans, Quota};
use icecone_provider_http::settings::{
    Deployment, ProviderSettings, RawSection, Registration, Section, SettingError, redacted,
};

/// The deployment mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Local development: generated master key, GraphiQL, human-readable logs.
    #[default]
    Development,
    /// Production: explicit key and database, JSON logs, no GraphiQL.
    Production,
}

/// The limits every GraphQL document is checked against before it runs
/// (`graphql::limits`), with their documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of data fields (a root field is at depth 1).
    pub max_depth: usize,
    /// Most fields selected by one operation, fragments counted where spread.
    pub max_complexity: usize,
    /// Most aliased fields in one operation.
    pub max_aliases: usize,
    /// Most root fields in one operation.
    pub max_root_fields: usize,
    /// Most lexical tokens in a document.
    pub max_tokens: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_complexity: 500,
            max_aliases: 15,
            max_root_fields: 15,
            max_tokens: 3000,
        }
    }
}

/// One setting as an operator writes it: the gateway's own, or one of a provider's
/// section.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The provider whose section holds it; `None` for the gateway's own.
    provider: Option<&'static str>,
    doc: &'static SettingDoc,
}

impl Setting {
    /// The key in `icecone.toml`: `listen`, or `providers.openai.api_key` for a provider's.
    pub fn key(&self) -> String {
        match self.provider {
            Some(provider) => format!("providers.{provider}.{}", self.doc.key),
            None => self.doc.key.to_owned(),
        }
    }

    /// The environment variable that sets it: `ICECONE_LISTEN`, or
    /// `ICECONE_OPENAI_API_KEY` for a provider's (`ICECONE_<PROVIDER>_<KEY>`).
    pub fn env_var(&self) -> String {
        variable(self.provider, self.doc.key)
    }

    /// The default, as it would be written in `icecone.toml`; `None` when unset by default.
    pub fn default(&self) -> Option<&'static str> {
        self.doc.default
    }

    /// What the setting does.
    pub fn help(&self) -> &'static str {
        self.doc.help
    }
}

/// The environment variable of `key`, in `provider`'s section or the gateway's own.
fn variable(provider: Option<&str>, key: &str) -> String {
    match provider {
        Some(provider) => icecone_core::settings::provider_variable(provider, key),
        None => format!("ICECONE_{}", key.to_ascii_uppercase()),
    }
}

/// Every setting, in the order `--help` shows them: the gateway's own ([`SETTINGS`]), then
/// each registered provider's section.
pub fn all_settings() -> Vec<Setting> {
    let own = SETTINGS.iter().map(|doc| Setting {
        provider: None,
        doc,
    });
    let providers = REGISTRY.iter().flat_map(|registration| {
        registration.settings().iter().map(|doc| Setting {
            provider: Some(registration.id()),
            doc,
        })
    });
    own.chain(providers).collect()
}

/// The gateway's own settings, in the order `--help` shows them.
pub const SETTINGS: &[SettingDoc] = &[
    SettingDoc {
        key: "listen",
        default: Some("127.0.0.1:8080"),
        help: "address to bind (also `serve --listen`)",
    },
    SettingDoc {
        key: "metrics_listen",
        default: None,
        help: "address of the Prometheus `/metrics` endpoint, a listener of its own apart from `listen` (plain HTTP: counts and durations only, no personal data); unset: no endpoint",
    },
    SettingDoc {
        key: "data_dir",
        default: Some("./data"),
        help: "where the SQLite file and the development key live",
    },
    SettingDoc {
        key: "database_url",
        default: None,
        help: "sqlite://... or postgres://...; unset: <data_dir>/icecone.db (required in production)",
    },
    SettingDoc {
        key: "env",
        default: Some("development"),
        help: "development or production",
    },
    SettingDoc {
        key: "master_key_file",
        default: None,
        help: "root keyring file, mode 0600 (`<version> <32 bytes base64>` lines, or one base64 key); unset: generated in <data_dir> (production needs it or master_key)",
    },
    SettingDoc {
        key: "master_key",
        default: None,
        help: "root keyring text instead of a file (`;` separates lines); read-only, so rotation needs a restart",
    },
    SettingDoc {
        key: "encryption_algorithm",
        default: Some("aes256gcm"),
        help: "AEAD for new ciphertexts: aes256gcm (the policy's AES-256) or xchacha20poly1305 (existing ciphertexts of either stay readable)",
    },
    SettingDoc {
        key: "tls_cert",
        default: None,
        help: "PEM certificate chain (also `serve --tls-cert`); with tls_key: HTTPS, TLS 1.3 only, HSTS",
    },
    SettingDoc {
        key: "tls_key",
        default: None,
        help: "PEM private key of tls_cert, mode 0600 (also `serve --tls-key`)",
    },
    SettingDoc {
        key: "behind_tls_proxy",
        default: Some("false"),
        help: "true when a TLS-terminating proxy is the only way in: production may then serve plain HTTP on a non-loopback address",
    },
    SettingDoc {
        key: "trusted_proxies",
        default: None,
        help: "comma-separated CIDRs (`10.0.0.0/8, 2001:db8::/32`) of the proxies in front of the gateway: only from these peers are `Forwarded` and `X-Forwarded-For` believed, right to left; unset: none, the TCP peer is the client",
    },
    SettingDoc {
        key: "cors_origins",
        default: None,
        help: "comma-separated exact origins (`https://app.example.com`, no wildcard, no path) whose browser pages may call the API (CORS); empty: none; unset: `http://localhost:*` and `http://127.0.0.1:*` in development, none in production",
    },
    SettingDoc {
        key: "trusted_documents_file",
        default: None,
        help: "the first-party app's persisted-operations manifest: a JSON object of SHA-256 (hex) → document text, as graphql-codegen's `persisted-documents.json` and Relay's `persisted_queries.json` are; clients may then send `extensions.persistedQuery.sha256Hash` instead of the document, and in production signed-in people and anonymous callers may run only these documents (partners and staff any); unset: no registered documents, any document within the limits",
    },
    SettingDoc {
        key: "subprocessors_file",
        default: None,
        help: "the operator's subprocessors (hosting, e-mail, payments, ...) with their data protection agreements: a TOML file of `[[subprocessor]]` tables (docs/operations.md), checked at start-up; a change is published as a new version that takes effect after the notice period and is announced to every account first; unset: the AI providers only",
    },
    SettingDoc {
        key: "subprocessors_notice_period",
        default: Some("30d"),
        help: "how long before a change to the subprocessors takes effect every account is told of it: a number with s, m, h or d",
    },
    SettingDoc {
        key: "smtp_url",
        default: None,
        help: "the mail server, a secret: `smtp://host:port` (plain, loopback hosts only), `smtp://host:port?tls=required` (STARTTLS) or `smtps://user:password@host` (implicit TLS); unset: each mail is written to <data_dir>/mail/<id>.eml (refused in production)",
    },
    SettingDoc {
        key: "smtp_ca_file",
        default: None,
        help: "PEM certificates of a private authority the mail server's certificate chains to, besides the public roots",
    },
    SettingDoc {
        key: "mail_from",
        default: None,
        help: "the sender of every mail, such as `IceCone <no-reply@icecone.example>`; required with smtp_url and in production",
    },
    SettingDoc {
        key: "public_url",
        default: None,
        help: "the base of every link in a mail, such as `https://icecone.example`; unset in development: http(s)://<listen address>; required in production",
    },
    SettingDoc {
        key: "dpo_contact",
        default: None,
        help: "the Data Protection Officer's contact the privacy page (`/privacy`) shows: an e-mail address, a postal address or a URL, one line; required in production",
    },
    SettingDoc {
        key: "ws_init_timeout",
        default: Some("5s"),
        help: "how long a WebSocket at /graphql/ws may take to send `connection_init` before it is closed (4408): s, m, h or d",
    },
    SettingDoc {
        key: "ws_idle_timeout",
        default: Some("2m"),
        help: "how long a WebSocket with no running subscription may stay silent before it is closed: s, m, h or d",
    },
    SettingDoc {
        key: "ws_connections_per_address",
        default: Some("16"),
        help: "open WebSockets per client address (IPv6: per /64) on each instance; more are refused with 429",
    },
    SettingDoc {
        key: "ws_connections_per_account",
        default: Some("8"),
        help: "open WebSockets per signed-in account or partner on each instance; more are closed after `connection_init`",
    },
    SettingDoc {
        key: "ws_subscriptions_per_connection",
        default: Some("16"),
        help: "subscriptions running at once on one WebSocket; one more is refused with RATE_LIMITED",
    },
    SettingDoc {
        key: "log",
        default: Some("info"),
        help: "log filter (tracing EnvFilter syntax); logs are JSON in production",
    },
    SettingDoc {
        key: "max_body_bytes",
        default: Some("262144"),
        help: "largest accepted request body, in bytes",
    },
    SettingDoc {
        key: "graphql_max_depth",
        default: Some("10"),
        help: "deepest selection nesting of a query (introspection has its own fixed bound)",
    },
    SettingDoc {
        key: "graphql_max_complexity",
        default: Some("500"),
        help: "most fields a query may select, counting fragments where they are spread",
    },
    SettingDoc {
        key: "graphql_max_aliases",
        default: Some("15"),
        help: "most aliased fields in one operation",
    },
    SettingDoc {
        key: "graphql_max_root_fields",
        default: Some("15"),
        help: "most top-level fields in one operation",
    },
    SettingDoc {
        key: "graphql_max_batch",
        default: Some("10"),
        help: "most operations in one batched request",
    },
    SettingDoc {
        key: "graphql_max_tokens",
        default: Some("3000"),
        help: "most lexical tokens in a query document",
    },
    SettingDoc {
        key: "max_provider_retention_days",
        default: Some("0"),
        help: "the longest an AI provider may keep prompts and outputs for a request to be routed to it; 0: only providers that keep nothing (only a bound the provider's terms give counts: a provider whose retention is unknown or open-ended is never used)",
    },
    SettingDoc {
        key: "provider_timeout_seconds",
        default: Some("60"),
        help: "the longest one request to an AI provider may take before it counts as a timeout",
    },
    SettingDoc {
        key: "quota_tokens_per_month",
        default: Some("200000"),
        help: "text tokens (prompt and answer) each account on the FREE plan may use per calendar month (UTC); a text starts while any are left; 0: no text generation",
    },
    SettingDoc {
        key: "quota_images_per_month",
        default: Some("100"),
        help: "images each account on the FREE plan may generate per calendar month (UTC); 0: no image generation",
    },
    SettingDoc {
        key: "quota_video_seconds_per_month",
        default: Some("120"),
        help: "seconds of video each account on the FREE plan may generate per calendar month (UTC); 0: no video generation",
    },
    SettingDoc {
        key: "pro_quota_tokens_per_month",
        default: Some("2000000"),
        help: "text tokens each account on the PRO plan may use per calendar month (UTC)",
    },
    SettingDoc {
        key: "pro_quota_images_per_month",
        default: Some("1000"),
        help: "images each account on the PRO plan may generate per calendar month (UTC)",
    },
    SettingDoc {
        key: "pro_quota_video_seconds_per_month",
        default: Some("1800"),
        help: "seconds of video each account on the PRO plan may generate per calendar month (UTC)",
    },
    SettingDoc {
        key: "generation_retention",
        default: Some("90d"),
        help: "how long IceCone keeps a generation (prompt, output, media) before the purge job deletes it: a number with s, m, h or d (`90d`, `12h`)",
    },
    SettingDoc {
        key: "export_link_ttl",
        default: Some("7d"),
        help: "how long the single-use download link of a data export works; the stored export is deleted when it expires: a number with s, m, h or d (`7d`, `12h`)",
    },
    SettingDoc {
        key: "unverified_account_ttl",
        default: Some("7d"),
        help: "how long an account may stay unverified before it is erased (the same erasure a person can ask for): a number with s, m, h or d",
    },
    SettingDoc {
        key: "session_retention",
        default: Some("30d"),
        help: "how long a session is kept after it ended (signed out, revoked, or its last refresh token expired) before the hourly purge deletes it: a number with s, m, h or d",
    },
    SettingDoc {
        key: "notification_retention",
        default: Some("30d"),
        help: "how long a notification (an e-mail to a person) is kept after it was delivered or given up; a campaign message keeps only its row, so that a campaign reaches each account once: a number with s, m, h or d",
    },
    SettingDoc {
        key: "privacy_ticket_retention",
        default: Some("1095d"),
        help: "how long a message to the DPO and its replies are kept after it was closed (not while its account is under a legal hold): a number with s, m, h or d",
    },
    SettingDoc {
        key: "data_request_retention",
        default: Some("1095d"),
        help: "how long a finished data subject request and its history are kept (not while its account is under a legal hold): a number with s, m, h or d",
    },
    SettingDoc {
        key: "usage_retention",
        default: Some("400d"),
        help: "how long a month's usage counters are kept after the month ended: a number with s, m, h or d",
    },
    SettingDoc {
        key: "billing_record_retention",
        default: Some("10y"),
        help: "how long an invoice record is kept after it was issued, after an erasure too (without its link to the account; GDPR Art. 17(3)(b)), then deleted: a number with s, m, h, d or y (365 days)",
    },
    SettingDoc {
        key: "stripe_secret_key",
        default: None,
        help: "Stripe's secret (or restricted) API key, a secret, write-only; unset: billing is off and startCheckout and billingPortal answer BILLING_UNAVAILABLE",
    },
    SettingDoc {
        key: "stripe_webhook_secret",
        default: None,
        help: "the signing secret (`whsec_...`) of the Stripe webhook endpoint at <public_url>/webhooks/stripe, a secret; two separated by a comma while one is rolled; required with stripe_secret_key",
    },
    SettingDoc {
        key: "stripe_price_pro",
        default: None,
        help: "the Stripe price (`price_...`) of the PRO plan's subscription; required with stripe_secret_key",
    },
    SettingDoc {
        key: "stripe_base_url",
        default: Some("https://api.stripe.com"),
        help: "Stripe's API base URL (a local mock in tests); https in production",
    },
    SettingDoc {
        key: "text_default_max_tokens",
        default: Some("1024"),
        help: "the completion limit of a text generation that names no `maxTokens`: sent to the provider and reserved from the quota before the call",
    },
    SettingDoc {
        key: "erasure_grace",
        default: Some("7d"),
        help: "grace period between `requestAccountDeletion` and the erasure, during which `cancelAccountDeletion` works: a number with s, m, h or d (`7d`, `0s`)",
    },
    SettingDoc {
        key: "job_workers",
        default: Some("2"),
        help: "background job workers per instance (video generations); 0: this instance runs no jobs (another one must)",
    },
    SettingDoc {
        key: "job_poll_interval_ms",
        default: Some("1000"),
        help: "how often an idle job worker looks for due jobs, a running video is polled at its provider and a `generationUpdated` subscription re-reads its generation, in milliseconds",
    },
    SettingDoc {
        key: "job_lease_seconds",
        default: Some("60"),
        help: "how long a worker's claim on a job lasts without renewal (renewed while it works); a job whose worker died is taken over once it expires",
    },
    SettingDoc {
        key: "video_job_deadline",
        default: Some("30m"),
        help: "how long a video generation may take from its request; past it, it fails with TIMEOUT and is cancelled at the provider (s, m, h or d)",
    },
    SettingDoc {
        key: "max_output_bytes",
        default: Some("268435456"),
        help: "largest output fetched from a provider's temporary URL, in bytes; a larger one fails the generation",
    },
    SettingDoc {
        key: "analytics_min_group",
        default: Some("10"),
        help: "the smallest number of distinct people an analytics cell may describe (smaller cells are suppressed, also against differencing) and a provider's ratings must come from before they rank it; at least 2",
    },
    SettingDoc {
        key: "analytics_epsilon",
        default: None,
        help: "turns on differential privacy for analytics counts: the privacy budget (epsilon, above 0 and at most 10) of each metric per day, spent once when the day is aggregated",
    },
    SettingDoc {
        key: "outbound_allow",
        default: None,
        help: "development and tests only (refused in production): comma-separated networks, such as 127.0.0.1/32, from which outputs may be fetched although they are not public addresses; metadata addresses stay refused",
    },
    SettingDoc {
        key: "local_video_delay",
        default: Some("0s"),
        help: "how long the built-in `local` provider's video jobs run before they are ready (s, m, h or d); for demonstrations and tests",
    },
];

/// The settings as read from defaults, file and environment, before they are checked.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Address of the Prometheus `/metrics` endpoint; `None`: no endpoint.
    pub metrics_listen: Option<SocketAddr>,
    /// Directory for the SQLite file and the development key.
    pub data_dir: PathBuf,
    /// Database URL; may hold a password.
    #[serde(serialize_with = "redacted")]
    pub database_url: Option<SecretString>,
    /// Deployment mode.
    pub env: Environment,
    /// Root keyring file.
    pub master_key_file: Option<PathBuf>,
    /// Root keyring text (from `ICECONE_MASTER_KEY`).
    #[serde(serialize_with = "redacted")]
    pub master_key: Option<SecretString>,
    /// The AEAD for new ciphertexts.
    pub encryption_algorithm: String,
    /// PEM certificate chain; with [`Settings::tls_key`], the gateway serves HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of [`Settings::tls_cert`].
    pub tls_key: Option<PathBuf>,
    /// A TLS-terminating proxy is the only way in (allows plain HTTP off loopback in
    /// production).
    pub behind_tls_proxy: bool,
    /// CIDRs of the proxies whose forwarding headers are believed.
    pub trusted_proxies: Option<String>,
    /// The origins whose browser pages may call the API.
    pub cors_origins: Option<String>,
    /// The first-party app's persisted-operations manifest.
    pub trusted_documents_file: Option<PathBuf>,
    /// The operator's subprocessors.
    pub subprocessors_file: Option<PathBuf>,
    /// See [`SubprocessorsConfig::notice_period`].
    pub subprocessors_notice_period: String,
    /// The mail server's URL; may hold a password.
    #[serde(serialize_with = "redacted")]
    pub smtp_url: Option<SecretString>,
    /// PEM certificates of a private authority for the mail server.
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of every mail.
    pub mail_from: Option<String>,
    /// The base of every link in a mail.
    pub public_url: Option<String>,
    /// The DPO's contact on the privacy page.
    pub dpo_contact: Option<String>,
    /// See [`WsLimits::init_timeout`].
    pub ws_init_timeout: String,
    /// See [`WsLimits::idle_timeout`].
    pub ws_idle_timeout: String,
    /// See [`WsLimits::connections_per_address`].
    pub ws_connections_per_address: usize,
    /// See [`WsLimits::connections_per_account`].
    pub ws_connections_per_account: usize,
    /// See [`WsLimits::subscriptions_per_connection`].
    pub ws_subscriptions_per_connection: usize,
    /// Log filter.
    pub log: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// See [`Limits::max_depth`].
    pub graphql_max_depth: usize,
    /// See [`Limits::max_complexity`].
    pub graphql_max_complexity: usize,
    /// See [`Limits::max_aliases`].
    pub graphql_max_aliases: usize,
    /// See [`Limits::max_root_fields`].
    pub graphql_max_root_fields: usize,
    /// Most operations in a batch.
    pub graphql_max_batch: usize,
    /// See [`Limits::max_tokens`].
    pub graphql_max_tokens: usize,
    /// The longest a provider may keep our data for a request to be routed to it.
    pub max_provider_retention_days: u32,
    /// The longest one provider request may take.
    pub provider_timeout_seconds: u64,
    /// Text tokens per account and month.
    pub quota_tokens_per_month: u64,
    /// Images per account and month.
    pub quota_images_per_month: u64,
    /// Seconds of video per account and month.
    pub quota_video_seconds_per_month: u64,
    /// Text tokens per account and month on the PRO plan.
    pub pro_quota_tokens_per_month: u64,
    /// Images per account and month on the PRO plan.
    pub pro_quota_images_per_month: u64,
    /// Seconds of video per account and month on the PRO plan.
    pub pro_quota_video_seconds_per_month: u64,
    /// How long generations are kept (`90d`).
    pub generation_retention: String,
    /// How long a data export's download link works (`7d`).
    pub export_link_ttl: String,
    /// Grace period before an erasure runs (`7d`, `0s`).
    pub erasure_grace: String,
    /// See [`RightsConfig::unverified_account_ttl`].
    pub unverified_account_ttl: String,
    /// See [`RetentionConfig::sessions`] (`30d`).
    pub session_retention: String,
    /// See [`RetentionConfig::notifications`] (`30d`).
    pub notification_retention: String,
    /// See [`RetentionConfig::privacy_tickets`] (`1095d`).
    pub privacy_ticket_retention: String,
    /// See [`RetentionConfig::data_requests`] (`1095d`).
    pub data_request_retention: String,
    /// See [`RetentionConfig::usage`] (`400d`).
    pub usage_retention: String,
    /// See [`RetentionConfig::billing_records`] (`10y`).
    pub billing_record_retention: String,
    /// Stripe's secret key; unset: billing is off.
    #[serde(serialize_with = "redacted")]
    pub stripe_secret_key: Option<SecretString>,
    /// The Stripe webhook endpoint's signing secrets (comma-separated).
    #[serde(serialize_with = "redacted")]
    pub stripe_webhook_secret: Option<SecretString>,
    /// The Stripe price of `PRO`.
    pub stripe_price_pro: Option<String>,
    /// Stripe's API base URL.
    pub stripe_base_url: String,
    /// See [`GenerationsConfig::default_max_tokens`].
    pub text_default_max_tokens: u32,
    /// Job workers per instance.
    pub job_workers: usize,
    /// Idle poll interval of job workers, in milliseconds.
    pub job_poll_interval_ms: u64,
    /// Job lease, in seconds.
    pub job_lease_seconds: u64,
    /// How long a video generation may take (`30m`).
    pub video_job_deadline: String,
    /// Largest output fetched from a provider.
    pub max_output_bytes: usize,
    /// Networks outputs may be fetched from besides public addresses (development only).
    pub outbound_allow: Option<String>,
    /// How long the local provider's video jobs run (`0s`).
    pub local_video_delay: String,
    /// Each registered provider's section (`[providers.<id>]`).
    pub providers: ProviderSections,
    /// See [`AnalyticsConfig::min_group`].
    pub analytics_min_group: u32,
    /// See [`AnalyticsConfig::epsilon`].
    pub analytics_epsilon: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            env: Environment::Development,
            master_key_file: None,
            master_key: None,
            encryption_algorithm: Algorithm::default().config_name().to_owned(),
            tls_cert: None,
            tls_key: None,
            behind_tls_proxy: false,
            trusted_proxies: None,
            cors_origins: None,
            trusted_documents_file: None,
            subprocessors_file: None,
            subprocessors_notice_period: "30d".to_owned(),
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: None,
            public_url: None,
            dpo_contact: None,
            ws_init_timeout: "5s".to_owned(),
            ws_idle_timeout: "2m".to_owned(),
            ws_connections_per_address: 16,
            ws_connections_per_account: 8,
            ws_subscriptions_per_connection: 16,
            log: "info".to_owned(),
            max_body_bytes: 256 * 1024,
            graphql_max_depth: limits.max_depth,
            graphql_max_complexity: limits.max_complexity,
            graphql_max_aliases: limits.max_aliases,
            graphql_max_root_fields: limits.max_root_fields,
            graphql_max_batch: 10,
            graphql_max_tokens: limits.max_tokens,
            max_provider_retention_days: 0,
            provider_timeout_seconds: 60,
            quota_tokens_per_month: 200_000,
            quota_images_per_month: 100,
            quota_video_seconds_per_month: 120,
            pro_quota_tokens_per_month: 2_000_000,
            pro_quota_images_per_month: 1_000,
            pro_quota_video_seconds_per_month: 1_800,
            generation_retention: "90d".to_owned(),
            export_link_ttl: "7d".to_owned(),
            erasure_grace: "7d".to_owned(),
            unverified_account_ttl: "7d".to_owned(),
            session_retention: "30d".to_owned(),
            notification_retention: "30d".to_owned(),
            privacy_ticket_retention: "1095d".to_owned(),
            data_request_retention: "1095d".to_owned(),
            usage_retention: "400d".to_owned(),
            billing_record_retention: "10y".to_owned(),
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_price_pro: None,
            stripe_base_url: icecone_billing_stripe::DEFAULT_BASE_URL.to_owned(),
            text_default_max_tokens: 1_024,
            job_workers: 2,
            job_poll_interval_ms: 1_000,
            job_lease_seconds: 60,
            video_job_deadline: "30m".to_owned(),
            max_output_bytes: 256 * 1024 * 1024,
            outbound_allow: None,
            local_video_delay: "0s".to_owned(),
            providers: ProviderSections::default(),
            analytics_min_group: 10,
            analytics_epsilon: None,
        }
    }
}

/// Each registered provider's section of the settings (`[providers.<id>]`, its variables
/// `ICECONE_<ID>_<KEY>`), in the order of the registry: read by the provider's own
/// settings type, so that a key it does not have is refused by name.
#[derive(Debug)]
pub struct ProviderSections(Vec<Box<dyn Section>>);

impl Default for ProviderSections {
    fn default() -> Self {
        Self(
            REGISTRY
                .iter()
                .map(|registration| registration.default_section())
                .collect(),
        )
    }
}

impl ProviderSections {
    /// Replaces the section of `S`'s provider (tests and benches configure providers so).
    pub fn set<S: ProviderSettings>(&mut self, section: S) {
        let section: Box<dyn Section> = Box::new(section);
        match self.0.iter_mut().find(|held| held.id() == S::ID) {
            Some(held) => *held = section,
            None => self.0.push(section),
        }
    }

    /// Each section, in the order of the registry.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Section> {
        self.0.iter().map(AsRef::as_ref)
    }
}

impl Serialize for ProviderSections {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for section in &self.0 {
            map.serialize_entry(section.id(), &section.shown())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ProviderSections {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let read = BTreeMap::<String, RawSection>::deserialize(deserializer)?;
        let mut sections = Self::default();
        for (id, raw) in read {
            let registration = registration(&id).ok_or_else(|| {
                D::Error::custom(format!(
                    "unknown setting `providers.{id}`: no provider `{id}` is registered"
                ))
            })?;
            let section = registration
                .read(raw)
                .map_err(|error| D::Error::custom(provider_error(registration, &error)))?;
            if let Some(held) = sections.0.iter_mut().find(|held| held.id() == id) {
                *held = section;
            }
        }
        Ok(sections)
    }
}

fn registration(id: &str) -> Option<&'static dyn Registration> {
    REGISTRY
        .iter()
        .copied()
        .find(|registration| registration.id() == id)
}

/// A provider's setting error, naming the setting as the operator writes it (its key in
/// `icecone.toml` and its variable), never its value.
fn provider_error(registration: &dyn Registration, error: &SettingError) -> String {
    let key = format!("providers.{}.{}", registration.id(), error.key());
    if error.is_unknown() {
        return format!("unknown setting `{key}`");
    }
    let variable = variable(Some(registration.id()), error.key());
    format!("{key} ({variable}) {}", error.problem())
}

/// Why the configuration cannot be used. Messages name the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be read as settings.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// Production mode is missing a setting that has a development-only default.
    #[error(
        "ICECONE_ENV=production needs an explicit {missing}: set it in the environment or in icecone.toml"
    )]
    ProductionNeeds {
        /// The settings that are missing, by environment variable name.
        missing: String,
    },
    /// A named configuration file does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// Only one of the TLS certificate and key is set.
    #[error(
        "TLS needs both ICECONE_TLS_CERT and ICECONE_TLS_KEY (or `serve --tls-cert` and `--tls-key`): {missing} is not set"
    )]
    TlsNeedsBoth {
        /// The one that is missing, by environment variable name.
        missing: &'static str,
    },
    /// Production mode would talk to a database on another host without TLS.
    #[error(
        "ICECONE_ENV=production refuses a PostgreSQL ICECONE_DATABASE_URL on another host that does not require TLS: add sslmode=require (or verify-ca, verify-full) to it"
    )]
    PlaintextDatabase,
    /// Production mode would serve plain HTTP on an address other hosts can reach.
    #[error(
        "ICECONE_ENV=production refuses to serve plain HTTP on {listen}, which is not a loopback address: set ICECONE_TLS_CERT and ICECONE_TLS_KEY to serve HTTPS, or ICECONE_BEHIND_TLS_PROXY=true if a TLS-terminating proxy is the only way in"
    )]
    PlainHttpInProduction {
        /// The address that was to be bound.
        listen: SocketAddr,
    },
}

impl Settings {
    /// Reads the settings: defaults, then the TOML file, then `ICECONE_*` variables.
    ///
    /// `file` is `None` for the default `icecone.toml` in the working directory, which may be
    /// absent; a file named explicitly must exist.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.to_owned())),
            Some(path) => path.to_owned(),
            None => PathBuf::from("icecone.toml"),
        };
        Self::from_figment(Figment::new().merge(Toml::file(path)).merge(env_provider()))
    }

    /// Reads settings from a figment (the tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        figment
            .extract()
            .map_err(|error| ConfigError::Invalid(describe(&error)))
    }

    /// Checks the settings and resolves the defaults that depend on others.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        if self.env == Environment::Production {
            let mut missing = Vec::new();
            if self.master_key_file.is_none() && self.master_key.is_none() {
                missing.push("ICECONE_MASTER_KEY_FILE or ICECONE_MASTER_KEY (the root key)");
            }
            if self.database_url.is_none() {
                missing.push("ICECONE_DATABASE_URL");
            }
            if self.smtp_url.is_none() {
                missing.push("ICECONE_SMTP_URL");
            }
            if self.mail_from.is_none() {
                missing.push("ICECONE_MAIL_FROM");
            }
            if self.public_url.is_none() {
                missing.push("ICECONE_PUBLIC_URL");
            }
            if self.dpo_contact.is_none() {
                missing.push("ICECONE_DPO_CONTACT");
            }
            if !missing.is_empty() {
                return Err(ConfigError::ProductionNeeds {
                    missing: missing.join(" and "),
                });
            }
        }
        let root_keys = match (self.master_key_file, self.master_key) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "set either master_key_file or master_key, not both".to_owned(),
                ));
            }
            (Some(path), None) => RootKeys::File(path),
            (None, Some(text)) => RootKeys::Env(text),
            (None, None) => RootKeys::Development,
        };
        let encryption_algorithm =
            Algorithm::from_name(&self.encryption_algorithm).ok_or_else(|| {
                ConfigError::Invalid(
                    "encryption_algorithm must be xchacha20poly1305 or aes256gcm".to_owned(),
                )
            })?;
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::TlsNeedsBoth {
                    missing: "ICECONE_TLS_KEY",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::TlsNeedsBoth {
                    missing: "ICECONE_TLS_CERT",
                });
            }
        };
        if self.env == Environment::Production
            && tls.is_none()
            && !self.behind_tls_proxy
            && !self.listen.ip().is_loopback()
        {
            return Err(ConfigError::PlainHttpInProduction {
                listen: self.listen,
            });
        }
        let database_url = match &self.database_url {
            Some(url) => DatabaseUrl::parse(url.expose_secret())
                .map_err(|error| ConfigError::Invalid(format!("database_url: {error}")))?,
            None => DatabaseUrl::sqlite_file(&self.data_dir.join("icecone.db")),
        };
        if self.env == Environment::Production && database_url.crosses_network_in_clear() {
            return Err(ConfigError::PlaintextDatabase);
        }
        let positive = [
            ("max_body_bytes", self.max_body_bytes),
            ("graphql_max_depth", self.graphql_max_depth),
            ("graphql_max_complexity", self.graphql_max_complexity),
            ("graphql_max_root_fields", self.graphql_max_root_fields),
            ("graphql_max_batch", self.graphql_max_batch),
            ("graphql_max_tokens", self.graphql_max_tokens),
            (
                "ws_connections_per_address",
                self.ws_connections_per_address,
            ),
            (
                "ws_connections_per_account",
                self.ws_connections_per_account,
            ),
            (
                "ws_subscriptions_per_connection",
                self.ws_subscriptions_per_connection,
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(ConfigError::Invalid(format!("{key} must be at least 1")));
        }
        let trusted_proxies = TrustedProxies::parse(self.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|error| ConfigError::Invalid(format!("trusted_proxies: {error}")))?;
        let cors = AllowedOrigins::resolve(
            self.cors_origins.as_deref(),
            self.env == Environment::Development,
        )
        .map_err(|error| ConfigError::Invalid(format!("cors_origins: {error}")))?;
        let trusted_documents = self
            .trusted_documents_file
            .as_deref()
            .map(read_trusted_documents)
            .transpose()?;
        let positive_duration = |key: &str, value: &str| {
            parse_duration(value)
                .filter(|duration| !duration.is_zero())
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "{key} must be a positive number with s, m, h or d, such as 5s"
                    ))
                })
        };
        let agreements;
        let subprocessors = {
            let file = self
                .subprocessors_file
                .as_deref()
                .map(subprocessors::read)
                .transpose()?
                .unwrap_or_default();
            agreements = file.agreements;
            SubprocessorsConfig {
                operator: file.entries,
                takes_effect_on: file.takes_effect_on,
                notice_period: positive_duration(
                    "subprocessors_notice_period",
                    &self.subprocessors_notice_period,
                )?,
                notice_interval: icecone_app::subprocessors::NOTICE_INTERVAL,
            }
        };
        let websocket = WsLimits {
            init_timeout: positive_duration("ws_init_timeout", &self.ws_init_timeout)?,
            idle_timeout: positive_duration("ws_idle_timeout", &self.ws_idle_timeout)?,
            connections_per_address: self.ws_connections_per_address,
            connections_per_account: self.ws_connections_per_account,
            subscriptions_per_connection: self.ws_subscriptions_per_connection,
        };
        let generations = GenerationsConfig {
            plans: Plans {
                free: Quota {
                    tokens: self.quota_tokens_per_month,
                    images: self.quota_images_per_month,
                    video_seconds: self.quota_video_seconds_per_month,
                },
                pro: Quota {
                    tokens: self.pro_quota_tokens_per_month,
                    images: self.pro_quota_images_per_month,
                    video_seconds: self.pro_quota_video_seconds_per_month,
                },
            },
            retention: parse_duration(&self.generation_retention)
                .filter(|retention| !retention.is_zero())
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        "generation_retention must be a positive number with s, m, h or d, such as 90d"
                            .to_owned(),
                    )
                })?,
            default_max_tokens: Some(self.text_default_max_tokens)
                .filter(|n| (1..=32_768).contains(n))
                .ok_or_else(|| {
                    ConfigError::Invalid("text_default_max_tokens must be 1 to 32768".to_owned())
                })?,
        };
        let rights = RightsConfig {
            export_link_ttl: parse_duration(&self.export_link_ttl)
                .filter(|ttl| !ttl.is_zero())
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        "export_link_ttl must be a positive number with s, m, h or d, such as 7d"
                            .to_owned(),
                    )
                })?,
            unverified_account_ttl: positive_duration(
                "unverified_account_ttl",
                &self.unverified_account_ttl,
            )?,
        };
        let retention = RetentionConfig {
            generations: generations.retention,
            export_links: rights.export_link_ttl,
            unverified_accounts: rights.unverified_account_ttl,
            sessions: positive_duration("session_retention", &self.session_retention)?,
            notifications: positive_duration(
                "notification_retention",
                &self.notification_retention,
            )?,
            privacy_tickets: positive_duration(
                "privacy_ticket_retention",
                &self.privacy_ticket_retention,
            )?,
            data_requests: positive_duration(
                "data_request_retention",
                &self.data_request_retention,
            )?,
            usage: positive_duration("usage_retention", &self.usage_retention)?,
            billing_records: positive_duration(
                "billing_record_retention",
                &self.billing_record_retention,
            )?,
        };
        let billing = billing_settings(
            self.env,
            self.stripe_secret_key.as_ref(),
            self.stripe_webhook_secret.as_ref(),
            self.stripe_price_pro.as_deref(),
            &self.stripe_base_url,
        )?;
        if self.job_poll_interval_ms == 0
            || self.job_lease_seconds == 0
            || self.max_output_bytes == 0
        {
            return Err(ConfigError::Invalid(
                "job_poll_interval_ms, job_lease_seconds and max_output_bytes must be at least 1"
                    .to_owned(),
            ));
        }
        let analytics = AnalyticsConfig {
            min_group: MinGroup::new(self.analytics_min_group).map_err(|_| {
                ConfigError::Invalid("analytics_min_group must be at least 2".to_owned())
            })?,
            epsilon: self
                .analytics_epsilon
                .map(Epsilon::new)
                .transpose()
                .map_err(|_| {
                    ConfigError::Invalid(
                        "analytics_epsilon must be a number above 0 and at most 10".to_owned(),
                    )
                })?,
            ..AnalyticsConfig::default()
        };
        let jobs = JobsConfig {
            workers: self.job_workers,
            poll_interval: Duration::from_millis(self.job_poll_interval_ms),
            lease: Duration::from_secs(self.job_lease_seconds),
            video_deadline: parse_duration(&self.video_job_deadline)
                .filter(|deadline| !deadline.is_zero())
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        "video_job_deadline must be a positive number with s, m, h or d, such as 30m"
                            .to_owned(),
                    )
                })?,
            max_output_bytes: self.max_output_bytes,
            erasure_grace: parse_duration(&self.erasure_grace).ok_or_else(|| {
                ConfigError::Invalid(
                    "erasure_grace must be a number with s, m, h or d, such as 7d or 0s".to_owned(),
                )
            })?,
        };
        let local_video_delay = parse_duration(&self.local_video_delay).ok_or_else(|| {
            ConfigError::Invalid(
                "local_video_delay must be a number with s, m, h or d, such as 0s".to_owned(),
            )
        })?;
        let dpo_contact = self
            .dpo_contact
            .as_deref()
            .map(DpoContact::parse)
            .transpose()
            .map_err(|error| {
                ConfigError::Invalid(format!("dpo_contact (ICECONE_DPO_CONTACT): {error}"))
            })?;
        let outbound = outbound_policy(self.env, self.outbound_allow.as_deref())?;
        let mail = mail_settings(
            self.env,
            self.smtp_url.as_ref(),
            self.smtp_ca_file.as_deref(),
            self.mail_from.as_deref(),
            self.public_url.as_deref(),
            &self.data_dir,
        )?;
        let providers = providers_config(
            self.env,
            self.max_provider_retention_days,
            self.provider_timeout_seconds,
            &self.providers,
            agreements,
            local_video_delay,
        )?;
        // Port 0 asks for any free port, so two zeros are two listeners.
        if self.metrics_listen == Some(self.listen) && self.listen.port() != 0 {
            return Err(ConfigError::Invalid(
                "metrics_listen (ICECONE_METRICS_LISTEN) must be another address than listen: the metrics are served apart from the API".to_owned(),
            ));
        }
        Ok(Config {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            env: self.env,
            database_url,
            root_keys,
            encryption_algorithm,
            tls,
            behind_tls_proxy: self.behind_tls_proxy,
            dpo_contact,
            trusted_proxies,
            cors,
            trusted_documents,
            websocket,
            data_dir: self.data_dir,
            log: self.log,
            max_body_bytes: self.max_body_bytes,
            max_batch: self.graphql_max_batch,
            limits: Limits {
                max_depth: self.graphql_max_depth,
                max_complexity: self.graphql_max_complexity,
                max_aliases: self.graphql_max_aliases,
                max_root_fields: self.graphql_max_root_fields,
                max_tokens: self.graphql_max_tokens,
            },
            providers,
            outbound,
            generations,
            jobs,
            rights,
            retention,
            analytics,
            mail,
            policy: PolicyHistory::published(),
            policy_notice_interval: icecone_app::policy_notice::NOTICE_INTERVAL,
            subprocessors,
            billing,
        })
    }
}

/// Billing through Stripe, when a secret key is set (then the webhook secret and the
/// price are required). Errors name the setting, never its value.
fn billing_settings(
    env: Environment,
    secret_key: Option<&SecretString>,
    webhook_secret: Option<&SecretString>,
    price_pro: Option<&str>,
    base_url: &str,
) -> Result<Option<BillingSettings>, ConfigError> {
    let Some(secret_key) = secret_key.filter(|key| !key.expose_secret().trim().is_empty()) else {
        return Ok(None);
    };
    let webhook_secrets: Vec<SigningSecret> = webhook_secret
        .map(|secrets| {
            secrets
                .expose_secret()
                .split(',')
                .filter_map(SigningSecret::new)
                .collect()
        })
        .unwrap_or_default();
    if webhook_secrets.is_empty() {
        return Err(ConfigError::Invalid(
            "stripe_webhook_secret (ICECONE_STRIPE_WEBHOOK_SECRET) is required with stripe_secret_key"
                .to_owned(),
        ));
    }
    let price_pro = price_pro
        .map(str::trim)
        .filter(|price| price.starts_with("price_") && price.len() > 6 && price.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or_else(|| {
            ConfigError::Invalid(
                "stripe_price_pro (ICECONE_STRIPE_PRICE_PRO) must be a Stripe price id (`price_...`) when stripe_secret_key is set"
                    .to_owned(),
            )
        })?;
    let base_url = base_url.trim().trim_end_matches('/');
    let https = base_url.starts_with("https://");
    let local_mock = base_url.starts_with("http://") && env != Environment::Production;
    if !(https || local_mock) {
        return Err(ConfigError::Invalid(
            "stripe_base_url (ICECONE_STRIPE_BASE_URL) must be an https:// URL (http:// only for a local mock in development)"
                .to_owned(),
        ));
    }
    Ok(Some(BillingSettings {
        secret_key: secret_key.clone(),
        webhook_secrets,
        price_pro: price_pro.to_owned(),
        base_url: base_url.to_owned(),
    }))
}

/// Billing through Stripe as configured.
#[derive(Debug, Clone)]
pub struct BillingSettings {
    /// Stripe's secret key (write-only: never shown, never logged).
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secrets.
    pub webhook_secrets: Vec<SigningSecret>,
    /// The price of `PRO`.
    pub price_pro: String,
    /// Stripe's API base URL.
    pub base_url: String,
}

/// The mail settings: a malformed value stops the start naming the setting, never its
/// value (the SMTP URL may hold a password, the others are checked alike).
fn mail_settings(
    env: Environment,
    smtp_url: Option<&SecretString>,
    smtp_ca_file: Option<&Path>,
    mail_from: Option<&str>,
    public_url: Option<&str>,
    data_dir: &Path,
) -> Result<MailSettings, ConfigError> {
    let delivery = match smtp_url {
        Some(url) => {
            let url = SmtpUrl::parse(url.expose_secret()).map_err(|error| {
                ConfigError::Invalid(format!("smtp_url (ICECONE_SMTP_URL): {error}"))
            })?;
            let extra_roots_pem = smtp_ca_file
                .map(|path| {
                    std::fs::read(path).map_err(|_| {
                        ConfigError::Invalid(format!(
                            "smtp_ca_file (ICECONE_SMTP_CA_FILE): cannot read {}",
                            path.display()
                        ))
                    })
                })
                .transpose()?;
            if mail_from.is_none() {
                return Err(ConfigError::Invalid(
                    "mail_from (ICECONE_MAIL_FROM) is required with smtp_url".to_owned(),
                ));
            }
            MailDelivery::Smtp(SmtpServer {
                url,
                extra_roots_pem,
            })
        }
        None => MailDelivery::Files(data_dir.join("mail")),
    };
    let from = MailFrom::parse(mail_from.unwrap_or(DEVELOPMENT_MAIL_FROM))
        .map_err(|error| ConfigError::Invalid(format!("mail_from (ICECONE_MAIL_FROM): {error}")))?;
    let public_url = public_url
        .map(PublicUrl::parse)
        .transpose()
        .map_err(|error| {
            ConfigError::Invalid(format!("public_url (ICECONE_PUBLIC_URL): {error}"))
        })?;
    // Links in mail carry verification tokens and one-click unsubscribe tokens; RFC 8058
    // requires the `List-Unsubscribe` URI to be https.
    if env == Environment::Production && public_url.as_ref().is_some_and(|url| !url.is_https()) {
        return Err(ConfigError::Invalid(
            "public_url (ICECONE_PUBLIC_URL): production links must be https".to_owned(),
        ));
    }
    Ok(MailSettings {
        delivery,
        from,
        public_url,
    })
}

/// The sender of development mail written to files.
const DEVELOPMENT_MAIL_FROM: &str = "IceCone <no-reply@localhost>";

/// How mail is sent, as configured; the public URL is completed at start-up from the bound
/// address when it is not set ([`MailSettings::config`]).
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Where messages go.
    pub delivery: MailDelivery,
    /// The sender.
    pub from: MailFrom,
    /// The base of every link; `None` in development: the listen address.
    pub public_url: Option<PublicUrl>,
}

impl MailSettings {
    /// The application's mail configuration, with links based on `address` (over `https`
    /// when `tls`) unless a public URL is set.
    pub fn config(&self, address: SocketAddr, tls: bool) -> MailConfig {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::of_address(address, tls));
        MailConfig {
            delivery: self.delivery.clone(),
            from: self.from.clone(),
            public_url,
        }
    }
}

/// Where outputs may be fetched from: in production public addresses over `https` only, in
/// development also the networks of `outbound_allow`.
fn outbound_policy(env: Environment, allow: Option<&str>) -> Result<OutboundPolicy, ConfigError> {
    let allow = allow
        .unwrap_or_default()
        .split(',')
        .filter(|network| !network.trim().is_empty())
        .map(|network| network.parse::<Cidr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            ConfigError::Invalid(
                "outbound_allow must be comma-separated networks such as 127.0.0.1/32".to_owned(),
            )
        })?;
    match env {
        Environment::Production if !allow.is_empty() => Err(ConfigError::Invalid(
            "outbound_allow is for development and tests only: production fetches outputs from public addresses only"
                .to_owned(),
        )),
        Environment::Production => Ok(OutboundPolicy::production()),
        Environment::Development => Ok(OutboundPolicy::development(allow)),
    }
}

/// A duration written as a whole number and a unit: `s`, `m`, `h` or `d` (`90d`, `0s`).
/// `None` for anything else, or a duration too long to represent.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let seconds_per_unit: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = digits.parse().ok()?;
    count.checked_mul(seconds_per_unit).map(Duration::from_secs)
}

/// The `ICECONE_*` variables that name a documented setting (others, such as
/// `ICECONE_TEST_DATABASE_URL`, belong to other tools and are ignored); a provider's,
/// `ICECONE_<PROVIDER>_<KEY>`, goes into its section (`providers.<provider>.<key>`).
fn env_provider() -> Env {
    let keys: Vec<(String, String)> = all_settings()
        .iter()
        .map(|setting| {
            let variable = setting.env_var();
            let name = variable.trim_start_matches("ICECONE_").to_ascii_lowercase();
            (name, setting.key())
        })
        .collect();
    Env::prefixed("ICECONE_").filter_map(move |name| {
        keys.iter()
            .find(|(known, _)| name == known.as_str())
            .map(|(_, key)| key.clone().into())
    })
}

/// A figment error without the value that failed, which may be a secret.
fn describe(error: &figment::Error) -> String {
    let key = error.path.join(".");
    let origin = error
        .metadata
        .as_ref()
        .map(|m| m.name.to_string())
        .unwrap_or_else(|| "configuration".to_owned());
    match &error.kind {
        figment::error::Kind::UnknownField(field, _) => {
            format!("unknown setting `{field}` in {origin}")
        }
        figment::error::Kind::InvalidType(_, expected)
        | figment::error::Kind::InvalidValue(_, expected) => {
            format!("`{key}` from {origin}: expected {expected}")
        }
        // A provider's section names the setting itself (`ProviderSections`' errors).
        figment::error::Kind::Message(message) if key == "providers" => {
            format!("{message}, in {origin}")
        }
        other => format!("`{key}` from {origin}: {other}"),
    }
}

/// The checked configuration the gateway runs with.
#[derive(Debug)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Address of the Prometheus `/metrics` endpoint; `None`: no endpoint.
    pub metrics_listen: Option<SocketAddr>,
    /// Deployment mode.
    pub env: Environment,
    /// The database.
    pub database_url: DatabaseUrl,
    /// Where the root keys come from.
    pub root_keys: RootKeys,
    /// The AEAD for new ciphertexts.
    pub encryption_algorithm: Algorithm,
    /// The certificate and key to serve HTTPS with; `None` means plain HTTP.
    pub tls: Option<TlsFiles>,
    /// A TLS-terminating proxy is the only way in.
    pub behind_tls_proxy: bool,
    /// The DPO's contact the privacy page shows (always set in production).
    pub dpo_contact: Option<DpoContact>,
    /// The proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// The browser origins allowed to call the API (CORS).
    pub cors: AllowedOrigins,
    /// The first-party app's registered documents, when a manifest is configured.
    pub trusted_documents: Option<Manifest>,
    /// The limits of `/graphql/ws`.
    pub websocket: WsLimits,
    /// Directory for the SQLite file and the development key.
    pub data_dir: PathBuf,
    /// Log filter.
    pub log: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most operations in a batched request.
    pub max_batch: usize,
    /// Limits on each GraphQL document.
    pub limits: Limits,
    /// The AI provider adapters and the deployment's promises about them.
    pub providers: ProvidersConfig,
    /// Where URLs taken from providers' answers may be fetched from.
    pub outbound: OutboundPolicy,
    /// Quotas and retention of generations.
    pub generations: GenerationsConfig,
    /// The background job runner.
    pub jobs: JobsConfig,
    /// Data subject rights: exports and their links.
    pub rights: RightsConfig,
    /// How long each kind of personal data is kept (the housekeeping purges and the
    /// published schedule read it).
    pub retention: RetentionConfig,
    /// Anonymised analytics and the ranking of providers from ratings.
    pub analytics: AnalyticsConfig,
    /// E-mail: where it goes, its sender and the base of its links.
    pub mail: MailSettings,
    /// The privacy policy versions published, the last in force: always the published
    /// history (`icecone_core::consent::policy::HISTORY`), which only a new release changes;
    /// a test may run the gateway with a longer one to see what a new version does.
    pub policy: PolicyHistory,
    /// How often this instance looks for accounts not yet told of the current policy
    /// version (and once at start-up).
    pub policy_notice_interval: Duration,
    /// The operator's subprocessors, the notice period of a change, and how often this
    /// instance looks for accounts to tell of one.
    pub subprocessors: SubprocessorsConfig,
    /// Billing through Stripe; `None`: billing is off.
    pub billing: Option<BillingSettings>,
}

/// Reads the persisted-operations manifest of `trusted_documents_file`; any fault stops
/// start-up, naming the setting.
fn read_trusted_documents(path: &Path) -> Result<Manifest, ConfigError> {
    let invalid = |why: String| {
        ConfigError::Invalid(format!(
            "trusted_documents_file (ICECONE_TRUSTED_DOCUMENTS_FILE) {}: {why}",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|_| invalid("cannot be read".to_owned()))?;
    let not_an_object = || invalid(ManifestError::NotAnObjectOfStrings.to_string());
    let serde_json::Value::Object(entries) =
        serde_json::from_str::<serde_json::Value>(&text).map_err(|_| not_an_object())?
    else {
        return Err(not_an_object());
    };
    let entries = entries
        .into_iter()
        .map(|(hash, text)| match text {
            serde_json::Value::String(text) => Ok((hash, text)),
            _ => Err(not_an_object()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest::from_entries(entries).map_err(|error| invalid(error.to_string()))?;
    if let Some((hash, _)) = manifest
        .iter()
        .find(|(_, text)| async_graphql::parser::parse_query(text).is_err())
    {
        return Err(invalid(format!(
            "the document {hash} is not a GraphQL document"
        )));
    }
    Ok(manifest)
}

/// What one client may hold open at `/graphql/ws`, so that memory stays bounded whatever
/// clients send. A message is capped at the HTTP body limit (`max_body_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLimits {
    /// How long a connection may take to send `connection_init`.
    pub init_timeout: Duration,
    /// How long a connection with no running subscription may stay silent.
    pub idle_timeout: Duration,
    /// Open connections per client address (IPv6: per /64) on one instance.
    pub connections_per_address: usize,
    /// Open connections per signed-in account or partner on one instance.
    pub connections_per_account: usize,
    /// Subscriptions running at once on one connection.
    pub subscriptions_per_connection: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            init_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(120),
            connections_per_address: 16,
            connections_per_account: 8,
            subscriptions_per_connection: 16,
        }
    }
}

/// The providers' settings checked: each registered provider's section prepared into its
/// adapter's configuration, and the agreements of the subprocessors file followed by the
/// zero-data-retention contract recorded in each section.
fn providers_config(
    env: Environment,
    max_retention_days: u32,
    timeout_seconds: u64,
    sections: &ProviderSections,
    mut agreements: Vec<Agreement>,
    local_video_delay: Duration,
) -> Result<ProvidersConfig, ConfigError> {
    if timeout_seconds == 0 {
        return Err(ConfigError::Invalid(
            "provider_timeout_seconds must be at least 1".to_owned(),
        ));
    }
    let deployment = Deployment {
        timeout: Duration::from_secs(timeout_seconds),
        plain_http_allowed: env == Environment::Development,
    };
    let mut adapters = Vec::new();
    for section in sections.iter() {
        let prepared = section.prepare(&deployment).map_err(|error| {
            let message = match registration(section.id()) {
                Some(registration) => provider_error(registration, &error),
                None => format!("providers.{}: {error}", section.id()),
            };
            ConfigError::Invalid(message)
        })?;
        adapters.push(prepared.config);
        agreements.extend(prepared.contract);
    }
    Ok(ProvidersConfig {
        max_retention_days,
        timeout: deployment.timeout,
        adapters,
        agreements,
        local_video_delay,
    })
}

/// Where the root keys come from.
#[derive(Debug)]
pub enum RootKeys {
    /// A keyring file (`ICECONE_MASTER_KEY_FILE`).
    File(PathBuf),
    /// A keyring text (`ICECONE_MASTER_KEY`).
    Env(SecretString),
    /// The development keyring in the data directory, generated if missing.
    Development,
}

impl RootKeys {
    /// The key source for [`icecone_app::keys::open_provider`].
    pub fn source<'a>(&'a self, data_dir: &'a Path) -> icecone_app::keys::KeySource<'a> {
        match self {
            Self::File(path) => icecone_app::keys::KeySource::File(path),
            Self::Env(text) => icecone_app::keys::KeySource::Env(text),
            Self::Development => icecone_app::keys::KeySource::Development(data_dir),
        }
    }
}

/// The PEM files the gateway serves HTTPS with (loaded by [`crate::tls::server_config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
}

/// The `--help` text that lists every setting.
pub fn settings_help() -> String {
    let mut text = String::from(
        "Settings (defaults → icecone.toml → environment → flags). In icecone.toml use the key; \
         in the environment, the variable:\n\n",
    );
    for setting in all_settings() {
        let default = setting.default().unwrap_or("unset");
        text.push_str(&format!(
            "  {:<32} {}\n      {} (default: {default})\n",
            setting.env_var(),
            setting.key(),
            setting.help()
        ));
    }
    text.push_str(
        "\n  OTEL_EXPORTER_OTLP_ENDPOINT      turns on OpenTelemetry trace export over OTLP/HTTP\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    /// Every key of the serialised settings, as written in `icecone.toml`
    /// (`providers.openai.api_key` for a provider's), with its value.
    fn keys_and_values(settings: &Settings) -> BTreeMap<String, serde_json::Value> {
        let serialized = serde_json::to_value(settings).expect("serializable");
        let mut keys = BTreeMap::new();
        for (key, value) in serialized.as_object().expect("an object") {
            if key != "providers" {
                keys.insert(key.clone(), value.clone());
                continue;
            }
            for (provider, section) in value.as_object().expect("providers by id") {
                for (key, value) in section.as_object().expect("a section") {
                    keys.insert(format!("providers.{provider}.{key}"), value.clone());
                }
            }
        }
        keys
    }

    #[test]
    fn every_setting_is_documented_with_its_real_default() {
        let fields = keys_and_values(&Settings::default());
        let documented: std::collections::BTreeSet<String> =
            all_settings().iter().map(Setting::key).collect();
        assert_eq!(
            fields
                .keys()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>(),
            documented,
            "the documented settings and the Settings fields (providers' sections included) disagree"
        );
        for setting in all_settings() {
            let shown = match &fields[&setting.key()] {
                serde_json::Value::Null => None,
                serde_json::Value::String(text) => Some(text.clone()),
                other => Some(other.to_string()),
            };
            assert_eq!(
                shown.as_deref(),
                setting.default(),
                "default of {}",
                setting.key()
            );
        }
    }

    /// A provider's variable could otherwise be mistaken for one of the gateway's own.
    #[test]
    fn every_setting_has_its_own_variable_and_key() {
        let settings = all_settings();
        let variables: std::collections::BTreeSet<String> =
            settings.iter().map(Setting::env_var).collect();
        let keys: std::collections::BTreeSet<String> = settings.iter().map(Setting::key).collect();
        assert_eq!(
            variables.len(),
            settings.len(),
            "a variable names two settings"
        );
        assert_eq!(keys.len(), settings.len(), "a key names two settings");
        let ids: std::collections::BTreeSet<&str> = REGISTRY
            .iter()
            .map(|registration| registration.id())
            .collect();
        assert_eq!(ids.len(), REGISTRY.len(), "two providers share an id");
    }

    #[test]
    fn durations_are_a_whole_number_and_a_unit() {
        let cases = [
            ("90d", Some(90 * 86_400)),
            ("12h", Some(12 * 3_600)),
            ("30m", Some(1_800)),
            ("0s", Some(0)),
            (" 7d ", Some(7 * 86_400)),
            ("", None),
            ("d", None),
            ("90", None),
            ("1.5d", None),
            ("-1d", None),
            ("90 d", None),
            ("3w", None),
            ("99999999999999999999d", None),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                seconds.map(Duration::from_secs),
                "{text:?}"
            );
        }
    }

    #[test]
    fn generation_quotas_and_retention_come_from_the_settings() {
        let config = settings("").expect("defaults").resolve().expect("valid");
        assert_eq!(
            config.generations,
            GenerationsConfig {
                plans: Plans {
                    free: Quota {
                        tokens: 200_000,
                        images: 100,
                        video_seconds: 120,
                    },
                    pro: Quota {
                        tokens: 2_000_000,
                        images: 1_000,
                        video_seconds: 1_800,
                    },
                },
                retention: Duration::from_secs(90 * 86_400),
                default_max_tokens: 1_024,
            }
        );
        let config = settings(
            "quota_images_per_month = 0\nquota_tokens_per_month = 5\npro_quota_images_per_month = 7\ngeneration_retention = \"12h\"",
        )
        .expect("parses")
        .resolve()
        .expect("valid");
        assert_eq!(config.generations.plans.free.images, 0);
        assert_eq!(config.generations.plans.free.tokens, 5);
        assert_eq!(config.generations.plans.pro.images, 7);
        assert_eq!(
            config.generations.retention,
            Duration::from_secs(12 * 3_600)
        );
        for retention in ["0s", "forever", "90"] {
            let error = settings(&format!("generation_retention = \"{retention}\""))
                .expect("parses")
                .resolve()
                .expect_err("refused");
            assert!(
                error.to_string().contains("generation_retention"),
                "{error}"
            );
        }
        // Settings that must be positive, or within a range, name themselves when not.
        for (setting, key) in [
            ("text_default_max_tokens = 0", "text_default_max_tokens"),
            ("analytics_min_group = 1", "analytics_min_group"),
            ("analytics_epsilon = 0.0", "analytics_epsilon"),
            ("analytics_epsilon = 11.0", "analytics_epsilon"),
            ("text_default_max_tokens = 40000", "text_default_max_tokens"),
            ("unverified_account_ttl = \"0s\"", "unverified_account_ttl"),
            ("ws_init_timeout = \"0s\"", "ws_init_timeout"),
            ("ws_idle_timeout = \"soon\"", "ws_idle_timeout"),
            (
                "ws_connections_per_address = 0",
                "ws_connections_per_address",
            ),
            ("trusted_proxies = \"10.0.0.0/33\"", "trusted_proxies"),
            (
                "cors_origins = \"https://app.example.com/\"",
                "cors_origins",
            ),
            ("cors_origins = \"*\"", "cors_origins"),
        ] {
            let error = settings(setting)
                .expect("parses")
                .resolve()
                .expect_err("refused");
            assert!(error.to_string().contains(key), "{setting}: {error}");
        }
        let config = settings("text_default_max_tokens = 64\nunverified_account_ttl = \"2d\"")
            .expect("parses")
            .resolve()
            .expect("valid");
        assert_eq!(config.generations.default_max_tokens, 64);
        assert_eq!(
            config.rights.unverified_account_ttl,
            Duration::from_secs(2 * 86_400)
        );
    }

    #[test]
    fn retention_periods_come_from_the_settings_and_must_be_positive() {
        let defaults = settings("").expect("defaults").resolve().expect("valid");
        assert_eq!(defaults.retention, RetentionConfig::default());
        let config = settings(
            "session_retention = \"2d\"\nnotification_retention = \"3d\"\nprivacy_ticket_retention = \"4d\"\ndata_request_retention = \"5d\"\nusage_retention = \"6d\"\ngeneration_retention = \"7d\"\nbilling_record_retention = \"8y\"",
        )
        .expect("parses")
        .resolve()
        .expect("valid");
        let days = |n: u64| Duration::from_secs(n * 86_400);
        assert_eq!(
            config.retention,
            RetentionConfig {
                generations: days(7),
                export_links: days(7),
                unverified_accounts: days(7),
                sessions: days(2),
                notifications: days(3),
                privacy_tickets: days(4),
                data_requests: days(5),
                usage: days(6),
                billing_records: days(8 * 365),
            }
        );
        for key in [
            "session_retention",
            "notification_retention",
            "privacy_ticket_retention",
            "data_request_retention",
            "usage_retention",
            "billing_record_retention",
        ] {
            for bad in ["0s", "soon", "-1d"] {
                let error = settings(&format!("{key} = \"{bad}\""))
                    .expect("parses")
                    .resolve()
                    .expect_err("refused");
                assert!(error.to_string().contains(key), "{key} = {bad}: {error}");
                assert!(
                    !error.to_string().contains("soon"),
                    "the value is not echoed"
                );
            }
        }
    }

    #[test]
    fn every_retention_period_of_the_registry_is_a_documented_setting_with_its_default() {
        use icecone_store::personal_data::{Entry, REGISTRY, Retention};
        let documented = all_settings();
        for entry in REGISTRY {
            if let Entry::Personal(personal) = entry
                && let Retention::Period {
                    setting, default, ..
                } = personal.retention
            {
                let doc = documented
                    .iter()
                    .find(|doc| doc.key() == setting)
                    .unwrap_or_else(|| panic!("{setting} is documented"));
                assert_eq!(doc.default(), Some(default), "{setting}");
            }
        }
    }

    #[test]
    fn no_configuration_means_the_embedded_default() {
        let config = settings("").expect("defaults").resolve().expect("valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.env, Environment::Development);
        assert_eq!(
            config.database_url,
            DatabaseUrl::sqlite_file(Path::new("./data/icecone.db"))
        );
        assert!(matches!(config.root_keys, RootKeys::Development));
        assert_eq!(config.encryption_algorithm, Algorithm::Aes256Gcm);
        assert!(config.encryption_algorithm.is_aes_256());
    }

    #[test]
    fn root_keys_come_from_exactly_one_place_and_the_algorithm_is_named() {
        let file = settings("master_key_file = \"/k\"")
            .expect("parses")
            .resolve()
            .expect("valid");
        assert!(matches!(file.root_keys, RootKeys::File(_)));
        let env = settings("master_key = \"a-keyring\"")
            .expect("parses")
            .resolve()
            .expect("valid");
        assert!(matches!(env.root_keys, RootKeys::Env(_)));
        let both = settings("master_key_file = \"/k\"\nmaster_key = \"a-keyring\"")
            .expect("parses")
            .resolve();
        assert!(matches!(both, Err(ConfigError::Invalid(_))));
        let chacha = settings("encryption_algorithm = \"xchacha20poly1305\"")
            .expect("parses")
            .resolve()
            .expect("valid");
        assert_eq!(chacha.encryption_algorithm, Algorithm::XChaCha20Poly1305);
        assert!(!chacha.encryption_algorithm.is_aes_256());
        let unknown = settings("encryption_algorithm = \"des\"")
            .expect("parses")
            .resolve();
        assert!(matches!(unknown, Err(ConfigError::Invalid(_))));
        let secret = settings("master_key = \"sekrit-keyring-text\"").expect("parses");
        assert!(
            !format!("{secret:?}").contains("sekrit"),
            "the keyring text is never shown"
        );
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("icecone.toml", "listen = \"0.0.0.0:9000\"\nlog = \"debug\"")?;
            jail.set_env("ICECONE_LOG", "warn");
            jail.set_env("ICECONE_TEST_DATABASE_URL", "ignored://not-a-setting");
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.listen.to_string(), "0.0.0.0:9000");
            assert_eq!(settings.log, "warn");
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_setting_in_the_file_is_an_error_that_names_it() {
        let error = settings("lissten = \"0.0.0.0:1\"").expect_err("unknown key");
        assert!(
            error.to_string().contains("unknown setting `lissten`"),
            "{error}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_setting_but_not_the_value() {
        let error = settings("listen = \"secret-looking-value\"").expect_err("not an address");
        let message = error.to_string();
        assert!(message.contains("listen"), "{message}");
        assert!(!message.contains("secret-looking-value"), "{message}");
    }

    #[test]
    fn an_explicitly_named_file_must_exist() {
        let error =
            Settings::load(Some(Path::new("/nonexistent/icecone.toml"))).expect_err("missing");
        assert!(matches!(error, ConfigError::MissingFile(_)));
    }

    /// Mail settings production accepts.
    const MAIL: &str = "smtp_url = \"smtps://u:p@mail.example.com\"\nmail_from = \"IceCone <no-reply@icecone.example>\"\npublic_url = \"https://icecone.example\"\ndpo_contact = \"dpo@icecone.example\"";

    #[test]
    fn production_refuses_to_start_without_a_mail_server_sender_and_public_url() {
        let base = "env = \"production\"\nmaster_key = \"k\"\ndatabase_url = \"postgres://db/icecone?sslmode=require\"";
        let result = settings(base).expect("parses").resolve();
        match result {
            Err(ConfigError::ProductionNeeds { missing }) => assert_eq!(
                missing,
                "ICECONE_SMTP_URL and ICECONE_MAIL_FROM and ICECONE_PUBLIC_URL and ICECONE_DPO_CONTACT"
            ),
            other => panic!("unexpected {other:?}"),
        }
        settings(&format!("{base}\n{MAIL}"))
            .expect("parses")
            .resolve()
            .expect("accepted with the mail settings");
        let plain_http = MAIL.replace("https://icecone.example", "http://icecone.example");
        let error = settings(&format!("{base}\n{plain_http}"))
            .expect("parses")
            .resolve()
            .expect_err("links over plain http refused in production");
        assert_eq!(
            error.to_string(),
            "invalid configuration: public_url (ICECONE_PUBLIC_URL): production links must be https"
        );
    }

    #[test]
    fn a_malformed_mail_setting_stops_the_start_naming_the_setting_not_its_value() {
        // (settings, the setting named)
        let cases = [
            (
                "smtp_url = \"smtp://secret-host.example:25\"\nmail_from = \"a@b.example\"",
                "ICECONE_SMTP_URL",
            ),
            (
                "smtp_url = \"smtpx://secret-host.example\"\nmail_from = \"a@b.example\"",
                "ICECONE_SMTP_URL",
            ),
            (
                "smtp_url = \"smtps://u:secret-pw@mail.example\"",
                "ICECONE_MAIL_FROM",
            ),
            ("mail_from = \"secret-name\"", "ICECONE_MAIL_FROM"),
            (
                "public_url = \"ftp://secret-host.example\"",
                "ICECONE_PUBLIC_URL",
            ),
        ];
        for (toml, named) in cases {
            let error = settings(toml)
                .expect("parses")
                .resolve()
                .expect_err("refused");
            let message = error.to_string();
            assert!(message.contains(named), "{toml}: {message}");
            assert!(!message.contains("secret"), "{toml}: {message}");
        }
        let plain_off_loopback =
            settings("smtp_url = \"smtp://mail.example.com:25\"\nmail_from = \"a@b.example\"")
                .expect("parses")
                .resolve()
                .expect_err("plain SMTP off loopback is refused")
                .to_string();
        assert!(
            plain_off_loopback.contains("loopback"),
            "{plain_off_loopback}"
        );
    }

    #[test]
    fn without_a_mail_server_mail_goes_to_files_with_links_to_the_listen_address() {
        let config = settings("data_dir = \"/srv/icecone\"")
            .expect("parses")
            .resolve()
            .expect("development needs no mail settings");
        let mail = config
            .mail
            .config("127.0.0.1:8080".parse().expect("address"), false);
        assert!(matches!(
            &mail.delivery,
            MailDelivery::Files(dir) if dir == Path::new("/srv/icecone/mail")
        ));
        assert_eq!(
            mail.public_url.join("/verify-email"),
            "http://127.0.0.1:8080/verify-email"
        );
    }

    #[test]
    fn production_refuses_to_start_without_a_dpo_contact() {
        let production = format!(
            "env = \"production\"\nmaster_key = \"k\"\ndatabase_url = \"postgres://db/icecone?sslmode=require\"\n{MAIL}"
        );
        let without = production.replace("dpo_contact = \"dpo@icecone.example\"", "");
        match settings(&without).expect("parses").resolve() {
            Err(ConfigError::ProductionNeeds { missing }) => {
                assert_eq!(missing, "ICECONE_DPO_CONTACT");
            }
            other => panic!("unexpected {other:?}"),
        }
        let config = settings(&production)
            .expect("parses")
            .resolve()
            .expect("accepted with a DPO contact");
        assert_eq!(
            config.dpo_contact.as_ref().map(DpoContact::as_str),
            Some("dpo@icecone.example")
        );
        let blank = production.replace("\"dpo@icecone.example\"", "\"  \"");
        let error = settings(&blank)
            .expect("parses")
            .resolve()
            .expect_err("a blank contact is refused");
        assert!(error.to_string().contains("ICECONE_DPO_CONTACT"), "{error}");
        let development = settings("")
            .expect("parses")
            .resolve()
            .expect("development");
        assert!(development.dpo_contact.is_none());
    }

    #[test]
    fn production_refuses_to_start_without_an_explicit_key_and_database() {
        let cases = [
            (
                "",
                Some(
                    "ICECONE_MASTER_KEY_FILE or ICECONE_MASTER_KEY (the root key) and ICECONE_DATABASE_URL",
                ),
            ),
            ("master_key_file = \"/k\"", Some("ICECONE_DATABASE_URL")),
            ("master_key = \"k\"", Some("ICECONE_DATABASE_URL")),
            (
                "database_url = \"postgres://db/icecone\"",
                Some("ICECONE_MASTER_KEY_FILE or ICECONE_MASTER_KEY (the root key)"),
            ),
            (
                "master_key = \"k\"\ndatabase_url = \"postgres://db/icecone?sslmode=require\"",
                None,
            ),
            (
                "master_key_file = \"/k\"\ndatabase_url = \"postgres://db/icecone?sslmode=verify-full\"",
                None,
            ),
        ];
        for (toml, missing) in cases {
            let result = settings(&format!("env = \"production\"\n{MAIL}\n{toml}"))
                .expect("parses")
                .resolve();
            match (result, missing) {
                (Ok(_), None) => {}
                (Err(ConfigError::ProductionNeeds { missing: actual }), Some(expected)) => {
                    assert_eq!(actual, expected, "case {toml:?}");
                }
                (other, _) => panic!("case {toml:?}: unexpected {other:?}"),
            }
        }
    }

    /// The README's settings table names every documented setting ([`all_settings`]) — the
    /// environment variable and the file key, in one row — and no other.
    #[test]
    fn the_readme_settings_table_is_the_settings_list() {
        let readme = include_str!("../../../README.md");
        let listed: BTreeMap<String, String> = all_settings()
            .iter()
            .map(|setting| (setting.key(), setting.env_var()))
            .collect();
        let mut documented = std::collections::BTreeSet::new();
        for row in readme
            .lines()
            .filter(|line| line.starts_with("| `ICECONE_"))
        {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let variable = cells[1].split('`').nth(1).unwrap_or_default();
            let Some(key) = cells[2].strip_prefix('`').and_then(|k| k.strip_suffix('`')) else {
                continue;
            };
            assert_eq!(Some(variable), listed.get(key).map(String::as_str), "{row}");
            documented.insert(key.to_owned());
        }
        assert_eq!(
            documented,
            listed.into_keys().collect(),
            "README.md's settings table and the documented settings differ"
        );
    }

    #[test]
    fn production_refuses_a_database_on_another_host_without_tls() {
        // (env, database URL, accepted)
        let cases = [
            (
                "production",
                "postgres://icecone@db.internal/icecone",
                false,
            ),
            (
                "production",
                "postgres://icecone@db.internal/icecone?sslmode=prefer",
                false,
            ),
            (
                "production",
                "postgres://icecone@db.internal/icecone?sslmode=require",
                true,
            ),
            ("production", "postgres://icecone@127.0.0.1/icecone", true),
            ("production", "sqlite:///var/lib/icecone/icecone.db", true),
            (
                "development",
                "postgres://icecone@db.internal/icecone",
                true,
            ),
        ];
        for (env, url, accepted) in cases {
            let result = settings(&format!(
                "env = \"{env}\"\n{MAIL}\nmaster_key = \"k\"\ndatabase_url = \"{url}\""
            ))
            .expect("parses")
            .resolve();
            match (result, accepted) {
                (Ok(_), true) => {}
                (Err(error @ ConfigError::PlaintextDatabase), false) => {
                    let message = error.to_string();
                    assert!(message.contains("sslmode=require"), "{message}");
                    assert!(!message.contains("db.internal"), "no URL echoed: {message}");
                }
                (other, _) => panic!("{env} {url}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn production_refuses_plain_http_off_loopback_unless_behind_a_tls_proxy() {
        // (env, listen, TLS files, behind_tls_proxy, accepted)
        let cases = [
            ("development", "127.0.0.1:8080", false, false, true),
            ("development", "127.0.0.1:8080", false, true, true),
            ("development", "127.0.0.1:8080", true, false, true),
            ("development", "127.0.0.1:8080", true, true, true),
            ("development", "0.0.0.0:8080", false, false, true),
            ("development", "0.0.0.0:8080", false, true, true),
            ("development", "0.0.0.0:8080", true, false, true),
            ("development", "0.0.0.0:8080", true, true, true),
            ("production", "127.0.0.1:8080", false, false, true),
            ("production", "127.0.0.1:8080", false, true, true),
            ("production", "127.0.0.1:8080", true, false, true),
            ("production", "127.0.0.1:8080", true, true, true),
            ("production", "[::1]:8080", false, false, true),
            ("production", "0.0.0.0:8080", false, false, false),
            ("production", "[::]:8080", false, false, false),
            ("production", "10.1.2.3:8080", false, false, false),
            ("production", "0.0.0.0:8080", false, true, true),
            ("production", "0.0.0.0:8080", true, false, true),
            ("production", "0.0.0.0:8080", true, true, true),
        ];
        for (env, listen, tls, proxy, accepted) in cases {
            let mut toml = format!(
                "env = \"{env}\"\n{MAIL}\nlisten = \"{listen}\"\nbehind_tls_proxy = {proxy}\n\
                 master_key_file = \"/k\"\ndatabase_url = \"postgres://db/icecone?sslmode=require\"\n"
            );
            if tls {
                toml.push_str("tls_cert = \"/tls/cert.pem\"\ntls_key = \"/tls/key.pem\"\n");
            }
            let case = format!("{env} {listen} tls={tls} proxy={proxy}");
            let result = settings(&toml).expect("parses").resolve();
            match (result, accepted) {
                (Ok(config), true) => {
                    assert_eq!(config.tls.is_some(), tls, "{case}");
                    assert_eq!(config.behind_tls_proxy, proxy, "{case}");
                }
                (Err(error @ ConfigError::PlainHttpInProduction { .. }), false) => {
                    let message = error.to_string();
                    for named in [listen, "ICECONE_TLS_CERT", "ICECONE_BEHIND_TLS_PROXY"] {
                        assert!(message.contains(named), "{case}: {message}");
                    }
                }
                (other, _) => panic!("{case}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn a_tls_certificate_without_its_key_or_a_key_without_its_certificate_is_refused() {
        let cases = [
            ("tls_cert = \"/c.pem\"", "ICECONE_TLS_KEY"),
            ("tls_key = \"/k.pem\"", "ICECONE_TLS_CERT"),
        ];
        for env in ["development", "production"] {
            for (toml, missing) in cases {
                let error = settings(&format!(
                    "env = \"{env}\"\n{MAIL}\nmaster_key_file = \"/k\"\n\
                     database_url = \"postgres://db/icecone?sslmode=require\"\n{toml}"
                ))
                .expect("parses")
                .resolve()
                .expect_err("half a TLS configuration");
                assert!(
                    matches!(error, ConfigError::TlsNeedsBoth { missing: m } if m == missing),
                    "{env} {toml}: {error:?}"
                );
            }
        }
        let config = settings("tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"")
            .expect("parses")
            .resolve()
            .expect("both set");
        assert_eq!(
            config.tls,
            Some(TlsFiles {
                cert: PathBuf::from("/c.pem"),
                key: PathBuf::from("/k.pem"),
            })
        );
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn the_tls_settings_are_read_from_their_environment_variables() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ICECONE_TLS_CERT", "/etc/icecone/cert.pem");
            jail.set_env("ICECONE_TLS_KEY", "/etc/icecone/key.pem");
            jail.set_env("ICECONE_BEHIND_TLS_PROXY", "true");
            let settings = Settings::load(None).expect("loads");
            assert_eq!(
                settings.tls_cert.as_deref(),
                Some(Path::new("/etc/icecone/cert.pem"))
            );
            assert_eq!(
                settings.tls_key.as_deref(),
                Some(Path::new("/etc/icecone/key.pem"))
            );
            assert!(settings.behind_tls_proxy);
            Ok(())
        });
    }

    #[test]
    fn a_database_url_with_an_unknown_scheme_is_rejected_without_echoing_it() {
        let error = settings("database_url = \"mysql://root:pw@db/x\"")
            .expect("parses")
            .resolve()
            .expect_err("unsupported");
        assert!(!error.to_string().contains("pw@db"), "{error}");
    }

    #[test]
    fn zero_limits_are_rejected() {
        let error = settings("graphql_max_depth = 0")
            .expect("parses")
            .resolve()
            .expect_err("zero");
        assert!(error.to_string().contains("graphql_max_depth"), "{error}");
    }

    #[test]
    fn provider_settings_resolve_into_the_adapter_configuration_and_contracts() {
        use icecone_provider_heygen::HeyGenConfig;
        use icecone_provider_openai::OpenAiConfig;
        use icecone_provider_stability::{StabilityConfig, StabilityModel};

        let config = settings("").expect("defaults").resolve().expect("valid");
        assert_eq!(config.providers.max_retention_days, 0);
        assert_eq!(config.providers.adapters.len(), REGISTRY.len());
        let openai = config
            .providers
            .adapter::<OpenAiConfig>()
            .expect("OpenAI is configured");
        assert!(openai.api_key.is_none());
        assert_eq!(openai.base_url, "https://api.openai.com/v1");
        assert!(config.providers.agreements.is_empty());
        let config = settings(
            "max_provider_retention_days = 30\nprovider_timeout_seconds = 7\n\
             [providers.openai]\napi_key = \"sk-sentinel-key\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             zdr_contract = \"ZDR-2026-7\"\n\
             [providers.stability]\nimage_model = \"ultra\"\n\
             [providers.heygen]\navatar_id = \" avatar-1 \"\nvoice_id = \"  \"",
        )
        .expect("parses")
        .resolve()
        .expect("valid");
        let openai = config.providers.adapter::<OpenAiConfig>().expect("OpenAI");
        assert!(openai.api_key.is_some());
        assert_eq!(openai.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(openai.timeout, Duration::from_secs(7));
        assert_eq!(config.providers.max_retention_days, 30);
        assert_eq!(config.providers.agreements.len(), 1);
        assert_eq!(config.providers.agreements[0].reference(), "ZDR-2026-7");
        assert_eq!(config.providers.agreements[0].provider().as_str(), "openai");
        let stability = config
            .providers
            .adapter::<StabilityConfig>()
            .expect("Stability");
        assert_eq!(stability.model, StabilityModel::Ultra);
        let heygen = config.providers.adapter::<HeyGenConfig>().expect("HeyGen");
        assert_eq!(heygen.avatar_id.as_deref(), Some("avatar-1"));
        assert_eq!(heygen.voice_id, None, "a blank voice is no voice");
        let blank = settings("[providers.openai]\napi_key = \"  \"\nzdr_contract = \"\"")
            .expect("parses")
            .resolve()
            .expect("valid");
        assert!(
            blank
                .providers
                .adapter::<OpenAiConfig>()
                .expect("OpenAI")
                .api_key
                .is_none(),
            "a blank key is no key"
        );
        assert!(blank.providers.agreements.is_empty());
        for (toml, named) in [
            (
                "[providers.openai]\nbase_url = \"ftp://x\"",
                "providers.openai.base_url (ICECONE_OPENAI_BASE_URL)",
            ),
            ("provider_timeout_seconds = 0", "provider_timeout_seconds"),
            (
                "[providers.openai]\nzdr_contract = \"a\\nb\"",
                "providers.openai.zdr_contract (ICECONE_OPENAI_ZDR_CONTRACT)",
            ),
            (
                "[providers.stability]\nimage_model = \"turbo\"",
                "providers.stability.image_model (ICECONE_STABILITY_IMAGE_MODEL)",
            ),
            (
                "[providers.openai]\ntext_model = \"gpt 5\"",
                "providers.openai.text_model (ICECONE_OPENAI_TEXT_MODEL)",
            ),
            (
                "env = \"production\"\nmaster_key_file = \"/k\"\ndatabase_url = \"postgres://db/x?sslmode=require\"\n\
                 smtp_url = \"smtps://u:p@mail.example.com\"\nmail_from = \"a@b.example\"\npublic_url = \"https://x.example\"\n\
                 dpo_contact = \"dpo@x.example\"\n[providers.openai]\nbase_url = \"http://api.example/v1\"",
                "providers.openai.base_url",
            ),
        ] {
            let error = settings(toml).expect("parses").resolve().expect_err(toml);
            assert!(error.to_string().contains(named), "{toml}: {error}");
        }
    }

    #[test]
    fn an_unknown_key_in_a_provider_section_is_refused_by_its_name() {
        for (toml, named) in [
            (
                "[providers.openai]\napi_kee = \"sk-sentinel-key\"",
                "unknown setting `providers.openai.api_kee`",
            ),
            (
                "[providers.heygen]\navatar = \"avatar-1\"",
                "unknown setting `providers.heygen.avatar`",
            ),
            (
                "[providers.opnai]\napi_key = \"sk-sentinel-key\"",
                "unknown setting `providers.opnai`",
            ),
        ] {
            let error = settings(toml).expect_err(toml);
            let message = error.to_string();
            assert!(message.contains(named), "{toml}: {message}");
            assert!(!message.contains("sk-sentinel"), "{toml}: {message}");
        }
        let error = settings("[providers.openai]\napi_key = 4242").expect_err("not a text");
        let message = error.to_string();
        assert!(message.contains("providers.openai.api_key"), "{message}");
        assert!(!message.contains("4242"), "no value echoed: {message}");
    }

    /// `ICECONE_<PROVIDER>_<KEY>` reaches the provider's section for every setting of every
    /// registered provider, and is read over the file.
    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn every_provider_variable_reaches_its_section() {
        let provider_settings: Vec<Setting> = all_settings()
            .into_iter()
            .filter(|setting| setting.key().starts_with("providers."))
            .collect();
        let expected = REGISTRY
            .iter()
            .map(|registration| registration.settings().len())
            .sum::<usize>();
        assert_eq!(provider_settings.len(), expected);
        assert!(expected > REGISTRY.len(), "every provider has settings");
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "icecone.toml",
                "[providers.openai]\nbase_url = \"https://from-the-file.example/v1\"",
            )?;
            for setting in &provider_settings {
                jail.set_env(setting.env_var(), format!("set-{}", setting.key()));
            }
            let settings = Settings::load(None).expect("loads");
            let read = keys_and_values(&settings);
            for setting in &provider_settings {
                // The secrets are serialised redacted: API keys, and Bedrock's AWS keys.
                let secret = [
                    ".api_key",
                    ".access_key_id",
                    ".secret_access_key",
                    ".session_token",
                ]
                .iter()
                .any(|suffix| setting.key().ends_with(suffix));
                let expected = if secret {
                    "[redacted]".to_owned()
                } else {
                    format!("set-{}", setting.key())
                };
                assert_eq!(
                    read[&setting.key()],
                    expected,
                    "{} did not reach {}",
                    setting.env_var(),
                    setting.key()
                );
            }
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn the_openai_model_variables_reach_the_adapter_configuration() {
        use icecone_provider_openai::OpenAiConfig;

        let defaults = settings("").expect("defaults").resolve().expect("valid");
        let openai = defaults
            .providers
            .adapter::<OpenAiConfig>()
            .expect("OpenAI");
        assert_eq!(
            (openai.text_model.as_str(), openai.image_model.as_str()),
            ("gpt-5.6-luna", "gpt-image-2")
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env("ICECONE_OPENAI_TEXT_MODEL", " gpt-5.5 ");
            jail.set_env("ICECONE_OPENAI_IMAGE_MODEL", "gpt-image-1-mini");
            let config = Settings::load(None)
                .expect("loads")
                .resolve()
                .expect("valid");
            let openai = config.providers.adapter::<OpenAiConfig>().expect("OpenAI");
            assert_eq!(openai.text_model, "gpt-5.5");
            assert_eq!(openai.image_model, "gpt-image-1-mini");
            Ok(())
        });
    }

    #[test]
    fn the_openai_key_never_shows_in_debug_output_or_serialized_settings() {
        let settings =
            settings("[providers.openai]\napi_key = \"sk-sentinel-key\"").expect("parses");
        assert!(!format!("{settings:?}").contains("sk-sentinel"));
        let serialized = serde_json::to_string(&settings).expect("serializable");
        assert!(!serialized.contains("sk-sentinel"), "{serialized}");
        assert!(serialized.contains("[redacted]"), "{serialized}");
        let config = settings.resolve().expect("valid");
        assert!(!format!("{config:?}").contains("sk-sentinel"));
    }

    #[test]
    fn billing_is_off_without_a_key_and_a_key_needs_its_webhook_secret_and_price() {
        let off = settings("").expect("defaults").resolve().expect("valid");
        assert!(off.billing.is_none());
        assert_eq!(
            off.retention.billing_records,
            Duration::from_secs(10 * 365 * 86_400)
        );
        let key = "stripe_secret_key = \"sk_test_sentinel\"\n";
        let hook = "stripe_webhook_secret = \"whsec_old_sentinel, whsec_new_sentinel\"\n";
        let price = "stripe_price_pro = \"price_pro\"\n";
        let cases = [
            (format!("{key}{price}"), Some("stripe_webhook_secret")),
            (format!("{key}{hook}"), Some("stripe_price_pro")),
            (
                format!("{key}{hook}stripe_price_pro = \"prod_x\""),
                Some("stripe_price_pro"),
            ),
            (
                format!("{key}{hook}{price}stripe_base_url = \"ftp://stripe.example\""),
                Some("stripe_base_url"),
            ),
            (
                format!("{key}{hook}{price}billing_record_retention = \"0y\""),
                Some("billing_record_retention"),
            ),
            (format!("{hook}{price}"), None),
            (format!("{key}{hook}{price}"), None),
        ];
        for (toml, refused) in cases {
            let resolved = settings(&toml).expect("parses").resolve();
            match refused {
                Some(setting) => {
                    let error = resolved.expect_err(&toml).to_string();
                    assert!(error.contains(setting), "{error}");
                    assert!(!error.contains("sentinel"), "{error}");
                }
                None => assert!(resolved.is_ok(), "{toml}"),
            }
        }
        let on = settings(&format!("{key}{hook}{price}"))
            .expect("parses")
            .resolve()
            .expect("valid");
        let billing = on.billing.as_ref().expect("on");
        assert_eq!(billing.webhook_secrets.len(), 2, "a rolled secret");
        assert_eq!(billing.base_url, "https://api.stripe.com");
        let shown = format!(
            "{on:?} {}",
            serde_json::to_string(&settings(&format!("{key}{hook}{price}")).expect("parses"))
                .expect("serializable")
        );
        assert!(!shown.contains("sentinel"), "{shown}");
    }

    #[test]
    fn the_outbound_allow_list_is_for_development_only() {
        let development =
            outbound_policy(Environment::Development, Some(" 127.0.0.1/32, ::1/128 "))
                .expect("valid");
        assert!(!development.https_only());
        assert_eq!(
            development
                .allowed()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["127.0.0.1/32", "::1/128"]
        );
        assert_eq!(
            outbound_policy(Environment::Development, None).expect("valid"),
            OutboundPolicy::development(Vec::new())
        );
        assert_eq!(
            outbound_policy(Environment::Production, Some("")).expect("valid"),
            OutboundPolicy::production()
        );
        assert!(outbound_policy(Environment::Production, Some("127.0.0.1/32")).is_err());
        assert!(outbound_policy(Environment::Development, Some("localhost")).is_err());
    }

    #[test]
    fn the_settings_help_lists_every_variable() {
        let help = settings_help();
        for setting in all_settings() {
            assert!(
                help.contains(&setting.env_var()) && help.contains(&setting.key()),
                "{} missing from --help",
                setting.key()
            );
        }
    }
}
