//! Luma Dream Machine's wire format: the request and response bodies this adapter sends
//! and reads. Private to the crate: nothing here leaves it.

use serde::{Deserialize, Serialize};

/// `POST /generations/video` (Luma's `GenerationRequest`).
#[derive(Debug, Serialize)]
pub(crate) struct GenerationRequest<'a> {
    pub(crate) prompt: &'a str,
    pub(crate) model: &'a str,
    pub(crate) aspect_ratio: &'a str,
    /// `5s` or `9s`.
    pub(crate) duration: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) keyframes: Option<Keyframes<'a>>,
}

/// The video's start frame.
#[derive(Debug, Serialize)]
pub(crate) struct Keyframes<'a> {
    pub(crate) frame0: ImageKeyframe<'a>,
}

/// `{"type": "image", "url": …}`.
#[derive(Debug, Serialize)]
pub(crate) struct ImageKeyframe<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) url: &'a str,
}

/// A Generation, as `POST /generations/video` and `GET /generations/{id}` answer it. Its
/// `failure_reason` and the echoed `request` are not read: they may quote the prompt.
#[derive(Debug, Deserialize)]
pub(crate) struct Generation {
    pub(crate) id: String,
    /// `queued`, `dreaming`, `completed` or `failed`.
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) assets: Option<Assets>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Assets {
    #[serde(default)]
    pub(crate) video: Option<String>,
}

/// `{"detail": …}`: a message, or a list of validation errors. It is looked at only for
/// whether it names moderation, and never kept: it may quote the prompt.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) detail: Option<serde_json::Value>,
}
