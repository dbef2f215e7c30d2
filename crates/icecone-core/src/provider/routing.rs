//! The router's decisions, as pure functions the gateway asks: may this provider take
//! this request under the deployment's promises ([`eligible`]), how long to wait before a
//! retry ([`RetryPolicy::delay`]), what a failed attempt means for the request and the
//! provider ([`after_failure`]), whether a provider's circuit is open ([`CircuitBreaker`])
//! and which of its kinds of content are out of use because their model is unavailable
//! ([`DegradedKinds`]), with time passed in.

use std::time::{Duration, Instant};

use super::adapter::ProviderError;
use super::policy::{EffectivePolicy, OutputRetention, Retention, TrainingUse};
use super::{Capability, ModelFamily};

/// What a request demands of a provider: the capability it needs and the deployment's
/// promises. Training use must always be [`TrainingUse::No`]: IceCone's policy promises
/// it for every provider, so there is no setting to relax it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraints {
    /// What the request needs generated.
    pub capability: Capability,
    /// The longest a provider may keep our data; `0` demands that it keeps nothing.
    pub max_retention_days: u32,
}

/// Why a provider may not take a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// It cannot generate what is asked.
    #[error("the provider cannot generate {}", .0.as_str())]
    MissingCapability(Capability),
    /// It trains on our data, or its terms do not establish that it does not.
    #[error("the provider's training use is {0:?}, not No")]
    TrainingUse(TrainingUse),
    /// Its terms do not establish how long it keeps our data.
    #[error("the provider's retention is unknown")]
    RetentionUnknown,
    /// Its terms name a period but leave it open-ended: no bound to compare with.
    #[error("the provider's terms give no bound on how long it keeps data")]
    RetentionUnbounded,
    /// It keeps our data longer than the deployment allows.
    #[error("the provider keeps data up to {days} days; at most {allowed} allowed")]
    RetentionTooLong {
        /// The provider's retention.
        days: u32,
        /// The deployment's maximum.
        allowed: u32,
    },
}

/// Whether a provider's effective policy meets a request's constraints. Unknown facts
/// never satisfy a promise.
pub fn eligible(policy: &EffectivePolicy, constraints: &Constraints) -> Result<(), Ineligible> {
    if !policy.capabilities.contains(&constraints.capability) {
        return Err(Ineligible::MissingCapability(constraints.capability));
    }
    match policy.training_use.value() {
        TrainingUse::No => {}
        other => return Err(Ineligible::TrainingUse(other)),
    }
    let retention = policy.retention.value();
    match retention.bound_days() {
        Some(days) if days <= constraints.max_retention_days => Ok(()),
        Some(days) => Err(Ineligible::RetentionTooLong {
            days,
            allowed: constraints.max_retention_days,
        }),
        None if retention == Retention::Unknown => Err(Ineligible::RetentionUnknown),
        None => Err(Ineligible::RetentionUnbounded),
    }
}

/// What a refused provider lacks for a request, as `NO_COMPLIANT_PROVIDER` names it: the
/// clause of its terms, or of an agreement with it, that would make it eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// It does not generate this kind of content: nothing can be agreed.
    Capability(Capability),
    /// Terms, or an agreement, that exclude training on our data.
    NoTraining,
    /// Terms, or an agreement, that bound how long it keeps our data to at most this many
    /// days.
    RetentionBound {
        /// The deployment's maximum.
        at_most_days: u32,
    },
}

impl Ineligible {
    /// What the provider would need for a request under `constraints`.
    pub fn missing(self, constraints: &Constraints) -> Missing {
        match self {
            Self::MissingCapability(capability) => Missing::Capability(capability),
            Self::TrainingUse(_) => Missing::NoTraining,
            Self::RetentionUnknown | Self::RetentionUnbounded | Self::RetentionTooLong { .. } => {
                Missing::RetentionBound {
                    at_most_days: constraints.max_retention_days,
                }
            }
        }
    }
}

/// How strongly an eligible route's terms keep the promises beyond what eligibility
/// demands; smaller is stronger: the shorter retention bound first, then outputs that are
/// not held for us to fetch, then outputs deleted on request over outputs that expire.
pub fn terms_rank(policy: &EffectivePolicy) -> (u32, u32) {
    let retention = policy.retention.value().bound_days().unwrap_or(u32::MAX);
    let output = match policy.output_retention.value() {
        OutputRetention::Inline => 0,
        OutputRetention::DeleteOnRequest => 1,
        OutputRetention::Expires { max_hours } => 2u32.saturating_add(max_hours),
        OutputRetention::Unknown => u32::MAX,
    };
    (retention, output)
}

/// The order in which to try eligible routes, given in order of preference with the model
/// family each uses for the request (`None`: a family of its own). Among the routes to one
/// family, the one whose terms are stronger ([`terms_rank`]) comes first, in the place of
/// that family's first route; routes of different families keep their order, and routes of
/// equal strength too.
pub fn prefer_within_families(routes: &[(Option<ModelFamily>, &EffectivePolicy)]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::with_capacity(routes.len());
    let mut placed = vec![false; routes.len()];
    for first in 0..routes.len() {
        if placed[first] {
            continue;
        }
        let mut family: Vec<usize> = match routes[first].0 {
            Some(name) => (first..routes.len())
                .filter(|&i| !placed[i] && routes[i].0 == Some(name))
                .collect(),
            None => vec![first],
        };
        family.sort_by_key(|&i| terms_rank(routes[i].1));
        for &i in &family {
            placed[i] = true;
        }
        order.extend(family);
    }
    order
}

/// How transient failures are retried: exponential backoff with jitter, honouring a
/// provider's `Retry-After`, for a bounded number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per provider, the first included.
    pub max_attempts: u32,
    /// The delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// The longest computed delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` we wait for; a provider asking more is given up on.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `failed_attempt + 1`, after attempt `failed_attempt`
    /// (1-based) failed with `error`; `None` to stop trying this provider.
    ///
    /// `random_fraction` in `[0, 1)` is the jitter: the delay is between half and all of
    /// `base_delay · 2^(failed_attempt − 1)` (capped at `max_delay`) — and never less than
    /// the provider's `Retry-After`.
    pub fn delay(
        &self,
        failed_attempt: u32,
        error: &ProviderError,
        random_fraction: f64,
    ) -> Option<Duration> {
        if !error.is_transient() || failed_attempt >= self.max_attempts {
            return None;
        }
        let retry_after = error.retry_after().unwrap_or(Duration::ZERO);
        if retry_after > self.max_retry_after {
            return None;
        }
        let exponent = failed_attempt.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let fraction = if random_fraction.is_finite() {
            random_fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let jittered = ceiling.mul_f64(0.5 + fraction / 2.0);
        Some(jittered.max(retry_after))
    }
}

/// What a failed attempt means, as the router acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// The provider refused this request itself (content policy, invalid parameters): it
    /// is neither retried nor sent elsewhere, and says nothing about the provider.
    Refused,
    /// The provider failed: counted by its breaker, retried while [`RetryPolicy::delay`]
    /// allows, then the request falls back to another eligible provider if none was named.
    Failed,
    /// The provider no longer offers the model configured for this kind: the kind is taken
    /// out of use at this provider ([`DegradedKinds`]), the attempt is not retried and not
    /// counted by the breaker (the provider's other kinds work), and the request falls back
    /// to another eligible provider if none was named. The person is not at fault.
    ModelUnavailable {
        /// The kind whose model is unavailable.
        kind: Capability,
        /// The model setting's key in the provider's section, for the operator.
        setting: &'static str,
    },
}

/// What the router does after `error`.
pub fn after_failure(error: &ProviderError) -> AfterFailure {
    match error {
        ProviderError::ModelUnavailable { kind, setting } => AfterFailure::ModelUnavailable {
            kind: *kind,
            setting,
        },
        error if !error.counts_against_provider() => AfterFailure::Refused,
        _ => AfterFailure::Failed,
    }
}

/// How long a kind stays out of use at a provider after the provider answered that its
/// configured model is unavailable. A retired model stays retired: until the setting is
/// changed (which takes a restart, and a restart forgets the state) the provider is not
/// asked for that kind again, except for one trial request per `retry_after`, so that a
/// model the provider restores or opens to the account comes back without a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DegradationPolicy {
    /// How long after the answer one request is let through again.
    pub retry_after: Duration,
}

impl Default for DegradationPolicy {
    fn default() -> Self {
        Self {
            retry_after: Duration::from_secs(60 * 60),
        }
    }
}

/// The kinds of content a provider is not asked for, because it answered that their
/// configured model is unavailable, and since when. Pure: the caller passes the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegradedKinds {
    policy: DegradationPolicy,
    since: Vec<(Capability, Instant)>,
}

impl DegradedKinds {
    /// No kind degraded.
    pub fn new(policy: DegradationPolicy) -> Self {
        Self {
            policy,
            since: Vec::new(),
        }
    }

    /// Records at `now` that `kind`'s model is unavailable.
    pub fn mark(&mut self, kind: Capability, now: Instant) {
        self.since.retain(|(marked, _)| *marked != kind);
        self.since.push((kind, now));
    }

    /// Whether `kind` may be asked for at `now`: not degraded, or degraded for
    /// `retry_after` already — then that one request is the trial, and the kind stays
    /// degraded (from `now`) unless [`DegradedKinds::restore`] follows its success.
    pub fn try_acquire(&mut self, kind: Capability, now: Instant) -> bool {
        let Some(entry) = self.since.iter_mut().find(|(marked, _)| *marked == kind) else {
            return true;
        };
        if now.saturating_duration_since(entry.1) >= self.policy.retry_after {
            entry.1 = now;
            true
        } else {
            false
        }
    }

    /// Whether `kind` is degraded at `now` (without taking a trial).
    pub fn is_degraded(&self, kind: Capability, now: Instant) -> bool {
        self.since.iter().any(|(marked, since)| {
            *marked == kind && now.saturating_duration_since(*since) < self.policy.retry_after
        })
    }

    /// Records that `kind` answered: it is in use again.
    pub fn restore(&mut self, kind: Capability) {
        self.since.retain(|(marked, _)| *marked != kind);
    }
}

/// When a provider's circuit opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one trial request is let through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The state of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests go through; failures are counted.
    Closed {
        /// Failures in a row so far.
        consecutive_failures: u32,
    },
    /// Requests are refused until the cool-down has passed.
    Open {
        /// When the circuit opened.
        since: Instant,
    },
    /// One trial request is in flight; its outcome closes or reopens the circuit.
    HalfOpen,
}

/// A per-provider circuit breaker: closed → open after `failure_threshold` consecutive
/// failures → half-open (one trial) after the cool-down → closed on success, open again
/// on failure. Pure: the caller passes the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    state: BreakerState,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            state: BreakerState::Closed {
                consecutive_failures: 0,
            },
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether a request may be sent at `now`; moves an open circuit whose cool-down has
    /// passed to half-open and lets that one trial through.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { since } => {
                if now.saturating_duration_since(since) >= self.policy.cool_down {
                    self.state = BreakerState::HalfOpen;
                    true
                } else {
                    false
                }
            }
            BreakerState::HalfOpen => false,
        }
    }

    /// Records a success: the circuit closes.
    pub fn record_success(&mut self) {
        self.state = BreakerState::Closed {
            consecutive_failures: 0,
        };
    }

    /// Records a failure at `now` that counts against the provider.
    pub fn record_failure(&mut self, now: Instant) {
        self.state = match self.state {
            BreakerState::Closed {
                consecutive_failures,
            } if consecutive_failures + 1 < self.policy.failure_threshold => BreakerState::Closed {
                consecutive_failures: consecutive_failures + 1,
            },
            BreakerState::Closed { .. } | BreakerState::HalfOpen => {
                BreakerState::Open { since: now }
            }
            open @ BreakerState::Open { .. } => open,
        };
    }

    /// Records the end of a request whose failure says nothing about the provider (such as
    /// a content-policy refusal): a half-open trial ends without a verdict, so the next
    /// request may be the trial.
    pub fn record_neutral(&mut self, now: Instant) {
        if self.state == BreakerState::HalfOpen {
            // Back to open with the cool-down already over: the next try_acquire is a trial.
            self.state = BreakerState::Open {
                since: now.checked_sub(self.policy.cool_down).unwrap_or(now),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::super::ProviderId;
    use super::super::policy::{
        Claim, DataCategory, ProviderPolicy, ZdrArrangement, effective_policy,
    };
    use super::*;

    const DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 28) {
        Some(date) => date,
        None => panic!("invalid date"),
    };
    const URL: &str = "https://provider.example/terms";

    fn declared(training: TrainingUse, retention: Retention) -> ProviderPolicy {
        ProviderPolicy {
            capabilities: &[Capability::Text, Capability::Image],
            data_categories: &[DataCategory::UserContentPrivate],
            training_use: Claim::read(training, URL, "Training.", DAY),
            retention: Claim::read(retention, URL, "Retention.", DAY),
            zero_data_retention: Claim::read(
                ZdrArrangement::ByContract { exceptions: &[] },
                URL,
                "By contract.",
                DAY,
            ),
            output_retention: Claim::read(OutputRetention::Inline, URL, "Inline.", DAY),
            region: Claim::unread(URL, "not stated", DAY),
            onward_processors: Claim::unread(URL, "not stated", DAY),
        }
    }

    fn policy(training: TrainingUse, retention: Retention) -> EffectivePolicy {
        let provider = ProviderId::parse("provider").expect("valid");
        effective_policy(&provider, &declared(training, retention), &[])
    }

    const THIRTY: Retention = Retention::Bounded {
        max_days: 30,
        condition: "abuse monitoring",
    };
    const OPEN: Retention = Retention::Unbounded {
        usual_days: Some(30),
        condition: "abuse monitoring",
        exceptions: &["required by law"],
    };
    const NONE: Retention = Retention::None { exceptions: &[] };
    const NONE_BUT: Retention = Retention::None {
        exceptions: &["safety retention after notice"],
    };

    #[test]
    fn eligibility_demands_no_training_and_known_bounded_retention() {
        use Capability::{Image, Text, Video};
        use TrainingUse::{No, Unknown, Yes};
        // (training, retention, capability, max days, verdict)
        let cases = [
            (No, NONE, Text, 0, Ok(())),
            (No, NONE, Image, 0, Ok(())),
            (No, NONE_BUT, Text, 0, Ok(())),
            (No, OPEN, Text, 0, Err(Ineligible::RetentionUnbounded)),
            (
                No,
                OPEN,
                Text,
                u32::MAX,
                Err(Ineligible::RetentionUnbounded),
            ),
            (
                No,
                NONE,
                Video,
                30,
                Err(Ineligible::MissingCapability(Video)),
            ),
            (No, THIRTY, Text, 30, Ok(())),
            (No, THIRTY, Text, 31, Ok(())),
            (
                No,
                THIRTY,
                Text,
                29,
                Err(Ineligible::RetentionTooLong {
                    days: 30,
                    allowed: 29,
                }),
            ),
            (
                No,
                THIRTY,
                Text,
                0,
                Err(Ineligible::RetentionTooLong {
                    days: 30,
                    allowed: 0,
                }),
            ),
            (
                No,
                Retention::Unknown,
                Text,
                u32::MAX,
                Err(Ineligible::RetentionUnknown),
            ),
            (Yes, NONE, Text, 30, Err(Ineligible::TrainingUse(Yes))),
            (
                Unknown,
                NONE,
                Text,
                30,
                Err(Ineligible::TrainingUse(Unknown)),
            ),
            (
                Unknown,
                Retention::Unknown,
                Text,
                30,
                Err(Ineligible::TrainingUse(Unknown)),
            ),
        ];
        for (training, retention, capability, max_retention_days, verdict) in cases {
            let constraints = Constraints {
                capability,
                max_retention_days,
            };
            assert_eq!(
                eligible(&policy(training, retention), &constraints),
                verdict,
                "{training:?} {retention:?} {capability:?} ≤{max_retention_days}"
            );
        }
    }

    #[test]
    fn backoff_grows_with_jitter_honours_retry_after_and_stops() {
        let retry = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(10),
        };
        let unavailable = ProviderError::Unavailable { status: 503 };
        let limited = |secs| ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
        };
        let ms = Duration::from_millis;
        // (failed attempt, error, random fraction, delay)
        let cases = [
            (1, unavailable.clone(), 0.0, Some(ms(50))),
            (1, unavailable.clone(), 1.0, Some(ms(100))),
            (2, unavailable.clone(), 0.0, Some(ms(100))),
            (2, unavailable.clone(), 0.5, Some(ms(150))),
            (3, unavailable.clone(), 1.0, Some(ms(300))),
            (3, ProviderError::Timeout, f64::NAN, Some(ms(150))),
            (3, ProviderError::Connect, -3.0, Some(ms(150))),
            (4, unavailable.clone(), 0.5, None),
            (
                1,
                ProviderError::RateLimited { retry_after: None },
                0.0,
                Some(ms(50)),
            ),
            (1, limited(2), 0.0, Some(Duration::from_secs(2))),
            (1, limited(10), 0.0, Some(Duration::from_secs(10))),
            (1, limited(11), 0.0, None),
            (1, ProviderError::Unauthorized, 0.0, None),
            (1, ProviderError::ContentPolicy, 0.0, None),
            (1, ProviderError::Malformed, 0.0, None),
        ];
        for (attempt, error, fraction, expected) in cases {
            assert_eq!(
                retry.delay(attempt, &error, fraction),
                expected,
                "attempt {attempt} {error:?} {fraction}"
            );
        }
    }

    #[test]
    fn after_a_failure_a_refusal_stays_a_refusal_and_an_unavailable_model_degrades_its_kind() {
        use super::super::adapter::InvalidRequest;
        let model = |kind| ProviderError::ModelUnavailable {
            kind,
            setting: "text_model",
        };
        // (error, what the router does)
        let cases = [
            (ProviderError::ContentPolicy, AfterFailure::Refused),
            (InvalidRequest::EmptyPrompt.into(), AfterFailure::Refused),
            (
                InvalidRequest::Rejected { status: 400 }.into(),
                AfterFailure::Refused,
            ),
            (ProviderError::UnsupportedOperation, AfterFailure::Refused),
            (ProviderError::Unauthorized, AfterFailure::Failed),
            (ProviderError::QuotaExhausted, AfterFailure::Failed),
            (
                ProviderError::Unavailable { status: 503 },
                AfterFailure::Failed,
            ),
            (ProviderError::Timeout, AfterFailure::Failed),
            (ProviderError::Malformed, AfterFailure::Failed),
            (ProviderError::JobFailed, AfterFailure::Failed),
            (
                model(Capability::Text),
                AfterFailure::ModelUnavailable {
                    kind: Capability::Text,
                    setting: "text_model",
                },
            ),
            (
                model(Capability::Video),
                AfterFailure::ModelUnavailable {
                    kind: Capability::Video,
                    setting: "text_model",
                },
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(after_failure(&error), expected, "{error:?}");
        }
        // Never retried.
        let retry = RetryPolicy::default();
        assert_eq!(retry.delay(1, &model(Capability::Text), 0.0), None);
    }

    #[test]
    fn a_degraded_kind_is_skipped_until_its_interval_passes_then_tried_once() {
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let mut degraded = DegradedKinds::new(DegradationPolicy {
            retry_after: Duration::from_secs(3600),
        });
        assert!(degraded.try_acquire(Capability::Text, at(0)));
        degraded.mark(Capability::Text, at(10));
        assert!(degraded.is_degraded(Capability::Text, at(10)));
        assert!(!degraded.try_acquire(Capability::Text, at(3609)));
        assert!(
            degraded.try_acquire(Capability::Image, at(11)),
            "other kinds stay in use"
        );
        assert!(
            degraded.try_acquire(Capability::Text, at(3610)),
            "one trial after the interval"
        );
        assert!(
            !degraded.try_acquire(Capability::Text, at(3611)),
            "only one trial"
        );
        degraded.mark(Capability::Text, at(3611));
        assert!(!degraded.try_acquire(Capability::Text, at(7210)));
        assert!(degraded.try_acquire(Capability::Text, at(7211)));
        degraded.restore(Capability::Text);
        assert!(!degraded.is_degraded(Capability::Text, at(7211)));
        assert!(degraded.try_acquire(Capability::Text, at(7211)));
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_closes_after_a_good_trial() {
        let policy = BreakerPolicy {
            failure_threshold: 3,
            cool_down: Duration::from_secs(30),
        };
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let mut breaker = CircuitBreaker::new(policy);
        // A success in between resets the count.
        breaker.record_failure(at(0));
        breaker.record_failure(at(0));
        breaker.record_success();
        breaker.record_failure(at(1));
        breaker.record_failure(at(1));
        assert!(breaker.try_acquire(at(1)));
        assert_eq!(
            breaker.state(),
            BreakerState::Closed {
                consecutive_failures: 2
            }
        );
        breaker.record_failure(at(2));
        assert_eq!(breaker.state(), BreakerState::Open { since: at(2) });
        assert!(!breaker.try_acquire(at(31)), "still cooling down");
        assert!(breaker.try_acquire(at(32)), "one trial after the cool-down");
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(!breaker.try_acquire(at(32)), "only one trial at a time");
        breaker.record_failure(at(33));
        assert_eq!(breaker.state(), BreakerState::Open { since: at(33) });
        assert!(!breaker.try_acquire(at(62)));
        assert!(breaker.try_acquire(at(63)));
        breaker.record_neutral(at(63));
        assert!(
            breaker.try_acquire(at(63)),
            "a neutral end lets the next trial through"
        );
        breaker.record_success();
        assert_eq!(
            breaker.state(),
            BreakerState::Closed {
                consecutive_failures: 0
            }
        );
        assert!(breaker.try_acquire(at(63)));
    }
    #[test]
    fn a_refusal_names_the_clause_that_would_make_the_provider_eligible() {
        let constraints = Constraints {
            capability: Capability::Image,
            max_retention_days: 30,
        };
        let cases = [
            (
                Ineligible::MissingCapability(Capability::Video),
                Missing::Capability(Capability::Video),
            ),
            (
                Ineligible::TrainingUse(TrainingUse::Yes),
                Missing::NoTraining,
            ),
            (
                Ineligible::TrainingUse(TrainingUse::Unknown),
                Missing::NoTraining,
            ),
            (
                Ineligible::RetentionUnknown,
                Missing::RetentionBound { at_most_days: 30 },
            ),
            (
                Ineligible::RetentionUnbounded,
                Missing::RetentionBound { at_most_days: 30 },
            ),
            (
                Ineligible::RetentionTooLong {
                    days: 90,
                    allowed: 30,
                },
                Missing::RetentionBound { at_most_days: 30 },
            ),
        ];
        for (refusal, missing) in cases {
            assert_eq!(refusal.missing(&constraints), missing, "{refusal:?}");
        }
    }

    #[test]
    fn among_routes_to_one_family_the_stronger_terms_come_first_in_the_familys_place() {
        use TrainingUse::No;
        let zero = policy(No, NONE);
        let thirty = policy(No, THIRTY);
        let mut expiring = declared(No, NONE);
        expiring.output_retention = Claim::read(
            OutputRetention::Expires { max_hours: 24 },
            URL,
            "Expires.",
            DAY,
        );
        let provider = ProviderId::parse("provider").expect("valid");
        let expiring = effective_policy(&provider, &expiring, &[]);
        let stability = Some(ModelFamily::STABILITY);
        let luma = Some(ModelFamily::LUMA);
        // (routes in preference order, expected order)
        type Case<'a> = (Vec<(Option<ModelFamily>, &'a EffectivePolicy)>, Vec<usize>);
        let cases: Vec<Case<'_>> = vec![
            (vec![], vec![]),
            (vec![(stability, &thirty)], vec![0]),
            // The direct route (30 days) and the platform route (nothing kept) to one family.
            (vec![(stability, &thirty), (stability, &zero)], vec![1, 0]),
            // Another family between them keeps its place after the family.
            (
                vec![(stability, &thirty), (luma, &zero), (stability, &zero)],
                vec![2, 0, 1],
            ),
            // Routes without a family are never grouped.
            (vec![(None, &thirty), (None, &zero)], vec![0, 1]),
            // Equal retention: outputs inline before outputs that wait at a URL.
            (vec![(luma, &expiring), (luma, &zero)], vec![1, 0]),
            // Equal strength keeps the given order.
            (vec![(luma, &zero), (luma, &zero)], vec![0, 1]),
        ];
        for (routes, expected) in cases {
            assert_eq!(prefer_within_families(&routes), expected, "{expected:?}");
        }
    }
}
