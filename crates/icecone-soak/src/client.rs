//! GraphQL over HTTP to the instances, as a client without a load balancer sees them: the
//! requests go round the instances' ports; a connection that is refused (the instance is
//! down, nothing was sent) is tried on the next one. Each caller has its own client address,
//! sent in `X-Forwarded-For` (the instances trust 127.0.0.1 as their proxy), so the
//! per-address limits count people, not the harness.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

/// How a request is authenticated.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    None,
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// What came back.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// `data` without errors.
    Data(Value),
    /// A GraphQL error with its `extensions.code`.
    Error(String),
    /// An HTTP status without a GraphQL answer.
    Http(u16),
    /// No answer: `connect`, `timeout` or `other`.
    Transport(&'static str),
}

impl Reply {
    /// The error class for the report (`graphql:CODE`, `http:503`, `transport:timeout`).
    pub(crate) fn class(&self) -> String {
        match self {
            Reply::Data(_) => "ok".to_owned(),
            Reply::Error(code) => format!("graphql:{code}"),
            Reply::Http(status) => format!("http:{status}"),
            Reply::Transport(kind) => format!("transport:{kind}"),
        }
    }

    /// Whether the client cannot know what happened: no answer, a 5xx or an internal error
    /// (`INTERNAL_SERVER_ERROR`: the database failed somewhere along the way).
    pub(crate) fn is_unanswered(&self) -> bool {
        match self {
            Reply::Transport(_) => true,
            Reply::Http(status) => *status >= 500,
            Reply::Error(code) => code == "INTERNAL_SERVER_ERROR",
            Reply::Data(_) => false,
        }
    }

    /// The data, or this reply's class as the error.
    pub(crate) fn data(self) -> Result<Value, String> {
        match self {
            Reply::Data(data) => Ok(data),
            other => Err(other.class()),
        }
    }
}

/// The instances' GraphQL endpoints.
#[derive(Debug)]
pub(crate) struct Gateway {
    ports: Vec<u16>,
    http: reqwest::Client,
    next: AtomicUsize,
}

impl Gateway {
    pub(crate) fn new(ports: Vec<u16>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            ports,
            http,
            next: AtomicUsize::new(0),
        })
    }

    /// The HTTP client (for `/readyz`).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `query` with `variables` from `client` (an IP address) to the next instance.
    pub(crate) async fn call(
        &self,
        client: &str,
        auth: Auth<'_>,
        query: &str,
        variables: Value,
    ) -> Reply {
        let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last = Reply::Transport("connect");
        for attempt in 0..self.ports.len() {
            let port = self.ports[(first + attempt) % self.ports.len()];
            let mut request = self
                .http
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .header("content-type", "application/json")
                .header("x-forwarded-for", client)
                .body(body.clone());
            request = match auth {
                Auth::None => request,
                Auth::Bearer(token) => request.header("authorization", format!("Bearer {token}")),
                Auth::ApiKey(key) => request.header("authorization", format!("ApiKey {key}")),
            };
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    return match response.bytes().await {
                        Ok(bytes) => classify(status, &bytes),
                        Err(error) if error.is_timeout() => Reply::Transport("timeout"),
                        Err(_) => Reply::Transport("other"),
                    };
                }
                Err(error) if error.is_connect() => {
                    // Nothing reached the instance: the next one may take it.
                    last = Reply::Transport("connect");
                }
                Err(error) if error.is_timeout() => return Reply::Transport("timeout"),
                Err(_) => return Reply::Transport("other"),
            }
        }
        last
    }
}

/// A GraphQL response as a [`Reply`].
pub(crate) fn classify(status: u16, body: &[u8]) -> Reply {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Reply::Http(status);
    };
    if let Some(errors) = json.get("errors").and_then(Value::as_array)
        && let Some(first) = errors.first()
    {
        let code = first["extensions"]["code"]
            .as_str()
            .unwrap_or("UNCODED")
            .to_owned();
        return Reply::Error(code);
    }
    match json.get("data") {
        Some(data) if status == 200 && !data.is_null() => Reply::Data(data.clone()),
        _ => Reply::Http(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_by_their_first_error_code() {
        let cases: &[(u16, &str, &str, bool)] = &[
            (200, r#"{"data":{"me":{"id":"x"}}}"#, "ok", false),
            (
                200,
                r#"{"data":null,"errors":[{"message":"m","extensions":{"code":"QUOTA_EXCEEDED"}}]}"#,
                "graphql:QUOTA_EXCEEDED",
                false,
            ),
            (
                401,
                r#"{"errors":[{"message":"m","extensions":{"code":"UNAUTHENTICATED"}}]}"#,
                "graphql:UNAUTHENTICATED",
                false,
            ),
            (
                200,
                r#"{"errors":[{"message":"m","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#,
                "graphql:INTERNAL_SERVER_ERROR",
                true,
            ),
            (503, "upstream down", "http:503", true),
            (200, r#"{"data":null}"#, "http:200", false),
        ];
        for (status, body, class, unanswered) in cases {
            let reply = classify(*status, body.as_bytes());
            assert_eq!(reply.class(), *class, "{body}");
            assert_eq!(reply.is_unanswered(), *unanswered, "{body}");
        }
        assert!(Reply::Transport("timeout").is_unanswered());
    }
}
