//! Metrics as CloudWatch Embedded Metric Format lines on stdout: Lambda
//! ships them to CloudWatch Logs, which extracts the metrics. No API call,
//! no extra latency, no extra permission.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Metric name → (value, unit).
type Values = BTreeMap<String, (f64, &'static str)>;

/// Counters for one invocation, flushed as EMF documents.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (dimension name, dimension value) → metrics.
    values: BTreeMap<(String, String), Values>,
}

impl Metrics {
    /// Adds `value` to `metric` under one dimension (`Function` when `dimension` is `None`).
    pub fn add(&mut self, metric: &str, dimension: Option<(&str, &str)>, value: f64) {
        self.put(metric, dimension, value, "Count");
    }

    /// Records a duration in milliseconds.
    pub fn millis(&mut self, metric: &str, value: f64) {
        self.put(metric, None, value, "Milliseconds");
    }

    fn put(
        &mut self,
        metric: &str,
        dimension: Option<(&str, &str)>,
        value: f64,
        unit: &'static str,
    ) {
        let (name, val) = dimension.unwrap_or(("", ""));
        let slot = self
            .values
            .entry((name.to_string(), val.to_string()))
            .or_default()
            .entry(metric.to_string())
            .or_insert((0.0, unit));
        slot.0 += value;
    }

    /// The EMF documents: one per dimension value, each also carrying `Function`.
    pub fn documents(&self, namespace: &str, function: &str, timestamp_ms: i64) -> Vec<Value> {
        self.values
            .iter()
            .map(|((dim, dim_value), metrics)| {
                let mut doc = Map::new();
                let mut dimensions = vec!["Function".to_string()];
                if !dim.is_empty() {
                    dimensions.push(dim.clone());
                    doc.insert(dim.clone(), json!(dim_value));
                }
                doc.insert("Function".into(), json!(function));
                let definitions: Vec<Value> = metrics
                    .iter()
                    .map(|(name, (_, unit))| json!({"Name": name, "Unit": unit}))
                    .collect();
                for (name, (value, _)) in metrics {
                    doc.insert(name.clone(), json!(value));
                }
                doc.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": namespace,
                            "Dimensions": [dimensions],
                            "Metrics": definitions,
                        }],
                    }),
                );
                Value::Object(doc)
            })
            .collect()
    }

    /// Prints the documents, one JSON line each.
    pub fn flush(&self, namespace: &str, function: &str) {
        let now = chrono::Utc::now().timestamp_millis();
        for doc in self.documents(namespace, function, now) {
            println!("{doc}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let mut m = Metrics::default();
        m.add("EventsReceived", None, 1.0);
        m.add("Sent", Some(("DestinationKind", "slack")), 1.0);
        m.add("Sent", Some(("DestinationKind", "slack")), 1.0);
        m.millis("EndToEndLatency", 1500.0);
        let docs = m.documents("gdalert", "finding-alerts", 1_700_000_000_000);
        assert_eq!(docs.len(), 2);
        let base = &docs[0];
        assert_eq!(base["EventsReceived"], 1.0);
        assert_eq!(
            base["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        let slack = &docs[1];
        assert_eq!(slack["Sent"], 2.0);
        assert_eq!(slack["DestinationKind"], "slack");
        assert_eq!(
            slack["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "DestinationKind"]])
        );
        assert_eq!(slack["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
