//! E-mail: the [`Mailer`], the [`Notifier`] the gateway delivers notifications with, and
//! the message templates ([`templates`]).
//!
//! With a mail server (`ICECONE_SMTP_URL`) messages go over SMTP through a pool of
//! connections (plain only to a loopback relay, STARTTLS required, or implicit TLS; rustls
//! with the public roots and any private authority configured). Without one — development —
//! each message is written as `<id>.eml` into `<data_dir>/mail/` (created `0700`, the files
//! `0600`) and the log names the file, never the address or the token.
//!
//! A mail server's 5xx reply is a permanent failure, everything else (4xx, no connection,
//! TLS, a timeout) a temporary one ([`DeliveryError`]). Neither carries the server's text,
//! which may quote the address.

pub mod templates;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use futures_util::future::BoxFuture;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{PoolConfig, authentication::Credentials};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::notify::{DeliveryError, Notification, Notifier};
use crate::settings::{MailConfig, MailDelivery, MailFrom, PublicUrl, SmtpSecurity, SmtpServer};

/// RFC 2369's header naming how to unsubscribe.
const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
/// RFC 8058's header saying the unsubscribe URI takes a one-click `POST`.
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// How long one SMTP command may take before the attempt counts as a temporary failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Most connections the pool keeps open to the mail server: one per notification the
/// delivery task hands over at once.
const POOL_SIZE: usize = crate::notify::DELIVERY_CONCURRENCY;

/// The `Message-ID` of a notification's message: derived from its outbox id, so that a
/// message sent again after a crash carries the same one.
pub fn message_id(notification: Uuid, domain: &str) -> String {
    format!("<{notification}@{domain}>")
}

/// Why the mailer could not be built; names no secret.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// The private authorities' PEM (`ICECONE_SMTP_CA_FILE`) holds no usable certificate.
    #[error("the mail server's certificate authorities could not be read")]
    Certificates(#[source] lettre::transport::smtp::Error),
    /// The TLS configuration could not be built.
    #[error("the TLS configuration for the mail server could not be built")]
    Tls(#[source] lettre::transport::smtp::Error),
    /// The mail directory could not be created.
    #[error("the mail directory could not be created")]
    Directory(#[source] std::io::Error),
}

enum Sink {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Sends notifications as e-mail (see the module documentation).
pub struct Mailer {
    from: MailFrom,
    public_url: PublicUrl,
    sink: Sink,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = match &self.sink {
            Sink::Smtp(_) => "smtp",
            Sink::Files(_) => "files",
        };
        f.debug_struct("Mailer")
            .field("sink", &sink)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the mailer: the SMTP transport's pool (no connection is opened yet), or the
    /// mail directory.
    pub fn new(config: &MailConfig) -> Result<Self, MailerError> {
        let sink = match &config.delivery {
            MailDelivery::Smtp(server) => Sink::Smtp(transport(server, &config.from)?),
            MailDelivery::Files(dir) => {
                crate::create_private_dir(dir).map_err(MailerError::Directory)?;
                Sink::Files(dir.clone())
            }
        };
        Ok(Self {
            from: config.from.clone(),
            public_url: config.public_url.clone(),
            sink,
        })
    }

    /// The message of a notification, ready to send.
    pub fn message(&self, notification: &Notification) -> Result<Message, DeliveryError> {
        let rendered = templates::render(
            notification.kind,
            notification
                .token
                .as_ref()
                .map(|token| token.expose_secret()),
            notification.campaign.as_ref(),
            &self.public_url,
        );
        let to: Mailbox = notification
            .recipient
            .expose_secret()
            .parse()
            .map_err(|_| {
                // Code 0: refused by the gateway itself, before any server saw it.
                DeliveryError::permanent(
                    0,
                    anyhow!("the recipient's address cannot be written in a message"),
                )
            })?;
        let mut builder = Message::builder()
            .message_id(Some(message_id(notification.id, self.from.domain())))
            .from(self.from.mailbox().clone())
            .to(to)
            .subject(rendered.subject)
            .date_now();
        if let Some(token) = notification
            .campaign
            .as_ref()
            .and_then(|campaign| campaign.unsubscribe.as_ref())
        {
            // RFC 8058: one https URI (the deployment's public URL, https in production)
            // and the one-click marker; a mail client POSTs `List-Unsubscribe=One-Click`
            // to it. The message must be DKIM-signed with these headers covered: that is
            // the relay's job (see docs/operations.md).
            let link = templates::unsubscribe_link(&self.public_url, token.expose_secret());
            builder = builder
                .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{link}>")))
                .raw_header(HeaderValue::new(
                    LIST_UNSUBSCRIBE_POST,
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|_| DeliveryError::temporary(anyhow!("the message could not be built")))
    }

    async fn send(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let message = self.message(notification)?;
        match &self.sink {
            Sink::Smtp(transport) => transport.send(message).await.map(drop).map_err(classify),
            Sink::Files(dir) => {
                let path = dir.join(format!("{}.eml", notification.id));
                write_private(&path, &message.formatted())
                    .await
                    .map_err(|error| {
                        DeliveryError::temporary(
                            anyhow::Error::new(error)
                                .context("the message file could not be written"),
                        )
                    })?;
                tracing::info!(
                    notification = %notification.id,
                    kind = notification.kind.as_str(),
                    file = %path.display(),
                    "no mail server configured (ICECONE_SMTP_URL): message written to a file"
                );
                Ok(())
            }
        }
    }
}

impl Notifier for Mailer {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(notification))
    }
}

fn transport(
    server: &SmtpServer,
    from: &MailFrom,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailerError> {
    let url = &server.url;
    let tls_parameters = || {
        let mut builder = TlsParameters::builder(url.host().to_owned());
        if let Some(pem) = &server.extra_roots_pem {
            builder = builder.add_root_certificate(
                Certificate::from_pem(pem).map_err(MailerError::Certificates)?,
            );
        }
        builder.build_rustls().map_err(MailerError::Tls)
    };
    let tls = match url.security() {
        SmtpSecurity::Plain => Tls::None,
        SmtpSecurity::StartTls => Tls::Required(tls_parameters()?),
        SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host())
        .port(url.port())
        .tls(tls)
        .hello_name(ClientId::Domain(from.domain().to_owned()))
        .timeout(Some(SMTP_TIMEOUT))
        .pool_config(PoolConfig::new().max_size(u32::try_from(POOL_SIZE).unwrap_or(u32::MAX)));
    if let Some((user, password)) = url.credentials() {
        builder = builder.credentials(Credentials::new(
            user.to_owned(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// A 5xx reply is permanent; every other failure is worth a retry. Only the reply code is
/// kept: the server's text may quote the address.
fn classify(error: lettre::transport::smtp::Error) -> DeliveryError {
    let code = error.status().map(u16::from);
    match code {
        Some(code) if error.is_permanent() => DeliveryError::permanent(
            code,
            anyhow!("the mail server refused the message permanently ({code})"),
        ),
        Some(code) => DeliveryError::temporary(anyhow!(
            "the mail server refused the message for now ({code})"
        )),
        None if error.is_timeout() => {
            DeliveryError::temporary(anyhow!("the mail server did not answer in time"))
        }
        None if error.is_tls() => {
            DeliveryError::temporary(anyhow!("the TLS connection to the mail server failed"))
        }
        None => DeliveryError::temporary(anyhow!("the mail server could not be reached")),
    }
}

async fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::NotificationKind;
    use secrecy::SecretString;

    fn mailer(dir: PathBuf) -> Mailer {
        Mailer::new(&MailConfig {
            delivery: MailDelivery::Files(dir),
            from: MailFrom::parse("IceCone <no-reply@icecone.example>").expect("from"),
            public_url: PublicUrl::parse("http://127.0.0.1:8080").expect("url"),
        })
        .expect("mailer")
    }

    fn verification(id: Uuid) -> Notification {
        Notification {
            id,
            account: Some(Uuid::nil()),
            kind: NotificationKind::VerifyEmail,
            recipient: SecretString::from("alice@example.com"),
            token: Some(SecretString::from("the-token")),
            campaign: None,
        }
    }

    #[test]
    fn the_message_id_is_the_outbox_id_so_a_repeated_message_is_recognised() {
        let dir = tempfile::tempdir().expect("dir");
        let mailer = mailer(dir.path().join("mail"));
        let id = Uuid::new_v4();
        let first = mailer.message(&verification(id)).expect("message");
        let again = mailer.message(&verification(id)).expect("message");
        let header = |message: &Message| {
            String::from_utf8_lossy(&message.formatted())
                .lines()
                .find(|line| line.starts_with("Message-ID:"))
                .map(str::to_owned)
        };
        assert_eq!(
            header(&first),
            Some(format!("Message-ID: <{id}@icecone.example>"))
        );
        assert_eq!(header(&first), header(&again));
    }

    #[tokio::test]
    async fn without_a_mail_server_each_message_is_an_owner_only_eml_file() {
        let dir = tempfile::tempdir().expect("dir");
        let mail_dir = dir.path().join("mail");
        let mailer = mailer(mail_dir.clone());
        let id = Uuid::new_v4();
        mailer.deliver(&verification(id)).await.expect("written");
        let path = mail_dir.join(format!("{id}.eml"));
        let text = std::fs::read_to_string(&path).expect("file");
        assert!(text.contains("To: alice@example.com"), "{text}");
        let decoded = quoted_printable::decode(&text, quoted_printable::ParseMode::Robust)
            .expect("quoted-printable");
        let decoded = String::from_utf8_lossy(&decoded);
        assert!(
            decoded.contains("http://127.0.0.1:8080/verify-email?token=the-token"),
            "{decoded}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| {
                std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
            };
            assert_eq!(mode(&mail_dir), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
    }
}
