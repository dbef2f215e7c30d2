//! Differential privacy on counts: the Laplace mechanism, with a privacy budget per metric
//! and day.
//!
//! Noise is drawn once, when a day is aggregated, and stored with the cell: asking again
//! returns the same noisy value, so queries spend nothing. The budget of a metric for a day
//! is split evenly over everything published about it that day — a count and a number of
//! people in each cell of each grouping — by sequential composition: one person's events
//! move each released histogram by at most [`MAX_EVENTS_PER_PERSON`] (the L1 sensitivity,
//! enforced by the aggregation, which keeps at most that many events of one person per
//! metric and day), so each histogram gets `epsilon / releases` and noise of scale
//! `sensitivity / (epsilon / releases)`.
//!
//! The sampler is written here rather than taken from a library: it is the inverse of the
//! Laplace distribution's cumulative distribution function applied to a uniform number,
//! and its output is rounded to a whole number (which also removes the low-order bits that
//! make floating-point Laplace samples leak their input). Its distribution is tested
//! statistically below.

/// The most events of one person a metric counts in a day (the sensitivity of every
/// released histogram).
pub const MAX_EVENTS_PER_PERSON: u32 = 20;

/// A privacy budget: a positive, finite epsilon no larger than 10.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epsilon(f64);

/// An epsilon that is not a positive number up to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("epsilon must be a number greater than 0 and at most 10")]
pub struct InvalidEpsilon;

impl Epsilon {
    /// A budget of `epsilon`.
    pub fn new(epsilon: f64) -> Result<Self, InvalidEpsilon> {
        if epsilon.is_finite() && epsilon > 0.0 && epsilon <= 10.0 {
            Ok(Self(epsilon))
        } else {
            Err(InvalidEpsilon)
        }
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// The noise of one release of a metric's day whose budget is `budget`, split over
/// `releases` histograms: the Laplace scale `sensitivity × releases / budget`.
pub fn scale(budget: Epsilon, releases: usize) -> f64 {
    let releases = releases.max(1) as f64;
    f64::from(MAX_EVENTS_PER_PERSON) * releases / budget.get()
}

/// The Laplace sample of `scale` for a uniform number `u` in `[0, 1)`: the inverse of the
/// distribution's cumulative distribution function.
pub fn laplace(scale: f64, u: f64) -> f64 {
    let centred = u - 0.5;
    let tail = (1.0 - 2.0 * centred.abs()).max(f64::MIN_POSITIVE);
    -scale * centred.signum() * tail.ln()
}

/// `count` with Laplace noise of `scale` (the uniform number drawn by `uniform`), rounded
/// to a whole number and never below zero.
pub fn noisy_count(count: u64, scale: f64, uniform: &mut dyn FnMut() -> f64) -> u64 {
    let noisy = (count as f64 + laplace(scale, uniform())).round();
    if noisy <= 0.0 {
        0
    } else {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive whole number; a cast saturates at u64::MAX"
        )]
        let noisy = noisy as u64;
        noisy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed-seed uniform source (SplitMix64), so the statistical tests are repeatable.
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn laplace_cdf(scale: f64, x: f64) -> f64 {
        if x < 0.0 {
            0.5 * (x / scale).exp()
        } else {
            1.0 - 0.5 * (-x / scale).exp()
        }
    }

    #[test]
    fn an_epsilon_is_positive_finite_and_at_most_ten() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 10.5] {
            assert_eq!(Epsilon::new(bad), Err(InvalidEpsilon), "{bad}");
        }
        assert_eq!(Epsilon::new(0.5).map(Epsilon::get), Ok(0.5));
    }

    #[test]
    fn the_budget_is_split_over_the_releases() {
        let budget = Epsilon::new(2.0).unwrap_or(Epsilon(1.0));
        // One release: sensitivity / epsilon.
        assert_eq!(scale(budget, 1), f64::from(MAX_EVENTS_PER_PERSON) / 2.0);
        // Eight releases spend an eighth each: eight times the noise.
        assert_eq!(scale(budget, 8), 8.0 * scale(budget, 1));
    }

    #[test]
    fn laplace_samples_follow_the_laplace_distribution() {
        let scale = 3.0;
        let n = 40_000;
        let mut draw = uniform(7);
        let mut samples: Vec<f64> = (0..n).map(|_| laplace(scale, draw())).collect();
        // Mean 0, mean absolute deviation `scale`, variance 2·scale².
        let mean = samples.iter().sum::<f64>() / n as f64;
        let mad = samples.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
        let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.1, "mean {mean}");
        assert!((mad - scale).abs() < 0.1, "mean absolute deviation {mad}");
        assert!(
            (variance - 2.0 * scale * scale).abs() < 0.05 * 2.0 * scale * scale,
            "variance {variance}"
        );
        // Kolmogorov–Smirnov against the Laplace CDF: at the 1 % level the statistic stays
        // below 1.63 / √n.
        samples.sort_by(f64::total_cmp);
        let d = samples
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let cdf = laplace_cdf(scale, x);
                let below = i as f64 / n as f64;
                let above = (i + 1) as f64 / n as f64;
                (cdf - below).abs().max((above - cdf).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.63 / (n as f64).sqrt(), "KS statistic {d}");
    }

    #[test]
    fn the_tails_have_the_probability_the_privacy_guarantee_rests_on() {
        // P(|X| > t) = exp(-t / scale).
        let scale = 2.0;
        let n = 40_000;
        let mut draw = uniform(11);
        let samples: Vec<f64> = (0..n).map(|_| laplace(scale, draw())).collect();
        for t in [1.0, 2.0, 4.0, 8.0] {
            let observed = samples.iter().filter(|x| x.abs() > t).count() as f64 / n as f64;
            let expected = (-t / scale).exp();
            assert!(
                (observed - expected).abs() < 0.01,
                "P(|X| > {t}) = {observed}, expected {expected}"
            );
        }
    }

    #[test]
    fn a_noisy_count_is_a_whole_number_never_below_zero_and_unbiased_above_zero() {
        let mut draw = uniform(3);
        let counts: Vec<u64> = (0..20_000)
            .map(|_| noisy_count(1_000, 5.0, &mut draw))
            .collect();
        let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
        assert!((mean - 1_000.0).abs() < 0.2, "mean {mean}");
        assert!(counts.iter().any(|&c| c != 1_000), "noise is added");
        // Noise below zero is clamped: a count of 0 with scale 50 comes out 0 whenever the
        // noise is under 0.5, that is with probability 1 - exp(-0.01) / 2 ≈ 0.505.
        let mut draw = uniform(5);
        let zeros = (0..20_000)
            .filter(|_| noisy_count(0, 50.0, &mut draw) == 0)
            .count() as f64
            / 20_000.0;
        assert!((zeros - 0.505).abs() < 0.015, "share of zeros {zeros}");
        // The extremes of the uniform source stay finite.
        assert!(laplace(1.0, 0.0).is_finite());
        assert!(laplace(1.0, 0.999_999_999_999).is_finite());
    }
}
