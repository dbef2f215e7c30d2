//! Prometheus's text exposition format (version 0.0.4), rendered from what the SDK's reader
//! collected: one `# HELP` and `# TYPE` per instrument, one line per series (a histogram's
//! cumulative `_bucket` lines with `le`, then `_sum` and `_count`), series sorted by their
//! labels so that the page is stable. Instruments are named in Prometheus's style already
//! (`icecone_graphql_requests_total`), so names are written as they are.

use std::fmt::Write as _;

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};

/// The `Content-Type` of the page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The page for everything in `metrics`.
pub fn render(metrics: &ResourceMetrics) -> String {
    let mut families: Vec<&Metric> = metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .collect();
    families.sort_by(|a, b| a.name().cmp(b.name()));
    let mut page = String::new();
    for metric in families {
        match metric.data() {
            AggregatedMetrics::F64(data) => family(&mut page, metric, data),
            AggregatedMetrics::U64(data) => family(&mut page, metric, data),
            AggregatedMetrics::I64(data) => family(&mut page, metric, data),
        }
    }
    page
}

/// A value as Prometheus reads it.
trait Sample: Copy {
    fn text(self) -> String;
}

impl Sample for f64 {
    fn text(self) -> String {
        number(self)
    }
}

impl Sample for u64 {
    fn text(self) -> String {
        self.to_string()
    }
}

impl Sample for i64 {
    fn text(self) -> String {
        self.to_string()
    }
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

fn family<T: Sample>(page: &mut String, metric: &Metric, data: &MetricData<T>) {
    let name = metric.name();
    let kind = match data {
        MetricData::Gauge(_) => "gauge",
        MetricData::Sum(sum) if sum.is_monotonic() => "counter",
        MetricData::Sum(_) => "gauge",
        MetricData::Histogram(_) => "histogram",
        // Not made by any instrument of the gateway (no view asks for it).
        MetricData::ExponentialHistogram(_) => return,
    };
    let _ = writeln!(page, "# HELP {name} {}", escape_help(metric.description()));
    let _ = writeln!(page, "# TYPE {name} {kind}");
    let mut lines: Vec<(String, String)> = Vec::new();
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                let labels = labels(point.attributes(), None);
                lines.push((
                    labels.clone(),
                    format!("{name}{labels} {}", point.value().text()),
                ));
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                let labels = labels(point.attributes(), None);
                lines.push((
                    labels.clone(),
                    format!("{name}{labels} {}", point.value().text()),
                ));
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                let key = labels(point.attributes(), None);
                let mut text = String::new();
                let mut cumulative = 0u64;
                let counts: Vec<u64> = point.bucket_counts().collect();
                for (index, bound) in point.bounds().enumerate() {
                    cumulative += counts.get(index).copied().unwrap_or(0);
                    let labels = labels(point.attributes(), Some(&number(bound)));
                    let _ = writeln!(text, "{name}_bucket{labels} {cumulative}");
                }
                let labels_inf = labels(point.attributes(), Some("+Inf"));
                let _ = writeln!(text, "{name}_bucket{labels_inf} {}", point.count());
                let _ = writeln!(text, "{name}_sum{key} {}", point.sum().text());
                let _ = write!(text, "{name}_count{key} {}", point.count());
                lines.push((key, text));
            }
        }
        MetricData::ExponentialHistogram(_) => {}
    }
    lines.sort();
    for (_, line) in lines {
        page.push_str(&line);
        page.push('\n');
    }
}

/// `{key="value",...}` sorted by key, with `le` last when given; empty without labels.
fn labels<'a>(attributes: impl Iterator<Item = &'a KeyValue>, le: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = attributes
        .map(|pair| {
            (
                pair.key.as_str().to_owned(),
                pair.value.as_str().into_owned(),
            )
        })
        .collect();
    pairs.sort();
    if let Some(le) = le {
        pairs.push(("le".to_owned(), le.to_owned()));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}=\"{}\"", escape_value(value)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A help text: backslash and line feed escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::reader::MetricReader as _;
    use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};

    use super::*;
    use crate::metrics::SharedReader;

    fn page(record: impl FnOnce(&opentelemetry::metrics::Meter)) -> String {
        let reader = SharedReader::new(ManualReader::builder().build());
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        record(&provider.meter("test"));
        let mut collected = ResourceMetrics::default();
        reader.collect(&mut collected).expect("collects");
        render(&collected)
    }

    #[test]
    fn counters_gauges_and_histograms_are_rendered_in_the_text_format() {
        let text = page(|meter| {
            let counter = meter
                .u64_counter("demo_requests_total")
                .with_description("requests")
                .build();
            counter.add(
                2,
                &[
                    KeyValue::new("operation", "me"),
                    KeyValue::new("code", "OK"),
                ],
            );
            counter.add(
                1,
                &[
                    KeyValue::new("code", "OK"),
                    KeyValue::new("operation", "logIn"),
                ],
            );
            meter
                .i64_gauge("demo_depth")
                .with_description("depth")
                .build()
                .record(3, &[]);
            let histogram = meter
                .f64_histogram("demo_duration_seconds")
                .with_description("how long\nit took")
                .with_boundaries(vec![0.1, 1.0])
                .build();
            histogram.record(0.05, &[KeyValue::new("operation", "me")]);
            histogram.record(0.5, &[KeyValue::new("operation", "me")]);
            histogram.record(5.0, &[KeyValue::new("operation", "me")]);
        });
        let expected = "\
# HELP demo_depth depth
# TYPE demo_depth gauge
demo_depth 3
# HELP demo_duration_seconds how long\\nit took
# TYPE demo_duration_seconds histogram
demo_duration_seconds_bucket{operation=\"me\",le=\"0.1\"} 1
demo_duration_seconds_bucket{operation=\"me\",le=\"1\"} 2
demo_duration_seconds_bucket{operation=\"me\",le=\"+Inf\"} 3
demo_duration_seconds_sum{operation=\"me\"} 5.55
demo_duration_seconds_count{operation=\"me\"} 3
# HELP demo_requests_total requests
# TYPE demo_requests_total counter
demo_requests_total{code=\"OK\",operation=\"logIn\"} 1
demo_requests_total{code=\"OK\",operation=\"me\"} 2
";
        assert_eq!(text, expected);
    }

    #[test]
    fn label_values_are_escaped() {
        let text = page(|meter| {
            meter
                .u64_counter("demo_total")
                .build()
                .add(1, &[KeyValue::new("value", "a\"b\\c\nd")]);
        });
        assert!(
            text.contains(r#"demo_total{value="a\"b\\c\nd"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn special_numbers_are_written_as_prometheus_reads_them() {
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(60.0), "60");
    }
}
