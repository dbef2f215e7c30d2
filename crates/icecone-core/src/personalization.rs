//! Personalisation: a profile derived from a person's own generation history, computed when
//! asked for and never kept — so withdrawing consent leaves nothing behind to delete.

use std::collections::HashMap;

use crate::generation::GenerationKind;
use crate::provider::ProviderId;

/// One past generation, as personalisation sees it.
#[derive(Debug, Clone, Copy)]
pub struct PastGeneration<'a> {
    /// What it produced.
    pub kind: GenerationKind,
    /// The provider that produced it.
    pub provider: &'a ProviderId,
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
    pub preferred_providers: Vec<ProviderId>,
}

/// How many prompts are suggested.
pub const SUGGESTED_PROMPTS: usize = 5;

/// Derives the profile from `history`, newest first. Ties keep a stable order: kinds by
/// their declaration order, providers by id.
pub fn derive(history: &[PastGeneration<'_>]) -> Profile {
    let mut kinds: HashMap<GenerationKind, usize> = HashMap::new();
    let mut providers: HashMap<&ProviderId, usize> = HashMap::new();
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
        preferred_providers: providers.into_iter().map(|(id, _)| id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GenerationKind::{Image, Text, Video};

    fn id(text: &str) -> ProviderId {
        ProviderId::parse(text).expect("provider id")
    }

    fn check(history: &[(GenerationKind, &str, &str)], expected: Profile) {
        let providers: Vec<ProviderId> = history
            .iter()
            .map(|(_, provider, _)| id(provider))
            .collect();
        let past: Vec<PastGeneration<'_>> = history
            .iter()
            .zip(&providers)
            .map(|(&(kind, _, prompt), provider)| PastGeneration {
                kind,
                provider,
                prompt,
            })
            .collect();
        assert_eq!(derive(&past), expected, "{history:?}");
    }

    #[test]
    fn profiles_rank_by_use_and_suggest_recent_distinct_prompts() {
        check(&[], Profile::default());
        check(
            &[
                (Image, "openai", "a red fox"),
                (Text, "local", "a haiku"),
                (Image, "local", " a red fox "),
                (Video, "runway", ""),
            ],
            Profile {
                favourite_kinds: vec![Image, Text, Video],
                suggested_prompts: vec!["a red fox".to_owned(), "a haiku".to_owned()],
                preferred_providers: vec![id("local"), id("openai"), id("runway")],
            },
        );
        check(
            &[
                (Text, "b", "1"),
                (Text, "a", "2"),
                (Text, "a", "3"),
                (Text, "a", "4"),
                (Text, "a", "5"),
                (Text, "a", "6"),
                (Text, "a", "7"),
            ],
            Profile {
                favourite_kinds: vec![Text],
                suggested_prompts: ["1", "2", "3", "4", "5"].map(str::to_owned).to_vec(),
                preferred_providers: vec![id("a"), id("b")],
            },
        );
    }
}
