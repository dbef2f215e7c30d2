//! The person's own identifiers: their e-mail address and display name, found as whole
//! words (no letter or digit right before or after), in any letter case, with any run of
//! white space where the name has a space.

use std::fmt;

use zeroize::Zeroizing;

use super::{Finding, RedactionKind};

/// The identifiers of the person whose prompt is minimised.
///
/// Its `Debug` output says which identifiers it holds, never them; they are wiped when it
/// is dropped.
#[derive(Default)]
pub struct OwnIdentifiers {
    /// (kind, lower-case form with single spaces)
    needles: Vec<(RedactionKind, Zeroizing<Vec<char>>)>,
}

impl fmt::Debug for OwnIdentifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = self.needles.iter().map(|(kind, _)| kind.as_str()).collect();
        f.debug_struct("OwnIdentifiers")
            .field("kinds", &kinds)
            .finish()
    }
}

/// The lower-case characters of `text`, runs of white space made one space; `None` when it
/// has fewer than two letters or digits (a one-letter name would match every such word).
fn needle(text: &str) -> Option<Zeroizing<Vec<char>>> {
    let mut chars = Vec::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !chars.is_empty() {
            chars.push(' ');
        }
        chars.extend(word.chars().flat_map(char::to_lowercase));
    }
    let letters = chars.iter().filter(|c| c.is_alphanumeric()).count();
    (letters >= 2).then(|| Zeroizing::new(chars))
}

impl OwnIdentifiers {
    /// The person's e-mail address and display name, where they have them.
    pub fn new(email: Option<&str>, display_name: Option<&str>) -> Self {
        let needles = [
            (RedactionKind::Email, email),
            (RedactionKind::Name, display_name),
        ]
        .into_iter()
        .filter_map(|(kind, text)| text.and_then(needle).map(|needle| (kind, needle)))
        .collect();
        Self { needles }
    }

    /// What [`OwnIdentifiers::new`] is given for a person of whom nothing is known.
    pub fn none() -> Self {
        Self::default()
    }

    /// Appends every whole-word occurrence of the identifiers in `text` to `findings`.
    pub(super) fn find(&self, text: &str, findings: &mut Vec<Finding>) {
        for (kind, needle) in &self.needles {
            let Some(&first) = needle.first() else {
                continue;
            };
            let bytes = text.as_bytes();
            let mut previous_alphanumeric = false;
            for (start, c) in text.char_indices() {
                let word_start = !previous_alphanumeric;
                let byte = bytes[start];
                previous_alphanumeric = if byte.is_ascii() {
                    byte.is_ascii_alphanumeric()
                } else {
                    c.is_alphanumeric()
                };
                if !word_start {
                    continue;
                }
                let lower = if byte.is_ascii() {
                    Some(char::from(byte.to_ascii_lowercase()))
                } else {
                    c.to_lowercase().next()
                };
                if lower != Some(first) {
                    continue;
                }
                if let Some(end) = match_at(text, start, needle)
                    && text[end..]
                        .chars()
                        .next()
                        .is_none_or(|n| !n.is_alphanumeric())
                {
                    findings.push(Finding {
                        start,
                        end,
                        kind: *kind,
                    });
                }
            }
        }
    }
}

/// Where `needle` ends when it is written at `start` of `text`, in any case and spacing.
fn match_at(text: &str, start: usize, needle: &[char]) -> Option<usize> {
    let mut wanted = needle.iter().peekable();
    let mut chars = text[start..].char_indices().peekable();
    while let Some(&want) = wanted.peek() {
        let (_, c) = chars.next()?;
        if *want == ' ' {
            if !c.is_whitespace() {
                return None;
            }
            while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                chars.next();
            }
            wanted.next();
            continue;
        }
        for lower in c.to_lowercase() {
            if wanted.next() != Some(&lower) {
                return None;
            }
        }
    }
    Some(chars.peek().map_or(text.len(), |(i, _)| start + i))
}
