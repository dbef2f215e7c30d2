//! A local stand-in for OpenAI, in process: an HTTP server speaking the wire format the
//! `openai` adapter uses (`POST /v1/chat/completions`, `POST /v1/images/generations`, as
//! OpenAI's API reference describes them: a `chat.completion` object with `choices` and
//! `usage`; an image list of `b64_json`; errors as `{"error": {message, type, param, code}}`).
//! Faults are switched on for a while: 500s, 429s with `Retry-After`, or answers slower
//! than the gateway's provider timeout.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// A one-pixel PNG, as the image endpoint's `b64_json`.
const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// The API key the gateways are given for the mock.
pub(crate) const API_KEY: &str = "sk-soak-harness-key";

/// How the mock answers for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 200 with an answer.
    Healthy,
    /// 500 `server_error`.
    ServerErrors,
    /// 429 `rate_limit_exceeded` with `Retry-After: 1`.
    RateLimited,
    /// Answers after this long (longer than the gateway's provider timeout).
    Slow(Duration),
}

#[derive(Debug)]
struct State {
    mode: Mutex<Mode>,
    answered: AtomicU64,
    faulted: AtomicU64,
    last_answer: Mutex<Option<Instant>>,
}

/// The running mock.
#[derive(Debug, Clone)]
pub(crate) struct ProviderMock {
    port: u16,
    state: Arc<State>,
}

impl ProviderMock {
    /// Starts the mock on a free port of 127.0.0.1, on the current Tokio runtime.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            mode: Mutex::new(Mode::Healthy),
            answered: AtomicU64::new(0),
            faulted: AtomicU64::new(0),
            last_answer: Mutex::new(None),
        });
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(web::JsonConfig::default().limit(1 << 20))
                .route("/v1/chat/completions", web::post().to(chat))
                .route("/v1/images/generations", web::post().to(images))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)?
        .run();
        tokio::spawn(server);
        Ok(Self { port, state })
    }

    /// `http://127.0.0.1:<port>/v1`, the adapter's base URL.
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Changes how the mock answers from now on.
    pub(crate) fn set_mode(&self, mode: Mode) {
        *self
            .state
            .mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = mode;
    }

    /// Successful answers so far.
    pub(crate) fn answered(&self) -> u64 {
        self.state.answered.load(Ordering::SeqCst)
    }

    /// Faulty answers so far.
    pub(crate) fn faulted(&self) -> u64 {
        self.state.faulted.load(Ordering::SeqCst)
    }

    /// When it last answered successfully.
    pub(crate) fn last_answer(&self) -> Option<Instant> {
        *self
            .state
            .last_answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// OpenAI's error object.
fn error(status: u16, kind: &str, code: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if status.as_u16() == 429 {
        response.insert_header(("retry-after", "1"));
    }
    response.json(error_body(kind, code, message))
}

/// OpenAI's error object.
fn error_body(kind: &str, code: &str, message: &str) -> Value {
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

/// The fault to answer with now, if any (after waiting, for a slow mode); `None` to
/// answer normally. Requests without the bearer key are refused as OpenAI does.
async fn fault(request: &HttpRequest, state: &State) -> Option<HttpResponse> {
    let authorised = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == format!("Bearer {API_KEY}"));
    if !authorised {
        return Some(error(
            401,
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided.",
        ));
    }
    let mode = *state
        .mode
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let answer = match mode {
        Mode::Healthy => return None,
        Mode::ServerErrors => error(
            500,
            "server_error",
            "server_error",
            "The server had an error while processing your request.",
        ),
        Mode::RateLimited => error(
            429,
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests.",
        ),
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            error(
                503,
                "server_error",
                "server_overloaded",
                "The server is overloaded.",
            )
        }
    };
    state.faulted.fetch_add(1, Ordering::SeqCst);
    Some(answer)
}

fn served(state: &State) {
    state.answered.fetch_add(1, Ordering::SeqCst);
    *state
        .last_answer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
}

fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn chat(
    request: HttpRequest,
    state: web::Data<State>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(answer) = fault(&request, &state).await {
        return answer;
    }
    let prompt = body["messages"][0]["content"].as_str().unwrap_or("");
    let model = body["model"].as_str().unwrap_or("");
    if model.is_empty() || body["store"] != json!(false) {
        return error(
            400,
            "invalid_request_error",
            "invalid_value",
            "`model` is required and `store` must be false here.",
        );
    }
    served(&state);
    HttpResponse::Ok().json(chat_answer(
        prompt,
        model,
        body["max_completion_tokens"].as_u64(),
        state.answered.load(Ordering::SeqCst),
    ))
}

/// A `chat.completion`: a short answer within `max_completion_tokens`, its prompt counted
/// as the gateway estimates it (one token per four characters), so that a text never
/// costs more than its reservation.
fn chat_answer(prompt: &str, model: &str, max_completion_tokens: Option<u64>, n: u64) -> Value {
    let prompt_tokens = prompt.chars().count().div_ceil(4);
    let limit = max_completion_tokens.unwrap_or(16);
    let words = [
        "Soak", "answers", "with", "eight", "short", "words", "every", "time",
    ];
    let take = usize::try_from(limit.min(8)).unwrap_or(8);
    let content = words[..take].join(" ");
    json!({
        "id": format!("chatcmpl-soak{n}"),
        "object": "chat.completion",
        "created": now_seconds(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content, "refusal": null, "annotations": [] },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": take,
            "total_tokens": prompt_tokens + take,
            "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 }
        },
        "service_tier": "default"
    })
}

async fn images(
    request: HttpRequest,
    state: web::Data<State>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(answer) = fault(&request, &state).await {
        return answer;
    }
    if body["prompt"].as_str().unwrap_or("").is_empty() || body["n"] != json!(1) {
        return error(
            400,
            "invalid_request_error",
            "invalid_value",
            "`prompt` is required.",
        );
    }
    served(&state);
    HttpResponse::Ok().json(image_answer())
}

/// An image list with one `b64_json` image.
fn image_answer() -> Value {
    json!({
        "created": now_seconds(),
        "data": [{ "b64_json": PIXEL_PNG }],
        "usage": {
            "total_tokens": 100,
            "input_tokens": 50,
            "output_tokens": 50,
            "input_tokens_details": { "text_tokens": 50, "image_tokens": 0 }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mocks_answers_match_openais_published_spec() {
        let spec = icecone_spec_check::openai();
        let chat = chat_answer("soak request about rivers", "gpt-5.6-luna", Some(24), 1);
        spec.check_answer("POST", "/v1/chat/completions", 200, &chat)
            .expect("a chat.completion as the spec describes it");
        assert_eq!(
            chat["usage"]["prompt_tokens"], 7,
            "one token per four characters"
        );
        assert_eq!(chat["usage"]["completion_tokens"], 8);
        let short = chat_answer("x", "m", Some(3), 2);
        assert_eq!(
            short["usage"]["completion_tokens"], 3,
            "within max_completion_tokens"
        );
        spec.check_answer("POST", "/v1/images/generations", 200, &image_answer())
            .expect("an image list as the spec describes it");
        for (kind, code) in [
            ("server_error", "server_error"),
            ("requests", "rate_limit_exceeded"),
        ] {
            let body = error_body(kind, code, "m");
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["type"], kind);
        }
    }
}
