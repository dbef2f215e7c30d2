//! OpenAI's wire format: the request and response bodies this adapter sends and reads.
//! Private to the crate: nothing here leaves it.

use serde::{Deserialize, Serialize};

/// `POST /chat/completions`.
#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub(crate) model: &'a str,
    pub(crate) messages: [ChatMessage<'a>; 1],
    /// Always `false`: OpenAI must not keep the completion for later retrieval.
    pub(crate) store: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_completion_tokens: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChatMessage<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: &'a str,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatResponse {
    pub(crate) choices: Vec<ChatChoice>,
    pub(crate) usage: Usage,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatChoice {
    pub(crate) message: AssistantMessage,
    pub(crate) finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssistantMessage {
    pub(crate) content: Option<String>,
    #[serde(default)]
    pub(crate) refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: u32,
    pub(crate) completion_tokens: u32,
}

/// `POST /images/generations`. The GPT image models always answer base64 (`b64_json`) and
/// refuse `response_format`, so it is not sent.
#[derive(Debug, Serialize)]
pub(crate) struct ImageRequest<'a> {
    pub(crate) model: &'a str,
    pub(crate) prompt: &'a str,
    pub(crate) n: u8,
    pub(crate) size: &'static str,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ImageResponse {
    pub(crate) data: Vec<ImageData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ImageData {
    pub(crate) b64_json: Option<String>,
}

/// `{"error": {"message", "type", "param", "code"}}`. The message is not read: it may
/// quote the request.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) code: Option<String>,
}
