//! Mail campaigns: product news (marketing, on consent) and service announcements
//! (essential notices under the contract), written by ADMIN and sent to each account once.
//!
//! Three pure parts: the parsed text of a campaign ([`Subject`], [`Text`], and
//! [`CampaignKind::id`], the campaign's id derived from its kind and text, so that sending
//! the same campaign again queues nobody twice); the audience decision ([`audience`]); and
//! the one-click unsubscribe token ([`unsubscribe`]).

pub mod audience;
pub mod unsubscribe;

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignKind {
    /// News about IceCone's products: marketing, sent only to accounts whose `MARKETING`
    /// consent counts now, with a one-click unsubscribe.
    ProductNews,
    /// An essential notice about the service (terms, outages, security): sent under the
    /// contract (`SERVICE_PROVISION`), with no unsubscribe, never to restricted accounts.
    ServiceAnnouncement,
}

impl CampaignKind {
    /// Every kind.
    pub const ALL: [Self; 2] = [Self::ProductNews, Self::ServiceAnnouncement];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductNews => "product_news",
            Self::ServiceAnnouncement => "service_announcement",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The id of the campaign of this kind with this subject and text: the first 16 bytes
    /// of `SHA-256(kind NUL subject NUL text)` as a UUID (version 8). The same campaign
    /// sent again — a retried request, a second click — is the same campaign, and its
    /// recipients are queued once.
    pub fn id(self, subject: &Subject, text: &Text) -> Uuid {
        let mut digest = Sha256::new();
        for part in [self.as_str(), subject.as_str(), text.as_str()] {
            digest.update(part.as_bytes());
            digest.update([0]);
        }
        let bytes: [u8; 32] = digest.finalize().into();
        let mut first = [0u8; 16];
        first.copy_from_slice(&bytes[..16]);
        uuid::Builder::from_custom_bytes(first).into_uuid()
    }
}

/// The longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Why a campaign's subject or text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CampaignTextError {
    /// Blank.
    #[error("must not be blank")]
    Blank,
    /// Longer than allowed.
    #[error("is too long (at most {0} characters)")]
    TooLong(usize),
    /// A control character (a subject is one line; a text has lines and tabs only).
    #[error("contains a control character")]
    ControlCharacter,
}

/// A campaign's subject line: 1 to [`MAX_SUBJECT_CHARS`] characters on one line, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// Parses a subject.
    pub fn parse(text: &str) -> Result<Self, CampaignTextError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CampaignTextError::Blank);
        }
        if text.chars().count() > MAX_SUBJECT_CHARS {
            return Err(CampaignTextError::TooLong(MAX_SUBJECT_CHARS));
        }
        if text.chars().any(char::is_control) {
            return Err(CampaignTextError::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    /// The subject.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A campaign's text: 1 to [`MAX_TEXT_CHARS`] characters, paragraphs separated by blank
/// lines; line ends normalised to `\n`, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// Parses a text.
    pub fn parse(text: &str) -> Result<Self, CampaignTextError> {
        let text = text.replace("\r\n", "\n");
        let text = text.trim();
        if text.is_empty() {
            return Err(CampaignTextError::Blank);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(CampaignTextError::TooLong(MAX_TEXT_CHARS));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(CampaignTextError::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its paragraphs (split at blank lines), each trimmed, none empty.
    pub fn paragraphs(&self) -> impl Iterator<Item = &str> {
        paragraphs(&self.0)
    }
}

/// The paragraphs of a stored campaign text (split at blank lines).
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_texts_parse_or_say_why_not() {
        let long_subject = "s".repeat(MAX_SUBJECT_CHARS + 1);
        let cases: &[(&str, Result<&str, CampaignTextError>)] = &[
            ("  New models  ", Ok("New models")),
            ("", Err(CampaignTextError::Blank)),
            ("   ", Err(CampaignTextError::Blank)),
            ("two\nlines", Err(CampaignTextError::ControlCharacter)),
            ("bell\u{7}", Err(CampaignTextError::ControlCharacter)),
            (
                &long_subject,
                Err(CampaignTextError::TooLong(MAX_SUBJECT_CHARS)),
            ),
        ];
        for (input, expected) in cases {
            let got = Subject::parse(input);
            assert_eq!(
                got.as_ref().map(Subject::as_str),
                expected.as_ref().copied(),
                "{input:?}"
            );
        }
        let long_text = "t".repeat(MAX_TEXT_CHARS + 1);
        let cases: &[(&str, Result<&str, CampaignTextError>)] = &[
            ("one\r\n\r\ntwo\t", Ok("one\n\ntwo")),
            ("\n\n", Err(CampaignTextError::Blank)),
            ("nul\0", Err(CampaignTextError::ControlCharacter)),
            (&long_text, Err(CampaignTextError::TooLong(MAX_TEXT_CHARS))),
        ];
        for (input, expected) in cases {
            let got = Text::parse(input);
            assert_eq!(
                got.as_ref().map(Text::as_str),
                expected.as_ref().copied(),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_text_splits_into_its_paragraphs() {
        let text =
            Text::parse("First line\nsame paragraph\n\n\n  Second  \n\nThird").expect("text");
        assert_eq!(
            text.paragraphs().collect::<Vec<_>>(),
            ["First line\nsame paragraph", "Second", "Third"]
        );
    }

    #[test]
    fn a_campaign_id_is_the_same_for_the_same_kind_and_text_and_differs_otherwise() {
        let subject = Subject::parse("News").expect("subject");
        let other_subject = Subject::parse("News!").expect("subject");
        let text = Text::parse("Hello").expect("text");
        let other_text = Text::parse("Hello.").expect("text");
        let id = CampaignKind::ProductNews.id(&subject, &text);
        assert_eq!(id, CampaignKind::ProductNews.id(&subject, &text));
        for different in [
            CampaignKind::ServiceAnnouncement.id(&subject, &text),
            CampaignKind::ProductNews.id(&other_subject, &text),
            CampaignKind::ProductNews.id(&subject, &other_text),
        ] {
            assert_ne!(id, different);
        }
        // The separator keeps "ab" + "c" apart from "a" + "bc".
        let ab = CampaignKind::ProductNews.id(
            &Subject::parse("ab").expect("subject"),
            &Text::parse("c").expect("text"),
        );
        let a = CampaignKind::ProductNews.id(
            &Subject::parse("a").expect("subject"),
            &Text::parse("bc").expect("text"),
        );
        assert_ne!(ab, a);
        assert_eq!(id.get_version_num(), 8);
    }

    #[test]
    fn kinds_round_trip() {
        for kind in CampaignKind::ALL {
            assert_eq!(CampaignKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(CampaignKind::parse("PRODUCT_NEWS"), None);
    }
}
