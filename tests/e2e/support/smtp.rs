//! A real SMTP server for the e-mail tests: `mailin` speaks the protocol, this module drives
//! it over TCP on 127.0.0.1 with STARTTLS (rustls with `ring`, a certificate from `rcgen`),
//! one thread per connection. It keeps every message it accepted, and can be told to
//! refuse for now (451) or for good (550).

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder, response};

/// How the server answers a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// 250: accepted.
    Accept,
    /// 451 to the recipient of the next `n` messages, then accept.
    TemporaryFor(usize),
    /// 550 to every recipient.
    Permanent,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// `MAIL FROM`.
    pub(crate) from: String,
    /// `RCPT TO`.
    pub(crate) to: Vec<String>,
    /// Whether the session had switched to TLS when the message came.
    pub(crate) tls: bool,
    /// The message as sent.
    pub(crate) data: Vec<u8>,
}

#[derive(Debug)]
struct Shared {
    reply: Mutex<Reply>,
    received: Mutex<Vec<Received>>,
    /// Whether accepted messages are kept in `received` (a load run only counts them).
    keep: bool,
    /// How many messages were accepted, kept or not.
    accepted: AtomicUsize,
    /// Every `RCPT TO` the server saw, accepted or not.
    recipients_tried: AtomicUsize,
}

/// The server's certificate and key.
#[derive(Debug, Clone)]
struct Identity {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl Identity {
    /// A fresh self-signed certificate for `localhost` and `127.0.0.1`.
    fn generate() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("certificate");
        Self {
            cert_pem: certified.cert.pem(),
            cert_der: certified.cert.der().to_vec(),
            key_der: certified.signing_key.serialize_der(),
        }
    }
}

/// The running server (its threads end with the test process).
#[derive(Debug, Clone)]
pub(crate) struct SmtpServer {
    port: u16,
    ca_pem: String,
    identity: Identity,
    shared: Arc<Shared>,
}

impl SmtpServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub(crate) fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::start_on(listener, reply)
    }

    /// Starts a server on a free port of 127.0.0.1 that accepts every message and only
    /// counts it ([`Self::accepted`]): for load, where keeping messages would grow memory.
    #[allow(
        dead_code,
        reason = "the mail bench's server (benches/mail.rs includes this module)"
    )]
    pub(crate) fn start_counting() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::serve_with(listener, Reply::Accept, Identity::generate(), false)
    }

    /// Starts a server on `listener`.
    pub(crate) fn start_on(listener: TcpListener, reply: Reply) -> Self {
        Self::serve_with(listener, reply, Identity::generate(), true)
    }

    /// Starts a server on `listener` with the certificate and key of `like`.
    pub(crate) fn start_on_with_identity(
        listener: TcpListener,
        reply: Reply,
        like: &SmtpServer,
    ) -> Self {
        Self::serve_with(listener, reply, like.identity.clone(), true)
    }

    fn serve_with(listener: TcpListener, reply: Reply, identity: Identity, keep: bool) -> Self {
        let port = listener.local_addr().expect("address").port();
        let ca_pem = identity.cert_pem.clone();
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(identity.key_der.clone());
        let cert = rustls::pki_types::CertificateDer::from(identity.cert_der.clone());
        let tls = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key.into())
            .expect("server config"),
        );
        let shared = Arc::new(Shared {
            reply: Mutex::new(reply),
            received: Mutex::new(Vec::new()),
            keep,
            accepted: AtomicUsize::new(0),
            recipients_tried: AtomicUsize::new(0),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                let tls = tls.clone();
                std::thread::spawn(move || serve(stream, &tls, shared));
            }
        });
        Self {
            port,
            ca_pem,
            identity,
            shared,
        }
    }

    /// `smtp://127.0.0.1:<port>?tls=required`.
    pub(crate) fn starttls_url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=required", self.port)
    }

    /// The server certificate, to trust as the mail server's authority.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Changes how the server answers from now on.
    pub(crate) fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().expect("lock") = reply;
    }

    /// Every message accepted so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// How many messages were accepted (also by a counting server).
    pub(crate) fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// How many `RCPT TO` commands the server saw.
    pub(crate) fn recipients_tried(&self) -> usize {
        self.shared.recipients_tried.load(Ordering::SeqCst)
    }

    /// Waits (up to 15 s) until `count` messages were accepted; returns them.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{count} messages did not arrive: {:?}",
            self.received().len()
        );
    }
}

struct Collector {
    shared: Arc<Shared>,
    tls: Arc<AtomicBool>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        self.shared.recipients_tried.fetch_add(1, Ordering::SeqCst);
        // Refusals come at RCPT, as greylisting (451) and unknown mailboxes (550) do:
        // mailin keeps a session that refused at the end of DATA in its data state.
        let mut reply = self.shared.reply.lock().expect("lock");
        match *reply {
            Reply::Permanent => response::NO_MAILBOX,
            Reply::TemporaryFor(n) if n > 0 => {
                *reply = if n == 1 {
                    Reply::Accept
                } else {
                    Reply::TemporaryFor(n - 1)
                };
                response::INTERNAL_ERROR
            }
            Reply::Accept | Reply::TemporaryFor(_) => {
                self.to.push(to.to_owned());
                response::OK
            }
        }
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.shared.accepted.fetch_add(1, Ordering::SeqCst);
        if !self.shared.keep {
            self.data.clear();
            return response::OK;
        }
        self.shared.received.lock().expect("lock").push(Received {
            from: self.from.clone(),
            to: self.to.clone(),
            tls: self.tls.load(Ordering::SeqCst),
            data: std::mem::take(&mut self.data),
        });
        response::OK
    }
}

/// One connection: the plain session, then — after STARTTLS — the rest over TLS.
fn serve(stream: TcpStream, tls: &Arc<rustls::ServerConfig>, shared: Arc<Shared>) {
    let peer = stream
        .peer_addr()
        .map(|address| address.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let _ = stream.set_nodelay(true);
    let tls_active = Arc::new(AtomicBool::new(false));
    let mut builder = SessionBuilder::new("smtp.test");
    builder.enable_start_tls();
    let mut session = builder.build(
        peer,
        Collector {
            shared,
            tls: tls_active.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        },
    );
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = writer;
    if write(&mut writer, &session.greeting()).is_err() {
        return;
    }
    if !run(&mut session, &mut reader, &mut writer) {
        return;
    }
    // STARTTLS: the rest of the session over TLS.
    let Ok(connection) = rustls::ServerConnection::new(tls.clone()) else {
        return;
    };
    let stream = reader.into_inner();
    let tls_stream = rustls::StreamOwned::new(connection, stream);
    session.tls_active();
    tls_active.store(true, Ordering::SeqCst);
    let mut reader = BufReader::new(tls_stream);
    let mut lines = Vec::new();
    loop {
        lines.clear();
        match reader.read_until(b'\n', &mut lines) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = session.process(&lines);
        match answer.action {
            Action::NoReply => {}
            Action::Reply | Action::UpgradeTls => {
                if write(reader.get_mut(), &answer).is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = write(reader.get_mut(), &answer);
                return;
            }
        }
    }
}

/// Runs the plain part of a session; `true` when the client asked for STARTTLS.
fn run<H: Handler>(
    session: &mut mailin::Session<H>,
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> bool {
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        let answer = session.process(&line);
        match answer.action {
            Action::NoReply => {}
            Action::Reply => {
                if write(writer, &answer).is_err() {
                    return false;
                }
            }
            Action::UpgradeTls => return write(writer, &answer).is_ok(),
            Action::Close => {
                let _ = write(writer, &answer);
                return false;
            }
        }
    }
}

/// Writes an answer in one piece: written line by line through TLS, each line would be a
/// record and a segment of its own, and Nagle's algorithm would hold the next until the
/// client's delayed ACK.
fn write(out: &mut dyn Write, answer: &Response) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    answer.write_to(&mut bytes)?;
    out.write_all(&bytes)?;
    out.flush()
}

/// A received message, parsed: headers (unfolded) and, for `multipart/alternative`, the
/// decoded text of each part.
#[derive(Debug)]
pub(crate) struct Mail {
    headers: Vec<(String, String)>,
    /// The `text/plain` part, decoded.
    pub(crate) text: String,
    /// The `text/html` part, decoded.
    pub(crate) html: String,
}

impl Mail {
    /// Parses a message as lettre writes it.
    pub(crate) fn parse(data: &[u8]) -> Self {
        let raw = String::from_utf8_lossy(data).replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").expect("headers and a body");
        let headers = parse_headers(head);
        let content_type = find(&headers, "Content-Type").expect("a content type");
        assert!(
            content_type.starts_with("multipart/alternative"),
            "{content_type}"
        );
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .expect("a boundary")
            .trim_matches('"')
            .to_owned();
        let mut text = None;
        let mut html = None;
        for part in body.split(&format!("--{boundary}")).skip(1) {
            let Some((part_head, part_body)) = part.trim_start_matches('\n').split_once("\n\n")
            else {
                continue;
            };
            let part_headers = parse_headers(part_head);
            let decoded = match find(&part_headers, "Content-Transfer-Encoding") {
                Some("quoted-printable") => String::from_utf8(
                    quoted_printable::decode(part_body, quoted_printable::ParseMode::Robust)
                        .expect("quoted-printable"),
                )
                .expect("UTF-8"),
                _ => part_body.to_owned(),
            };
            match find(&part_headers, "Content-Type") {
                Some(kind) if kind.starts_with("text/plain") => text = Some(decoded),
                Some(kind) if kind.starts_with("text/html") => html = Some(decoded),
                _ => {}
            }
        }
        Self {
            headers,
            text: text.expect("a text/plain part"),
            html: html.expect("a text/html part"),
        }
    }

    /// The value of header `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The names of every header, in order.
    pub(crate) fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(name, _)| name.as_str()).collect()
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}
