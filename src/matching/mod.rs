//! Matching: from the candidates the index retrieved to a ranked, explained list of eligible workers.
//!
//! Layout, in pipeline order:
//! - `live.rs`: [`LiveState`], what changes every minute outside the index (bookings, suspensions, on-call
//!   windows, client favourites and blocks, per-client experience).
//! - `filters.rs`: the hard filters, cheapest first, each failure named by a [`Reason`] code.
//! - `features.rs`: the scoring [`Feature`]s, each a number in [0, 1].
//! - `policy.rs`: the versioned [`Policy`]: feature weights and the constants behind each feature.
//! - `record.rs`: the [`Record`] the index keeps per worker beside its card — what the filters and the score
//!   bound read, in one cache line — and what retrieval hands over with each candidate ([`Fast`]).
//! - `bound.rs`: a candidate decided on its record: the exact outcome of the filters and an upper bound of
//!   its score, or "unsure" (the profile decides).
//! - `share.rs`: one query's chunks of work shared between the calling thread and helper threads woken at the
//!   query's start, so that the calling thread never sleeps waiting for a core to wake.
//! - `rank.rs`: [`rank`] decides candidates in parallel (`share.rs`), on their records where it can, and scores
//!   exactly only those whose bound can reach the best `limit` ([`rank_exhaustive`] scores every one, the
//!   reference); every [`Scored`] worker carries an [`Explanation`] whose contributions sum to its score.
//!
//! Matching reads no clock and no database: `now` and the live state are inputs, and the same input gives
//! the same ranking (ties broken by worker id).

mod bound;
pub mod features;
pub mod filters;
pub mod live;
pub mod policy;
pub mod rank;
pub mod record;
pub mod share;
#[cfg(test)]
mod tests;

pub use features::Feature;
pub use filters::{Reason, check};
pub use live::{Booking, LiveState, OnCall, week_of};
pub use policy::{Policy, Weights};
pub use rank::{
    Candidate, Explanation, MatchContext, Ranking, Scored, eligible, evaluate, rank,
    rank_exhaustive,
};
pub use record::{Checked, Fast, Near, Record};
pub(crate) use share::{RANKING_NICENESS, lower_this_threads_priority};

/// Shared test data: a Shanghai order on Saturday 2026-11-28 and an eligible worker to change per test.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::domain::time::parse_instant;
    use crate::domain::*;

    /// An interval from two RFC 3339 times.
    pub(crate) fn shift(a: &str, b: &str) -> Interval {
        crate::domain::time::shift(parse_instant(a).unwrap(), parse_instant(b).unwrap()).unwrap()
    }

    /// Hall 3 in Shanghai, Saturday 09:00–18:00, one role of promoters speaking Chinese.
    pub(crate) fn order() -> Order {
        Order {
            id: OrderId::new(1),
            agency: AgencyId::new(1),
            client_ref: "expo-organizer-42".into(),
            title: "Weekend expo crew".into(),
            venue: Venue {
                name: "Hall 3".into(),
                location: LatLon::new(31.1912, 121.5804).unwrap(),
                geofence_m: 300.0,
                timezone: None,
            },
            shift: shift("2026-11-28T09:00:00+08:00", "2026-11-28T18:00:00+08:00"),
            roles: vec![Role {
                name: "promoter".into(),
                headcount: 8,
                skills: vec![SkillReq {
                    name: SkillName::new("promoter").unwrap(),
                    min_level: Level::new(2).unwrap(),
                }],
                languages: vec![Language::new("zh").unwrap()],
                certifications: vec![Certification::new("food_safety").unwrap()],
                preferred_skills: vec![],
                min_stars: MinStars::default(),
                pay_per_hour: Some(30.0),
                bill_per_hour: None,
                quotas: vec![],
                min_reliability: 0.0,
                min_completed_shifts: 0,
                pool: None,
                workers: vec![],
            }],
            standby: StandbySpec::Fixed(0),
            max_travel_km: None,
            priority: Priority::Normal,
            dispatch: DispatchSpec::default(),
            no_show_grace_min: 15,
            widen: None,
        }
    }

    /// A promoter living 11 km from Hall 3, free on weekends 08:00–22:00, rated 4.0 over ten shifts.
    pub(crate) fn worker(id: u64) -> Worker {
        Worker {
            id: WorkerId::new(id),
            agency: AgencyId::new(1),
            external_ref: format!("W-{id}"),
            name: format!("Worker {id}"),
            home: LatLon::new(31.2304, 121.4737).unwrap(),
            max_travel_km: TravelKm::new(15.0).unwrap(),
            skills: vec![Skill {
                name: SkillName::new("promoter").unwrap(),
                level: Level::new(3).unwrap(),
            }],
            languages: vec![Language::new("en").unwrap(), Language::new("zh").unwrap()],
            certifications: vec![Certification::new("food_safety").unwrap()],
            availability: Availability::new(
                "Asia/Shanghai".parse().unwrap(),
                vec![WeeklyWindow::new(
                    Days::from_bits(0b110_0000),
                    8 * 60,
                    22 * 60,
                )],
            ),
            blackouts: vec![],
            max_hours_per_week: None,
            bio: String::new(),
            status: WorkerStatus::Active,
            stats: WorkerStats {
                completed_shifts: 10,
                rating_sum: 40,
                rating_count: 10,
                ..Default::default()
            },
        }
    }
}
