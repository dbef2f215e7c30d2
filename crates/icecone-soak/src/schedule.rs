//! The open-loop schedule: request `n` starts at `n / rate` seconds after the start, whether
//! or not earlier requests have finished (a closed loop would slow down exactly when the
//! service does, and hide it), and which operation it runs is drawn from the weighted mix.

use std::time::Duration;

/// When each request of a run starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    /// Nanoseconds between two starts.
    interval_nanos: u64,
    /// How many requests the run offers.
    count: u64,
}

impl Schedule {
    /// `rate` requests per second for `duration`; refused unless the rate is positive,
    /// finite and at most one request per microsecond.
    pub(crate) fn new(rate: f64, duration: Duration) -> Result<Self, String> {
        if !rate.is_finite() || rate <= 0.0 || rate > 1_000_000.0 {
            return Err(format!(
                "the rate must be above 0 and at most 1000000 per second, not {rate}"
            ));
        }
        let interval_nanos = nanos_of(1e9 / rate).max(1);
        let count = u64::try_from(duration.as_nanos() / u128::from(interval_nanos))
            .map_err(|_| "the run is too long".to_owned())?;
        Ok(Self {
            interval_nanos,
            count,
        })
    }

    /// How many requests the run offers.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// When request `n` starts, counted from the start of the run: it depends on `n`
    /// alone, never on how earlier requests went.
    pub(crate) fn offset(&self, n: u64) -> Duration {
        Duration::from_nanos(n.saturating_mul(self.interval_nanos))
    }

    /// The offered rate, requests per second.
    pub(crate) fn rate(&self) -> f64 {
        1e9 / nanos_as_f64(self.interval_nanos)
    }
}

/// A non-negative number of nanoseconds, rounded.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the value is checked to be between 1 and 1e9 by the only caller"
)]
fn nanos_of(value: f64) -> u64 {
    value.round() as u64
}

#[allow(
    clippy::cast_precision_loss,
    reason = "an interval of nanoseconds far below 2^52"
)]
fn nanos_as_f64(value: u64) -> f64 {
    value as f64
}

/// A weighted choice among operations.
#[derive(Debug, Clone)]
pub(crate) struct Mix<T> {
    /// Each choice with the running total of the weights up to and including it.
    cumulative: Vec<(T, u64)>,
    total: u64,
}

impl<T: Copy> Mix<T> {
    /// The choices with their weights; a zero weight is never drawn. Refused when every
    /// weight is zero.
    pub(crate) fn new(weights: &[(T, u32)]) -> Result<Self, String> {
        let mut total = 0u64;
        let mut cumulative = Vec::new();
        for (choice, weight) in weights {
            if *weight == 0 {
                continue;
            }
            total += u64::from(*weight);
            cumulative.push((*choice, total));
        }
        if total == 0 {
            return Err("the mix has no operation with a weight".to_owned());
        }
        Ok(Self { cumulative, total })
    }

    /// The choice a uniformly random `draw` lands on.
    pub(crate) fn pick(&self, draw: u64) -> T {
        let point = draw % self.total;
        let index = self
            .cumulative
            .partition_point(|(_, running)| *running <= point);
        self.cumulative[index.min(self.cumulative.len() - 1)].0
    }
}

/// SplitMix64: a small, fast, seedable generator (Steele, Lea and Flood, 2014) so that a
/// run's sequence of operations is reproducible from its seed.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `bound` (which must not be zero).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        let bound = u64::try_from(bound.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64() % bound).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_offers_rate_times_duration_requests_evenly_spaced() {
        let cases: &[(f64, u64, u64, u64)] = &[
            // rate, seconds, requests, interval in ms
            (10.0, 60, 600, 100),
            (4.0, 120, 480, 250),
            (0.5, 10, 5, 2000),
            (1000.0, 1, 1000, 1),
        ];
        for &(rate, seconds, count, interval_ms) in cases {
            let schedule = Schedule::new(rate, Duration::from_secs(seconds)).expect("valid");
            assert_eq!(schedule.len(), count, "rate {rate}");
            assert_eq!(schedule.offset(0), Duration::ZERO);
            for n in [1, 2, count / 2, count - 1] {
                assert_eq!(
                    schedule.offset(n),
                    Duration::from_millis(interval_ms * n),
                    "rate {rate}, request {n}"
                );
            }
            assert!(schedule.offset(count - 1) < Duration::from_secs(seconds));
            assert!((schedule.rate() - rate).abs() < 1e-9, "rate {rate}");
        }
    }

    #[test]
    fn the_schedule_is_open_loop_a_start_time_depends_on_its_index_alone() {
        // However long earlier requests take, request n is due at n / rate: the schedule
        // has no input but its index, so slow answers cannot push later starts back.
        let schedule = Schedule::new(8.0, Duration::from_secs(30)).expect("valid");
        let planned: Vec<Duration> = (0..schedule.len()).map(|n| schedule.offset(n)).collect();
        let mut completions = Vec::new();
        for (n, start) in planned.iter().enumerate() {
            // A request that takes 10 s to answer overlaps the next eighty.
            completions.push(*start + Duration::from_secs(if n % 3 == 0 { 10 } else { 0 }));
            assert_eq!(schedule.offset(u64::try_from(n).expect("small")), *start);
        }
        let in_flight_at_5s = planned
            .iter()
            .zip(&completions)
            .filter(|(start, end)| {
                **start <= Duration::from_secs(5) && **end > Duration::from_secs(5)
            })
            .count();
        assert!(in_flight_at_5s > 10, "{in_flight_at_5s}");
        assert_eq!(planned.len(), 240);
    }

    #[test]
    fn bad_rates_are_refused() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 2e6] {
            assert!(
                Schedule::new(rate, Duration::from_secs(1)).is_err(),
                "{rate}"
            );
        }
    }

    #[test]
    fn the_mix_draws_each_operation_in_proportion_to_its_weight() {
        let mix = Mix::new(&[('a', 6), ('b', 3), ('z', 0), ('c', 1)]).expect("mix");
        let mut rng = SplitMix64::new(7);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..100_000 {
            *counts.entry(mix.pick(rng.next_u64())).or_insert(0u32) += 1;
        }
        assert_eq!(counts.get(&'z'), None, "a zero weight is never drawn");
        for (choice, expected) in [('a', 60_000.0), ('b', 30_000.0), ('c', 10_000.0)] {
            let seen = f64::from(counts[&choice]);
            assert!(
                (seen - expected).abs() < expected * 0.03,
                "{choice}: {seen} for {expected}"
            );
        }
        // The boundaries: draws land on the choice whose range holds them.
        let cases = [(0, 'a'), (5, 'a'), (6, 'b'), (8, 'b'), (9, 'c'), (10, 'a')];
        for (draw, choice) in cases {
            assert_eq!(mix.pick(draw), choice, "draw {draw}");
        }
        assert!(Mix::<char>::new(&[('a', 0)]).is_err());
    }

    #[test]
    fn the_generator_is_reproducible_from_its_seed() {
        let first: Vec<u64> = {
            let mut rng = SplitMix64::new(42);
            (0..5).map(|_| rng.next_u64()).collect()
        };
        let mut rng = SplitMix64::new(42);
        let again: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], first[1]);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}
