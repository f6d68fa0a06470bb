//! How well the engine's show-up probabilities predict who comes: every shift booked in the log gets the
//! probability the engine gave its worker when it was booked (their record and their agency's history as the log
//! stood then), and the outcome when the shift began (checked in, or a no-show). Reported by decile of the
//! prediction (predicted against observed) and as a Brier score, beside the score of the policy's constant prior,
//! which the fitted prior replaced.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::dispatch::standby::{History, Prior, show_up};
use crate::domain::WorkerStats;
use crate::matching::Policy;
use crate::store::events::StoredEvent;

/// One decile of the predictions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bin {
    /// Shifts in the bin.
    pub shifts: usize,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Share that showed up.
    pub observed: f64,
}

/// Predicted against observed show-ups.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calibration {
    /// Shifts whose outcome is known.
    pub shifts: usize,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Share that showed up.
    pub observed: f64,
    /// Mean squared error of the predictions (0 is perfect; always predicting the observed share scores
    /// `observed · (1 − observed)`).
    pub brier: f64,
    /// The same score had the policy's constant prior been used.
    pub brier_constant_prior: f64,
    /// Mean prediction under the constant prior.
    pub predicted_constant_prior: f64,
    /// Ten bins of (nearly) equal size, by prediction.
    pub deciles: Vec<Bin>,
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn count(v: &Value, k: &str) -> u32 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0) as u32
}

/// Reads the calibration out of a log.
pub fn calibrate(events: &[StoredEvent], policy: &Policy) -> Calibration {
    // Each worker's record (their agency, completed, no-shows) and each agency's history, as the log stands.
    let mut records: HashMap<String, (i64, WorkerStats)> = HashMap::new();
    let mut histories: HashMap<i64, History> = HashMap::new();
    // Booked shifts: assignment → (fitted prediction, constant-prior prediction).
    let mut booked: HashMap<String, (f64, f64)> = HashMap::new();
    let mut points: Vec<(f64, f64, bool)> = Vec::new();
    let constant = Prior::of_policy(policy);
    for e in events {
        let p = &e.payload;
        let set_record = |records: &mut HashMap<String, (i64, WorkerStats)>,
                          histories: &mut HashMap<i64, History>,
                          worker: &str,
                          done: u32,
                          missed: u32| {
            let agency = e.agency.unwrap_or(0);
            let stats = WorkerStats {
                completed_shifts: done,
                no_shows: missed,
                ..WorkerStats::default()
            };
            if let Some((a, old)) = records.insert(worker.to_string(), (agency, stats)) {
                histories.entry(a).or_default().remove(&old);
            }
            histories.entry(agency).or_default().add(&stats);
        };
        match e.kind.as_str() {
            "worker_created" | "worker_updated" | "availability_set" => {
                let worker = text(p, "worker");
                let record = &p["record"];
                if !worker.is_empty() && record.is_object() {
                    set_record(
                        &mut records,
                        &mut histories,
                        worker,
                        count(record, "completed_shifts"),
                        count(record, "no_shows"),
                    );
                }
            }
            "worker_stats" => set_record(
                &mut records,
                &mut histories,
                text(p, "worker"),
                count(p, "completed_shifts"),
                count(p, "no_shows"),
            ),
            "assignment_made" if text(p, "kind") == "shift" => {
                let (agency, stats) = records
                    .get(text(p, "worker"))
                    .copied()
                    .unwrap_or((e.agency.unwrap_or(0), WorkerStats::default()));
                let history = histories.get(&agency).copied().unwrap_or_default();
                let fitted = Prior::fitted(policy, &history);
                booked.insert(
                    text(p, "assignment").to_string(),
                    (show_up(&stats, fitted), show_up(&stats, constant)),
                );
            }
            "checked_in" => {
                if let Some((f, c)) = booked.remove(text(p, "assignment")) {
                    points.push((f, c, true));
                }
            }
            "assignment_ended" if text(p, "status") == "no_show" => {
                if let Some((f, c)) = booked.remove(text(p, "assignment")) {
                    points.push((f, c, false));
                }
            }
            _ => {}
        }
    }
    of_points(points)
}

/// The figures of (fitted prediction, constant-prior prediction, showed) triples.
fn of_points(mut points: Vec<(f64, f64, bool)>) -> Calibration {
    let n = points.len();
    if n == 0 {
        return Calibration::default();
    }
    let y = |s: bool| if s { 1.0 } else { 0.0 };
    let mean = |f: &dyn Fn(&(f64, f64, bool)) -> f64| points.iter().map(f).sum::<f64>() / n as f64;
    let predicted = mean(&|p| p.0);
    let predicted_constant_prior = mean(&|p| p.1);
    let observed = mean(&|p| y(p.2));
    let brier = mean(&|p| (p.0 - y(p.2)).powi(2));
    let brier_constant_prior = mean(&|p| (p.1 - y(p.2)).powi(2));
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let deciles = (0..10)
        .map(|d| &points[d * n / 10..(d + 1) * n / 10])
        .filter(|bin| !bin.is_empty())
        .map(|bin| Bin {
            shifts: bin.len(),
            predicted: bin.iter().map(|p| p.0).sum::<f64>() / bin.len() as f64,
            observed: bin.iter().map(|p| y(p.2)).sum::<f64>() / bin.len() as f64,
        })
        .collect();
    Calibration {
        shifts: n,
        predicted,
        observed,
        brier,
        brier_constant_prior,
        predicted_constant_prior,
        deciles,
    }
}

impl Calibration {
    /// The figures as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "shifts": self.shifts,
            "predicted": self.predicted,
            "observed": self.observed,
            "brier": self.brier,
            "brier_constant_prior": self.brier_constant_prior,
            "predicted_constant_prior": self.predicted_constant_prior,
            "deciles": self.deciles.iter().map(|b| json!({
                "shifts": b.shifts, "predicted": b.predicted, "observed": b.observed
            })).collect::<Vec<_>>(),
        })
    }

    /// A short table: one line per decile, then the scores.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out =
            String::from("show-up calibration (predicted when booked, observed at start)\n");
        let _ = writeln!(out, "  decile  shifts  predicted  observed");
        for (i, b) in self.deciles.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>6}  {:>6}  {:>8.1}%  {:>7.1}%",
                i + 1,
                b.shifts,
                b.predicted * 100.0,
                b.observed * 100.0
            );
        }
        let _ = writeln!(
            out,
            "  all     {:>6}  {:>8.1}%  {:>7.1}%   Brier {:.4} (the policy's constant prior: {:.1}% predicted, Brier {:.4})",
            self.shifts,
            self.predicted * 100.0,
            self.observed * 100.0,
            self.brier,
            self.predicted_constant_prior * 100.0,
            self.brier_constant_prior
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, kind: &str, payload: Value) -> StoredEvent {
        StoredEvent {
            seq,
            at_ms: seq * 60_000,
            agency: Some(1),
            kind: kind.into(),
            payload,
        }
    }

    #[test]
    fn a_booking_is_predicted_from_the_record_and_the_agency_s_history_at_that_time() {
        let policy = Policy::default();
        let events = vec![
            ev(
                1,
                "worker_created",
                json!({"worker": "wrk_a", "record": {"completed_shifts": 90, "no_shows": 10}}),
            ),
            ev(
                2,
                "worker_created",
                json!({"worker": "wrk_b", "record": {"completed_shifts": 0, "no_shows": 0}}),
            ),
            ev(
                3,
                "assignment_made",
                json!({"assignment": "asg_1", "worker": "wrk_b", "kind": "shift"}),
            ),
            ev(
                4,
                "assignment_made",
                json!({"assignment": "asg_2", "worker": "wrk_a", "kind": "shift"}),
            ),
            ev(
                5,
                "assignment_made",
                json!({"assignment": "asg_3", "worker": "wrk_a", "kind": "standby"}),
            ),
            ev(6, "checked_in", json!({"assignment": "asg_1"})),
            ev(
                7,
                "assignment_ended",
                json!({"assignment": "asg_2", "status": "no_show"}),
            ),
            ev(
                8,
                "assignment_ended",
                json!({"assignment": "asg_3", "status": "released"}),
            ),
        ];
        let c = calibrate(&events, &policy);
        assert_eq!(c.shifts, 2, "standbys are not shifts");
        // The newcomer at an agency that shows 90%: (4·(94/105) + 0) / 5.
        let newcomer = 94.0 / 105.0;
        let regular = (5.0 * newcomer + 90.0) / 105.0;
        assert!((c.predicted - (newcomer + regular) / 2.0).abs() < 1e-12);
        assert!((c.observed - 0.5).abs() < 1e-12);
        let brier = ((newcomer - 1.0).powi(2) + regular.powi(2)) / 2.0;
        assert!((c.brier - brier).abs() < 1e-12);
        let constant = ((0.8f64 - 1.0).powi(2) + (94.0f64 / 105.0).powi(2)) / 2.0;
        assert!((c.brier_constant_prior - constant).abs() < 1e-12);
        assert_eq!(c.deciles.iter().map(|b| b.shifts).sum::<usize>(), 2);
    }

    #[test]
    fn deciles_split_the_predictions_in_order() {
        let points: Vec<(f64, f64, bool)> = (0..100)
            .map(|i| (f64::from(i) / 100.0, 0.5, i % 2 == 0))
            .collect();
        let c = of_points(points);
        assert_eq!(c.deciles.len(), 10);
        assert!(c.deciles.iter().all(|b| b.shifts == 10));
        assert!((c.deciles[0].predicted - 0.045).abs() < 1e-12);
        assert!((c.deciles[9].predicted - 0.945).abs() < 1e-12);
    }
}
