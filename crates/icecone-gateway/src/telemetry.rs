//! Logs and traces.
//!
//! `tracing` everywhere: human-readable lines in development, JSON in production, each line
//! inside the request span that carries the request id. Logs go to standard error, so that
//! standard output carries only what a command prints (the SDL, key status, a staff
//! account's `otpauth://` URI). With `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set, spans are also exported over OTLP/HTTP (the exporter reads the standard `OTEL_*`
//! variables itself), and so are metrics ([`crate::metrics`]) unless
//! `OTEL_METRICS_EXPORTER=none`.
//!
//! Log fields are chosen so that personal data cannot reach them: request ids, route
//! patterns, status codes, counts and durations, and error chains built from domain errors
//! that carry no personal data. Never the path, the query string, a GraphQL document, its
//! variables, or a header value other than the sanitised request id. SQL statement logging
//! is switched off in the store and silenced here as well.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Environment;

/// The variable that turns on OpenTelemetry export.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The standard variable that turns OTLP metric export off (`none`) while traces go on.
pub const METRICS_EXPORTER_VAR: &str = "OTEL_METRICS_EXPORTER";

/// Directives appended to every filter: statement logs carry bound values.
const ALWAYS_OFF: &str = "sqlx::query=off,sea_orm::driver=off";

/// Flushes and stops trace export when dropped. Drop it outside the async runtime: the
/// exporter's HTTP client blocks.
#[derive(Debug)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    metric_exporter: Option<opentelemetry_otlp::MetricExporter>,
}

impl Telemetry {
    /// The OTLP metric exporter, when OTLP export is on (built here, before the async
    /// runtime, because its HTTP client blocks); handed to the gateway's
    /// [`crate::metrics::Metrics`] once.
    pub fn take_metric_exporter(&mut self) -> Option<opentelemetry_otlp::MetricExporter> {
        self.metric_exporter.take()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(error = %error, "flushing traces at shutdown failed");
        }
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter in ICECONE_LOG: {0}")]
    Filter(String),
    /// The OTLP exporter could not be built.
    #[error("cannot set up OpenTelemetry export")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber is already installed.
    #[error("logging was already initialised")]
    AlreadyInitialised,
}

/// Installs the global subscriber. Call it before starting the async runtime.
pub fn init(filter: &str, environment: Environment) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_new(format!("{filter},{ALWAYS_OFF}"))
        .map_err(|error| TelemetryError::Filter(error.to_string()))?;
    let otlp =
        matches!(std::env::var(OTLP_ENDPOINT_VAR), Ok(endpoint) if !endpoint.trim().is_empty());
    let tracer_provider = otlp.then(otlp_provider).transpose()?;
    let metrics_off = std::env::var(METRICS_EXPORTER_VAR)
        .is_ok_and(|exporter| exporter.trim().eq_ignore_ascii_case("none"));
    let metric_exporter = (otlp && !metrics_off)
        .then(|| {
            opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .build()
                .map_err(TelemetryError::Exporter)
        })
        .transpose()?;
    let otel_layer = tracer_provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("icecone")));
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let result = match environment {
        Environment::Production => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        Environment::Development => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    result.map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(Telemetry {
        tracer_provider,
        metric_exporter,
    })
}

fn otlp_provider() -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(TelemetryError::Exporter)?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("icecone")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}
