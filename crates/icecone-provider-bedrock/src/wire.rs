//! Bedrock's wire format: the runtime operations' bodies (AWS's Smithy model of
//! `bedrock-runtime`, 2023-09-30) and each model's native request and response, as AWS's
//! model parameter pages give them. Private to the crate: nothing here leaves it.

use serde::{Deserialize, Serialize};

/// Stability's image models on Bedrock (Stable Image Core and Ultra, SD3.5 Large): the
/// InvokeModel body.
#[derive(Debug, Serialize)]
pub(crate) struct StabilityRequest<'a> {
    pub(crate) prompt: &'a str,
    /// `1:1`, `16:9`, `9:16`, ...
    pub(crate) aspect_ratio: &'static str,
    /// `png`.
    pub(crate) output_format: &'static str,
}

/// `{"seeds": [...], "finish_reasons": [null], "images": ["<base64>"]}`; a filtered request
/// has a finish reason such as `Filter reason: prompt` and may have no image.
#[derive(Debug, Deserialize)]
pub(crate) struct StabilityResponse {
    #[serde(default)]
    pub(crate) finish_reasons: Vec<Option<String>>,
    #[serde(default)]
    pub(crate) images: Vec<String>,
}

/// Amazon Nova Canvas, `TEXT_IMAGE`: the InvokeModel body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NovaCanvasRequest<'a> {
    /// `TEXT_IMAGE`.
    pub(crate) task_type: &'static str,
    pub(crate) text_to_image_params: TextParams<'a>,
    pub(crate) image_generation_config: ImageGenerationConfig,
}

/// `{"text": …}`: Nova's prompt.
#[derive(Debug, Serialize)]
pub(crate) struct TextParams<'a> {
    pub(crate) text: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageGenerationConfig {
    pub(crate) number_of_images: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// `{"images": ["<base64>"], "error": …}`. The error text is only looked at for being
/// there, never kept: it may quote the prompt.
#[derive(Debug, Deserialize)]
pub(crate) struct NovaCanvasResponse {
    #[serde(default)]
    pub(crate) images: Vec<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// `StartAsyncInvoke`'s body (`POST /async-invoke`). No `clientRequestToken` and no
/// `tags`: nothing about the person or the generation is sent.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartAsyncInvoke<'a> {
    pub(crate) model_id: &'a str,
    pub(crate) model_input: serde_json::Value,
    pub(crate) output_data_config: OutputDataConfig,
}

/// The union `AsyncInvokeOutputDataConfig`, with its one member.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OutputDataConfig {
    pub(crate) s3_output_data_config: S3OutputDataConfig,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct S3OutputDataConfig {
    /// `s3://bucket/prefix`.
    pub(crate) s3_uri: String,
}

/// `{"invocationArn": …}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartAsyncInvokeResponse {
    pub(crate) invocation_arn: String,
}

/// `GetAsyncInvoke`'s answer, the fields read: its `failureMessage` is only searched for a
/// content filter, never kept (it may quote the prompt).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetAsyncInvokeResponse {
    /// `InProgress`, `Completed` or `Failed`.
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) failure_message: Option<String>,
    #[serde(default)]
    pub(crate) output_data_config: Option<OutputDataConfig>,
}

/// Luma Ray2 on Bedrock: `modelInput`.
#[derive(Debug, Serialize)]
pub(crate) struct LumaRayInput<'a> {
    pub(crate) prompt: &'a str,
    pub(crate) aspect_ratio: &'static str,
    #[serde(rename = "loop")]
    pub(crate) looped: bool,
    /// `5s` or `9s`.
    pub(crate) duration: &'static str,
    /// `540p` or `720p`.
    pub(crate) resolution: &'static str,
}

/// Amazon Nova Reel, `TEXT_VIDEO`: `modelInput`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NovaReelInput<'a> {
    /// `TEXT_VIDEO`.
    pub(crate) task_type: &'static str,
    pub(crate) text_to_video_params: TextParams<'a>,
    pub(crate) video_generation_config: VideoGenerationConfig,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VideoGenerationConfig {
    pub(crate) duration_seconds: u32,
    pub(crate) fps: u32,
    /// `1280x720`.
    pub(crate) dimension: &'static str,
}

/// An error's body in AWS's REST-JSON protocol: `{"message": …}`, sometimes with `__type`.
/// The message is only searched for what the adapter maps (a content filter, an unknown
/// model), never kept: it may quote the prompt.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default, rename = "__type")]
    pub(crate) kind: Option<String>,
    #[serde(default, alias = "Message")]
    pub(crate) message: Option<String>,
}
