//! The engine's configuration as the log records it. At every start the engine writes an `engine_config` event
//! when its configuration differs from the last one recorded (or none is): the policy version, the rest gap,
//! the no-show policy, the re-offer pause, the photo limits and the kind of clock. `crewcall replay` starts its
//! engine with the configuration the log recorded, and starts it again when the log records another one, so a
//! log replays under the rules it was made with.
//!
//! Where photos are kept and the admin token are not recorded: they change no decision.

use serde_json::{Value, json};

use super::attendance::NoShowPolicy;
use super::{Engine, EngineConfig, ms};
use crate::error::Error;
use crate::matching::Policy;
use crate::store;

/// The kind of the event that records the configuration.
pub const CONFIG_EVENT: &str = "engine_config";

impl EngineConfig {
    /// The configuration as the log records it (the defaults spelled out), with the kind of clock.
    pub fn recorded(&self, manual_clock: bool) -> Value {
        let rest_gap = self.rest_gap.unwrap_or_else(|| Policy::default().rest_gap);
        json!({
            "policy_version": self.policy_version.unwrap_or(Policy::CURRENT),
            "rest_gap_min": rest_gap.num_minutes(),
            "no_show": {
                "strikes_to_suspend": self.no_show_policy.strikes_to_suspend,
                "strike_window_min": self.no_show_policy.strike_window.num_minutes(),
                "clean_shifts_per_strike": self.no_show_policy.clean_shifts_per_strike,
            },
            "reoffer_after_min": self.reoffer_after_min.unwrap_or(super::DEFAULT_REOFFER_AFTER_MIN),
            "photos": {
                "max_bytes": self.photos.max_bytes,
                "retention_min": self.photos.retention.num_minutes(),
                "per_assignment": self.photos.per_assignment,
            },
            "clock": if manual_clock { "manual" } else { "system" },
        })
    }

    /// This configuration with what a recorded one says (what it does not say keeps its value here). A policy
    /// version this build does not know is refused.
    pub fn with_recorded(mut self, p: &Value) -> crate::Result<EngineConfig> {
        let int = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64);
        if let Some(v) = int(p, "policy_version") {
            let v = u32::try_from(v).unwrap_or(0);
            if Policy::of_version(v).is_none() {
                return Err(Error::Conflict(format!(
                    "the log was made under scoring policy version {v}, which this build does not know \
                     (it knows 1 to {}); replay it with the build that made it",
                    Policy::CURRENT
                )));
            }
            self.policy_version = Some(v);
        }
        if let Some(m) = int(p, "rest_gap_min") {
            self.rest_gap = Some(chrono::Duration::minutes(m));
        }
        if let Some(n) = p.get("no_show") {
            let d = NoShowPolicy::default();
            self.no_show_policy = NoShowPolicy {
                strikes_to_suspend: int(n, "strikes_to_suspend")
                    .map_or(d.strikes_to_suspend, |v| v.max(0) as usize),
                strike_window: int(n, "strike_window_min")
                    .map_or(d.strike_window, chrono::Duration::minutes),
                clean_shifts_per_strike: int(n, "clean_shifts_per_strike")
                    .map_or(d.clean_shifts_per_strike, |v| v.max(0) as usize),
            };
        }
        if let Some(m) = int(p, "reoffer_after_min") {
            self.reoffer_after_min = Some(u32::try_from(m.max(0)).unwrap_or(u32::MAX));
        }
        if let Some(ph) = p.get("photos") {
            if let Some(b) = int(ph, "max_bytes") {
                self.photos.max_bytes = b.max(0) as usize;
            }
            if let Some(m) = int(ph, "retention_min") {
                self.photos.retention = chrono::Duration::minutes(m);
            }
            if let Some(n) = int(ph, "per_assignment") {
                self.photos.per_assignment = n;
            }
        }
        Ok(self)
    }
}

/// The scoring policy of a configuration, or a clear refusal for a version this build does not know.
pub(super) fn policy_of(config: &EngineConfig) -> crate::Result<Policy> {
    let version = config.policy_version.unwrap_or(Policy::CURRENT);
    let mut policy = Policy::of_version(version).ok_or_else(|| {
        Error::Conflict(format!(
            "scoring policy version {version} is not known to this build (it knows 1 to {})",
            Policy::CURRENT
        ))
    })?;
    if let Some(gap) = config.rest_gap {
        policy.rest_gap = gap;
    }
    Ok(policy)
}

/// The configuration the log recorded last, if any.
pub async fn last_recorded(store: &store::Store) -> crate::Result<Option<Value>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT payload FROM events WHERE kind = 'engine_config' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(store.pool())
    .await
    .map_err(store::db_error)?;
    Ok(row.and_then(|(p,)| serde_json::from_str(&p).ok()))
}

impl Engine {
    /// Records the configuration the engine started with, unless the log's last record says the same.
    pub(super) async fn record_config(&self, recorded: Value) -> crate::Result<()> {
        if last_recorded(&self.store).await?.as_ref() == Some(&recorded) {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        store::events::append(&mut tx, ms(self.now()), None, CONFIG_EVENT, &recorded).await?;
        self.committed(tx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_configuration_reads_back_as_itself() {
        let config = EngineConfig {
            rest_gap: Some(chrono::Duration::hours(10)),
            no_show_policy: NoShowPolicy {
                strikes_to_suspend: 2,
                strike_window: chrono::Duration::days(14),
                clean_shifts_per_strike: 3,
            },
            reoffer_after_min: Some(0),
            policy_version: Some(1),
            ..EngineConfig::default()
        };
        let recorded = config.recorded(true);
        assert_eq!(recorded["policy_version"], 1);
        assert_eq!(recorded["rest_gap_min"], 600);
        assert_eq!(recorded["reoffer_after_min"], 0);
        assert_eq!(recorded["clock"], "manual");
        let read = EngineConfig::default().with_recorded(&recorded).unwrap();
        assert_eq!(read.recorded(true), recorded);
        assert_eq!(policy_of(&read).unwrap().pool_bonus, 0.0);
        assert_eq!(
            policy_of(&read).unwrap().rest_gap,
            chrono::Duration::hours(10)
        );
        // The defaults spelled out: the current policy.
        assert_eq!(
            EngineConfig::default().recorded(false)["policy_version"],
            Policy::CURRENT
        );
    }

    #[test]
    fn a_policy_version_this_build_does_not_know_is_refused_clearly() {
        let err = EngineConfig::default()
            .with_recorded(&json!({"policy_version": 9}))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict(m) if m.contains("version 9")),
            "{err}"
        );
        let config = EngineConfig {
            policy_version: Some(9),
            ..EngineConfig::default()
        };
        assert!(policy_of(&config).is_err());
    }
}
