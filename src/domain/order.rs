//! Orders: a venue, a shift, roles with headcounts and requirements, and how to staff them.

use chrono::DateTime;
use chrono::Utc;

use super::geo::{LatLon, TravelKm};
use super::ids::{AgencyId, OrderId, PoolId, WorkerId};
use super::limits;
use super::terms::{Certification, Language, Level, MinStars, SkillName, SkillReq, parse_terms};
use super::time::{Interval, parse_instant, shift};
use crate::error::FieldError;

/// How urgent an order is; `high` and `urgent` give `star` workers precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// The default.
    #[default]
    Normal,
    /// Important to the client.
    High,
    /// Needed now.
    Urgent,
}

impl Priority {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "normal" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            "urgent" => Ok(Priority::Urgent),
            _ => Err(FieldError::new(
                "priority",
                "must be normal, high or urgent",
            )),
        }
    }

    /// Whether star workers get precedence.
    pub fn favours_stars(self) -> bool {
        self != Priority::Normal
    }
}

/// How many standby workers an order holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandbySpec {
    /// Exactly this many.
    Fixed(u32),
    /// The fewest that make a full crew at start at least 97% likely.
    Auto,
    /// The fewest that make a full crew at start at least this likely, in ten-thousandths (`{"auto": 0.99}`
    /// is 9900); never 9700, which is [`StandbySpec::Auto`].
    AutoTarget(u16),
    /// Floaters held by the area's on-call pool, shared with the other pooled orders of the same area, block
    /// of the day and skills, sized so that every order of the pool is full at start at least this likely
    /// (ten-thousandths; `"pooled"` is 9700).
    Pooled(u16),
}

impl StandbySpec {
    /// The target probability of a full crew at start, for the computed sizes.
    pub fn auto_target(self) -> Option<f64> {
        match self {
            StandbySpec::Fixed(_) => None,
            StandbySpec::Auto => Some(0.97),
            StandbySpec::AutoTarget(t) => Some(f64::from(t) / 10_000.0),
            StandbySpec::Pooled(_) => None,
        }
    }

    /// The target probability that every order of the pool is full at start, for a pooled order.
    pub fn pool_target(self) -> Option<f64> {
        match self {
            StandbySpec::Pooled(t) => Some(f64::from(t) / 10_000.0),
            _ => None,
        }
    }

    /// Whether the order's standbys are held per order (a number above zero, or computed).
    pub fn per_order(self) -> bool {
        !matches!(self, StandbySpec::Fixed(0) | StandbySpec::Pooled(_))
    }
}

/// How slots are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DispatchMode {
    /// The engine confirms the best crew at once.
    Assign,
    /// Offers go out and workers accept.
    Offer,
}

/// Dispatch settings of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DispatchSpec {
    /// Assign or offer.
    pub mode: DispatchMode,
    /// How long an offer stays open, in seconds.
    pub offer_ttl_s: u32,
    /// Offers sent per open slot at once.
    pub fanout: u32,
}

impl Default for DispatchSpec {
    fn default() -> Self {
        Self {
            mode: DispatchMode::Offer,
            offer_ttl_s: 900,
            fanout: 1,
        }
    }
}

/// The place of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// What the venue is called.
    pub name: String,
    /// Where it is.
    pub location: LatLon,
    /// Radius around it within which a check-in counts, in metres.
    pub geofence_m: f64,
    /// Its IANA timezone, when given: a repeating order keeps its shifts' local times in it across DST.
    pub timezone: Option<chrono_tz::Tz>,
}

/// A composition quota inside a role: at least `at_least` of its crew must meet every listed requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quota {
    /// How many of the role's crew must meet it.
    pub at_least: u32,
    /// Skills (with levels) the quota asks for.
    pub skills: Vec<SkillReq>,
    /// Languages the quota asks for.
    pub languages: Vec<Language>,
    /// Certifications the quota asks for.
    pub certifications: Vec<Certification>,
}

/// One role of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// The role's name, unique within the order.
    pub name: String,
    /// How many workers it needs.
    pub headcount: u32,
    /// Skills every worker must have, at a level.
    pub skills: Vec<SkillReq>,
    /// Languages every worker must speak.
    pub languages: Vec<Language>,
    /// Certifications every worker must hold.
    pub certifications: Vec<Certification>,
    /// Skills that rank a worker higher.
    pub preferred_skills: Vec<SkillName>,
    /// Minimum rating average (0: anyone, the unrated included).
    pub min_stars: MinStars,
    /// Pay, per hour.
    pub pay_per_hour: Option<f64>,
    /// What the client is billed, per hour.
    pub bill_per_hour: Option<f64>,
    /// Composition quotas inside the role.
    pub quotas: Vec<Quota>,
    /// Minimum reliability (the matching's reliability feature, 0–1; 0: anyone).
    pub min_reliability: f64,
    /// Minimum number of completed shifts (0: anyone, newcomers included).
    pub min_completed_shifts: u32,
    /// A talent pool of the agency the role restricts its candidates to, or prefers.
    pub pool: Option<RolePool>,
    /// Workers the agency names for the role: offered (offer mode) or assigned (assign mode) before anyone
    /// else, provided they pass the hard filters.
    pub workers: Vec<WorkerId>,
}

/// A role's talent pool and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolePool {
    /// The pool.
    pub id: PoolId,
    /// Only the pool's workers are candidates (`"restrict"`); otherwise they rank higher (`"prefer"`).
    pub restrict: bool,
}

/// Who an order is for, as the agency names its client; favourites, blocks and experience are per client.
pub type ClientRef = String;

/// An order, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The order.
    pub id: OrderId,
    /// The agency that posted it.
    pub agency: AgencyId,
    /// The agency's client.
    pub client_ref: ClientRef,
    /// A title for people.
    pub title: String,
    /// Where.
    pub venue: Venue,
    /// When.
    pub shift: Interval,
    /// Roles, in the order given.
    pub roles: Vec<Role>,
    /// Standby workers wanted.
    pub standby: StandbySpec,
    /// The order's travel limit, on top of each worker's own.
    pub max_travel_km: Option<TravelKm>,
    /// Priority.
    pub priority: Priority,
    /// Dispatch settings.
    pub dispatch: DispatchSpec,
    /// Minutes after start without a check-in before a confirmed worker is a no-show.
    pub no_show_grace_min: u32,
    /// How the order may widen its reach when no candidate is left; `None`: it never does.
    pub widen: Option<Widen>,
}

/// An order's permission to widen its search: when candidates run out before it is full, its effective
/// `max_travel_km` is raised by `step_km` at a time, up to `max_km`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Widen {
    /// Kilometres added at each step.
    pub step_km: f64,
    /// The reach it never goes beyond.
    pub max_km: f64,
}

impl Order {
    /// The index of the role with this name.
    pub fn role_index(&self, name: &str) -> Option<usize> {
        self.roles.iter().position(|r| r.name == name)
    }

    /// Total headcount over all roles.
    pub fn headcount(&self) -> u32 {
        self.roles.iter().map(|r| r.headcount).sum()
    }

    /// When a confirmed worker without a check-in becomes a no-show.
    pub fn no_show_at(&self) -> DateTime<Utc> {
        self.shift.start() + chrono::Duration::minutes(i64::from(self.no_show_grace_min))
    }
}

/// A required or quota skill as given: a name, with an optional minimum level.
#[derive(Debug, Clone, Default)]
pub struct SkillReqInput {
    /// Skill name.
    pub name: String,
    /// Minimum level, 1 when absent.
    pub level: Option<i64>,
}

/// A quota as given.
#[derive(Debug, Clone, Default)]
pub struct QuotaInput {
    /// How many.
    pub at_least: i64,
    /// Skills.
    pub skills: Vec<SkillReqInput>,
    /// Languages.
    pub languages: Vec<String>,
    /// Certifications.
    pub certifications: Vec<String>,
}

/// A role as given.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    /// Name.
    pub name: String,
    /// Headcount.
    pub headcount: i64,
    /// Required skills.
    pub skills: Vec<SkillReqInput>,
    /// Required languages.
    pub languages: Vec<String>,
    /// Required certifications.
    pub certifications: Vec<String>,
    /// Preferred skills.
    pub preferred_skills: Vec<String>,
    /// Minimum stars.
    pub min_stars: Option<f64>,
    /// Pay per hour.
    pub pay_per_hour: Option<f64>,
    /// Bill rate per hour.
    pub bill_per_hour: Option<f64>,
    /// Quotas.
    pub quotas: Vec<QuotaInput>,
    /// Named workers' ids.
    pub workers: Vec<String>,
    /// Minimum reliability, 0 to 1.
    pub min_reliability: Option<f64>,
    /// Minimum completed shifts.
    pub min_completed_shifts: Option<i64>,
    /// A talent pool's id and mode (`restrict` or `prefer`, the default).
    pub pool: Option<(String, Option<String>)>,
}

/// An order as given.
#[derive(Debug, Clone, Default)]
pub struct OrderInput {
    /// Client.
    pub client_ref: String,
    /// Title.
    pub title: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue latitude and longitude.
    pub venue_at: (f64, f64),
    /// Geofence, metres; 300 when absent.
    pub geofence_m: Option<f64>,
    /// Start (RFC 3339 with offset).
    pub start: String,
    /// End (RFC 3339 with offset).
    pub end: String,
    /// Roles.
    pub roles: Vec<RoleInput>,
    /// Standby.
    pub standby: Option<StandbySpec>,
    /// Travel limit.
    pub max_travel_km: Option<f64>,
    /// Priority name.
    pub priority: Option<String>,
    /// Dispatch mode name.
    pub dispatch_mode: Option<String>,
    /// Offer TTL.
    pub offer_ttl_s: Option<i64>,
    /// Fanout.
    pub fanout: Option<i64>,
    /// No-show grace.
    pub no_show_grace_min: Option<i64>,
    /// Widening, as `(step_km, max_km)`.
    pub widen: Option<(f64, f64)>,
    /// The venue's IANA timezone name, if given.
    pub venue_timezone: Option<String>,
}

/// The largest headcount one role may ask for.
pub const MAX_HEADCOUNT: i64 = 1000;

fn parse_skill_reqs(
    field: &str,
    raw: &[SkillReqInput],
    errors: &mut Vec<FieldError>,
) -> Vec<SkillReq> {
    let mut out: Vec<SkillReq> = Vec::new();
    if !limits::within(field, raw.len(), limits::ROLE_TERMS, errors) {
        return out;
    }
    for (i, s) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let name = SkillName::new(&s.name)
            .map_err(|e| errors.push(e.under(&at)))
            .ok();
        let level = Level::new(s.level.unwrap_or(1))
            .map_err(|e| errors.push(e.under(&at)))
            .ok();
        if let (Some(name), Some(min_level)) = (name, level) {
            match out.iter_mut().find(|r| r.name == name) {
                Some(r) => r.min_level = r.min_level.max(min_level),
                None => out.push(SkillReq { name, min_level }),
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Checks a role; errors carry paths relative to the role.
pub fn validate_role(r: RoleInput) -> Result<Role, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = r.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if !(1..=MAX_HEADCOUNT).contains(&r.headcount) {
        errors.push(FieldError::new(
            "headcount",
            format!("must be at least 1 and at most {MAX_HEADCOUNT}"),
        ));
    }
    let skills = parse_skill_reqs("skills", &r.skills, &mut errors);
    let languages = parse_terms(
        "languages",
        &r.languages,
        limits::ROLE_TERMS,
        Language::new,
        &mut errors,
    );
    let certifications = parse_terms(
        "certifications",
        &r.certifications,
        limits::ROLE_TERMS,
        Certification::new,
        &mut errors,
    );
    let preferred_skills = parse_terms(
        "preferred_skills",
        &r.preferred_skills,
        limits::ROLE_TERMS,
        SkillName::new,
        &mut errors,
    );
    let min_stars = MinStars::new(r.min_stars.unwrap_or(0.0))
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if let Some(p) = r.pay_per_hour
        && !(p.is_finite() && (0.0..=100_000.0).contains(&p))
    {
        {
            errors.push(FieldError::new(
                "pay_per_hour",
                "must be a non-negative amount",
            ));
        }
    }
    if let Some(p) = r.bill_per_hour
        && !(p.is_finite() && (0.0..=100_000.0).contains(&p))
    {
        errors.push(FieldError::new(
            "bill_per_hour",
            "must be a non-negative amount of at most 100000",
        ));
    }
    // One quota per role keeps the crew solver an exact min-cost flow; a second composition rule is
    // expressed as a second role ("promoter" and "bilingual promoter").
    if r.quotas.len() > 1 {
        errors.push(FieldError::new(
            "quotas",
            "at most one quota per role; use a second role for another rule",
        ));
    }
    let mut quotas = Vec::new();
    for (i, q) in r.quotas.iter().enumerate() {
        let at = format!("quotas[{i}]");
        if q.at_least < 1 || q.at_least > r.headcount.max(1) {
            errors.push(FieldError::new(
                format!("{at}.at_least"),
                "must be at least 1 and at most the headcount",
            ));
        }
        let skills = parse_skill_reqs(&format!("{at}.skills"), &q.skills, &mut errors);
        let languages = parse_terms(
            &format!("{at}.languages"),
            &q.languages,
            limits::ROLE_TERMS,
            Language::new,
            &mut errors,
        );
        let certifications = parse_terms(
            &format!("{at}.certifications"),
            &q.certifications,
            limits::ROLE_TERMS,
            Certification::new,
            &mut errors,
        );
        if skills.is_empty() && languages.is_empty() && certifications.is_empty() {
            errors.push(FieldError::new(
                at.clone(),
                "must ask for at least one skill, language or certification",
            ));
        }
        quotas.push(Quota {
            at_least: q.at_least.max(0) as u32,
            skills,
            languages,
            certifications,
        });
    }
    let min_reliability = r.min_reliability.unwrap_or(0.0);
    if !(min_reliability.is_finite() && (0.0..=1.0).contains(&min_reliability)) {
        errors.push(FieldError::new(
            "min_reliability",
            "must be between 0 and 1",
        ));
    }
    let min_completed_shifts = r.min_completed_shifts.unwrap_or(0);
    if !(0..=limits::MAX_MIN_COMPLETED_SHIFTS).contains(&min_completed_shifts) {
        errors.push(FieldError::new(
            "min_completed_shifts",
            format!("must be between 0 and {}", limits::MAX_MIN_COMPLETED_SHIFTS),
        ));
    }
    let pool = match &r.pool {
        None => None,
        Some((id, mode)) => {
            let restrict = match mode.as_deref() {
                None | Some("prefer") => Some(false),
                Some("restrict") => Some(true),
                Some(_) => {
                    errors.push(FieldError::new("pool.mode", "must be restrict or prefer"));
                    None
                }
            };
            let id = id.parse::<PoolId>().ok();
            if id.is_none() {
                errors.push(FieldError::new("pool.id", "must be a pool id (pol_…)"));
            }
            id.zip(restrict)
                .map(|(id, restrict)| RolePool { id, restrict })
        }
    };
    if r.workers.len() > limits::ROLE_WORKERS {
        errors.push(FieldError::new(
            "workers",
            format!("at most {} workers", limits::ROLE_WORKERS),
        ));
    }
    let mut workers: Vec<WorkerId> = Vec::new();
    for (i, raw) in r.workers.iter().enumerate() {
        match raw.parse::<WorkerId>() {
            Ok(w) if !workers.contains(&w) => workers.push(w),
            Ok(_) => errors.push(FieldError::new(format!("workers[{i}]"), "named twice")),
            Err(_) => errors.push(FieldError::new(
                format!("workers[{i}]"),
                "must be a worker id (wrk_…)",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Role {
        name,
        headcount: r.headcount as u32,
        skills,
        languages,
        certifications,
        preferred_skills,
        min_stars,
        pay_per_hour: r.pay_per_hour,
        bill_per_hour: r.bill_per_hour,
        quotas,
        min_reliability,
        min_completed_shifts: min_completed_shifts as u32,
        pool,
        workers,
    })
}

impl OrderInput {
    /// Checks every field and builds the order, or lists every problem with its field path.
    pub fn validate(self, id: OrderId, agency: AgencyId) -> Result<Order, Vec<FieldError>> {
        let mut errors = Vec::new();
        let client_ref = self.client_ref.trim().to_string();
        if client_ref.len() > 128 {
            errors.push(FieldError::new("client_ref", "at most 128 characters"));
        }
        let title = self.title.trim().to_string();
        if title.chars().count() > 200 {
            errors.push(FieldError::new("title", "at most 200 characters"));
        }
        let venue_name = self.venue_name.trim().to_string();
        if venue_name.is_empty() || venue_name.chars().count() > 200 {
            errors.push(FieldError::new("venue.name", "must be 1 to 200 characters"));
        }
        let location = LatLon::new(self.venue_at.0, self.venue_at.1)
            .map_err(|es| errors.extend(es.into_iter().map(|e| e.under("venue"))))
            .ok();
        let timezone = self.venue_timezone.as_deref().and_then(|raw| {
            super::time::parse_tz(raw)
                .map_err(|e| errors.push(e.under("venue.timezone")))
                .ok()
        });
        let geofence_m = self.geofence_m.unwrap_or(300.0);
        if !(geofence_m.is_finite() && (10.0..=50_000.0).contains(&geofence_m)) {
            errors.push(FieldError::new(
                "venue.geofence_m",
                "must be between 10 and 50000 metres",
            ));
        }
        let start = parse_instant(&self.start)
            .map_err(|e| errors.push(e.under("start")))
            .ok();
        let end = parse_instant(&self.end)
            .map_err(|e| errors.push(e.under("end")))
            .ok();
        let shift = match (start, end) {
            (Some(s), Some(e)) => shift(s, e).map_err(|e| errors.push(e)).ok(),
            _ => None,
        };
        if self.roles.is_empty() {
            errors.push(FieldError::new("roles", "must have at least one role"));
        }
        if !limits::within("roles", self.roles.len(), limits::ORDER_ROLES, &mut errors) {
            return Err(errors);
        }
        let mut roles: Vec<Role> = Vec::new();
        for (i, r) in self.roles.into_iter().enumerate() {
            match validate_role(r) {
                Ok(role) => {
                    if roles.iter().any(|o| o.name == role.name) {
                        errors.push(FieldError::new(
                            format!("roles[{i}].name"),
                            "must be unique within the order",
                        ));
                    }
                    roles.push(role);
                }
                Err(es) => errors.extend(es.into_iter().map(|e| e.under(&format!("roles[{i}]")))),
            }
        }
        let standby = self.standby.unwrap_or(StandbySpec::Fixed(0));
        if let StandbySpec::Fixed(n) = standby
            && n > 1000
        {
            {
                errors.push(FieldError::new("standby", "at most 1000"));
            }
        }
        let max_travel_km = match self.max_travel_km {
            None => None,
            Some(km) => TravelKm::new(km)
                .map_err(|e| errors.push(e.under("max_travel_km")))
                .ok(),
        };
        let priority = match self.priority.as_deref() {
            None => Priority::Normal,
            Some(p) => Priority::parse(p)
                .map_err(|e| errors.push(e))
                .unwrap_or_default(),
        };
        let mode = match self.dispatch_mode.as_deref() {
            None | Some("offer") => DispatchMode::Offer,
            Some("assign") => DispatchMode::Assign,
            Some(_) => {
                errors.push(FieldError::new("dispatch.mode", "must be assign or offer"));
                DispatchMode::Offer
            }
        };
        let offer_ttl_s = self.offer_ttl_s.unwrap_or(900);
        if !(30..=7 * 86_400).contains(&offer_ttl_s) {
            errors.push(FieldError::new(
                "dispatch.offer_ttl_s",
                "must be between 30 and 604800 seconds",
            ));
        }
        let fanout = self.fanout.unwrap_or(1);
        if !(1..=50).contains(&fanout) {
            errors.push(FieldError::new(
                "dispatch.fanout",
                "must be between 1 and 50",
            ));
        }
        let grace = self.no_show_grace_min.unwrap_or(15);
        if !(0..=240).contains(&grace) {
            errors.push(FieldError::new(
                "no_show_grace_min",
                "must be between 0 and 240 minutes",
            ));
        }
        let widen = match self.widen {
            None => None,
            Some((step_km, max_km)) => {
                if !(step_km.is_finite() && step_km > 0.0 && step_km <= 100.0) {
                    errors.push(FieldError::new(
                        "widen.step_km",
                        "must be more than 0 and at most 100",
                    ));
                }
                if !(max_km.is_finite() && max_km > 0.0 && max_km <= 500.0) {
                    errors.push(FieldError::new(
                        "widen.max_km",
                        "must be more than 0 and at most 500",
                    ));
                }
                if self.max_travel_km.is_none() {
                    errors.push(FieldError::new(
                        "widen",
                        "needs the order's own max_travel_km to widen from",
                    ));
                }
                Some(Widen { step_km, max_km })
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Order {
            id,
            agency,
            client_ref,
            title,
            venue: Venue {
                name: venue_name,
                location: location.unwrap(),
                geofence_m,
                timezone,
            },
            shift: shift.unwrap(),
            roles,
            standby,
            max_travel_km,
            priority,
            dispatch: DispatchSpec {
                mode,
                offer_ttl_s: offer_ttl_s as u32,
                fanout: fanout as u32,
            },
            no_show_grace_min: grace as u32,
            widen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> OrderInput {
        OrderInput {
            client_ref: "expo-organizer-42".into(),
            title: "Weekend expo crew".into(),
            venue_name: "Hall 3".into(),
            venue_at: (31.1912, 121.5804),
            start: "2026-11-28T09:00:00+08:00".into(),
            end: "2026-11-28T18:00:00+08:00".into(),
            roles: vec![RoleInput {
                name: "promoter".into(),
                headcount: 8,
                skills: vec![SkillReqInput {
                    name: "promoter".into(),
                    level: None,
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_the_api() {
        let o = input().validate(OrderId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(
            o.dispatch,
            DispatchSpec {
                mode: DispatchMode::Offer,
                offer_ttl_s: 900,
                fanout: 1
            }
        );
        assert_eq!(o.standby, StandbySpec::Fixed(0));
        assert_eq!(o.priority, Priority::Normal);
        assert_eq!(o.no_show_grace_min, 15);
        assert_eq!(o.venue.geofence_m, 300.0);
        assert_eq!(o.headcount(), 8);
    }

    #[test]
    fn role_errors_carry_their_paths() {
        let mut i = input();
        i.roles[0].headcount = 0;
        i.roles.push(RoleInput {
            name: "promoter".into(),
            headcount: 1,
            ..Default::default()
        });
        i.end = "2026-11-28T08:00:00+08:00".into();
        let errs = i.validate(OrderId::new(1), AgencyId::new(1)).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["end", "roles[0].headcount"]);
    }

    #[test]
    fn quotas_must_fit_the_headcount() {
        let mut i = input();
        i.roles[0].quotas = vec![QuotaInput {
            at_least: 9,
            languages: vec!["en".into()],
            ..Default::default()
        }];
        let errs = i.validate(OrderId::new(1), AgencyId::new(1)).unwrap_err();
        assert_eq!(errs[0].field, "roles[0].quotas[0].at_least");
    }
}
