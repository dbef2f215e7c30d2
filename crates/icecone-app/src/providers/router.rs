//! Picks the provider for a request and sends it there.
//!
//! Only providers whose effective policy meets the deployment's promises are eligible
//! (core's `eligible`); an explicitly requested provider that is not eligible is refused
//! with [`RouteError::NoCompliantProvider`] — never silently replaced. Transient failures
//! are retried with core's jittered backoff (honouring `Retry-After`) for a bounded number
//! of attempts; each provider has a circuit breaker; when a provider fails, the request
//! falls back to the next eligible provider only, and only when no provider was named.
//! External providers are preferred over `local`, which is the last resort; among the
//! eligible routes to one model family (Stability's models through Stability or through a
//! cloud platform, say), the one whose terms are stronger comes first (core's
//! `prefer_within_families`). A provider that
//! answers that the model configured for a kind is unavailable (retired, unknown) is logged
//! for the operator with the setting to change and not asked for that kind again for
//! [`DegradationPolicy::retry_after`] (core's `after_failure` and `DegradedKinds`); the
//! request falls back as for a failure.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use icecone_core::analytics::ranking::Ranking;
use icecone_core::generation::GenerationKind;
use icecone_core::provider::adapter::{
    GenerationRequest, ProviderAdapter, ProviderError, Submission,
};
use icecone_core::provider::routing::{
    AfterFailure, BreakerPolicy, CircuitBreaker, Constraints, DegradationPolicy, DegradedKinds,
    Ineligible, Missing, RetryPolicy, after_failure, eligible, prefer_within_families,
};
use icecone_core::provider::{Capability, ProviderId};
use icecone_core::settings::provider_variable;

use super::Entry;
use super::metrics::ProviderMetrics;

/// How the router treats providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterSettings {
    /// The longest a provider may keep our data (the deployment's promise).
    pub max_retention_days: u32,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// When a provider's circuit opens.
    pub breaker: BreakerPolicy,
    /// The longest one attempt may take.
    pub attempt_timeout: Duration,
    /// How long a kind stays out of use at a provider whose model for it is unavailable.
    pub degradation: DegradationPolicy,
}

impl RouterSettings {
    /// The defaults of [`RetryPolicy`], [`BreakerPolicy`] and [`DegradationPolicy`] with the
    /// configured promise
    /// and timeout.
    pub fn new(max_retention_days: u32, attempt_timeout: Duration) -> Self {
        Self {
            max_retention_days,
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            attempt_timeout,
            degradation: DegradationPolicy::default(),
        }
    }
}

/// Why a provider was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its effective policy does not meet the promises or the request, and what it lacks
    /// (the clause of its terms or of an agreement that would make it eligible).
    Ineligible(Ineligible, Missing),
    /// It is not configured (for example, it has no API key).
    NotAvailable,
}

/// Why a request was not generated. Carries no prompt, key or personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No provider, or not the requested one, may take the request under the
    /// deployment's promises (`NO_COMPLIANT_PROVIDER`).
    #[error("no provider may take this request under the deployment's promises")]
    NoCompliantProvider {
        /// The provider the client named, if it named one.
        requested: Option<ProviderId>,
        /// Each refused provider with the reason.
        refused: Vec<(ProviderId, Refusal)>,
    },
    /// The client named a provider that does not exist.
    #[error("no such provider")]
    UnknownProvider,
    /// Every eligible provider failed, has its circuit open or does not offer the model
    /// configured for the request's kind (`PROVIDER_UNAVAILABLE`).
    #[error("no eligible provider answered")]
    ProviderUnavailable {
        /// The last failure, if a provider was tried at all.
        last: Option<ProviderError>,
    },
    /// The provider refused this request itself (content policy, invalid parameters); it
    /// is neither retried nor sent elsewhere.
    #[error("the provider refused the request")]
    Refused(ProviderError),
}

/// A generated request and the provider that took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The provider that answered.
    pub provider: ProviderId,
    /// Its answer.
    pub submission: Submission,
}

/// The jitter source: a number in `[0, 1)`.
type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// What the router remembers about one provider: its circuit and its degraded kinds.
#[derive(Debug, Clone)]
struct Health {
    breaker: CircuitBreaker,
    degraded: DegradedKinds,
}

/// The ranking of providers per kind made from people's ratings
/// (`analytics::ratings::refresh_ranking`), shared between whoever makes it and the router,
/// and replaced whole. The router consults it only to order the providers already found
/// eligible when a request names none.
#[derive(Debug, Clone, Default)]
pub struct SharedRanking(Arc<std::sync::RwLock<Ranking>>);

impl SharedRanking {
    /// Puts `ranking` in place of the last one.
    pub fn replace(&self, ranking: Ranking) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = ranking;
    }

    /// The ranking now.
    pub fn current(&self) -> Ranking {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The router: the adapters with their effective policies and the health of each.
pub struct Router {
    entries: Vec<Entry>,
    /// Indices of `entries` in order of preference.
    preference: Vec<usize>,
    /// Reorders the eligible providers of a request that names none (ratings).
    ranking: SharedRanking,
    settings: RouterSettings,
    health: Mutex<Vec<Health>>,
    jitter: Jitter,
    /// Where calls are counted and timed; `None`: nowhere.
    metrics: Option<ProviderMetrics>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("entries", &self.entries)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// A router over `entries` (in listing order) with random jitter.
    pub fn new(entries: Vec<Entry>, settings: RouterSettings) -> Self {
        Self::with_jitter(entries, settings, Arc::new(random_fraction))
    }

    /// As [`Router::new`], with the jitter source given (tests pass a constant).
    pub fn with_jitter(entries: Vec<Entry>, settings: RouterSettings, jitter: Jitter) -> Self {
        let local = |entry: &Entry| entry.adapter().id().as_str() == icecone_provider_local::ID;
        let mut preference: Vec<usize> = (0..entries.len())
            .filter(|&i| !local(&entries[i]))
            .collect();
        preference.extend((0..entries.len()).filter(|&i| local(&entries[i])));
        let health = Health {
            breaker: CircuitBreaker::new(settings.breaker),
            degraded: DegradedKinds::new(settings.degradation),
        };
        Self {
            health: Mutex::new(vec![health; entries.len()]),
            entries,
            preference,
            ranking: SharedRanking::default(),
            settings,
            jitter,
            metrics: None,
        }
    }

    /// The router recording every call it makes to a provider in `metrics`.
    pub fn with_metrics(mut self, metrics: ProviderMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The router ordering the eligible providers of a request that names none by
    /// `ranking` (ranked first, best first; the others in their preference order).
    pub fn with_ranking(mut self, ranking: SharedRanking) -> Self {
        self.ranking = ranking;
        self
    }

    /// The longest one provider request may take.
    pub fn attempt_timeout(&self) -> Duration {
        self.settings.attempt_timeout
    }

    /// Every adapter with its effective policy, in listing order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether `entry` may take a request needing `constraints`.
    fn check(&self, entry: &Entry, request: &GenerationRequest) -> Result<(), Refusal> {
        let constraints = Constraints {
            capability: request.capability(),
            max_retention_days: self.settings.max_retention_days,
        };
        eligible(entry.effective(), &constraints)
            .map_err(|why| Refusal::Ineligible(why, why.missing(&constraints)))?;
        if entry.adapter().is_available() {
            Ok(())
        } else {
            Err(Refusal::NotAvailable)
        }
    }

    /// The adapter with id `id` and its effective policy.
    pub fn entry(&self, id: &ProviderId) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.adapter().id() == id)
    }

    /// The adapter with id `id`.
    pub fn adapter(&self, id: &ProviderId) -> Option<&Arc<dyn ProviderAdapter>> {
        self.entry(id).map(Entry::adapter)
    }

    /// The providers that may take `request`, in order of preference: `explicit` alone if
    /// named (and eligible), otherwise every eligible one.
    fn candidates(
        &self,
        request: &GenerationRequest,
        explicit: Option<&ProviderId>,
    ) -> Result<Vec<usize>, RouteError> {
        Ok(match explicit {
            Some(id) => {
                let index = self
                    .entries
                    .iter()
                    .position(|entry| entry.adapter().id() == id)
                    .ok_or(RouteError::UnknownProvider)?;
                self.check(&self.entries[index], request)
                    .map_err(|refusal| RouteError::NoCompliantProvider {
                        requested: Some(id.clone()),
                        refused: vec![(id.clone(), refusal)],
                    })?;
                vec![index]
            }
            None => {
                let mut refused = Vec::new();
                let mut eligible: Vec<usize> = self
                    .preference
                    .iter()
                    .copied()
                    .filter(|&i| match self.check(&self.entries[i], request) {
                        Ok(()) => true,
                        Err(refusal) => {
                            refused.push((self.entries[i].adapter().id().clone(), refusal));
                            false
                        }
                    })
                    .collect();
                if eligible.is_empty() {
                    return Err(RouteError::NoCompliantProvider {
                        requested: None,
                        refused,
                    });
                }
                // The ratings' ranking orders the eligible providers (a stable sort: the
                // unranked keep their order); then, among the routes to one model family,
                // the one with stronger terms comes first in the family's place — the same
                // models rate alike, so privacy decides between their routes.
                self.ranking
                    .0
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .order(GenerationKind::of(request), &mut eligible, |&i| {
                        self.entries[i].adapter().id()
                    });
                let kind = request.capability();
                let routes: Vec<_> = eligible
                    .iter()
                    .map(|&i| (self.entries[i].family(kind), self.entries[i].effective()))
                    .collect();
                prefer_within_families(&routes)
                    .into_iter()
                    .map(|position| eligible[position])
                    .collect()
            }
        })
    }

    /// The provider that will take `request` — `explicit` if named and eligible, otherwise
    /// the first eligible one; a provider whose model for the request's kind is unavailable
    /// is passed over (or, named, answers `ProviderUnavailable`) — without sending anything: for requests that a job sends
    /// later (through [`Router::route`], which checks eligibility again).
    pub fn choose(
        &self,
        request: &GenerationRequest,
        explicit: Option<&ProviderId>,
    ) -> Result<ProviderId, RouteError> {
        let candidates = self.candidates(request, explicit)?;
        let kind = request.capability();
        let first = candidates
            .into_iter()
            .find(|&index| {
                !self.with_health(index, |health| health.degraded.is_degraded(kind, now()))
            })
            .ok_or(RouteError::ProviderUnavailable { last: None })?;
        Ok(self.entries[first].adapter().id().clone())
    }

    /// Sends `request` to `explicit` if named (and eligible), otherwise to the first
    /// eligible provider that answers.
    pub async fn route(
        &self,
        request: &GenerationRequest,
        explicit: Option<&ProviderId>,
    ) -> Result<Routed, RouteError> {
        let candidates = self.candidates(request, explicit)?;
        let mut last = None;
        for index in candidates {
            match self.try_provider(index, request).await {
                Ok(submission) => {
                    return Ok(Routed {
                        provider: self.entries[index].adapter().id().clone(),
                        submission,
                    });
                }
                Err(Attempted::Refused(error)) => return Err(RouteError::Refused(error)),
                Err(Attempted::Failed(error)) => last = error.or(last),
            }
        }
        Err(RouteError::ProviderUnavailable { last })
    }

    /// Tries one provider, retrying transient failures while its circuit allows; not at all
    /// while the request's kind is degraded there.
    async fn try_provider(
        &self,
        index: usize,
        request: &GenerationRequest,
    ) -> Result<Submission, Attempted> {
        let adapter = self.entries[index].adapter();
        let kind = request.capability();
        if !self.with_health(index, |health| health.degraded.try_acquire(kind, now())) {
            return Err(Attempted::Failed(None));
        }
        let mut last = None;
        let mut attempt = 1;
        while self.with_health(index, |health| health.breaker.try_acquire(now())) {
            let started = Instant::now();
            let answer =
                tokio::time::timeout(self.settings.attempt_timeout, adapter.submit(request))
                    .await
                    .unwrap_or(Err(ProviderError::Timeout));
            if let Some(metrics) = &self.metrics {
                metrics.record(adapter.id(), started.elapsed(), &answer);
            }
            let error = match answer {
                Ok(submission) => {
                    self.with_health(index, |health| {
                        health.breaker.record_success();
                        health.degraded.restore(kind);
                    });
                    return Ok(submission);
                }
                Err(error) => error,
            };
            match after_failure(&error) {
                AfterFailure::Refused => {
                    self.with_health(index, |health| health.breaker.record_neutral(now()));
                    return Err(Attempted::Refused(error));
                }
                AfterFailure::ModelUnavailable { kind, setting } => {
                    self.with_health(index, |health| {
                        health.breaker.record_neutral(now());
                        health.degraded.mark(kind, now());
                    });
                    self.log_model_unavailable(adapter.id(), kind, setting);
                    return Err(Attempted::Failed(Some(error)));
                }
                AfterFailure::Failed => {}
            }
            self.with_health(index, |health| health.breaker.record_failure(now()));
            tracing::warn!(provider = %adapter.id(), attempt, error = %error, "provider request failed");
            let delay = self.settings.retry.delay(attempt, &error, (self.jitter)());
            last = Some(error);
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => break,
            }
            attempt += 1;
        }
        Err(Attempted::Failed(last))
    }

    /// Tells the operator which setting to change: the provider, the kind and the setting's
    /// environment variable, nothing of the request.
    fn log_model_unavailable(&self, provider: &ProviderId, kind: Capability, setting: &str) {
        tracing::error!(
            provider = %provider,
            kind = kind.as_str(),
            setting = %provider_variable(provider.as_str(), setting),
            retry_after_secs = self.settings.degradation.retry_after.as_secs(),
            "the provider does not offer the model configured for this kind: change the setting \
             and restart; until then the provider is not asked for this kind, but for one trial \
             request per interval"
        );
    }

    fn with_health<T>(&self, index: usize, f: impl FnOnce(&mut Health) -> T) -> T {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut health[index])
    }
}

enum Attempted {
    /// The provider refused this request itself.
    Refused(ProviderError),
    /// The provider failed (or its circuit was open: `None`).
    Failed(Option<ProviderError>),
}

/// The time the breakers are kept in; follows tokio's clock, so paused-time tests move it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A uniformly distributed number in `[0, 1)` from the operating system.
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        // 53 random bits: exactly representable, so the result is below 1.
        #[allow(clippy::cast_precision_loss, reason = "53 bits fit an f64 mantissa")]
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::NaiveDate;
    use icecone_core::provider::adapter::{
        Output, Prompt, ProviderAdapter, ProviderFuture, TextRequest, TokenUsage,
    };
    use icecone_core::provider::policy::{
        Claim, DataCategory, OutputRetention, ProviderPolicy, Retention, TrainingUse,
        ZdrArrangement,
    };

    use icecone_core::provider::{ModelFamily, ModelRoute};

    use super::*;

    const DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 29) {
        Some(date) => date,
        None => panic!("invalid date"),
    };
    const URL: &str = "https://provider.example/terms";

    const fn policy(training: TrainingUse, retention: Retention) -> ProviderPolicy {
        ProviderPolicy {
            capabilities: &[Capability::Text],
            data_categories: &[DataCategory::UserContentPrivate],
            training_use: Claim::read(training, URL, "Training.", DAY),
            retention: Claim::read(retention, URL, "Retention.", DAY),
            zero_data_retention: Claim::read(ZdrArrangement::Unavailable, URL, "No ZDR.", DAY),
            output_retention: Claim::read(OutputRetention::Inline, URL, "Inline.", DAY),
            region: Claim::unread(URL, "not stated", DAY),
            onward_processors: Claim::unread(URL, "not stated", DAY),
        }
    }

    const NONE: Retention = Retention::None { exceptions: &[] };
    const COMPLIANT: ProviderPolicy = policy(TrainingUse::No, NONE);
    const TRAINING_UNKNOWN: ProviderPolicy = policy(TrainingUse::Unknown, NONE);
    const KEEPS_30_DAYS: ProviderPolicy = policy(
        TrainingUse::No,
        Retention::Bounded {
            max_days: 30,
            condition: "abuse monitoring",
        },
    );

    /// An adapter that answers from a script (then succeeds) and counts its calls.
    #[derive(Debug)]
    struct Scripted {
        id: ProviderId,
        policy: ProviderPolicy,
        available: bool,
        family: Option<ModelFamily>,
        script: Mutex<VecDeque<ProviderError>>,
        calls: AtomicUsize,
    }

    impl Scripted {
        fn new(id: &str, policy: ProviderPolicy, failures: Vec<ProviderError>) -> Arc<Self> {
            Arc::new(Self {
                id: ProviderId::parse(id).expect("valid id"),
                policy,
                available: true,
                family: None,
                script: Mutex::new(failures.into()),
                calls: AtomicUsize::new(0),
            })
        }

        /// An adapter whose text model belongs to `family`.
        fn of_family(id: &str, policy: ProviderPolicy, family: ModelFamily) -> Arc<Self> {
            let mut adapter = Arc::into_inner(Self::new(id, policy, vec![])).expect("new");
            adapter.family = Some(family);
            Arc::new(adapter)
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl ProviderAdapter for Scripted {
        fn id(&self) -> &ProviderId {
            &self.id
        }
        fn name(&self) -> &str {
            "scripted"
        }
        fn policy(&self) -> &ProviderPolicy {
            &self.policy
        }
        fn is_available(&self) -> bool {
            self.available
        }
        fn models(&self) -> Vec<ModelRoute> {
            self.family
                .into_iter()
                .map(|family| ModelRoute {
                    capability: Capability::Text,
                    model: format!("{}-model", self.id),
                    family,
                })
                .collect()
        }
        fn submit<'a>(&'a self, _: &'a GenerationRequest) -> ProviderFuture<'a, Submission> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let next = self.script.lock().expect("script").pop_front();
            let answer = match next {
                Some(error) => Err(error),
                None => Ok(Submission::Done(Output::Text {
                    text: self.id.to_string(),
                    usage: TokenUsage::default(),
                })),
            };
            Box::pin(std::future::ready(answer))
        }
    }

    fn settings(max_retention_days: u32) -> RouterSettings {
        RouterSettings {
            max_retention_days,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(1),
                max_retry_after: Duration::from_secs(10),
            },
            breaker: BreakerPolicy {
                failure_threshold: 3,
                cool_down: Duration::from_secs(30),
            },
            attempt_timeout: Duration::from_secs(5),
            degradation: DegradationPolicy {
                retry_after: Duration::from_secs(3600),
            },
        }
    }

    fn router(adapters: &[Arc<Scripted>], max_retention_days: u32) -> Router {
        let entries = adapters
            .iter()
            .map(|adapter| Entry::new(adapter.clone(), &[]))
            .collect();
        Router::with_jitter(entries, settings(max_retention_days), Arc::new(|| 0.0))
    }

    fn request() -> GenerationRequest {
        GenerationRequest::Text(TextRequest {
            prompt: Prompt::parse("hello").expect("valid"),
            max_tokens: None,
        })
    }

    fn id(text: &str) -> ProviderId {
        ProviderId::parse(text).expect("valid id")
    }

    fn unavailable() -> ProviderError {
        ProviderError::Unavailable { status: 503 }
    }

    #[tokio::test(start_paused = true)]
    async fn among_routes_to_one_model_family_the_one_with_stronger_terms_is_tried_first() {
        let family = ModelFamily::STABILITY;
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let direct = Scripted::of_family("direct", KEEPS_30_DAYS, family);
        let other = Scripted::of_family("other", COMPLIANT, ModelFamily::LUMA);
        let platform = Scripted::of_family("platform", COMPLIANT, family);
        let router = router(
            &[
                local.clone(),
                direct.clone(),
                other.clone(),
                platform.clone(),
            ],
            30,
        );
        // Unnamed: the platform's route (nothing kept) to the family before the direct one
        // (30 days), in the family's place ahead of the other family; `local` last.
        let routed = router.route(&request(), None).await.expect("routed");
        assert_eq!(routed.provider, id("platform"));
        assert_eq!(
            router.choose(&request(), None).expect("chosen"),
            id("platform")
        );
        let order = router.candidates(&request(), None).expect("eligible");
        let ids: Vec<&str> = order
            .iter()
            .map(|&i| router.entries()[i].adapter().id().as_str())
            .collect();
        assert_eq!(ids, ["platform", "direct", "other", "local"]);
        // Named, the direct route is used as asked: preference never overrides a choice.
        let routed = router
            .route(&request(), Some(&id("direct")))
            .await
            .expect("routed");
        assert_eq!(routed.provider, id("direct"));
        assert_eq!((direct.calls(), platform.calls(), other.calls()), (1, 1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_explicit_provider_that_fails_the_promises_is_refused_never_replaced() {
        let unknown = Scripted::new("unknown-training", TRAINING_UNKNOWN, vec![]);
        let keeps = Scripted::new("keeps", KEEPS_30_DAYS, vec![]);
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let router = router(&[local.clone(), unknown.clone(), keeps.clone()], 0);
        for (named, reason, missing) in [
            (
                "unknown-training",
                Ineligible::TrainingUse(TrainingUse::Unknown),
                Missing::NoTraining,
            ),
            (
                "keeps",
                Ineligible::RetentionTooLong {
                    days: 30,
                    allowed: 0,
                },
                Missing::RetentionBound { at_most_days: 0 },
            ),
        ] {
            let error = router
                .route(&request(), Some(&id(named)))
                .await
                .expect_err("ineligible");
            assert_eq!(
                error,
                RouteError::NoCompliantProvider {
                    requested: Some(id(named)),
                    refused: vec![(id(named), Refusal::Ineligible(reason, missing))],
                }
            );
        }
        assert_eq!(
            router.route(&request(), Some(&id("nope"))).await,
            Err(RouteError::UnknownProvider)
        );
        assert_eq!((unknown.calls(), keeps.calls(), local.calls()), (0, 0, 0));
        // Unnamed, the request goes to the only compliant provider.
        let routed = router.route(&request(), None).await.expect("routed");
        assert_eq!(routed.provider, id("local"));
        assert_eq!((unknown.calls(), keeps.calls(), local.calls()), (0, 0, 1));
        // When the deployment allows 30 days, `keeps` is eligible and preferred to local.
        let router = super::tests::router(&[local.clone(), keeps.clone()], 30);
        let routed = router
            .route(&request(), Some(&id("keeps")))
            .await
            .expect("routed");
        assert_eq!(routed.provider, id("keeps"));
        assert_eq!(
            router
                .route(&request(), None)
                .await
                .expect("routed")
                .provider,
            id("keeps")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_ratings_ranking_orders_eligible_providers_only_when_none_is_named() {
        use icecone_core::analytics::MinGroup;
        use icecone_core::analytics::ranking::{PersonRatings, rank};
        let a = Scripted::new("a", COMPLIANT, vec![]);
        let b = Scripted::new("b", COMPLIANT, vec![]);
        let unknown = Scripted::new("unknown-training", TRAINING_UNKNOWN, vec![]);
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let ranking = SharedRanking::default();
        let router = router(&[a.clone(), b.clone(), unknown.clone(), local.clone()], 0)
            .with_ranking(ranking.clone());
        // Without a ranking, the default preference: the first listed external provider.
        let routed = router.route(&request(), None).await.expect("routed");
        assert_eq!(routed.provider, id("a"));
        // People rated the ineligible provider best and `b` next: `b` comes first, and the
        // ineligible one is never tried.
        let votes = |provider: &'static str, people: u64| {
            (0..people).map(move |_| PersonRatings {
                kind: GenerationKind::Text,
                provider: id(provider),
                good: 1,
                bad: 0,
            })
        };
        let ratings: Vec<PersonRatings> = votes("unknown-training", 20)
            .chain(votes("b", 10))
            .collect();
        ranking.replace(rank(&ratings, MinGroup::DEFAULT));
        let routed = router.route(&request(), None).await.expect("routed");
        assert_eq!(routed.provider, id("b"));
        assert_eq!(router.choose(&request(), None), Ok(id("b")));
        assert_eq!(unknown.calls(), 0);
        // A named provider is taken as named.
        let routed = router
            .route(&request(), Some(&id("a")))
            .await
            .expect("routed");
        assert_eq!(routed.provider, id("a"));
        assert_eq!((a.calls(), b.calls(), local.calls()), (2, 1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_backoff_honouring_retry_after() {
        let flaky = Scripted::new(
            "flaky",
            COMPLIANT,
            vec![
                ProviderError::RateLimited {
                    retry_after: Some(Duration::from_secs(4)),
                },
                unavailable(),
            ],
        );
        let router = router(std::slice::from_ref(&flaky), 0);
        let started = tokio::time::Instant::now();
        let routed = router.route(&request(), None).await.expect("third attempt");
        assert_eq!(routed.provider, id("flaky"));
        assert_eq!(flaky.calls(), 3);
        // 4 s for Retry-After, then 100 ms · 2 · (0.5 + 0) for the second retry.
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(4) + Duration::from_millis(100)
        );

        // A Retry-After beyond the router's patience is not waited for.
        let slow = Scripted::new(
            "slow",
            COMPLIANT,
            vec![ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(3600)),
            }],
        );
        let router = super::tests::router(std::slice::from_ref(&slow), 0);
        let started = tokio::time::Instant::now();
        let error = router.route(&request(), None).await.expect_err("gave up");
        assert_eq!(
            error,
            RouteError::ProviderUnavailable {
                last: Some(ProviderError::RateLimited {
                    retry_after: Some(Duration::from_secs(3600))
                })
            }
        );
        assert_eq!((slow.calls(), started.elapsed()), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn fallback_goes_only_to_another_compliant_provider() {
        let failing = Scripted::new("failing", COMPLIANT, vec![unavailable(); 3]);
        let noncompliant = Scripted::new("trains", policy(TrainingUse::Yes, NONE), vec![]);
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let router = router(&[local.clone(), noncompliant.clone(), failing.clone()], 0);
        let routed = router.route(&request(), None).await.expect("fell back");
        assert_eq!(routed.provider, id("local"));
        assert_eq!(
            (failing.calls(), noncompliant.calls(), local.calls()),
            (3, 0, 1)
        );

        // Named explicitly, a failing provider is not replaced by another one.
        let failing = Scripted::new("failing", COMPLIANT, vec![unavailable(); 3]);
        let router = super::tests::router(&[local.clone(), failing.clone()], 0);
        let error = router
            .route(&request(), Some(&id("failing")))
            .await
            .expect_err("no fallback for a named provider");
        assert_eq!(
            error,
            RouteError::ProviderUnavailable {
                last: Some(unavailable())
            }
        );
        assert_eq!(local.calls(), 1, "local was not called again");

        // Without any compliant provider, nothing is sent anywhere.
        let router = super::tests::router(std::slice::from_ref(&noncompliant), 0);
        assert!(matches!(
            router.route(&request(), None).await,
            Err(RouteError::NoCompliantProvider {
                requested: None,
                ..
            })
        ));
        assert_eq!(noncompliant.calls(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_are_neither_retried_nor_sent_elsewhere() {
        let refusing = Scripted::new("refusing", COMPLIANT, vec![ProviderError::ContentPolicy]);
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let router = router(&[local.clone(), refusing.clone()], 0);
        assert_eq!(
            router.route(&request(), None).await,
            Err(RouteError::Refused(ProviderError::ContentPolicy))
        );
        assert_eq!((refusing.calls(), local.calls()), (1, 0));
        // The refusal did not count against the provider: it answers the next request.
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("refusing")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_opens_after_repeated_failures_and_closes_again_after_a_good_trial() {
        // Three failures open the circuit (threshold 3): one request of three attempts.
        let flaky = Scripted::new("flaky", COMPLIANT, vec![unavailable(); 4]);
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let router = router(&[local.clone(), flaky.clone()], 0);
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("local")
        );
        assert_eq!(flaky.calls(), 3);
        // While open, the provider is skipped without a call.
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("local")
        );
        assert_eq!(flaky.calls(), 3);
        // After the cool-down one trial goes through; it fails and the circuit reopens.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("local")
        );
        assert_eq!(flaky.calls(), 4);
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("local")
        );
        assert_eq!(flaky.calls(), 4);
        // The next trial succeeds and the circuit closes: requests go to flaky again.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("flaky")
        );
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("flaky")
        );
        assert_eq!(flaky.calls(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unavailable_model_degrades_its_kind_falls_back_and_is_tried_again_after_an_hour() {
        let retired = || ProviderError::ModelUnavailable {
            kind: Capability::Text,
            setting: "text_model",
        };
        let provider = Scripted::new("retiring", COMPLIANT, vec![retired(), retired()]);
        let local = Scripted::new("local", COMPLIANT, vec![]);
        let router = router(&[local.clone(), provider.clone()], 0);
        // Unnamed: one attempt, no retry, and the request falls back.
        let routed = router.route(&request(), None).await.expect("fell back");
        assert_eq!(routed.provider, id("local"));
        assert_eq!((provider.calls(), local.calls()), (1, 1));
        // Not asked again for text, named or not; named, nothing replaces it.
        assert_eq!(
            router.route(&request(), Some(&id("retiring"))).await,
            Err(RouteError::ProviderUnavailable { last: None })
        );
        assert_eq!(
            router.choose(&request(), None).expect("chosen"),
            id("local")
        );
        assert_eq!(
            router.choose(&request(), Some(&id("retiring"))),
            Err(RouteError::ProviderUnavailable { last: None })
        );
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("local")
        );
        assert_eq!(provider.calls(), 1);
        // After the interval one trial goes through; answered the same, it stays degraded.
        tokio::time::advance(Duration::from_secs(3600)).await;
        let error = router
            .route(&request(), Some(&id("retiring")))
            .await
            .expect_err("still retired");
        assert_eq!(
            error,
            RouteError::ProviderUnavailable {
                last: Some(retired())
            }
        );
        assert_eq!(provider.calls(), 2);
        assert_eq!(
            router.route(&request(), None).await.expect("ok").provider,
            id("local")
        );
        assert_eq!(provider.calls(), 2);
        // The next trial succeeds (a restored model): the kind is in use again.
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..2 {
            assert_eq!(
                router.route(&request(), None).await.expect("ok").provider,
                id("retiring")
            );
        }
        assert_eq!(provider.calls(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unconfigured_provider_is_not_eligible() {
        let mut unconfigured = Scripted::new("keyless", COMPLIANT, vec![]);
        Arc::get_mut(&mut unconfigured).expect("unique").available = false;
        let router = router(&[unconfigured.clone()], 0);
        assert_eq!(
            router.route(&request(), Some(&id("keyless"))).await,
            Err(RouteError::NoCompliantProvider {
                requested: Some(id("keyless")),
                refused: vec![(id("keyless"), Refusal::NotAvailable)],
            })
        );
        assert_eq!(unconfigured.calls(), 0);
    }
}
