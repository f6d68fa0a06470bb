//! Worker profiles on the wire: the body of `POST /v1/workers` (and of each import line), the patch, and
//! the answer.

use serde::{Deserialize, Serialize};

use super::{Period, Point};
use crate::domain::availability::format_hhmm;
use crate::domain::worker::{PeriodInput, SkillInput, WindowInput};
use crate::domain::{Worker, WorkerInput, WorkerStats};
use crate::error::FieldError;

/// A skill with its level (1–5, default 1).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillBody {
    /// Skill name, e.g. `promoter`.
    pub name: String,
    /// 1 to 5; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
}

/// A weekly window in the worker's timezone; `to` earlier than `from` crosses midnight.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    /// Day names: `mon` .. `sun`.
    pub days: Vec<String>,
    /// `HH:MM`.
    pub from: String,
    /// `HH:MM` (`24:00` allowed).
    pub to: String,
}

/// A track record carried over from another system (an extension for agencies that migrate workers).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryBody {
    /// Shifts worked to the end.
    #[serde(default)]
    pub completed_shifts: u32,
    /// Shifts not shown up for.
    #[serde(default)]
    pub no_shows: u32,
    /// Check-ins after the start.
    #[serde(default)]
    pub late_arrivals: u32,
    /// Cancelled assignments.
    #[serde(default)]
    pub cancellations: u32,
    /// Average rating, 1 to 5; null when unrated.
    #[serde(default)]
    pub rating_avg: Option<f64>,
    /// Number of ratings behind the average.
    #[serde(default)]
    pub rating_count: u32,
}

impl HistoryBody {
    /// Checks the record and turns it into statistics.
    pub fn to_stats(&self) -> Result<WorkerStats, FieldError> {
        let rating_sum = match (self.rating_avg, self.rating_count) {
            (None, 0) => 0,
            (Some(avg), n) if n > 0 && avg.is_finite() && (1.0..=5.0).contains(&avg) => {
                (avg * f64::from(n)).round() as u32
            }
            _ => {
                return Err(FieldError::new(
                    "history.rating_avg",
                    "must be between 1 and 5 with a rating_count above 0, or null with none",
                ));
            }
        };
        Ok(WorkerStats {
            completed_shifts: self.completed_shifts,
            no_shows: self.no_shows,
            late_arrivals: self.late_arrivals,
            cancellations: self.cancellations,
            cancellation_weight: f64::from(self.cancellations),
            rating_sum,
            rating_count: self.rating_count,
        })
    }
}

/// The body of `POST /v1/workers`: a whole profile, upserted by `external_ref`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerBody {
    /// The agency's key for the worker; a second POST with the same key updates.
    pub external_ref: String,
    /// Display name.
    pub name: String,
    /// Where the worker lives.
    pub home: Point,
    /// How far the worker travels; 25 km when absent.
    #[serde(default)]
    pub max_travel_km: Option<f64>,
    /// Skills with levels.
    #[serde(default)]
    pub skills: Vec<SkillBody>,
    /// Language tags.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Certifications.
    #[serde(default)]
    pub certifications: Vec<String>,
    /// IANA timezone of the availability windows.
    pub timezone: String,
    /// Weekly windows. Absent: every day, all day. An empty list: never available.
    #[serde(default)]
    pub availability: Option<Vec<WindowBody>>,
    /// Periods the worker cannot work.
    #[serde(default)]
    pub blackouts: Vec<Period>,
    /// Cap on booked hours per calendar week.
    #[serde(default)]
    pub max_hours_per_week: Option<f64>,
    /// Free text, searchable.
    #[serde(default)]
    pub bio: String,
    /// A track record from a previous system (extension); read when the worker is created, ignored on updates.
    #[serde(
        default,
        deserialize_with = "crate::wire::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub history: Option<HistoryBody>,
}

/// Windows for a worker who gave none: every day, all day.
pub fn always() -> Vec<WindowInput> {
    vec![WindowInput {
        days: crate::domain::availability::DAY_NAMES
            .iter()
            .map(|d| d.to_string())
            .collect(),
        from: "00:00".into(),
        to: "24:00".into(),
    }]
}

/// Converts wire windows.
pub fn windows_input(w: &[WindowBody]) -> Vec<WindowInput> {
    w.iter()
        .map(|w| WindowInput {
            days: w.days.clone(),
            from: w.from.clone(),
            to: w.to.clone(),
        })
        .collect()
}

/// Converts wire periods.
pub fn periods_input(p: &[Period]) -> Vec<PeriodInput> {
    p.iter()
        .map(|p| PeriodInput {
            start: p.start.clone(),
            end: p.end.clone(),
        })
        .collect()
}

impl WorkerBody {
    /// The unchecked domain input.
    pub fn to_input(&self) -> WorkerInput {
        WorkerInput {
            external_ref: self.external_ref.clone(),
            name: self.name.clone(),
            home: (self.home.lat, self.home.lon),
            max_travel_km: self.max_travel_km,
            skills: self
                .skills
                .iter()
                .map(|s| SkillInput {
                    name: s.name.clone(),
                    level: s.level,
                })
                .collect(),
            languages: self.languages.clone(),
            certifications: self.certifications.clone(),
            timezone: self.timezone.clone(),
            availability: match &self.availability {
                None => always(),
                Some(w) => windows_input(w),
            },
            blackouts: periods_input(&self.blackouts),
            max_hours_per_week: self.max_hours_per_week,
            bio: self.bio.clone(),
        }
    }

    /// The wire form of a profile (the shape a client sends), with its record as `history`.
    pub fn from_worker(w: &Worker) -> Self {
        let s = &w.stats;
        WorkerBody {
            external_ref: w.external_ref.clone(),
            name: w.name.clone(),
            home: w.home.into(),
            max_travel_km: Some(w.max_travel_km.km()),
            skills: w
                .skills
                .iter()
                .map(|s| SkillBody {
                    name: s.name.as_str().to_string(),
                    level: Some(i64::from(s.level.get())),
                })
                .collect(),
            languages: w.languages.iter().map(|l| l.as_str().to_string()).collect(),
            certifications: w
                .certifications
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            timezone: w.availability.tz().name().to_string(),
            availability: Some(windows_body(w)),
            blackouts: w.blackouts.iter().map(Period::from).collect(),
            max_hours_per_week: w.max_hours_per_week,
            bio: w.bio.clone(),
            history: (*s != WorkerStats::default()).then(|| HistoryBody {
                completed_shifts: s.completed_shifts,
                no_shows: s.no_shows,
                late_arrivals: s.late_arrivals,
                cancellations: s.cancellations,
                rating_avg: s.rating_avg(),
                rating_count: s.rating_count,
            }),
        }
    }
}

/// A worker's record and status as the log carries them: exact (the cancellation weight and the rating sum,
/// not the rounded average of `history`), so every node's index applies the same record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// `active` or `suspended`.
    pub status: String,
    /// Shifts worked to the end.
    pub completed_shifts: u32,
    /// Shifts not shown up for.
    pub no_shows: u32,
    /// Check-ins after the start.
    pub late_arrivals: u32,
    /// Cancelled assignments.
    pub cancellations: u32,
    /// Cancellations weighted by notice.
    pub cancellation_weight: f64,
    /// Sum of the star ratings.
    pub rating_sum: u32,
    /// Number of ratings.
    pub rating_count: u32,
}

impl RecordBody {
    /// The record of a worker.
    pub fn of(status: crate::domain::WorkerStatus, s: &WorkerStats) -> Self {
        RecordBody {
            status: status.as_str().to_string(),
            completed_shifts: s.completed_shifts,
            no_shows: s.no_shows,
            late_arrivals: s.late_arrivals,
            cancellations: s.cancellations,
            cancellation_weight: s.cancellation_weight,
            rating_sum: s.rating_sum,
            rating_count: s.rating_count,
        }
    }

    /// The status and statistics it holds, if the status is one the API knows.
    pub fn parts(&self) -> Option<(crate::domain::WorkerStatus, WorkerStats)> {
        let status = crate::domain::WorkerStatus::parse(&self.status).ok()?;
        Some((
            status,
            WorkerStats {
                completed_shifts: self.completed_shifts,
                no_shows: self.no_shows,
                late_arrivals: self.late_arrivals,
                cancellations: self.cancellations,
                cancellation_weight: self.cancellation_weight,
                rating_sum: self.rating_sum,
                rating_count: self.rating_count,
            },
        ))
    }
}

/// A whole worker as the log carries it: `profile` in the shape of an import line (its record as `history`,
/// which is what `crewcall replay` issues again) and the exact `record`.
pub fn worker_event(w: &Worker) -> serde_json::Value {
    serde_json::json!({
        "worker": w.id.to_string(),
        "profile": WorkerBody::from_worker(w),
        "record": RecordBody::of(w.status, &w.stats),
    })
}

/// The worker an event made by [`worker_event`] carries, as the index holds it.
pub fn worker_of_event(
    payload: &serde_json::Value,
    agency: crate::domain::AgencyId,
) -> Option<Worker> {
    let id: crate::domain::WorkerId = payload.get("worker")?.as_str()?.parse().ok()?;
    let mut body: WorkerBody = serde_json::from_value(payload.get("profile")?.clone()).ok()?;
    body.history = None;
    let record: RecordBody = serde_json::from_value(payload.get("record")?.clone()).ok()?;
    let mut w = parse_worker(&body, id, agency).ok()?;
    let (status, stats) = record.parts()?;
    w.status = status;
    w.stats = stats;
    Some(w)
}

/// A worker's windows on the wire.
pub fn windows_body(w: &Worker) -> Vec<WindowBody> {
    w.availability
        .windows()
        .iter()
        .map(|win| WindowBody {
            days: win.days().names().iter().map(|d| d.to_string()).collect(),
            from: format_hhmm(win.from_min()),
            to: format_hhmm(win.to_min()),
        })
        .collect()
}

/// Parses and checks one worker, as sent in a body or on an import line: the profile and the carried-over
/// record, or every problem with its field path.
pub fn parse_worker(
    body: &WorkerBody,
    id: crate::domain::WorkerId,
    agency: crate::domain::AgencyId,
) -> Result<Worker, Vec<FieldError>> {
    let stats = body.history.as_ref().map(HistoryBody::to_stats).transpose();
    let worker = body.to_input().validate(id, agency);
    match (worker, stats) {
        (Ok(mut w), Ok(stats)) => {
            if let Some(s) = stats {
                w.stats = s;
            }
            Ok(w)
        }
        (Err(mut es), Err(e)) => {
            es.push(e);
            Err(es)
        }
        (Err(es), Ok(_)) => Err(es),
        (Ok(_), Err(e)) => Err(vec![e]),
    }
}

/// Parses one NDJSON line of an import into a body, or says what is wrong with it (with the field path).
pub fn parse_line(line: &str) -> Result<WorkerBody, String> {
    match super::parse::<WorkerBody>(line.as_bytes()) {
        Ok(b) => Ok(b),
        Err(super::ParseError::Invalid(es)) => Err(es
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")),
        Err(super::ParseError::Malformed(m)) => Err(m),
    }
}

/// A worker's statistics as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatsView {
    /// Shifts worked to the end.
    pub completed_shifts: u32,
    /// Shifts not shown up for.
    pub no_shows: u32,
    /// Check-ins after the start.
    pub late_arrivals: u32,
    /// Cancelled assignments.
    pub cancellations: u32,
    /// Completed over due shifts, 1 when none was due.
    pub attendance_rate: f64,
    /// Average stars, null when unrated.
    pub rating_avg: Option<f64>,
    /// Number of ratings.
    pub rating_count: u32,
    /// `new`, `regular` or `star`.
    pub tier: &'static str,
}

impl From<&WorkerStats> for StatsView {
    fn from(s: &WorkerStats) -> Self {
        StatsView {
            completed_shifts: s.completed_shifts,
            no_shows: s.no_shows,
            late_arrivals: s.late_arrivals,
            cancellations: s.cancellations,
            attendance_rate: s.attendance_rate(),
            rating_avg: s.rating_avg(),
            rating_count: s.rating_count,
            tier: s.tier().as_str(),
        }
    }
}

/// A worker as the API answers: the profile, its id, status and record, and the app token on creation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkerView {
    /// The worker's id.
    pub id: String,
    /// The agency's key for the worker.
    pub external_ref: String,
    /// Display name.
    pub name: String,
    /// Where the worker lives.
    pub home: Point,
    /// How far the worker travels.
    pub max_travel_km: f64,
    /// Skills with levels.
    pub skills: Vec<SkillBody>,
    /// Language tags.
    pub languages: Vec<String>,
    /// Certifications.
    pub certifications: Vec<String>,
    /// IANA timezone of the availability windows.
    pub timezone: String,
    /// Weekly windows.
    pub availability: Vec<WindowBody>,
    /// Periods the worker cannot work.
    pub blackouts: Vec<Period>,
    /// Cap on booked hours per calendar week.
    pub max_hours_per_week: Option<f64>,
    /// Free text.
    pub bio: String,
    /// `active` or `suspended`.
    pub status: &'static str,
    /// The track record.
    pub stats: StatsView,
    /// The worker's app token; only in the answer that created the worker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_token: Option<String>,
    /// The version of the worker's record, as in its `ETag` (agency answers); `If-Match` on `PATCH` compares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl WorkerView {
    /// The view of a worker.
    pub fn of(w: &Worker, app_token: Option<String>) -> Self {
        let p = WorkerBody::from_worker(w);
        WorkerView {
            id: w.id.to_string(),
            external_ref: p.external_ref,
            name: p.name,
            home: p.home,
            max_travel_km: w.max_travel_km.km(),
            skills: p.skills,
            languages: p.languages,
            certifications: p.certifications,
            timezone: p.timezone,
            availability: p.availability.unwrap_or_default(),
            blackouts: p.blackouts,
            max_hours_per_week: p.max_hours_per_week,
            bio: p.bio,
            status: w.status.as_str(),
            stats: StatsView::from(&w.stats),
            app_token,
            version: None,
        }
    }

    /// The same view with the record's version.
    pub fn versioned(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgencyId, WorkerId};

    const LINE: &str = r#"{"external_ref":"W-1001","name":"Li Na","home":{"lat":31.2304,"lon":121.4737},
        "max_travel_km":15,"skills":[{"name":"promoter","level":3},{"name":"forklift"}],"languages":["zh","en"],
        "certifications":["food_safety"],"timezone":"Asia/Shanghai",
        "availability":[{"days":["sat","sun"],"from":"08:00","to":"22:00"},{"days":["fri"],"from":"18:00","to":"02:00"}],
        "blackouts":[{"start":"2026-12-24T00:00:00+08:00","end":"2026-12-26T00:00:00+08:00"}],
        "max_hours_per_week":40,"bio":"free text, searchable"}"#;

    #[test]
    fn the_api_example_parses_and_round_trips() {
        let body: WorkerBody = serde_json::from_str(LINE).unwrap();
        let w = parse_worker(&body, WorkerId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(w.skills.len(), 2);
        assert_eq!(w.availability.windows().len(), 2);
        let again = parse_worker(&WorkerBody::from_worker(&w), w.id, w.agency).unwrap();
        assert_eq!(again, w);
    }

    #[test]
    fn a_worker_without_windows_is_always_available_and_an_empty_list_never() {
        let mut body: WorkerBody = serde_json::from_str(LINE).unwrap();
        body.availability = None;
        let w = parse_worker(&body, WorkerId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(w.availability.windows().len(), 1);
        assert_eq!(w.availability.windows()[0].days().bits(), 0x7f);
        body.availability = Some(vec![]);
        let w = parse_worker(&body, WorkerId::new(1), AgencyId::new(1)).unwrap();
        assert!(w.availability.windows().is_empty());
    }

    #[test]
    fn a_history_becomes_the_record_and_bad_ratings_are_refused() {
        let mut body: WorkerBody = serde_json::from_str(LINE).unwrap();
        body.history = Some(HistoryBody {
            completed_shifts: 12,
            no_shows: 1,
            rating_avg: Some(4.5),
            rating_count: 4,
            ..Default::default()
        });
        let w = parse_worker(&body, WorkerId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(w.stats.rating_sum, 18);
        assert_eq!(w.stats.completed_shifts, 12);
        body.history.as_mut().unwrap().rating_avg = Some(7.0);
        let errs = parse_worker(&body, WorkerId::new(1), AgencyId::new(1)).unwrap_err();
        assert_eq!(errs[0].field, "history.rating_avg");
    }
}
