//! Generations: what a person asked a provider to make ([`GenerationKind`]), where it
//! stands ([`GenerationStatus`]) and what became of the provider's copy of its output
//! ([`RemoteCopy`]).
//!
//! A generation answered at once is `SUCCEEDED` when it is stored. One made by a provider
//! job starts `QUEUED`, becomes `RUNNING` once the provider took it and ends `SUCCEEDED`,
//! `FAILED` or `CANCELLED`; it changes only while it has not ended
//! ([`GenerationStatus::is_final`]), so of two writers ending it, one does.
//!
//! The names ([`GenerationKind::as_str`], ...) are the stable ones the API and the export
//! show; how the store spells them is the store's business.

use crate::provider::adapter::{GenerationRequest, RemoteDeletion};

/// What a generation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GenerationKind {
    /// Text.
    Text,
    /// An image.
    Image,
    /// A video.
    Video,
}

impl GenerationKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Text, Self::Image, Self::Video];

    /// The kind named `text` ([`GenerationKind::as_str`]).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The kind `request` produces.
    pub fn of(request: &GenerationRequest) -> Self {
        match request {
            GenerationRequest::Text(_) => Self::Text,
            GenerationRequest::Image(_) => Self::Image,
            GenerationRequest::Video(_) => Self::Video,
        }
    }

    /// The stable name (`TEXT`, `IMAGE`, `VIDEO`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Image => "IMAGE",
            Self::Video => "VIDEO",
        }
    }
}

/// Where a generation stands. Synchronous providers go straight to `Succeeded`; the other
/// states are those of provider jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationStatus {
    /// Accepted, not yet sent to the provider.
    Queued,
    /// The provider is working on it.
    Running,
    /// Done, with an output.
    Succeeded,
    /// Ended without an output (see the error code).
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl GenerationStatus {
    /// Every status, in the order a generation goes through them.
    pub const ALL: [Self; 5] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The stable name (`QUEUED`, `SUCCEEDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Whether the generation has ended: it changes no more (only a generation that has
    /// not ended is started, finished, failed or cancelled).
    pub fn is_final(self) -> bool {
        match self {
            Self::Queued | Self::Running => false,
            Self::Succeeded | Self::Failed | Self::Cancelled => true,
        }
    }
}

/// What became of the provider's copy of a provider job's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemoteCopy {
    /// The provider deleted it on our request.
    Deleted,
    /// The provider kept nothing to delete.
    NothingKept,
    /// The provider offers no deletion: its effective policy's output retention applies.
    NotSupported,
    /// Deleting it failed, after retries; its effective policy's output retention applies.
    DeleteFailed,
}

impl RemoteCopy {
    /// The stable name (`DELETED`, `NOTHING_KEPT`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "DELETED",
            Self::NothingKept => "NOTHING_KEPT",
            Self::NotSupported => "NOT_SUPPORTED",
            Self::DeleteFailed => "DELETE_FAILED",
        }
    }
}

/// What a provider's answer to a deletion request makes of its copy.
impl From<RemoteDeletion> for RemoteCopy {
    fn from(answer: RemoteDeletion) -> Self {
        match answer {
            RemoteDeletion::Deleted => Self::Deleted,
            RemoteDeletion::NothingKept => Self::NothingKept,
            RemoteDeletion::NotSupported => Self::NotSupported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::adapter::{ImageRequest, ImageSize, Prompt, TextRequest, VideoRequest};

    #[test]
    fn a_generation_has_ended_once_it_succeeded_failed_or_was_cancelled() {
        use GenerationStatus::{Cancelled, Failed, Queued, Running, Succeeded};
        let cases = [
            (Queued, false),
            (Running, false),
            (Succeeded, true),
            (Failed, true),
            (Cancelled, true),
        ];
        assert_eq!(cases.map(|(status, _)| status), GenerationStatus::ALL);
        for (status, ended) in cases {
            assert_eq!(status.is_final(), ended, "{status:?}");
        }
    }

    #[test]
    fn a_request_makes_its_kind() {
        let prompt = || Prompt::parse("a red fox").expect("prompt");
        let cases = [
            (
                GenerationRequest::Text(TextRequest {
                    prompt: prompt(),
                    max_tokens: None,
                }),
                GenerationKind::Text,
            ),
            (
                GenerationRequest::Image(ImageRequest {
                    prompt: prompt(),
                    size: ImageSize::Square,
                }),
                GenerationKind::Image,
            ),
            (
                GenerationRequest::Video(VideoRequest {
                    prompt: prompt(),
                    image: None,
                    duration_seconds: 4,
                }),
                GenerationKind::Video,
            ),
        ];
        for (request, kind) in cases {
            assert_eq!(GenerationKind::of(&request), kind, "{request:?}");
        }
    }

    #[test]
    fn a_providers_answer_to_a_deletion_settles_its_copy() {
        let cases = [
            (RemoteDeletion::Deleted, RemoteCopy::Deleted),
            (RemoteDeletion::NothingKept, RemoteCopy::NothingKept),
            (RemoteDeletion::NotSupported, RemoteCopy::NotSupported),
        ];
        for (answer, copy) in cases {
            assert_eq!(RemoteCopy::from(answer), copy, "{answer:?}");
        }
    }

    #[test]
    fn the_stable_names_are_upper_case_words() {
        let names: Vec<&str> = [
            GenerationKind::Text.as_str(),
            GenerationKind::Image.as_str(),
            GenerationKind::Video.as_str(),
        ]
        .into_iter()
        .chain(GenerationStatus::ALL.map(GenerationStatus::as_str))
        .chain(
            [
                RemoteCopy::Deleted,
                RemoteCopy::NothingKept,
                RemoteCopy::NotSupported,
                RemoteCopy::DeleteFailed,
            ]
            .map(RemoteCopy::as_str),
        )
        .collect();
        assert_eq!(
            names,
            [
                "TEXT",
                "IMAGE",
                "VIDEO",
                "QUEUED",
                "RUNNING",
                "SUCCEEDED",
                "FAILED",
                "CANCELLED",
                "DELETED",
                "NOTHING_KEPT",
                "NOT_SUPPORTED",
                "DELETE_FAILED",
            ]
        );
    }
}
