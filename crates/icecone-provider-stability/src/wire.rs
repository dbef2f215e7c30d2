//! Stability AI's wire format: the multipart form this adapter sends and the error body it
//! reads. Private to the crate: nothing here leaves it.

use reqwest::multipart::Form;
use serde::Deserialize;

/// `POST /v2beta/stable-image/generate/{core|ultra}`, as multipart/form-data.
#[derive(Debug)]
pub(crate) struct GenerateForm<'a> {
    pub(crate) prompt: &'a str,
    /// `1:1`, `16:9` or `9:16`.
    pub(crate) aspect_ratio: &'static str,
    /// Always `png`.
    pub(crate) output_format: &'static str,
}

impl GenerateForm<'_> {
    /// The form: three text parts, no file, nothing about the person.
    pub(crate) fn into_form(self) -> Form {
        Form::new()
            .text("prompt", self.prompt.to_owned())
            .text("aspect_ratio", self.aspect_ratio)
            .text("output_format", self.output_format)
    }
}

/// `{"id": "…", "name": "content_moderation", "errors": ["…"]}`. Only `name` is read: the
/// `errors` messages may quote the request.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) name: Option<String>,
}
