//! The queue gauges, read from the database: how many jobs wait, run or are held per kind,
//! how old the oldest of them is, and how many notifications wait in the outbox. Every
//! instance reads the same tables, so every instance reports the same numbers (aggregate
//! them with `max`, not `sum`). A kind or state without jobs reports 0, so that a drained
//! queue shows as empty rather than as its last value.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use icecone_store::Store;
use icecone_store::jobs::JobState;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Gauge, Meter};

/// Open jobs, by `kind` and `state` (`queued`, `running`, `held`).
pub const JOB_DEPTH: &str = "icecone_job_queue_depth";
/// Age of the oldest open job, by `kind`, in seconds (0 without one).
pub const JOB_AGE: &str = "icecone_job_queue_oldest_age_seconds";
/// Notifications neither delivered nor given up.
pub const OUTBOX_DEPTH: &str = "icecone_outbox_depth";

/// The label of a job kind no handler of this instance knows.
pub const OTHER_KIND: &str = "other";

const STATES: [(JobState, &str); 3] = [
    (JobState::Queued, "queued"),
    (JobState::Running, "running"),
    (JobState::Held, "held"),
];

/// Reads the queues into their gauges.
#[derive(Debug, Clone)]
pub struct QueueSampler {
    kinds: Arc<[&'static str]>,
    depth: Gauge<u64>,
    age: Gauge<f64>,
    outbox: Gauge<u64>,
}

impl QueueSampler {
    /// The gauges on `meter`, for the job kinds `kinds` (the runner's).
    pub fn new(meter: &Meter, kinds: Vec<&'static str>) -> Self {
        Self {
            kinds: kinds.into(),
            depth: meter
                .u64_gauge(JOB_DEPTH)
                .with_description("jobs not yet ended, by kind and state")
                .build(),
            age: meter
                .f64_gauge(JOB_AGE)
                .with_description("age of the oldest job not yet ended, by kind")
                .with_unit("s")
                .build(),
            outbox: meter
                .u64_gauge(OUTBOX_DEPTH)
                .with_description("notifications waiting for delivery")
                .build(),
        }
    }

    /// Reads the queues and records them; a database failure leaves the last values and
    /// is logged (without its cause's text: it may name the database).
    pub async fn sample(&self, store: &Store) {
        match store.job_backlog().await {
            Ok(backlog) => {
                let now = Utc::now();
                let mut depth: HashMap<(&str, &str), u64> = HashMap::new();
                let mut oldest: HashMap<&str, f64> = HashMap::new();
                for group in &backlog {
                    let kind = self
                        .kinds
                        .iter()
                        .copied()
                        .find(|known| *known == group.kind)
                        .unwrap_or(OTHER_KIND);
                    let Some((_, state)) = STATES.iter().find(|(s, _)| *s == group.state) else {
                        continue;
                    };
                    *depth.entry((kind, state)).or_default() += group.jobs;
                    let age = (now - group.oldest)
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .as_secs_f64();
                    let entry = oldest.entry(kind).or_default();
                    *entry = entry.max(age);
                }
                for kind in self.kinds.iter().copied().chain([OTHER_KIND]) {
                    for (_, state) in STATES {
                        self.depth.record(
                            depth.get(&(kind, state)).copied().unwrap_or(0),
                            &[KeyValue::new("kind", kind), KeyValue::new("state", state)],
                        );
                    }
                    self.age.record(
                        oldest.get(kind).copied().unwrap_or(0.0),
                        &[KeyValue::new("kind", kind)],
                    );
                }
            }
            Err(_) => tracing::warn!("reading the job queue for its metrics failed"),
        }
        match store.outbox_depth().await {
            Ok(waiting) => self.outbox.record(waiting, &[]),
            Err(_) => tracing::warn!("reading the outbox for its metrics failed"),
        }
    }

    /// Samples every [`super::SAMPLE_INTERVAL`] until aborted, so that OTLP export carries
    /// current values between scrapes.
    pub fn spawn(self, store: Store) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(super::SAMPLE_INTERVAL);
            loop {
                interval.tick().await;
                self.sample(&store).await;
            }
        })
    }
}
