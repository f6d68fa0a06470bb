//! Workers: the validated profile, its statistics and tier.

use chrono_tz::Tz;

use super::availability::{Availability, WeeklyWindow};
use super::geo::{LatLon, TravelKm};
use super::ids::{AgencyId, WorkerId};
use super::limits;
use super::terms::{Certification, Language, Level, Skill, SkillName, parse_terms};
use super::time::{Interval, parse_instant};
use crate::error::FieldError;

/// Whether a worker may be matched at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerStatus {
    /// Matched and offered shifts.
    Active,
    /// Kept out of matching (by the agency, or by the no-show policy).
    Suspended,
}

impl WorkerStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerStatus::Active => "active",
            WorkerStatus::Suspended => "suspended",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "active" => Ok(WorkerStatus::Active),
            "suspended" => Ok(WorkerStatus::Suspended),
            _ => Err(FieldError::new("status", "must be active or suspended")),
        }
    }
}

/// A worker's track record, kept by attendance and ratings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WorkerStats {
    /// Shifts worked to the end.
    pub completed_shifts: u32,
    /// Shifts not shown up for.
    pub no_shows: u32,
    /// Check-ins after the start.
    pub late_arrivals: u32,
    /// Assignments the worker cancelled.
    pub cancellations: u32,
    /// Cancellations weighted by how little notice they gave (1 for a day or more, up to 4 under two hours).
    pub cancellation_weight: f64,
    /// Sum of all star ratings.
    pub rating_sum: u32,
    /// Number of ratings.
    pub rating_count: u32,
}

/// A worker's standing, as defined by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Fewer than 3 completed shifts.
    New,
    /// Everyone else who is not a star.
    Regular,
    /// At least 3 completed shifts, rating average at least 4.5, attendance rate at least 0.95.
    Star,
}

impl Tier {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::New => "new",
            Tier::Regular => "regular",
            Tier::Star => "star",
        }
    }
}

impl WorkerStats {
    /// Completed shifts over shifts that were due (completed + no-shows); 1 when none was due yet.
    pub fn attendance_rate(&self) -> f64 {
        let due = self.completed_shifts + self.no_shows;
        if due == 0 {
            1.0
        } else {
            f64::from(self.completed_shifts) / f64::from(due)
        }
    }

    /// The plain average rating, if the worker has any.
    pub fn rating_avg(&self) -> Option<f64> {
        (self.rating_count > 0).then(|| f64::from(self.rating_sum) / f64::from(self.rating_count))
    }

    /// The tier, by the API's rule.
    pub fn tier(&self) -> Tier {
        if self.completed_shifts < 3 {
            Tier::New
        } else if self.rating_avg().is_some_and(|r| r >= 4.5) && self.attendance_rate() >= 0.95 {
            Tier::Star
        } else {
            Tier::Regular
        }
    }
}

/// The travel limit a worker gets when the profile does not give one.
pub const DEFAULT_TRAVEL_KM: f64 = 25.0;

/// A worker's profile, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// The worker.
    pub id: WorkerId,
    /// The agency the worker belongs to.
    pub agency: AgencyId,
    /// The agency's own key for the worker, unique within the agency.
    pub external_ref: String,
    /// Display name.
    pub name: String,
    /// Where the worker lives; distances are measured from here.
    pub home: LatLon,
    /// How far the worker is willing to travel.
    pub max_travel_km: TravelKm,
    /// Skills with levels, sorted by name, one entry per skill.
    pub skills: Vec<Skill>,
    /// Languages, sorted.
    pub languages: Vec<Language>,
    /// Certifications, sorted.
    pub certifications: Vec<Certification>,
    /// Weekly windows in the worker's timezone.
    pub availability: Availability,
    /// Periods the worker cannot work.
    pub blackouts: Vec<Interval>,
    /// Cap on booked hours in a calendar week (Monday to Sunday, in the worker's timezone).
    pub max_hours_per_week: Option<f64>,
    /// Free text, searchable.
    pub bio: String,
    /// Active or suspended.
    pub status: WorkerStatus,
    /// Track record.
    pub stats: WorkerStats,
}

impl Worker {
    /// The worker's level in a skill, if the worker has it.
    pub fn skill_level(&self, name: &SkillName) -> Option<Level> {
        self.skills
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            .map(|i| self.skills[i].level)
    }

    /// Whether the worker speaks a language.
    pub fn speaks(&self, lang: &Language) -> bool {
        self.languages.binary_search(lang).is_ok()
    }

    /// Whether the worker holds a certification.
    pub fn certified(&self, cert: &Certification) -> bool {
        self.certifications.binary_search(cert).is_ok()
    }
}

/// A worker's skill as given by a client, before checks.
#[derive(Debug, Clone, Default)]
pub struct SkillInput {
    /// Skill name.
    pub name: String,
    /// Level, 1 to 5; 1 when absent.
    pub level: Option<i64>,
}

/// A weekly window as given by a client.
#[derive(Debug, Clone, Default)]
pub struct WindowInput {
    /// Day names.
    pub days: Vec<String>,
    /// `HH:MM`.
    pub from: String,
    /// `HH:MM`, may be `24:00`.
    pub to: String,
}

/// A period as given by a client (RFC 3339 with offsets).
#[derive(Debug, Clone, Default)]
pub struct PeriodInput {
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
}

/// A worker profile as given by a client, before checks.
#[derive(Debug, Clone, Default)]
pub struct WorkerInput {
    /// The agency's key for the worker.
    pub external_ref: String,
    /// Display name.
    pub name: String,
    /// Home latitude and longitude.
    pub home: (f64, f64),
    /// Travel limit; [`DEFAULT_TRAVEL_KM`] when absent.
    pub max_travel_km: Option<f64>,
    /// Skills.
    pub skills: Vec<SkillInput>,
    /// Language tags.
    pub languages: Vec<String>,
    /// Certifications.
    pub certifications: Vec<String>,
    /// IANA timezone.
    pub timezone: String,
    /// Weekly windows.
    pub availability: Vec<WindowInput>,
    /// Blackout periods.
    pub blackouts: Vec<PeriodInput>,
    /// Weekly hours cap.
    pub max_hours_per_week: Option<f64>,
    /// Free text.
    pub bio: String,
}

/// Checks a list of windows; errors are reported under `availability[i]`.
pub fn parse_windows(
    field: &str,
    raw: &[WindowInput],
    errors: &mut Vec<FieldError>,
) -> Vec<WeeklyWindow> {
    let mut out = Vec::new();
    if !limits::within(field, raw.len(), limits::AVAILABILITY_WINDOWS, errors) {
        return out;
    }
    for (i, w) in raw.iter().enumerate() {
        if !limits::within(
            &format!("{field}[{i}].days"),
            w.days.len(),
            limits::WINDOW_DAYS,
            errors,
        ) {
            continue;
        }
        match WeeklyWindow::parse(&w.days, &w.from, &w.to) {
            Ok(w) => out.push(w),
            Err(es) => errors.extend(es.into_iter().map(|e| e.under(&format!("{field}[{i}]")))),
        }
    }
    out
}

/// Checks a list of periods; errors are reported under `blackouts[i]`.
pub fn parse_periods(
    field: &str,
    raw: &[PeriodInput],
    errors: &mut Vec<FieldError>,
) -> Vec<Interval> {
    let mut out = Vec::new();
    if !limits::within(field, raw.len(), limits::BLACKOUTS, errors) {
        return out;
    }
    for (i, p) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let s = parse_instant(&p.start)
            .map_err(|e| errors.push(e.under(&format!("{at}.start"))))
            .ok();
        let e = parse_instant(&p.end)
            .map_err(|e| errors.push(e.under(&format!("{at}.end"))))
            .ok();
        if let (Some(s), Some(e)) = (s, e) {
            match Interval::new(s, e) {
                Ok(iv) => out.push(iv),
                Err(err) => errors.push(err.under(&at)),
            }
        }
    }
    out.sort();
    out
}

impl WorkerInput {
    /// Checks every field and builds the worker, or lists every problem with its field path.
    pub fn validate(self, id: WorkerId, agency: AgencyId) -> Result<Worker, Vec<FieldError>> {
        let mut errors = Vec::new();
        let external_ref = self.external_ref.trim().to_string();
        if external_ref.is_empty() || external_ref.len() > 128 {
            errors.push(FieldError::new(
                "external_ref",
                "must be 1 to 128 characters",
            ));
        }
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        let home = LatLon::new(self.home.0, self.home.1)
            .map_err(|es| errors.extend(es.into_iter().map(|e| e.under("home"))))
            .ok();
        let travel = TravelKm::new(self.max_travel_km.unwrap_or(DEFAULT_TRAVEL_KM))
            .map_err(|e| errors.push(e.under("max_travel_km")))
            .ok();
        let mut skills: Vec<Skill> = Vec::new();
        let skill_list = if limits::within(
            "skills",
            self.skills.len(),
            limits::WORKER_SKILLS,
            &mut errors,
        ) {
            &self.skills[..]
        } else {
            &[]
        };
        for (i, s) in skill_list.iter().enumerate() {
            let at = format!("skills[{i}]");
            let name = SkillName::new(&s.name)
                .map_err(|e| errors.push(e.under(&format!("{at}.name"))))
                .ok();
            let level = Level::new(s.level.unwrap_or(1))
                .map_err(|e| errors.push(e.under(&at)))
                .ok();
            if let (Some(name), Some(level)) = (name, level) {
                match skills.iter_mut().find(|k| k.name == name) {
                    Some(k) => k.level = k.level.max(level),
                    None => skills.push(Skill { name, level }),
                }
            }
        }
        skills.sort_by(|a, b| a.name.cmp(&b.name));
        let languages = parse_terms(
            "languages",
            &self.languages,
            limits::WORKER_LANGUAGES,
            Language::new,
            &mut errors,
        );
        let certifications = parse_terms(
            "certifications",
            &self.certifications,
            limits::WORKER_CERTIFICATIONS,
            Certification::new,
            &mut errors,
        );
        let tz: Option<Tz> = super::time::parse_tz(&self.timezone)
            .map_err(|e| errors.push(e.under("timezone")))
            .ok();
        let windows = parse_windows("availability", &self.availability, &mut errors);
        let blackouts = parse_periods("blackouts", &self.blackouts, &mut errors);
        if let Some(h) = self.max_hours_per_week
            && !(h.is_finite() && h > 0.0 && h <= 168.0)
        {
            {
                errors.push(FieldError::new(
                    "max_hours_per_week",
                    "must be above 0 and at most 168",
                ));
            }
        }
        if self.bio.chars().count() > 4000 {
            errors.push(FieldError::new("bio", "at most 4000 characters"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Worker {
            id,
            agency,
            external_ref,
            name,
            home: home.unwrap(),
            max_travel_km: travel.unwrap(),
            skills,
            languages,
            certifications,
            availability: Availability::new(tz.unwrap(), windows),
            blackouts,
            max_hours_per_week: self.max_hours_per_week,
            bio: self.bio,
            status: WorkerStatus::Active,
            stats: WorkerStats::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> WorkerInput {
        WorkerInput {
            external_ref: "W-1001".into(),
            name: "Li Na".into(),
            home: (31.2304, 121.4737),
            max_travel_km: Some(15.0),
            skills: vec![
                SkillInput {
                    name: "promoter".into(),
                    level: Some(3),
                },
                SkillInput {
                    name: "forklift".into(),
                    level: None,
                },
            ],
            languages: vec!["zh".into(), "en".into()],
            certifications: vec!["food_safety".into()],
            timezone: "Asia/Shanghai".into(),
            availability: vec![WindowInput {
                days: vec!["sat".into()],
                from: "08:00".into(),
                to: "22:00".into(),
            }],
            blackouts: vec![],
            max_hours_per_week: Some(40.0),
            bio: String::new(),
        }
    }

    #[test]
    fn a_valid_profile_is_normalised() {
        let w = input()
            .validate(WorkerId::new(1), AgencyId::new(1))
            .unwrap();
        assert_eq!(w.skills[0].name.as_str(), "forklift");
        assert_eq!(w.skills[0].level, Level::MIN);
        assert_eq!(
            w.skill_level(&SkillName::new("promoter").unwrap()),
            Some(Level::new(3).unwrap())
        );
        assert!(w.speaks(&Language::new("en").unwrap()));
        assert_eq!(w.stats.tier(), Tier::New);
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path() {
        let mut i = input();
        i.home = (95.0, 121.0);
        i.skills[1].level = Some(9);
        i.languages.push("not a tag".into());
        i.timezone = "Mars/Olympus".into();
        i.availability[0].to = "25:00".into();
        let errs = i.validate(WorkerId::new(1), AgencyId::new(1)).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "home.lat",
                "skills[1].level",
                "languages[2]",
                "timezone",
                "availability[0].to"
            ]
        );
    }

    #[test]
    fn tiers_follow_the_api_rule() {
        let mut s = WorkerStats {
            completed_shifts: 2,
            rating_sum: 10,
            rating_count: 2,
            ..Default::default()
        };
        assert_eq!(s.tier(), Tier::New);
        s.completed_shifts = 20;
        assert_eq!(s.tier(), Tier::Star);
        s.no_shows = 2; // 20 / 22 < 0.95
        assert_eq!(s.tier(), Tier::Regular);
        s.no_shows = 1; // 20 / 21 = 0.952
        assert_eq!(s.tier(), Tier::Star);
        s.rating_sum = 8; // 4.0
        assert_eq!(s.tier(), Tier::Regular);
    }
}
