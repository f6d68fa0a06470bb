//! Prometheus text metrics: requests and latencies per route, plus the engine's own figures.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Latency buckets in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += v;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}\n",
                self.counts[i]
            ));
        }
        out.push_str(&format!(
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}\n",
            self.count
        ));
        out.push_str(&format!("{name}_sum{{{labels}}} {}\n", self.sum));
        out.push_str(&format!("{name}_count{{{labels}}} {}\n", self.count));
    }
}

/// Request metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    match_latency: Mutex<Histogram>,
}

impl Metrics {
    /// Records the time one matching query took.
    pub fn observe_match(&self, seconds: f64) {
        self.match_latency.lock().expect("metrics").observe(seconds);
    }

    /// Renders the request metrics in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP crewcall_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE crewcall_http_requests_total counter\n");
        for ((m, p, s), n) in self.requests.lock().expect("metrics").iter() {
            out.push_str(&format!(
                "crewcall_http_requests_total{{method=\"{m}\",route=\"{p}\",status=\"{s}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP crewcall_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE crewcall_http_request_duration_seconds histogram\n");
        for ((m, p), h) in self.latency.lock().expect("metrics").iter() {
            h.render(
                out,
                "crewcall_http_request_duration_seconds",
                &format!("method=\"{m}\",route=\"{p}\""),
            );
        }
        out.push_str(
            "# HELP crewcall_match_duration_seconds Time to rank candidates for one role.\n",
        );
        out.push_str("# TYPE crewcall_match_duration_seconds histogram\n");
        self.match_latency.lock().expect("metrics").render(
            out,
            "crewcall_match_duration_seconds",
            "",
        );
    }
}

/// The middleware that counts requests and times them.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let resp = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    *state
        .metrics
        .requests
        .lock()
        .expect("metrics")
        .entry((method.clone(), route.clone(), status))
        .or_default() += 1;
    state
        .metrics
        .latency
        .lock()
        .expect("metrics")
        .entry((method, route))
        .or_default()
        .observe(elapsed);
    resp
}
