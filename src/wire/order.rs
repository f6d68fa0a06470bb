//! Orders on the wire: the body of `POST /v1/orders` and its parts.

use serde::{Deserialize, Serialize};

use crate::domain::order::{QuotaInput, RoleInput, SkillReqInput};
use crate::domain::{AgencyId, Order, OrderId, OrderInput, StandbySpec};
use crate::error::FieldError;

/// A required skill: a plain name (`"promoter"`) or a name with a minimum level.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SkillReqBody {
    /// Any level.
    Name(String),
    /// At least `level`.
    Leveled {
        /// Skill name.
        name: String,
        /// Minimum level, 1 to 5.
        #[serde(default)]
        level: Option<i64>,
    },
}

/// The object form of a required skill; a misspelt key (`"levle"`) is refused, never dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeveledSkill {
    name: String,
    #[serde(default)]
    level: Option<i64>,
}

impl<'de> Deserialize<'de> for SkillReqBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SkillReqBody;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a skill name or an object {\"name\", \"level\"}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SkillReqBody, E> {
                Ok(SkillReqBody::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<SkillReqBody, A::Error> {
                let l =
                    LeveledSkill::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(SkillReqBody::Leveled {
                    name: l.name,
                    level: l.level,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl SkillReqBody {
    fn to_input(&self) -> SkillReqInput {
        match self {
            SkillReqBody::Name(n) => SkillReqInput {
                name: n.clone(),
                level: None,
            },
            SkillReqBody::Leveled { name, level } => SkillReqInput {
                name: name.clone(),
                level: *level,
            },
        }
    }
}

/// The venue of an order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueBody {
    /// What the venue is called.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Check-in radius in metres; 300 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geofence_m: Option<f64>,
    /// The venue's IANA timezone (`Europe/Berlin`). A repeating order keeps its shifts at the same local time
    /// in it across DST changes; without it, the start's UTC offset is kept fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// A composition rule inside a role: at least `at_least` of its workers meet the terms (extension).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaBody {
    /// How many of the role's workers.
    pub at_least: i64,
    /// Skills they hold.
    #[serde(default)]
    pub skills: Vec<SkillReqBody>,
    /// Languages they speak.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Certifications they hold.
    #[serde(default)]
    pub certifications: Vec<String>,
}

/// A role of an order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Unique within the order.
    pub name: String,
    /// Workers wanted.
    pub headcount: i64,
    /// Every one required.
    #[serde(default)]
    pub skills: Vec<SkillReqBody>,
    /// Every one required.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Every one required.
    #[serde(default)]
    pub certifications: Vec<String>,
    /// Rank higher, not required.
    #[serde(default)]
    pub preferred_skills: Vec<String>,
    /// Minimum average rating; unrated workers pass only 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stars: Option<f64>,
    /// Pay per hour shown in offers, in the agency's currency; timesheets pay it per minute worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_per_hour: Option<f64>,
    /// What the client is billed per hour worked, in the agency's currency (invoices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_per_hour: Option<f64>,
    /// At most one composition rule (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<QuotaBody>,
    /// Minimum reliability, 0 to 1 (the matching's reliability feature: smoothed attendance less lateness and
    /// cancellation penalties); workers below it are excluded as `min_reliability`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_reliability: Option<f64>,
    /// Minimum completed shifts (0 to 10000); workers with fewer are excluded as `min_completed_shifts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_completed_shifts: Option<i64>,
    /// A talent pool of the agency (`/v1/pools`): `"restrict"` makes only its workers candidates (the others
    /// are excluded as `not_in_pool`); `"prefer"` (the default) ranks them higher (the `pool` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<RolePoolBody>,
    /// Workers named for the role (`wrk_…`, at most 200): offered (offer mode) or assigned (assign mode)
    /// before anyone else, provided they pass the hard filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
}

impl RoleBody {
    /// The unchecked domain input.
    pub fn to_input(&self) -> RoleInput {
        RoleInput {
            name: self.name.clone(),
            headcount: self.headcount,
            skills: self.skills.iter().map(SkillReqBody::to_input).collect(),
            languages: self.languages.clone(),
            certifications: self.certifications.clone(),
            preferred_skills: self.preferred_skills.clone(),
            min_stars: self.min_stars,
            pay_per_hour: self.pay_per_hour,
            bill_per_hour: self.bill_per_hour,
            quotas: self
                .quotas
                .iter()
                .map(|q| QuotaInput {
                    at_least: q.at_least,
                    skills: q.skills.iter().map(SkillReqBody::to_input).collect(),
                    languages: q.languages.clone(),
                    certifications: q.certifications.clone(),
                })
                .collect(),
            workers: self.workers.clone(),
            min_reliability: self.min_reliability,
            min_completed_shifts: self.min_completed_shifts,
            pool: self.pool.as_ref().map(|p| (p.id.clone(), p.mode.clone())),
        }
    }
}

/// A role's talent pool.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePoolBody {
    /// The pool (`pol_…`), one of the agency's.
    pub id: String,
    /// `restrict` (only its workers) or `prefer` (the default: its workers rank higher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// Standby: a number, `"auto"` (or `{"auto": p}`), or `"pooled"` (or `{"pooled": p}`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StandbyBody {
    /// Exactly this many.
    Count(u32),
    /// `"auto"`: sized from the expected no-shows, for a full crew at start at least 97% likely.
    Word(String),
    /// `{"auto": 0.99}`: sized from the expected no-shows, for this target probability of a full crew at start.
    Target(StandbyTarget),
    /// `{"pooled": 0.99}`: floaters of the area's on-call pool, for this target probability that every order
    /// of the pool is full at start (`"pooled"` alone targets 0.97).
    Pooled(PooledTarget),
}

/// A pooled standby with its own target.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PooledTarget {
    /// The probability that every order of the pool is full at start, 0.5 to 0.9999 (kept to four decimals).
    pub pooled: f64,
}

/// A computed standby size with its own target.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandbyTarget {
    /// The probability of a full crew at start to reach, 0.5 to 0.9999 (kept to four decimals).
    pub auto: f64,
}

/// How slots are filled.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// `assign` or `offer` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Seconds an offer stays open; 900 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_ttl_s: Option<i64>,
    /// Offers per open slot; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout: Option<i64>,
}

/// The body of `POST /v1/orders`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The agency's client (favourites, blocks and experience are kept per client).
    #[serde(default)]
    pub client_ref: String,
    /// A title for people.
    #[serde(default)]
    pub title: String,
    /// Where.
    pub venue: VenueBody,
    /// RFC 3339 with an offset.
    pub start: String,
    /// RFC 3339 with an offset; at most 24 hours after start.
    pub end: String,
    /// What is needed.
    pub roles: Vec<RoleBody>,
    /// Workers held on standby: a number, `"auto"` or `{"auto": p}` per order, or `"pooled"` or
    /// `{"pooled": p}` from the area's standby pool; 0 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<StandbyBody>,
    /// The order's own travel limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_travel_km: Option<f64>,
    /// `normal` (default), `high` or `urgent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Dispatch settings.
    #[serde(
        default,
        deserialize_with = "crate::wire::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub dispatch: Option<DispatchBody>,
    /// Minutes after start before a missing check-in is a no-show; 15 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_show_grace_min: Option<i64>,
    /// Lets the engine widen the search when candidates run out before the order is full: its effective
    /// `max_travel_km` is raised by `step_km` at a time up to `max_km`. Needs `max_travel_km`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widen: Option<WidenBody>,
    /// Repeats the shift: the order becomes a series of orders, one per shift, at the same local time
    /// (`POST /v1/orders` then answers the series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<super::series::RepeatBody>,
}

/// How an order may widen its search.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WidenBody {
    /// Kilometres added to the order's reach at each step.
    pub step_km: f64,
    /// The reach it never goes beyond, in kilometres.
    pub max_km: f64,
}

impl OrderBody {
    /// Checks the body and builds the order, or lists every problem with its field path.
    pub fn parse(&self, id: OrderId, agency: AgencyId) -> Result<Order, Vec<FieldError>> {
        let standby = match &self.standby {
            None => None,
            Some(StandbyBody::Count(n)) => Some(StandbySpec::Fixed(*n)),
            Some(StandbyBody::Word(w)) if w == "auto" => Some(StandbySpec::Auto),
            Some(StandbyBody::Word(w)) if w == "pooled" => Some(StandbySpec::Pooled(9700)),
            Some(StandbyBody::Pooled(t)) => {
                if !(t.pooled.is_finite() && (0.5..=0.9999).contains(&t.pooled)) {
                    return Err(vec![FieldError::new(
                        "standby.pooled",
                        "must be between 0.5 and 0.9999",
                    )]);
                }
                Some(StandbySpec::Pooled((t.pooled * 10_000.0).round() as u16))
            }
            Some(StandbyBody::Target(t)) => {
                if !(t.auto.is_finite() && (0.5..=0.9999).contains(&t.auto)) {
                    return Err(vec![FieldError::new(
                        "standby.auto",
                        "must be between 0.5 and 0.9999",
                    )]);
                }
                match (t.auto * 10_000.0).round() as u16 {
                    9700 => Some(StandbySpec::Auto),
                    bp => Some(StandbySpec::AutoTarget(bp)),
                }
            }
            Some(StandbyBody::Word(_)) => {
                return Err(vec![FieldError::new(
                    "standby",
                    "must be a number, \"auto\", {\"auto\": probability}, \"pooled\" or {\"pooled\": probability}",
                )]);
            }
        };
        let dispatch = self.dispatch.clone().unwrap_or_default();
        OrderInput {
            client_ref: self.client_ref.clone(),
            title: self.title.clone(),
            venue_name: self.venue.name.clone(),
            venue_at: (self.venue.lat, self.venue.lon),
            geofence_m: self.venue.geofence_m,
            start: self.start.clone(),
            end: self.end.clone(),
            roles: self.roles.iter().map(RoleBody::to_input).collect(),
            standby,
            max_travel_km: self.max_travel_km,
            priority: self.priority.clone(),
            dispatch_mode: dispatch.mode,
            offer_ttl_s: dispatch.offer_ttl_s,
            fanout: dispatch.fanout,
            no_show_grace_min: self.no_show_grace_min,
            widen: self.widen.map(|w| (w.step_km, w.max_km)),
            venue_timezone: self.venue.timezone.clone(),
        }
        .validate(id, agency)
    }
}

fn skill_reqs(reqs: &[crate::domain::SkillReq]) -> Vec<SkillReqBody> {
    reqs.iter()
        .map(|r| {
            if r.min_level.get() == 1 {
                SkillReqBody::Name(r.name.as_str().to_string())
            } else {
                SkillReqBody::Leveled {
                    name: r.name.as_str().to_string(),
                    level: Some(i64::from(r.min_level.get())),
                }
            }
        })
        .collect()
}

impl RoleBody {
    /// The wire form of a validated role.
    pub fn from_role(r: &crate::domain::Role) -> Self {
        RoleBody {
            name: r.name.clone(),
            headcount: i64::from(r.headcount),
            skills: skill_reqs(&r.skills),
            languages: r.languages.iter().map(|l| l.as_str().to_string()).collect(),
            certifications: r
                .certifications
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            preferred_skills: r
                .preferred_skills
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
            min_stars: (r.min_stars.get() > 0.0).then(|| r.min_stars.get()),
            pay_per_hour: r.pay_per_hour,
            bill_per_hour: r.bill_per_hour,
            quotas: r
                .quotas
                .iter()
                .map(|q| QuotaBody {
                    at_least: i64::from(q.at_least),
                    skills: skill_reqs(&q.skills),
                    languages: q.languages.iter().map(|l| l.as_str().to_string()).collect(),
                    certifications: q
                        .certifications
                        .iter()
                        .map(|c| c.as_str().to_string())
                        .collect(),
                })
                .collect(),
            min_reliability: (r.min_reliability > 0.0).then_some(r.min_reliability),
            min_completed_shifts: (r.min_completed_shifts > 0)
                .then_some(i64::from(r.min_completed_shifts)),
            pool: r.pool.map(|p| RolePoolBody {
                id: p.id.to_string(),
                mode: Some(if p.restrict { "restrict" } else { "prefer" }.into()),
            }),
            workers: r.workers.iter().map(|w| w.to_string()).collect(),
        }
    }
}

impl OrderBody {
    /// The canonical wire form of a validated order (what is stored, and what answers show).
    pub fn from_order(o: &Order) -> Self {
        use crate::domain::time::format_instant;
        OrderBody {
            client_ref: o.client_ref.clone(),
            title: o.title.clone(),
            venue: VenueBody {
                name: o.venue.name.clone(),
                lat: o.venue.location.lat(),
                lon: o.venue.location.lon(),
                geofence_m: Some(o.venue.geofence_m),
                timezone: o.venue.timezone.map(|tz| tz.name().to_string()),
            },
            start: format_instant(o.shift.start()),
            end: format_instant(o.shift.end()),
            roles: o.roles.iter().map(RoleBody::from_role).collect(),
            standby: Some(match o.standby {
                StandbySpec::Fixed(n) => StandbyBody::Count(n),
                StandbySpec::Auto => StandbyBody::Word("auto".into()),
                StandbySpec::AutoTarget(_) => StandbyBody::Target(StandbyTarget {
                    auto: o.standby.auto_target().unwrap_or(0.97),
                }),
                StandbySpec::Pooled(9700) => StandbyBody::Word("pooled".into()),
                StandbySpec::Pooled(_) => StandbyBody::Pooled(PooledTarget {
                    pooled: o.standby.pool_target().unwrap_or(0.97),
                }),
            }),
            max_travel_km: o.max_travel_km.map(|t| t.km()),
            priority: Some(o.priority.as_str().to_string()),
            dispatch: Some(DispatchBody {
                mode: Some(
                    match o.dispatch.mode {
                        crate::domain::DispatchMode::Assign => "assign",
                        crate::domain::DispatchMode::Offer => "offer",
                    }
                    .to_string(),
                ),
                offer_ttl_s: Some(i64::from(o.dispatch.offer_ttl_s)),
                fanout: Some(i64::from(o.dispatch.fanout)),
            }),
            no_show_grace_min: Some(i64::from(o.no_show_grace_min)),
            widen: o.widen.map(|w| WidenBody {
                step_km: w.step_km,
                max_km: w.max_km,
            }),
            repeat: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{
      "client_ref": "expo-organizer-42", "title": "Weekend expo crew",
      "venue": {"name": "Hall 3", "lat": 31.1912, "lon": 121.5804, "geofence_m": 300},
      "start": "2026-11-28T09:00:00+08:00", "end": "2026-11-28T18:00:00+08:00",
      "roles": [
        {"name": "promoter", "headcount": 8, "skills": ["promoter"], "pay_per_hour": 30},
        {"name": "bilingual promoter", "headcount": 2, "skills": ["promoter"], "languages": ["en"],
         "preferred_skills": ["equipment_operation"], "min_stars": 4.0}
      ],
      "standby": 2, "max_travel_km": 20, "priority": "normal",
      "dispatch": {"mode": "offer", "offer_ttl_s": 900, "fanout": 3},
      "no_show_grace_min": 15
    }"#;

    #[test]
    fn the_api_example_order_parses() {
        let body: OrderBody = serde_json::from_str(ORDER).unwrap();
        let o = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(o.headcount(), 10);
        assert_eq!(o.standby, StandbySpec::Fixed(2));
        assert_eq!(o.dispatch.fanout, 3);
        assert_eq!(o.roles[1].min_stars.get(), 4.0);
    }

    #[test]
    fn the_canonical_form_parses_back_to_the_same_order() {
        let body: OrderBody = serde_json::from_str(ORDER).unwrap();
        let o = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap();
        let again = OrderBody::from_order(&o)
            .parse(OrderId::new(1), AgencyId::new(1))
            .unwrap();
        assert_eq!(again, o);
    }

    #[test]
    fn standby_auto_is_accepted_and_other_words_are_not() {
        let mut body: OrderBody = serde_json::from_str(ORDER).unwrap();
        body.standby = Some(StandbyBody::Word("auto".into()));
        let o = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(o.standby, StandbySpec::Auto);
        body.standby = Some(StandbyBody::Target(StandbyTarget { auto: 0.99 }));
        let o = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(o.standby, StandbySpec::AutoTarget(9900));
        assert_eq!(
            OrderBody::from_order(&o)
                .parse(OrderId::new(1), AgencyId::new(1))
                .unwrap(),
            o
        );
        body.standby = Some(StandbyBody::Target(StandbyTarget { auto: 0.97 }));
        let o = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap();
        assert_eq!(
            o.standby,
            StandbySpec::Auto,
            "the default target is plain auto"
        );
        body.standby = Some(StandbyBody::Target(StandbyTarget { auto: 1.0 }));
        let errs = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap_err();
        assert_eq!(errs[0].field, "standby.auto");
        body.standby = Some(StandbyBody::Word("lots".into()));
        let errs = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap_err();
        assert_eq!(errs[0].field, "standby");
    }

    #[test]
    fn standby_pooled_is_accepted_with_or_without_a_target_and_stored_back_alike() {
        let mut body: OrderBody = serde_json::from_str(ORDER).unwrap();
        for (json, want) in [
            (r#""pooled""#, StandbySpec::Pooled(9700)),
            (r#"{"pooled": 0.99}"#, StandbySpec::Pooled(9900)),
        ] {
            body.standby = Some(serde_json::from_str(json).unwrap());
            let o = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap();
            assert_eq!(o.standby, want);
            assert_eq!(
                OrderBody::from_order(&o)
                    .parse(OrderId::new(1), AgencyId::new(1))
                    .unwrap(),
                o
            );
        }
        body.standby = Some(serde_json::from_str(r#"{"pooled": 0.2}"#).unwrap());
        let errs = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap_err();
        assert_eq!(errs[0].field, "standby.pooled");
        assert!(serde_json::from_str::<StandbyBody>(r#"{"pooled": 0.9, "x": 1}"#).is_err());
    }

    #[test]
    fn a_bad_headcount_is_reported_at_its_path() {
        let mut body: OrderBody = serde_json::from_str(ORDER).unwrap();
        body.roles[0].headcount = 0;
        let errs = body.parse(OrderId::new(1), AgencyId::new(1)).unwrap_err();
        assert_eq!(errs[0].field, "roles[0].headcount");
    }
}
