//! The hidden nature of a generated worker: how reliable, punctual, willing and good the person is. The track
//! record in a worker's stats is drawn from these, and the behaviour model of the simulation will draw the
//! worker's future (accepting offers, showing up, arriving late, ratings) from the same values.
//!
//! Traits come from their own random stream per (seed, worker id), so the simulation can recompute them for
//! any worker without generating, storing or sharing the profiles.

use super::rng::Rng;
use crate::domain::WorkerId;

/// Stream salt that keeps traits apart from the profile's own draws.
const TRAITS_SALT: u64 = 0x7a17_5eed;

/// A worker's behaviour, as probabilities and a rating level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traits {
    /// Probability of showing up to a confirmed shift (beta-like, mostly 0.85–1).
    pub reliability: f64,
    /// Probability of checking in on time, given the worker shows up.
    pub punctuality: f64,
    /// Probability of accepting an offer that fits the worker.
    pub acceptance: f64,
    /// Probability of cancelling a confirmed shift ahead of time.
    pub cancel_rate: f64,
    /// The average rating clients tend to give the worker, 1 to 5 (around 4.2, better for the reliable).
    pub quality: f64,
}

/// The traits of worker `id` under `seed`.
pub fn traits(seed: u64, id: WorkerId) -> Traits {
    let mut rng = Rng::stream(seed ^ TRAITS_SALT, id.get());
    let reliability = rng.beta_like(12.0, 1.2).clamp(0.3, 1.0);
    let punctuality = rng.beta_like(6.0, 1.0).clamp(0.5, 1.0);
    let acceptance = rng.beta_like(2.0, 1.5);
    let cancel_rate = 0.06 * rng.beta_like(1.0, 3.0);
    let quality = rng
        .normal(4.2 + (reliability - 0.9) * 3.0, 0.35)
        .clamp(1.0, 5.0);
    Traits {
        reliability,
        punctuality,
        acceptance,
        cancel_rate,
        quality,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traits_are_a_function_of_seed_and_id() {
        assert_eq!(traits(1, WorkerId::new(5)), traits(1, WorkerId::new(5)));
        assert_ne!(traits(1, WorkerId::new(5)), traits(2, WorkerId::new(5)));
        assert_ne!(traits(1, WorkerId::new(5)), traits(1, WorkerId::new(6)));
    }

    #[test]
    fn traits_are_probabilities_spread_as_designed() {
        let ts: Vec<Traits> = (1..=20_000).map(|i| traits(3, WorkerId::new(i))).collect();
        let mean = |f: fn(&Traits) -> f64| ts.iter().map(f).sum::<f64>() / ts.len() as f64;
        for t in &ts {
            for p in [t.reliability, t.punctuality, t.acceptance, t.cancel_rate] {
                assert!((0.0..=1.0).contains(&p));
            }
            assert!((1.0..=5.0).contains(&t.quality));
        }
        let r = mean(|t| t.reliability);
        assert!((0.88..0.95).contains(&r), "{r}");
        let unreliable = ts.iter().filter(|t| t.reliability < 0.7).count() as f64 / ts.len() as f64;
        assert!((0.01..0.1).contains(&unreliable), "{unreliable}");
        let q = mean(|t| t.quality);
        assert!((4.0..4.4).contains(&q), "{q}");
    }
}
