//! The application's settings, as typed values: the gateway's configuration
//! (`icecone-gateway`'s `config`) reads, checks and fills them in; here they are only used.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use icecone_core::provider::agreement::Agreement;
use icecone_core::usage::Plans;
use icecone_provider_http::settings::AdapterConfig;

/// How data subject requests are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RightsConfig {
    /// How long an export's single-use download link (and the stored export) lasts.
    pub export_link_ttl: Duration,
    /// How long an account may stay unverified before it is erased.
    pub unverified_account_ttl: Duration,
}

impl Default for RightsConfig {
    fn default() -> Self {
        Self {
            export_link_ttl: Duration::from_secs(7 * 86_400),
            unverified_account_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

/// The retention periods this deployment configures: one per setting that a
/// `Retention::Period` of the personal-data registry names (a test checks that each is
/// known here, with the registry's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// `generation_retention`: how long a generation is kept after it was made.
    pub generations: Duration,
    /// `export_link_ttl`: how long a data export (and its link) is kept.
    pub export_links: Duration,
    /// `unverified_account_ttl`: how long an account may stay unverified.
    pub unverified_accounts: Duration,
    /// `session_retention`: how long a session is kept after it ended.
    pub sessions: Duration,
    /// `notification_retention`: how long a notification is kept after it was delivered
    /// or given up.
    pub notifications: Duration,
    /// `privacy_ticket_retention`: how long a message to the DPO is kept after it was closed.
    pub privacy_tickets: Duration,
    /// `data_request_retention`: how long a data subject request is kept after it finished.
    pub data_requests: Duration,
    /// `usage_retention`: how long a month's usage counters are kept after the month ended.
    pub usage: Duration,
    /// `billing_record_retention`: how long an invoice record is kept after it was issued
    /// (after an erasure too, without its link to the account).
    pub billing_records: Duration,
}

impl RetentionConfig {
    /// The period of `setting`, as the registry names it.
    pub fn period(&self, setting: &str) -> Option<Duration> {
        Some(match setting {
            "generation_retention" => self.generations,
            "export_link_ttl" => self.export_links,
            "unverified_account_ttl" => self.unverified_accounts,
            "session_retention" => self.sessions,
            "notification_retention" => self.notifications,
            "privacy_ticket_retention" => self.privacy_tickets,
            "data_request_retention" => self.data_requests,
            "usage_retention" => self.usage,
            "billing_record_retention" => self.billing_records,
            _ => return None,
        })
    }
}

/// The default billing record retention in years (`10y`): the longest statutory period
/// for accounting records in the EU member states IceCone's operators are in (Germany's
/// § 147 AO and § 257 HGB, ten years for invoices and their records).
pub const BILLING_RECORD_YEARS: u64 = 10;

impl Default for RetentionConfig {
    fn default() -> Self {
        const DAY: u64 = 86_400;
        Self {
            generations: Duration::from_secs(90 * DAY),
            export_links: Duration::from_secs(7 * DAY),
            unverified_accounts: Duration::from_secs(7 * DAY),
            sessions: Duration::from_secs(30 * DAY),
            notifications: Duration::from_secs(30 * DAY),
            privacy_tickets: Duration::from_secs(1_095 * DAY),
            data_requests: Duration::from_secs(1_095 * DAY),
            usage: Duration::from_secs(400 * DAY),
            billing_records: Duration::from_secs(BILLING_RECORD_YEARS * 365 * DAY),
        }
    }
}

/// How the background job runner works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsConfig {
    /// Workers per instance (`0`: this instance runs no jobs).
    pub workers: usize,
    /// How often an idle worker looks for due jobs, a running video is polled and a
    /// subscription re-reads its generation.
    pub poll_interval: Duration,
    /// How long a claim lasts without renewal.
    pub lease: Duration,
    /// How long a video generation may take from its request.
    pub video_deadline: Duration,
    /// The largest output fetched from a provider's temporary URL.
    pub max_output_bytes: usize,
    /// How long after `requestAccountDeletion` the erasure job runs (it may be cancelled
    /// until then).
    pub erasure_grace: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            video_deadline: Duration::from_secs(30 * 60),
            max_output_bytes: 256 * 1024 * 1024,
            erasure_grace: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// How generations are metered and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationsConfig {
    /// What an account may generate per calendar month, by its plan.
    pub plans: Plans,
    /// How long a generation is kept before the purge job deletes it.
    pub retention: Duration,
    /// The completion limit of a text that names none.
    pub default_max_tokens: u32,
}

/// The AI providers: how to reach them, this deployment's agreements with them and the
/// promises every routed request must meet.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    /// The longest a provider may keep our data (`0`: nothing may be kept).
    pub max_retention_days: u32,
    /// The longest one provider request may take.
    pub timeout: Duration,
    /// Each registered external provider's checked configuration, in the order of
    /// [`crate::providers::REGISTRY`]; a provider without a key is here too.
    pub adapters: Vec<Arc<dyn AdapterConfig>>,
    /// This deployment's agreements with providers: those of the subprocessors file, then
    /// the zero-data-retention contracts of the providers' settings.
    pub agreements: Vec<Agreement>,
    /// How long the local provider's video jobs run before they are ready.
    pub local_video_delay: Duration,
}

impl ProvidersConfig {
    /// The configuration of the adapter configured by a `C`, if one is.
    pub fn adapter<C: AdapterConfig>(&self) -> Option<&C> {
        self.adapters
            .iter()
            .find_map(|config| (config.as_ref() as &dyn Any).downcast_ref())
    }
}

/// How e-mail leaves the gateway, from whom, and the base of every link in it.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Where messages go.
    pub delivery: MailDelivery,
    /// The sender of every message.
    pub from: MailFrom,
    /// The base of every link in a message.
    pub public_url: PublicUrl,
}

/// Where messages go.
#[derive(Debug, Clone)]
pub enum MailDelivery {
    /// To a mail server over SMTP.
    Smtp(SmtpServer),
    /// Written as `.eml` files into this directory (development without a mail server).
    Files(std::path::PathBuf),
}

/// A mail server and the certificates its TLS certificate may chain to beyond the
/// public roots.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    /// The server, its security and credentials.
    pub url: SmtpUrl,
    /// PEM certificates of private authorities to trust for the server's certificate.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// How the connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS: only to a loopback host (a local relay).
    Plain,
    /// STARTTLS, required (`smtp://…?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    ImplicitTls,
}

/// A parsed `ICECONE_SMTP_URL`. Its `Debug` shows neither the user nor the password.
#[derive(Clone)]
pub struct SmtpUrl {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, secrecy::SecretString)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why an `ICECONE_SMTP_URL` was refused; never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SmtpUrlError {
    /// Not a URL, or without a host.
    #[error(
        "not a URL of the form smtp://host:port, smtp://host:port?tls=required or smtps://user:password@host"
    )]
    Malformed,
    /// A scheme other than `smtp` and `smtps`.
    #[error("the scheme must be smtp or smtps")]
    Scheme,
    /// A `tls` parameter other than `required`, or another parameter.
    #[error("the only parameter understood is tls=required")]
    Parameter,
    /// Plain SMTP to a host that is not loopback.
    #[error("plain SMTP is allowed only to a loopback host; use smtp://…?tls=required or smtps://")]
    PlaintextOffLoopback,
}

impl SmtpUrl {
    /// Parses `smtp://host:port` (plain, loopback hosts only), `smtp://host:port?tls=required`
    /// (STARTTLS) or `smtps://user:password@host[:port]` (implicit TLS); user and password
    /// are percent-decoded.
    pub fn parse(text: &str) -> Result<Self, SmtpUrlError> {
        let url = url::Url::parse(text).map_err(|_| SmtpUrlError::Malformed)?;
        let host = match url.host() {
            Some(url::Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(SmtpUrlError::Malformed),
        };
        let mut tls_required = false;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") => tls_required = true,
                _ => return Err(SmtpUrlError::Parameter),
            }
        }
        let (security, default_port) = match url.scheme() {
            "smtps" => (SmtpSecurity::ImplicitTls, 465),
            "smtp" if tls_required => (SmtpSecurity::StartTls, 587),
            "smtp" => (SmtpSecurity::Plain, 25),
            _ => return Err(SmtpUrlError::Scheme),
        };
        if security == SmtpSecurity::Plain && !is_loopback(&host) {
            return Err(SmtpUrlError::PlaintextOffLoopback);
        }
        let decode = |part: &str| {
            url::form_urlencoded::parse(format!("x={part}").as_bytes())
                .next()
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        };
        let credentials = if url.username().is_empty() {
            None
        } else {
            let password = url.password().map(&decode).unwrap_or_default();
            Some((
                decode(url.username()),
                secrecy::SecretString::from(password),
            ))
        };
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
        })
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is secured.
    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// The user and password to authenticate with, if the URL names them.
    pub fn credentials(&self) -> Option<(&str, &secrecy::SecretString)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password))
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The sender of every message, a mailbox such as `IceCone <no-reply@icecone.example>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom(lettre::message::Mailbox);

/// Why an `ICECONE_MAIL_FROM` was refused; never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a mailbox such as `IceCone <no-reply@icecone.example>`")]
pub struct MailFromError;

impl MailFrom {
    /// Parses a mailbox (`Name <address>` or a bare address).
    pub fn parse(text: &str) -> Result<Self, MailFromError> {
        text.trim()
            .parse::<lettre::message::Mailbox>()
            .map(Self)
            .map_err(|_| MailFromError)
    }

    /// The mailbox.
    pub fn mailbox(&self) -> &lettre::message::Mailbox {
        &self.0
    }

    /// The domain of the sender's address (the `Message-ID`'s right-hand side).
    pub fn domain(&self) -> &str {
        self.0.email.domain()
    }
}

/// The base of every link in a message: an `http` or `https` URL without a query or
/// fragment, kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

/// Why an `ICECONE_PUBLIC_URL` was refused; never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an http:// or https:// URL without a query or fragment")]
pub struct PublicUrlError;

impl PublicUrl {
    /// Parses the base URL.
    pub fn parse(text: &str) -> Result<Self, PublicUrlError> {
        let url = url::Url::parse(text.trim()).map_err(|_| PublicUrlError)?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(PublicUrlError);
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The base of a gateway reached directly at `address` (development without a public
    /// URL): `http://<address>`, or `https://` when it serves TLS itself.
    pub fn of_address(address: std::net::SocketAddr, tls: bool) -> Self {
        let scheme = if tls { "https" } else { "http" };
        Self(format!("{scheme}://{address}"))
    }

    /// The URL of `path` (which starts with `/`) under this base.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// Whether links are `https`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_into_their_security_and_plain_smtp_stays_on_loopback() {
        type Expected = Result<(SmtpSecurity, &'static str, u16), SmtpUrlError>;
        let cases: &[(&str, Expected)] = &[
            (
                "smtp://127.0.0.1:2525",
                Ok((SmtpSecurity::Plain, "127.0.0.1", 2525)),
            ),
            (
                "smtp://localhost",
                Ok((SmtpSecurity::Plain, "localhost", 25)),
            ),
            ("smtp://[::1]:25", Ok((SmtpSecurity::Plain, "::1", 25))),
            (
                "smtp://mail.example.com:587?tls=required",
                Ok((SmtpSecurity::StartTls, "mail.example.com", 587)),
            ),
            (
                "smtps://user:pa%40ss@mail.example.com",
                Ok((SmtpSecurity::ImplicitTls, "mail.example.com", 465)),
            ),
            (
                "smtp://mail.example.com:25",
                Err(SmtpUrlError::PlaintextOffLoopback),
            ),
            (
                "smtp://10.0.0.1:25",
                Err(SmtpUrlError::PlaintextOffLoopback),
            ),
            (
                "smtp://mail.example.com?tls=opportunistic",
                Err(SmtpUrlError::Parameter),
            ),
            ("http://mail.example.com", Err(SmtpUrlError::Scheme)),
            ("not a url", Err(SmtpUrlError::Malformed)),
            ("smtp://", Err(SmtpUrlError::Malformed)),
        ];
        for (text, expected) in cases {
            let parsed =
                SmtpUrl::parse(text).map(|url| (url.security(), url.host().to_owned(), url.port()));
            let expected =
                (*expected).map(|(security, host, port)| (security, host.to_owned(), port));
            assert_eq!(parsed, expected, "{text}");
        }
        let url = SmtpUrl::parse("smtps://user:pa%40ss@mail.example.com").expect("parses");
        let (user, password) = url.credentials().expect("credentials");
        assert_eq!(user, "user");
        assert_eq!(secrecy::ExposeSecret::expose_secret(password), "pa@ss");
        let debug = format!("{url:?}");
        assert!(
            !debug.contains("pa@ss") && !debug.contains("user"),
            "{debug}"
        );
    }

    #[test]
    fn a_mail_from_is_a_mailbox_and_a_public_url_a_base() {
        let from = MailFrom::parse("IceCone <no-reply@icecone.example>").expect("mailbox");
        assert_eq!(from.domain(), "icecone.example");
        assert_eq!(from.mailbox().name.as_deref(), Some("IceCone"));
        assert!(MailFrom::parse("no-reply@icecone.example").is_ok());
        assert_eq!(MailFrom::parse("IceCone"), Err(MailFromError));
        assert_eq!(MailFrom::parse("a@b@c"), Err(MailFromError));

        let base = PublicUrl::parse("https://icecone.example/app/").expect("base");
        assert_eq!(
            base.join("/verify-email?token=t"),
            "https://icecone.example/app/verify-email?token=t"
        );
        assert!(base.is_https());
        for bad in [
            "ftp://x",
            "https://x/?a=b",
            "https://x/#f",
            "nope",
            "https://u:p@x",
        ] {
            assert_eq!(PublicUrl::parse(bad), Err(PublicUrlError), "{bad}");
        }
    }
}

/// Anonymised analytics and the ranking of providers from ratings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyticsConfig {
    /// `analytics_min_group`: the smallest group of people a published cell (or a
    /// provider's ratings) may come from.
    pub min_group: icecone_core::analytics::MinGroup,
    /// `analytics_epsilon`: the differential-privacy budget of each metric per day; `None`
    /// publishes exact counts under suppression alone.
    pub epsilon: Option<icecone_core::analytics::noise::Epsilon>,
    /// How often each instance looks for days to aggregate and ranks the providers again.
    pub interval: Duration,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            min_group: icecone_core::analytics::MinGroup::DEFAULT,
            epsilon: None,
            interval: Duration::from_secs(3_600),
        }
    }
}

/// A duration in the largest whole unit that fits: `3 years`, `90 days`, `12 hours`.
pub fn duration_text(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let units: [(u64, &str, &str); 5] = [
        (365 * 86_400, "year", "years"),
        (86_400, "day", "days"),
        (3_600, "hour", "hours"),
        (60, "minute", "minutes"),
        (1, "second", "seconds"),
    ];
    for (size, one, many) in units {
        if seconds >= size && seconds.is_multiple_of(size) {
            let count = seconds / size;
            return format!("{count} {}", if count == 1 { one } else { many });
        }
    }
    format!("{seconds} seconds")
}
