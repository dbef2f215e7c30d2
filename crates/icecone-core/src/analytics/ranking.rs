//! Providers ranked per kind of generation from people's ratings — "improve our
//! algorithms", as IceCone means it: nothing is trained, and the only thing ratings change
//! is which compliant provider is tried first when a person names none.
//!
//! Ratings count only in aggregate: each person is one vote per kind and provider (good if
//! most of their ratings of it are good), and a provider is ranked for a kind only once at
//! least [`MinGroup`] people have voted on it. Ranked providers come first, best first
//! (by the lower bound of the Wilson score interval of the share of good votes, so a few
//! enthusiastic votes do not beat many steady ones); unranked providers keep their order.

use std::collections::BTreeMap;

use super::MinGroup;
use crate::generation::GenerationKind;
use crate::provider::ProviderId;

/// A rating of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rating {
    /// The output was good.
    Good,
    /// The output was bad.
    Bad,
}

impl Rating {
    /// The stable name (stored, and the API's enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "GOOD",
            Self::Bad => "BAD",
        }
    }

    /// The rating named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Good, Self::Bad]
            .into_iter()
            .find(|rating| rating.as_str() == text)
    }
}

/// One person's ratings of one provider for one kind: how many good, how many bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRatings {
    /// The kind rated.
    pub kind: GenerationKind,
    /// The provider rated.
    pub provider: ProviderId,
    /// Good ratings.
    pub good: u64,
    /// Bad ratings.
    pub bad: u64,
}

impl PersonRatings {
    /// The person's vote: good when most of their ratings are good (a tie is half).
    fn vote(&self) -> f64 {
        match self.good.cmp(&self.bad) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Less => 0.0,
            std::cmp::Ordering::Equal => 0.5,
        }
    }
}

/// The providers of each kind that enough people rated, best first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranking {
    by_kind: BTreeMap<GenerationKind, Vec<ProviderId>>,
}

impl Ranking {
    /// The ranked providers of `kind`, best first.
    pub fn of(&self, kind: GenerationKind) -> &[ProviderId] {
        self.by_kind.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// `candidates` (a default order) reordered: the providers ranked for `kind` first,
    /// best first, then the others in their order. Nothing is added or removed.
    pub fn order<'a, T>(
        &self,
        kind: GenerationKind,
        candidates: &mut [T],
        id: impl Fn(&T) -> &'a ProviderId,
    ) {
        let ranked = self.of(kind);
        if ranked.is_empty() {
            return;
        }
        candidates.sort_by_key(|candidate| {
            let own = id(candidate);
            ranked
                .iter()
                .position(|provider| provider == own)
                .unwrap_or(ranked.len())
        });
    }
}

/// The ranking made from every person's ratings (one [`PersonRatings`] per person, kind
/// and provider; who the person is does not matter and is not given).
pub fn rank(ratings: &[PersonRatings], min_group: MinGroup) -> Ranking {
    let mut votes: BTreeMap<(GenerationKind, &ProviderId), (usize, f64)> = BTreeMap::new();
    for person in ratings {
        if person.good + person.bad == 0 {
            continue;
        }
        let entry = votes.entry((person.kind, &person.provider)).or_default();
        entry.0 += 1;
        entry.1 += person.vote();
    }
    let mut scored: BTreeMap<GenerationKind, Vec<(f64, &ProviderId)>> = BTreeMap::new();
    for ((kind, provider), (people, good)) in votes {
        if min_group.admits(people) {
            scored
                .entry(kind)
                .or_default()
                .push((wilson_lower_bound(good, people as f64), provider));
        }
    }
    let by_kind = scored
        .into_iter()
        .map(|(kind, mut providers)| {
            providers.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
            (
                kind,
                providers.into_iter().map(|(_, id)| id.clone()).collect(),
            )
        })
        .collect();
    Ranking { by_kind }
}

/// The lower bound of the 95 % Wilson score interval of `good` successes in `n`.
fn wilson_lower_bound(good: f64, n: f64) -> f64 {
    const Z: f64 = 1.96;
    let share = good / n;
    let z2 = Z * Z;
    (share + z2 / (2.0 * n) - Z * ((share * (1.0 - share) + z2 / (4.0 * n)) / n).sqrt())
        / (1.0 + z2 / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use GenerationKind::{Image, Text};

    fn id(text: &str) -> ProviderId {
        ProviderId::parse(text).unwrap_or_else(|_| unreachable!("{text}"))
    }

    /// `people` people voting on `provider` for `kind`, `good` of them good.
    fn voters(kind: GenerationKind, provider: &str, people: u64, good: u64) -> Vec<PersonRatings> {
        (0..people)
            .map(|i| PersonRatings {
                kind,
                provider: id(provider),
                good: u64::from(i < good),
                bad: u64::from(i >= good),
            })
            .collect()
    }

    fn k(people: u32) -> MinGroup {
        MinGroup::new(people).unwrap_or_default()
    }

    #[test]
    fn providers_are_ranked_per_kind_only_from_k_people() {
        // (case, ratings, expected text ranking)
        let table: Vec<(&str, Vec<PersonRatings>, Vec<&str>)> = vec![
            ("no ratings", vec![], vec![]),
            ("k - 1 people", voters(Text, "openai", 4, 4), vec![]),
            ("k people", voters(Text, "openai", 5, 5), vec!["openai"]),
            (
                "better share first",
                [voters(Text, "openai", 10, 3), voters(Text, "local", 10, 9)].concat(),
                vec!["local", "openai"],
            ),
            (
                "many steady votes beat a few enthusiastic ones",
                [
                    voters(Text, "openai", 5, 5),
                    voters(Text, "local", 200, 190),
                ]
                .concat(),
                vec!["local", "openai"],
            ),
            (
                "a provider below k is not ranked",
                [voters(Text, "openai", 4, 0), voters(Text, "local", 6, 6)].concat(),
                vec!["local"],
            ),
            (
                "another kind's votes do not count",
                voters(Image, "openai", 50, 50),
                vec![],
            ),
            (
                "equal scores by id",
                [voters(Text, "openai", 10, 5), voters(Text, "local", 10, 5)].concat(),
                vec!["local", "openai"],
            ),
        ];
        for (case, ratings, expected) in table {
            let ranking = rank(&ratings, k(5));
            let got: Vec<&str> = ranking.of(Text).iter().map(ProviderId::as_str).collect();
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn one_person_is_one_vote_however_often_they_rate() {
        let mut ratings = voters(Text, "local", 6, 6);
        ratings.extend(voters(Text, "openai", 6, 5));
        // One person rating `openai` good a thousand times is still one vote.
        ratings[6].good = 1_000;
        let ranking = rank(&ratings, k(5));
        assert_eq!(ranking.of(Text), [id("local"), id("openai")]);
    }

    #[test]
    fn ordering_puts_ranked_providers_first_and_keeps_the_rest_in_order() {
        let ratings = [voters(Text, "b", 10, 10), voters(Text, "d", 10, 2)].concat();
        let ranking = rank(&ratings, k(5));
        // Candidates as positions in a list, as the router holds them.
        let ids = [id("a"), id("c"), id("d"), id("b")];
        let mut candidates = vec![0, 1, 2, 3];
        ranking.order(Text, &mut candidates, |&i| &ids[i]);
        assert_eq!(candidates, [3, 2, 0, 1]);
        let mut images = vec![1, 0];
        ranking.order(Image, &mut images, |&i| &ids[i]);
        assert_eq!(images, [1, 0], "no ranking, no change");
    }

    #[test]
    fn ratings_round_trip() {
        for rating in [Rating::Good, Rating::Bad] {
            assert_eq!(Rating::parse(rating.as_str()), Some(rating));
        }
        assert_eq!(Rating::parse("good"), None);
    }
}
