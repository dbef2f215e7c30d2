//! Metrics: OpenTelemetry instruments, exported over OTLP (with `OTEL_EXPORTER_OTLP_ENDPOINT`)
//! and served in Prometheus's text format on `GET /metrics` at `metrics_listen`
//! (`ICECONE_METRICS_LISTEN`), a listener of its own; both off by default, and then no
//! instrument exists and nothing is recorded.
//!
//! What is measured (`docs/operations.md#metrics` lists every series):
//! - GraphQL requests, their errors and durations, by operation ([`operation`]: a closed set)
//!   and outcome code (the one `ErrorCode` list, or `OK`), and the throttle's refusals;
//! - provider calls, their errors and durations, by provider (`icecone_app`'s router);
//! - the job queue's depth by kind and state and the age of its oldest job by kind, and the
//!   outbox's depth ([`queues`], read from the database when `/metrics` is scraped and every
//!   [`SAMPLE_INTERVAL`]).
//!
//! **No label carries personal data, an id or free text**: every label value comes from a
//! list in the code (operation names from the schema or the trusted-documents manifest, error
//! codes, provider ids, job kinds and states).

pub mod operation;
pub mod prometheus;
pub mod queues;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, PeriodicReader, Pipeline, SdkMeterProvider, Temporality,
};

use icecone_app::providers::metrics::ProviderMetrics;
use icecone_store::Store;

/// How often the queue gauges are read from the database while metrics are on.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(15);

/// GraphQL requests, by `operation` and `code`.
pub const REQUESTS: &str = "icecone_graphql_requests_total";
/// GraphQL requests answered with an error, by `operation` and `code`.
pub const ERRORS: &str = "icecone_graphql_errors_total";
/// How long a GraphQL request took, by `operation` and `code`, in seconds.
pub const DURATION: &str = "icecone_graphql_request_duration_seconds";
/// Requests refused by the attempt throttle or a rate limit (`RATE_LIMITED`), by
/// `operation`.
pub const THROTTLED: &str = "icecone_throttle_refusals_total";

/// Bucket bounds of [`DURATION`], in seconds: a cached read's tenth of a millisecond to a
/// generation's minute.
pub const DURATION_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// The outcome code of a request answered without errors.
pub const OK: &str = "OK";

/// The instruments and where they go.
pub struct Metrics {
    provider: SdkMeterProvider,
    meter: Meter,
    /// What `/metrics` collects from; `None` when only OTLP is on.
    scrape: Option<SharedReader>,
    graphql: GraphqlMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("prometheus", &self.scrape.is_some())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics a deployment asked for: scraped at `/metrics` when `prometheus`, pushed
    /// through `otlp` when given (built before the async runtime, see
    /// [`crate::telemetry`]); `None` when neither, so that nothing is recorded.
    pub fn new(prometheus: bool, otlp: Option<opentelemetry_otlp::MetricExporter>) -> Option<Self> {
        if !prometheus && otlp.is_none() {
            return None;
        }
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("icecone")
            .build();
        let mut builder = SdkMeterProvider::builder().with_resource(resource);
        let scrape = prometheus.then(|| SharedReader::new(ManualReader::builder().build()));
        if let Some(reader) = &scrape {
            builder = builder.with_reader(reader.clone());
        }
        if let Some(exporter) = otlp {
            // The interval comes from OTEL_METRIC_EXPORT_INTERVAL (default 60 s).
            builder = builder.with_reader(PeriodicReader::builder(exporter).build());
        }
        let provider = builder.build();
        let meter = provider.meter("icecone");
        let graphql = GraphqlMetrics::new(&meter);
        Some(Self {
            provider,
            meter,
            scrape,
            graphql,
        })
    }

    /// The GraphQL instruments.
    pub fn graphql(&self) -> &GraphqlMetrics {
        &self.graphql
    }

    /// The provider-call instruments, for the router.
    pub fn providers(&self) -> ProviderMetrics {
        ProviderMetrics::new(&self.meter)
    }

    /// The meter every other instrument is made on.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Everything recorded so far in Prometheus's text format; `None` when `/metrics` is off.
    pub fn render(&self) -> Option<String> {
        let reader = self.scrape.as_ref()?;
        let mut collected = ResourceMetrics::default();
        match reader.collect(&mut collected) {
            Ok(()) => Some(prometheus::render(&collected)),
            Err(error) => {
                tracing::warn!(error = %error, "collecting metrics failed");
                None
            }
        }
    }

    /// Pushes what is pending over OTLP and stops. Blocks on the exporter: call it where
    /// blocking is allowed.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(error = %error, "flushing metrics at shutdown failed");
        }
    }
}

/// The GraphQL request instruments.
#[derive(Debug, Clone)]
pub struct GraphqlMetrics {
    requests: Counter<u64>,
    errors: Counter<u64>,
    duration: Histogram<f64>,
    throttled: Counter<u64>,
}

impl GraphqlMetrics {
    fn new(meter: &Meter) -> Self {
        Self {
            requests: meter
                .u64_counter(REQUESTS)
                .with_description("GraphQL requests by operation and outcome code")
                .build(),
            errors: meter
                .u64_counter(ERRORS)
                .with_description("GraphQL requests answered with an error, by operation and code")
                .build(),
            duration: meter
                .f64_histogram(DURATION)
                .with_description("how long a GraphQL request took to answer")
                .with_unit("s")
                .with_boundaries(DURATION_BOUNDS.to_vec())
                .build(),
            throttled: meter
                .u64_counter(THROTTLED)
                .with_description("requests refused by an attempt throttle or rate limit")
                .build(),
        }
    }

    /// Records one request labelled `operation` (from [`operation::OperationNames`]) that
    /// ended with `code` (an `ErrorCode`'s wire value, or [`OK`]) after `started`.
    pub fn record(&self, operation: Arc<str>, code: &'static str, started: Instant) {
        let operation = KeyValue::new("operation", operation);
        let labels = [operation.clone(), KeyValue::new("code", code)];
        self.requests.add(1, &labels);
        self.duration
            .record(started.elapsed().as_secs_f64(), &labels);
        if code != OK {
            self.errors.add(1, &labels);
        }
        if code == "RATE_LIMITED" {
            self.throttled.add(1, &[operation]);
        }
    }
}

/// The SDK's manual reader, shared between the meter provider (which registers with it) and
/// the `/metrics` handler (which collects from it).
#[derive(Debug, Clone)]
pub struct SharedReader(Arc<ManualReader>);

impl SharedReader {
    /// Shares `reader`.
    pub fn new(reader: ManualReader) -> Self {
        Self(Arc::new(reader))
    }
}

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: std::sync::Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, metrics: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(metrics)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// What the `/metrics` handler needs.
struct Scrape {
    metrics: Arc<Metrics>,
    queues: queues::QueueSampler,
    store: Store,
}

/// Binds the `/metrics` listener at `address` and serves it (one worker; no signal handling
/// of its own: the gateway stops it with its main server). Every scrape first reads the
/// queue gauges from the database.
pub fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    queues: queues::QueueSampler,
    store: Store,
) -> anyhow::Result<(SocketAddr, Server)> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen on {address} (ICECONE_METRICS_LISTEN)"))?;
    let bound = listener
        .local_addr()
        .context("the metrics listener has no local address")?;
    let state = web::Data::new(Scrape {
        metrics,
        queues,
        store,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .context("cannot serve on the metrics listener")?
    .run();
    tracing::info!(address = %bound, "metrics on /metrics (ICECONE_METRICS_LISTEN)");
    Ok((bound, server))
}

async fn scrape(state: web::Data<Scrape>) -> HttpResponse {
    state.queues.sample(&state.store).await;
    match state.metrics.render() {
        Some(page) => HttpResponse::Ok()
            .content_type(prometheus::CONTENT_TYPE)
            .insert_header(("Cache-Control", "no-store"))
            .body(page),
        None => HttpResponse::InternalServerError().finish(),
    }
}
