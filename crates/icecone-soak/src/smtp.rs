//! The local SMTP server the gateways send their mail to, as the e-mail tests' server
//! (tests/e2e/support/smtp.rs) does it: `mailin` speaks the protocol over TCP on 127.0.0.1,
//! STARTTLS with rustls (`ring`) and an `rcgen` certificate, one thread per connection. It
//! keeps no message, only counts them and the verification link each address was sent, and
//! can be made slow: every reply then waits.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder, response};

#[derive(Debug, Default)]
struct Shared {
    accepted: AtomicU64,
    /// Milliseconds every reply waits (0: none).
    delay_ms: AtomicU64,
    /// The last verification token sent to each address.
    tokens: Mutex<HashMap<String, String>>,
}

/// The running server (its threads end with the process).
#[derive(Debug, Clone)]
pub(crate) struct SmtpServer {
    port: u16,
    ca_pem: String,
    shared: Arc<Shared>,
}

impl SmtpServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])?;
        let ca_pem = certified.cert.pem();
        let key =
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
        let cert = rustls::pki_types::CertificateDer::from(certified.cert.der().to_vec());
        let tls = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key.into())?,
        );
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                let tls = tls.clone();
                std::thread::spawn(move || serve(stream, &tls, shared));
            }
        });
        Ok(Self {
            port,
            ca_pem,
            shared,
        })
    }

    /// `smtp://127.0.0.1:<port>?tls=required`.
    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=required", self.port)
    }

    /// The server certificate, for the gateways to trust.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Makes every reply wait `delay` from now on (zero: answer at once).
    pub(crate) fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(millis, Ordering::SeqCst);
    }

    /// Messages accepted so far.
    pub(crate) fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// The verification token last sent to `address`, if any.
    pub(crate) fn verification_token(&self, address: &str) -> Option<String> {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&address.to_ascii_lowercase())
            .cloned()
    }
}

/// The token of the first `/verify-email?token=` link in a message as sent (quoted-printable
/// soft breaks and escapes undone, the token percent-decoded).
pub(crate) fn verification_token_in(message: &[u8]) -> Option<String> {
    let quoted = String::from_utf8_lossy(message)
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable");
    let text = if quoted {
        decode_quoted_printable(message)
    } else {
        String::from_utf8_lossy(message).into_owned()
    };
    let marker = "/verify-email?token=";
    let start = text.find(marker)? + marker.len();
    let raw: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | '\''))
        .collect();
    percent_decode(&raw)
}

fn decode_quoted_printable(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message)
        .replace("=\r\n", "")
        .replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .ok()
        .filter(|token| !token.is_empty())
}

struct Collector {
    shared: Arc<Shared>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.to.clear();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        self.to.push(to.to_ascii_lowercase());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.shared.accepted.fetch_add(1, Ordering::SeqCst);
        if let Some(token) = verification_token_in(&self.data) {
            let mut tokens = self
                .shared
                .tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for to in &self.to {
                tokens.insert(to.clone(), token.clone());
            }
        }
        self.data.clear();
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
    let mut builder = SessionBuilder::new("smtp.soak");
    builder.enable_start_tls();
    let delay = shared.clone();
    let mut session = builder.build(
        peer,
        Collector {
            shared,
            to: Vec::new(),
            data: Vec::new(),
        },
    );
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    if write(&mut writer, &session.greeting(), &delay).is_err() {
        return;
    }
    // The plain part, until STARTTLS.
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = session.process(&line);
        match answer.action {
            Action::NoReply => {}
            Action::Reply => {
                if write(&mut writer, &answer, &delay).is_err() {
                    return;
                }
            }
            Action::UpgradeTls => {
                if write(&mut writer, &answer, &delay).is_err() {
                    return;
                }
                break;
            }
            Action::Close => {
                let _ = write(&mut writer, &answer, &delay);
                return;
            }
        }
    }
    let Ok(connection) = rustls::ServerConnection::new(tls.clone()) else {
        return;
    };
    session.tls_active();
    let mut reader = BufReader::new(rustls::StreamOwned::new(connection, reader.into_inner()));
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = session.process(&line);
        match answer.action {
            Action::NoReply => {}
            Action::Reply | Action::UpgradeTls => {
                if write(reader.get_mut(), &answer, &delay).is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = write(reader.get_mut(), &answer, &delay);
                return;
            }
        }
    }
}

/// Writes an answer in one piece (see the e-mail tests' server for why), after the delay
/// the server is set to.
fn write(out: &mut dyn Write, answer: &Response, shared: &Shared) -> std::io::Result<()> {
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let mut bytes = Vec::new();
    answer.write_to(&mut bytes)?;
    out.write_all(&bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verification_token_is_read_through_quoted_printable_and_percent_encoding() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "Content-Transfer-Encoding: quoted-printable\r\n\r\nOpen http://127.0.0.1:8080/verify-email?token=3DabC%2B%2F=\r\n_9 to verify.\r\n",
                Some("abC+/_9"),
            ),
            (
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"http://h/verify-email?token=3Dxyz\">verify</a>",
                Some("xyz"),
            ),
            // 7bit: nothing to undo but the percent-encoding.
            (
                "Subject: x\r\n\r\nhttp://h/verify-email?token=ab3D%3D\r\n",
                Some("ab3D="),
            ),
            ("no link here", None),
            (
                "Content-Transfer-Encoding: quoted-printable\r\n\r\nhttp://h/verify-email?token=3D",
                None,
            ),
        ];
        for (message, token) in cases {
            assert_eq!(
                verification_token_in(message.as_bytes()).as_deref(),
                *token,
                "{message}"
            );
        }
    }
}
