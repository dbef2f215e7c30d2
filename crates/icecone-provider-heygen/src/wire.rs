//! HeyGen's v3 wire format: the request and response bodies this adapter sends and reads.
//! Private to the crate: nothing here leaves it.

use serde::{Deserialize, Serialize};

/// `POST /v3/videos` from an avatar (`type: "avatar"` of the discriminated union).
#[derive(Debug, Serialize)]
pub(crate) struct CreateVideoFromAvatar<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) avatar_id: &'a str,
    /// What the avatar says: the prompt.
    pub(crate) script: &'a str,
    /// Omitted to use the avatar's default voice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) voice_id: Option<&'a str>,
    pub(crate) resolution: &'a str,
    pub(crate) aspect_ratio: &'a str,
}

/// `{"data": {"video_id": ...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct VideoCreated {
    pub(crate) data: VideoCreatedData,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VideoCreatedData {
    pub(crate) video_id: String,
}

/// `GET /v3/videos/{video_id}`: `{"data": {...}}`. `failure_message` is not read: it may
/// quote the script.
#[derive(Debug, Deserialize)]
pub(crate) struct VideoDetail {
    pub(crate) data: VideoDetailData,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VideoDetailData {
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) video_url: Option<String>,
    #[serde(default)]
    pub(crate) failure_code: Option<String>,
}

/// The two error shapes HeyGen answers: v3's `{"error": {"code", "message", ...}}` and
/// the legacy `{"code", "message"}`. Codes are strings in v3 and numbers in v1/v2; the
/// message is never read.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) error: Option<ErrorDetail>,
    #[serde(default)]
    pub(crate) code: Option<Code>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub(crate) code: Option<Code>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Code {
    Text(String),
    Number(i64),
}

impl Code {
    pub(crate) fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Number(number) => number.to_string(),
        }
    }
}
