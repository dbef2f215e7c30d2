//! Personalisation: a profile derived from a person's own generation history, computed when
//! asked for and never kept — so withdrawing consent leaves nothing behind to delete.

use std::collections::HashMap;

/// What a generation produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GenerationKind {
    /// Text.
    Text,
    /// An image.
    Image,
    /// A video.
    Video,
}

/// One past generation, as personalisation sees it.
#[derive(Debug, Clone, Copy)]
pub struct PastGeneration<'a> {
    /// What it produced.
    pub kind: GenerationKind,
    /// The provider that produced it.
    pub provider: &'a str,
    /// Its prompt.
    pub prompt: &'a str,
}

/// The derived profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Kinds, most used first.
    pub favourite_kinds: Vec<GenerationKind>,
    /// Recent distinct prompts to start from, newest first.
    pub suggested_prompts: Vec<String>,
    /// Providers, most used first.
    pub preferred_providers: Vec<String>,
}

/// How many prompts are suggested.
pub const SUGGESTED_PROMPTS: usize = 5;

/// Derives the profile from `history`, newest first. Ties keep a stable order: kinds by
/// their declaration order, providers by id.
pub fn derive(history: &[PastGeneration<'_>]) -> Profile {
    let mut kinds: HashMap<GenerationKind, usize> = HashMap::new();
    let mut providers: HashMap<&str, usize> = HashMap::new();
    let mut prompts: Vec<String> = Vec::new();
    for past in history {
        *kinds.entry(past.kind).or_default() += 1;
        *providers.entry(past.provider).or_default() += 1;
        let prompt = past.prompt.trim();
        if prompts.len() < SUGGESTED_PROMPTS
            && !prompt.is_empty()
            && !prompts.iter().any(|p| p == prompt)
        {
            prompts.push(prompt.to_owned());
        }
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut providers: Vec<_> = providers.into_iter().collect();
    providers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Profile {
        favourite_kinds: kinds.into_iter().map(|(kind, _)| kind).collect(),
        suggested_prompts: prompts,
        preferred_providers: providers.into_iter().map(|(id, _)| id.to_owned()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GenerationKind::{Image, Text, Video};

    fn past(
        kind: GenerationKind,
        provider: &'static str,
        prompt: &'static str,
    ) -> PastGeneration<'static> {
        PastGeneration {
            kind,
            provider,
            prompt,
        }
    }

    #[test]
    fn profiles_rank_by_use_and_suggest_recent_distinct_prompts() {
        let cases: [(&[PastGeneration<'static>], Profile); 3] = [
            (&[], Profile::default()),
            (
                &[
                    past(Image, "openai", "a red fox"),
                    past(Text, "local", "a haiku"),
                    past(Image, "local", " a red fox "),
                    past(Video, "runway", ""),
                ],
                Profile {
                    favourite_kinds: vec![Image, Text, Video],
                    suggested_prompts: vec!["a red fox".to_owned(), "a haiku".to_owned()],
                    preferred_providers: vec![
                        "local".to_owned(),
                        "openai".to_owned(),
                        "runway".to_owned(),
                    ],
                },
            ),
            (
                &[
                    past(Text, "b", "1"),
                    past(Text, "a", "2"),
                    past(Text, "a", "3"),
                    past(Text, "a", "4"),
                    past(Text, "a", "5"),
                    past(Text, "a", "6"),
                    past(Text, "a", "7"),
                ],
                Profile {
                    favourite_kinds: vec![Text],
                    suggested_prompts: ["1", "2", "3", "4", "5"].map(str::to_owned).to_vec(),
                    preferred_providers: vec!["a".to_owned(), "b".to_owned()],
                },
            ),
        ];
        for (history, expected) in cases {
            assert_eq!(derive(history), expected, "{history:?}");
        }
    }
}
