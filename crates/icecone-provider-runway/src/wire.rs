//! Runway's wire format: the request and response bodies this adapter sends and reads.
//! Private to the crate: nothing here leaves it.

use serde::{Deserialize, Serialize};

/// `POST /image_to_video`. The fields of Runway's Node SDK's `ImageToVideoCreateParams`
/// (4.12.0) that the adapter sends.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageToVideo<'a> {
    pub(crate) model: &'a str,
    /// The HTTPS URL of the first frame.
    pub(crate) prompt_image: &'a str,
    pub(crate) prompt_text: &'a str,
    /// One of the model's ratios.
    pub(crate) ratio: &'static str,
    pub(crate) duration: u32,
}

/// `POST /text_to_video`. The fields of Runway's Node SDK's `TextToVideoCreateParams`
/// (4.12.0) that the adapter sends.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TextToVideo<'a> {
    pub(crate) model: &'a str,
    pub(crate) prompt_text: &'a str,
    /// One of the model's ratios.
    pub(crate) ratio: &'static str,
    pub(crate) duration: u32,
}

/// The answer to a task's creation: `{"id": "<uuid>"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TaskCreated {
    pub(crate) id: String,
}

/// `GET /tasks/{id}`. The free-text `failure` is not read: it may quote the prompt.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Task {
    pub(crate) status: String,
    /// A dot-separated code such as `SAFETY.INPUT.TEXT`, when the task failed.
    #[serde(default)]
    pub(crate) failure_code: Option<String>,
    /// Signed URLs of the outputs, when the task succeeded.
    #[serde(default)]
    pub(crate) output: Option<Vec<String>>,
}
