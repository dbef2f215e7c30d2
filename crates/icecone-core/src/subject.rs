//! Data subjects: the people IceCone holds data about.

use std::fmt;

/// The id of a data subject. Every row of personal data names one; it binds ciphertexts to
/// their person and selects the person's data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubjectId(uuid::Uuid);

impl SubjectId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// The id held by a UUID.
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// Parses the hyphenated text form.
    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::try_parse(text).ok().map(Self)
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_id_round_trips_through_its_text_form() {
        let id = SubjectId::new_random();
        assert_eq!(SubjectId::parse(&id.to_string()), Some(id));
        assert_eq!(SubjectId::parse("not-a-uuid"), None);
        assert_ne!(SubjectId::new_random(), SubjectId::new_random());
    }
}
