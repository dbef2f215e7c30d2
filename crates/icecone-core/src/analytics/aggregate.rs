//! A day's raw events made into the cells staff may read.
//!
//! For every [`Metric`] and every grouping of its dimensions ([`Metric::groupings`]), the
//! events are grouped into cells; each cell counts its events and its distinct people
//! (people are the day's pseudonyms, numbered by the caller: nothing here knows who they
//! are) and makes the metric's value (a count, a rate, a latency percentile).
//!
//! **Suppression.** A cell of fewer than [`MinGroup`] distinct people is suppressed: no
//! value, no number of people. A rate needs that many people on each side (successes and
//! failures), so that a rate times a published count cannot give back a suppressed one.
//! Suppression is then completed against differencing: a cell and its children (the cells
//! of the grouping with one dimension more that fall inside it) add up, so under every
//! published cell no suppressed child may be alone (it would be its parent minus its
//! published siblings), and the suppressed children, taken together, must describe at
//! least [`MinGroup`] people. While that does not hold, the published child with the
//! fewest people is suppressed too, until nothing changes in any grouping; every line of a
//! table then holds no suppressed cell or at least two. Lines alone do not protect a table
//! of three dimensions, so an attacker is then run on the result: knowing every published
//! cell, it derives every cell it can by adding and subtracting related cells; while it
//! derives one below the threshold, a published cell of the relation it used is
//! suppressed as well.
//!
//! **Noise.** With a budget ([`Epsilon`]), every published count and number of people gets
//! Laplace noise (see [`super::noise`]); rates and percentiles are published under
//! suppression alone. Before anything is counted, one person's events beyond
//! [`MAX_EVENTS_PER_PERSON`] per metric are dropped, which bounds what one person can move.

use std::collections::{BTreeMap, BTreeSet};

use super::noise::{Epsilon, MAX_EVENTS_PER_PERSON, noisy_count, scale};
use super::{Dimension, EventKind, LatencyBucket, Measure, Metric, MinGroup};
use crate::generation::GenerationKind;
use crate::rights::DataRequestKind;

/// The value of a dimension an event does not have (a failure before any provider).
pub const NONE: &str = "NONE";

/// One raw event of the day, as the aggregation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// The person, as a number the caller gave the day's pseudonym.
    pub person: u32,
    /// What happened.
    pub kind: EventKind,
    /// The kind of generation, for generation and quota events.
    pub generation: Option<GenerationKind>,
    /// The provider, for generation outcomes.
    pub provider: Option<String>,
    /// The latency of a success, in milliseconds (rounded to ten).
    pub latency_ms: Option<u32>,
    /// The right exercised.
    pub right: Option<DataRequestKind>,
}

impl RawEvent {
    /// The event's value of `dimension` ([`NONE`] when it has none).
    pub fn value(&self, dimension: Dimension) -> String {
        let value = match dimension {
            Dimension::Kind => self.generation.map(|kind| kind.as_str().to_owned()),
            Dimension::Provider => self.provider.clone(),
            Dimension::Latency => self
                .latency_ms
                .map(|millis| LatencyBucket::of_millis(millis).as_str().to_owned()),
            Dimension::Right => self.right.map(|right| right.as_str().to_owned()),
        };
        value.unwrap_or_else(|| NONE.to_owned())
    }
}

/// A cell as published.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The metric.
    pub metric: Metric,
    /// The dimensions it is grouped by (sorted; empty for the day's total).
    pub grouping: Vec<Dimension>,
    /// The value of each dimension of the grouping, in its order.
    pub coordinates: Vec<String>,
    /// Distinct people (noisy with a budget); `None` when suppressed.
    pub people: Option<u64>,
    /// The metric's value (a count noisy with a budget); `None` when suppressed.
    pub value: Option<f64>,
}

impl Cell {
    /// Whether it is suppressed.
    pub fn suppressed(&self) -> bool {
        self.value.is_none()
    }
}

/// How a day is aggregated.
pub struct Options<'a> {
    /// The smallest group a cell may describe.
    pub min_group: MinGroup,
    /// Differential privacy: the budget of each metric for the day, and the uniform source
    /// of its noise. `None`: exact counts, under suppression alone.
    pub noise: Option<(Epsilon, &'a mut dyn FnMut() -> f64)>,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("min_group", &self.min_group)
            .field("noise", &self.noise.as_ref().map(|(epsilon, _)| *epsilon))
            .finish()
    }
}

/// A cell while it is being decided.
#[derive(Debug)]
struct Draft<'e> {
    coordinates: Vec<String>,
    /// The distinct people on each side: one set, or two for a rate.
    people: Vec<BTreeSet<u32>>,
    events: Vec<&'e RawEvent>,
    /// Fewer people than the threshold on some side: what must never be shown or derived.
    below_threshold: bool,
    suppressed: bool,
}

impl Draft<'_> {
    fn everyone(&self) -> usize {
        self.people.iter().flatten().collect::<BTreeSet<_>>().len()
    }
}

/// Every cell of every metric for one day's `events`.
pub fn aggregate(events: &[RawEvent], options: Options<'_>) -> Vec<Cell> {
    let Options {
        min_group,
        mut noise,
    } = options;
    let mut cells = Vec::new();
    for metric in Metric::ALL {
        let events = bounded(events, metric);
        let groupings = metric.groupings();
        let mut drafts: Vec<Vec<Draft<'_>>> = groupings
            .iter()
            .map(|grouping| draft(&events, metric, grouping, min_group))
            .collect();
        complete_suppression(&groupings, &mut drafts, min_group);
        let releases = groupings.len()
            * match metric.measure() {
                Measure::Count => 2,
                Measure::Rate | Measure::Percentile(_) => 1,
            };
        for (grouping, drafts) in groupings.iter().zip(drafts) {
            for draft in drafts {
                let (people, value) = if draft.suppressed {
                    (None, None)
                } else {
                    let people = draft.everyone() as u64;
                    let value = value_of(metric, &draft.events);
                    match noise.as_mut() {
                        None => (Some(people), Some(value)),
                        Some((budget, uniform)) => {
                            let scale = scale(*budget, releases);
                            let people = noisy_count(people, scale, &mut **uniform);
                            let value = match metric.measure() {
                                Measure::Count => {
                                    let count =
                                        u64::try_from(draft.events.len()).unwrap_or(u64::MAX);
                                    noisy_count(count, scale, &mut **uniform) as f64
                                }
                                Measure::Rate | Measure::Percentile(_) => value,
                            };
                            (Some(people), Some(value))
                        }
                    }
                };
                cells.push(Cell {
                    metric,
                    grouping: grouping.clone(),
                    coordinates: draft.coordinates,
                    people,
                    value,
                });
            }
        }
    }
    cells
}

/// The events `metric` reads, at most [`MAX_EVENTS_PER_PERSON`] of each person (the first
/// ones, in the order given).
fn bounded(events: &[RawEvent], metric: Metric) -> Vec<&RawEvent> {
    let mut taken: BTreeMap<u32, u32> = BTreeMap::new();
    events
        .iter()
        .filter(|event| metric.events().contains(&event.kind))
        .filter(|event| {
            let count = taken.entry(event.person).or_default();
            *count += 1;
            *count <= MAX_EVENTS_PER_PERSON
        })
        .collect()
}

/// The cells of one grouping, each suppressed when one of its sides has too few people.
fn draft<'e>(
    events: &[&'e RawEvent],
    metric: Metric,
    grouping: &[Dimension],
    min_group: MinGroup,
) -> Vec<Draft<'e>> {
    let sides = metric.events();
    let mut cells: BTreeMap<Vec<String>, Draft<'e>> = BTreeMap::new();
    for event in events {
        let coordinates: Vec<String> = grouping.iter().map(|d| event.value(*d)).collect();
        let cell = cells.entry(coordinates.clone()).or_insert_with(|| Draft {
            coordinates,
            people: vec![BTreeSet::new(); sides.len()],
            events: Vec::new(),
            below_threshold: false,
            suppressed: false,
        });
        if let Some(side) = sides.iter().position(|kind| *kind == event.kind) {
            cell.people[side].insert(event.person);
        }
        cell.events.push(event);
    }
    cells
        .into_values()
        .map(|mut cell| {
            cell.below_threshold = !cell.people.iter().all(|side| min_group.admits(side.len()));
            cell.suppressed = cell.below_threshold;
            cell
        })
        .collect()
}

/// Suppresses more cells until, under every published cell, no suppressed child is alone
/// and the suppressed children together describe at least `min_group` people on every
/// side; then, while a differencing attacker ([`attack`]) still derives a cell below the
/// threshold, suppresses a published cell of the relation it used.
fn complete_suppression(
    groupings: &[Vec<Dimension>],
    drafts: &mut [Vec<Draft<'_>>],
    min_group: MinGroup,
) {
    complete_lines(groupings, drafts, min_group);
    let relations = relations(groupings, drafts);
    while let Some((relation, target)) = attack(&relations, drafts) {
        let candidates = relation.iter().copied().filter(|&cell| cell != target);
        let all = (0..drafts.len()).flat_map(|g| (0..drafts[g].len()).map(move |c| (g, c)));
        let published = |cells: &mut dyn Iterator<Item = (usize, usize)>| {
            cells
                .filter(|&(g, c)| !drafts[g][c].suppressed)
                .min_by_key(|&(g, c)| (drafts[g][c].everyone(), g, c))
        };
        let Some((g, c)) =
            published(&mut candidates.into_iter()).or_else(|| published(&mut all.into_iter()))
        else {
            return;
        };
        drafts[g][c].suppressed = true;
    }
}

/// A cell and its children in the grouping with one dimension more: the cell's value is
/// the sum of theirs. Cells are `(grouping, index)`; the parent is first.
type Relation = Vec<(usize, usize)>;

fn relations(groupings: &[Vec<Dimension>], drafts: &[Vec<Draft<'_>>]) -> Vec<Relation> {
    let mut relations = Vec::new();
    for parent in 0..groupings.len() {
        for child in 0..groupings.len() {
            let Some(position) = extra_dimension(&groupings[parent], &groupings[child]) else {
                continue;
            };
            for p in 0..drafts[parent].len() {
                let mut relation = vec![(parent, p)];
                relation.extend((0..drafts[child].len()).filter_map(|c| {
                    let mut own = drafts[child][c].coordinates.clone();
                    own.remove(position);
                    (own == drafts[parent][p].coordinates).then_some((child, c))
                }));
                relations.push(relation);
            }
        }
    }
    relations
}

/// A differencing attacker who knows every published cell: while some relation has
/// exactly one unknown cell, it derives it (a child as its parent minus its siblings, a
/// parent as the sum of its children). Answers the first cell below the threshold it
/// derives, with the relation it used.
fn attack(relations: &[Relation], drafts: &[Vec<Draft<'_>>]) -> Option<(Relation, (usize, usize))> {
    let mut known: Vec<Vec<bool>> = drafts
        .iter()
        .map(|cells| cells.iter().map(|cell| !cell.suppressed).collect())
        .collect();
    loop {
        let mut derived = false;
        for relation in relations {
            let unknown: Vec<(usize, usize)> = relation
                .iter()
                .copied()
                .filter(|&(g, c)| !known[g][c])
                .collect();
            if let [(g, c)] = unknown[..] {
                if drafts[g][c].below_threshold {
                    return Some((relation.clone(), (g, c)));
                }
                known[g][c] = true;
                derived = true;
            }
        }
        if !derived {
            return None;
        }
    }
}

/// The first completion: lines of a table hold no suppressed cell or at least two, which
/// together describe at least `min_group` people.
fn complete_lines(
    groupings: &[Vec<Dimension>],
    drafts: &mut [Vec<Draft<'_>>],
    min_group: MinGroup,
) {
    loop {
        let mut changed = false;
        for parent in 0..groupings.len() {
            for child in 0..groupings.len() {
                let Some(position) = extra_dimension(&groupings[parent], &groupings[child]) else {
                    continue;
                };
                for p in 0..drafts[parent].len() {
                    if drafts[parent][p].suppressed {
                        continue;
                    }
                    let coordinates = drafts[parent][p].coordinates.clone();
                    let children: Vec<usize> = (0..drafts[child].len())
                        .filter(|&c| {
                            let mut own = drafts[child][c].coordinates.clone();
                            own.remove(position);
                            own == coordinates
                        })
                        .collect();
                    if suppress_one_more(&mut drafts[child], &children, min_group) {
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Where `child` has the one dimension `parent` lacks, if it is `parent` plus one.
fn extra_dimension(parent: &[Dimension], child: &[Dimension]) -> Option<usize> {
    if child.len() != parent.len() + 1 || !parent.iter().all(|d| child.contains(d)) {
        return None;
    }
    child.iter().position(|d| !parent.contains(d))
}

/// Among `children` of one published cell: if one alone is suppressed, or the suppressed
/// ones together describe too few people on some side, suppresses the published one with
/// the fewest people.
fn suppress_one_more(cells: &mut [Draft<'_>], children: &[usize], min_group: MinGroup) -> bool {
    let suppressed: Vec<usize> = children
        .iter()
        .copied()
        .filter(|&c| cells[c].suppressed)
        .collect();
    if suppressed.is_empty() {
        return false;
    }
    let sides = cells[suppressed[0]].people.len();
    let exposed = suppressed.len() == 1
        || (0..sides).any(|side| {
            let together: BTreeSet<u32> = suppressed
                .iter()
                .flat_map(|&c| cells[c].people[side].iter().copied())
                .collect();
            !min_group.admits(together.len())
        });
    if !exposed {
        return false;
    }
    let next = children
        .iter()
        .copied()
        .filter(|&c| !cells[c].suppressed)
        .min_by_key(|&c| (cells[c].everyone(), cells[c].coordinates.clone()));
    match next {
        Some(c) => {
            cells[c].suppressed = true;
            true
        }
        None => false,
    }
}

/// The metric's value of a published cell's events.
fn value_of(metric: Metric, events: &[&RawEvent]) -> f64 {
    match metric.measure() {
        Measure::Count => events.len() as f64,
        Measure::Rate => {
            let measured = metric.events().last().copied();
            let hits = events.iter().filter(|e| Some(e.kind) == measured).count();
            hits as f64 / events.len().max(1) as f64
        }
        Measure::Percentile(p) => {
            let mut latencies: Vec<u32> = events.iter().filter_map(|e| e.latency_ms).collect();
            latencies.sort_unstable();
            percentile(&latencies, p)
        }
    }
}

/// The nearest-rank percentile `p` of sorted `values` (0 for none).
fn percentile(values: &[u32], p: u8) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let rank = (usize::from(p) * values.len()).div_ceil(100);
    f64::from(values[rank.clamp(1, values.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(people: u32) -> MinGroup {
        MinGroup::new(people).unwrap_or_default()
    }

    fn exact(min_group: MinGroup) -> Options<'static> {
        Options {
            min_group,
            noise: None,
        }
    }

    fn success(person: u32, kind: GenerationKind, provider: &str, latency_ms: u32) -> RawEvent {
        RawEvent {
            person,
            kind: EventKind::GenerationSucceeded,
            generation: Some(kind),
            provider: Some(provider.to_owned()),
            latency_ms: Some(latency_ms),
            right: None,
        }
    }

    fn failure(person: u32, kind: GenerationKind, provider: &str) -> RawEvent {
        RawEvent {
            kind: EventKind::GenerationFailed,
            latency_ms: None,
            ..success(person, kind, provider, 0)
        }
    }

    fn sign_up(person: u32) -> RawEvent {
        RawEvent {
            person,
            kind: EventKind::SignUp,
            generation: None,
            provider: None,
            latency_ms: None,
            right: None,
        }
    }

    fn cell<'c>(
        cells: &'c [Cell],
        metric: Metric,
        grouping: &[Dimension],
        at: &[&str],
    ) -> &'c Cell {
        cells
            .iter()
            .find(|c| c.metric == metric && c.grouping == grouping && c.coordinates == at)
            .unwrap_or_else(|| panic!("no cell {metric} {grouping:?} {at:?}"))
    }

    #[test]
    fn a_cell_is_shown_from_k_people_and_suppressed_below() {
        let min = 5;
        for (people, shown) in [(min - 1, false), (min, true), (min + 1, true)] {
            let events: Vec<RawEvent> = (0..people).map(sign_up).collect();
            let cells = aggregate(&events, exact(k(min)));
            let total = cell(&cells, Metric::SignUps, &[], &[]);
            assert_eq!(!total.suppressed(), shown, "{people} people");
            if shown {
                assert_eq!(total.people, Some(u64::from(people)));
                assert_eq!(total.value, Some(f64::from(people)));
            } else {
                assert_eq!((total.people, total.value), (None, None));
            }
        }
    }

    #[test]
    fn many_events_of_few_people_stay_suppressed() {
        // Four people with thirty sign-ups each are still four people.
        let events: Vec<RawEvent> = (0..120).map(|i| sign_up(i % 4)).collect();
        let cells = aggregate(&events, exact(k(5)));
        assert!(cell(&cells, Metric::SignUps, &[], &[]).suppressed());
    }

    #[test]
    fn a_lone_suppressed_cell_cannot_be_recovered_from_its_total() {
        use Dimension::Kind;
        use GenerationKind::{Image, Text, Video};
        // 6 people made texts, 7 images, 2 a video: the total (15) minus texts and images
        // would give the video cell back, so one more cell (the texts: fewest) is suppressed.
        let mut events = Vec::new();
        events.extend((0..6).map(|p| success(p, Text, "local", 100)));
        events.extend((6..13).map(|p| success(p, Image, "local", 100)));
        events.extend((13..15).map(|p| success(p, Video, "local", 100)));
        let cells = aggregate(&events, exact(k(5)));
        let metric = Metric::GenerationsSucceeded;
        assert_eq!(cell(&cells, metric, &[], &[]).value, Some(15.0));
        assert!(cell(&cells, metric, &[Kind], &["VIDEO"]).suppressed());
        assert!(cell(&cells, metric, &[Kind], &["TEXT"]).suppressed());
        assert_eq!(cell(&cells, metric, &[Kind], &["IMAGE"]).value, Some(7.0));
        // The differencing attempt: total minus every published cell of the grouping gives
        // only the suppressed cells together, and they are at least k people.
        let published: f64 = cells
            .iter()
            .filter(|c| c.metric == metric && c.grouping == [Kind])
            .filter_map(|c| c.value)
            .sum();
        assert_eq!(15.0 - published, 8.0);
    }

    #[test]
    fn suppression_is_completed_across_both_dimensions_of_a_table() {
        use Dimension::{Kind, Provider};
        use GenerationKind::{Image, Text};
        // kind × provider: (TEXT, a) 2 people, (TEXT, b) 10, (IMAGE, a) 10, (IMAGE, b) 10.
        let mut events = Vec::new();
        events.extend((0..2).map(|p| failure(p, Text, "a")));
        events.extend((10..20).map(|p| failure(p, Text, "b")));
        events.extend((20..30).map(|p| failure(p, Image, "a")));
        events.extend((30..40).map(|p| failure(p, Image, "b")));
        let cells = aggregate(&events, exact(k(5)));
        let metric = Metric::GenerationsFailed;
        let both = [Kind, Provider];
        // The small cell, and enough others that neither its row nor its column gives it.
        for at in [["TEXT", "a"], ["TEXT", "b"], ["IMAGE", "a"], ["IMAGE", "b"]] {
            assert!(cell(&cells, metric, &both, &at).suppressed(), "{at:?}");
        }
        assert_eq!(cell(&cells, metric, &[Kind], &["TEXT"]).value, Some(12.0));
        assert_eq!(cell(&cells, metric, &[Provider], &["a"]).value, Some(12.0));
        assert_no_cell_of_fewer_than_k_people_can_be_derived(&events, &cells, metric, 5);
    }

    /// The people behind the cell of `metric` at `coordinates` of `grouping`.
    fn true_people(
        events: &[RawEvent],
        metric: Metric,
        grouping: &[Dimension],
        at: &[String],
    ) -> usize {
        events
            .iter()
            .filter(|e| metric.events().contains(&e.kind))
            .filter(|e| grouping.iter().map(|d| e.value(*d)).collect::<Vec<_>>() == at)
            .map(|e| e.person)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// A differencing attacker: knows every published count; while a known cell has
    /// exactly one unknown child (parent minus the others), or every child of an unknown
    /// cell is known (their sum), derives it. Fails if it derives a cell of fewer than `k`
    /// people. Cells with no event are known to be zero (they are absent).
    fn assert_no_cell_of_fewer_than_k_people_can_be_derived(
        events: &[RawEvent],
        cells: &[Cell],
        metric: Metric,
        k: usize,
    ) {
        let mine: Vec<&Cell> = cells.iter().filter(|c| c.metric == metric).collect();
        let mut known: Vec<bool> = mine.iter().map(|c| !c.suppressed()).collect();
        let groupings = metric.groupings();
        loop {
            let mut derived = false;
            for (p, parent) in mine.iter().enumerate() {
                for child_grouping in &groupings {
                    let Some(position) = extra_dimension(&parent.grouping, child_grouping) else {
                        continue;
                    };
                    let children: Vec<usize> = (0..mine.len())
                        .filter(|&c| {
                            let mut own = mine[c].coordinates.clone();
                            mine[c].grouping == *child_grouping && {
                                own.remove(position);
                                own == parent.coordinates
                            }
                        })
                        .collect();
                    let unknown: Vec<usize> =
                        children.iter().copied().filter(|&c| !known[c]).collect();
                    if known[p] && unknown.len() == 1 {
                        known[unknown[0]] = true;
                        derived = true;
                    } else if !known[p] && unknown.is_empty() {
                        known[p] = true;
                        derived = true;
                    }
                }
            }
            if !derived {
                break;
            }
        }
        for (c, cell) in mine.iter().enumerate() {
            if known[c] {
                let people = true_people(events, metric, &cell.grouping, &cell.coordinates);
                assert!(
                    people >= k,
                    "{metric} {:?} {:?} ({people} people) can be derived",
                    cell.grouping,
                    cell.coordinates
                );
            }
        }
    }

    #[test]
    fn a_differencing_attacker_derives_no_small_cell_from_random_days() {
        use GenerationKind::{Image, Text, Video};
        // Days of random shape (a fixed generator): whatever the attacker derives from
        // published cells by adding and subtracting describes at least k people.
        let mut state: u64 = 42;
        let mut next = move |bound: u32| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            u32::try_from((state >> 33) % u64::from(bound)).unwrap_or(0)
        };
        let index = |i: u32| usize::try_from(i).unwrap_or(0);
        let kinds = [Text, Image, Video];
        let providers = ["a", "b", "c"];
        for _day in 0..40 {
            let people = 5 + next(60);
            let events: Vec<RawEvent> = (0..people)
                .map(|p| {
                    let kind = kinds[index(next(3))];
                    let provider = providers[index(next(3))];
                    if next(4) == 0 {
                        failure(p, kind, provider)
                    } else {
                        success(p, kind, provider, 10 + next(90_000))
                    }
                })
                .collect();
            let cells = aggregate(&events, exact(k(5)));
            for metric in [Metric::GenerationsSucceeded, Metric::GenerationsFailed] {
                assert_no_cell_of_fewer_than_k_people_can_be_derived(&events, &cells, metric, 5);
            }
        }
    }

    #[test]
    fn a_rate_needs_k_people_on_each_side() {
        use GenerationKind::Text;
        // 20 people succeeded, 3 failed: the rate would give the 3 failures back from the
        // published successes, so it is suppressed.
        let mut events: Vec<RawEvent> = (0..20).map(|p| success(p, Text, "local", 10)).collect();
        events.extend((20..23).map(|p| failure(p, Text, "local")));
        let cells = aggregate(&events, exact(k(5)));
        assert!(cell(&cells, Metric::FailureRate, &[], &[]).suppressed());
        events.extend((23..30).map(|p| failure(p, Text, "local")));
        let cells = aggregate(&events, exact(k(5)));
        assert_eq!(
            cell(&cells, Metric::FailureRate, &[], &[]).value,
            Some(10.0 / 30.0)
        );
    }

    #[test]
    fn latency_percentiles_are_nearest_rank_per_cell() {
        use GenerationKind::Text;
        let events: Vec<RawEvent> = (0..20)
            .map(|p| success(p, Text, "local", (p + 1) * 100))
            .collect();
        let cells = aggregate(&events, exact(k(5)));
        assert_eq!(
            cell(&cells, Metric::LatencyP50, &[], &[]).value,
            Some(1_000.0)
        );
        assert_eq!(
            cell(&cells, Metric::LatencyP95, &[], &[]).value,
            Some(1_900.0)
        );
        assert_eq!(percentile(&[], 50), 0.0);
        assert_eq!(percentile(&[7], 95), 7.0);
    }

    #[test]
    fn with_a_budget_counts_are_noisy_and_suppression_is_unchanged() {
        let events: Vec<RawEvent> = (0..50).map(sign_up).collect();
        let mut calls = 0;
        let mut uniform = || {
            calls += 1;
            0.9
        };
        let budget = Epsilon::new(1.0).unwrap_or_else(|_| unreachable!());
        let cells = aggregate(
            &events,
            Options {
                min_group: k(5),
                noise: Some((budget, &mut uniform)),
            },
        );
        let total = cell(&cells, Metric::SignUps, &[], &[]);
        // u = 0.9 is noise of +scale·ln(5); SignUps releases two histograms of one grouping.
        let expected = (50.0 + scale(budget, 2) * 5f64.ln()).round();
        assert_eq!(total.value, Some(expected));
        assert_eq!(total.people.map(|people| people as f64), Some(expected));
        assert!(calls >= 2);
        let few: Vec<RawEvent> = (0..4).map(sign_up).collect();
        let mut uniform = || 0.9;
        let cells = aggregate(
            &few,
            Options {
                min_group: k(5),
                noise: Some((budget, &mut uniform)),
            },
        );
        assert!(cell(&cells, Metric::SignUps, &[], &[]).suppressed());
    }

    #[test]
    fn no_event_no_cell() {
        assert!(aggregate(&[], exact(k(5))).is_empty());
    }
}
