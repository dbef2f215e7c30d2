//! What the router reports about its calls to providers, as OpenTelemetry instruments: the
//! calls, their failures and their durations, per provider. Labels come from closed sets
//! only — a provider's id (the registry's) and a failure's class ([`error_label`], a fixed
//! list) — never anything of the request or the provider's answer.

use std::time::Duration;

use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::ProviderError;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

/// The `error` label of a failed call: the kind of failure, never its details.
pub fn error_label(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::Unauthorized => "UNAUTHORIZED",
        ProviderError::RateLimited { .. } => "RATE_LIMITED",
        ProviderError::QuotaExhausted => "QUOTA_EXHAUSTED",
        ProviderError::Unavailable { .. } => "UNAVAILABLE",
        ProviderError::Timeout => "TIMEOUT",
        ProviderError::Connect => "CONNECT",
        ProviderError::Malformed => "MALFORMED",
        ProviderError::ContentPolicy => "CONTENT_POLICY",
        ProviderError::InvalidRequest(_) => "INVALID_REQUEST",
        ProviderError::UnsupportedOperation => "UNSUPPORTED_OPERATION",
        ProviderError::JobFailed => "JOB_FAILED",
        ProviderError::UnknownJob => "UNKNOWN_JOB",
        ProviderError::OutputGone => "OUTPUT_GONE",
        ProviderError::UnsafeUrl => "UNSAFE_URL",
        ProviderError::ModelUnavailable { .. } => "MODEL_UNAVAILABLE",
        _ => "OTHER",
    }
}

/// Calls to providers, one per attempt (retries counted), by `provider`.
pub const CALLS: &str = "icecone_provider_calls_total";
/// Failed calls, by `provider` and `error` (the failure's code).
pub const ERRORS: &str = "icecone_provider_errors_total";
/// How long a call took, by `provider`, in seconds.
pub const DURATION: &str = "icecone_provider_call_duration_seconds";

/// Bucket bounds of [`DURATION`], in seconds: from a local mock's milliseconds to a
/// provider's minute-long generations.
pub const DURATION_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The provider-call instruments.
#[derive(Debug, Clone)]
pub struct ProviderMetrics {
    calls: Counter<u64>,
    errors: Counter<u64>,
    duration: Histogram<f64>,
}

impl ProviderMetrics {
    /// The instruments, made on `meter`.
    pub fn new(meter: &Meter) -> Self {
        Self {
            calls: meter
                .u64_counter(CALLS)
                .with_description("calls to AI providers, retries included")
                .build(),
            errors: meter
                .u64_counter(ERRORS)
                .with_description("calls to AI providers that failed, by the failure's code")
                .build(),
            duration: meter
                .f64_histogram(DURATION)
                .with_description("how long a call to an AI provider took")
                .with_unit("s")
                .with_boundaries(DURATION_BOUNDS.to_vec())
                .build(),
        }
    }

    /// Records one call to `provider` that took `elapsed` and ended in `outcome`.
    pub fn record<T>(
        &self,
        provider: &ProviderId,
        elapsed: Duration,
        outcome: &Result<T, ProviderError>,
    ) {
        let provider = KeyValue::new("provider", provider.as_str().to_owned());
        self.calls.add(1, std::slice::from_ref(&provider));
        self.duration
            .record(elapsed.as_secs_f64(), std::slice::from_ref(&provider));
        if let Err(error) = outcome {
            self.errors
                .add(1, &[provider, KeyValue::new("error", error_label(error))]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_labelled_by_their_kind_only() {
        let cases = [
            (ProviderError::Unavailable { status: 503 }, "UNAVAILABLE"),
            (
                ProviderError::RateLimited {
                    retry_after: Some(Duration::from_secs(3)),
                },
                "RATE_LIMITED",
            ),
            (ProviderError::Timeout, "TIMEOUT"),
            (ProviderError::Connect, "CONNECT"),
            (ProviderError::ContentPolicy, "CONTENT_POLICY"),
            (ProviderError::Unauthorized, "UNAUTHORIZED"),
        ];
        for (error, label) in cases {
            assert_eq!(error_label(&error), label, "{error:?}");
        }
    }
}
